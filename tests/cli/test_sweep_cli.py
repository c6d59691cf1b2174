"""``meltica-lab sweep``: ranked text table, --json, --out CSV and Parquet, grid parsing, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from meltica_lab.backtest.sweep import IDENTITY_COLUMNS, PROVENANCE_COLUMNS
from meltica_lab.cli import main
from tests.backtest.conftest import module, register

CONFIG = [
    {"name": "size", "type": "float", "default": 1, "required": False},
    {"name": "every", "type": "int", "default": 2, "required": False},
]
# a market order every `every` trades, alternating buy and sell; throws on every trade when size > 1
SOURCE = module(
    "let n = 0; const c = env.config; return { onTrade() { n++; if (c.size > 1) throw new Error('too big');"
    " if (n % c.every === 0) rt.submitMarketOrder('', n % (2 * c.every) ? 'buy' : 'sell', c.size); } };",
    name="stepper",
    config=CONFIG,
)


def prices(n: int, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(np.round(100 * np.exp(np.cumsum(rng.normal(0, 0.01, n))), 2))


def write_trades(path: Path, n: int, seed: int) -> Path:
    rows = "".join(f"{1672531200000 + k * 1000},{p},1\n" for k, p in enumerate(prices(n, seed)))
    path.write_text("timestamp,price,quantity\n" + rows)
    return path


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Module reports cached under this test's directory, not the user's cache."""
    monkeypatch.setenv("MELTICA_LAB_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "strategies"
    root.mkdir()
    register(root, "stepper", "v1.0.0", SOURCE)
    return root, write_trades(tmp_path / "trades.csv", 60, 21)


def args(setup, *extra: str) -> list[str]:
    root, data = setup
    return [
        "sweep",
        "--strategy",
        "stepper:v1.0.0",
        "--data",
        str(data),
        "--root",
        str(root),
        "--workers",
        "1",
        "--no-progress",
        *extra,
    ]


GRID = ("--grid", "every=2,3,5", "--grid", "size=0.5,1")


def sweep_json(setup, capsys, *extra: str) -> dict:
    assert main(args(setup, *GRID, "--json", *extra)) == 0
    return json.loads(capsys.readouterr().out)


def test_prints_the_runs_best_first_and_says_how_they_are_sorted(setup, capsys):
    document = sweep_json(setup, capsys)
    assert main(args(setup, *GRID)) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "6 runs: 1 revision(s) x 6 parameter set(s) x 1 dataset(s); sorted by Return [%] (net of fees) highest "
        "first, then Max. Drawdown [%] lowest, then run number"
    )
    assert lines[1].split()[:6] == ["run", "strategy", "tag", "hash", "every", "size"]
    printed_runs = [int(line.split()[0]) for line in lines[3:]]
    assert printed_runs == [r["run"] for r in document["runs"]]
    returns = [r["Return [%]"] for r in document["runs"]]
    assert returns == sorted(returns, reverse=True) and len(set(returns)) > 1


def test_json_has_every_column_of_every_run_as_json_values(setup, capsys):
    document = sweep_json(setup, capsys, "--seed", "4")
    assert document["sorted_by"].startswith("Return [%] (net of fees) highest first")
    runs = document["runs"]
    assert sorted(r["run"] for r in runs) == list(range(6))
    first = runs[0]
    assert list(first)[:8] == ["run", *IDENTITY_COLUMNS, "every", "size"]
    assert set(PROVENANCE_COLUMNS) <= set(first) and first["seed"] == 4
    assert first["Start"] == "2023-01-01T00:00:00+00:00" and first["Duration"] == "P0DT0H0M59S"
    assert first["Sharpe Ratio (daily, ann. √365)"] is None
    assert json.loads(first["config"]) == {"dry_run": False, "every": first["every"], "size": first["size"]}


def test_out_writes_the_ranked_table_as_csv_and_parquet(setup, capsys, tmp_path):
    out = tmp_path / "out"
    document = sweep_json(setup, capsys, "--out", str(out))
    assert sorted(p.name for p in out.iterdir()) == ["sweep.csv", "sweep.parquet"]
    from_csv = pd.read_csv(out / "sweep.csv", index_col="run")
    from_parquet = pd.read_parquet(out / "sweep.parquet")
    ranked = [r["run"] for r in document["runs"]]
    assert list(from_csv.index) == list(from_parquet.index) == ranked
    assert from_csv["Return [%]"].tolist() == from_parquet["Return [%]"].tolist()
    assert from_csv["Return [%]"].tolist() == [r["Return [%]"] for r in document["runs"]]
    assert (
        str(from_parquet["Start"].dtype).startswith("datetime64")
        and from_parquet["hash"].str.startswith("sha256:").all()
    )


def test_fixed_config_values_apply_to_every_run(setup, capsys):
    assert main(args(setup, "--grid", "every=2,3", "--config", "size=0.25", "--json")) == 0
    document = json.loads(capsys.readouterr().out)
    assert {json.loads(r["config"])["size"] for r in document["runs"]} == {0.25}


def test_several_data_files_multiply_the_runs_and_add_a_data_column(setup, capsys, tmp_path):
    other = write_trades(tmp_path / "other.csv", 40, 22)
    assert main(args(setup, "--grid", "every=2,3", "--data", str(other))) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("4 runs: 1 revision(s) x 2 parameter set(s) x 2 dataset(s)")
    assert lines[1].split()[:6] == ["run", "strategy", "tag", "hash", "data", "every"]


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        (["every"], "--grid 'every': expected KEY=V1,V2,..."),
        (["every="], "--grid 'every=': expected KEY=V1,V2,..."),
        (["=2,3"], "--grid '=2,3': expected KEY=V1,V2,..."),
        (["every=2", "every=3"], "--grid every: given twice"),
    ],
)
def test_a_malformed_grid_is_a_usage_error(setup, capsys, grid, message):
    assert main(args(setup, *(x for item in grid for x in ("--grid", item)))) == 2
    assert message in capsys.readouterr().err


def test_a_grid_value_that_does_not_fit_fails_naming_it_and_writes_nothing(setup, capsys, tmp_path):
    out = tmp_path / "out"
    assert main(args(setup, "--grid", "every=2,two", "--out", str(out))) == 1
    assert "every: expected an integer (type int), got 'two'" in capsys.readouterr().err
    assert not out.exists()


def test_handler_errors_in_any_run_exit_1_naming_the_runs(setup, capsys):
    assert main(args(setup, "--grid", "size=1,2,3")) == 1
    captured = capsys.readouterr()
    assert "strategy handlers threw in run(s) 1, 2;" in captured.err
    assert captured.out.startswith("3 runs:")


def test_fee_slippage_latency_and_capital_flags_reach_every_run(setup, capsys):
    flags = ("--taker-fee", "0", "--slippage-bps", "100", "--latency-ms", "1500", "--capital", "500")
    runs = sweep_json(setup, capsys, *flags)["runs"]
    options = [json.loads(r["options"]) for r in runs]
    assert {(o["fees"]["taker"], o["slippage_bps"], o["latency_ms"], o["capital"]) for o in options} == {
        (0, 100, 1500, 500)
    }
    assert {r["Fees"] for r in runs} == {0} and {r["Capital"] for r in runs} == {500}


def test_sweep_and_backtest_have_exactly_the_same_settings_flags():
    from meltica_lab.backtest.settings import FLAGS
    from meltica_lab.cli import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices

    def settings_flags(command: str) -> dict[str, tuple]:
        [group] = [g for g in commands[command]._action_groups if g.title == "backtest settings (every run)"]
        return {a.option_strings[0]: (a.dest, a.type, a.choices, a.const) for a in group._group_actions}

    assert settings_flags("sweep") == settings_flags("backtest")
    assert list(settings_flags("sweep")) == [flag.flag for _, flag in FLAGS]
