"""``meltica-lab demo`` leaves the four executed notebooks and their HTML reports in its output folder."""

from __future__ import annotations

from pathlib import Path

from meltica_lab.cli import main


def test_demo_runs_the_report_notebooks_and_says_where_they_are(tmp_path: Path, capsys) -> None:
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("migration", "drift_review", "pinned_backtest", "reconcile"):
        assert (tmp_path / f"{name}.ipynb").is_file()
        assert (tmp_path / f"{name}.html").is_file()
        assert f"   {name}: {tmp_path / f'{name}.html'}" in out
    assert "7. Report notebooks" in out
