"""CLI: verify, resolve, list, tag, history, migrate; exit codes 0/1/2; JSON on stdout, errors on stderr."""

from __future__ import annotations

import json

import pytest

from meltica_lab.cli import main
from meltica_lab.registry import registry_path
from tests.conftest import add_revision, module_source, snapshot_tree


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MELTICA_LAB_CACHE_DIR", str(tmp_path / "cache"))


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_resolve_prints_name_hash_tag_path_and_canonical_selector(root, capsys):
    digest = add_revision(root, "demo", "v1.0.0")
    code, out, _ = run(capsys, "resolve", f"demo@{digest[7:15]}", "--root", str(root), "--json")
    data = json.loads(out)
    assert code == 0
    assert data["hash"] == digest and data["canonical"] == f"demo@{digest}"
    assert data["path"] == "demo/v1.0.0/demo.js" and data["tag"] == "v1.0.0"


def test_resolve_failure_is_one_line_on_stderr_with_exit_1(root, capsys):
    add_revision(root, "demo", "v1.0.0")
    code, out, err = run(capsys, "resolve", "demo:nope", "--root", str(root))
    assert code == 1 and out == ""
    assert err.startswith("meltica-lab: error: tag 'nope' not found for demo") and err.count("\n") == 1


def test_bad_usage_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["resolve"])
    assert info.value.code == 2
    assert main([]) == 2


def test_verify_exits_1_listing_each_problem(root, capsys):
    add_revision(root, "demo", "v1.0.0")
    add_revision(root, "other", "v1.0.0")
    assert run(capsys, "verify", "--root", str(root))[0] == 0
    (root / "demo" / "v1.0.0" / "demo.js").write_text("tampered")
    code, out, _ = run(capsys, "verify", "--root", str(root), "--json")
    data = json.loads(out)
    assert code == 1 and [p["kind"] for p in data["problems"]] == ["integrity"]
    assert data["revisions"] == 1


def test_list_marks_the_latest_revision(root, capsys):
    add_revision(root, "demo", "v1.0.0")
    add_revision(root, "demo", "v1.1.0")
    code, out, _ = run(capsys, "list", "--root", str(root))
    assert code == 0
    latest_line = next(line for line in out.splitlines() if "v1.0.0" in line)
    assert " * " in latest_line
    data = json.loads(run(capsys, "list", "--root", str(root), "--json")[1])
    assert [r["tag"] for r in data] == ["v1.0.0", "v1.1.0"]


def test_tag_moves_a_tag_and_history_shows_it(root, capsys):
    add_revision(root, "demo", "v1.0.0")
    h2 = add_revision(root, "demo", "v1.1.0")
    code, out, _ = run(capsys, "tag", "demo", "latest", h2[7:19], "--root", str(root), "--reason", "promote")
    assert code == 0 and "moved from" in out
    history = json.loads(run(capsys, "history", "demo", "--root", str(root), "--json")[1])
    assert history[-1]["tag"] == "latest" and history[-1]["to"] == h2 and history[-1]["reason"] == "promote"


def test_tag_with_unknown_hash_changes_nothing(root, capsys):
    add_revision(root, "demo", "v1.0.0")
    before = snapshot_tree(root)
    code, _, err = run(capsys, "tag", "demo", "prod", "deadbeefdeadbeef", "--root", str(root))
    assert code == 1 and "deadbeef" in err
    assert snapshot_tree(root) == before


def test_migrate_is_a_dry_run_unless_write_is_given(root, capsys):
    (root / "noop.js").write_text(module_source("noop", "v1"))
    before = snapshot_tree(root)
    code, out, _ = run(capsys, "migrate", "--root", str(root))
    assert code == 0 and "Dry run: nothing written" in out
    assert snapshot_tree(root) == before
    code, out, _ = run(capsys, "bootstrap", "--root", str(root), "--write", "--json")
    assert code == 0 and json.loads(out)["removed"] == ["noop.js"]
    assert registry_path(root).exists()
    code, out, _ = run(capsys, "migrate", "--root", str(root))
    assert "already migrated" in out


def test_migrate_with_conflicts_exits_1_and_writes_nothing(root, capsys):
    (root / "a.js").write_text(module_source("demo", "v1"))
    (root / "b.js").write_text(module_source("demo", "v1", body="let z;"))
    before = snapshot_tree(root)
    code, out, _ = run(capsys, "migrate", "--root", str(root), "--write")
    assert code == 1 and "CONFLICT" in out and "Nothing written" in out
    assert snapshot_tree(root) == before


def test_root_defaults_to_the_app_config_directory(tmp_path, monkeypatch, capsys):
    strategies = tmp_path / "strats"
    strategies.mkdir()
    add_revision(strategies, "demo", "v1")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "app.yaml").write_text("strategies:\n  directory: strats\n")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "resolve", "demo", "--json")
    assert code == 0 and json.loads(out)["name"] == "demo"
