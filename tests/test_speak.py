"""dgnb's speak client (REST and live WebSocket, sync and async) against the real local engine."""
from __future__ import annotations

import asyncio
import base64
import re
import threading

import pytest

import dgnb
from dgnb.api.speak import AsyncSpeakLive, AudioData, Close, Flushed, Metadata, Open, Speak, SpeakLive, SpeakProtocol
from dgnb.results.speech_audio import SpeechAudio

TEXT = "The quick brown fox jumps over the lazy dog. It was a sunny afternoon."


@pytest.fixture()
def client(local_server):
    with dgnb.Client(api_key=local_server.api_key, url=local_server.url) as c:
        yield c


def speak_ns(client) -> Speak:
    return client.speak if hasattr(type(client), "speak") else Speak(client)


def test_generate_returns_speech_audio(client):
    audio = speak_ns(client).generate(TEXT, model="aura-2-thalia-en", encoding="linear16", sample_rate=16000)
    assert isinstance(audio, SpeechAudio)
    assert audio.format == "wav" and audio.sample_rate == 16000 and audio.encoding == "linear16"
    assert 2.0 < audio.duration < 10.0
    assert audio.model_name == "aura-2-thalia-en" and audio.characters == len(TEXT)
    assert re.fullmatch(r"[0-9a-f-]{36}", audio.request_id)
    seg = audio.to_pydub()
    assert seg.frame_rate == 16000 and abs(seg.duration_seconds - audio.duration) < 0.01
    html = audio._repr_html_()
    assert "<audio controls" in html
    embedded = base64.b64decode(html.split("base64,")[1].split('"')[0])
    assert embedded == audio.data
    assert "aura-2-thalia-en" in repr(audio)
    widget = audio.widget()
    assert widget.value == audio.data and widget.format == "wav"


@pytest.mark.parametrize("options,fmt,rate", [
    ({"encoding": "mp3"}, "mp3", 22050),
    ({"encoding": "opus"}, "ogg", 48000),
    ({"encoding": "mulaw", "container": "none"}, "raw", 8000),
    ({"encoding": "alaw", "sample_rate": 16000}, "wav", 16000),
])
def test_generate_formats(client, options, fmt, rate):
    audio = speak_ns(client).generate("Hello there, how are you?", **options)
    assert audio.format == fmt and audio.sample_rate == rate
    seg = audio.to_pydub()
    assert seg.frame_rate == rate and 0.8 < seg.duration_seconds < 4.0
    assert 0.8 < audio.duration < 4.0
    if fmt == "raw":  # raw G.711 plays in a notebook once wrapped in a WAV header
        assert audio.wav_bytes()[:4] == b"RIFF"


def test_save_streams_to_disk(client, tmp_path):
    long_text = " ".join(["This sentence is repeated to make a long reply that is written in chunks."] * 20)
    path = tmp_path / "long.wav"
    audio = speak_ns(client).save(path, long_text[:2000], encoding="linear16", sample_rate=48000)
    assert audio.path == path and path.exists() and not (tmp_path / "long.wav.part").exists()
    assert path.stat().st_size > 1024 * 1024  # more than one 1 MB chunk
    assert audio.duration > 30 and audio.sample_rate == 48000
    assert audio.model_name == "aura-2-thalia-en"


def test_errors_are_api_errors(client, tmp_path):
    ns = speak_ns(client)
    with pytest.raises(dgnb.ApiError) as e:
        ns.generate("Hi.", encoding="wav")
    assert e.value.status_code == 400 and "supported" in e.value.err_msg and e.value.request_id
    with pytest.raises(dgnb.ApiError) as e:
        ns.save(tmp_path / "x.wav", "a" * 2001)
    assert e.value.status_code == 413
    assert not (tmp_path / "x.wav").exists() and not (tmp_path / "x.wav.part").exists()
    with pytest.raises(ValueError, match="empty"):
        ns.generate("  ")
    with pytest.raises(ValueError, match="did you mean 'encoding'"):
        ns.generate("Hi.", encodng="mp3")


def test_async_generate_and_save(local_server, tmp_path):
    async def main():
        async with dgnb.AsyncClient(api_key=local_server.api_key, url=local_server.url) as c:
            ns = speak_ns(c)
            a = await ns.generate("Hello from asyncio.", encoding="flac")
            b = await ns.save(tmp_path / "a.mp3", "Saved from asyncio.", encoding="mp3")
            return a, b

    a, b = asyncio.run(main())
    assert a.format == "flac" and a.to_pydub().frame_rate == 48000
    assert b.path.exists() and b.format == "mp3" and b.duration > 0.5


# --------------------------------------------------------------------------- live

def test_protocol_is_sans_io():
    p = SpeakProtocol()
    assert p.speak("Hi.") == '{"type": "Speak", "text": "Hi."}'
    assert p.flush() == '{"type": "Flush"}' and p.flushes_sent == 1
    [meta] = p.receive('{"type": "Metadata", "request_id": "r", "model_name": "m", "model_version": "v", "model_uuid": "u"}')
    assert isinstance(meta, Metadata) and meta.model_name == "m"
    [audio] = p.receive(b"\x01\x02")
    assert isinstance(audio, AudioData) and p.chunks == [b"\x01\x02"]
    [fl] = p.receive('{"type": "Flushed", "sequence_id": 0}')
    assert isinstance(fl, Flushed) and p.flushed == 1
    [warn] = p.receive('{"type": "Warning", "description": "slow down", "code": "X"}')
    assert warn.description == "slow down" and warn.code == "X"
    with pytest.raises(ValueError):
        p.speak("a" * 2001)


def test_live_sync_audio_before_finish(client):
    ns = speak_ns(client)
    tts = ns.live(model="aura-2-apollo-en", encoding="linear16", sample_rate=16000)
    assert isinstance(tts, SpeakLive)
    first_audio = threading.Event()
    tts.on(AudioData, lambda e: first_audio.set())
    tts.send_text("Good morning everyone. ")
    tts.send_text("Today we talk about")
    tts.send_text(" streaming speech.")
    tts.flush(wait=True, timeout=60)
    assert first_audio.is_set()  # audio arrived before finish()
    before = tts.audio().duration
    assert before > 1.0
    audio = tts.finish()
    assert audio.duration >= before and audio.format == "raw" and audio.sample_rate == 16000
    assert audio.model_name == "aura-2-apollo-en" and tts.metadata.request_id
    events = [type(e) for e in tts]
    assert events[0] is Open and Metadata in events and Flushed in events and events[-1] is Close
    assert tts.closed.code == 1000
    # what streamed plays: pydub reads it at the stated rate
    assert audio.to_pydub().frame_rate == 16000


def test_live_clear_drops_unsent(client):
    with speak_ns(client).live(encoding="mulaw", sample_rate=8000) as tts:
        tts.send_text("This text is never finished and never spoken")
        tts.clear(wait=True, timeout=60)
        tts.flush(wait=True, timeout=60)
        assert tts.audio().size == 0
        tts.send_text("Now this one is spoken.")
        tts.flush(wait=True, timeout=60)
        assert tts.audio().duration > 0.5
    assert tts.closed is not None


def test_live_async(local_server):
    async def main():
        async with dgnb.AsyncClient(api_key=local_server.api_key, url=local_server.url) as c:
            got = []
            async with speak_ns(c).live(encoding="alaw", sample_rate=8000) as tts:
                assert isinstance(tts, AsyncSpeakLive)
                tts.on("Flushed", lambda e: got.append(e))
                await tts.send_text("Hello from the async client.")
                await tts.flush(wait=True, timeout=60)
            events = [type(e).__name__ async for e in tts]
            return got, tts.audio(), events

    got, audio, events = asyncio.run(main())
    assert got == [Flushed(0)] and audio.duration > 1.0 and audio.encoding == "alaw"
    assert events[0] == "Open" and events[-1] == "Close" and "AudioData" in events


def test_live_handshake_errors_are_api_errors(local_server, client):
    with pytest.raises(dgnb.ApiError) as e:
        speak_ns(client).live(encoding="mp3")
    assert e.value.status_code == 400 and "linear16, mulaw, alaw" in e.value.err_msg
    with dgnb.Client(api_key="wrong-key", url=local_server.url) as bad:
        with pytest.raises(dgnb.ApiError) as e:
            speak_ns(bad).live()
        assert e.value.status_code == 401 and "wrong-key" not in str(e.value)
    with pytest.raises(ValueError, match="unknown option"):
        speak_ns(client).live(container="wav")
