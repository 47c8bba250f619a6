"""Explorers in a real browser: JupyterLab headless, driven in Debian's Chromium by Playwright.

What a reader does, done by a machine: open the notebook, run it, press the
explorer's Run, move a slider with the keyboard, press Run again, and see
the plot change. The notebook is a copy in ``tmp_path`` holding the cell
tagged ``explorer`` and the cells it depends on (see ``explorer_cells``),
outputs and saved widget state cleared, so the committed notebook is never
touched and what is on screen comes from this run only.

Two notebooks: a purpose-built one whose explorer draws a line with a
slider-controlled slope (fast, and exact: the status line must echo the new
slope, and pressing Run with unchanged settings must redraw the same
picture), and ``notebooks/01_checkpoint_mismatch.ipynb`` (a failure if it is missing).
Screenshots go to ``test-artifacts/`` (git-ignored).

Playwright never downloads a browser here: it launches ``/usr/bin/chromium``
(``apt-get install chromium``; ``.ci/run`` does that). Without it the test is
skipped with a message that says so.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import symtable
import sys
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCENARIO = REPO / "notebooks" / "01_checkpoint_mismatch.ipynb"
EXPLORER_TAG = "explorer"
# JupyterLab settings for a quiet, deterministic page: no news toast, every cell in the DOM.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}

SYNTHETIC_EXPLORER = """\
import ipywidgets as widgets
import matplotlib.pyplot as plt
from types import SimpleNamespace
from helpers.widgets import Explorer

def line(slope, progress=None):
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [0, slope], label=f"slope {slope:g}")
    ax.set(title="A line", xlabel="x", ylabel="y", ylim=(-3, 3))
    ax.legend()
    progress(1, 1, {"slope": slope})
    return SimpleNamespace(figure=fig, summary=f"slope = {slope:g}")

explorer = Explorer(line, {"slope": widgets.FloatSlider(value=1.0, min=-3, max=3, step=0.5,
                                                        description="slope")}, title="Slope")
explorer"""


# --------------------------------------------------------------------------- set-up


@pytest.fixture(scope="module")
def chromium():
    """Skip, saying exactly what is missing, when the browser or its driver is absent."""
    if not CHROMIUM.exists():
        pytest.skip(
            f"Chromium is missing: {CHROMIUM} not found. The browser test drives Debian's "
            "Chromium through Playwright (no browser download); install it with "
            "`apt-get install chromium` (as root; `.ci/run` does this)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip(
            "Playwright for Python is missing: `pip install -r requirements.txt` installs it"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(chromium, tmp_path_factory):
    """A headless JupyterLab on a free localhost port, with its own settings, serving a tmp folder."""
    base = tmp_path_factory.mktemp("lab")
    root, config = base / "root", base / "config"
    root.mkdir()
    for name, values in LAB_SETTINGS.items():
        path = config / "lab" / "user-settings" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_DATA_DIR": str(base / "data"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "MPLBACKEND": "Agg",
    }
    log = (base / "jupyterlab.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.token={token}",
            f"--ServerApp.root_dir={root}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"JupyterLab exited with code {process.returncode}:\n"
                    f"{(base / 'jupyterlab.log').read_text()[-3000:]}"
                )
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.perf_counter() - start > 120:
                pytest.fail(
                    "JupyterLab did not answer within 120 s:\n"
                    f"{(base / 'jupyterlab.log').read_text()[-3000:]}"
                )
            time.sleep(0.25)
        print(f"\nJupyterLab answered after {time.perf_counter() - start:.1f} s")
        yield SimpleNamespace(url=url, token=token, root=root, log=base / "jupyterlab.log")
    finally:
        process.terminate()  # the server shuts its kernels down on SIGTERM
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            # The session we created for the server; its kernels run in sessions of their own
            # and exit by themselves once their parent is gone (ipykernel polls for it).
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


_PREDEFINED = set(dir(builtins)) | {"display", "get_ipython", "In", "Out", "exit", "quit"}


def _scope(source: str) -> tuple[set[str], set[str]]:
    """Names one cell defines at top level, and names it needs from earlier cells.

    Uses Python's own scoping rules (``symtable``), so a function's parameters
    and locals are not mistaken for names the cell needs.
    """
    code = "\n".join(
        line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))
    )
    top = symtable.symtable(code, "<cell>", "exec")
    defined = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    needed, tables = set(), [top]
    while tables:
        table = tables.pop()
        tables += table.get_children()
        needed |= {
            s.get_name()
            for s in table.get_symbols()
            if s.is_referenced()
            and (s.is_global() if table is not top else not (s.is_assigned() or s.is_imported()))
        }
    return defined, needed - defined - _PREDEFINED


def explorer_cells(nb, name: str = "the notebook") -> list[int]:
    """Indices of the cells to run: the explorer (tagged ``explorer``) and what it depends on.

    Running every cell above the explorer would cost a whole Run-All; the
    explorer needs only the first code cell (``setup_notebook``) and the cells
    defining the names it uses, found backwards through the notebook. If a
    name cannot be traced (a star import, a magic), every cell above it runs.
    """
    tagged = [
        i for i, c in enumerate(nb.cells) if EXPLORER_TAG in c.get("metadata", {}).get("tags", [])
    ]
    assert tagged, (
        f"{name}: no cell is tagged `{EXPLORER_TAG}`; tag the cell that displays the "
        "explorer so the browser test can find it"
    )
    code = [i for i in range(tagged[0]) if nb.cells[i].cell_type == "code"]
    everything = [*code, tagged[0]]
    try:
        scopes = {i: _scope(nb.cells[i].source) for i in everything}
    except SyntaxError:
        return everything
    keep, needed = {tagged[0], *code[:1]}, set(scopes[tagged[0]][1])
    if code:
        needed |= scopes[code[0]][1]
    for i in reversed(code):
        defined, uses = scopes[i]
        if i in keep or defined & needed:
            keep.add(i)
            needed = (needed - defined) | uses
    return sorted(keep) if not needed else everything


def _explorer_copy(nb, dest: Path) -> Path:
    """Write the explorer's cells of ``nb``, with outputs and saved widget state removed."""
    nb = nbformat.from_dict(nb)
    nb.cells = [nb.cells[i] for i in explorer_cells(nb, dest.name)]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nbformat.write(nb, dest)
    return dest


# --------------------------------------------------------------------------- driving the page


def _run_all_cells(page, timeout_s: float):
    """Wait for the kernel, then Run → Run All Cells, failing fast if a cell raises."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    # The status bar's "<kernel> | Idle" is the reliable signal: the toolbar's execution
    # indicator already says "idle" while the kernel is still initializing, and a Run All
    # issued then is silently dropped.
    page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$")).wait_for(
        timeout=90_000
    )
    prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt")
    for attempt in range(2):
        # Clicking a cell makes this notebook the current widget, which menu commands act on.
        prompts.first.click()
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        try:  # started: some prompt reads [*] or [n]
            page.wait_for_function(
                """() => [...document.querySelectorAll(
                '.jp-Notebook .jp-CodeCell .jp-InputPrompt')].some(p => /\\[[*0-9]/.test(p.textContent))""",
                timeout=15_000,
            )
            break
        except PlaywrightTimeout:
            if attempt:
                raise
    explorer = page.locator(".jp-Notebook .jp-CodeCell").last
    button = explorer.locator(".widget-button", has_text="Run")
    errors = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    deadline = time.perf_counter() + timeout_s
    while not button.count():
        traceback = [e for e in errors.all_inner_texts() if "Traceback" in e or "Error" in e]
        if traceback:
            pytest.fail(f"a cell raised before the explorer appeared:\n{traceback[0][-2000:]}")
        if time.perf_counter() > deadline:
            pytest.fail(f"no explorer Run button after {timeout_s:.0f} s")
        time.sleep(0.25)
    return explorer, button


def _press_run(explorer, button, timeout_s: float) -> tuple[str, str, float]:
    """Click Run and wait for a *new* picture; return its src, the status text and the seconds."""
    output = explorer.locator(".widget-output").last
    status = explorer.locator(".widget-html:has(+ .widget-output) .widget-html-content").last
    output.locator("img").evaluate_all(
        "imgs => imgs.forEach(i => i.setAttribute('data-seen', '1'))"
    )
    fresh = output.locator("img:not([data-seen])")
    start = time.perf_counter()
    button.click()
    while True:
        text = status.inner_text()
        if fresh.count() and text.startswith("Done"):
            return fresh.first.get_attribute("src"), text, time.perf_counter() - start
        if "Error" in text:  # the explorer shows failures as a red "SomeError: message"
            pytest.fail(f"the explorer reported a failure: {text}")
        if time.perf_counter() - start > timeout_s:
            pytest.fail(f"no new picture {timeout_s:.0f} s after pressing Run; status: {text!r}")
        time.sleep(0.1)


def _move_first_slider(explorer) -> tuple[str, str]:
    """Move the first slider one keyboard step (left if it is at its maximum); return its readouts."""
    slider = explorer.locator(".widget-slider").first
    handle, readout = slider.locator(".noUi-handle"), slider.locator(".widget-readout")
    before = readout.inner_text()
    handle.press("ArrowRight")
    if readout.inner_text() == before:
        handle.press("ArrowLeft")
    after = readout.inner_text()
    assert after != before, f"the slider did not move from {before}"
    return before, after


def _drive(
    chromium,
    lab,
    notebook: Path,
    *,
    cells_timeout_s: float,
    run_timeout_s: float,
    same_settings_check: bool,
):
    page = chromium.new_page(viewport={"width": 1280, "height": 1000})
    shot = ARTIFACTS / f"browser-{notebook.stem}.png"
    ARTIFACTS.mkdir(exist_ok=True)
    timings = {}
    try:
        start = time.perf_counter()
        page.goto(f"{lab.url}/lab/tree/{notebook.name}?token={lab.token}&reset")
        explorer, button = _run_all_cells(page, cells_timeout_s)
        timings["open + run cells"] = time.perf_counter() - start
        first, _, timings["Run (defaults)"] = _press_run(explorer, button, run_timeout_s)
        if same_settings_check:
            again, _, timings["Run (same settings)"] = _press_run(explorer, button, run_timeout_s)
            assert again == first, (
                "same settings, different picture: the comparison below would mean nothing"
            )
        slider = _move_first_slider(explorer)
        # A person's pause before pressing Run. ipywidgets throttles a widget's state updates
        # (one in flight per widget, later ones buffered until the kernel answers) but not
        # button clicks, so an instant click can overtake the slider's new value.
        page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$")).wait_for(
            timeout=30_000
        )
        page.wait_for_timeout(500)
        second, status, timings["Run (slider moved)"] = _press_run(explorer, button, run_timeout_s)
        explorer.scroll_into_view_if_needed()
        page.screenshot(path=str(shot), full_page=True)
    except BaseException:
        page.screenshot(path=str(shot.with_name(shot.stem + "-failed.png")), full_page=True)
        raise
    finally:
        page.close()
    print(
        f"{notebook.name}: slider {slider[0]} -> {slider[1]}; "
        + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())
        + f"; screenshot {shot}"
    )
    assert first.startswith("data:image/png") and second.startswith("data:image/png")
    assert second != first, "the plot did not change after the slider moved and Run was pressed"
    return slider, status


# --------------------------------------------------------------------------- the tests


def test_purpose_built_explorer(chromium, lab):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("A line whose slope is a slider value."),
        nbformat.v4.new_code_cell(SYNTHETIC_EXPLORER, metadata={"tags": [EXPLORER_TAG]}),
    ]
    path = _explorer_copy(nb, lab.root / "explorer_smoke.ipynb")
    (_, moved), status = _drive(
        chromium, lab, path, cells_timeout_s=60, run_timeout_s=30, same_settings_check=True
    )
    # The kernel received the new value: the function's own summary echoes it.
    assert status.endswith(f"slope = {float(moved):g}"), status


def test_scenario_explorer(chromium, lab):
    assert SCENARIO.exists(), f"{SCENARIO.relative_to(REPO)} is missing"
    path = _explorer_copy(nbformat.read(SCENARIO, as_version=4), lab.root / SCENARIO.name)
    _drive(chromium, lab, path, cells_timeout_s=240, run_timeout_s=60, same_settings_check=False)
