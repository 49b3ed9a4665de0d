"""Real browser: JupyterLab in headless Chromium runs a notebook that streams preamble audio to the
local engine and shows ``conn.view()``; the LiveTranscript widget's text must update to the final
transcript. Skipped when Chromium, JupyterLab or Playwright are missing."""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from local_server import local_server  # noqa: F401  (session fixture)

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
AUDIO = ROOT.parent / "shared" / "fixtures" / "audio" / "preamble-websocket.wav"

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed"),
    pytest.mark.skipif(shutil.which("jupyter-lab") is None, reason="jupyterlab is not installed"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(local_server, tmp_path_factory):
    """JupyterLab on a free port, its kernel pointed at the local engine, with one notebook."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    home = tmp_path_factory.mktemp("lab")
    nb = new_notebook()
    nb.cells = [
        new_code_cell("import dgnb\nfrom dgnb import live\ndg = dgnb.Client()"),
        new_code_cell(f"conn = live.stream_file(dg, {str(AUDIO)!r}, realtime=False, encoding='mulaw', "
                      "interim_results=True, punctuate=True)\nconn.view()"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, home / "live.ipynb")
    port, token = _free_port(), "dgnb-test-token"
    env = dict(os.environ, DEEPGRAM_API_KEY=local_server.api_key, DEEPGRAM_BASE_URL=local_server.url,
               JUPYTER_CONFIG_DIR=str(home / "cfg"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "run"), IPYTHONDIR=str(home / "ipy"), MPLCONFIGDIR=str(home / "mpl"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env.pop("DEEPGRAM_ACCESS_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
         f"--ServerApp.token={token}", f"--ServerApp.root_dir={home}"],
        cwd=str(home), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("JupyterLab did not start")
            time.sleep(0.3)
    yield base, token, home
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_live_transcript_widget_updates_to_the_final_transcript(lab, local_server):
    playwright = pytest.importorskip("playwright.sync_api")
    base, token, home = lab
    with playwright.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(home / "chromium"), executable_path=CHROMIUM, headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            page = context.new_page()
            page.goto(f"{base}/lab/tree/live.ipynb?token={token}")
            page.wait_for_selector("text=/Python 3 \\(ipykernel\\) \\| Idle/", timeout=60_000)
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile("^Run$")).click()
            page.locator('li[data-command="runmenu:run-all"]').click()
            status = page.locator(".dgnb-live-status")
            status.wait_for(timeout=60_000)
            # interim text appears while the stream goes on, then the final text replaces it
            page.wait_for_selector(".dgnb-live-final >> text=/People/i", timeout=60_000)
            page.wait_for_selector(".dgnb-live-status >> text=/^closed$/", timeout=90_000)
            final = page.locator(".dgnb-live-final").inner_text()
            words = page.locator(".dgnb-live-words").inner_text()
            interim = page.locator(".dgnb-live-interim").inner_text()
            colours = page.locator(".dgnb-live-seg").count()
        finally:
            context.close()
    assert "United States of America" in final and "more perfect union" in final
    assert final.count("We, the people") == 1
    assert re.fullmatch(r"\d+ words", words) and int(words.split()[0]) > 40
    assert interim == "" and colours >= 5
    assert local_server.api_key not in final
