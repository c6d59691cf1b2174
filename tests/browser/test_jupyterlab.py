"""In a real browser: JupyterLab runs ``pinned_backtest.ipynb`` and the BacktestPanel widget renders.

JupyterLab is started headless on 127.0.0.1 (an ephemeral port, a random token, temporary runtime,
config and workspace folders) over a temporary copy of the project layout, so autosave cannot touch
the committed notebook. Chromium is Debian's ``/usr/bin/chromium`` driven by Playwright; it is
required: without it this test fails (``apt-get install -y chromium``), it is never skipped.
A screenshot is left at ``reports/pinned_backtest_lab.png``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

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
SCREENSHOT = PROJECT / "reports" / "pinned_backtest_lab.png"
START_SECONDS = 60
RUN_SECONDS = 180


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


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A JupyterLab server over a copy of the notebooks folder beside links to the examples and strategies."""
    work = tmp_path / "work"
    (work / "notebooks").mkdir(parents=True)
    shutil.copy2(PROJECT / "notebooks" / "pinned_backtest.ipynb", work / "notebooks")
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


@pytest.mark.browser
def test_pinned_backtest_runs_in_jupyterlab_and_shows_the_backtest_panel(lab: tuple[str, str], tmp_path: Path) -> None:
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
            page = context.new_page()
            page.goto(f"{base}/lab/tree/notebooks/pinned_backtest.ipynb?token={token}")
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
            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
            assert errors.count() == 0, errors.all_inner_texts()
            button = page.get_by_role("button", name="Run backtest")
            button.wait_for(state="visible", timeout=30_000)
            panel = page.locator(".jupyter-widgets.widget-vbox").filter(has=button).last
            assert panel.locator(".widget-dropdown").count() >= 2  # revision and data pickers
            assert panel.locator(".widget-hprogress").count() == 1
            assert "Provenance" in panel.inner_text()  # the notebook's run, shown in the panel's output area
            # the live callback: another data file, the button, the result in the output area
            panel.locator(".widget-dropdown select").nth(1).select_option(label="btc_trades_small.csv")
            button.click()
            panel.get_by_text("btc_trades_small.csv (sha256:").wait_for(timeout=60_000)
            assert panel.locator(".meltica-error").count() == 0
            page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
            panel.evaluate(
                "node => { node.scrollIntoView({block: 'start'});"
                " node.closest('.jp-WindowedPanel-outer')?.scrollBy(0, -48); }"
            )
            page.wait_for_timeout(500)  # let the layout settle after the sidebar closed
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT))
        finally:
            context.close()
    assert SCREENSHOT.stat().st_size > 10_000
