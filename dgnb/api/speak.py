"""Text-to-speech: ``/v1/speak`` over REST and WebSocket.

>>> a = dg.speak.generate("Hello, world.", model="aura-2-thalia-en")     # doctest: +SKIP
>>> dg.speak.save("long.mp3", long_text, encoding="mp3")                 # streamed to disk  # doctest: +SKIP
>>> with dg.speak.live(encoding="linear16", sample_rate=24000) as tts:   # doctest: +SKIP
...     tts.send_text("Hello. ")
...     tts.send_text("How are you?")
...     tts.flush(wait=True)
...     audio = tts.finish()

The WebSocket protocol is handled once, without I/O, by :class:`SpeakProtocol`; :class:`AsyncSpeakLive`
runs it on the ``websockets`` asyncio client and :class:`SpeakLive` (sync) runs that same object on
a background event-loop thread.
"""
from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Generator, Mapping

from .._core.http import Call, Read
from .namespace import Namespace, endpoint
from .._core.params import check_options, encode_params
from .._core.stream import Lifecycle, SyncStream, call_handler, read_frames, request_id_of
from .._core.errors import DgnbError
from ..results.speech_audio import DEFAULT_RATES, SpeechAudio


__all__ = [
    "Speak", "SpeakLive", "AsyncSpeakLive", "SpeakProtocol", "SPEAK_OPTIONS", "SPEAK_LIVE_OPTIONS",
    "Open", "AudioData", "Metadata", "Flushed", "Cleared", "Warning", "Close", "Error",
]

#: /v1/speak REST query options.
SPEAK_OPTIONS = frozenset({"model", "encoding", "container", "sample_rate", "bit_rate", "speed", "callback",
                           "callback_method", "mip_opt_out", "tag"})
#: /v1/speak WebSocket query options.
SPEAK_LIVE_OPTIONS = frozenset({"model", "encoding", "sample_rate", "mip_opt_out", "speed"})
MAX_CHARACTERS = 2000


def _check_text(text: Any) -> str:
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    if not text.strip():
        raise ValueError("text is empty: nothing to speak")
    return text


# =========================================================================== REST

class Speak(Namespace):
    """Text-to-speech. ``generate`` returns a :class:`dgnb.SpeechAudio`; ``save`` streams to a file;
    ``live`` opens the streaming WebSocket. On ``AsyncClient`` they are awaitable."""

    name = "speak"

    def _call(self, text: str, options: Mapping[str, Any], *, timeout: float | None, extra_query, extra_headers,
              stream: bool = False) -> Call:
        check_options(options, SPEAK_OPTIONS, "/v1/speak")
        headers = {"Content-Type": "application/json", "Accept": "*/*", **dict(extra_headers or {})}
        params = encode_params({**options, **(extra_query or {})})
        return Call("POST", "/v1/speak", "speak", params=params, json={"text": _check_text(text)},
                    headers=headers, timeout=timeout, stream=stream)

    @staticmethod
    def _describe(options: Mapping[str, Any]) -> dict:
        enc = str(options.get("encoding") or "linear16").lower()
        rate = options.get("sample_rate")
        return {"encoding": enc, "container": options.get("container"),
                "sample_rate": int(rate) if rate else DEFAULT_RATES.get(enc)}

    @endpoint
    def generate(
        self,
        text: str,
        *,
        timeout: float | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Generator[Any, Any, SpeechAudio]:
        """Speak ``text``; returns a :class:`SpeechAudio` held in memory.

        Options are Deepgram's /v1/speak query parameters: ``model`` (``aura-2-thalia-en``...),
        ``encoding`` (linear16, mulaw, alaw, mp3, opus, flac, aac), ``container`` (wav, none, ogg),
        ``sample_rate``, ``bit_rate``, ``speed``, ``tag``...

        >>> dg.speak.generate("Hello, world.", encoding="mp3").duration   # doctest: +SKIP
        """
        call = self._call(text, options, timeout=timeout, extra_query=extra_query, extra_headers=extra_headers)
        response = yield from self._send(call)
        return SpeechAudio(response.content, headers=dict(response.headers), text=text, **self._describe(options))

    @endpoint
    def save(
        self,
        path: "str | os.PathLike[str]",
        text: str,
        *,
        timeout: float | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Generator[Any, Any, SpeechAudio]:
        """Speak ``text`` into the file ``path``, streaming the reply to disk chunk by chunk (never held
        whole in memory). Returns a :class:`SpeechAudio` backed by the file (awaitable on ``AsyncClient``).

        >>> dg.speak.save("hello.wav", "Hello, world.")   # doctest: +SKIP
        """
        target = Path(path)
        call = self._call(text, options, timeout=timeout, extra_query=extra_query, extra_headers=extra_headers,
                          stream=True)
        response = yield from self._send(call)
        with _Part(target) as f:
            yield Read(response, sink=f.write)
        return SpeechAudio(path=target, headers=dict(response.headers), text=text, **self._describe(options))

    # ---- WebSocket
    def live(self, *, collect: bool = True, extra_query: Mapping[str, Any] | None = None,
             extra_headers: Mapping[str, str] | None = None, open_timeout: float | None = None,
             **options: Any) -> "SpeakLive | AsyncSpeakLive":
        """Open the streaming text-to-speech WebSocket.

        On ``Client`` returns a connected :class:`SpeakLive`; on ``AsyncClient`` an :class:`AsyncSpeakLive`
        to ``await`` or use with ``async with``. Options: ``model``, ``encoding`` (linear16, mulaw, alaw),
        ``sample_rate``. With ``collect`` (default) the audio is kept for :meth:`AsyncSpeakLive.audio`.
        Handshake errors raise :class:`dgnb.ApiError` (status, err_msg).
        """
        check_options(options, SPEAK_LIVE_OPTIONS, "the /v1/speak WebSocket")
        url, headers = self._websocket("/v1/speak", encode_params({**options, **(extra_query or {})}), extra_headers)
        enc = str(options.get("encoding") or "linear16").lower()
        rate = int(options["sample_rate"]) if options.get("sample_rate") else DEFAULT_RATES.get(enc, 24000)
        conn = AsyncSpeakLive(url, headers, encoding=enc, sample_rate=rate, collect=collect,
                              open_timeout=open_timeout if open_timeout is not None else self._client._config.timeout)
        if self._is_async:
            return conn
        return SpeakLive(conn)


class _Part:
    """Write to ``<path>.part`` and move it into place only when the whole body arrived."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.part = path.with_name(path.name + ".part")

    def __enter__(self):
        self.file = open(self.part, "wb")
        return self.file

    def __exit__(self, exc_type, *exc: Any) -> None:
        self.file.close()
        if exc_type is None:
            os.replace(self.part, self.path)
        else:
            try:
                os.unlink(self.part)
            except OSError:
                pass


# =========================================================================== WebSocket protocol (sans-I/O)

@dataclass
class Open:
    """The connection is open. ``request_id`` from the handshake's dg-request-id header."""

    request_id: str | None = None


@dataclass
class AudioData:
    """A chunk of audio (raw ``encoding`` at ``sample_rate``)."""

    data: bytes


@dataclass
class Metadata:
    request_id: str | None = None
    model_name: str | None = None
    model_version: str | None = None
    model_uuid: str | None = None
    raw: dict = field(default_factory=dict, repr=False)


@dataclass
class Flushed:
    sequence_id: int


@dataclass
class Cleared:
    sequence_id: int


@dataclass
class Warning:  # noqa: A001 - Deepgram's message name
    description: str
    code: str | None = None


@dataclass
class Close:
    code: int | None = None
    reason: str = ""


@dataclass
class Error:
    message: str
    err_code: str | None = None
    exception: BaseException | None = field(default=None, repr=False)


EVENT_TYPES = {c.__name__: c for c in (Open, AudioData, Metadata, Flushed, Cleared, Warning, Close, Error)}


class SpeakProtocol:
    """Deepgram's /v1/speak WebSocket messages, both ways, with no I/O.

    ``speak/flush/clear/close`` return the text frame to send; :meth:`receive` turns one frame from
    the server into events and keeps the state (metadata, counts, collected audio).
    """

    def __init__(self, collect: bool = True) -> None:
        self.collect = collect
        self.chunks: list[bytes] = []
        self.metadata: Metadata | None = None
        self.flushes_sent = self.flushed = 0
        self.clears_sent = self.cleared = 0
        self.audio_bytes = 0
        self.characters = 0

    def speak(self, text: str) -> str:
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, not {type(text).__name__}")
        if len(text) > MAX_CHARACTERS:
            raise ValueError(f"one Speak message may hold at most {MAX_CHARACTERS} characters; send the text in parts")
        self.characters += len(text)
        return json.dumps({"type": "Speak", "text": text})

    def flush(self) -> str:
        self.flushes_sent += 1
        return json.dumps({"type": "Flush"})

    def clear(self) -> str:
        self.clears_sent += 1
        return json.dumps({"type": "Clear"})

    def close(self) -> str:
        return json.dumps({"type": "Close"})

    def receive(self, frame: "str | bytes") -> list:
        if isinstance(frame, (bytes, bytearray, memoryview)):
            data = bytes(frame)
            self.audio_bytes += len(data)
            if self.collect:
                self.chunks.append(data)
            return [AudioData(data)]
        try:
            msg = json.loads(frame)
        except ValueError:
            return [Error(f"the server sent a text frame that is not JSON: {frame[:200]!r}")]
        kind = msg.get("type") if isinstance(msg, dict) else None
        if kind == "Metadata":
            self.metadata = Metadata(msg.get("request_id"), msg.get("model_name"), msg.get("model_version"),
                                     msg.get("model_uuid"), raw=msg)
            return [self.metadata]
        if kind == "Flushed":
            self.flushed += 1
            return [Flushed(int(msg.get("sequence_id", self.flushed - 1)))]
        if kind == "Cleared":
            self.cleared += 1
            return [Cleared(int(msg.get("sequence_id", self.cleared - 1)))]
        if kind == "Warning":
            return [Warning(str(msg.get("description") or msg.get("warn_msg") or ""), msg.get("code") or msg.get("warn_code"))]
        if kind == "Error":
            return [Error(str(msg.get("description") or msg.get("err_msg") or msg), msg.get("code") or msg.get("err_code"))]
        return [Warning(f"unknown message from the server: {kind!r}", "UNKNOWN_MESSAGE")]


# =========================================================================== async connection

Handler = Callable[[Any], Any]


class AsyncSpeakLive(Lifecycle):
    """The /v1/speak WebSocket on asyncio. Use ``async with dg.speak.live(...) as tts:`` or ``await``.

    Events (``Open, AudioData, Metadata, Flushed, Cleared, Warning, Close, Error``) go to handlers
    registered with :meth:`on` (sync or async functions) and to ``async for event in tts``.
    """

    _EXIT = ("finish", "abort")

    def __init__(self, url: str, headers: Mapping[str, str], *, encoding: str = "linear16", sample_rate: int = 24000,
                 collect: bool = True, open_timeout: float = 60.0) -> None:
        self._url, self._headers = url, dict(headers)
        self.encoding, self.sample_rate = encoding, sample_rate
        self.protocol = SpeakProtocol(collect)
        self.open_timeout = open_timeout
        self._handlers: dict[type, list[Handler]] = {}
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._events: asyncio.Queue | None = None
        self._changed: asyncio.Condition | None = None
        self.request_id: str | None = None
        self.closed: Close | None = None
        self._iter_done = False

    # ---- handlers
    def on(self, event: "type | str", handler: Handler) -> Handler:
        """Call ``handler(event)`` for every event of that type (class or name, e.g. ``"AudioData"``)."""
        cls = EVENT_TYPES[event] if isinstance(event, str) else event
        if cls not in EVENT_TYPES.values():
            raise ValueError(f"unknown event {event!r}; one of {', '.join(EVENT_TYPES)}")
        self._handlers.setdefault(cls, []).append(handler)
        return handler

    async def _emit(self, event: Any) -> None:
        for handler in self._handlers.get(type(event), []):
            exc = await call_handler(handler, event)
            if exc is not None and not isinstance(event, Error):  # reported as an Error event, never raised
                await self._emit(Error(f"{type(event).__name__} handler failed: {type(exc).__name__}: {exc}",
                                       exception=exc))
        if self._events is not None:
            self._events.put_nowait(event)
        async with self._changed:  # type: ignore[union-attr]
            self._changed.notify_all()  # type: ignore[union-attr]

    # ---- lifecycle
    async def start(self) -> "AsyncSpeakLive":
        from .._core.websocket import connect

        self._events = asyncio.Queue()
        self._changed = asyncio.Condition()
        self._ws = await connect(self._url, self._headers, label="WebSocket /v1/speak", open_timeout=self.open_timeout)
        self.request_id = request_id_of(self._ws)
        await self._emit(Open(self.request_id))
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aenter__(self) -> "AsyncSpeakLive":
        return self if self._ws is not None else await self.start()

    async def _read(self) -> None:
        ws = self._ws
        try:
            await read_frames(ws, self._receive)
        except Exception as exc:
            await self._emit(Error(f"{type(exc).__name__}: {exc}", exception=exc))
        code, reason = ws.close_code, ws.close_reason or ""
        self.closed = Close(code, reason)
        if code not in (1000, 1001):
            await self._emit(Error(f"the connection closed abnormally: code {code}" + (f" ({reason})" if reason else "")))
        await self._emit(self.closed)

    async def _receive(self, frame: "str | bytes") -> None:
        for event in self.protocol.receive(frame):
            await self._emit(event)

    def _require_open(self) -> None:
        if self._ws is None:
            raise DgnbError("the connection is not open: await it or use 'async with'")
        if self.closed is not None:
            raise DgnbError("the connection is closed")

    async def _send(self, frame: str) -> None:
        self._require_open()
        from websockets.exceptions import ConnectionClosed

        try:
            await self._ws.send(frame)  # type: ignore[union-attr]
        except ConnectionClosed:
            raise DgnbError("the connection is closed") from None

    async def _wait(self, predicate: Callable[[], bool], timeout: float | None, what: str) -> None:
        async def waiter():
            async with self._changed:  # type: ignore[union-attr]
                await self._changed.wait_for(lambda: predicate() or self.closed is not None)  # type: ignore[union-attr]
        try:
            await asyncio.wait_for(waiter(), timeout)
        except asyncio.TimeoutError:
            raise DgnbError(f"no {what} from the server within {timeout:g} s") from None
        if not predicate():
            raise DgnbError(f"the connection closed before {what}")

    # ---- messages
    async def send_text(self, text: str) -> None:
        """Queue ``text`` for speech (complete sentences are spoken as soon as they are complete)."""
        await self._send(self.protocol.speak(text))

    async def flush(self, *, wait: bool = False, timeout: float | None = None) -> None:
        """Speak all buffered text now; with ``wait``, return once the server says ``Flushed``."""
        await self._send(self.protocol.flush())
        target = self.protocol.flushes_sent
        if wait:
            await self._wait(lambda: self.protocol.flushed >= target, timeout, "Flushed")

    async def clear(self, *, wait: bool = False, timeout: float | None = None) -> None:
        """Drop buffered text and audio not yet sent; with ``wait``, return once ``Cleared`` arrives."""
        await self._send(self.protocol.clear())
        target = self.protocol.clears_sent
        if wait:
            await self._wait(lambda: self.protocol.cleared >= target, timeout, "Cleared")

    async def finish(self, timeout: float | None = None) -> SpeechAudio | None:
        """Send ``Close`` (the server speaks what is buffered, then closes); wait for the close.
        Returns the collected audio (``None`` when ``collect=False``)."""
        if self._ws is not None and self.closed is None:
            try:
                await self._send(self.protocol.close())
            except DgnbError:
                pass
            try:
                await asyncio.wait_for(asyncio.shield(self._reader), timeout)  # type: ignore[arg-type]
            except asyncio.TimeoutError:
                await self.abort()
        if self._ws is not None:
            await self._ws.close()
        return self.audio() if self.protocol.collect else None

    async def abort(self) -> None:
        """Close the socket now, without waiting for pending audio."""
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            try:
                await self._reader
            except Exception:
                pass

    def audio(self) -> SpeechAudio:
        """The audio received so far (raw ``encoding`` at ``sample_rate``) as a :class:`SpeechAudio`."""
        if not self.protocol.collect:
            raise DgnbError("audio was not collected: open the connection with collect=True")
        headers = {"dg-request-id": self.request_id or ""}
        if self.protocol.metadata:
            headers.update({"dg-model-name": self.protocol.metadata.model_name or "",
                            "dg-model-uuid": self.protocol.metadata.model_uuid or ""})
        headers["dg-char-count"] = str(self.protocol.characters)
        return SpeechAudio(b"".join(self.protocol.chunks), encoding=self.encoding, container="none",
                           sample_rate=self.sample_rate, headers=headers)

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self._events is None or self._iter_done:
            raise StopAsyncIteration
        event = await self._events.get()
        if isinstance(event, Close):
            self._iter_done = True
        return event

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open" if self._ws else "not connected"
        return f"<AsyncSpeakLive {state} encoding={self.encoding} sample_rate={self.sample_rate}>"


# =========================================================================== sync connection

class SpeakLive(SyncStream, wraps=AsyncSpeakLive, delegate=("request_id", "closed"),
                blocking=("send_text", "flush", "clear", "finish", "abort")):
    """The /v1/speak WebSocket for synchronous code: the same :class:`AsyncSpeakLive`, run on a
    background event-loop thread. Handlers run on that thread; ``for event in tts`` iterates events."""

    def __init__(self, conn: AsyncSpeakLive, *, connect: bool = True) -> None:
        import queue

        super().__init__(conn)
        self._queue: "queue.Queue[Any]" = queue.Queue()
        for cls in EVENT_TYPES.values():  # every event also goes to the thread-safe queue ``for event in tts`` reads
            conn.on(cls, self._queue.put)
        if connect:
            self._run(self._start())

    async def _start(self) -> None:
        await self._conn.start()
        self._conn._events = None  # the sync side iterates its own thread-safe queue

    def on(self, event: "type | str", handler: Handler) -> Handler:
        return self._conn.on(event, handler)

    @property
    def metadata(self) -> Metadata | None:
        return self._conn.protocol.metadata

    def audio(self) -> SpeechAudio:
        return self._conn.audio()

    def __iter__(self):
        """Events as they arrive (from the start of the connection), until ``Close``."""
        while not getattr(self, "_iter_done", False):
            event = self._queue.get()
            if isinstance(event, Close):
                self._iter_done = True
            yield event
