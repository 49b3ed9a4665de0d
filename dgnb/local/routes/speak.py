"""/v1/speak on the local engine: REST (POST, text -> audio file) and the streaming WebSocket.

REST replies carry Deepgram's headers: ``content-type``, ``dg-request-id``, ``dg-model-name``,
``dg-model-uuid``, ``dg-char-count`` and ``dg-project-id``, with a chunked body.

WebSocket protocol (as Deepgram's): on connect the server sends ``Metadata``; the client sends
``{"type": "Speak", "text"}`` (buffered; each complete sentence is spoken as soon as it is
complete), ``{"type": "Flush"}`` (speak what is buffered, then ``Flushed`` with a sequence id),
``{"type": "Clear"}`` (drop buffered text and audio not yet sent, then ``Cleared``) and
``{"type": "Close"}`` (speak what is buffered, then close). Audio is sent as binary frames of raw
``encoding`` at ``sample_rate``. Problems with a message are reported as ``Warning`` messages.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..models import tts
from ..wire.bodies import json_object, read_body
from ..wire.errors import BAD_REQUEST, EngineError, error_response

log = logging.getLogger("dgnb.local")
CHUNK_SECONDS = 0.2
MAX_BODY_BYTES = 64 * 1024
_SENTENCE_END = re.compile(r"[.?!;:][\"')\]]*\s+")


# --------------------------------------------------------------------------- options

def _options(query) -> dict:
    q = {k: v for k, v in query.multi_items()}
    speed = 1.0
    if q.get("speed"):
        try:
            speed = float(q["speed"])
        except ValueError:
            raise EngineError(400, BAD_REQUEST, f"speed={q['speed']!r} is not a number") from None
        if not 0.7 <= speed <= 1.5:
            raise EngineError(400, BAD_REQUEST, f"speed={speed:g} is out of range (0.7..1.5)")
    return {"model": q.get("model") or tts.DEFAULT_MODEL, "speed": speed, "encoding": q.get("encoding"),
            "container": q.get("container"), "sample_rate": q.get("sample_rate"), "bit_rate": q.get("bit_rate"),
            "callback": q.get("callback"), "tags": [v for k, v in query.multi_items() if k == "tag"]}


async def _read_text(request: Request) -> str:
    body = await read_body(request, MAX_BODY_BYTES)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "text/plain":
        text = body.decode("utf-8", "replace")
    else:
        text = json_object(body, ("text",), '{"text": "..."}')["text"]
        if not isinstance(text, str):
            raise EngineError(400, BAD_REQUEST, '"text" must be a string')
    return tts.check_text(text)


def _record(request_or_ws, request_id: str, path: str, status: int, *, model=None, duration=0.0,
            err_code=None, tags=(), characters: int = 0) -> None:
    try:
        engine = request_or_ws.app.state.engine
        engine.ledger.record_request(
            request_id=request_id, principal=request_or_ws.scope.get("dgnb.principal"), path=path,
            method="POST" if path == "/v1/speak" and request_or_ws.scope["type"] == "http" else "GET",
            status=status, duration=duration, model=model, model_uuid=tts.model_uuid(model) if model else None,
            tags=tags, err_code=err_code, characters=characters)
    except Exception:  # usage accounting never breaks a request
        log.exception("could not record request %s", request_id)


# --------------------------------------------------------------------------- REST

def _render(text: str, voice: tts.Voice, fmt: tts.Format) -> tuple[bytes, float]:
    samples = tts.synthesize(text, voice, fmt.sample_rate)
    return tts.encode(samples, fmt), len(samples) / fmt.sample_rate


async def speak_rest(request: Request) -> Response:
    """POST /v1/speak: JSON ``{"text"}`` -> audio in the requested encoding/container."""
    request_id = str(uuid.uuid4())
    opts = None
    try:
        opts = _options(request.query_params)
        voice = tts.voice_for(opts["model"], opts["speed"])
        fmt = tts.resolve_format(opts["encoding"], opts["container"], opts["sample_rate"], opts["bit_rate"])
        if opts["callback"]:
            raise EngineError(400, BAD_REQUEST, "callback is not supported by the local engine's /v1/speak; "
                                                "leave it out to receive the audio in the reply")
        text = await _read_text(request)
        body, duration = await run_in_threadpool(_render, text, voice, fmt)
    except EngineError as exc:
        _record(request, request_id, "/v1/speak", exc.status, err_code=exc.err_code)
        return error_response(exc.status, exc.err_code, exc.err_msg, request_id)
    _record(request, request_id, "/v1/speak", 200, model=voice.model, duration=duration, tags=opts["tags"],
            characters=len(text))
    principal = request.scope.get("dgnb.principal")
    headers = {
        "dg-request-id": request_id,
        "dg-model-name": voice.model,
        "dg-model-uuid": tts.model_uuid(voice.model),
        "dg-char-count": str(len(text)),
    }
    if principal is not None:
        headers["dg-project-id"] = principal.project_id

    async def chunks():
        step = 64 * 1024
        for i in range(0, len(body), step):
            yield body[i:i + step]

    return StreamingResponse(chunks(), media_type=fmt.content_type, headers=headers)


# --------------------------------------------------------------------------- WebSocket

def split_sentences(buffer: str) -> tuple[list[str], str]:
    """Complete sentences at the start of ``buffer`` and the unfinished rest."""
    done, start = [], 0
    for m in _SENTENCE_END.finditer(buffer):
        piece = buffer[start:m.end()].strip()
        if piece:
            done.append(piece)
        start = m.end()
    return done, buffer[start:]


class _Session:
    """One WebSocket: a reader (client messages) and a speaker task (synthesis + audio frames).

    Work items carry the "generation" they were queued in; Clear starts a new generation, so the
    speaker drops everything older, including audio of a sentence it is half-way through sending.
    """

    def __init__(self, ws: WebSocket, voice: tts.Voice, fmt: tts.Format, request_id: str):
        self.ws, self.voice, self.fmt, self.request_id = ws, voice, fmt, request_id
        self.buffer = ""
        self.generation = 0
        self.flushes = 0
        self.clears = 0
        self.queue: asyncio.Queue = asyncio.Queue()
        self.send_lock = asyncio.Lock()
        self.seconds = 0.0
        self.characters = 0

    async def send_json(self, data: dict) -> None:
        async with self.send_lock:
            await self.ws.send_text(json.dumps(data))

    async def warn(self, description: str, code: str) -> None:
        await self.send_json({"type": "Warning", "description": description, "code": code})

    async def speaker(self) -> None:
        while True:
            kind, gen, payload = await self.queue.get()
            if kind == "stop":
                return
            if kind == "event":  # Flushed / Cleared go out after all audio queued before them
                await self.send_json(payload)
                continue
            if gen != self.generation:
                continue
            samples = await run_in_threadpool(tts.synthesize, payload, self.voice, self.fmt.sample_rate)
            step = max(1, int(self.fmt.sample_rate * CHUNK_SECONDS))
            for i in range(0, len(samples), step):
                if gen != self.generation:
                    break
                piece = samples[i:i + step]
                async with self.send_lock:
                    await self.ws.send_bytes(tts.encode_stream_chunk(piece, self.fmt.encoding))
                self.seconds += len(piece) / self.fmt.sample_rate
                await asyncio.sleep(0)  # let the reader see a Clear between chunks

    def speak_complete_sentences(self) -> None:
        sentences, self.buffer = split_sentences(self.buffer)
        for s in sentences:
            self.queue.put_nowait(("text", self.generation, s))

    def flush(self) -> None:
        self.speak_complete_sentences()
        rest, self.buffer = self.buffer.strip(), ""
        if rest:
            self.queue.put_nowait(("text", self.generation, rest))

    async def handle(self, raw: str) -> bool:
        """One client text message; False when the client asked to close."""
        try:
            msg = json.loads(raw)
        except json.JSONDecodeError:
            await self.warn("the message is not valid JSON", "INVALID_JSON")
            return True
        kind = msg.get("type") if isinstance(msg, dict) else None
        if kind == "Speak":
            text = msg.get("text")
            if not isinstance(text, str):
                await self.warn('a Speak message needs a "text" string', "INVALID_MESSAGE")
            elif len(text) > tts.MAX_CHARACTERS:
                await self.warn(f"a Speak message may hold at most {tts.MAX_CHARACTERS} characters; "
                                f"this one had {len(text)}", "TEXT_LENGTH_EXCEEDED")
            else:
                self.characters += len(text)
                self.buffer += text
                self.speak_complete_sentences()
        elif kind == "Flush":
            self.flush()
            self.queue.put_nowait(("event", self.generation, {"type": "Flushed", "sequence_id": self.flushes}))
            self.flushes += 1
        elif kind == "Clear":
            self.buffer = ""
            self.generation += 1
            self.queue.put_nowait(("event", self.generation, {"type": "Cleared", "sequence_id": self.clears}))
            self.clears += 1
        elif kind == "Close":
            self.flush()
            return False
        else:
            await self.warn(f"unknown message type {kind!r}; expected Speak, Flush, Clear or Close", "UNKNOWN_MESSAGE_TYPE")
        return True


async def speak_websocket(ws: WebSocket) -> None:
    """WebSocket /v1/speak."""
    request_id = str(uuid.uuid4())
    try:
        opts = _options(ws.query_params)
        voice = tts.voice_for(opts["model"], opts["speed"])
        fmt = tts.resolve_format(opts["encoding"], opts["container"], opts["sample_rate"], None, websocket=True)
    except EngineError as exc:
        _record(ws, request_id, "/v1/speak", exc.status, err_code=exc.err_code)
        await ws.send_denial_response(error_response(exc.status, exc.err_code, exc.err_msg, request_id))
        return
    await ws.accept(subprotocol=ws.scope.get("dgnb.subprotocol"), headers=[(b"dg-request-id", request_id.encode())])
    session = _Session(ws, voice, fmt, request_id)
    await session.send_json({"type": "Metadata", "request_id": request_id, "model_name": voice.model,
                             "model_version": "espeak-ng", "model_uuid": tts.model_uuid(voice.model)})
    speaker = asyncio.create_task(session.speaker())
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            if message.get("text") is not None:
                if not await session.handle(message["text"]):
                    break
            elif message.get("bytes") is not None:
                await session.warn("binary messages are not accepted; send JSON text messages", "INVALID_MESSAGE")
            if speaker.done():
                break
        session.queue.put_nowait(("stop", session.generation, None))
        await speaker
        await ws.close(1000)
    except (WebSocketDisconnect, RuntimeError):
        pass
    except Exception:  # the client went away mid-send, or synthesis failed: end this socket only
        log.debug("speak websocket %s ended early", request_id, exc_info=True)
    finally:
        if not speaker.done():
            speaker.cancel()
        _record(ws, request_id, "/v1/speak", 101, model=voice.model, duration=session.seconds, tags=opts["tags"],
                characters=session.characters)


def routes() -> list:
    """The /v1/speak routes, for the app to mount."""
    return [Route("/v1/speak", speak_rest, methods=["POST"]), WebSocketRoute("/v1/speak", speak_websocket)]
