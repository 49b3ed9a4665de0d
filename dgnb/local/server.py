"""Running the local engine: in a background thread (embedded) or in the foreground (``dgnb serve``)."""
from __future__ import annotations

import logging
import socket
import sys
import threading
import time

import uvicorn

from ..protocol.auth import CREDENTIAL_HEADERS
from .app import create_app


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, int(port)))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}"


class EmbeddedServer:
    """A running engine: ``.url``, ``.api_key`` (the admin key), ``.model_name``, ``.stop()``."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, url: str, app):
        self._server = server
        self._thread = thread
        self.url = url
        self.app = app
        engine = app.state.engine
        self.data_dir = engine.data_dir
        self.model_name = engine.recognizer.name
        self._api_key = engine.api_key

    @property
    def api_key(self) -> str | None:
        return self._api_key

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

    def __repr__(self) -> str:  # the key is never shown
        return f"EmbeddedServer(url={self.url!r}, model={self.model_name!r}, running={self.running})"


def start_in_background(*, host: str = "127.0.0.1", port: int = 0, data_dir=None, model: str | None = None,
                        **app_options) -> EmbeddedServer:
    """Start uvicorn in a daemon thread and return once it accepts connections."""
    app = create_app(data_dir, model, **app_options)
    sock = _bind(host, port)
    actual_port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off", ws=_ws_impl())
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    def serve() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)

    thread = threading.Thread(target=serve, name="dgnb-local-engine", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if failure or not thread.is_alive():
            raise RuntimeError(f"the local engine failed to start: {failure[0] if failure else 'thread exited'}")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the local engine did not start within 30 s")
        time.sleep(0.01)
    return EmbeddedServer(server, thread, _url(host, actual_port), app)


class _WebSocketLogFilter(logging.Filter):
    """uvicorn's WebSocket log, made safe and quiet: the credential headers of a handshake, which
    websockets logs at DEBUG ("< Authorization: Token ..."), are blanked; and uvicorn's false alarm
    after a handshake is refused with an HTTP 401 is dropped (its websockets-sansio protocol sends the
    denial but does not mark the handshake complete, so it logs "ASGI callable returned without
    completing handshake.").
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 2 and str(args[0]).lower() in CREDENTIAL_HEADERS:
            record.args = (args[0], "[redacted]")
        return "returned without completing handshake" not in record.getMessage()


def _ws_impl() -> str:
    """uvicorn's maintained WebSocket implementation (websockets-sansio) where available."""
    import importlib.util

    if importlib.util.find_spec("uvicorn.protocols.websockets.websockets_sansio_impl") is None:
        return "auto"
    log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _WebSocketLogFilter) for f in log.filters):
        log.addFilter(_WebSocketLogFilter())
    return "websockets-sansio"


class _AnnouncingServer(uvicorn.Server):
    """A uvicorn server that prints one line with its URL once it is listening."""

    announce: str = ""

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            print(self.announce, flush=True)


def run(host: str = "127.0.0.1", port: int = 8080, data_dir=None, model: str | None = None, **app_options) -> None:
    """Serve in the foreground until interrupted (``dgnb serve``)."""
    app = create_app(data_dir, model, **app_options)
    engine = app.state.engine
    sock = _bind(host, port)
    url = _url(host, sock.getsockname()[1])
    config = uvicorn.Config(app, log_level="info", lifespan="off", ws=_ws_impl())
    server = _AnnouncingServer(config)
    server.announce = (f"dgnb local engine listening on {url} (model {engine.recognizer.name}, {engine.recognizer.workers} workers); "
                       f"admin key in {engine.data_dir / 'admin.key'}")
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    sys.stdout.flush()
