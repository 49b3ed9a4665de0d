"""A background event-loop thread, so synchronous APIs can run the one asyncio implementation.

The sync :class:`dgnb.live.LiveConnection` runs its :class:`~dgnb.live.AsyncLiveConnection` on
this loop: a notebook cell (whose kernel already runs an event loop) gets control back at once
while the stream goes on, and nothing ever calls ``asyncio.run`` inside a running loop.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, Awaitable, Coroutine, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def _run_forever(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    loop.run_forever()


def get_loop() -> asyncio.AbstractEventLoop:
    """The process-wide background loop (started on first use, in a daemon thread)."""
    global _loop, _thread
    with _lock:
        if _loop is None or _thread is None or not _thread.is_alive():
            _loop = asyncio.new_event_loop()
            ready = threading.Event()
            _thread = threading.Thread(target=_run_forever, args=(_loop, ready), name="dgnb-loop", daemon=True)
            _thread.start()
            ready.wait()
        return _loop


def in_loop_thread() -> bool:
    """True when called from the background loop's own thread (where blocking would deadlock)."""
    return _thread is not None and threading.current_thread() is _thread


def submit(coro: Coroutine[Any, Any, T]) -> "concurrent.futures.Future[T]":
    """Schedule ``coro`` on the background loop; returns a thread-safe future."""
    return asyncio.run_coroutine_threadsafe(coro, get_loop())


def run(coro: Awaitable[T] | Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run ``coro`` on the background loop and block until it returns (or raise its exception).

    Raises ``TimeoutError`` after ``timeout`` seconds (the coroutine is cancelled).
    """
    if in_loop_thread():
        if asyncio.iscoroutine(coro):
            coro.close()
        raise RuntimeError("a blocking dgnb call was made from inside an event handler; "
                           "use the connection's async methods there, or call it from another thread")
    future = submit(coro)  # type: ignore[arg-type]
    try:
        return future.result(timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise TimeoutError(f"gave up waiting after {timeout} s") from None
    except KeyboardInterrupt:
        future.cancel()
        raise


def call_soon(fn, *args: Any) -> None:
    """Run the plain callable ``fn(*args)`` on the background loop, thread-safely."""
    get_loop().call_soon_threadsafe(fn, *args)
