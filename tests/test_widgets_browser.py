"""Real browser (JupyterLab + headless Chromium): the Player highlights the word being played and
seeks on click, in the plots' speaker colours; the Recorder records Chromium's fake microphone (a
WAV of the preamble), the bytes reach the kernel, and the local engine transcribes them (WER <= 0.2).
Screenshots go to test-results/."""
from __future__ import annotations

import json
import re
import subprocess

import pytest
from browser import chromium, cell_output, jupyter_lab, open_notebook, requires_browser, run_cell, screenshot
from conftest import AUDIO, RESPONSES, recorded

from dgnb.notebook.demo import word_error_rate

pytestmark = [*requires_browser, recorded]

PLAYER_CELLS = [
    "import dgnb\nfrom dgnb.local.models.samples import dialogue\ndg = dgnb.Client()\nwav = dialogue().wav_bytes\n"
    "t = dg.transcribe(wav, diarize=True, punctuate=True, utterances=True)\np = t.player(wav)\np",
    "print('TIME', round(p.time, 2), 'SPEAKERS', t.speakers)",
]
RECORDER_CELLS = [
    "import dgnb\ndg = dgnb.Client()\nrec = dgnb.widgets.Recorder()\nrec",
    "t = rec.transcribe(dg, punctuate=True)\nprint('BYTES', len(rec.audio), rec.mime)\nprint('HEARD', t.transcript)",
]


def words_of(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def wer(ref: list[str], hyp: list[str]) -> float:
    return word_error_rate(" ".join(ref), " ".join(hyp))


@pytest.fixture(scope="module")
def fake_mic(tmp_path_factory):
    """The preamble as 16 kHz mono PCM, for --use-file-for-fake-audio-capture."""
    out = tmp_path_factory.mktemp("mic") / "preamble-16k.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(AUDIO / "preamble.wav"), "-ac", "1", "-ar", "16000",
                    "-c:a", "pcm_s16le", str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def lab(local_server, tmp_path_factory):
    home = tmp_path_factory.mktemp("widgets-lab")
    env = {"DEEPGRAM_API_KEY": local_server.api_key, "DEEPGRAM_BASE_URL": local_server.url,
           "DEEPGRAM_ACCESS_TOKEN": None}
    with jupyter_lab(home, {"player.ipynb": PLAYER_CELLS, "recorder.ipynb": RECORDER_CELLS}, env=env) as running:
        yield running


@pytest.fixture()
def browser(lab, fake_mic, tmp_path):
    with chromium(tmp_path / "chromium", fake_audio=fake_mic) as context:
        yield context


def test_player_highlights_while_playing_and_seeks_on_click(lab, browser):
    from dgnb.results.style import speaker_colour

    page = open_notebook(browser.new_page(), lab, "player.ipynb")
    try:
        run_cell(page, 0)
        page.wait_for_selector(".dgnb-player-word >> nth=20", timeout=60_000)
        audio = ".dgnb-player audio"
        page.wait_for_function(f"document.querySelector('{audio}').readyState >= 1", timeout=30_000)
        words = page.locator(".dgnb-player-word")
        n = words.count()
        target = words.nth(n // 2)
        start = float(target.get_attribute("data-start"))
        target.click()
        assert page.evaluate(f"document.querySelector('{audio}').currentTime") == pytest.approx(start, abs=0.05)
        on = page.locator(".dgnb-player-word.dgnb-on")
        assert on.count() == 1 and on.get_attribute("data-i") == str(n // 2)
        # play: the highlight follows the audio
        page.evaluate(f"document.querySelector('{audio}').play()")
        page.wait_for_function(f"document.querySelector('{audio}').currentTime > {start + 1.5}", timeout=30_000)
        page.evaluate(f"document.querySelector('{audio}').pause()")
        now = page.evaluate(f"document.querySelector('{audio}').currentTime")
        lit = page.locator(".dgnb-player-word.dgnb-on")
        assert lit.count() == 1 and int(lit.get_attribute("data-i")) > n // 2
        assert float(lit.get_attribute("data-start")) <= now + 0.05
        # speaker colours are the plots' colours
        for turn in page.locator(".dgnb-player-turn[data-speaker]").all()[:4]:
            who = turn.locator(".dgnb-player-who")
            rgb = who.evaluate("e => getComputedStyle(e).color")
            expected = speaker_colour(int(turn.get_attribute("data-speaker")))
            assert rgb == "rgb({}, {}, {})".format(*(int(expected[i:i + 2], 16) for i in (1, 3, 5)))
        screenshot(page, "player.png")
        # the playback position reached the kernel
        run_cell(page, 1)
        page.wait_for_selector(".jp-OutputArea-output >> text=/^TIME/", timeout=30_000)
        out = cell_output(page, 1)
        time_in_kernel = float(re.search(r"TIME ([\d.]+)", out).group(1))
        assert time_in_kernel == pytest.approx(now, abs=0.3) and "SPEAKERS [0, 1]" in out
    finally:
        page.close()


def test_recorder_records_the_fake_microphone_and_the_engine_transcribes_it(lab, browser):
    page = open_notebook(browser.new_page(), lab, "recorder.ipynb")
    try:
        run_cell(page, 0)
        try:
            page.locator(".dgnb-rec-start").click(timeout=20_000)
        except Exception:
            screenshot(page, "recorder-failure.png")
            raise
        page.wait_for_selector(".dgnb-rec-status >> text=/^recording · [1-9]/", timeout=30_000)
        page.wait_for_function("Number(document.querySelector('.dgnb-rec-level').dataset.rms || 0) > 0.001",
                               timeout=10_000)  # the level meter moves
        page.wait_for_timeout(8000)  # record about 8 s of the looping preamble
        elapsed = page.locator(".dgnb-rec-elapsed").inner_text()
        screenshot(page, "recorder-recording.png")
        page.locator(".dgnb-rec-stop").click()
        page.wait_for_selector(".dgnb-rec-status >> text=/^stopped · [1-9]/", timeout=30_000)
        screenshot(page, "recorder.png")
        run_cell(page, 1)
        page.wait_for_selector(".jp-OutputArea-output >> text=/HEARD/", timeout=60_000)
        out = cell_output(page, 1)
    finally:
        page.close()
    assert re.fullmatch(r"0:0[89]\.\d|0:1\d\.\d", elapsed), elapsed
    size = int(re.search(r"BYTES (\d+) audio/webm", out).group(1))
    assert size > 20_000
    heard = words_of(out.split("HEARD", 1)[1])
    assert len(heard) >= 12, out
    response = json.loads(next((RESPONSES / "listen-rest").glob("b00dc*-response.json")).read_text())
    reference = words_of(response["results"]["channels"][0]["alternatives"][0]["transcript"]) * 2  # it loops
    best = min(wer(reference[i:i + len(heard) + d], heard)
               for i in range(len(reference) // 2 + 1) for d in range(-3, 4) if len(heard) + d > 0)
    assert best <= 0.2, (best, heard)
