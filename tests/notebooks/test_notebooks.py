"""The three report notebooks: run with small parameters through papermill, and validated with nbval.

The nbval test re-executes each committed notebook with its defaults and compares every output with
the committed one, after the sanitisers in ``sanitize.cfg`` (hashes, times, durations, sizes).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from meltica_lab.cli import main
from meltica_lab.errors import MelticaLabError
from meltica_lab.loader import Loader
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
    assert "&quot;lookback&quot;: 10" in outputs or '"lookback": 10' in outputs  # the provenance config, whole
    page = (tmp_path / "pinned_backtest.html").read_text(encoding="utf-8")
    assert "meltica-widget" in page and "Provenance" in page  # the panel's static twin
    assert "btc_trades_small.csv" in page


def test_a_bad_selector_fails_the_report_naming_the_cell_and_the_selector(tmp_path: Path) -> None:
    with pytest.raises(
        MelticaLabError,
        match=r"the cell starting '%matplotlib inline' \(In \[3\]\) failed: NotFoundError: strategy 'nosuch' not found",
    ):
        run_report("pinned_backtest", parameters={"strategy": "nosuch", "data": str(SMALL_DATA)}, out=tmp_path)
    assert list(tmp_path.iterdir()) == []


STRATEGIES = tuple(Loader(PROJECT / "strategies").strategies())


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_pinned_backtest_runs_with_its_defaults_for_every_example_strategy(strategy: str, tmp_path: Path) -> None:
    report = run_report("pinned_backtest", parameters={"strategy": strategy, "data": str(SMALL_DATA)}, out=tmp_path)
    assert errors_in(report.executed) == []
    text = printed(report.executed)
    assert f"{strategy}:" in text.splitlines()[0]
    assert "config: the declared defaults" in text
    page = report.html.read_text(encoding="utf-8")
    others = [r for r in Loader(PROJECT / "strategies").revisions() if r.name == strategy]
    for revision in others:  # compared with the other revisions of the same strategy, and only those
        assert f"{revision.name}@{revision.hash}" in page
        if revision.selector != report.parameters.get("strategy"):
            assert f"{revision.name}:{revision.tag}" in text
    assert "momentum:v1.1.0" not in page or strategy == "momentum"


def test_paths_given_to_a_report_are_relative_to_where_it_was_run_and_errors_show_them_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(PROJECT)
    report = run_report(
        "pinned_backtest",
        parameters={"strategy": "grid", "data": "examples/data/btc_trades_small.csv"},
        out=tmp_path / "ok",
    )
    assert report.parameters["data"] == str(SMALL_DATA)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MelticaLabError, match=rf"DataError: {tmp_path}/nope\.csv: data file not found"):
        run_report("pinned_backtest", parameters={"data": "nope.csv"}, out=tmp_path / "bad")


def test_the_report_command_prints_no_kernel_transport_warning_and_real_timings(tmp_path: Path, capfd) -> None:
    code = main(["report", "migration", "--out", str(tmp_path)])
    assert code == 0
    out, err = capfd.readouterr()
    assert "without encryption" not in out + err
    assert "TCP" not in err
    total, cells, export = (float(x) for x in re.findall(r"([0-9.]+) s", out.splitlines()[-1]))
    assert total >= cells + export - 0.2 and cells > 0 and export > 0


def test_the_drift_reviews_tag_history_explains_every_tag_moved_instance_before_the_export() -> None:
    executed = NOTEBOOK_DIR / "drift_review.ipynb"
    page = html_outputs(executed)
    assert ">mom-prod-1, mom-prod-2<" in page and ">mr-eu<" in page
    history = PROJECT / "examples" / "usage" / "registry.history.jsonl"
    times = [line.split('"time": "')[1][:19] for line in history.read_text(encoding="utf-8").splitlines()]
    assert max(times) <= "2024-03-01T10:00:00" and "2026" not in history.read_text(encoding="utf-8")
    for table in ("T_drift", "T_revisions", "T_history", "T_plan"):  # whole values, no Python reprs
        body = page[page.index(f'<table id="{table}"') :]
        body = body[: body.index("</table>")]
        assert "..." not in body and "…" not in body and ">nan<" not in body and "(&#x27;" not in body
        assert ">None<" not in body and "array(" not in body
    plan = page[page.index('<table id="T_plan"') :]
    assert "tagged (latest, v1.2.0)" in plan and re.search(r">sha256:[0-9a-f]{64}<", plan)
    assert "momentum/v1.2.0/momentum.js" in page  # the revisions' path column


def test_the_migration_dry_run_explains_the_legacy_default_tag(tmp_path: Path) -> None:
    report = run_report("migration", out=tmp_path)
    page = report.html.read_text(encoding="utf-8")
    assert "tag after migration" in page and "0.0.0" in page and "v1.0.0" in page
    header = page[page.index("T_plan") :]
    assert header.index(">action<") < header.index(">hash<")  # the action column comes before the long ones


def test_a_config_key_an_older_revision_lacks_is_left_out_of_its_comparison_run_and_said_so(tmp_path: Path) -> None:
    report = run_report(
        "pinned_backtest", parameters={"config": {"vol_multiplier": 3}, "data": str(SMALL_DATA)}, out=tmp_path
    )
    assert errors_in(report.executed) == []
    text = printed(report.executed)
    assert "momentum:v1.1.0 does not declare vol_multiplier: left out, its own defaults apply" in text
    assert "momentum:v1.0.0 does not declare vol_multiplier" in text and "momentum:v1.2.0 does not" not in text


def test_the_committed_example_tag_history_is_what_make_export_writes_and_replays_to_the_registry() -> None:
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("make_export", PROJECT / "examples" / "usage" / "make_export.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    registry = load_registry(PROJECT / "strategies")
    changes = module.tag_history(registry)  # raises unless the releases end at the registry's tags
    committed = (PROJECT / "examples" / "usage" / "registry.history.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in committed] == [change.to_dict() for change in changes]
