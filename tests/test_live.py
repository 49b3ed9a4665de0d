"""Live streaming client (dgnb.api.listen.live) against the real local engine (``dgnb serve`` subprocess).

Covers: raw mulaw and decoded linear16 streams (interims, finals, events, iteration, Transcript vs a
pre-recorded request), handshake errors as ApiError (sync and async), reconnect through a
fault-injecting TCP proxy (no final word lost or duplicated), automatic KeepAlive on an idle
stream, a server Error reaching the handler without hanging, and the sync API inside a running
event loop (as in a notebook cell).
"""
from __future__ import annotations

import asyncio
import json
import re
import socket
import tempfile
import threading
import time
import wave
from pathlib import Path

import jiwer
import pytest

import dgnb
from dgnb.api.listen import live as L
from conftest import AUDIO, recorded
from local_server import start_server, stop_server

MULAW = AUDIO / "preamble-websocket.wav"
PREAMBLE = AUDIO / "preamble.wav"
SHORT = AUDIO / "testing-websocket.wav"
LIVE_VS_PRERECORDED = 0.04  # word error rate of live finals against pre-recorded (see `reference`)


def words_of(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]", " ", text.lower()).split()


def wer(ref: str, hyp: str) -> float:
    return jiwer.wer(" ".join(words_of(ref)), " ".join(words_of(hyp)))


def assert_contiguous(finals, audio_seconds: float) -> None:
    """Finals tile the stream: each starts where the previous ended, the last ends at the audio end."""
    assert finals
    assert finals[0].start == pytest.approx(0.0, abs=0.05)
    for prev, nxt in zip(finals, finals[1:]):
        assert nxt.start == pytest.approx(prev.end, abs=0.05), (prev, nxt)
    assert finals[-1].end == pytest.approx(audio_seconds, abs=0.3)
    starts = [w["start"] for m in finals for w in m.words]
    assert starts == sorted(starts)


@pytest.fixture(scope="module")
def dg(local_server):
    client = dgnb.Client(api_key=local_server.api_key, url=local_server.url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def reference(dg):
    """The engine's pre-recorded transcript of the same speech.

    Pre-recorded decodes each stretch of speech whole (WER 0.00 against Deepgram nova-3 on this file);
    live reads phrase by phrase in a shorter window, each with the seconds before it, and differs from
    it by one word in 52 (0.019; six words, 0.115, before phrases were read with context and ended by
    300 ms pauses)."""
    return dg.transcribe(PREAMBLE, punctuate=True).transcript


@pytest.fixture(scope="module")
def mulaw_run(dg):
    """preamble-websocket.wav sent raw (mulaw 8 kHz declared), as fast as possible, with interims,
    consumed by handlers and, at the same time, by iteration in another thread."""
    events: dict[str, list] = {}
    conn = L.stream_file(dg, MULAW, realtime=False, encoding="mulaw", interim_results=True,
                         vad_events=True, utterance_end_ms=1000, punctuate=True)
    for name in L.EVENTS:
        conn.on(name, lambda m, name=name: events.setdefault(name, []).append(m))
    iterated: list = []
    reader = threading.Thread(target=lambda: iterated.extend(conn))
    reader.start()
    transcript = conn.wait(timeout=120)
    reader.join(30)
    return conn, transcript, events, iterated


# ---------------------------------------------------------------- real streams ----
@recorded
def test_mulaw_raw_stream_gives_interims_finals_and_matches_prerecorded(mulaw_run, reference):
    conn, transcript, events, iterated = mulaw_run
    finals = [m for m in conn.messages if isinstance(m, L.ResultsMessage) and m.is_final]
    interims = [m for m in conn.messages if isinstance(m, L.ResultsMessage) and not m.is_final]
    assert interims and len(finals) >= 5
    assert conn.options["sample_rate"] == 8000  # read from the WAV header, header bytes not sent
    assert wer(reference, transcript.transcript) <= LIVE_VS_PRERECORDED
    assert_contiguous(conn.finals, 19.1)
    # the Transcript's words DataFrame is built from exactly the finals' words
    assert list(transcript.words["word"]) == [w["word"] for m in conn.finals for w in m.words]
    assert transcript.request_id == conn.metadata.request_id
    assert transcript.duration == pytest.approx(19.1, abs=0.1)
    assert conn.close_code == 1000 and conn.error is None and conn.reconnects == 0


@recorded
def test_events_and_iteration_see_every_message(mulaw_run):
    conn, _, events, iterated = mulaw_run
    assert [m.type for m in iterated] == [m.type for m in conn.messages]
    assert len(events["Open"]) == 1 and len(events["Close"]) == 1
    assert events["Close"][0]["code"] == 1000
    assert len(events["Results"]) == sum(isinstance(m, L.ResultsMessage) for m in conn.messages)
    assert events["SpeechStarted"] and len(events["Metadata"]) == 1
    assert isinstance(events["Metadata"][0], L.MetadataMessage)
    assert not events.get("Error") and not events.get("Reconnect")


@pytest.mark.asyncio
@recorded
async def test_async_linear16_stream_of_decoded_wav(local_server, reference):
    """preamble.wav (22.05 kHz PCM) decoded and sent as linear16 from an AsyncClient, in 100 ms chunks."""
    async with dgnb.AsyncClient(api_key=local_server.api_key, url=local_server.url) as adg:
        finals = []
        conn = await L.stream_file(adg, PREAMBLE, realtime=False, punctuate=True)
        conn.on("Results", lambda m: finals.append(m) if m.is_final else None)
        assert conn.options["encoding"] == "linear16" and conn.options["sample_rate"] == 22050
        seen = [m async for m in conn]
        transcript = await conn.wait(timeout=120)
    assert [m for m in seen if isinstance(m, L.ResultsMessage) and m.is_final] == finals == conn.finals
    assert seen[-1].type == "Metadata"
    assert wer(reference, transcript.transcript) <= LIVE_VS_PRERECORDED
    with wave.open(str(PREAMBLE)) as w:
        assert_contiguous(conn.finals, w.getnframes() / w.getframerate())


@recorded
def test_send_finalize_finish_by_hand_with_context_manager(dg):
    """live() + send() + finalize() + finish() on raw linear16 chunks."""
    with wave.open(str(PREAMBLE)) as w:
        rate, pcm = w.getframerate(), w.readframes(w.getnframes())
    chunk = rate * 2 // 10  # 100 ms of 16-bit mono
    got = []
    with L.live(dg, encoding="linear16", sample_rate=rate, punctuate=True) as conn:
        conn.on("Results", got.append)
        for i in range(0, min(len(pcm), rate * 2 * 5), chunk):  # the first 5 s
            conn.send(pcm[i:i + chunk])
        conn.finalize()
    assert conn.done and conn.close_code == 1000
    assert any(m.from_finalize for m in got if m.is_final)
    assert "people" in conn.transcript.transcript.lower()


@recorded
def test_configure_keyterms_and_features_sync_and_async(dg, local_server):
    """conn.configure(...) on Client and AsyncClient: answered ConfigureSuccess (or ConfigureFailure), in turn."""
    refused = []
    with L.live(dg, model="nova-3", encoding="linear16", sample_rate=16000) as conn:
        conn.on("ConfigureFailure", refused.append)
        conn.configure(keyterms=["Deepgram"], punctuate=True)
        conn.configure(diarize=True)  # not a formatting feature: refused, the stream goes on
        conn.finish()
    answers = [m.json for m in conn.messages if m.type in ("ConfigureSuccess", "ConfigureFailure")]
    assert answers[0]["type"] == "ConfigureSuccess" and answers[0]["keyterms"] == ["Deepgram"]
    assert answers[1]["type"] == "ConfigureFailure" and "diarize" in answers[1]["description"]
    assert [m.json for m in refused] == answers[1:]

    async def go():
        async with dgnb.AsyncClient(api_key=local_server.api_key, url=local_server.url) as adg:
            async with L.live(adg, model="nova-3", encoding="linear16", sample_rate=16000) as aconn:
                await aconn.configure(keyterms=[])
                await aconn.finish()
            return [m.json for m in aconn.messages if m.type == "ConfigureSuccess"]

    replies = asyncio.run(go())
    assert len(replies) == 1 and replies[0]["keyterms"] == []


# ---------------------------------------------------------------- handshake errors ----
def test_bad_key_raises_api_error_sync_without_leaking_it(local_server):
    secret = "sk-this-is-not-valid-1234"
    bad = dgnb.Client(api_key=secret, url=local_server.url)
    with pytest.raises(dgnb.ApiError) as info:
        L.live(bad, encoding="linear16", sample_rate=16000)
    err = info.value
    assert err.status_code == 401 and err.err_code == "INVALID_AUTH"
    assert "Invalid credentials" in err.err_msg
    assert secret not in str(err) and secret not in repr(err) and secret not in repr(err.headers)


@pytest.mark.asyncio
async def test_bad_key_and_bad_option_raise_api_error_async(local_server):
    bad = dgnb.AsyncClient(api_key="wrong-key", url=local_server.url)
    with pytest.raises(dgnb.ApiError) as info:
        await L.live(bad, encoding="linear16", sample_rate=16000)
    assert info.value.status_code == 401
    good = dgnb.AsyncClient(api_key=local_server.api_key, url=local_server.url)
    with pytest.raises(dgnb.ApiError) as info:  # the engine refuses a bad value in the handshake
        await L.live(good, encoding="linear16", sample_rate="fast")
    assert 400 <= info.value.status_code < 500 and "sample_rate" in info.value.err_msg
    conn = await L.live(good, encoding="linear16", sample_rate=16000)
    assert local_server.api_key not in repr(conn) and local_server.api_key not in conn.url
    await conn.close()


def test_unknown_option_and_bad_sources_fail_clearly(dg, tmp_path):
    with pytest.raises(ValueError, match="did you mean 'interim_results'"):
        L.live(dg, interim_result=True)
    with pytest.raises(FileNotFoundError, match="nope.wav"):
        L.stream_file(dg, tmp_path / "nope.wav")
    with pytest.raises(TypeError, match="cannot stream audio from int"):
        L.stream_file(dg, 42)
    (tmp_path / "junk.wav").write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(ValueError, match="decode"):
        L.stream_file(dg, tmp_path / "junk.wav")
    unreachable = dgnb.Client(api_key="k", url=f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(dgnb.ConnectionError, match="WebSocket /v1/listen: could not connect"):
        L.live(unreachable)


# ---------------------------------------------------------------- reconnect ----
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DropProxy:
    """A TCP proxy on 127.0.0.1 in front of the engine that kills each of the first ``drops`` connections
    (RST) once ``after_finals`` final results have passed from the server to the client."""

    MARK = b'"is_final": true'

    def __init__(self, upstream: str, after_finals: int, drops: int = 1) -> None:
        host, port = upstream.split("://", 1)[1].split(":")
        self.upstream = (host, int(port))
        self.after_finals, self.drops = after_finals, drops
        self.connections = self.kills = 0
        self.dropped = threading.Event()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        threading.Thread(target=self._serve, args=(ready,), daemon=True).start()
        ready.wait(10)

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, creader, cwriter) -> None:
        self.connections += 1
        kill = self.connections <= self.drops
        sreader, swriter = await asyncio.open_connection(*self.upstream)
        seen = {"finals": 0, "tail": b""}

        async def pump(reader, writer, watch: bool) -> None:
            try:
                while data := await reader.read(65536):
                    if watch and kill:
                        buf = seen["tail"] + data
                        seen["finals"] += buf.count(self.MARK)
                        seen["tail"] = buf[-len(self.MARK):]
                        if seen["finals"] >= self.after_finals:
                            self.kills += 1
                            self.dropped.set()
                            cwriter.transport.abort()
                            swriter.transport.abort()
                            return
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()

        await asyncio.gather(pump(creader, swriter, False), pump(sreader, cwriter, True))

    def close(self) -> None:
        async def shutdown() -> None:
            self.server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop)


@recorded
def test_drops_spread_over_a_stream_each_get_the_whole_reconnect_budget(local_server):
    """The reconnect budget is per outage: a stream whose every reopened socket delivers a final before it
    drops again keeps going, though it drops more often than ``max_reconnects``."""
    proxy = DropProxy(local_server.url, after_finals=2, drops=3)
    try:
        client = dgnb.Client(api_key=local_server.api_key, url=proxy.url)
        conn = L.stream_file(client, MULAW, realtime=False, encoding="mulaw", max_reconnects=1)
        conn.wait(timeout=120)
    finally:
        proxy.close()
    assert proxy.kills == 3 and conn.reconnects == 3
    assert conn.error is None and conn.close_code == 1000
    assert_contiguous(conn.finals, 19.1)


def _billed_seconds(server, request_ids: list[str]) -> list[float]:
    """The durations the engine's ledger recorded for ``request_ids`` (each is recorded as its stream ends)."""
    import httpx

    with httpx.Client(base_url=server.url, headers=server.headers, timeout=10) as http:
        pid = http.get("/v1/projects").json()["projects"][0]["project_id"]
        deadline = time.monotonic() + 30
        while True:
            rows = {r["request_id"]: r for r in http.get(f"/v1/projects/{pid}/requests", params={"limit": 1000}).json()["requests"]}
            if all(rid in rows for rid in request_ids) or time.monotonic() > deadline:
                return [rows[rid]["response"]["details"]["duration"] for rid in request_ids if rid in rows]
            time.sleep(0.05)  # the last stream is recorded just after its socket closes


@recorded
def test_audio_resent_after_drops_is_billed_once(local_server):
    """Three drops, each stream resumed by re-sending what its finals did not cover: the four streams
    together are billed the recording's length, not the length plus what was re-sent."""
    proxy = DropProxy(local_server.url, after_finals=2, drops=3)
    resent = []
    try:
        client = dgnb.Client(api_key=local_server.api_key, url=proxy.url)
        conn = L.stream_file(client, MULAW, realtime=False, encoding="mulaw")
        conn.on("Reconnect", resent.append)
        conn.wait(timeout=120)
    finally:
        proxy.close()
    assert conn.reconnects == 3 and sum(r["resent_bytes"] for r in resent) > 8000  # over a second re-sent
    billed = _billed_seconds(local_server, conn.request_ids)
    assert len(billed) == 4 and all(b > 0 for b in billed)
    from dgnb._core.audio import parse_wav_header

    seconds = parse_wav_header(MULAW.read_bytes()[:4096]).data_bytes / 8000  # mu-law, 8 kHz, one byte a sample
    assert sum(billed) == pytest.approx(seconds, abs=0.01), (billed, seconds)


@recorded
def test_reconnect_after_a_drop_loses_and_duplicates_nothing(local_server, mulaw_run, monkeypatch):
    proxy = DropProxy(local_server.url, after_finals=3)
    moves = []
    enter = L.AsyncLiveConnection._enter
    monkeypatch.setattr(L.AsyncLiveConnection, "_enter", lambda self, state: (moves.append(state), enter(self, state)))
    try:
        client = dgnb.Client(api_key=local_server.api_key, url=proxy.url)
        conn = L.stream_file(client, MULAW, realtime=False, encoding="mulaw", punctuate=True)
        reconnects = []
        conn.on("Reconnect", reconnects.append)
        transcript = conn.wait(timeout=120)
    finally:
        proxy.close()
    assert proxy.dropped.is_set() and proxy.connections == 2
    assert conn.reconnects == 1 and len(reconnects) == 1 and len(set(conn.request_ids)) == 2
    resume = reconnects[0]["resume_from"]
    # the proxy killed the socket instead of forwarding the 3rd final: the client resumes after the 2nd
    assert resume == pytest.approx(conn.finals[1].end, abs=0.001)
    assert reconnects[0]["resent_bytes"] == pytest.approx((19.1 - resume) * 8000, abs=400)
    # every word exactly once, on one continuous time line
    assert_contiguous(conn.finals, 19.1)
    # the resumed stream is read without the audio before the seam as context, so a word may be read
    # differently; a final lost or repeated at the seam would be five words or more
    import jiwer

    resumed = [w["word"] for w in transcript.to_dict()["results"]["channels"][0]["alternatives"][0]["words"]]
    unbroken = [w["word"] for m in mulaw_run[0].finals for w in m.words]
    assert abs(len(resumed) - len(unbroken)) <= 2 and jiwer.wer(" ".join(unbroken), " ".join(resumed)) <= 0.05
    assert transcript.duration == pytest.approx(19.1, abs=0.1)  # Metadata shifted to the whole stream
    assert conn.error is None and conn.close_code == 1000
    # one explicit state machine: opened, reconnected once, finished, closed
    assert moves[0] == "open" and moves.count("reconnecting") == 1 and moves[-1] == "closed" and "closing" in moves
    assert moves[moves.index("reconnecting") + 1] in ("open", "closing")


def test_a_stream_refuses_a_move_its_state_machine_does_not_allow():
    with dgnb.Client(api_key="k" * 40, url="http://127.0.0.1:9") as dg:  # never connects
        conn = L.AsyncLiveConnection(dg._config, {})
    assert conn.state == "new"
    with pytest.raises(RuntimeError, match="cannot go from new to reconnecting"):
        conn._enter("reconnecting")
    conn._enter("closed")
    conn._enter("closed")  # staying put is no move
    with pytest.raises(RuntimeError, match="cannot go from closed to open"):
        conn._enter("open")


@recorded
def test_drop_without_reconnect_reports_an_error(local_server):
    proxy = DropProxy(local_server.url, after_finals=2)
    try:
        client = dgnb.Client(api_key=local_server.api_key, url=proxy.url)
        conn = L.stream_file(client, MULAW, realtime=False, encoding="mulaw", reconnect=False)
        errors = []
        conn.on("Error", errors.append)
        with pytest.raises(L.LiveStreamError, match="dropped") as info:
            conn.wait(timeout=60)
    finally:
        proxy.close()
    assert errors and errors[0].err_code == "CLIENT-DROPPED"
    assert len(info.value.transcript.words) > 0 and len(conn.finals) == 1  # what arrived before is kept


# ---------------------------------------------------------------- keepalive and server errors ----
@pytest.fixture(scope="module")
def impatient_server():
    """A second engine that closes idle streams after 2 s (Deepgram: ~10 s)."""
    with tempfile.TemporaryDirectory(prefix="dgnb-live-idle-") as tmp:
        server = start_server(Path(tmp), extra_env={"DGNB_LIVE_IDLE_TIMEOUT": "2"})
        try:
            yield server
        finally:
            stop_server(server)


@recorded
def test_keepalive_keeps_a_paused_stream_open(impatient_server):
    client = dgnb.Client(api_key=impatient_server.api_key, url=impatient_server.url)
    conn = L.live(client, encoding="mulaw", sample_rate=8000, keepalive=0.5)
    time.sleep(6)  # three times the server's idle timeout, nothing sent by the user
    assert conn.is_open and conn.error is None and conn.reconnects == 0
    with open(SHORT, "rb") as f:
        data = f.read()[44:]
    for i in range(0, len(data), 800):
        conn.send(data[i:i + 800])
    transcript = conn.finish(timeout=60)
    assert transcript.transcript.strip() and conn.close_code == 1000


def test_server_error_reaches_handler_and_does_not_hang(impatient_server):
    client = dgnb.Client(api_key=impatient_server.api_key, url=impatient_server.url)
    conn = L.live(client, encoding="mulaw", sample_rate=8000, keepalive=False)
    errors, closes = [], []
    conn.on("Error", errors.append)
    conn.on("Close", closes.append)
    with pytest.raises(L.LiveStreamError, match="NET-0001"):
        conn.wait(timeout=30)
    assert errors[0].err_code == "NET-0001" and closes[0]["code"] == 1011
    assert conn.reconnects == 0  # an explained close is not retried
    with pytest.raises(RuntimeError, match="closed"):
        conn.send(b"\x00" * 100)


# ---------------------------------------------------------------- notebook-like use ----
@recorded
def test_sync_api_inside_a_running_event_loop_returns_at_once(dg):
    """As in a Jupyter cell (the kernel's loop is running): no asyncio.run error, no blocking."""

    async def cell():
        conn = L.stream_file(dg, SHORT, realtime=True, encoding="mulaw")  # 4.7 s of audio at real-time pace
        still_streaming = not conn.done
        ticks = 0
        while not conn.done:  # the cell's loop keeps running while the stream goes on
            await asyncio.sleep(0.05)
            ticks += 1
        return conn, still_streaming, ticks

    conn, still_streaming, ticks = asyncio.run(cell())
    assert still_streaming and ticks > 5  # the cell's own loop ran on while the audio streamed
    assert conn.transcript.transcript.strip()


def test_message_types_and_shift():
    raw = json.dumps({"type": "Results", "is_final": True, "start": 1.0, "duration": 2.0, "channel_index": [0, 1],
                      "channel": {"alternatives": [{"transcript": "hi", "words": [
                          {"word": "hi", "start": 1.2, "end": 1.5}]}]}})
    msg = L.parse_message(raw)
    moved = msg.shifted(10.0)
    assert isinstance(msg, L.ResultsMessage) and msg.start == 1.0 and msg.words[0]["start"] == 1.2
    assert moved.start == 11.0 and moved.words[0]["start"] == pytest.approx(11.2) and moved.end == 13.0
    assert L.parse_message("not json").type == "Unhandled"
    assert L.parse_message('{"type": "Fancy"}').json == {"type": "Fancy"}
    err = L.parse_message('{"type": "Error", "variant": "DATA-0000", "description": "bad audio"}')
    assert (err.err_code, err.err_msg) == ("DATA-0000", "bad audio")
    ledger = L.AudioLedger(8000.0)
    for i in range(10):
        ledger.append(bytes([i]) * 800)  # 0.1 s each
    ledger.trim(0.25)
    assert ledger.resume_point(0.25) == (2000, 0.25)
    assert b"".join(ledger.since(2000)) == bytes([2]) * 400 + b"".join(bytes([i]) * 800 for i in range(3, 10))
    assert ledger.held_bytes == 8 * 800
