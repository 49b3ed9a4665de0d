"""Real browser: a notebook that transcribes a short espeak-ng clip and generates speech on the embedded
local engine (no key) shows the ``Transcript`` card and the ``SpeechAudio`` player in Notebook 7 and in
Voila; the player's <audio> must load and play. Screenshots: test-results/display-*.png."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import wave
from pathlib import Path

import pytest

from browser import (chromium, notebook_7, open_notebook_7, open_voila, requires_browser, run_all, screenshot,
                     voila)

pytestmark = [*requires_browser,
              pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")]

SENTENCE = "The weather is nice today. Thank you for listening to this short test."
NOTEBOOK = "display.ipynb"


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "clip.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), SENTENCE], check=True)
    return path


def seconds_of(path: Path) -> float:
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def cells(clip: Path) -> list[str]:
    return [
        "import dgnb\ndg = dgnb.Client()\n"
        f"transcript = dg.listen.transcribe({str(clip)!r}, diarize=True, punctuate=True)\ntranscript",
        "speech = dg.speak.generate('Thanks for listening.')\nspeech",
    ]


def env(tmp_path: Path) -> dict[str, str | None]:
    """No credentials anywhere: the kernel's dgnb.Client() starts the embedded local engine."""
    return {"DGNB_DATA_DIR": str(tmp_path / "data"), "DGNB_CACHE_DIR": str(tmp_path / "cache"),
            "DEEPGRAM_API_KEY": None, "DEEPGRAM_ACCESS_TOKEN": None, "DEEPGRAM_TOKEN": None,
            "DEEPGRAM_BASE_URL": None}


def check_rendered(page, clip: Path, shot: str) -> None:
    """The Transcript card and a SpeechAudio <audio> that loads and plays are in the page."""
    card = page.locator(".dgnb-transcript").first
    card.wait_for(timeout=60_000)
    page.locator("audio").first.wait_for(state="attached", timeout=60_000)
    text = card.inner_text()
    assert text.startswith("Transcript")
    assert "Speaker 0" in text and "whisper-tiny.en" in text and "1 speaker" in text
    assert "weather is nice today" in text.lower()
    shown = re.search(r"(\d+):(\d\d\.\d)", text)  # the duration, m:ss.s
    assert shown, text
    assert abs(int(shown[1]) * 60 + float(shown[2]) - seconds_of(clip)) < 0.11

    player = page.locator("audio")
    assert player.count() == 1
    src = player.get_attribute("src")
    assert src.startswith("data:audio/wav;base64,UklGR")  # "RIFF"
    caption = page.locator("code", has_text=re.compile("^SpeechAudio\\(")).inner_text()
    expected = float(re.search(r"duration=([\d.]+)s", caption)[1])
    assert "encoding='linear16'" in caption and "sample_rate=24000" in caption
    # the browser decodes the WAV (its duration matches Python's) and plays it
    page.wait_for_function("a => a.readyState >= 1 && isFinite(a.duration)", arg=player.element_handle(),
                           timeout=30_000)
    assert abs(player.evaluate("a => a.duration") - expected) < 0.02
    assert player.evaluate("a => { a.muted = true; return a.play().then(() => 'playing', e => String(e)); }") \
        == "playing"
    page.wait_for_function("a => a.currentTime > 0 && a.error === null", arg=player.element_handle(),
                           timeout=30_000)
    card.scroll_into_view_if_needed()
    screenshot(page, shot)
    assert "Traceback" not in page.locator("body").inner_text()


@pytest.mark.timeout(180)
def test_transcript_card_and_speech_player_in_notebook_7(tmp_path, clip):
    with notebook_7(tmp_path / "nb", {NOTEBOOK: cells(clip)}, env=env(tmp_path)) as server, \
            chromium(tmp_path / "profile") as context:
        page = open_notebook_7(context.new_page(), server, NOTEBOOK)
        config = json.loads(page.locator("#jupyter-config-data").text_content())
        assert config["appName"] == "Jupyter Notebook" and config["appVersion"].startswith("7.")
        run_all(page)
        check_rendered(page, clip, "display-notebook7.png")


@pytest.mark.timeout(180)
def test_transcript_card_and_speech_player_in_voila(tmp_path, clip):
    with voila(tmp_path / "voila", {NOTEBOOK: cells(clip)}, env=env(tmp_path)) as server, \
            chromium(tmp_path / "profile") as context:
        page = open_voila(context.new_page(), server, NOTEBOOK)
        check_rendered(page, clip, "display-voila.png")
        # Voila shows outputs only: no code cells, no notebook editor
        assert page.locator(".jp-InputArea-editor").count() == 0
        assert "dg.listen.transcribe" not in page.locator("body").inner_text()
