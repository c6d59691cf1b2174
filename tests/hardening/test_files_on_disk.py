"""Files that are not what they seem (issue 16, findings 6-10): symlinked registries, FIFOs where files
are expected, a YAML alias bomb, a sparse file of gigabytes, and the modes of the files the kit writes.

Each reproduces what an independent probe found. Every command must end by itself with one line
naming the file (the ``timeout`` marks turn a hang into a failure instead of a stuck suite), leave
the files as they were, and write files a gateway running as another user can read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from meltica_lab.cli import main
from meltica_lab.config import AppConfig
from meltica_lab.files import temp_path
from meltica_lab.journal import INTENT_FILE
from meltica_lab.loader import Loader
from meltica_lab.migrate import migrate, plan_migration
from meltica_lab.registry import HISTORY_FILE, REGISTRY_FILE, load_registry, read_tag_history
from tests.hardening.conftest import CLEAN, CLEAN_SOURCE, Workspace, register, strategy_source, trades_csv, tree

HANG = pytest.mark.timeout(120)
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)
)
"""About 300 bytes of YAML standing for 9**9 strings once its aliases are expanded."""


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def module_file(ws: Workspace) -> Path:
    return ws.root / CLEAN / "v1.0.0" / f"{CLEAN}.js"


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.startswith("meltica-lab: error: ") and err.count("\n") == 1, err
    return err


# -- 6: a symlinked registry.json is edited through the link ---------------------------------------------
def test_a_tag_edit_goes_through_a_symlinked_registry_and_history(workspace: Workspace, capsys):
    repo = workspace.base / "config-repo"
    repo.mkdir()
    for name in (REGISTRY_FILE, HISTORY_FILE):
        os.replace(workspace.root / name, repo / name)
        (repo / name).chmod(0o644)
        (workspace.root / name).symlink_to(Path("..") / "config-repo" / name)
    assert main(["tag", CLEAN, "prod", workspace.clean_hash, "--root", str(workspace.root)]) == 0
    for name in (REGISTRY_FILE, HISTORY_FILE):
        assert (workspace.root / name).is_symlink(), f"{name} was replaced by a regular file"
        assert mode_of(repo / name) == 0o644
    assert load_registry(repo.parent / "strategies").strategies[CLEAN].tag_target("prod") == workspace.clean_hash
    assert '"prod"' in (repo / REGISTRY_FILE).read_text()
    assert read_tag_history(workspace.root)[-1].tag == "prod"


# -- 7: FIFOs where files are expected -------------------------------------------------------------------
@HANG
def test_a_fifo_as_a_module_file_is_a_problem_not_a_hang(workspace: Workspace, capsys):
    module_file(workspace).unlink()
    os.mkfifo(module_file(workspace))
    assert main(["verify", "--root", str(workspace.root)]) == 1
    out = capsys.readouterr().out
    assert f"{module_file(workspace)}: module is a FIFO (named pipe): expected a regular file" in out
    loader = Loader(workspace.root, config=AppConfig(), cache_dir=workspace.cache)
    assert [p.kind for p in loader.refresh().problems] == ["missing"]


@HANG
def test_a_fifo_as_a_flat_legacy_file_is_a_blocking_conflict_not_a_hang(workspace: Workspace):
    os.mkfifo(workspace.root / "beta.js")
    plan = plan_migration(workspace.root)
    assert [(c.kind, c.file) for c in plan.blocking] == [("unreadable", "beta.js")]
    assert "FIFO" in plan.blocking[0].message


@HANG
def test_a_fifo_as_a_config_file_is_one_error_line(workspace: Workspace, capsys):
    data = workspace.write("t.csv", trades_csv([100.0, 101.0]))
    os.mkfifo(workspace.inputs / "c.yaml")
    argv = ["backtest", "--strategy", CLEAN, "--data", str(data), "--root", str(workspace.root), "--no-progress"]
    assert main([*argv, "--config-file", str(workspace.inputs / "c.yaml")]) == 1
    assert "c.yaml: config file is a FIFO (named pipe)" in one_error_line(capsys)


# -- 8: a YAML alias bomb --------------------------------------------------------------------------------
@HANG
def test_a_yaml_alias_bomb_as_config_file_is_refused_at_once(workspace: Workspace, capsys):
    assert len(BOMB) < 400
    data = workspace.write("t.csv", trades_csv([100.0, 101.0]))
    bomb = workspace.write("bomb.yaml", BOMB)
    argv = ["backtest", "--strategy", CLEAN, "--data", str(data), "--root", str(workspace.root), "--no-progress"]
    assert main([*argv, "--config-file", str(bomb)]) == 1
    assert f"{bomb}: config file expands (through its aliases) to more than" in one_error_line(capsys)


@HANG
def test_a_yaml_alias_bomb_as_app_config_is_refused_at_once(tmp_path: Path):
    from meltica_lab.config import load_app_config
    from meltica_lab.errors import ConfigError

    path = tmp_path / "app.yaml"
    path.write_text("strategies: {directory: strategies}\n" + BOMB, encoding="utf-8")
    with pytest.raises(ConfigError, match="expands"):
        load_app_config(path)


# -- 9: a sparse module file of 6 GiB --------------------------------------------------------------------
def test_a_6_gib_sparse_module_file_is_refused_by_size_not_by_memory_error(workspace: Workspace, capsys):
    module_file(workspace).unlink()
    with module_file(workspace).open("wb") as handle:
        handle.truncate(6 * 1024**3)  # takes no disk space
    assert main(["verify", "--root", str(workspace.root)]) == 1
    assert "module is 6,144.0 MiB, over the limit of 64.0 MiB" in capsys.readouterr().out
    assert main(["resolve", CLEAN, "--root", str(workspace.root)]) == 1
    assert "6,144.0 MiB" in one_error_line(capsys)


# -- 10: modes -------------------------------------------------------------------------------------------
@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_files_written_under_umask_022_are_readable_by_others(tmp_path: Path, umask_022, private_cache: Path):
    root = tmp_path / "strategies"
    root.mkdir()
    register(root, CLEAN_SOURCE, CLEAN, "v1.0.0")
    (root / "beta.js").write_text(strategy_source("beta"), encoding="utf-8")
    migrate(root, write=True)
    written = [root / REGISTRY_FILE, root / HISTORY_FILE, *root.rglob("*.js")]
    assert len(written) == 4
    assert {p.relative_to(root).as_posix(): mode_of(p) for p in written} == {
        p.relative_to(root).as_posix(): 0o644 for p in written
    }


def test_a_tag_edit_keeps_the_registry_mode(workspace: Workspace, umask_022):
    registry = workspace.root / REGISTRY_FILE
    for mode in (0o644, 0o640):
        registry.chmod(mode)
        assert main(["tag", CLEAN, f"m{mode:o}", workspace.clean_hash, "--root", str(workspace.root)]) == 0
        assert mode_of(registry) == mode


# -- the next operation cleans what a crash left ---------------------------------------------------------
def test_temporary_files_a_crash_left_are_removed_by_the_next_edit(workspace: Workspace):
    stale = [temp_path(workspace.root / REGISTRY_FILE), temp_path(workspace.root / INTENT_FILE)]
    for path in stale:
        path.write_bytes(b"half")
    before = {k for k in tree(workspace.root) if not k.endswith(".tmp")}
    assert main(["tag", CLEAN, "prod", workspace.clean_hash, "--root", str(workspace.root)]) == 0
    assert not any(p.exists() for p in stale)
    assert before <= set(tree(workspace.root))
