"""The local engine's /v1/speak (REST and WebSocket): real espeak-ng audio, decoded by ffmpeg, recognised by Whisper."""
from __future__ import annotations

import asyncio
import io
import json
import re
import subprocess
import tempfile
import wave
from pathlib import Path

import httpx
import numpy as np
import pytest

from dgnb.local.models import tts, voices
from conftest import recorded

PARAGRAPH = ("The weather today is sunny and warm. Many people are walking in the park with their dogs. "
             "Later this evening, we will cook dinner for our friends and family.")


def speak(server, text=PARAGRAPH, **params) -> httpx.Response:
    return httpx.post(server.url + "/v1/speak", params=params, json={"text": text}, headers=server.headers, timeout=60)


def ffprobe(data: bytes, raw: tuple[str, int] | None = None) -> dict:
    """Decode with the ffmpeg CLI: codec, sample rate and decoded duration of the bytes."""
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        args = ["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,sample_rate:format=duration", "-of", "json"]
        if raw:
            args += ["-f", raw[0], "-ar", str(raw[1]), "-ac", "1"]
        out = subprocess.run(args + [f.name], capture_output=True, text=True, check=True).stdout
        info = json.loads(out)
        rate = int(info["streams"][0]["sample_rate"])
        args = ["ffmpeg", "-v", "error"] + (["-f", raw[0], "-ar", str(raw[1]), "-ac", "1"] if raw else [])
        pcm = subprocess.run(args + ["-i", f.name, "-f", "s16le", "-ac", "1", "pipe:1"], capture_output=True,
                             check=True).stdout
    # the length of what actually decodes (container estimates, e.g. of ADTS AAC, can be off)
    return {"codec": info["streams"][0]["codec_name"], "rate": rate, "duration": len(pcm) / 2 / rate}


def normalize(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]", " ", text.lower()).split())


# --------------------------------------------------------------------------- REST

@recorded
def test_reply_headers_like_deepgram(local_server, fixtures_dir):
    fixture = json.loads(next((fixtures_dir / "responses" / "speak").glob("*-response.json")).read_text())
    r = speak(local_server, "Hello, world.", model="aura-2-thalia-en", encoding="linear16", sample_rate=24000)
    assert r.status_code == 200
    assert r.headers["content-type"] == fixture["content_type"] == "audio/wav"
    assert r.headers["dg-model-name"] == fixture["model_name"]
    assert int(r.headers["dg-char-count"]) == fixture["characters"] == 13
    assert re.fullmatch(r"[0-9a-f-]{36}", r.headers["dg-request-id"])
    assert re.fullmatch(r"[0-9a-f-]{36}", r.headers["dg-model-uuid"])
    assert r.headers.get("transfer-encoding") == fixture["transfer_encoding"]
    with wave.open(io.BytesIO(r.content)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (24000, 1, 2)
        assert 0.5 < w.getnframes() / 24000 < 3.0


@pytest.fixture(scope="module")
def reference_duration(local_server) -> float:
    r = speak(local_server, encoding="linear16", container="none", sample_rate=16000)
    assert r.status_code == 200
    return len(r.content) / 2 / 16000


RAW = {"linear16": "s16le", "mulaw": "mulaw", "alaw": "alaw"}
CODEC = {"linear16": "pcm_s16le", "mulaw": "pcm_mulaw", "alaw": "pcm_alaw", "mp3": "mp3", "opus": "opus",
         "flac": "flac", "aac": "aac"}
FORMATS = [
    ("linear16", "wav", 8000), ("linear16", "wav", 24000), ("linear16", "none", 48000), ("linear16", "wav", 16000),
    ("mulaw", "wav", 8000), ("mulaw", "none", 16000), ("alaw", "wav", 16000), ("alaw", "none", 8000),
    ("mp3", None, None), ("opus", None, None), ("flac", None, 16000), ("flac", None, None), ("aac", None, None),
]


@pytest.mark.parametrize("encoding,container,rate", FORMATS)
def test_every_format_decodes_to_stated_rate_and_length(local_server, reference_duration, encoding, container, rate):
    params = {"encoding": encoding}
    if container:
        params["container"] = container
    if rate:
        params["sample_rate"] = rate
    r = speak(local_server, **params)
    assert r.status_code == 200, r.text
    fmt = tts.resolve_format(encoding, container, rate)
    raw = (RAW[encoding], fmt.sample_rate) if container == "none" else None
    info = ffprobe(r.content, raw)
    assert info["codec"] == CODEC[encoding]
    assert info["rate"] == fmt.sample_rate
    # compressed codecs add encoder padding (< 0.1 s); PCM/G.711 match to the sample
    assert abs(info["duration"] - reference_duration) < (0.01 if encoding in RAW else 0.12)
    # and pydub (the client's decoder) reads the same length
    from pydub import AudioSegment

    if container == "none":  # raw bytes: the client's SpeechAudio knows how pydub must read them
        from dgnb.results.speech_audio import SpeechAudio

        seg = SpeechAudio(r.content, encoding=encoding, container="none", sample_rate=fmt.sample_rate).to_pydub()
    else:
        seg = AudioSegment.from_file(io.BytesIO(r.content))
    assert seg.frame_rate == fmt.sample_rate
    assert abs(seg.duration_seconds - reference_duration) < 0.12


def test_g711_encoders_match_pcm():
    """mu-law / A-law bytes (wav and raw) decode, by ffmpeg, to the linear16 waveform of the same samples."""
    x = tts.synthesize("Testing one two three.", tts.voice_for(None), 8000)
    pcm = tts._pcm16(x).astype(np.float32)
    for enc in ("mulaw", "alaw"):
        for container in ("wav", "none"):
            data = tts.encode(x, tts.resolve_format(enc, container, 8000))
            raw = ["-f", enc, "-ar", "8000", "-ac", "1"] if container == "none" else []
            decoded = subprocess.run(["ffmpeg", "-v", "error", *raw, "-i", "pipe:0", "-f", "s16le", "pipe:1"],
                                     input=data, capture_output=True, check=True).stdout
            y = np.frombuffer(decoded, "<i2").astype(np.float32)
            assert len(y) == len(pcm)
            err = np.sqrt(np.mean((y - pcm) ** 2)) / np.sqrt(np.mean(pcm ** 2))
            assert err < 0.05, (enc, container, err)


def test_round_trip_speak_then_listen_wer(local_server):
    import jiwer

    r = speak(local_server, PARAGRAPH, model="aura-2-apollo-en", encoding="linear16", sample_rate=16000)
    assert r.status_code == 200
    heard = httpx.post(local_server.url + "/v1/listen", content=r.content, timeout=120,
                       headers={**local_server.headers, "Content-Type": "audio/wav"})
    assert heard.status_code == 200, heard.text
    transcript = heard.json()["results"]["channels"][0]["alternatives"][0]["transcript"]
    wer = jiwer.wer(normalize(PARAGRAPH), normalize(transcript))
    assert wer <= 0.15, (wer, transcript)


def test_voices_are_distinct():
    female, male = tts.voice_for("aura-2-thalia-en"), tts.voice_for("aura-2-apollo-en")
    assert female.gender == "female" and male.gender == "male"
    settings = {tuple(sorted(tts.voice_for(m).settings.items())) for m in tts.known_models() if m.startswith("aura-2")}
    assert len(settings) == len([m for m in tts.known_models() if m.startswith("aura-2")])  # the espeak-ng fallback
    table = dict(tts.voice_table())
    women = {v for m, v in table.items() if tts.voice_for(m).gender == "female"}
    men = {v for m, v in table.items() if tts.voice_for(m).gender == "male"}
    assert women and men and not women & men
    assert all(tts.voice_for(m.replace("-en", "-es")).speaker is None for m in table if m.startswith("aura-2"))


@pytest.mark.skipif(not all(voices.available(v) for vs in tts.CLEAR_VOICES.values() for v in vs),
                    reason="apt-get install festival festvox-us-slt-hts flite")
def test_the_docs_say_which_voice_speaks_each_name():
    docs = (Path(__file__).parent.parent / "docs" / "local-engine.md").read_text()
    documented = {name: voice for voice, names in re.findall(r"^\|[^|`]*`([a-z]+:[\w]+)` \| (.*) \|$", docs, re.M)
                  for name in re.findall(r"`(aura-[\w-]+)`", names)}
    assert documented == dict(tts.voice_table())


@pytest.mark.parametrize("params,body,status,needle", [
    ({}, {"text": ""}, 400, "empty"),
    ({}, {"text": "   "}, 400, "empty"),
    ({}, {"text": "a" * 2001}, 413, "limit is 2000"),
    ({}, {"txt": "hi"}, 400, '"text"'),
    ({"encoding": "pcm"}, {"text": "hi"}, 400, "supported: linear16, mulaw, alaw"),
    ({"encoding": "mp3", "sample_rate": "8000"}, {"text": "hi"}, 400, "sample_rate=8000"),
    ({"encoding": "mulaw", "sample_rate": "24000"}, {"text": "hi"}, 400, "8000, 16000"),
    ({"encoding": "linear16", "container": "ogg"}, {"text": "hi"}, 400, "wav or none"),
    ({"encoding": "opus", "bit_rate": "100"}, {"text": "hi"}, 400, "bit_rate=100"),
    ({"encoding": "linear16", "bit_rate": "48000"}, {"text": "hi"}, 400, "not applicable"),
    ({"model": "aura-2-nobody-en"}, {"text": "hi"}, 400, "aura-2-thalia-en"),
    ({"speed": "3"}, {"text": "hi"}, 400, "speed"),
])
def test_bad_requests_are_clear(local_server, params, body, status, needle):
    r = httpx.post(local_server.url + "/v1/speak", params=params, json=body, headers=local_server.headers)
    assert r.status_code == status
    err = r.json()
    assert needle in err["err_msg"] and err["err_code"] and err["request_id"]


def test_not_json_and_no_auth(local_server):
    r = httpx.post(local_server.url + "/v1/speak", content=b"{oops", headers={**local_server.headers,
                                                                               "Content-Type": "application/json"})
    assert r.status_code == 400 and "not valid JSON" in r.json()["err_msg"]
    r = httpx.post(local_server.url + "/v1/speak", json={"text": "hi"})
    assert r.status_code == 401 and r.json()["err_code"] == "INVALID_AUTH"


def test_speed_changes_length(local_server):
    slow = speak(local_server, PARAGRAPH, container="none", speed="0.8").content
    fast = speak(local_server, PARAGRAPH, container="none", speed="1.4").content
    assert len(fast) < 0.8 * len(slow)


def test_official_sdk_generate(local_server):
    from deepgram import DeepgramClient
    from deepgram.environment import DeepgramClientEnvironment

    env = DeepgramClientEnvironment(base=local_server.url, production=local_server.ws_url,
                                    agent=local_server.ws_url, agent_rest=local_server.url)
    client = DeepgramClient(api_key=local_server.api_key, environment=env)
    data = b"".join(client.speak.v1.audio.generate(text="Hello from the official SDK.", model="aura-2-thalia-en",
                                                   encoding="linear16", sample_rate=16000, container="wav"))
    with wave.open(io.BytesIO(data)) as w:
        assert w.getframerate() == 16000 and w.getnframes() > 8000


# --------------------------------------------------------------------------- WebSocket

async def _ws_session(server, query: str, script):
    from websockets.asyncio.client import connect

    async with connect(f"{server.ws_url}/v1/speak?{query}", additional_headers=server.headers) as ws:
        return await script(ws)


async def _collect_until(ws, kind: str):
    """(audio bytes, messages) received until a text message of type ``kind``."""
    audio, messages = 0, []
    while True:
        frame = await asyncio.wait_for(ws.recv(), 60)
        if isinstance(frame, bytes):
            audio += len(frame)
            continue
        msg = json.loads(frame)
        messages.append((audio, msg))
        if msg["type"] == kind:
            return audio, messages


def test_ws_metadata_then_audio_before_flush_for_text_in_parts(local_server):
    async def script(ws):
        meta = json.loads(await ws.recv())
        await ws.send(json.dumps({"type": "Speak", "text": "The first sentence is complete. The sec"}))
        await ws.send(json.dumps({"type": "Speak", "text": "ond one is not"}))
        first = await asyncio.wait_for(ws.recv(), 60)  # audio of the complete sentence, before any Flush
        await ws.send(json.dumps({"type": "Flush"}))
        audio, messages = await _collect_until(ws, "Flushed")
        await ws.send(json.dumps({"type": "Close"}))
        rest = [m async for m in ws]
        return meta, first, audio, messages, rest, ws.close_code

    meta, first, audio, messages, rest, code = asyncio.run(_ws_session(local_server, "encoding=linear16&sample_rate=16000", script))
    assert meta["type"] == "Metadata" and meta["model_name"] == tts.DEFAULT_MODEL and meta["request_id"]
    assert isinstance(first, bytes) and len(first) > 0
    assert messages[-1][1] == {"type": "Flushed", "sequence_id": 0}
    total_seconds = (len(first) + audio) / 2 / 16000
    assert 2.0 < total_seconds < 8.0
    assert rest == [] and code == 1000


def test_ws_clear_drops_unsent_text_and_audio(local_server):
    async def script(ws):
        await ws.recv()  # Metadata
        # unfinished text is only buffered: Clear drops it, so the Flush after it yields no audio
        await ws.send(json.dumps({"type": "Speak", "text": "this text has no sentence end and is never spoken"}))
        await ws.send(json.dumps({"type": "Clear"}))
        await ws.send(json.dumps({"type": "Flush"}))
        audio1, msgs1 = await _collect_until(ws, "Flushed")
        # a long text being spoken: after Cleared no audio of it arrives
        long_text = " ".join(["This is a rather long sentence that takes a while to speak."] * 8)
        await ws.send(json.dumps({"type": "Speak", "text": long_text}))
        await ws.send(json.dumps({"type": "Clear"}))
        audio2, msgs2 = await _collect_until(ws, "Cleared")
        await ws.send(json.dumps({"type": "Flush"}))
        audio3, msgs3 = await _collect_until(ws, "Flushed")
        await ws.send(json.dumps({"type": "Close"}))
        return audio1, msgs1, audio2, msgs2, audio3

    audio1, msgs1, audio2, msgs2, audio3 = asyncio.run(_ws_session(local_server, "encoding=mulaw&sample_rate=8000", script))
    assert [m["type"] for _, m in msgs1] == ["Cleared", "Flushed"] and audio1 == 0
    assert msgs2[-1][1] == {"type": "Cleared", "sequence_id": 1}
    full = 8 * 3.0 * 8000  # > 3 s per sentence would be 24 s of mu-law; what got out before Clear is far less
    assert audio2 < full and audio3 == 0


def test_ws_warnings_and_handshake_errors(local_server):
    async def script(ws):
        await ws.recv()
        await ws.send("not json")
        await ws.send(json.dumps({"type": "Dance"}))
        await ws.send(json.dumps({"type": "Speak", "text": "x" * 2001}))
        out = [json.loads(await ws.recv()) for _ in range(3)]
        await ws.send(json.dumps({"type": "Close"}))
        return out

    warnings = asyncio.run(_ws_session(local_server, "", script))
    assert [w["type"] for w in warnings] == ["Warning"] * 3
    assert [w["code"] for w in warnings] == ["INVALID_JSON", "UNKNOWN_MESSAGE_TYPE", "TEXT_LENGTH_EXCEEDED"]

    from websockets.exceptions import InvalidStatus

    async def bad(query, headers):
        from websockets.asyncio.client import connect

        async with connect(f"{local_server.ws_url}/v1/speak?{query}", additional_headers=headers):
            pass

    with pytest.raises(InvalidStatus) as e:
        asyncio.run(bad("encoding=mp3", local_server.headers))
    assert e.value.response.status_code == 400 and b"linear16, mulaw, alaw" in e.value.response.body
    with pytest.raises(InvalidStatus) as e:
        asyncio.run(bad("", {}))
    assert e.value.response.status_code == 401

