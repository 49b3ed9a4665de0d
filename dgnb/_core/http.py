"""One request pipeline for sync and async (sans-I/O).

Endpoints are generator functions that ``yield from request(config, call)`` and return a parsed
value. The pipeline (auth, retries with backoff, timeouts, logging, error mapping) is itself a
generator that yields two kinds of actions, :class:`Send` and :class:`Sleep`. Two thin runners
perform the actions: :class:`SyncRunner` on ``httpx.Client`` and :class:`AsyncRunner` on
``httpx.AsyncClient``. No endpoint and no policy is written twice.
"""
from __future__ import annotations

import email.utils
import json
import logging
import os
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Generator, Iterator, Mapping, Sequence

from .. import __version__
from .config import Credentials, Endpoints
from .errors import ApiError, ConnectionError, DgnbError, TimeoutError

if TYPE_CHECKING:  # httpx is imported when the first client is made, keeping `import dgnb` fast
    import httpx

log = logging.getLogger("dgnb")

RETRY_STATUSES = frozenset({408, 429})
MAX_RETRY_AFTER = 60.0
CHUNK = 1 << 20
USER_AGENT = f"dgnb/{__version__}"


# ---------------------------------------------------------------- bodies ----
class FileBody:
    """A request body read from a file in chunks, re-read from the start on every attempt.

    ``source`` is a path or a seekable binary file object (its current position is the start).
    """

    def __init__(self, source: "str | os.PathLike[str] | Any", size: int | None = None) -> None:
        self.source = source
        self._start = None if isinstance(source, (str, os.PathLike)) else source.tell()
        self.size = size

    def _open(self):
        if self._start is None:
            return open(self.source, "rb"), True
        self.source.seek(self._start)
        return self.source, False

    def sync_iter(self) -> Iterator[bytes]:
        f, owned = self._open()
        try:
            while chunk := f.read(CHUNK):
                yield chunk
        finally:
            if owned:
                f.close()

    async def async_iter(self) -> AsyncIterator[bytes]:
        for chunk in self.sync_iter():
            yield chunk


# ---------------------------------------------------------------- actions ----
@dataclass
class Call:
    """One HTTP request, described without doing it."""

    method: str
    path: str
    namespace: str = "manage"
    params: Sequence[tuple[str, str]] | None = None
    json: Any = None
    body: "bytes | FileBody | None" = None
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float | None = None
    stream: bool = False

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class Send:
    method: str
    url: str
    params: Sequence[tuple[str, str]] | None
    headers: dict[str, str]
    json: Any
    body: "bytes | FileBody | None"
    timeout: float
    stream: bool


@dataclass
class Sleep:
    seconds: float


@dataclass
class Read:
    """Read a streamed response's body and close it: whole (e.g. to report an error), or chunk by
    chunk into ``sink`` (e.g. a file), so a long body is never held in memory."""

    response: httpx.Response
    sink: Callable[[bytes], Any] | None = None


@dataclass
class Config:
    """Everything the pipeline needs; built once per client."""

    credentials: Credentials
    endpoints: Endpoints
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 60.0
    max_retries: int = 2
    retry_backoff: float = 0.5


# ---------------------------------------------------------------- policy ----
def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks us to wait: ``retry-after-ms``, or ``Retry-After`` in seconds or as a date.

    >>> retry_after({"retry-after-ms": "250"})
    0.25
    >>> retry_after({"retry-after": "3"})
    3.0
    """
    lower = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lower:
        try:
            return max(0.0, float(lower["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = lower.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def backoff(attempt: int, base: float, headers: Mapping[str, str] | None = None) -> float:
    """Delay before retry number ``attempt`` (0-based): the server's wish if it said one,
    else exponential backoff with jitter."""
    asked = retry_after(headers or {})
    if asked is not None:
        return min(asked, MAX_RETRY_AFTER)
    return min(base * (2**attempt), 10.0) * (0.75 + random.random() * 0.5)


def should_retry(status: int) -> bool:
    return status in RETRY_STATUSES or status >= 500


def build_send(config: Config, call: Call) -> Send:
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    auth = config.credentials.authorization
    if auth:
        headers["Authorization"] = auth
    headers.update(config.headers)
    headers.update(call.headers)
    if isinstance(call.body, FileBody) and call.body.size is not None:
        headers.setdefault("Content-Length", str(call.body.size))
    return Send(
        method=call.method,
        url=config.endpoints.rest(call.namespace) + call.path,
        params=list(call.params) if call.params else None,
        headers=headers,
        json=call.json,
        body=call.body,
        timeout=call.timeout if call.timeout is not None else config.timeout,
        stream=call.stream,
    )


def request(config: Config, call: Call) -> Generator[Send | Sleep, Any, httpx.Response]:
    """The pipeline: send ``call`` with retries; return the successful ``httpx.Response``."""
    import httpx

    send = build_send(config, call)
    attempts = config.max_retries + 1
    for attempt in range(attempts):
        last = attempt == attempts - 1
        started = time.perf_counter()
        try:
            response = yield send
        except httpx.TimeoutException as exc:
            if isinstance(exc, httpx.ConnectTimeout) and not last:
                delay = backoff(attempt, config.retry_backoff)
                log.debug("%s: connect timeout, retry %d/%d in %.2fs", call.label, attempt + 1, attempts - 1, delay)
                yield Sleep(delay)
                continue
            raise TimeoutError(
                f"{call.label} timed out after {send.timeout:g} s ({type(exc).__name__}); "
                f"raise the limit with timeout=..."
            ) from None
        except httpx.TransportError as exc:
            if not last:
                delay = backoff(attempt, config.retry_backoff)
                log.debug("%s: %s, retry %d/%d in %.2fs", call.label, type(exc).__name__, attempt + 1, attempts - 1, delay)
                yield Sleep(delay)
                continue
            raise ConnectionError(
                f"{call.label}: could not reach {send.url} after {attempts} attempt(s): {type(exc).__name__}: {exc}"
            ) from None
        elapsed = (time.perf_counter() - started) * 1000
        log.debug("%s %s -> %d in %.0f ms", call.method, response.url, response.status_code, elapsed)
        if response.is_success:
            return response
        if call.stream:
            yield Read(response)
        if should_retry(response.status_code) and not last:
            delay = backoff(attempt, config.retry_backoff, response.headers)
            log.debug("%s: HTTP %d, retry %d/%d in %.2fs", call.label, response.status_code, attempt + 1, attempts - 1, delay)
            yield Sleep(delay)
            continue
        raise ApiError(
            response.status_code,
            ApiError.decode_body(response.content),
            response.headers,
            endpoint=call.label,
        )
    raise AssertionError("unreachable")  # pragma: no cover


# ---------------------------------------------------------------- runners ----
@dataclass
class RawResponse:
    """A parsed result with the HTTP response it came from (``client.with_raw_response``)."""

    parsed: Any
    http_response: httpx.Response

    @property
    def status_code(self) -> int:
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        return self.http_response.headers

    @property
    def request_id(self) -> str | None:
        h = self.http_response.headers
        return h.get("dg-request-id") or h.get("x-dg-request-id") or getattr(self.parsed, "request_id", None)

    def __repr__(self) -> str:
        return f"RawResponse(status_code={self.status_code}, request_id={self.request_id!r}, parsed={type(self.parsed).__name__})"


class SyncRunner:
    """Drives endpoint generators with ``httpx.Client``."""

    def __init__(self, http: httpx.Client, raw: bool = False) -> None:
        self.http, self.raw = http, raw

    def perform(self, action: Send | Sleep | Read) -> Any:
        if isinstance(action, Sleep):
            return time.sleep(action.seconds)
        if isinstance(action, Read):
            try:
                if action.sink is None:
                    return action.response.read()
                for chunk in action.response.iter_bytes():
                    action.sink(chunk)
            finally:
                action.response.close()
            return None
        body = action.body.sync_iter() if isinstance(action.body, FileBody) else action.body
        return self.http.send(self.build(action, body), stream=action.stream)

    def build(self, action: Send, body: Any) -> httpx.Request:
        return self.http.build_request(
            action.method, action.url, params=action.params, headers=action.headers,
            json=action.json, content=body, timeout=action.timeout,
        )

    def advance(self, gen: Generator, value: Any, error: Exception | None, last: Any = None) -> tuple[bool, Any]:
        """Give the pipeline the last outcome; get (finished, next action or final value).

        A reply that is not the JSON its endpoint returns (a proxy's page, a truncated body) becomes a
        :class:`DgnbError` naming the request, not a ``json.JSONDecodeError`` from deep inside."""
        try:
            return False, (gen.throw(error) if error is not None else gen.send(value))
        except StopIteration as stop:
            return True, stop.value
        except json.JSONDecodeError as exc:
            reply = getattr(last, "status_code", None) is not None
            where = f"{last.request.method} {last.request.url.path}" if reply else "a request"
            status = f"HTTP {last.status_code} " if reply else ""
            raise DgnbError(f"{where}: the {status}reply is not valid JSON ({exc.msg} at character {exc.pos}); "
                            "is the URL a Deepgram endpoint?") from None

    def run(self, gen: Generator) -> Any:
        value, error, last = None, None, None
        while True:
            done, action = self.advance(gen, value, error, last)
            if done:
                return RawResponse(action, last) if self.raw else action
            value = error = None
            try:
                value = self.perform(action)
            except Exception as exc:  # handed back to the pipeline, which decides
                error = exc
            last = value if isinstance(action, Send) else last


class AsyncRunner(SyncRunner):
    """Drives endpoint generators with ``httpx.AsyncClient``."""

    http: httpx.AsyncClient  # type: ignore[assignment]

    async def perform(self, action: Send | Sleep | Read) -> Any:  # type: ignore[override]
        import asyncio

        if isinstance(action, Sleep):
            return await asyncio.sleep(action.seconds)
        if isinstance(action, Read):
            try:
                if action.sink is None:
                    return await action.response.aread()
                async for chunk in action.response.aiter_bytes():
                    action.sink(chunk)
            finally:
                await action.response.aclose()
            return None
        body = action.body.async_iter() if isinstance(action.body, FileBody) else action.body
        return await self.http.send(self.build(action, body), stream=action.stream)

    async def run(self, gen: Generator) -> Any:  # type: ignore[override]
        value, error, last = None, None, None
        while True:
            done, action = self.advance(gen, value, error, last)
            if done:
                return RawResponse(action, last) if self.raw else action
            value = error = None
            try:
                value = await self.perform(action)
            except Exception as exc:  # handed back to the pipeline, which decides
                error = exc
            last = value if isinstance(action, Send) else last

