"""Live speech-to-text over Deepgram's WebSocket ``/v1/listen``: a client that loses nothing.

One asyncio implementation (:class:`AsyncLiveConnection`, on the ``websockets`` library) holds the
protocol and the state; the synchronous :class:`LiveConnection` runs it on a background event-loop
thread (:mod:`dgnb._loop`), so a notebook cell gets its handle back while the stream goes on.

>>> conn = dg.listen.live(model="nova-3", encoding="linear16", sample_rate=16000)   # doctest: +SKIP
>>> conn.on("Results", lambda m: print(m.transcript))                              # doctest: +SKIP
>>> conn.send(pcm_bytes); t = conn.finish(); t.words                               # doctest: +SKIP
>>> conn = dg.listen.stream_file("call.wav", realtime=False); conn.view()          # doctest: +SKIP

What it does beyond the wire protocol:

* **KeepAlive**: while nothing has been sent for ``keepalive`` seconds it sends ``KeepAlive``, so
  a paused notebook is not closed by the server's idle timeout.
* **Reconnect**: when the socket drops (a network error, or a server close other than 1000 not
  preceded by an ``Error`` message) it reconnects with the same options, re-sends the raw audio not
  yet covered by a final result and shifts the new connection's timestamps by the resume point,
  so every final word arrives exactly once, on one continuous time line.
* **Errors**: a refused handshake (401/403/429/5xx) raises :class:`dgnb.ApiError` with the status
  and the ``err_msg`` of the body, for the sync and the async client alike.
"""
from __future__ import annotations

import asyncio
import copy
import io
import json
import logging
import os
import time
import wave
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping

from . import _loop
from ._stream import EventHub, SyncEventStream, event_namer, read_frames, request_id_of
from .audio import parse_wav_header
from ._params import check_options, encode_params
from .errors import ApiError, ConnectionError, DgnbError
from .listen import LISTEN_OPTIONS

if TYPE_CHECKING:
    from .transcript import Transcript

log = logging.getLogger("dgnb.live")

#: Options only the live endpoint takes.
LIVE_ONLY_OPTIONS = frozenset({"interim_results", "endpointing", "utterance_end_ms", "vad_events", "no_delay"})
#: Every query option of live /v1/listen.
LIVE_OPTIONS = LISTEN_OPTIONS | LIVE_ONLY_OPTIONS
#: Event names for :meth:`AsyncLiveConnection.on` (the official SDKs' names, plus Reconnect).
EVENTS = ("Open", "Results", "Metadata", "UtteranceEnd", "SpeechStarted", "Close", "Error", "Unhandled", "Reconnect")
_EVENT_ALIASES = {"Transcript": "Results", "transcript": "Results", "Warning": "Unhandled"}
#: Bytes per sample of the raw encodings whose byte offsets map to stream time.
RAW_SAMPLE_BYTES = {"linear16": 2, "linear32": 4, "mulaw": 1, "alaw": 1}
DEFAULT_KEEPALIVE = 4.0  # seconds; Deepgram closes after ~10 s without audio or a text message
_EPS = 1e-6


class LiveStreamError(DgnbError):
    """The stream ended in error (a server ``Error`` message, or a drop it could not recover from).

    ``err_code``/``err_msg`` describe it; ``transcript`` holds the finals received before it.
    """

    def __init__(self, err_code: str | None, err_msg: str, transcript: "Transcript | None" = None):
        self.err_code, self.err_msg, self.transcript = err_code, err_msg, transcript
        super().__init__(f"{err_code}: {err_msg}" if err_code else err_msg)


# ================================================================= messages and events ===
class LiveMessage:
    """A message of the live stream: ``type`` plus the JSON (``.json``; also ``msg["key"]``)."""

    type = "Unhandled"

    def __init__(self, data: Mapping[str, Any], raw: str | None = None) -> None:
        self.json = dict(data)
        self.raw = raw

    def __getitem__(self, key: str) -> Any:
        return self.json[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.json.get(key, default)

    def _fields(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"<{type(self).__name__}{self._fields()}>"

    #: The one stream timestamp (seconds) of this message type that :meth:`shifted` moves.
    _time_key: str | None = None

    def shifted(self, offset: float) -> "LiveMessage":
        """A copy with every stream timestamp moved by ``offset`` seconds."""
        if not offset or self._time_key is None:
            return self
        return type(self)(dict(self.json, **{self._time_key: round(_num(self.json.get(self._time_key)) + offset, 6)}))


def _num(value: Any, default: float = 0.0) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


class ResultsMessage(LiveMessage):
    """An interim (``is_final`` false) or final transcript of a stretch of audio."""

    type = "Results"

    @property
    def is_final(self) -> bool:
        return self.json.get("is_final") is True

    @property
    def speech_final(self) -> bool:
        return self.json.get("speech_final") is True

    @property
    def from_finalize(self) -> bool:
        return self.json.get("from_finalize") is True

    @property
    def start(self) -> float:
        return _num(self.json.get("start"))

    @property
    def duration(self) -> float:
        return _num(self.json.get("duration"))

    @property
    def end(self) -> float:
        return self.start + self.duration

    @property
    def channel(self) -> int:
        index = self.json.get("channel_index")
        return index[0] if isinstance(index, list) and index and isinstance(index[0], int) else 0

    @property
    def channels(self) -> int:
        index = self.json.get("channel_index")
        return index[1] if isinstance(index, list) and len(index) > 1 and isinstance(index[1], int) else 1

    @property
    def alternative(self) -> dict:
        alts = (self.json.get("channel") or {}).get("alternatives") or [{}]
        return alts[0] if isinstance(alts[0], dict) else {}

    @property
    def transcript(self) -> str:
        return str(self.alternative.get("transcript") or "")

    @property
    def confidence(self) -> float:
        return _num(self.alternative.get("confidence"))

    @property
    def words(self) -> list[dict]:
        return [w for w in self.alternative.get("words") or [] if isinstance(w, dict)]

    def _fields(self) -> str:
        kind = "final" if self.is_final else "interim"
        return f" {kind} {self.start:.2f}-{self.end:.2f}s {self.transcript[:60]!r}"

    def shifted(self, offset: float) -> "ResultsMessage":
        if not offset:
            return self
        data = copy.deepcopy(self.json)
        data["start"] = round(_num(data.get("start")) + offset, 6)
        for alt in (data.get("channel") or {}).get("alternatives") or []:
            for w in alt.get("words") or []:
                for key in ("start", "end"):
                    if isinstance(w.get(key), (int, float)):
                        w[key] = round(w[key] + offset, 6)
        return ResultsMessage(data)


class MetadataMessage(LiveMessage):
    """Sent once when the stream closes: request_id, duration, sha256, models."""

    type = "Metadata"
    _time_key = "duration"

    @property
    def request_id(self) -> str | None:
        return self.json.get("request_id")

    @property
    def duration(self) -> float:
        return _num(self.json.get("duration"))

    def _fields(self) -> str:
        return f" request_id={self.request_id} duration={self.duration:.2f}s"


class UtteranceEndMessage(LiveMessage):
    """A gap after the last word (``utterance_end_ms``)."""

    type = "UtteranceEnd"
    _time_key = "last_word_end"

    @property
    def last_word_end(self) -> float:
        return _num(self.json.get("last_word_end"))

    def _fields(self) -> str:
        return f" last_word_end={self.last_word_end:.2f}s"


class SpeechStartedMessage(LiveMessage):
    """Speech began at ``timestamp`` (``vad_events``)."""

    type = "SpeechStarted"
    _time_key = "timestamp"

    @property
    def timestamp(self) -> float:
        return _num(self.json.get("timestamp"))

    def _fields(self) -> str:
        return f" timestamp={self.timestamp:.2f}s"


class ErrorMessage(LiveMessage):
    """A server ``Error`` message, or a client-side failure (``err_code`` CLIENT-...)."""

    type = "Error"

    @property
    def err_code(self) -> str | None:
        return self.json.get("err_code") or self.json.get("variant")

    @property
    def err_msg(self) -> str:
        return str(self.json.get("err_msg") or self.json.get("description") or self.json.get("message") or "")

    def _fields(self) -> str:
        return f" {self.err_code}: {self.err_msg[:80]!r}"


class UnhandledMessage(LiveMessage):
    """A message of a type this client does not know (kept whole in ``.json``)."""


class OpenEvent(LiveMessage):
    """The connection opened (``request_id`` from the handshake's dg-request-id header)."""

    type = "Open"


class CloseEvent(LiveMessage):
    """The stream is over: ``code`` and ``reason`` of the last close."""

    type = "Close"


class ReconnectEvent(LiveMessage):
    """The client reconnected after a drop: ``attempt``, ``resume_from`` (s), ``close_code``."""

    type = "Reconnect"


_MESSAGE_TYPES: dict[str, type[LiveMessage]] = {
    "Results": ResultsMessage, "Metadata": MetadataMessage, "UtteranceEnd": UtteranceEndMessage,
    "SpeechStarted": SpeechStartedMessage, "Error": ErrorMessage,
}


def parse_message(text: str | bytes) -> LiveMessage:
    """Turn one server frame into a typed message (unknown or non-JSON frames -> ``UnhandledMessage``).

    >>> parse_message('{"type": "SpeechStarted", "timestamp": 1.5}')
    <SpeechStartedMessage timestamp=1.50s>
    """
    raw = text.decode("utf-8", "replace") if isinstance(text, (bytes, bytearray)) else text
    try:
        data = json.loads(raw)
    except ValueError:
        return UnhandledMessage({"type": "Unhandled", "raw": raw[:1000]}, raw)
    if not isinstance(data, dict):
        return UnhandledMessage({"type": "Unhandled", "raw": raw[:1000]}, raw)
    return _MESSAGE_TYPES.get(data.get("type"), UnhandledMessage)(data, raw)


_event_name = event_namer("live", EVENTS, _EVENT_ALIASES)


# ================================================================= audio bookkeeping ===
class AudioLedger:
    """The raw audio sent so far, so a reconnect can re-send what no final result covers.

    With a raw encoding (``bytes_per_second`` known), byte offsets map to stream time: audio before
    the resume point is dropped as finals arrive. Otherwise (container audio) the whole stream is
    kept and re-sent from the start, and words already delivered are filtered out.
    """

    def __init__(self, bytes_per_second: float | None, frame_bytes: int = 1) -> None:
        self.bytes_per_second = bytes_per_second
        self.frame_bytes = max(1, frame_bytes)
        self.chunks: deque[tuple[int, bytes]] = deque()
        self.total = 0

    def append(self, data: bytes) -> None:
        self.chunks.append((self.total, data))
        self.total += len(data)

    def resume_point(self, covered: float) -> tuple[int, float]:
        """(byte offset, stream seconds) to resume from when ``covered`` seconds are final."""
        if not self.bytes_per_second:
            return 0, 0.0
        offset = int(covered * self.bytes_per_second + _EPS) // self.frame_bytes * self.frame_bytes
        offset = min(offset, self.total - self.total % self.frame_bytes)
        return offset, offset / self.bytes_per_second

    def trim(self, covered: float) -> None:
        """Forget audio entirely before the resume point of ``covered`` seconds."""
        if not self.bytes_per_second:
            return
        offset, _ = self.resume_point(covered)
        while self.chunks and self.chunks[0][0] + len(self.chunks[0][1]) <= offset:
            self.chunks.popleft()

    def since(self, offset: int) -> Iterator[bytes]:
        """The audio from byte ``offset`` on, in the chunks it was sent in."""
        for start, data in list(self.chunks):
            end = start + len(data)
            if end <= offset:
                continue
            yield data[offset - start:] if start < offset else data

    @property
    def held_bytes(self) -> int:
        return sum(len(d) for _, d in self.chunks)


def audio_format(options: Mapping[str, Any]) -> tuple[float | None, int]:
    """(bytes per second, bytes per sample frame) for raw-encoded options, else (None, 1).

    >>> audio_format({"encoding": "linear16", "sample_rate": 16000, "channels": 2})
    (64000.0, 4)
    """
    encoding = str(options.get("encoding") or "").lower()
    width = RAW_SAMPLE_BYTES.get(encoding)
    try:
        rate = int(options.get("sample_rate") or 0)
        channels = int(options.get("channels") or 1)
    except (TypeError, ValueError):
        return None, 1
    if not width or rate <= 0 or channels <= 0:
        return None, 1
    return float(width * rate * channels), width * channels


def dedupe(message: ResultsMessage, covered: float) -> ResultsMessage | None:
    """Drop the words of ``message`` already delivered in finals up to ``covered`` seconds.

    Returns the message unchanged when nothing overlaps, a trimmed copy when some words do,
    and None when it only repeats delivered audio.

    >>> m = ResultsMessage({"type": "Results", "is_final": True, "start": 0.0, "duration": 2.0,
    ...     "channel": {"alternatives": [{"transcript": "a b", "words": [
    ...         {"word": "a", "start": 0.1, "end": 0.5}, {"word": "b", "start": 1.2, "end": 1.6}]}]}})
    >>> [w["word"] for w in dedupe(m, 1.0).words], dedupe(m, 1.0).start
    (['b'], 1.0)
    """
    if covered <= message.start + _EPS:
        return message
    words = message.words
    keep = [w for w in words if (_num(w.get("start")) + _num(w.get("end"))) / 2 >= covered]
    if message.end <= covered + _EPS and not keep:
        return None
    if len(keep) == len(words) and message.start >= covered - 0.05:
        return message
    data = copy.deepcopy(message.json)
    end = message.end
    data["start"] = round(max(message.start, covered), 6)
    data["duration"] = round(max(0.0, end - data["start"]), 6)
    alt = data["channel"]["alternatives"][0]
    alt["words"] = copy.deepcopy(keep)
    alt["transcript"] = " ".join(str(w.get("punctuated_word") or w.get("word") or "") for w in keep)
    return ResultsMessage(data)


# ================================================================= the connection ===
class AsyncLiveConnection(EventHub):
    """A live transcription stream (asyncio). Made by ``await dg.listen.live(...)`` on ``AsyncClient``.

    Use it as an async context manager (``finish()`` on exit), by ``async for msg in conn``
    (every server message from the start, until the stream ends), or with ``conn.on(event, fn)``.
    """

    _KIND, _LOG, _EVENTS, _DEFAULT_KEEPALIVE = "live", log, EVENTS, DEFAULT_KEEPALIVE
    _event_name = staticmethod(_event_name)

    def __init__(
        self,
        config: Any,
        options: Mapping[str, Any] | None = None,
        *,
        keepalive: bool | float = True,
        reconnect: bool = True,
        max_reconnects: int = 5,
        open_timeout: float | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        options = {k: v for k, v in dict(options or {}).items() if v is not None}
        check_options(options, LIVE_OPTIONS, "live /v1/listen")
        self.options = options
        self._extra_query = dict(extra_query or {})
        self._extra_headers = dict(extra_headers or {})
        self.messages: list[LiveMessage] = []  #: every server message received (after shifting)
        self._init_hub(config, self.messages, keepalive=keepalive, open_timeout=open_timeout)
        self.reconnect_enabled = bool(reconnect)
        self.max_reconnects = int(max_reconnects)
        bps, frame = audio_format({**options, **self._extra_query})
        self._audio = AudioLedger(bps, frame)

        self.finals: list[ResultsMessage] = []  #: the final Results, in arrival order
        self.metadata: MetadataMessage | None = None
        self.error: ErrorMessage | None = None  #: the error the stream ended with, if any
        self.request_ids: list[str] = []  #: one per (re)connection
        self.reconnects = 0
        # state: new -> open <-> reconnecting -> closing -> closed
        self._covered: dict[int, float] = {}
        self._n_channels = 1
        self._offset = 0.0  # added to every timestamp of the current socket
        self._closing = False  # CloseStream sent (or to be re-sent after a reconnect)
        self._aborted = False
        self._fatal = False
        self._client_error = False
        self._open_event: LiveMessage | None = None
        self._close_event: LiveMessage | None = None
        self._lock: asyncio.Lock | None = None
        self._transcript_cache: tuple[int, int, Any] | None = None
        self.feeder: asyncio.Task | None = None  # the stream_file task, when there is one

    # ---- public API -----------------------------------------------------------------------
    def on(self, event: Any, handler: Callable[[LiveMessage], Any]) -> Callable:
        """Call ``handler(message)`` on ``event`` (Open, Results, Metadata, UtteranceEnd,
        SpeechStarted, Close, Error, Unhandled, Reconnect). Coroutine handlers are awaited.
        Handlers run on the connection's event loop; an exception in one is logged, not raised.
        An Open (or Close) handler added after the stream opened (or closed) is called once at once.
        Returns ``handler``."""
        name = self._subscribe(event, handler)
        past = self._open_event if name == "Open" else self._close_event if name == "Close" else None
        if past is not None and self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self._call(handler, name, past)))
        return handler

    async def start(self) -> "AsyncLiveConnection":
        """Open the WebSocket (raises :class:`dgnb.ApiError` when the handshake is refused)."""
        if self.state != "new":
            return self
        self._open_hub()
        self._lock = asyncio.Lock()
        self._ws = await self._open()
        self.state = "open"
        self._last_send = time.monotonic()
        await self._emit("Open", OpenEvent({"type": "Open", "request_id": self.request_ids[-1],
                                            "url": self.url}))
        self._spawn(self._run(), "reader")
        if self.keepalive_interval:
            self._spawn(self._keepalive(), "keepalive")
        return self

    async def send(self, data: bytes | bytearray | memoryview) -> None:
        """Send audio. It is also kept until a final result covers it, to re-send after a drop."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"send() takes audio bytes, not {type(data).__name__}")
        self._check_sendable()
        data = bytes(data)
        if not data:  # an empty frame would close the stream on the server; finish() does that
            return
        async with self._lock:  # type: ignore[union-attr]
            self._audio.append(data)
            await self._write(data)

    async def keep_alive(self) -> None:
        """Send ``KeepAlive`` (done automatically while idle unless ``keepalive=False``)."""
        await self._send_text({"type": "KeepAlive"})

    async def finalize(self) -> None:
        """Ask the server to finalize the audio sent so far (the result has ``from_finalize``)."""
        await self._send_text({"type": "Finalize"})

    async def finish(self, timeout: float | None = None) -> "Transcript":
        """No more audio: send ``CloseStream``, wait for the last results and ``Metadata``, and
        return the :class:`~dgnb.Transcript` of all finals. Raises :class:`LiveStreamError` if
        the stream ended in error. On a ``stream_file`` connection it stops the file first."""
        if self.state == "new":
            raise RuntimeError("the connection was never opened: await it or use 'async with'")
        if self.feeder is not None and not self.feeder.done() and asyncio.current_task() is not self.feeder:
            self.feeder.cancel()
        await self._close_stream()
        return await self.wait(timeout)

    async def _close_stream(self) -> None:
        """Send CloseStream once (re-sent after a reconnect)."""
        if not self._closing and self.state != "closed":
            self._closing = True
            async with self._lock:  # type: ignore[union-attr]
                if self.state == "open":
                    self.state = "closing"
                await self._write(json.dumps({"type": "CloseStream"}))

    async def wait(self, timeout: float | None = None) -> "Transcript":
        """Wait until the stream is over (e.g. a ``stream_file`` reached the end) and return its
        :class:`~dgnb.Transcript`. Raises :class:`LiveStreamError` if it ended in error."""
        if self._done is None:
            raise RuntimeError("the connection was never opened")
        try:
            await asyncio.wait_for(self._done.wait(), timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"the live stream did not end within {timeout} s") from None
        if self.error is not None:
            raise LiveStreamError(self.error.err_code, self.error.err_msg, self.transcript)
        return self.transcript

    async def close(self) -> None:
        """Close at once without waiting for results (no reconnect after this)."""
        self._aborted = True
        if self.feeder is not None and not self.feeder.done() and asyncio.current_task() is not self.feeder:
            self.feeder.cancel()
        await super().close()

    # ---- state -------------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self.state in ("open", "reconnecting", "closing")

    @property
    def transcript(self) -> "Transcript":
        """A :class:`~dgnb.Transcript` of the finals so far (its ``.words`` grows as results arrive)."""
        from .transcript import Transcript

        key = (len(self.finals), 1 if self.metadata is not None else 0)
        if self._transcript_cache is None or self._transcript_cache[:2] != key:
            messages = [m.json for m in self.finals] + ([self.metadata.json] if self.metadata else [])
            self._transcript_cache = (*key, Transcript.from_live(messages))
        return self._transcript_cache[2]

    @property
    def url(self) -> str:
        """The WebSocket URL with the query (it never holds credentials)."""
        return self._target()[0]

    def _target(self) -> tuple[str, dict[str, str]]:
        from ._websocket import target

        params = encode_params({**self.options, **self._extra_query})
        return target(self._config, "listen", "/v1/listen", params, self._extra_headers)

    def view(self, **kwargs: Any):
        """A :class:`dgnb.widgets.LiveTranscript` showing this stream as it goes."""
        from .widgets import LiveTranscript

        return LiveTranscript(self, **kwargs)

    def __repr__(self) -> str:
        n_words = sum(len(m.words) for m in self.finals)
        return (f"<{type(self).__name__} {self.state} finals={len(self.finals)} words={n_words} "
                f"reconnects={self.reconnects} url={self.url!r}>")

    # ---- internals: connecting -------------------------------------------------------------
    async def _open(self):
        """Open one socket; refusals raise ApiError and network failures ConnectionError."""
        from ._websocket import connect

        url, headers = self._target()
        ws = await connect(url, headers, label="WebSocket /v1/listen", open_timeout=self.open_timeout,
                           compression=None)
        self.request_ids.append(request_id_of(ws) or "")
        return ws

    async def _write(self, payload: bytes | str) -> None:
        """Send on the current socket if it is up; after a drop the reader re-sends (caller holds the lock)."""
        from websockets.exceptions import ConnectionClosed

        self._last_send = time.monotonic()
        ws = self._ws
        if ws is None or self.state == "reconnecting":
            return
        try:
            await ws.send(payload)
        except ConnectionClosed:
            pass  # the reader notices the drop and reconnects

    def _check_sendable(self) -> None:
        if self.state == "new":
            raise RuntimeError("the connection is not open yet: await it or use 'async with'")
        if self._closing or self.state == "closed" or self.done:
            raise RuntimeError(f"cannot send on a live stream that is {'finishing' if not self.done else 'closed'}")

    async def _send_text(self, message: dict) -> None:
        self._check_sendable()
        async with self._lock:  # type: ignore[union-attr]
            await self._write(json.dumps(message))

    # ---- internals: the reader and reconnects ----------------------------------------------
    async def _run(self) -> None:
        code, reason = None, ""
        try:
            while True:
                code, reason = await self._read(self._ws)
                if self._aborted or self._fatal:
                    break
                if code == 1000:
                    break
                if not self.reconnect_enabled or self.reconnects >= self.max_reconnects:
                    self._fail("CLIENT-DROPPED", f"the connection dropped (close code {code}"
                               f"{': ' + reason if reason else ''})" + ("" if not self.reconnect_enabled else
                               f" and {self.max_reconnects} reconnects were used up"))
                    break
                if not await self._reconnect(code):
                    break
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # never leave a caller waiting on a dead reader
            log.exception("live stream reader failed")
            self._fail("CLIENT-ERROR", f"{type(exc).__name__}: {exc}")
        finally:
            self._mark_closed(code, reason)
            if self._client_error and self.error is not None:
                await self._emit("Error", self.error)
            await self._emit("Close", CloseEvent({"type": "Close", "code": code, "reason": reason}))
            self._wake()

    async def _read(self, ws) -> tuple[int, str]:
        """Handle messages until the socket closes; returns (close code, reason) (1006 if abrupt)."""
        try:
            await read_frames(ws, self._handle)
        except OSError:
            pass
        code = ws.close_code if ws.close_code is not None else 1006
        return code, ws.close_reason or ""

    async def _reconnect(self, code: int) -> bool:
        """Open a new socket and re-send the audio no final covers. False if it cannot."""
        self.state = "reconnecting"
        last: Exception | None = None
        while self.reconnects < self.max_reconnects and not self._aborted:
            self.reconnects += 1
            await asyncio.sleep(min(2.0, 0.1 * 2 ** (self.reconnects - 1)))
            async with self._lock:  # type: ignore[union-attr]
                try:
                    ws = await self._open()
                except ApiError as exc:
                    last = exc
                    if exc.status_code not in (408, 429) and exc.status_code < 500:
                        break  # credentials or options refused: retrying cannot help
                    continue
                except ConnectionError as exc:
                    last = exc
                    continue
                covered = self._covered_until()
                offset, resume = self._audio.resume_point(covered)
                self._offset = resume
                self._ws = ws
                self.state = "closing" if self._closing else "open"
                sent = 0
                for chunk in self._audio.since(offset):
                    await self._write(chunk)
                    sent += len(chunk)
                if self._closing:
                    await self._write(json.dumps({"type": "CloseStream"}))
            log.info("live stream reconnected (attempt %d) after close code %s; re-sent %d bytes from %.3f s",
                     self.reconnects, code, sent, resume)
            await self._emit("Reconnect", ReconnectEvent({
                "type": "Reconnect", "attempt": self.reconnects, "close_code": code, "resume_from": resume,
                "resent_bytes": sent, "request_id": self.request_ids[-1]}))
            return True
        self._fail("CLIENT-RECONNECT", f"the connection dropped (close code {code}) and could not be reopened"
                   + (f": {last}" if last else ""))
        return False

    def _covered_until(self) -> float:
        """Stream time up to which every channel has its final results."""
        return min(self._covered.get(c, 0.0) for c in range(max(1, self._n_channels)))

    def _fail(self, err_code: str, err_msg: str) -> None:
        if self.error is None:
            self.error = ErrorMessage({"type": "Error", "err_code": err_code, "err_msg": err_msg})
            self._client_error = True

    async def _handle(self, frame: str | bytes) -> None:
        message = parse_message(frame).shifted(self._offset)
        if self.request_ids and not self.request_ids[-1]:  # no dg-request-id header in the handshake
            rid = message.json.get("request_id") or (message.json.get("metadata") or {}).get("request_id")
            if isinstance(rid, str):
                self.request_ids[-1] = rid
        if isinstance(message, ResultsMessage):
            self._n_channels = max(self._n_channels, message.channels)
            covered = self._covered.get(message.channel, 0.0)
            message = dedupe(message, covered) if covered > 0 else message
            if message is None:
                return
            if message.is_final:
                self.finals.append(message)
                self._covered[message.channel] = max(covered, message.end)
                self._audio.trim(self._covered_until())
        elif isinstance(message, MetadataMessage):
            self.metadata = message
        elif isinstance(message, ErrorMessage):
            self.error = message
            self._fatal = True  # the server explains why it closes: do not reconnect into it
        await self._record(message, message.type if message.type in EVENTS else "Unhandled")

    async def _ping(self) -> bool:
        """KeepAlive while open; while reconnecting or finishing the idle clock just restarts."""
        if self.state == "open" and not self._closing:
            async with self._lock:  # type: ignore[union-attr]
                await self._write(json.dumps({"type": "KeepAlive"}))
        else:
            self._last_send = time.monotonic()
        return True

    async def _emit(self, event: str, message: LiveMessage) -> None:
        if event == "Open":
            self._open_event = message
        elif event == "Close":
            self._close_event = message
        await super()._emit(event, message)


# ================================================================= the sync wrapper ===
class LiveConnection(SyncEventStream, wraps=AsyncLiveConnection,
                     delegate=("on", "off", "messages", "finals", "metadata", "error", "reconnects", "request_ids",
                               "state", "done", "is_open", "url", "close_code", "close_reason", "options",
                               "transcript"),
                     blocking=("keep_alive", "finalize", "finish", "wait")):
    """The synchronous live stream: the same object as :class:`AsyncLiveConnection`, run on a
    background event-loop thread. Made by ``dg.listen.live(...)`` on ``Client``; it is open when
    returned, and a notebook cell returns at once while the stream goes on.

    Use it as a context manager (``finish()`` on exit), by ``for msg in conn`` (every message
    from the start until the stream ends), or with ``conn.on(event, fn)`` (handlers run on the
    background thread). ``finish()`` and ``wait()`` return the Transcript, as on the async side.
    """

    def send(self, data: bytes | bytearray | memoryview, timeout: float | None = None) -> None:
        """Send audio (blocks only while the socket's write buffer is full)."""
        self._run(self._conn.send(data), timeout)

    def close(self) -> None:
        """Close at once without waiting for results."""
        if not self._conn.done or self._conn.state != "closed":
            self._run(self._conn.close())

    def view(self, **kwargs: Any):
        """A :class:`dgnb.widgets.LiveTranscript` showing this stream as it goes."""
        from .widgets import LiveTranscript

        return LiveTranscript(self, **kwargs)


# ================================================================= sources ===
def _decode_linear16(path_or_bytes: str | os.PathLike | bytes) -> tuple[bytes, int, int]:
    """Decode any audio file to (linear16 bytes, sample_rate, channels): WAV via the stdlib,
    anything else via PyAV when installed, else the ffmpeg command."""
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    info = parse_wav_header(data[:1 << 16])
    if info and info.encoding == "linear16":
        with wave.open(io.BytesIO(data)) as w:
            return w.readframes(w.getnframes()), w.getframerate(), w.getnchannels()
    try:
        import av  # noqa: F401  (installed with dgnb[local])
    except ImportError:
        av = None
    if av is not None:
        try:
            with av.open(io.BytesIO(data)) as container:
                stream = container.streams.audio[0]
                rate = stream.rate
                resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
                out = []
                for frame in container.decode(stream):
                    for f in resampler.resample(frame):
                        out.append(f.to_ndarray().tobytes())
                for f in resampler.resample(None):
                    out.append(f.to_ndarray().tobytes())
                return b"".join(out), rate, 1
        except Exception as exc:
            raise ValueError(f"could not decode the audio: {type(exc).__name__}: {exc}") from None
    import shutil
    import subprocess

    if not shutil.which("ffmpeg"):
        raise ValueError("cannot decode this audio format: install PyAV (pip install av) or ffmpeg, "
                         "or pass encoding=... to send it raw")
    proc = subprocess.run(["ffmpeg", "-v", "error", "-i", "pipe:0", "-f", "s16le", "-ac", "1", "-ar", "16000", "pipe:1"],
                          input=data, capture_output=True)
    if proc.returncode:
        raise ValueError(f"ffmpeg could not decode the audio: {proc.stderr.decode(errors='replace')[-300:]}")
    return proc.stdout, 16000, 1


def _prepare_source(source: Any, options: dict) -> tuple[bytes | None, Any]:
    """(all bytes to stream, or None) and (an iterator / async iterator), updating ``options``
    with encoding/sample_rate/channels for decoded or WAV audio."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"audio file not found: {str(path)!r}" if not path.exists()
                                    else f"not a regular file: {str(path)!r}")
        source = path.read_bytes()
    elif hasattr(source, "read"):
        data = source.read()
        if isinstance(data, str):
            raise TypeError("the file object is open in text mode; open it with 'rb'")
        source = bytes(data)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data:
            raise ValueError("the audio is empty")
        if options.get("encoding"):  # declared: send it raw (a WAV header is skipped)
            info = parse_wav_header(data[:1 << 16])
            if info:
                options.setdefault("sample_rate", info.sample_rate)
                if info.channels != 1:
                    options.setdefault("channels", info.channels)
                data = data[info.data_offset:]
            return data, None
        pcm, rate, channels = _decode_linear16(data)
        options.update(encoding="linear16", sample_rate=rate)
        if channels != 1:
            options["channels"] = channels
        return pcm, None
    if hasattr(source, "__aiter__") or isinstance(source, Iterable):
        return None, source
    raise TypeError(f"cannot stream audio from {type(source).__name__}: pass a path, bytes, a binary file "
                    "object, or an iterator / async iterator of bytes")


async def _feed(conn: AsyncLiveConnection, data: bytes | None, chunks: Any, realtime: bool, chunk_ms: float) -> None:
    """Send the source (paced at real time when asked), then ``CloseStream``."""
    bps, frame = conn._audio.bytes_per_second, conn._audio.frame_bytes
    try:
        if data is not None:
            size = int(bps * chunk_ms / 1000) // frame * frame if bps else 3200
            size = max(size, frame)
            t0 = time.monotonic()
            for i in range(0, len(data), size):
                await conn.send(data[i:i + size])
                if realtime and bps:
                    ahead = t0 + (i + size) / bps - time.monotonic()
                    if ahead > 0:
                        await asyncio.sleep(ahead)
                else:
                    await asyncio.sleep(0)
        elif hasattr(chunks, "__aiter__"):
            async for chunk in chunks:
                await conn.send(chunk)
        else:
            iterator = iter(chunks)
            sentinel = object()
            while True:
                chunk = await asyncio.to_thread(next, iterator, sentinel)
                if chunk is sentinel:
                    break
                await conn.send(chunk)
        await conn._close_stream()
    except asyncio.CancelledError:
        raise
    except RuntimeError:
        if not conn.done:
            raise
    except Exception as exc:
        log.exception("streaming the source failed")
        conn._fail("CLIENT-SOURCE", f"reading the audio source failed: {type(exc).__name__}: {exc}")
        await conn.close()


# ================================================================= entry points ===
def _make(client: Any, options: dict, kwargs: dict) -> AsyncLiveConnection:
    return AsyncLiveConnection(client._config, options, **kwargs)


def live(
    client: Any,
    *,
    keepalive: bool | float = True,
    reconnect: bool = True,
    max_reconnects: int = 5,
    open_timeout: float | None = None,
    extra_query: Mapping[str, Any] | None = None,
    extra_headers: Mapping[str, str] | None = None,
    **options: Any,
) -> "LiveConnection | AsyncLiveConnection":
    """Open a live stream (``dg.listen.live(**options)``).

    On ``Client`` it returns an open :class:`LiveConnection`; on ``AsyncClient`` an
    :class:`AsyncLiveConnection` to ``await`` or use with ``async with``. Options are live
    /v1/listen's query parameters (``model``, ``encoding``, ``sample_rate``, ``interim_results``,
    ``utterance_end_ms``, ...). A refused handshake raises :class:`dgnb.ApiError`.
    """
    conn = _make(client, options, dict(keepalive=keepalive, reconnect=reconnect, max_reconnects=max_reconnects,
                                       open_timeout=open_timeout, extra_query=extra_query,
                                       extra_headers=extra_headers))
    if client.is_async:
        return conn
    _loop.run(conn.start())
    return LiveConnection(conn)


class _StartingStream:
    """``await dg.listen.stream_file(...)`` on AsyncClient: opens, starts the feeder, returns the connection."""

    def __init__(self, conn: AsyncLiveConnection, data: bytes | None, chunks: Any, realtime: bool, chunk_ms: float):
        self._args = (conn, data, chunks, realtime, chunk_ms)

    async def _start(self) -> AsyncLiveConnection:
        conn, data, chunks, realtime, chunk_ms = self._args
        await conn.start()
        conn.feeder = asyncio.create_task(_feed(conn, data, chunks, realtime, chunk_ms), name="dgnb-live-feeder")
        return conn

    def __await__(self):
        return self._start().__await__()

    async def __aenter__(self) -> AsyncLiveConnection:
        return await self._start()

    async def __aexit__(self, exc_type, exc, tb) -> None:
        conn = self._args[0]
        if exc_type is None:
            await conn.wait()
        else:
            await conn.close()


def stream_file(
    client: Any,
    source: Any,
    *,
    realtime: bool = True,
    chunk_ms: float = 100,
    keepalive: bool | float = True,
    reconnect: bool = True,
    max_reconnects: int = 5,
    open_timeout: float | None = None,
    extra_query: Mapping[str, Any] | None = None,
    extra_headers: Mapping[str, str] | None = None,
    **options: Any,
) -> "LiveConnection | _StartingStream":
    """Stream audio to live /v1/listen in ``chunk_ms`` chunks (``dg.listen.stream_file(path, ...)``).

    ``source``: a path, bytes or binary file object (decoded and sent as linear16, or sent raw
    when ``encoding`` is given; a WAV header is then skipped), or an iterator / async iterator of
    bytes (sent as they come; declare ``encoding``/``sample_rate`` for raw audio). ``realtime``
    paces sending at the audio's own speed. Returns at once with the connection while the audio
    streams; ``conn.wait()`` returns the Transcript at the end (``await`` both on AsyncClient).
    """
    if chunk_ms <= 0:
        raise ValueError("chunk_ms must be positive")
    options = {k: v for k, v in options.items() if v is not None}
    check_options(options, LIVE_OPTIONS, "live /v1/listen")
    data, chunks = _prepare_source(source, options)
    conn = _make(client, options, dict(keepalive=keepalive, reconnect=reconnect, max_reconnects=max_reconnects,
                                       open_timeout=open_timeout, extra_query=extra_query,
                                       extra_headers=extra_headers))
    starter = _StartingStream(conn, data, chunks, realtime, chunk_ms)
    if client.is_async:
        return starter
    _loop.run(starter._start())
    return LiveConnection(conn)
