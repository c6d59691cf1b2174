"""``meltica-lab backtest``: summary text, --json, --out, config options, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from meltica_lab.cli import main
from tests.backtest.conftest import module, register

CONFIG = [
    {"name": "size", "type": "float", "default": 1, "required": False},
    {"name": "every", "type": "int", "default": 2, "required": False},
]
SOURCE = module(
    "let n = 0; const c = env.config; log('size', c.size, 'every', c.every);"
    " return { onTrade() { n++;"
    " if (n % c.every === 0) rt.submitMarketOrder('', n % (2 * c.every) ? 'buy' : 'sell', c.size); } };",
    name="stepper",
    config=CONFIG,
)
DATA = "timestamp,price,quantity\n" + "".join(f"{1672531200000 + k * 1000},{100 + k},1\n" for k in range(8))


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, str]:
    root = tmp_path / "strategies"
    root.mkdir()
    digest = register(root, "stepper", "v1.0.0", SOURCE)
    data = tmp_path / "trades.csv"
    data.write_text(DATA)
    return root, data, digest


def args(setup, *extra: str) -> list[str]:
    root, data, _ = setup
    return [
        "backtest",
        "--strategy",
        "stepper:v1.0.0",
        "--data",
        str(data),
        "--root",
        str(root),
        "--no-progress",
        *extra,
    ]


def test_prints_a_readable_summary(setup, capsys):
    assert main(args(setup)) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Backtest of stepper:v1.0.0 ({setup[2]}) on 8 rows, 8 events")
    assert "Equity Final" in out and "Legacy Net PnL" in out


def test_json_prints_provenance_summary_logs_and_errors(setup, capsys):
    assert main(args(setup, "--json", "--seed", "3")) == 0
    document = json.loads(capsys.readouterr().out)
    assert list(document) == ["provenance", "summary", "logs", "errors"]
    assert document["provenance"]["hash"] == setup[2] and document["provenance"]["seed"] == 3
    assert document["summary"]["Orders"] == 4 and document["errors"] == []


def test_config_values_are_coerced_by_declared_type_and_merged_over_a_file(setup, tmp_path, capsys):
    config_file = tmp_path / "config.yaml"
    config_file.write_text("size: 0.5\nevery: 3\n")
    assert main(args(setup, "--json", "--config-file", str(config_file), "--config", "every=4")) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["provenance"]["config"] == {"size": 0.5, "every": 4, "dry_run": False}
    assert document["logs"][0]["message"] == "size 0.5 every 4"


def test_fee_slippage_latency_and_fill_options_reach_the_exchange(setup, capsys):
    options = ("--json", "--taker-fee", "0", "--slippage-bps", "100", "--latency-ms", "1500", "--capital", "500")
    assert main(args(setup, *options)) == 0
    document = json.loads(capsys.readouterr().out)
    applied = document["provenance"]["options"]
    assert applied["fees"]["taker"] == 0 and applied["slippage_bps"] == 100 and applied["latency_ms"] == 1500
    assert applied["capital"] == 500 and document["summary"]["Capital"] == 500
    assert document["summary"]["Fees"] == 0


def test_out_writes_parquet_tables_and_the_json(setup, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(args(setup, "--out", str(out))) == 0
    assert sorted(p.name for p in out.iterdir()) == ["equity.parquet", "fills.parquet", "orders.parquet", "result.json"]
    fills = pd.read_parquet(out / "fills.parquet")
    assert len(fills) == 3 and str(fills.index.tz) == "UTC"
    assert json.loads((out / "result.json").read_text())["provenance"]["hash"] == setup[2]


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (("--config", "size"), 2, "--config 'size': expected KEY=VALUE"),
        (("--config", "size=big"), 1, "size: expected a finite number"),
        (("--config", "sise=1"), 1, "unknown key(s) sise; known keys: dry_run, every, size"),
    ],
)
def test_bad_config_is_one_readable_error_line(setup, capsys, extra, code, message):
    assert main(args(setup, *extra)) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_missing_data_and_unknown_strategy_fail_with_exit_code_1(setup, tmp_path, capsys):
    root, _, _ = setup
    assert main(["backtest", "--strategy", "stepper", "--data", str(tmp_path / "absent.csv"), "--root", str(root)]) == 1
    assert "data file not found" in capsys.readouterr().err
    assert main(["backtest", "--strategy", "nope", "--data", str(setup[1]), "--root", str(root)]) == 1
    assert "nope" in capsys.readouterr().err


def test_handler_errors_give_exit_code_1_after_printing_the_result(tmp_path, capsys):
    root = tmp_path / "strategies"
    root.mkdir()
    register(root, "thrower", "v1.0.0", module("return { onTrade() { throw new Error('nope'); } };", name="thrower"))
    data = tmp_path / "trades.csv"
    data.write_text(DATA)
    code = main(["backtest", "--strategy", "thrower", "--data", str(data), "--root", str(root), "--json"])
    captured = capsys.readouterr()
    assert code == 1
    assert json.loads(captured.out)["errors"] == [{"handler": "onTrade", "message": "Error: nope", "count": 8}]
    assert "8 handler error(s)" in captured.err


def test_fill_model_symbol_provider_and_bad_row_options(setup, tmp_path, capsys):
    root, _, _ = setup
    data = tmp_path / "mixed.csv"
    data.write_text(DATA.replace("1672531203000,103,1", "1672531203000,oops,1"))
    argv = ["backtest", "--strategy", "stepper", "--data", str(data), "--root", str(root), "--no-progress", "--json"]
    argv += ["--fill", "touch", "--price-improvement", "--partial-fills", "--drop-bad-rows", "--symbol", "BTC-USDT"]
    argv += ["--provider", "alpha", "--provider", "beta"]
    assert main(argv) == 0
    document = json.loads(capsys.readouterr().out)
    options = document["provenance"]["options"]
    assert options["fill_model"] == {"trigger": "touch", "price_improvement": True, "partial": True}
    assert options["symbol"] == "BTC-USDT" and options["providers"] == ["alpha", "beta"]
    assert document["provenance"]["rows_dropped"] == 1 and document["summary"]["Dropped Rows"] == 1
