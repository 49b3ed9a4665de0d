"""Live /v1/listen over WebSocket against a real ``dgnb serve`` subprocess and real audio.

Streams the recorded Deepgram fixture audio (mu-law 8 kHz, and the 22 kHz WAV as a
container stream) through a real ``websockets`` client and the official deepgram-sdk.
"""
from __future__ import annotations

import asyncio
import json
import re
import tempfile
from pathlib import Path

import jiwer
import numpy as np
import pytest
import websockets

from conftest import AUDIO, PRESENT, RESPONSES, recorded
from local_server import official_sdk, start_server, stop_server

from dgnb._core.audio import parse_wav_header

PREAMBLE = (
    "We, the people of the United States, in order to form a more perfect union, establish justice, "
    "ensure domestic tranquility, provide for the common defense, promote the general welfare, and secure "
    "the blessings of liberty to ourselves and our posterity, do ordain and establish this Constitution "
    "for the United States of America."
)
IDLE_TIMEOUT = 1.5
CHUNK = 800  # 100 ms of mu-law 8 kHz


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]", " ", text.lower()).split())


def wer(hyp: str) -> float:
    return jiwer.wer(_norm(PREAMBLE), _norm(hyp))


def wav_data(path: Path) -> bytes:
    """The bytes of a WAV file's data chunk (the raw samples)."""
    blob = path.read_bytes()
    info = parse_wav_header(blob[:4096])
    return blob[info.data_offset:info.data_offset + info.data_bytes]


MULAW = wav_data(AUDIO / "preamble-websocket.wav") if PRESENT else b""
SILENCE_2S = b"\xff" * 16000  # mu-law digital silence


@pytest.fixture(scope="module")
def server():
    with tempfile.TemporaryDirectory(prefix="dgnb-live-") as tmp:
        srv = start_server(Path(tmp), extra_env={"DGNB_LIVE_IDLE_TIMEOUT": str(IDLE_TIMEOUT)})
        try:
            yield srv
        finally:
            stop_server(srv)


def ws_url(server, query: str) -> str:
    return server.url.replace("http://", "ws://") + "/v1/listen?" + query


async def stream(server, query: str, chunks: list[bytes], *, pace: float = 0.0, close: str = "CloseStream"):
    """Send ``chunks`` (every ``pace`` s), then close; return (messages, close code, close reason)."""
    messages: list[dict] = []
    async with websockets.connect(ws_url(server, query), additional_headers=server.headers, max_size=None) as ws:
        async def sender():
            for chunk in chunks:
                await ws.send(chunk)
                if pace:
                    await asyncio.sleep(pace)
            await ws.send(b"" if close == "empty" else json.dumps({"type": close}))

        task = asyncio.create_task(sender())
        messages.extend(await collect(ws))
        task.cancel()
        return messages, ws.close_code, ws.close_reason


async def collect(ws) -> list[dict]:
    """Every message until the server closes (whatever the close code)."""
    out = []
    try:
        async for raw in ws:
            out.append(json.loads(raw))
    except websockets.exceptions.ConnectionClosedError:
        pass
    return out


def split(blob: bytes, size: int = CHUNK) -> list[bytes]:
    return [blob[i:i + size] for i in range(0, len(blob), size)]


def sdk_stream(conn, size: int = 8000) -> list:
    """Send the mu-law preamble on an official-SDK socket (``size`` bytes a message), then CloseStream;
    every message the server sent, until it closed."""
    for chunk in split(MULAW, size):
        conn.send_media(chunk)
    conn.send_close_stream()
    return list(conn)


def finals(messages):
    return [m for m in messages if m["type"] == "Results" and m["is_final"]]


def final_text(messages) -> str:
    return " ".join(m["channel"]["alternatives"][0]["transcript"] for m in finals(messages)).strip()


def check_results_shape(message: dict) -> None:
    """Same keys and types as the real Deepgram live Results fixture."""
    ref = json.loads(next(RESPONSES.glob("listen-websocket/*-response.json")).read_text())
    assert set(ref) <= set(message)
    assert message["type"] == "Results" and message["channel_index"] == [0, 1]
    for key in ("duration", "start"):
        assert isinstance(message[key], float | int)
    for key in ("is_final", "speech_final", "from_finalize"):
        assert isinstance(message[key], bool)
    assert set(ref["metadata"]) <= set(message["metadata"])
    assert set(message["metadata"]["model_info"]) == {"name", "version", "arch"}
    alt = message["channel"]["alternatives"][0]
    assert set(alt) == {"transcript", "confidence", "words"}
    for w in alt["words"]:
        assert {"word", "start", "end", "confidence", "punctuated_word"} <= set(w)
        assert w["word"] == w["word"].lower() and w["start"] <= w["end"]


def check_tiling(messages, total: float) -> None:
    """Finals tile the stream: contiguous, monotonic, words inside their result, ending at the stream's end."""
    fs = finals(messages)
    assert fs and fs[0]["start"] == 0.0
    for a, b in zip(fs, fs[1:]):
        assert b["start"] == pytest.approx(a["start"] + a["duration"], abs=0.002)
    for m in fs:
        assert m["duration"] > 0
        for w in m["channel"]["alternatives"][0]["words"]:
            assert m["start"] - 0.001 <= w["start"] <= m["start"] + m["duration"] + 0.06
    assert fs[-1]["start"] + fs[-1]["duration"] == pytest.approx(total, abs=0.05)


QUERY = "model=nova-3&encoding=mulaw&sample_rate=8000&punctuate=true&interim_results=true&utterance_end_ms=1000&vad_events=true"


@pytest.fixture(scope="module")
def fast_run(server):
    return asyncio.run(stream(server, QUERY, split(MULAW + SILENCE_2S)))


@recorded
def test_fast_stream_transcribes_the_preamble(fast_run):
    messages, code, _ = fast_run
    assert code == 1000
    assert wer(final_text(messages)) <= 0.10, final_text(messages)
    results = [m for m in messages if m["type"] == "Results"]
    assert any(not m["is_final"] for m in results), "interim results were asked for"
    assert any(m["speech_final"] for m in results)
    for m in results:
        check_results_shape(m)
    check_tiling(messages, (len(MULAW) + len(SILENCE_2S)) / 8000)


@recorded
def test_live_reads_the_preamble_as_well_as_pre_recorded(server, fast_run):
    """Each phrase is read with the seconds before it as context, so live finals come close to REST
    (bench_live_accuracy.py: live - REST median +0.000, at most +0.028 over seven recordings)."""
    import httpx

    messages, _, _ = fast_run
    rest = httpx.post(server.url + "/v1/listen", params={"encoding": "mulaw", "sample_rate": 8000, "punctuate": "true"},
                      content=MULAW, headers={**server.headers, "Content-Type": "audio/raw"}, timeout=120).json()
    rest_wer = wer(rest["results"]["channels"][0]["alternatives"][0]["transcript"])
    assert wer(final_text(messages)) <= rest_wer + 0.03, (final_text(messages), rest_wer)


@recorded
def test_fast_stream_events_and_metadata(fast_run):
    messages, _, _ = fast_run
    started = [m for m in messages if m["type"] == "SpeechStarted"]
    assert started and all(m["channel"] == [0, 1] and isinstance(m["timestamp"], float) for m in started)
    assert started[0]["timestamp"] < 1.0  # the reader starts within the first second
    ends = [m for m in messages if m["type"] == "UtteranceEnd"]
    last_word = max(w["end"] for m in finals(messages) for w in m["channel"]["alternatives"][0]["words"])
    assert ends and ends[-1]["channel"] == [0, 1] and ends[-1]["last_word_end"] == pytest.approx(last_word, abs=0.01)
    meta = messages[-1]
    assert meta["type"] == "Metadata"
    assert meta["duration"] == pytest.approx((len(MULAW) + len(SILENCE_2S)) / 8000, abs=0.01)
    assert meta["channels"] == 1 and meta["transaction_key"] == "deprecated"
    import hashlib

    assert meta["sha256"] == hashlib.sha256(MULAW + SILENCE_2S).hexdigest()
    assert meta["request_id"] == finals(messages)[0]["metadata"]["request_id"]
    assert set(meta["model_info"]) == set(meta["models"])


@pytest.mark.slow
@recorded
def test_realtime_stream(server):
    messages, code, _ = asyncio.run(stream(server, QUERY, split(MULAW), pace=0.1, close="empty"))
    assert code == 1000 and messages[-1]["type"] == "Metadata"
    assert wer(final_text(messages)) <= 0.10, final_text(messages)
    interims = [m for m in messages if m["type"] == "Results" and not m["is_final"]]
    assert len(interims) >= 5
    assert any(m["type"] == "SpeechStarted" for m in messages)
    check_tiling(messages, len(MULAW) / 8000)


@recorded
def test_container_stream_without_encoding(server):
    wav = (AUDIO / "preamble.wav").read_bytes()
    messages, code, _ = asyncio.run(stream(server, "punctuate=true", split(wav, 8192)))
    assert code == 1000
    # Live reads each phrase on its own in a 10 s encoder window, for latency: on this 52-word text
    # that costs three words against reading in 30 s (benchmarks/bench_stt_window.py weighs it).
    assert wer(final_text(messages)) <= 0.15, final_text(messages)
    assert messages[-1]["type"] == "Metadata"
    assert messages[-1]["duration"] == pytest.approx(421110 / 22050, abs=0.05)


@recorded
def test_finalize_gives_from_finalize(server):
    async def run():
        async with websockets.connect(ws_url(server, "encoding=mulaw&sample_rate=8000&punctuate=true"),
                                      additional_headers=server.headers) as ws:
            for chunk in split(MULAW[: 8000 * 2]):  # "We, the people of the ..." cut mid-sentence
                await ws.send(chunk)
            await ws.send(json.dumps({"type": "Finalize"}))
            got = []
            while True:
                m = json.loads(await ws.recv())
                got.append(m)
                if m.get("from_finalize"):
                    break
            await ws.send(json.dumps({"type": "CloseStream"}))
            async for raw in ws:
                got.append(json.loads(raw))
            return got, ws.close_code

    messages, code = asyncio.run(run())
    done = [m for m in messages if m.get("from_finalize")]
    assert len(done) == 1 and done[0]["is_final"]
    text = " ".join(m["channel"]["alternatives"][0]["transcript"] for m in finals(messages))
    assert "people" in _norm(text)
    assert done[0]["start"] + done[0]["duration"] == pytest.approx(2.0, abs=0.05)
    assert code == 1000 and messages[-1]["type"] == "Metadata"


def test_keepalive_keeps_an_idle_stream_open(server):
    async def run():
        async with websockets.connect(ws_url(server, "encoding=mulaw&sample_rate=8000"),
                                      additional_headers=server.headers) as ws:
            for _ in range(8):  # 4 s idle, well past the 1.5 s timeout
                await ws.send(json.dumps({"type": "KeepAlive"}))
                await asyncio.sleep(0.5)
            await ws.send(json.dumps({"type": "CloseStream"}))
            return [json.loads(m) async for m in ws], ws.close_code

    messages, code = asyncio.run(run())
    assert code == 1000
    assert messages[-1]["type"] == "Metadata" and messages[-1]["duration"] == 0


def test_idle_stream_is_closed_with_1011(server):
    async def run():
        async with websockets.connect(ws_url(server, "encoding=mulaw&sample_rate=8000"),
                                      additional_headers=server.headers) as ws:
            messages = await collect(ws)
            return messages, ws.close_code, ws.close_reason

    messages, code, reason = asyncio.run(asyncio.wait_for(run(), 30))
    assert code == 1011
    assert "NET-0001" in reason or "timeout" in reason
    assert messages and messages[-1]["type"] == "Error" and messages[-1]["err_code"] == "NET-0001"


def test_bad_key_is_rejected_with_401(server):
    async def run():
        async with websockets.connect(ws_url(server, "encoding=mulaw&sample_rate=8000"),
                                      additional_headers={"Authorization": "Token not-a-real-key"}):
            pass

    with pytest.raises(websockets.exceptions.InvalidStatus) as info:
        asyncio.run(run())
    response = info.value.response
    assert response.status_code == 401
    body = json.loads(response.body)
    assert body["err_code"] == "INVALID_AUTH" and "not-a-real-key" not in response.body.decode()


def test_missing_key_and_bad_options_are_rejected(server):
    async def connect(url, headers):
        async with websockets.connect(url, additional_headers=headers):
            pass

    with pytest.raises(websockets.exceptions.InvalidStatus) as info:
        asyncio.run(connect(ws_url(server, "encoding=mulaw&sample_rate=8000"), {}))
    assert info.value.response.status_code == 401
    with pytest.raises(websockets.exceptions.InvalidStatus) as info:
        asyncio.run(connect(ws_url(server, "encoding=mulaw"), server.headers))
    assert info.value.response.status_code == 400
    assert "sample_rate" in json.loads(info.value.response.body)["err_msg"]
    with pytest.raises(websockets.exceptions.InvalidStatus) as info:
        asyncio.run(connect(ws_url(server, "encoding=mulaw&sample_rate=8000&interim_results=maybe"), server.headers))
    assert info.value.response.status_code == 422


def test_undecodable_container_stream_closes_with_an_error(server):
    noise = np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes()
    messages, code, reason = asyncio.run(stream(server, "", split(b"NOTAUDIO" + noise, 4000)))
    assert code == 1008
    assert messages and messages[-1]["type"] == "Error" and "decoded" in messages[-1]["err_msg"]


@recorded
def test_official_sdk_parses_our_results(server):
    from deepgram.listen.v1.types import ListenV1Metadata, ListenV1Results

    client = official_sdk(server)
    with client.listen.v1.connect(model="nova-3", encoding="mulaw", sample_rate=8000, punctuate="true") as conn:
        received = sdk_stream(conn)
    results = [m for m in received if isinstance(m, ListenV1Results)]
    assert results and all(r.is_final for r in results)
    text = " ".join(r.channel.alternatives[0].transcript for r in results)
    assert wer(text) <= 0.10, text
    assert results[0].metadata.model_info.name == "whisper-tiny.en"
    assert results[1].channel.alternatives[0].words[0].start >= results[1].start
    assert isinstance(received[-1], ListenV1Metadata) and received[-1].duration == pytest.approx(len(MULAW) / 8000)


def test_stream_resampler_matches_one_shot_resampling():
    from dgnb.local.wire import audio
    from dgnb.local.models import streaming

    x = np.random.default_rng(1).standard_normal((2, 22050)).astype(np.float32) * 0.1
    for rate in (8000, 22050, 44100):
        r = streaming.StreamResampler(rate)
        pieces = [r.push(x[:, i:i + 777]) for i in range(0, x.shape[1], 777)] + [r.flush()]
        got = np.concatenate(pieces, axis=1)
        want = audio.resample(x, rate, 16000)
        assert got.shape == want.shape
        assert np.max(np.abs(got - want)) < 1e-4


# --------------------------------------------------------------------------- segmentation


def _segment(x: np.ndarray) -> tuple[list, list]:
    """Stream 16 kHz samples through a ChannelSegmenter in 100 ms chunks with the real recognizer.

    Returns (finals with words, (start, end) of every clip transcribed).
    """
    from dgnb.local.models import streaming, stt

    rec, calls = stt.get_recognizer(), []

    def transcribe(clip, offset):
        calls.append((offset, round(offset + clip.size / 16000, 3)))
        return rec.transcribe(clip, offset=offset, quick=True)

    seg = streaming.ChannelSegmenter(transcribe, streaming.SegmenterConfig())
    events = [ev for i in range(0, x.size, 1600) for ev in seg.feed(x[i:i + 1600])]
    events += seg.finalize(from_finalize=False)
    return [e for e in events if e.kind == "results" and e.is_final and e.words], calls


@recorded
def test_finals_reuse_the_words_read_early_in_the_pause():
    """At an endpoint the words were already read when the pause began: nothing is read twice."""
    from dgnb.local.models import streaming
    from dgnb.local.wire import audio

    x = audio.decode(AUDIO / "preamble.wav").mono()
    finals, calls = _segment(x)
    endpointed = [f for f in finals if f.speech_final and f.end < x.size / 16000 - 0.5]
    assert len(endpointed) >= 3
    pause = streaming.SegmenterConfig().min_silence
    for f in endpointed:
        read = [end for _, end in calls if end <= f.end]
        assert f.end - pause < read[-1] <= f.end - pause + 0.12  # read 90 ms into the pause, final when it ends
        assert f.end not in {end for _, end in calls}


def test_speech_resuming_in_the_pause_is_read_again():
    """A 150 ms pause starts an early read; speech resuming makes the final read the whole segment."""
    from dgnb.local.wire import audio
    from dgnb.local.models import samples

    def say(text: str) -> np.ndarray:
        x, rate = samples.synthesize(text)
        return audio.resample(samples._trim(x)[None, :], rate)[0]

    first, second = say("the refund is on its way"), say("thank you very much")
    gap, tail = np.zeros(int(0.15 * 16000), np.float32), np.zeros(16000, np.float32)
    finals, calls = _segment(np.concatenate([first, gap, second, tail]))
    # the VAD hears the first phrase a few frames longer than it lasts: the early read ends in the pause
    # or just after it, before the second phrase's soft onset is heard
    assert any(first.size / 16000 < end <= (first.size + gap.size) / 16000 + 0.05 for _, end in calls)
    assert len(finals) == 1
    text = " ".join(w["word"] for w in finals[0].words)
    assert "way" in text and "much" in text, text


# --------------------------------------------------------------------------- diarize, multichannel


def _pcm16(x: np.ndarray) -> bytes:
    return (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()


@pytest.mark.slow
def test_live_diarize_labels_the_two_voices(server):
    """A two-voice support call streamed with diarize=true: finals carry speakers, mostly the right ones."""
    import pandas as pd

    from dgnb.notebook.demo import speaker_agreement
    from dgnb.local.models import samples

    talk = samples.dialogue(seed=0)
    query = f"encoding=linear16&sample_rate={talk.sample_rate}&diarize=true&punctuate=true"
    messages, code, _ = asyncio.run(stream(server, query, split(_pcm16(talk.samples), talk.sample_rate // 5 * 2)))
    assert code == 1000
    words = pd.DataFrame([w for m in finals(messages) for w in m["channel"]["alternatives"][0]["words"]])
    assert {"speaker", "speaker_confidence"} <= set(words.columns) and words["speaker"].notna().all()
    assert sorted(words["speaker"].unique()) == [0, 1]
    # online labels: the first words of the second voice come before there is enough of it to cluster
    assert speaker_agreement(talk.turns, words) >= 0.85


@recorded
def test_live_multichannel_reads_each_channel_on_its_own(server):
    from dgnb.local.wire import audio
    from dgnb.local.models import samples

    left = audio.decode(AUDIO / "preamble.wav").mono()[: 16000 * 5]
    talk = samples.dialogue(seed=0)
    right = audio.resample(talk.samples[None, :], talk.sample_rate)[0][: left.size]
    stereo = _pcm16(np.stack([left, right], axis=1).reshape(-1))
    query = "encoding=linear16&sample_rate=16000&channels=2&multichannel=true"
    messages, code, _ = asyncio.run(stream(server, query, split(stereo, 6400)))
    assert code == 1000
    text = {i: " ".join(m["channel"]["alternatives"][0]["transcript"] for m in finals(messages)
                        if m["channel_index"] == [i, 2]) for i in (0, 1)}
    assert "people" in text[0] and "united" in text[0] and "calling" not in text[0], text
    assert "calling" in text[1] and "support" in text[1] and "people" not in text[1], text
    for i in (0, 1):  # each channel's finals tile its own stream
        starts = [m["start"] for m in finals(messages) if m["channel_index"] == [i, 2]]
        assert starts == sorted(starts) and starts[0] == 0.0
    assert messages[-1]["type"] == "Metadata" and messages[-1]["channels"] == 2


@recorded
def test_configure_mid_stream_from_the_official_sdk(server):
    """v1 Configure: keyterms replaced (ConfigureSuccess says the ones in force) and formatting features
    switched for what is read next; refusals are ConfigureFailure with Deepgram's codes, and the stream goes on."""
    from deepgram.listen.v1.types import ListenV1Configure, ListenV1ConfigureFailure, ListenV1ConfigureSuccess

    client = official_sdk(server)
    with client.listen.v1.connect(model="nova-3", encoding="mulaw", sample_rate=8000, keyterm="Acme") as conn:
        conn.send_configure(ListenV1Configure(keyterms=["Deepgram", "preamble"], features={"punctuate": True}))
        conn.send_configure(ListenV1Configure(features={"diarize": True}))
        conn.send_configure(ListenV1Configure(keyterms=["word"] * 501))
        received = sdk_stream(conn)
    success = [m for m in received if isinstance(m, ListenV1ConfigureSuccess)]
    failures = [m for m in received if isinstance(m, ListenV1ConfigureFailure)]
    assert [m.keyterms for m in success] == [["Deepgram", "preamble"]]
    assert [f.code for f in failures] == ["CONFIGURE_INVALID", "CONFIGURE_KEYTERM_LIMIT_EXCEEDED"]
    assert "diarize" in failures[0].description
    text = " ".join(m.channel.alternatives[0].transcript for m in received if getattr(m, "type", "") == "Results")
    assert wer(text) <= 0.10 and any(c in text for c in ".,")  # punctuated, though the query did not ask


def test_configure_keyterms_need_nova_3(server):
    async def go():
        url = ws_url(server, "model=nova-2&encoding=mulaw&sample_rate=8000")
        async with websockets.connect(url, additional_headers=server.headers) as ws:
            await ws.send(json.dumps({"type": "Configure", "keyterms": ["Deepgram"]}))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
            await ws.send(json.dumps({"type": "CloseStream"}))
            return reply
    reply = asyncio.run(go())
    assert reply["type"] == "ConfigureFailure" and reply["code"] == "CONFIGURE_KEYTERMS_NOT_SUPPORTED"
