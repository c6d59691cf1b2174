"""The same hash, data and seed give the same bytes whatever the host's time zone and wall clock
(issue 16, findings 12 and 13).

The probe found 90 orders under ``TZ=UTC`` and 55 under ``TZ=Asia/Kolkata`` (local-time ``Date``
methods read the host zone), and ``new Intl.DateTimeFormat().format()`` reading the real clock. Here
one strategy leans on every such source; it runs in fresh processes under several ``TZ`` values
(V8 takes the zone from the process), and the results must be equal byte for byte.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from meltica_lab.backtest import run_backtest
from tests.hardening.conftest import Workspace, register, strategy_source, trades_csv

ZONES = ("UTC", "Asia/Kolkata", "America/New_York", "Pacific/Chatham")
"""UTC, a half-hour offset, a zone with daylight saving, and a 45-minute offset."""

CLOCK_READER = strategy_source(
    "clocks",
    on_trade=(
        "const d = new Date();"
        "const parts = new Date(2023, 10, 14, 22, 13, 21).valueOf();"  # y, m, d, ... read as local time
        "const parsed = Date.parse('2023-11-14T22:13:22');"  # a date-time without a zone: local time
        "const perf = typeof performance === 'object' ? performance.now() : 'none';"
        "const temporal = typeof Temporal === 'object' ? Temporal.Now.instant().toString() : 'none';"
        "log(String(d), d.toDateString(), d.toTimeString(), d.getTimezoneOffset(), d.getHours(), d.getDate(),"
        "  d.toLocaleString('en-US'), new Intl.DateTimeFormat('en-US').resolvedOptions().timeZone,"
        "  new Intl.DateTimeFormat('en-US', {dateStyle: 'medium', timeStyle: 'medium'}).format(),"
        "  parts, parsed, perf, temporal, new Date('Nov 14 2023 22:13:23').valueOf());"
        # the decision leans on the local hour: under another zone it would trade otherwise
        "if (d.getHours() === 22 && d.getSeconds() % 2 === 0) rt.submitMarketOrder('', 'buy', 1);"
        "if (d.getHours() === 22 && d.getSeconds() % 2 === 1) rt.submitMarketOrder('', 'sell', 1);"
    ),
)

RUN = """
import json, sys
from meltica_lab.backtest import run_backtest
result = run_backtest("clocks", sys.argv[2], root=sys.argv[1], progress=False, seed=11)
out = {name: getattr(result, name).to_csv(index=False) for name in ("fills", "orders", "logs", "errors")}
out["summary"] = result.summary.to_csv()
sys.stdout.write(json.dumps(out, sort_keys=True))
sys.stdout.flush()
"""


def run_in_zone(workspace: Workspace, data: Path, zone: str) -> str:
    env = {**os.environ, "TZ": zone}
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(workspace.root), str(data)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode in (0, -6, -11) or done.stdout, done.stderr[-2000:]  # teardown may abort after output
    return done.stdout


def test_the_same_backtest_under_four_time_zones_gives_the_same_bytes(workspace: Workspace):
    register(workspace.root, CLOCK_READER, "clocks", "v1.0.0")
    data = workspace.write("t.csv", trades_csv([100.0 + i % 3 for i in range(8)]))
    runs = {zone: run_in_zone(workspace, data, zone) for zone in ZONES}
    reference = runs["UTC"]
    assert json.loads(reference)["fills"].count("\n") > 1, "the strategy traded nothing: the test shows nothing"
    for zone, output in runs.items():
        assert output == reference, f"TZ={zone} gave other results than TZ=UTC"


def test_every_clock_a_strategy_can_read_is_the_simulation_clock(workspace: Workspace):
    register(workspace.root, CLOCK_READER, "clocks", "v1.0.0")
    data = workspace.write("t.csv", trades_csv([100.0, 101.0]))
    logs = run_backtest("clocks", data, root=workspace.root, progress=False).logs["message"].tolist()
    # the first trade is at T0 = 2023-11-14T22:13:20Z
    first = logs[0].split(" ")
    assert " ".join(first[:9]) == "Tue Nov 14 2023 22:13:20 GMT+0000 (Coordinated Universal Time)"
    assert "Nov 14, 2023, 10:13:20 PM" in logs[0]  # Intl.DateTimeFormat().format() with no date
    assert "11/14/2023, 10:13:20 PM" in logs[0]  # toLocaleString
    assert " UTC " in logs[0] and " 0 22 14 " in logs[0]  # resolved zone; offset, hour, date
    parts, parsed = 1_700_000_001_000, 1_700_000_002_000
    assert f" {parts} {parsed} " in logs[0]  # local forms of y/m/d and of a string read as UTC
    assert logs[0].endswith(" 1700000003000")
    assert "2023-11-14T22:13:20Z" in logs[0] or "none" in logs[0]  # Temporal.Now, where the engine has it
    assert "2023-11-14T22:13:21Z" in logs[1] or "none" in logs[1]
