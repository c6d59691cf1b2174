"""In a real browser: JupyterLab runs every report notebook and every widget, and a user works them.

JupyterLab is started headless on 127.0.0.1 (an ephemeral port, a random token, temporary runtime,
config and workspace folders) over a temporary copy of the project layout, so autosave cannot touch
the committed notebooks. Chromium is Debian's ``/usr/bin/chromium`` driven by Playwright; it is
required: without it these tests fail (``apt-get install -y chromium``), they are never skipped.

Each notebook is run top to bottom; then the widgets are used as a person would: the BacktestPanel
gets another revision (the old result goes), a bad value (shown beside the field, the run refused),
a fixed value and a run; the UsageExplorer pages; a scratch notebook builds a RegistryBrowser and a
RevisionCompare and runs the diff and the comparison. Screenshots go to ``reports/screenshots/``.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = PROJECT / "reports" / "screenshots"
START_SECONDS = 60
RUN_SECONDS = 180


def _widgets_notebook() -> str:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "from meltica_lab.widgets import RegistryBrowser, RevisionCompare\n"
            'RegistryBrowser("../strategies", strategy="momentum")'
        ),
        nbformat.v4.new_code_cell(
            'RevisionCompare("../strategies", data="../examples/data/btc_trades_small.csv",\n'
            '                selectors=["momentum:v1.1.0", "momentum:v1.2.0"])'
        ),
    ]
    return nbformat.writes(notebook)


WIDGETS_NOTEBOOK = _widgets_notebook()
"""A scratch notebook with the two widgets the report notebooks do not show."""


def free_port() -> int:
    """A port nothing listens on right now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Poll ``url`` until it answers 200; fail with the server log if it exits or takes too long."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited with {server.returncode}:\n{log.read_text(errors='replace')[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"JupyterLab did not answer within {START_SECONDS} s:\n{log.read_text(errors='replace')[-4000:]}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A JupyterLab server over a copy of the notebooks folder beside links to the examples and strategies,
    shared by the tests of this module (each opens its own notebook and kernel)."""
    tmp_path = tmp_path_factory.mktemp("lab")
    work = tmp_path / "work"
    (work / "notebooks").mkdir(parents=True)
    for notebook in (PROJECT / "notebooks").glob("*.ipynb"):
        shutil.copy2(notebook, work / "notebooks")
    (work / "notebooks" / "widgets.ipynb").write_text(WIDGETS_NOTEBOOK, encoding="utf-8")
    for name in ("strategies", "examples"):
        (work / name).symlink_to(PROJECT / name, target_is_directory=True)
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    for key, folder in (
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
        ("JUPYTERLAB_SETTINGS_DIR", "settings"),
        ("IPYTHONDIR", "ipython"),
    ):
        env[key] = str(tmp_path / folder)
    # no "get notified about Jupyter news?" prompt over the page (and no fetching it)
    notification = tmp_path / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text('{"fetchNews": "false"}', encoding="utf-8")
    log = tmp_path / "lab.log"
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={work}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        "--ServerApp.terminals_enabled=False",
        "--allow-root",
    ]
    with log.open("wb") as sink:
        server = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=work)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/api/status?token={token}", server, log)
        yield f"http://127.0.0.1:{port}", token
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def browser(lab: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str, str]]:
    """A headless Chromium context on the lab, shared by the module's tests: ``(context, base url, token)``."""
    tmp_path = tmp_path_factory.mktemp("chromium")
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    base, token = lab
    with sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context, base, token
        finally:
            context.close()


def open_and_run(context: Any, base: str, token: str, name: str) -> Any:
    """Open ``notebooks/<name>.ipynb``, run every cell, wait until all ran; fail on any stderr output."""
    page = context.new_page()
    page.goto(f"{base}/lab/tree/notebooks/{name}.ipynb?token={token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=START_SECONDS * 1000)
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
        " && window.jupyterapp.shell.currentWidget.sessionContext"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
        " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
        timeout=START_SECONDS * 1000,
    )
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
            return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }""",
        timeout=RUN_SECONDS * 1000,
    )
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
        timeout=RUN_SECONDS * 1000,
    )
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, errors.all_inner_texts()
    assert page.locator(".jp-OutputArea-output .ename, .jp-RenderedText[data-mime-type*='error']").count() == 0
    page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
    return page


def shoot(page: Any, target: Any, name: str) -> Path:
    """Scroll ``target`` into view and save a screenshot of the page as ``reports/screenshots/<name>.png``."""
    target.evaluate(
        "node => { node.scrollIntoView({block: 'start'}); node.closest('.jp-WindowedPanel-outer')?.scrollBy(0, -48); }"
    )
    page.wait_for_timeout(500)  # let the layout settle
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    return path


def wait_for_text(page: Any, selector: str, text: str, seconds: float = 60) -> None:
    """Wait until the last element matching ``selector`` contains ``text`` (rendered on screen or not)."""
    page.wait_for_function(
        "([selector, text]) => { const all = document.querySelectorAll(selector);"
        " return all.length > 0 && all[all.length - 1].textContent.includes(text); }",
        arg=[selector, text],
        timeout=seconds * 1000,
    )


def text_field(widget: Any, label: str) -> Any:
    """The input of the checked text field labelled ``label`` inside ``widget``."""
    return widget.locator(".widget-text").filter(has=widget.page.get_by_text(label, exact=True)).locator("input")


@pytest.mark.browser
def test_the_backtest_panel_refuses_a_bad_value_clears_stale_results_and_runs(browser: tuple[Any, str, str]) -> None:
    context, base, token = browser
    page = open_and_run(context, base, token, "pinned_backtest")
    button = page.get_by_role("button", name="Run backtest")
    button.wait_for(state="visible", timeout=30_000)
    panel = page.locator(".meltica-backtestpanel").last
    assert panel.locator(".widget-hprogress").count() == 1
    assert "Provenance" in panel.inner_text()  # the notebook's run, shown in the panel's output area
    assert re.search(r"pinned selector\s+momentum@sha256:[0-9a-f]{64}", panel.inner_text())  # whole, not cut
    assert panel.locator("[title='null']").count() == 0  # every control has a real tooltip or none
    shoot(page, panel, "pinned_backtest_panel")

    # pick another revision: the old result goes
    picker = panel.locator(".widget-dropdown select").first
    label = picker.evaluate("s => [...s.options].map(o => o.text).find(t => t.startsWith('momentum:v1.1.0'))")
    picker.select_option(label=label)
    panel.get_by_text("Inputs changed since the last run").wait_for(timeout=30_000)
    assert "Provenance" not in panel.inner_text()

    # a bad value: shown beside the field, and the run does not start
    lookback = text_field(panel, "lookback")
    lookback.fill("2.7")
    panel.locator(".meltica-field-error").first.wait_for(timeout=30_000)
    assert "expected an integer" in panel.locator(".meltica-field-error").first.inner_text()
    shoot(page, panel, "pinned_backtest_bad_value")
    button.click()
    panel.locator(".meltica-error").first.wait_for(timeout=30_000)
    assert "1 field(s) to fix before the run" in panel.locator(".meltica-error").first.inner_text()
    assert "Provenance" not in panel.inner_text()

    # fixed, on the small file: it runs and shows the new result
    lookback.fill("10")
    page.wait_for_function("() => document.querySelectorAll('.meltica-field-error').length === 0", timeout=30_000)
    panel.locator(".widget-dropdown select").nth(1).select_option(label="btc_trades_small.csv")
    button.click()
    panel.get_by_text("btc_trades_small.csv", exact=False).last.wait_for(timeout=60_000)
    panel.get_by_text("done", exact=True).wait_for(timeout=60_000)
    assert panel.locator(".meltica-error").count() == 0
    assert '"lookback": 10' in panel.inner_text()
    shoot(page, panel, "pinned_backtest_rerun")


@pytest.mark.browser
def test_the_drift_review_runs_and_its_usage_explorer_pages(browser: tuple[Any, str, str]) -> None:
    context, base, token = browser
    page = open_and_run(context, base, token, "drift_review")
    shoot(page, page.locator(".jp-OutputArea-output").filter(has_text="mom-prod-1").first, "drift_review_table")
    explorer = page.locator(".meltica-usageexplorer").last
    assert "page 1 of 2" in (explorer.text_content() or "")  # text_content: the notebook renders lazily
    explorer.locator("button[title='next page']").click()
    wait_for_text(page, ".meltica-usageexplorer", "page 2 of 2")
    shoot(page, explorer, "drift_review_usage_explorer")
    explorer.locator("input[type='text']").first.fill("ffff")
    wait_for_text(page, ".meltica-usageexplorer", "No usage rows match these filters")


@pytest.mark.browser
def test_the_migration_runs_with_the_action_column_in_view(browser: tuple[Any, str, str]) -> None:
    context, base, token = browser
    page = open_and_run(context, base, token, "migration")
    plan = page.locator(".jp-OutputArea-output").filter(has_text="tagSource").first
    action = plan.locator("th", has_text="action").first
    box, area = action.bounding_box(), plan.bounding_box()
    assert box is not None and area is not None and box["x"] + box["width"] <= area["x"] + area["width"]
    shoot(page, plan, "migration_plan")


@pytest.mark.browser
def test_the_registry_browser_and_revision_compare_work_in_the_lab(browser: tuple[Any, str, str]) -> None:
    context, base, token = browser
    page = open_and_run(context, base, token, "widgets")
    registry = page.locator(".meltica-registrybrowser").last
    wait_for_text(page, ".meltica-registrybrowser", "Tag history")
    registry.locator(".widget-dropdown select").first.select_option(label="grid")
    wait_for_text(page, ".meltica-registrybrowser", "Revisions of grid")
    shoot(page, registry, "registry_browser")
    diff = page.get_by_role("button", name="Source diff")
    compare = page.locator(".meltica-revisioncompare").last
    diff.click()
    compare.locator(".meltica-diff").wait_for(state="attached", timeout=30_000)
    page.get_by_role("button", name="Compare backtests").click()
    wait_for_text(page, ".meltica-revisioncompare", "done: 2 revision(s)", seconds=120)
    text = compare.text_content() or ""
    assert "momentum:v1.1.0" in text and "momentum:v1.2.0" in text and "Legacy Max Drawdown" in text
    shoot(page, compare, "revision_compare")


@pytest.mark.browser
def test_the_reconcile_report_runs_in_the_lab(browser: tuple[Any, str, str]) -> None:
    context, base, token = browser
    page = open_and_run(context, base, token, "reconcile")
    panel = page.locator(".meltica-reconcilepanel").last
    panel.wait_for(state="attached", timeout=30_000)
    assert page.locator(".meltica-error").count() == 0
    assert panel.locator("[title='null']").count() == 0
    shoot(page, panel, "reconcile_panel")
