"""The Python halves of Player and Recorder (the browser halves: test_widgets_browser.py).

The Recorder gets WebM/Opus chunks exactly as its front end sends them (custom messages with
binary buffers); with ``live=`` they stream to the real local engine and its transcript appears."""
from __future__ import annotations

import subprocess

import pytest

import dgnb
from conftest import AUDIO, RESPONSES, first, recorded
from dgnb.notebook.widgets import Player, Recorder

PREAMBLE = first("listen-rest/b00dc*-response.json")


@pytest.fixture(scope="module")
def webm(tmp_path_factory) -> bytes:
    out = tmp_path_factory.mktemp("webm") / "preamble.webm"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(AUDIO / "preamble.wav"), "-ac", "1", "-ar", "48000",
                    "-c:a", "libopus", "-b:a", "32k", str(out)], check=True)
    return out.read_bytes()


def feed(rec: Recorder, data: bytes, chunk: int = 4000) -> None:
    rec._on_message(rec, {"type": "start", "mime": "audio/webm;codecs=opus"}, [])
    for i in range(0, len(data), chunk):
        rec._on_message(rec, {"type": "chunk", "size": len(data[i:i + chunk])}, [memoryview(data[i:i + chunk])])
    rec._on_message(rec, {"type": "stop", "elapsed": 19.1}, [])


@recorded
def test_recorder_bytes_pydub_save_and_transcribe(webm, local_server, tmp_path):
    rec = Recorder()
    with pytest.raises(ValueError, match="press Record"):
        rec.transcribe(None)
    feed(rec, webm)
    assert rec.audio == webm and rec.received == len(webm) and rec.status == "stopped" and rec.elapsed == 19.1
    segment = rec.to_pydub()
    assert 18.5 < segment.duration_seconds < 19.6
    assert rec.save(tmp_path / "a.webm").read_bytes() == webm
    assert rec.save(tmp_path / "a.wav").read_bytes()[:4] == b"RIFF"
    with dgnb.Client(api_key=local_server.api_key, url=local_server.url) as dg:
        t = rec.transcribe(dg, punctuate=True)
    assert "more perfect union" in t.transcript.lower()


@recorded
def test_recorder_streams_to_a_live_connection(webm, local_server):
    with dgnb.Client(api_key=local_server.api_key, url=local_server.url) as dg:
        conn = dg.listen.live(interim_results=True, punctuate=True)
        rec = Recorder(live=conn)
        bundle = rec._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in (bundle[0] if isinstance(bundle, tuple) else bundle)
        feed(rec, webm)
        rec._finisher.join(60)
        assert "more perfect union" in rec.transcript.transcript.lower()
        assert "perfect union" in rec.live_view.text.lower()


def test_recorder_refuses_raw_live_streams_and_bad_arguments(local_server):
    with dgnb.Client(api_key=local_server.api_key, url=local_server.url) as dg:
        conn = dg.listen.live(encoding="linear16", sample_rate=16000)
        try:
            with pytest.raises(ValueError, match="without encoding"):
                Recorder(live=conn)
        finally:
            conn.close()
    with pytest.raises(TypeError, match="live connection"):
        Recorder(live="nope")
    with pytest.raises(ValueError, match="max_seconds"):
        Recorder(max_seconds=-1)
    rec = Recorder()
    rec._on_message(rec, {"type": "error", "message": "microphone: NotAllowedError: denied"}, [])
    assert rec.status == "error" and "NotAllowedError" in rec.error


@recorded
def test_player_payload_and_errors(tmp_path):
    t = dgnb.Transcript.from_response(PREAMBLE)
    p = t.player(AUDIO / "preamble.wav")
    assert p.mime == "audio/wav" and p.audio[:4] == b"RIFF" and len(p.words) == len(t.words)
    assert p.words[0] == {"w": "We,", "s": round(t.words.start[0], 3), "e": round(t.words.end[0], 3), "k": None}
    url = Player(t, "https://example.com/a.mp3")
    assert url.audio_url == "https://example.com/a.mp3" and url.audio == b""
    with pytest.raises(ValueError, match="needs the audio"):
        t.player()
    with pytest.raises(FileNotFoundError, match="not found"):
        t.player(tmp_path / "missing.wav")
    with pytest.raises(ValueError, match="channel 2"):
        t.player(b"RIFF....", channel=2)
    with pytest.raises(TypeError, match="cannot play"):
        t.player(42)
