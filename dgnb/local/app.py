"""The local engine's ASGI app: Deepgram's paths, auth on every request, Deepgram-shaped errors."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from .wire.errors import INSUFFICIENT_PERMISSIONS, INVALID_AUTH, default_code, error_response
from .ledger import Ledger, resumes
from .settings import EngineSettings
from .models.stt import get_recognizer

log = logging.getLogger("dgnb.local")
#: Paths that use the API (billed), needing the ``usage:write`` permission.
USAGE_PATHS = frozenset({"/v1/listen", "/v2/listen", "/v1/speak", "/v1/read", "/v1/agent/converse"})
#: Paths Deepgram answers without credentials (the SDKs send none)
PUBLIC_PATHS = frozenset({"/v1/agent/settings/think/models"})


def default_data_dir() -> Path:
    """``$DGNB_DATA_DIR``, else the per-user data dir ``.../dgnb/local``."""
    env = os.environ.get("DGNB_DATA_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("dgnb")) / "local"


class Engine:
    """What the routes share: the ledger, the (once-loaded) recognizer, limits and paths."""

    def __init__(self, data_dir=None, model: str | None = None, *, max_upload_bytes: int | None = None,
                 url_timeout: float | None = None, workers: int | None = None):
        self.data_dir = Path(data_dir) if data_dir else default_data_dir()
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        _private(self.data_dir, 0o700)  # it holds the admin key and the ledger
        self.ledger = Ledger(self.data_dir)
        self.dropped_tails = resumes.DroppedTails()  # live audio a resumed stream re-sends is billed once
        model = model or os.environ.get("DGNB_MODEL") or None  # the embedded engine's model, e.g. whisper-base
        self.recognizer = get_recognizer(model, workers)
        self.model = model
        self.settings = EngineSettings.from_env(max_upload_bytes=max_upload_bytes, url_timeout=url_timeout)
        self.tmp_dir = _own_tmp_dir(self.data_dir / "tmp")

    @property
    def max_upload_bytes(self) -> int:
        return self.settings.max_upload_bytes

    @property
    def url_timeout(self) -> float:
        return self.settings.url_timeout

    @property
    def api_key(self) -> str | None:
        return self.ledger.admin_key


def _private(path: Path, mode: int) -> None:
    try:
        os.chmod(path, mode)
    except OSError:  # not ours to change (a shared mount): leave it as it is
        pass


def _own_tmp_dir(root: Path) -> Path:
    """This process's folder for uploads in flight, under ``root``; what engines that are gone left
    behind there (a ``kill -9`` mid-upload) is removed first. Engines sharing a data dir keep apart."""
    import shutil

    root.mkdir(mode=0o700, exist_ok=True)
    for left in root.iterdir():
        if left.is_dir() and left.name.isdigit() and _alive(int(left.name)):
            continue
        if left.is_dir():
            shutil.rmtree(left, ignore_errors=True)
        else:
            left.unlink(missing_ok=True)
    own = root / str(os.getpid())
    own.mkdir(mode=0o700, exist_ok=True)
    return own


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _credentials_help(engine: Engine) -> str:
    # where the admin key lives is said at start-up only, never to a caller who has no credentials
    return "Invalid credentials. Send the header 'Authorization: Token <API key>'."


def _ws_credentials(scope) -> tuple[str | None, str | None]:
    """(Authorization value, accepted subprotocol) of a WebSocket handshake.

    Browsers cannot set headers, so Deepgram also takes ``Sec-WebSocket-Protocol: token, <key>``
    (or ``bearer, <token>``); the chosen subprotocol must then be echoed on accept.
    """
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    if headers.get("authorization"):
        return headers["authorization"], None
    protocols = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
    if len(protocols) >= 2 and protocols[0].lower() in ("token", "bearer"):
        return f"{protocols[0]} {protocols[1]}", protocols[0]
    return None, None


class AuthMiddleware:
    """Every HTTP request and WebSocket handshake needs ``Token <key>`` or ``Bearer <token>`` (but for
    :data:`PUBLIC_PATHS`)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket") or (scope["type"] == "http" and scope["path"] in PUBLIC_PATHS):
            return await self.app(scope, receive, send)
        engine: Engine = scope["app"].state.engine
        if scope["type"] == "http":
            header = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"authorization"), None)
        else:
            header, scope["dgnb.subprotocol"] = _ws_credentials(scope)
        principal = engine.ledger.authenticate(header)
        if principal is None:
            denial = error_response(401, INVALID_AUTH, _credentials_help(engine))
        elif scope["path"] in USAGE_PATHS and not principal.has("usage:write"):
            denial = error_response(403, INSUFFICIENT_PERMISSIONS,
                                    f"this key lacks the 'usage:write' permission needed for {scope['path']}")
        else:
            scope["dgnb.principal"] = principal
            return await self.app(scope, receive, send)
        if scope["type"] == "http":
            return await denial(scope, receive, send)
        await WebSocket(scope, receive, send).send_denial_response(denial)


async def _http_error(request: Request, exc: HTTPException):
    messages = {404: f"no route for {request.url.path}", 405: f"method {request.method} is not allowed on {request.url.path}"}
    msg = messages.get(exc.status_code) or (exc.detail if isinstance(exc.detail, str) else "request failed")
    return error_response(exc.status_code, default_code(exc.status_code), msg, headers=getattr(exc, "headers", None))


async def _server_error(request: Request, exc: Exception):
    log.exception("unhandled error on %s", request.url.path)
    return error_response(500, "INTERNAL_SERVER_ERROR", "the local engine failed to process the request")


async def _listen_ws(websocket: WebSocket) -> None:
    from .routes.live import listen_websocket

    await listen_websocket(websocket)


async def _flux_ws(websocket: WebSocket) -> None:
    from .routes.flux import flux_websocket

    await flux_websocket(websocket)


async def _listen_http(request: Request):
    from .routes.listen import listen_rest

    return await listen_rest(request)


def create_app(data_dir=None, model: str | None = None, *, max_upload_bytes: int | None = None,
               url_timeout: float | None = None, think=None, workers: int | None = None) -> Starlette:
    """The engine's Starlette app; ``app.state.engine`` holds the ledger and the loaded model.
    ``think``: Python think functions for the voice agent (see :mod:`dgnb.local.models.think`).
    ``workers``: recogniser workers reading at once (default: one per core, see
    :func:`dgnb.local.models.stt.default_workers`)."""
    engine = Engine(data_dir, model, max_upload_bytes=max_upload_bytes, url_timeout=url_timeout, workers=workers)
    routes = [
        Route("/v1/listen", _listen_http, methods=["POST"]),
        WebSocketRoute("/v1/listen", _listen_ws),
        WebSocketRoute("/v2/listen", _flux_ws),
    ]
    from .routes import manage, read, speak

    routes += speak.routes() + read.routes() + manage.routes()
    from .routes import agent

    routes += agent.routes()
    from starlette.middleware import Middleware

    app = Starlette(
        routes=routes,
        middleware=[Middleware(AuthMiddleware)],
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    app.state.engine = engine
    app.state.agent_think = agent.think_mod.Registry(think)
    return app
