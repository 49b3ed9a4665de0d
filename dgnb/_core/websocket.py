"""Opening a WebSocket the way every dgnb stream does: auth headers, and handshake failures mapped
to :class:`dgnb.ApiError` / :class:`dgnb.ConnectionError` (never a raw ``websockets`` exception)."""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Mapping, Sequence
from urllib.parse import urlencode

from ..protocol.auth import CREDENTIAL_HEADERS
from .http import USER_AGENT, Config
from .errors import ApiError, ConnectionError

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection


class _RedactCredentials(logging.Filter):
    """Blanks the value of credential headers in the handshake lines websockets logs at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 2 and str(args[0]).lower() in CREDENTIAL_HEADERS:
            record.args = (args[0], "[redacted]")
        return True


#: The logger dgnb's sockets log their handshakes and frames to (websockets writes every request
#: header there at DEBUG; credentials are redacted before any handler sees them).
log = logging.getLogger("dgnb.websocket")
log.addFilter(_RedactCredentials())


def target(config: Config, namespace: str, path: str, query: Sequence[tuple[str, str]] = (),
           extra_headers: Mapping[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """The URL and headers (auth included) of a WebSocket endpoint; the URL never holds credentials.

    >>> from dgnb._core.config import Credentials, Endpoints, Secret
    >>> cfg = Config(Credentials("api_key", Secret("k")), Endpoints.build("http://127.0.0.1:8080"))
    >>> target(cfg, "listen", "/v1/listen", [("model", "nova-3")])[0]
    'ws://127.0.0.1:8080/v1/listen?model=nova-3'
    """
    url = config.endpoints.websocket(namespace).rstrip("/") + path + (f"?{urlencode(list(query))}" if query else "")
    headers = {"User-Agent": USER_AGENT, **config.headers, **(extra_headers or {})}
    auth = config.credentials.authorization
    if auth:
        headers["Authorization"] = auth
    return url, headers


async def connect(url: str, headers: Mapping[str, str], *, label: str, open_timeout: float | None,
                  **kwargs: Any) -> "ClientConnection":
    """Open the socket; a refused handshake raises ApiError (status, err_msg), a network failure ConnectionError."""
    from websockets.asyncio.client import connect as ws_connect
    from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

    try:
        return await ws_connect(url, additional_headers=dict(headers), open_timeout=open_timeout, max_size=None,
                                user_agent_header=None, logger=log, **kwargs)
    except InvalidStatus as exc:
        response = exc.response
        raise ApiError(response.status_code, ApiError.decode_body(bytes(response.body or b"")),
                       dict(response.headers.raw_items()), endpoint=label) from None
    except InvalidURI:
        raise ValueError(f"not a WebSocket URL: {url.split('?')[0]!r}") from None
    except (OSError, asyncio.TimeoutError, InvalidHandshake) as exc:
        raise ConnectionError(f"{label}: could not connect to {url.split('?')[0]}: {type(exc).__name__}: {exc}") from None
