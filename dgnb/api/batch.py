"""Transcribe many files at once: bounded concurrency, a progress bar, failures collected, a cache.

``transcribe_many`` runs on the async client underneath (on dgnb's background event loop, so it
works from a notebook cell whose kernel already runs a loop) and returns one DataFrame row per
source, in the order given: ``source, status, error, duration, request_id, transcript``.
``status`` is ``ok`` (transcribed now), ``cached`` (from the response cache, no request sent),
``error`` (``error`` says why; the other sources go on) or ``cancelled`` (the run was interrupted
first). Interrupting the cell (Kernel > Interrupt, Ctrl-C) returns the rows finished so far;
those responses are in the cache, so running the cell again sends requests only for the rest.

>>> df = dg.transcribe_many("calls/*.mp3", concurrency=8, diarize=True)   # doctest: +SKIP
>>> df[df.status == "error"][["source", "error"]]                          # doctest: +SKIP
"""
from __future__ import annotations

import asyncio
import glob
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from .._core import loop as _loop
from .._core.audio import is_url
from .._core.cache import ResponseCache, cache_key, sha256_of

if TYPE_CHECKING:
    import pandas as pd

    from ..results.transcript import Transcript

__all__ = ["transcribe_many", "atranscribe_many", "BatchResult", "expand_sources"]

COLUMNS = ["source", "status", "error", "duration", "request_id", "transcript"]
_GLOB_CHARS = set("*?[")


@dataclass
class BatchResult:
    """The outcome for one source."""

    index: int
    source: str
    status: str
    error: str | None = None
    duration: float | None = None
    request_id: str | None = None
    transcript: "Transcript | None" = None
    elapsed: float = 0.0


def expand_sources(sources: Any) -> list[Any]:
    """Paths, globs (``calls/*.wav``, ``**`` recursive), URLs and bytes, as a flat list.

    A glob that matches nothing is kept as is, so its row says the file was not found.
    """
    if isinstance(sources, (str, os.PathLike, bytes, bytearray)):
        sources = [sources]
    if not isinstance(sources, Iterable):
        raise TypeError(f"sources must be paths, globs, URLs or bytes (or a list of them), got {type(sources).__name__}")
    out: list[Any] = []
    for src in sources:
        text = os.fspath(src) if isinstance(src, os.PathLike) else src
        if isinstance(text, str) and not is_url(text) and _GLOB_CHARS & set(text) and not os.path.exists(text):
            matches = sorted(glob.glob(os.path.expanduser(text), recursive=True))
            files = [m for m in matches if os.path.isfile(m)]
            out.extend(files or [text])
        elif isinstance(src, (str, os.PathLike, bytes, bytearray, memoryview)):
            out.append(src)
        else:
            raise TypeError(f"cannot transcribe a {type(src).__name__}: give paths, globs, URLs or bytes")
    return out


def _label(src: Any) -> str:
    if isinstance(src, (bytes, bytearray, memoryview)):
        return f"<{len(src):,} bytes>"
    return os.fspath(src) if isinstance(src, os.PathLike) else str(src)


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if text.startswith(type(exc).__name__) else f"{type(exc).__name__}: {text}"


def _check(concurrency: Any, options: Mapping[str, Any]) -> int:
    from ..protocol.listen import LISTEN_OPTIONS
    from .._core.params import check_options

    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
        raise ValueError(f"concurrency must be a positive integer, got {concurrency!r}")
    check_options(options, LISTEN_OPTIONS, "/v1/listen")
    if options.get("callback"):
        raise ValueError("transcribe_many waits for each transcript; it cannot use callback=")
    return concurrency


def _async_twin(client: Any, concurrency: int) -> tuple[Any, bool]:
    """The client itself when async, else an AsyncClient sharing its configuration (owned, to close)."""
    if not hasattr(client, "to_async"):
        raise TypeError(f"transcribe_many needs a dgnb.Client or dgnb.AsyncClient, got {type(client).__name__}")
    if client.is_async:
        return client, False
    return client.to_async(max_connections=concurrency), True


class _Run:
    """State shared between the event loop (which fills it) and the caller (which may stop early)."""

    def __init__(self, sources: list[Any], progress: bool) -> None:
        self.sources = sources
        self.results: dict[int, BatchResult] = {}
        self.lock = threading.Lock()
        self.bar = None
        if progress and sources:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=len(sources), desc="transcribing", unit="file")

    def add(self, result: BatchResult) -> None:
        with self.lock:
            self.results[result.index] = result
            errors = sum(r.status == "error" for r in self.results.values())
            cached = sum(r.status == "cached" for r in self.results.values())
        if self.bar is not None:
            self.bar.set_postfix(errors=errors, cached=cached, refresh=False)
            self.bar.update(1)

    def frame(self) -> "pd.DataFrame":
        import pandas as pd

        with self.lock:
            rows = [self.results.get(i) or BatchResult(i, _label(s), "cancelled", "interrupted before it finished")
                    for i, s in enumerate(self.sources)]
        df = pd.DataFrame({
            "source": pd.array([r.source for r in rows], dtype="string"),
            "status": pd.Categorical([r.status for r in rows], categories=["ok", "cached", "error", "cancelled"]),
            "error": pd.array([r.error for r in rows], dtype="string"),
            "duration": pd.array([r.duration for r in rows], dtype="Float64").astype("float64"),
            "request_id": pd.array([r.request_id for r in rows], dtype="string"),
            "transcript": pd.Series([r.transcript for r in rows], dtype="object"),
            "elapsed": pd.array([r.elapsed for r in rows], dtype="float64"),
        })
        df.attrs["interrupted"] = any(r.status == "cancelled" for r in rows)
        return df

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


async def _one(client: Any, index: int, src: Any, options: Mapping[str, Any], cache: ResponseCache | None,
               endpoint: str, semaphore: asyncio.Semaphore) -> BatchResult:
    from ..results.transcript import Transcript

    label, started = _label(src), time.perf_counter()
    try:
        async with semaphore:
            key = None
            if cache is not None:
                if is_url(src):
                    audio_hash = "url:" + src
                elif isinstance(src, (bytes, bytearray, memoryview)):
                    audio_hash = sha256_of(src)
                else:
                    path = Path(src).expanduser()
                    if not path.is_file():
                        raise FileNotFoundError(f"audio file not found: {str(path)!r}" if not path.exists()
                                                else f"not a regular file: {str(path)!r}")
                    audio_hash = await asyncio.to_thread(sha256_of, path)
                key = cache_key(audio_sha256=audio_hash, options=options, endpoint=endpoint)
                hit = await asyncio.to_thread(cache.get, key)
                if hit is not None:
                    t = Transcript.from_response(hit)
                    return BatchResult(index, label, "cached", None, t.duration, t.request_id, t,
                                       time.perf_counter() - started)
            if is_url(src):
                t = await client.listen.transcribe_url(src, **options)
            else:
                t = await client.listen.transcribe_file(bytes(src) if isinstance(src, memoryview) else src, **options)
            if key is not None:
                await asyncio.to_thread(cache.put, key, t.to_dict())
            return BatchResult(index, label, "ok", None, t.duration, t.request_id, t, time.perf_counter() - started)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # collected per file, never raised: the other files go on
        return BatchResult(index, label, "error", _error_text(exc), elapsed=time.perf_counter() - started)


async def _run_all(client: Any, run: _Run, concurrency: int, cache: ResponseCache | None, options: Mapping[str, Any],
                   on_result: Callable[[BatchResult], Any] | None) -> None:
    aclient, owned = _async_twin(client, concurrency)
    # The embedded engine takes a new port each session: name it by what it is, so the cache survives restarts.
    server = "local-engine" if getattr(client, "local", False) else aclient._config.endpoints.rest("listen")
    endpoint = server + "/v1/listen"
    semaphore = asyncio.Semaphore(concurrency)

    async def job(i: int, src: Any) -> None:
        result = await _one(aclient, i, src, options, cache, endpoint, semaphore)
        run.add(result)
        if on_result is not None:
            on_result(result)

    try:
        tasks = [asyncio.ensure_future(job(i, s)) for i, s in enumerate(run.sources)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
    finally:
        if owned:
            await aclient._http.aclose()


def _prepare(sources: Any, concurrency: int, cache: bool | str | os.PathLike | ResponseCache,
             options: Mapping[str, Any]) -> tuple[list[Any], ResponseCache | None]:
    _check(concurrency, options)
    items = expand_sources(sources)
    if isinstance(cache, ResponseCache):
        store = cache
    elif cache is True:
        store = ResponseCache()
    elif cache in (False, None):
        store = None
    else:
        store = ResponseCache(cache)
    return items, store


def transcribe_many(client: Any, sources: Any, concurrency: int = 8, cache: bool | str | os.PathLike = True, *,
                    progress: bool = True, on_result: Callable[[BatchResult], Any] | None = None,
                    **options: Any) -> "pd.DataFrame":
    """Transcribe every source with at most ``concurrency`` requests in flight; one row per source.

    ``sources``: paths, globs, URLs or bytes (one or a list). ``cache``: True (the user cache dir),
    False, or a directory. ``on_result(BatchResult)`` is called as each source finishes (on the
    event-loop thread). ``options`` are /v1/listen's (``diarize=True``...). Returns a DataFrame
    with ``source, status, error, duration, request_id, transcript, elapsed``; on interruption the
    unfinished rows say ``cancelled`` and ``df.attrs["interrupted"]`` is True.
    """
    from .._core.http import AsyncRunner

    if isinstance(getattr(client, "_runner", None), AsyncRunner):
        raise TypeError("this is an AsyncClient: use `await dgnb.batch.atranscribe_many(client, ...)`")
    if _loop.in_loop_thread():
        raise RuntimeError("transcribe_many blocks until done; call it from a cell or a thread, not an event handler")
    items, store = _prepare(sources, concurrency, cache, options)
    run = _Run(items, progress)
    future = _loop.submit(_run_all(client, run, concurrency, store, options, on_result))
    try:
        while True:  # short waits, so an interrupt (KeyboardInterrupt) is seen at once
            try:
                future.result(timeout=0.2)
                break
            except TimeoutError:
                continue
    except KeyboardInterrupt:
        future.cancel()
        done = sum(1 for r in run.results.values())
        import warnings

        warnings.warn(f"transcribe_many interrupted: {done} of {len(items)} finished (kept, and cached); "
                      "run it again to do the rest", stacklevel=2)
    finally:
        run.close()
    return run.frame()


async def atranscribe_many(client: Any, sources: Any, concurrency: int = 8, cache: bool | str | os.PathLike = True, *,
                           progress: bool = True, on_result: Callable[[BatchResult], Any] | None = None,
                           **options: Any) -> "pd.DataFrame":
    """:func:`transcribe_many` for ``AsyncClient`` (``await``); when cancelled, finished responses stay cached."""
    items, store = _prepare(sources, concurrency, cache, options)
    run = _Run(items, progress)
    try:
        await _run_all(client, run, concurrency, store, options, on_result)
    finally:  # cancelled: the finished responses are in the cache already
        run.close()
    return run.frame()
