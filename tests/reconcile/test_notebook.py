"""``notebooks/reconcile.ipynb``: committed executed, reproduced by nbval, run as a report on saved
answers and on a live gateway, and part of ``make demo``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat

from meltica_lab.cli.demo import notebook_runs
from meltica_lab.reports import NOTEBOOK_DIR, notebook_parameters, run_report
from tests.gateway_server import FakeGateway, Instance
from tests.notebooks.notebook_files import errors_in, printed

PROJECT = NOTEBOOK_DIR.parent
NOTEBOOK = NOTEBOOK_DIR / "reconcile.ipynb"
LIVE = PROJECT / "examples" / "live"
SANITIZE = PROJECT / "tests" / "notebooks" / "sanitize.cfg"


def test_the_notebook_is_committed_executed_with_its_parameters_tagged() -> None:
    parameters = notebook_parameters(NOTEBOOK)
    assert {"gateway", "instance", "orders", "executions", "snapshot", "data", "tolerance"} <= set(parameters)
    data = nbformat.read(str(NOTEBOOK), as_version=4)
    code = [c for c in data.cells if c.cell_type == "code" and "parameters" not in c.metadata.get("tags", [])]
    assert all(c.execution_count for c in code), "commit the notebook executed (with outputs)"
    assert errors_in(NOTEBOOK) == []
    assert data.cells[-1].cell_type == "code" and data.cells[-2].source.startswith("## Summary")
    assert "the live order ord-00004 for it ended REJECTED" in json.dumps(nbformat.writes(data))


def test_the_committed_notebook_reproduces_its_outputs_under_nbval(tmp_path: Path) -> None:
    sanitize = tmp_path / "sanitize.cfg"  # the notebooks' sanitisers and this notebook's one more
    sanitize.write_text(SANITIZE.read_text() + "\n" + (Path(__file__).with_name("sanitize.cfg")).read_text())
    command = [sys.executable, "-m", "pytest", "--nbval", str(NOTEBOOK), "--nbval-sanitize-with", str(sanitize)]
    command += ["-p", "no:cacheprovider", "-q", "--rootdir", str(NOTEBOOK_DIR), "-o", "addopts=", "-o", "testpaths="]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=NOTEBOOK_DIR)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]


def test_the_report_reconciles_an_instance_of_a_live_gateway(tmp_path: Path) -> None:
    snapshot = json.loads((LIVE / "instance.json").read_text())
    spec = snapshot["strategy"]
    with FakeGateway() as gateway:
        gateway.instances["momentum-live"] = Instance(
            "momentum-live", "momentum", spec["selector"], spec["hash"], spec["tag"], True, config=spec["config"]
        )
        gateway.orders["momentum-live"] = json.loads((LIVE / "orders.json").read_text())["orders"]
        gateway.executions["momentum-live"] = json.loads((LIVE / "executions.json").read_text())["executions"]
        parameters = {"gateway": gateway.url, "instance": "momentum-live", "tolerance": "10s"}
        report = run_report("reconcile", parameters=parameters, out=tmp_path)
    assert errors_in(report.executed) == []
    assert f"from {gateway.url} instance momentum-live" in printed(report.executed)
    page = report.html.read_text(encoding="utf-8")
    assert "tolerance 10 s" in page and "meltica-widget" in page  # the panel's static twin


def test_make_demo_runs_the_reconcile_report_on_the_example_live_run(tmp_path: Path) -> None:
    runs = dict(notebook_runs(tmp_path))
    assert Path(runs["reconcile"]["orders"]) == LIVE / "orders.json"
    assert Path(runs["reconcile"]["snapshot"]) == LIVE / "instance.json"
