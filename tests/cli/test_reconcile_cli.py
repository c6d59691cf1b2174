"""``meltica-lab reconcile``: text, --json, --out, the exit codes a scheduled report alerts on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meltica_lab.cli import main
from tests.reconcile.records import answers, execution, order

PROJECT = Path(__file__).resolve().parents[2]
LIVE = PROJECT / "examples" / "live"
DATA = PROJECT / "examples" / "data" / "btc_trades.csv"
SAVED = [
    "--orders",
    str(LIVE / "orders.json"),
    "--executions",
    str(LIVE / "executions.json"),
    "--snapshot",
    str(LIVE / "instance.json"),
]
COMMON = ["reconcile", "--root", str(PROJECT / "strategies"), "--data", str(DATA), "--no-progress"]
FEES = ["--taker-fee", "0.001", "--maker-fee", "0.001"]


def test_unmatched_fills_exit_1_and_the_text_names_them(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*COMMON, *SAVED, *FEES]) == 1
    out, err = capsys.readouterr()
    assert "Reconciliation of instance momentum-live against momentum:v1.0.0" in out
    assert "the live order ord-00004 for it ended REJECTED" in out
    assert "2 fill(s) and 0 order(s) unmatched within the tolerance" in err


def test_json_prints_the_four_parts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*COMMON, *SAVED, *FEES, "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert list(document) == ["summary", "fills", "orders", "provenance"]
    assert document["summary"]["missing_live"] == 2
    assert document["provenance"]["backtest"]["options"]["fees"] == {"maker": 0.001, "taker": 0.001}


def test_everything_matched_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the first order of the example, alone, and the backtest over the data until just after it
    document = json.loads((LIVE / "orders.json").read_text())
    first = document["orders"][-1]
    fills = [e for e in json.loads((LIVE / "executions.json").read_text())["executions"] if e["orderId"] == first["id"]]
    (tmp_path / "orders.json").write_text(json.dumps({"orders": [first], "count": 1}))
    (tmp_path / "executions.json").write_text(json.dumps({"executions": fills, "count": len(fills)}))
    head = tmp_path / "head.csv"
    head.write_text("".join(DATA.read_text().splitlines(keepends=True)[:40]))
    saved = ["--orders", str(tmp_path / "orders.json"), "--executions", str(tmp_path / "executions.json")]
    saved += ["--snapshot", str(LIVE / "instance.json")]
    command = ["reconcile", "--root", str(PROJECT / "strategies"), "--data", str(head), "--no-progress", *saved]
    assert main([*command, "--tolerance", "10s"]) == 0, capsys.readouterr()
    assert "All 1 fill pair(s) and 1 order pair(s) matched" in capsys.readouterr().out


def test_out_writes_every_file_and_the_report(tmp_path: Path) -> None:
    out = tmp_path / "report"
    main([*COMMON, *SAVED, *FEES, "--out", str(out)])
    assert sorted(p.name for p in out.iterdir()) == [
        "fills.csv",
        "orders.csv",
        "reconcile.html",
        "reconcile.png",
        "reconciliation.json",
    ]
    assert "Fills: unmatched (2 of 99)" in (out / "reconcile.html").read_text()
    assert (out / "reconcile.png").read_bytes()[:4] == b"\x89PNG"


def test_config_changes_keys_of_the_instance_config(capsys: pytest.CaptureFixture[str]) -> None:
    main([*COMMON, *SAVED, "--config", "threshold=0.5", "--json"])
    provenance = json.loads(capsys.readouterr().out)["provenance"]
    assert provenance["config"]["threshold"] == 0.5
    assert provenance["config"]["lookback"] == 20  # kept from the instance


def test_live_records_given_twice_or_not_at_all_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*COMMON]) == 2
    assert "give the live records one way" in capsys.readouterr().err
    assert main([*COMMON, *SAVED, "--gateway", "http://127.0.0.1:1"]) == 2
    assert main([*COMMON, "--gateway", "http://127.0.0.1:1"]) == 2
    assert "--gateway needs --instance ID" in capsys.readouterr().err


def test_saved_answers_without_a_snapshot_need_a_strategy(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*COMMON, *SAVED[:4]]) == 2
    assert "give strategy=SELECTOR (--strategy)" in capsys.readouterr().err


def test_bad_records_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    orders, executions = answers([order(1, "BUY", "1", 0)], [execution(1, 2, "1", "100", 0)])
    (tmp_path / "o.json").write_text(json.dumps(orders))
    (tmp_path / "e.json").write_text(json.dumps(executions))
    code = main([*COMMON, "--orders", str(tmp_path / "o.json"), "--executions", str(tmp_path / "e.json")])
    assert code == 1
    err = capsys.readouterr().err
    assert "belongs to order ord-2, which is not among the 1 order(s)" in err and err.count("\n") == 1


def test_start_takes_unix_seconds_or_a_time(capsys: pytest.CaptureFixture[str]) -> None:
    main([*COMMON, *SAVED, *FEES, "--start", "1709251200", "--json"])
    assert json.loads(capsys.readouterr().out)["provenance"]["backtest_start"] == "2024-03-01T00:00:00+00:00"
    main([*COMMON, *SAVED, *FEES, "--start", "2024-03-01T00:00:00Z", "--json"])
    assert json.loads(capsys.readouterr().out)["provenance"]["start"] == "start"
