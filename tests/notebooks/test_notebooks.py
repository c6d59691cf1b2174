"""The three report notebooks: run with small parameters through papermill, and validated with nbval.

The nbval test re-executes each committed notebook with its defaults and compares every output with
the committed one, after the sanitisers in ``sanitize.cfg`` (hashes, times, durations, sizes).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from meltica_lab.cli import main
from meltica_lab.errors import MelticaLabError
from meltica_lab.registry import load_registry
from meltica_lab.reports import NOTEBOOK_DIR, notebook_parameters, run_report
from tests.notebooks.notebook_files import errors_in, html_outputs, printed

PROJECT = NOTEBOOK_DIR.parent
SMALL_DATA = PROJECT / "examples" / "data" / "btc_trades_small.csv"
NOTEBOOKS = ("migration", "drift_review", "pinned_backtest")
HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_notebook_has_a_tagged_parameters_cell_and_committed_outputs(name: str) -> None:
    path = NOTEBOOK_DIR / f"{name}.ipynb"
    assert notebook_parameters(path)
    data = nbformat.read(str(path), as_version=4)
    code = [c for c in data.cells if c.cell_type == "code" and "parameters" not in c.metadata.get("tags", [])]
    assert all(c.execution_count for c in code), "commit the notebook executed (with outputs)"
    assert errors_in(path) == []
    assert data.cells[-1].cell_type == "code" and data.cells[-2].source.startswith("## Summary")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_notebooks_reproduce_their_outputs_under_nbval(name: str) -> None:
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--nbval",
        str(NOTEBOOK_DIR / f"{name}.ipynb"),
        "--nbval-sanitize-with",
        str(HERE / "sanitize.cfg"),
        "-p",
        "no:cacheprovider",
        "-q",
        "--rootdir",
        str(NOTEBOOK_DIR),
        "-o",
        "addopts=",
        "-o",
        "testpaths=",
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=NOTEBOOK_DIR)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]


def test_migration_writes_to_the_given_root_and_verifies_it(tmp_path: Path) -> None:
    root = shutil.copytree(PROJECT / "examples" / "legacy", tmp_path / "legacy")
    report = run_report("migration", parameters={"root": str(root), "write": True}, out=tmp_path / "out")
    assert errors_in(report.executed) == []
    registry = load_registry(root)
    assert registry is not None and sorted(registry.strategies) == ["breakout", "momentum", "noop", "pairs"]
    assert not list(root.glob("*.js")), "flat sources are removed after a verified copy"
    assert "planning again: 0 change(s)" in printed(report.executed)
    assert "<strong>Applied</strong>" in report.html.read_text(encoding="utf-8")


def test_migration_with_defaults_works_on_a_scratch_copy_and_leaves_the_examples_alone(tmp_path: Path) -> None:
    before = sorted(p.name for p in (PROJECT / "examples" / "legacy").iterdir())
    report = run_report("migration", out=tmp_path)
    assert "scratch copy of ../examples/legacy" in printed(report.executed)
    assert "Dry run" in report.html.read_text(encoding="utf-8")
    assert sorted(p.name for p in (PROJECT / "examples" / "legacy").iterdir()) == before


def test_report_command_runs_the_pinned_backtest_with_yaml_parameters(tmp_path: Path, capsys) -> None:
    code = main(
        [
            "report",
            "pinned_backtest",
            "--out",
            str(tmp_path),
            "-p",
            "data",
            str(SMALL_DATA),
            "-p",
            "config",
            "{lookback: 10, threshold: 0.001}",
            "-p",
            "compare_with",
            "[momentum:v1.1.0]",
            "-p",
            "seed",
            "3",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert f"HTML report:       {tmp_path / 'pinned_backtest.html'}" in out
    executed = tmp_path / "pinned_backtest.ipynb"
    assert errors_in(executed) == []
    outputs = html_outputs(executed)
    assert "&#x27;lookback&#x27;: 10" in outputs or "'lookback': 10" in outputs
    page = (tmp_path / "pinned_backtest.html").read_text(encoding="utf-8")
    assert "meltica-widget" in page and "Provenance" in page  # the panel's static twin
    assert "btc_trades_small.csv" in page


def test_a_bad_selector_fails_the_report_naming_the_cell_and_the_selector(tmp_path: Path) -> None:
    with pytest.raises(MelticaLabError, match=r"run_backtest\(strategy.*NotFoundError: strategy 'nosuch' not found"):
        run_report("pinned_backtest", parameters={"strategy": "nosuch", "data": str(SMALL_DATA)}, out=tmp_path)
    assert list(tmp_path.iterdir()) == []
