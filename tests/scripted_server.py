"""A real HTTP server on 127.0.0.1 that answers from a script and records every request it gets.

Used by the client tests instead of mocking httpx: the client's real sockets, headers, bodies,
retries and timeouts are exercised end to end.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn


@dataclass
class Seen:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body_len: int
    body_sha256: str
    body: bytes
    at: float


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict -> JSON; bytes -> raw
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ScriptedServer:
    """``server.script(Reply(...), ...)`` queues answers; the last one repeats. ``server.seen`` lists requests."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.seen: list[Seen] = []
        self._replies: list[Reply] = [Reply(200, {"ok": True})]
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", interface="asgi3")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> "ScriptedServer":
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("scripted server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(5)

    def script(self, *replies: Reply) -> None:
        self.seen.clear()
        self._replies = list(replies)

    async def app(self, scope, receive, send) -> None:
        assert scope["type"] == "http"
        digest, chunks = hashlib.sha256(), []
        while True:
            message = await receive()
            data = message.get("body", b"")
            digest.update(data)
            chunks.append(data)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        from urllib.parse import parse_qsl

        self.seen.append(Seen(
            scope["method"], scope["path"], parse_qsl(scope["query_string"].decode(), keep_blank_values=True),
            {k.decode().lower(): v.decode() for k, v in scope["headers"]}, len(body), digest.hexdigest(),
            body if len(body) < 1 << 16 else b"", time.monotonic(),
        ))
        reply = self._replies.pop(0) if len(self._replies) > 1 else self._replies[0]
        if reply.delay:
            await asyncio.sleep(reply.delay)
        payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        headers = [(b"content-type", b"application/json")] + [(k.encode(), v.encode()) for k, v in reply.headers.items()]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
