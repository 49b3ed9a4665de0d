"""Live speech-to-text over Deepgram's WebSocket ``/v1/listen``: a client that loses nothing.

One asyncio implementation (:class:`AsyncLiveConnection`, on the ``websockets`` library) holds the
protocol and the state; the synchronous :class:`LiveConnection` runs it on a background event-loop
thread (:mod:`dgnb._core.loop`), so a notebook cell gets its handle back while the stream goes on.

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
import json
import logging
import time
from typing import TYPE_CHECKING, Any, Callable, Mapping

from ..._core import loop as _loop
from ..._core.stream import EventHub, SyncEventStream, event_namer, read_frames, request_id_of
from ..._core.params import check_options, encode_params
from ..._core.errors import ApiError, ConnectionError, DgnbError
from ...protocol.listen import LIVE_OPTIONS
from .messages import (  # noqa: F401  (the public names of dgnb.live)
    EVENT_ALIASES, EVENTS, CloseEvent, ErrorMessage, LiveMessage, MetadataMessage, OpenEvent, ReconnectEvent,
    ResultsMessage, SpeechStartedMessage, UnhandledMessage, UtteranceEndMessage, parse_message,
)
from .resume import AudioLedger, audio_format, dedupe  # noqa: F401
from .sources import feed, prepare_source

if TYPE_CHECKING:
    from ...results.transcript import Transcript

log = logging.getLogger("dgnb.live")

DEFAULT_KEEPALIVE = 4.0  # seconds; Deepgram closes after ~10 s without audio or a text message


class LiveStreamError(DgnbError):
    """The stream ended in error (a server ``Error`` message, or a drop it could not recover from).

    ``err_code``/``err_msg`` describe it; ``transcript`` holds the finals received before it.
    """

    def __init__(self, err_code: str | None, err_msg: str, transcript: "Transcript | None" = None):
        self.err_code, self.err_msg, self.transcript = err_code, err_msg, transcript
        super().__init__(f"{err_code}: {err_msg}" if err_code else err_msg)


# ================================================================= messages and events ===


_event_name = event_namer("live", EVENTS, EVENT_ALIASES)


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
        self.reconnects = 0  #: reconnections over the stream's life
        self._attempts = 0  # attempts in the current outage: a final after a reconnect ends the outage
        # self.state moves as EventHub.TRANSITIONS allows: new -> open <-> reconnecting, closing -> closed
        self._covered: dict[int, float] = {}
        self._n_channels = 1
        self._offset = 0.0  # added to every timestamp of the current socket
        self._closing = False  # CloseStream sent (re-sent after a reconnect): the one fact state cannot hold
        self._ending: str | None = None  # why no reconnect may follow: "aborted", "server error", "client error"
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
        self._enter("open")
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

    async def configure(self, keyterms=None, **features: bool) -> None:
        """Change the stream mid-way (``Configure``): ``keyterms`` replaces the keyterms (``[]`` clears them,
        None keeps them), and ``punctuate=True``, ``numerals=True``... switch formatting for what is read next.
        The server answers with a ``ConfigureSuccess`` or ``ConfigureFailure`` event.

        >>> conn.configure(keyterms=["Acme", "Deepgram"], numerals=True)   # doctest: +SKIP
        """
        message: dict = {"type": "Configure"}
        if keyterms is not None:
            message["keyterms"] = [keyterms] if isinstance(keyterms, str) else list(keyterms)
        if features:
            message["features"] = {name: bool(on) for name, on in features.items()}
        await self._send_text(message)

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
                    self._enter("closing")
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
        self._ending = self._ending or "aborted"
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
        from ...results.transcript import Transcript

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
        from ..._core.websocket import target

        params = encode_params({**self.options, **self._extra_query})
        return target(self._config, "listen", "/v1/listen", params, self._extra_headers)

    def view(self, **kwargs: Any):
        """A :class:`dgnb.widgets.LiveTranscript` showing this stream as it goes."""
        from ...notebook.widgets.live_transcript import LiveTranscript

        return LiveTranscript(self, **kwargs)

    def __repr__(self) -> str:
        n_words = sum(len(m.words) for m in self.finals)
        return (f"<{type(self).__name__} {self.state} finals={len(self.finals)} words={n_words} "
                f"reconnects={self.reconnects} url={self.url!r}>")

    # ---- internals: connecting -------------------------------------------------------------
    async def _open(self):
        """Open one socket; refusals raise ApiError and network failures ConnectionError."""
        from ..._core.websocket import connect

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
                if self._ending:
                    break
                if code == 1000:
                    break
                if not self.reconnect_enabled or self._attempts >= self.max_reconnects:
                    self._fail("CLIENT-DROPPED", f"the connection dropped (close code {code}"
                               f"{': ' + reason if reason else ''})" + ("" if not self.reconnect_enabled else
                               f" {self.max_reconnects} times running without a final result between"))
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
            if self._ending == "client error":  # the server's own Error was emitted as it arrived
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
        """Open a new socket and re-send the audio no final covers. False if it cannot.

        The budget is per outage: ``max_reconnects`` attempts running, backing off 0.1 s, 0.2 s ... 2 s; a final
        result on a reopened socket ends the outage, so a long stream survives drops spread over hours.
        """
        self._enter("reconnecting")
        last: Exception | None = None
        while self._attempts < self.max_reconnects and not self._ending:
            self._attempts += 1
            self.reconnects += 1
            await asyncio.sleep(min(2.0, 0.1 * 2 ** (self._attempts - 1)))
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
                self._enter("closing" if self._closing else "open")
                sent = 0
                for chunk in self._audio.since(offset):
                    await self._write(chunk)
                    sent += len(chunk)
                if self._closing:
                    await self._write(json.dumps({"type": "CloseStream"}))
            log.info("live stream reconnected (attempt %d of this outage) after close code %s; re-sent %d bytes "
                     "from %.3f s", self._attempts, code, sent, resume)
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
            self._ending = "client error"

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
                self._attempts = 0  # the stream delivers again: a later drop starts a new outage
                self.finals.append(message)
                self._covered[message.channel] = max(covered, message.end)
                self._audio.trim(self._covered_until())
        elif isinstance(message, MetadataMessage):
            self.metadata = message
        elif isinstance(message, ErrorMessage):
            self.error = message
            self._ending = "server error"  # the server explains why it closes: do not reconnect into it
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
                     blocking=("keep_alive", "finalize", "configure", "finish", "wait")):
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
        from ...notebook.widgets.live_transcript import LiveTranscript

        return LiveTranscript(self, **kwargs)


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
        conn.feeder = asyncio.create_task(feed(conn, data, chunks, realtime, chunk_ms), name="dgnb-live-feeder")
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
    data, chunks = prepare_source(source, options)
    conn = _make(client, options, dict(keepalive=keepalive, reconnect=reconnect, max_reconnects=max_reconnects,
                                       open_timeout=open_timeout, extra_query=extra_query,
                                       extra_headers=extra_headers))
    starter = _StartingStream(conn, data, chunks, realtime, chunk_ms)
    if client.is_async:
        return starter
    _loop.run(starter._start())
    return LiveConnection(conn)
