"""Real-browser test helpers: JupyterLab on a free port + headless Debian Chromium via Playwright.

    from browser import jupyter_lab, chromium, open_notebook, run_all, requires_browser

    pytestmark = requires_browser
    with jupyter_lab(home, {"a.ipynb": [cell, ...]}, env={...}) as lab, chromium(home, ...) as context:
        page = open_notebook(context.new_page(), lab, "a.ipynb")
        run_all(page)

Also Notebook 7 (``notebook_7`` + ``open_notebook_7``) and Voila (``voila`` + ``open_voila``) for the
same notebooks. Facts and pitfalls: ../shared/TESTING-NOTES.md (wait for "Python 3 (ipykernel) | Idle" before
running; Playwright's :has-text() is case-insensitive, so assert with text=/^EXACT/ regexes).
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Sequence

import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "test-results"  #: screenshots, kept by CI as artifacts
NOTEBOOK = ".jp-NotebookPanel:visible"  #: the notebook in front (Lab may restore others behind it)

requires_browser = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed"),
    pytest.mark.skipif(shutil.which("jupyter-lab") is None, reason="jupyterlab is not installed"),
]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Lab:
    base: str
    token: str
    home: Path
    app: str = "lab"  #: "lab", "notebook" (Notebook 7) or "voila"

    def url(self, notebook: str) -> str:
        if self.app == "notebook":
            return f"{self.base}/notebooks/{notebook}?token={self.token}"
        if self.app == "voila":
            return f"{self.base}/voila/render/{notebook}?token={self.token}"
        return f"{self.base}/lab/tree/{notebook}?reset&token={self.token}"  # reset: no restored tabs


def write_notebook(path: Path, cells: Sequence[str]) -> Path:
    """A notebook of code cells with the python3 kernelspec."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook()
    nb.cells = [new_code_cell(source) for source in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, path)
    return path


#: the server command per app; {port} {token} {home} are filled in
_SERVERS = {
    "lab": ["-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", "--port={port}",
            "--ServerApp.token={token}", "--ServerApp.root_dir={home}"],
    "notebook": ["-m", "notebook", "--no-browser", "--allow-root", "--ip=127.0.0.1", "--port={port}",
                 "--ServerApp.token={token}", "--ServerApp.root_dir={home}"],
    "voila": ["-m", "voila", "--no-browser", "--Voila.ip=127.0.0.1", "--port={port}", "--token={token}",
              "--Voila.root_dir={home}", "--show_tracebacks=True"],
}


@contextlib.contextmanager
def jupyter_server(home: Path, notebooks: Mapping[str, Sequence[str]], env: Mapping[str, str | None] | None = None,
                   timeout: float = 60, app: str = "lab") -> Iterator[Lab]:
    """Run ``app`` ("lab", "notebook" for Notebook 7, or "voila") in ``home`` (all its config/runtime
    dirs inside it) serving ``notebooks``; its kernels import this checkout of dgnb. Stopped on exit."""
    if shutil.which(f"jupyter-{app}" if app != "voila" else "voila") is None:
        pytest.skip(f"{app} is not installed")
    home.mkdir(parents=True, exist_ok=True)
    for name, cells in notebooks.items():
        write_notebook(home / name, cells)
    port, token = free_port(), "dgnb-test-token"
    full_env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "cfg"), JUPYTER_DATA_DIR=str(home / "data"),
                    JUPYTER_RUNTIME_DIR=str(home / "run"), IPYTHONDIR=str(home / "ipy"),
                    MPLCONFIGDIR=str(home / "mpl"),
                    PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    for name, value in (env or {}).items():  # None removes a variable
        if value is None:
            full_env.pop(name, None)
        else:
            full_env[name] = value
    command = [sys.executable] + [a.format(port=port, token=token, home=home) for a in _SERVERS[app]]
    log = (home / f"{app}-server.log").open("wb")  # kept for a failing test's post-mortem
    proc = subprocess.Popen(command, cwd=str(home), env=full_env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                ready = "/" if app == "voila" else "/api/status"  # Voila has no REST API; its tree page answers
                urllib.request.urlopen(f"{base}{ready}?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"{app} did not start; see {home / f'{app}-server.log'}")
                time.sleep(0.3)
        yield Lab(base, token, home, app)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def jupyter_lab(home: Path, notebooks: Mapping[str, Sequence[str]], env: Mapping[str, str | None] | None = None,
                timeout: float = 60):
    """JupyterLab (see :func:`jupyter_server`)."""
    return jupyter_server(home, notebooks, env, timeout, app="lab")


def notebook_7(home: Path, notebooks: Mapping[str, Sequence[str]], env: Mapping[str, str | None] | None = None,
               timeout: float = 60):
    """Notebook 7, the ``jupyter notebook`` server (see :func:`jupyter_server`)."""
    return jupyter_server(home, notebooks, env, timeout, app="notebook")


def voila(home: Path, notebooks: Mapping[str, Sequence[str]], env: Mapping[str, str | None] | None = None,
          timeout: float = 60):
    """Voila serving ``home``; a page load runs the notebook (see :func:`jupyter_server`)."""
    return jupyter_server(home, notebooks, env, timeout, app="voila")


@contextlib.contextmanager
def chromium(profile: Path, fake_audio: Path | None = None):
    """A headless Chromium context (Playwright); ``fake_audio``: a 16 kHz mono PCM WAV played as the
    microphone (getUserMedia is granted without a prompt)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    args = list(CHROMIUM_ARGS)
    if fake_audio is not None:
        args += ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                 f"--use-file-for-fake-audio-capture={fake_audio}"]
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(str(profile), executable_path=CHROMIUM, headless=True,
                                                       args=args)
        try:
            yield context
        finally:
            context.close()


def open_notebook(page, lab: Lab, notebook: str, timeout_ms: int = 60_000):
    """Open ``notebook`` and wait until its kernel is idle (not just the pre-kernel 'idle')."""
    page.goto(lab.url(notebook))
    page.wait_for_selector("text=/Python 3 \\(ipykernel\\) \\| Idle/", timeout=timeout_ms)
    return page


def open_notebook_7(page, server: Lab, notebook: str, timeout_ms: int = 60_000):
    """Open ``notebook`` in Notebook 7 and wait until its kernel is idle. Notebook 7 has no status bar,
    so the kernel is known idle from the server's sessions API, then from the toolbar's indicator."""
    import json

    page.goto(server.url(notebook))
    page.wait_for_selector(".jp-NotebookPanel", timeout=timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        with urllib.request.urlopen(f"{server.base}/api/sessions?token={server.token}", timeout=5) as reply:
            sessions = json.load(reply)
        if any(s["path"] == notebook and (s.get("kernel") or {}).get("execution_state") == "idle" for s in sessions):
            break
        if time.monotonic() > deadline:
            pytest.fail(f"no idle kernel for {notebook}: {sessions}")
        time.sleep(0.3)
    page.wait_for_selector('.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=timeout_ms)
    page.wait_for_selector(".jp-Toolbar-kernelName >> text=/^Python 3 \\(ipykernel\\)$/", timeout=timeout_ms)
    return page


def open_voila(page, server: Lab, notebook: str):
    """Load the Voila page of ``notebook`` (Voila runs it while the page loads)."""
    page.goto(server.url(notebook))
    return page


def run_all(page) -> None:
    """Run > Run All Cells."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
    page.locator('li[data-command="runmenu:run-all"]').click()


def run_cell(page, index: int) -> None:
    """Run the ``index``-th cell (0-based) with Shift+Enter."""
    cell = page.locator(f"{NOTEBOOK} .jp-Cell").nth(index)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")


def cell_output(page, index: int) -> str:
    return page.locator(f"{NOTEBOOK} .jp-Cell").nth(index).locator(".jp-OutputArea").inner_text()


def screenshot(page, name: str) -> Path:
    """Save a screenshot under test-results/ (CI keeps it as an artifact)."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / name
    page.screenshot(path=str(path), full_page=True)
    return path
