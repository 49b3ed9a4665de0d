"""What dgnb's three WebSocket streams share: live listen (:mod:`dgnb.live`), the voice agent
(:mod:`dgnb.agent`) and streaming speech (:mod:`dgnb.speak`).

* :class:`Lifecycle`: ``await conn`` / ``async with conn`` for an asyncio stream.
* :class:`EventHub`: the asyncio side of live and agent: handlers by event name (sync or async; one
  that raises is logged, never raised), the history every ``async for`` replays, the done flag,
  wake-ups for waiters, ``KeepAlive`` while idle, and the shutdown of the socket and its tasks.
* :class:`SyncStream` / :class:`SyncEventStream`: the synchronous wrappers, which run the asyncio
  object on the background loop of :mod:`dgnb._core.loop` and forward to it.

The protocols themselves (messages, sending, reconnects, function calls) stay in their modules.
"""
from __future__ import annotations

import asyncio
import difflib
import functools
import inspect
import logging
import threading
import time
from typing import Any, AsyncIterator, Awaitable, Callable, ClassVar, Iterator, Mapping, Sequence

from . import loop as _loop


def event_namer(kind: str, events: Sequence[str], aliases: Mapping[str, str] | None = None) -> Callable[[Any], str]:
    """A function checking an event name (or an SDK enum with ``.value``) against ``events``.

    >>> name = event_namer("demo", ("Open", "Close"), {"closed": "Close"})
    >>> name("closed")
    'Close'
    >>> name("Opne")
    Traceback (most recent call last):
    ValueError: unknown demo event 'Opne'; did you mean 'Open'? (events: Open, Close)
    """
    aliases = dict(aliases or {})

    def event_name(event: Any) -> str:
        name = getattr(event, "value", event)  # accept the SDKs' enums
        if aliases:
            name = aliases.get(name, name)
        if name not in events:
            close = difflib.get_close_matches(str(name), events, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"unknown {kind} event {event!r}{hint} (events: {', '.join(events)})")
        return name

    return event_name


async def call_handler(handler: Callable[[Any], Any], message: Any) -> Exception | None:
    """Call ``handler(message)``, awaiting what it returns when awaitable; its exception is returned, not raised."""
    try:
        result = handler(message)
        if inspect.isawaitable(result):
            await result
    except Exception as exc:
        return exc
    return None


def request_id_of(ws: Any) -> str | None:
    """The ``dg-request-id`` header of an open socket's handshake response."""
    return ws.response.headers.get("dg-request-id") if ws.response is not None else None


async def read_frames(ws: Any, handle: Callable[[Any], Awaitable[None]]) -> None:
    """``await handle(frame)`` for every frame until the socket closes (a closed socket is no error)."""
    from websockets.exceptions import ConnectionClosed

    try:
        async for frame in ws:
            await handle(frame)
    except ConnectionClosed:
        pass


class Lifecycle:
    """``await conn`` and ``async with conn`` for an asyncio stream with an async ``start()``.

    ``_EXIT`` names the method ``async with`` (and the sync wrapper's ``with``) ends with: the first
    after a clean block, the second after an exception.
    """

    _EXIT: ClassVar[tuple[str, str]] = ("finish", "close")

    def __await__(self):
        return self.start().__await__()  # type: ignore[attr-defined]

    async def __aenter__(self):
        return await self.start()  # type: ignore[attr-defined]

    async def __aexit__(self, exc_type, exc, tb) -> None:
        await getattr(self, self._EXIT[exc_type is not None])()


class EventHub(Lifecycle):
    """The asyncio side shared by live listen and the voice agent (subclasses set the class attributes).

    State kept here: ``_handlers`` (event name -> handlers), ``_listeners`` (thread-safe wake-ups for
    the sync wrapper), ``_history`` (the list ``async for`` replays), ``_changed`` (an
    :class:`asyncio.Event` replaced at every wake-up), ``_done``, ``_ws``, ``_tasks``, ``_last_send``.
    """

    #: The states of a stream and where each may go; :meth:`_enter` refuses any other move.
    #: ``reconnecting`` and ``closing`` are a listen stream's (a drop it recovers from; CloseStream sent).
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        "new": frozenset({"open", "closed"}),
        "open": frozenset({"closing", "reconnecting", "closed"}),
        "closing": frozenset({"reconnecting", "closed"}),
        "reconnecting": frozenset({"open", "closing", "closed"}),
        "closed": frozenset(),
    }
    _KIND: ClassVar[str] = "stream"  #: in task names and log lines ("live", "agent")
    _LOG: ClassVar[logging.Logger] = logging.getLogger("dgnb")
    _EVENTS: ClassVar[Sequence[str]] = ()
    _DEFAULT_KEEPALIVE: ClassVar[float] = 5.0
    _event_name: ClassVar[Callable[[Any], str]]

    def _init_hub(self, config: Any, history: list, *, keepalive: bool | float, open_timeout: float | None) -> None:
        self._config = config
        if keepalive is True:
            keepalive = self._DEFAULT_KEEPALIVE
        self.keepalive_interval = float(keepalive) if keepalive else None
        if self.keepalive_interval is not None and self.keepalive_interval <= 0:
            raise ValueError("keepalive must be True, False or a positive number of seconds")
        self.open_timeout = float(open_timeout or getattr(config, "timeout", None) or 30.0)
        self.close_code: int | None = None
        self.close_reason = ""
        self.state = "new"
        self._history = history
        self._handlers: dict[str, list[Callable]] = {name: [] for name in self._EVENTS}
        self._listeners: list[Callable[[], None]] = []  # thread-safe wake-ups (the sync wrapper)
        self._ws: Any = None
        self._tasks: list[asyncio.Task] = []
        self._changed: asyncio.Event | None = None
        self._done: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_send = time.monotonic()

    def _open_hub(self) -> None:
        """Bind to the running loop (called first thing in ``start``)."""
        self._loop = asyncio.get_running_loop()
        self._changed, self._done = asyncio.Event(), asyncio.Event()

    def _spawn(self, coro: Any, role: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=f"dgnb-{self._KIND}-{role}"))

    # ---- handlers --------------------------------------------------------------------------
    def _subscribe(self, event: Any, handler: Callable) -> str:
        if not callable(handler):
            raise TypeError("handler must be callable")
        name = self._event_name(event)
        self._handlers[name].append(handler)
        return name

    def off(self, event: Any, handler: Callable) -> None:
        """Remove a handler added with :meth:`on`."""
        handlers = self._handlers[self._event_name(event)]
        if handler in handlers:
            handlers.remove(handler)

    async def _emit(self, event: str, message: Any) -> None:
        for handler in list(self._handlers[event]):
            await self._call(handler, event, message)

    async def _call(self, handler: Callable, event: str, message: Any) -> None:
        exc = await call_handler(handler, message)
        if exc is not None:
            self._LOG.error("%s %s handler %r failed", self._KIND, event, getattr(handler, "__name__", handler),
                            exc_info=exc)

    async def _record(self, message: Any, event: str) -> None:
        """Keep ``message`` in the history, call the ``event`` handlers, wake the waiters."""
        self._history.append(message)
        await self._emit(event, message)
        self._wake()

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = asyncio.Event()
        for listener in list(self._listeners):
            listener()

    async def _await_change(self, timeout: float | None = None) -> bool:
        """Wait for the next wake-up; False when ``timeout`` seconds passed first."""
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)  # type: ignore[union-attr]
        except asyncio.TimeoutError:
            return False
        return True

    # ---- history and the end ------------------------------------------------------------------
    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        i = 0
        while True:
            while i < len(self._history):
                i += 1
                yield self._history[i - 1]
            if self.done:
                return
            await self._await_change()

    def _enter(self, state: str) -> None:
        """Move to ``state``; staying put is allowed, a move TRANSITIONS does not list is a bug."""
        if state != self.state and state not in self.TRANSITIONS[self.state]:
            raise RuntimeError(f"a {self._KIND} stream cannot go from {self.state} to {state}")
        self.state = state

    @property
    def done(self) -> bool:
        """True once the stream is over (closed normally, in error, or aborted)."""
        return self._done is not None and self._done.is_set()

    def _mark_closed(self, code: int | None, reason: str) -> None:
        """The reader ends: keep the close, stop the other tasks, release everyone waiting on ``done``."""
        self.close_code, self.close_reason = code, reason
        self._enter("closed")
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        self._done.set()  # type: ignore[union-attr]

    async def close(self) -> None:
        """Close the socket at once; the reader finishes (emitting Close), other tasks get 5 s."""
        ws = self._ws
        if ws is not None:
            await ws.close(1000)
        pending = [t for t in self._tasks if t is not asyncio.current_task() and not t.done()]
        if pending:
            _, still = await asyncio.wait(pending, timeout=5)
            for task in still:
                task.cancel()
        self._enter("closed")

    # ---- keepalive -------------------------------------------------------------------------
    async def _keepalive(self) -> None:
        """Call :meth:`_ping` whenever nothing was sent for ``keepalive_interval`` s; stop when it says False."""
        interval = self.keepalive_interval or self._DEFAULT_KEEPALIVE
        while not self.done:
            wait = self._last_send + interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            if not await self._ping():
                return

    async def _ping(self) -> bool:
        raise NotImplementedError


# ================================================================= sync wrappers ===
def _delegated(name: str, like: Any) -> property:
    doc = like.__doc__ if isinstance(like, property) else None
    return property(lambda self: getattr(self._conn, name), doc=doc)


def _blocking(name: str, like: Callable) -> Callable:
    @functools.wraps(like)
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self._run(getattr(self._conn, name)(*args, **kwargs))

    return forward


class SyncStream:
    """Base of a synchronous wrapper: runs the asyncio stream ``self._conn`` on the background loop.

    A subclass names what it forwards: ``class S(SyncStream, wraps=AsyncS, delegate=("state",),
    blocking=("finish",))``: ``S.state`` reads ``conn.state``; ``S.finish(...)`` runs
    ``conn.finish(...)`` and blocks until it returns (same signature). ``with`` ends with the
    methods named by the async class's ``_EXIT``.
    """

    def __init_subclass__(cls, wraps: type | None = None, delegate: Sequence[str] = (),
                          blocking: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in delegate:
            setattr(cls, name, _delegated(name, getattr(wraps, name, None)))
        for name in blocking:
            method = _blocking(name, getattr(wraps, name))
            method.__name__, method.__qualname__ = name, f"{cls.__qualname__}.{name}"
            setattr(cls, name, method)

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def _run(self, coro: Any, timeout: float | None = None) -> Any:
        return _loop.run(coro, timeout)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        getattr(self, self._conn._EXIT[exc_type is not None])()

    def __repr__(self) -> str:
        return repr(self._conn).replace(type(self._conn).__name__, type(self).__name__, 1)


class SyncEventStream(SyncStream):
    """A sync wrapper of an :class:`EventHub`: ``for message in conn`` yields its whole history,
    waiting (on a thread condition the hub's wake-ups notify) until the stream is done."""

    def __init__(self, conn: EventHub) -> None:
        super().__init__(conn)
        self._cond = threading.Condition()
        conn._listeners.append(self._notify)

    def _notify(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def __iter__(self) -> Iterator[Any]:
        history = self._conn._history
        i = 0
        while True:
            with self._cond:
                while i >= len(history) and not self._conn.done:
                    self._cond.wait(0.5)
                batch = history[i:]
                finished = self._conn.done
            yield from batch
            i += len(batch)
            if finished and i >= len(history):
                return
