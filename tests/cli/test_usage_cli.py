"""CLI: ``usage``, ``drift`` and ``prune`` over usage exports from files and from a gateway URL."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from meltica_lab.cli import main
from meltica_lab.registry import edit_registry, load_registry
from meltica_lab.runtime import Manager
from tests.conftest import snapshot_tree
from tests.runtime.support import register, strategy_source


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MELTICA_LAB_CACHE_DIR", str(tmp_path / "cache"))


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def exported(root, tmp_path):
    """demo h1 (v1.0.0, untagged later), h2 (latest); instance ``a`` runs h2, ``b`` ran h1 before
    latest moved. Returns the export file and the hashes."""
    h1 = register(root, strategy_source("demo", "v1.0.0"), "demo", "v1.0.0")
    h2 = register(root, strategy_source("demo", "v1.1.0"), "demo", "v1.1.0")
    old = register(root, strategy_source("demo", "v0.1.0"), "demo", "v0.1.0")
    with edit_registry(root, "untag old") as draft:
        draft.remove_tag("demo", "v0.1.0", allow_orphan=True)
    with Manager(root, cache_dir=tmp_path / "cache") as manager:
        manager.create("b", "demo", symbols=["BTC-USDT"])
        manager.start("b")
        manager.assign_tag("demo", "latest", h2, refresh=False)
        manager.create("a", "demo", symbols=["BTC-USDT"])
        manager.start("a")
        path = tmp_path / "export.json"
        path.write_text(json.dumps(manager.export()))
    return path, h1, h2, old


def test_usage_summarises_per_strategy(exported, capsys):
    path, *_ = exported
    code, out, _ = run(capsys, "usage", "--export", path, "--json")
    data = json.loads(out)
    assert code == 0 and data["instances"] == 2 and data["runningRevisions"] == 2
    (demo,) = data["strategies"]
    assert (demo["strategy"], demo["revisions"], demo["runningRevisions"], demo["instances"]) == ("demo", 2, 2, 2)
    assert demo["lastSeen"].startswith("20")
    code, out, _ = run(capsys, "usage", "--export", path)
    assert code == 0
    assert out.splitlines()[0].split() == ["strategy", "revisions", "running", "instances", "last", "seen"]
    assert out.splitlines()[-1].endswith("2 revision(s), 2 running, 2 instance(s)")


def test_usage_reads_a_gateway_url(exported, capsys):
    path, *_ = exported
    body = path.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/strategies/registry"
        code, out, _ = run(capsys, "usage", "--export", url, "--json")
    finally:
        server.shutdown()
        server.server_close()
    assert code == 0 and json.loads(out)["source"] == url


def test_drift_exits_1_and_names_the_instance_that_did_not_follow(exported, root, capsys):
    path, h1, h2, _ = exported
    code, out, _ = run(capsys, "drift", "--root", root, "--export", path)
    assert code == 1
    line = next(line for line in out.splitlines() if line.startswith("b "))
    assert "tag-moved-not-rolled" in line and h1[:19] in line and h2[:19] in line
    assert out.splitlines()[-1].startswith("running-unregistered-hash: 0, tag-moved-not-rolled: 1")
    code, out, _ = run(capsys, "drift", "--root", root, "--export", path, "--json")
    data = json.loads(out)
    assert code == 1 and data["states"]["in-sync"] == 1
    assert {r["instance"]: r["state"] for r in data["instances"]} == {"a": "in-sync", "b": "tag-moved-not-rolled"}


def test_drift_exits_0_when_everything_is_in_sync(exported, root, capsys):
    path, h1, *_ = exported
    document = json.loads(path.read_text())
    document["usage"] = [row for row in document["usage"] if row["hash"] != h1]
    path.write_text(json.dumps(document))
    code, out, _ = run(capsys, "drift", "--root", root, "--export", path)
    assert code == 0 and out.strip().endswith("in-sync: 1")


def test_prune_is_a_dry_run_unless_applied(exported, root, capsys):
    path, _, _, old = exported
    before = snapshot_tree(root)
    code, out, _ = run(capsys, "prune", "--root", root, "--export", path, "--days", "0")
    assert code == 0 and snapshot_tree(root) == before
    assert old[:19] in out and "1 to prune, 2 to keep" in out and "dry run: nothing deleted" in out
    code, out, _ = run(capsys, "prune", "--root", root, "--export", path, "--days", "0", "--apply", "--json")
    data = json.loads(out)
    assert code == 0 and data["outcome"] == [
        {"strategy": "demo", "hash": old, "path": "demo/v0.1.0/demo.js", "outcome": "deleted",
         "why": "untagged, unused and unseen, as planned"}
    ]  # fmt: skip
    assert old not in load_registry(root).all_hashes() and not (root / "demo" / "v0.1.0").exists()


def test_a_bad_export_is_one_error_line_with_exit_1(root, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"usage": [{"strategy": "demo", "count": "x"}]}')
    code, out, err = run(capsys, "usage", "--export", bad)
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "bad.json: usage[0].hash: expected a Unicode string" in err
