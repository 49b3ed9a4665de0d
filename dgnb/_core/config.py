"""Client configuration: credentials, base URLs per namespace, timeouts and retries."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Mapping

DEFAULT_URL = "https://api.deepgram.com"
DEFAULT_AGENT_URL = "wss://agent.deepgram.com"
DEFAULT_AGENT_REST_URL = "https://agent.deepgram.com"  # the agent's REST calls (think models), as the SDKs' agent_rest
NAMESPACES = ("listen", "speak", "read", "manage", "auth", "selfhosted", "agent")
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2


class Secret:
    """A credential that never shows itself in a repr, a log or an exception.

    >>> Secret("abc123")
    Secret('***')
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __reduce__(self):  # never pickle a secret into a notebook or cache
        raise TypeError("credentials cannot be pickled")


@dataclass(frozen=True)
class Credentials:
    """How requests authenticate: an API key (``Token``), an access token (``Bearer``) or a proxy (none)."""

    kind: str  # "api_key" | "access_token" | "proxy" | "none"
    secret: Secret | None = None
    source: str = "argument"

    @property
    def authorization(self) -> str | None:
        if self.kind == "api_key" and self.secret is not None:
            return f"Token {self.secret.reveal()}"
        if self.kind == "access_token" and self.secret is not None:
            return f"Bearer {self.secret.reveal()}"
        return None

    def __repr__(self) -> str:
        return f"Credentials(kind={self.kind!r}, source={self.source!r})"


def resolve_credentials(
    api_key: str | None, access_token: str | None, env: Mapping[str, str] | None = None
) -> Credentials:
    """Pick credentials, highest first: ``access_token``, ``api_key``, env DEEPGRAM_ACCESS_TOKEN
    (or DEEPGRAM_TOKEN), env DEEPGRAM_API_KEY. ``api_key="proxy"`` sends no Authorization header.

    >>> resolve_credentials(None, None, {"DEEPGRAM_API_KEY": "k"}).kind
    'api_key'
    """
    env = os.environ if env is None else env
    if access_token:
        return Credentials("access_token", Secret(access_token))
    if api_key == "proxy":
        return Credentials("proxy", source="argument")
    if api_key:
        return Credentials("api_key", Secret(api_key))
    for name in ("DEEPGRAM_ACCESS_TOKEN", "DEEPGRAM_TOKEN"):
        if env.get(name):
            return Credentials("access_token", Secret(env[name]), source=name)
    if env.get("DEEPGRAM_API_KEY"):
        return Credentials("api_key", Secret(env["DEEPGRAM_API_KEY"]), source="DEEPGRAM_API_KEY")
    return Credentials("none", source="none")


def _ws_url(url: str) -> str:
    if url.startswith("https://"):
        return "wss://" + url[len("https://"):]
    if url.startswith("http://"):
        return "ws://" + url[len("http://"):]
    return url


def _http_url(url: str) -> str:
    if url.startswith("wss://"):
        return "https://" + url[len("wss://"):]
    if url.startswith("ws://"):
        return "http://" + url[len("ws://"):]
    return url


@dataclass(frozen=True)
class Endpoints:
    """Base URLs of every namespace, for REST and for WebSocket.

    ``urls`` overrides one namespace: ``{"listen": "http://host:8080"}`` sets both schemes, or
    ``{"listen": {"rest": "http://host", "websocket": "ws://host"}}`` sets each.

    >>> e = Endpoints.build("http://127.0.0.1:8080", {"speak": "http://10.0.0.2"})
    >>> e.rest("listen"), e.websocket("listen"), e.rest("speak")
    ('http://127.0.0.1:8080', 'ws://127.0.0.1:8080', 'http://10.0.0.2')
    """

    rest_urls: Mapping[str, str] = field(default_factory=dict)
    ws_urls: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, url: str | None = None, urls: Mapping[str, object] | None = None) -> "Endpoints":
        base = (url or os.environ.get("DEEPGRAM_BASE_URL") or DEFAULT_URL).rstrip("/")
        rest = {ns: _http_url(base) for ns in NAMESPACES}
        ws = {ns: _ws_url(base) for ns in NAMESPACES}
        if url is None and not os.environ.get("DEEPGRAM_BASE_URL"):
            ws["agent"], rest["agent"] = DEFAULT_AGENT_URL, DEFAULT_AGENT_REST_URL
        for ns, value in (urls or {}).items():
            if ns not in NAMESPACES:
                raise ValueError(f"unknown namespace {ns!r} in urls; expected one of {', '.join(NAMESPACES)}")
            if isinstance(value, str):
                rest[ns], ws[ns] = _http_url(value.rstrip("/")), _ws_url(value.rstrip("/"))
            elif isinstance(value, Mapping):
                unknown = set(value) - {"rest", "websocket"}
                if unknown:
                    raise ValueError(f"urls[{ns!r}] takes 'rest' and 'websocket', not {sorted(unknown)}")
                if "rest" in value:
                    rest[ns] = str(value["rest"]).rstrip("/")
                if "websocket" in value:
                    ws[ns] = str(value["websocket"]).rstrip("/")
            else:
                raise TypeError(f"urls[{ns!r}] must be a URL string or a dict with 'rest'/'websocket'")
        return cls(rest, ws)

    def rest(self, namespace: str) -> str:
        return self.rest_urls[namespace]

    def websocket(self, namespace: str) -> str:
        return self.ws_urls[namespace]


# ---- the embedded local engine, started once per process when there are no credentials ----
_local_lock = threading.Lock()
_local_server = None


def embedded_engine():
    """Start (once per process) and return the embedded local engine: an object with ``url``,
    ``api_key`` and ``model_name``. Raises a clear error when ``dgnb[local]`` is not installed."""
    global _local_server
    with _local_lock:
        if _local_server is None:
            try:
                from dgnb.local.server import start_in_background
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise RuntimeError(
                    "No Deepgram credentials found and the local engine is not installed. "
                    "Set DEEPGRAM_API_KEY to use Deepgram, or `pip install 'dgnb[local]'` for the local engine."
                ) from exc
            _local_server = start_in_background()
        return _local_server


def announce_local_engine(engine) -> None:
    """Say once that, with no key found, the local engine answers (not said when local was asked for)."""
    from .notice import notice

    notice(f"No Deepgram key found: dgnb runs on its local engine ({engine.model_name}, {engine.url}). "
           "Set DEEPGRAM_API_KEY to use Deepgram.", key="local-engine")
