"""Real browser: JupyterLab in headless Chromium runs a notebook that streams preamble audio to the
local engine and shows ``conn.view()``; the LiveTranscript widget's text must update to the final
transcript. Skipped when Chromium, JupyterLab or Playwright are missing."""
from __future__ import annotations

import re

import pytest

from browser import chromium, jupyter_lab, open_notebook, requires_browser, run_all
from conftest import AUDIO as FIXTURE_AUDIO, recorded

AUDIO = FIXTURE_AUDIO / "preamble-websocket.wav"

pytestmark = [*requires_browser, recorded]


@pytest.fixture(scope="module")
def lab(local_server, tmp_path_factory):
    """JupyterLab on a free port, its kernel pointed at the local engine, with one notebook."""
    home = tmp_path_factory.mktemp("lab")
    cells = [
        "import dgnb\nfrom dgnb import live\ndg = dgnb.Client()",
        f"conn = live.stream_file(dg, {str(AUDIO)!r}, realtime=False, encoding='mulaw', "
        "interim_results=True, punctuate=True)\nconn.view()",
    ]
    env = {"DEEPGRAM_API_KEY": local_server.api_key, "DEEPGRAM_BASE_URL": local_server.url,
           "DEEPGRAM_ACCESS_TOKEN": None}
    with jupyter_lab(home, {"live.ipynb": cells}, env=env) as running:
        yield running


def test_live_transcript_widget_updates_to_the_final_transcript(lab, local_server):
    with chromium(lab.home / "chromium") as context:
        page = open_notebook(context.new_page(), lab, "live.ipynb")
        run_all(page)
        status = page.locator(".dgnb-live-status")
        status.wait_for(timeout=60_000)
        # interim text appears while the stream goes on, then the final text replaces it
        page.wait_for_selector(".dgnb-live-final >> text=/People/i", timeout=60_000)
        page.wait_for_selector(".dgnb-live-status >> text=/^closed$/", timeout=90_000)
        final = page.locator(".dgnb-live-final").inner_text()
        words = page.locator(".dgnb-live-words").inner_text()
        interim = page.locator(".dgnb-live-interim").inner_text()
        colours = page.locator(".dgnb-live-seg").count()
    assert "United States of America" in final and "more perfect union" in final
    assert final.count("We, the people") == 1
    assert re.fullmatch(r"\d+ words", words) and int(words.split()[0]) > 40
    assert interim == "" and colours >= 5
    assert local_server.api_key not in final
