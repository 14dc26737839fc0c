"""Notebook 07 in a real browser: JupyterLab on a loopback port, Debian's Chromium driven by Playwright.

Run all, then use the explorer as a student would (type a sentence and press Enter, switch the network and the
language, drag a knob, move the frame) and check that the status line and the picture change each time. Skips where
Playwright (``pip install playwright``; never ``playwright install``: the test drives the system's Chromium) or
``/usr/bin/chromium`` is missing. ``VLT_MINI_SCREENSHOTS=DIR`` saves screenshots of the explorer there.
"""
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import vlt_mini
from vlt_mini.io import data_dir

pytestmark = pytest.mark.slow

CHROMIUM = Path(os.environ.get("VLT_MINI_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-dev-shm-usage"]  # containers' /dev/shm is often too small for Chromium
NOTEBOOK = "07_ablations_and_insight.ipynb"
CHECKOUT = Path(vlt_mini.__file__).resolve().parents[1]  # the vlt-mini being tested (PYTHONPATH or installed)
RUN_ALL_TIMEOUT_S = 900  # about 75 s on two idle cores with fresh data; far more on a loaded machine
CHANGE_TIMEOUT_S = 90


def _missing() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install playwright; the test uses the system's Chromium)"
    if not CHROMIUM.is_file():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        return "JupyterLab is not installed (pip install -e '.[notebooks]')"
    if not (CHECKOUT / "notebooks" / NOTEBOOK).is_file():
        return f"no {NOTEBOOK} next to {CHECKOUT / 'vlt_mini'}"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a copy of the checkout's layout (the notebook is copied, so autosave never writes into the
    repository), at the tiny profile, killed with its kernels at the end."""
    reason = _missing()
    if reason:
        pytest.skip(reason)
    home = tmp_path_factory.mktemp("lab")
    served = home / "vlt-mini"
    (served / "notebooks").mkdir(parents=True)
    for name in ("pyproject.toml", "vlt_mini", "results", "README.md"):  # what the notebook reads from its checkout
        if (CHECKOUT / name).exists():
            (served / name).symlink_to(CHECKOUT / name)
    shutil.copy(CHECKOUT / "notebooks" / NOTEBOOK, served / "notebooks" / NOTEBOOK)
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, VLT_MINI_PROFILE="tiny", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               # the checkout's data folder, as nbval uses: mini-LaSOT and the tiny trainings are made once
               VLT_MINI_DATA=str(data_dir()), PYTHONPATH=os.pathsep.join(filter(None, [str(CHECKOUT),
                                                                                     os.environ.get("PYTHONPATH")])),
               JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               IPYTHONDIR=str(home / "ipython"))
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               f"--ServerApp.root_dir={served}", "--LabApp.expose_app_in_browser=True",
               "--ServerApp.allow_root=True",  # CI containers run as root
               # nothing reaches for the network: no news, no update check, no PyPI extension manager
               "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--LabApp.extension_manager=readonly"]
    log = (home / "lab.log").open("w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start: {(home / 'lab.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/lab/tree/notebooks/{NOTEBOOK}?token={token}"
    finally:
        _stop(server)
        log.close()


def _stop(server: subprocess.Popen) -> None:
    """Stop the server and the kernels it started: they share its process group (start_new_session)."""
    for sig, wait_s in ((signal.SIGTERM, 15), (signal.SIGKILL, 15)):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:  # the whole group is gone already
            break
        try:
            server.wait(timeout=wait_s)
            os.killpg(server.pid, signal.SIGKILL)  # kernels still running after the server exited
        except (subprocess.TimeoutExpired, ProcessLookupError):
            continue
        break
    server.poll()


def _wait_for(condition, timeout_s: float, what: str, page=None):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        (page.wait_for_timeout(250) if page is not None else time.sleep(0.25))
    pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")


def test_notebook_07_explorer_in_chromium(lab):
    from playwright.sync_api import sync_playwright

    screenshots = Path(os.environ["VLT_MINI_SCREENSHOTS"]) if os.environ.get("VLT_MINI_SCREENSHOTS") else None
    started = time.monotonic()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(lab)
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            _wait_for(lambda: page.evaluate(
                "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                " const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;"
                " return !!k && k.status === 'idle'; }"), 90, "the kernel", page)
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            code_cells = page.locator(".jp-CodeCell").count()
            errors = page.locator('.jp-RenderedText[data-mime-type="application/vnd.jupyter.stderr"], '
                                  '.jp-RenderedText[data-mime-type="application/vnd.jupyter.error"]')

            def finished() -> bool:
                tracebacks = [text for text in errors.all_inner_texts() if "Error" in text or "Traceback" in text]
                assert not tracebacks, f"error output: {tracebacks[:2]}"  # run-all stops at an error: fail now
                # the notebook model too: JupyterLab draws only the cells in view, so an error may not be in the page
                failed = page.evaluate(
                    "() => { const cells = window.jupyterapp.shell.currentWidget.content.model.cells; const found = [];"
                    " for (let i = 0; i < cells.length; i++) { const c = cells.get(i); if (c.type !== 'code') continue;"
                    "   for (const o of c.outputs.toJSON()) { if (o.output_type === 'error')"
                    "     found.push('cell ' + i + ': ' + o.ename + ': ' + o.evalue); } }"
                    " return found; }")
                assert not failed, f"a cell raised: {failed[:2]}"
                # the notebook model, not the prompts: a collapsed cell (the answers) never redraws its prompt
                return page.evaluate(
                    "() => { const w = window.jupyterapp.shell.currentWidget; const cells = w.content.model.cells;"
                    " let done = cells.length > 0;"
                    " for (let i = 0; i < cells.length; i++) { const c = cells.get(i);"
                    "   if (c.type === 'code' && !c.executionCount) { done = false; } }"
                    " return done && w.sessionContext.session.kernel.status === 'idle'; }")

            _wait_for(finished, RUN_ALL_TIMEOUT_S, f"all {code_cells} code cells to run", page)
            body = page.inner_text(".jp-Notebook")
            assert "Loading widget" not in body and "Error displaying widget" not in body

            explorer = page.locator(".jupyter-widgets.widget-vbox").filter(has=page.locator(".widget-image")).first
            explorer.scroll_into_view_if_needed()
            status = explorer.locator(".widget-html-content").first
            image = explorer.locator("img").first
            _wait_for(lambda: "SUC" in status.inner_text(), 60, "the explorer's status", page)
            if screenshots:
                screenshots.mkdir(parents=True, exist_ok=True)
                explorer.screenshot(path=str(screenshots / "explorer-after-run-all.png"))

            def changes(action, what):
                before = (status.inner_text(), image.get_attribute("src"))
                action()
                _wait_for(lambda: status.inner_text() != before[0] and image.get_attribute("src") != before[1],
                          CHANGE_TIMEOUT_S, f"the status and the picture to change after {what}", page)
                return status.inner_text()

            sentence = explorer.locator(".widget-text input").first
            typed = "the small object on the far left"

            def type_sentence():
                sentence.fill(typed)
                sentence.press("Enter")  # Enter alone, no click outside: the box sends it

            text = changes(type_sentence, "typing a sentence and pressing Enter")
            assert typed in text
            text = changes(lambda: explorer.locator(".widget-toggle-button", has_text="SiamCAR").click(),
                           "switching to SiamCAR")
            assert "no ModaMixer" in text and sentence.is_disabled()
            changes(lambda: explorer.locator(".widget-toggle-button", has_text="VLT-mini").click(),
                    "switching back to VLT-mini")
            text = changes(lambda: explorer.locator(".widget-toggle-button", has_text="no sentence").click(),
                           "switching the language off")
            assert "own sentence" not in text and sentence.is_disabled()

            def drag(slider, pixels):
                handle = slider.locator(".noUi-handle").first
                handle.scroll_into_view_if_needed()  # mouse coordinates are the viewport's
                box = handle.bounding_box()
                page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
                page.mouse.down()
                page.mouse.move(box["x"] + box["width"] / 2 + pixels, box["y"] + box["height"] / 2, steps=8)
                page.mouse.up()

            knob = explorer.locator(".widget-slider", has_text="penalty_k").first
            changes(lambda: drag(knob, 60), "dragging the penalty_k slider")
            frame = explorer.locator(".widget-slider", has_text="frame").first
            text = changes(lambda: drag(frame, -50), "moving the frame")
            assert "frame " in text
            if screenshots:
                explorer.screenshot(path=str(screenshots / "explorer-after-controls.png"))
        finally:
            browser.close()
    print(f"browser test: {time.monotonic() - started:.0f} s after JupyterLab started")
