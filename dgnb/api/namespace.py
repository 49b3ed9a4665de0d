"""The base of every API namespace: endpoints written once as generators, run sync or async."""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Callable, Generator, Mapping, Sequence

from .._core.http import Call, request

if TYPE_CHECKING:
    from .client import BaseClient


def endpoint(fn: Callable[..., Generator]) -> Callable[..., Any]:
    """Turn a generator method (``response = yield from self._send(call)``; ``return parsed``) into a
    method that returns the result on ``Client`` and an awaitable on ``AsyncClient``."""

    @functools.wraps(fn)
    def method(self: "Namespace", *args: Any, **kwargs: Any) -> Any:
        return self._client._runner.run(fn(self, *args, **kwargs))

    method.steps = fn  # type: ignore[attr-defined]
    return method


class Steps:
    """``namespace.steps.<endpoint>(...)``: an endpoint as its generator of HTTP steps, to compose
    several calls into one function that runs sync or async with :meth:`dgnb.Client.compose`."""

    def __init__(self, namespace: "Namespace") -> None:
        self._namespace = namespace

    def __getattr__(self, name: str) -> Callable[..., Generator]:
        fn = getattr(getattr(type(self._namespace), name, None), "steps", None)
        if fn is None:
            raise AttributeError(f"{type(self._namespace).__name__}.{name} is not an endpoint")
        return functools.partial(fn, self._namespace)


class Namespace:
    """A group of endpoints sharing a base URL (``listen``, ``manage``, ...)."""

    name = "manage"

    def __init__(self, client: "BaseClient") -> None:
        self._client = client

    @property
    def steps(self) -> Steps:
        """This namespace's endpoints as generators, for :meth:`dgnb.Client.compose`."""
        return Steps(self)

    def _send(self, call: Call) -> Generator:
        return request(self._client._config, call)

    @property
    def _is_async(self) -> bool:
        return self._client.is_async

    def _websocket(self, path: str, query: Sequence[tuple[str, str]] = (),
                   extra_headers: Mapping[str, str] | None = None) -> tuple[str, dict[str, str]]:
        """The URL and headers (auth included) of a WebSocket endpoint of this namespace."""
        from .._core.websocket import target

        return target(self._client._config, self.name, path, query, extra_headers)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._client!r}>"
