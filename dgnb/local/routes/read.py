"""POST /v1/read on the local engine: text intelligence (sentiment, topics, intents, summary).

The body is ``{"text": "..."}`` or ``{"url": "https://..."}`` (a plain-text document). The
analysis is :mod:`dgnb.local.models.intelligence`, the same code /v1/listen uses, run on
``intelligence.words_from_text(text)``; the reply has Deepgram's /v1/read shape::

    {"metadata": {"request_id", "created", "language", "summary_info", "sentiment_info", ...},
     "results": {"summary": {"text"}, "sentiments": {"segments", "average"},
                 "topics": {"segments"}, "intents": {"segments"}}}
"""
from __future__ import annotations

import json
import logging
import os
import uuid

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..models import intelligence
from ..wire.bodies import json_object, read_body
from ..wire.errors import BAD_REQUEST, EngineError, error_body, error_response
from ..ledger import now_iso
from ..wire.options import parse_bool, unprocessable, validate_http_url

log = logging.getLogger("dgnb.local")
MAX_TEXT_BYTES = 1024 * 1024
FEATURES = ("summarize", "sentiment", "topics", "intents")
_NS = uuid.UUID("0b7c4a52-3d1e-4f7e-9c61-2f5a8e9d1b40")  # the namespace listen_rest uses for feature models
FEATURE_MODEL_UUIDS = {k: str(uuid.uuid5(_NS, k)) for k in ("summary", "sentiment", "topics", "intents")}


def parse_read_options(items) -> dict:
    """Query items -> options dict. Booleans as /v1/listen parses them (422 for a bad value)."""
    o = {"summarize": False, "sentiment": False, "topics": False, "intents": False, "custom_topic": [],
         "custom_intent": [], "custom_topic_mode": "extended", "custom_intent_mode": "extended",
         "language": "en", "callback": None, "callback_method": "POST", "tag": []}
    for key, value in items:
        if key == "summarize":
            v = value.strip().lower()
            o["summarize"] = True if v in ("v2", "v1") else parse_bool(key, value)
        elif key in ("sentiment", "topics", "intents"):
            o[key] = parse_bool(key, value)
        elif key in ("custom_topic", "custom_intent", "tag"):
            if value.strip():
                o[key].append(value.strip())
        elif key in ("custom_topic_mode", "custom_intent_mode"):
            mode = value.strip().lower()
            if mode not in ("strict", "extended"):
                raise unprocessable(f"{key}={value!r} must be 'strict' or 'extended'")
            o[key] = mode
        elif key == "language":
            o["language"] = value.strip().lower() or "en"
        elif key == "callback":
            o["callback"] = validate_http_url(value, "callback")
        elif key == "callback_method":
            method = value.strip().upper()
            if method not in ("POST", "PUT"):
                raise unprocessable(f"callback_method={value!r} must be POST or PUT")
            o["callback_method"] = method
    if o["language"] not in ("en", "en-us", "en-gb"):
        raise EngineError(400, BAD_REQUEST, f"language={o['language']!r} is not supported by /v1/read; only English ('en') is")
    # Deepgram: custom topics/intents imply the feature
    o["topics"] = o["topics"] or bool(o["custom_topic"])
    o["intents"] = o["intents"] or bool(o["custom_intent"])
    return o


async def _read_body(request: Request) -> dict:
    body = await read_body(request, MAX_TEXT_BYTES)
    return json_object(body, ("text", "url"), '{"text": "..."} or {"url": "https://..."}')


async def _fetch_text(engine, url: str) -> str:
    from .listen import fetch_url

    path = await fetch_url(url, MAX_TEXT_BYTES, engine.url_timeout, engine.tmp_dir)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    finally:
        os.unlink(path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise EngineError(400, "REMOTE_CONTENT_ERROR", "the document at the URL is not UTF-8 text") from None


def analyze(text: str, opts: dict, request_id: str) -> dict:
    """The /v1/read reply for ``text`` (runs in a worker thread)."""
    words = intelligence.words_from_text(text)
    if not words:
        raise EngineError(400, BAD_REQUEST, "the text is empty")
    n = len(words)
    metadata: dict = {"request_id": request_id, "created": now_iso(), "language": "en"}
    results: dict = {}
    if opts["summarize"]:
        summary = intelligence.summarize(words)
        results["summary"] = {"text": summary}
        metadata["summary_info"] = {"model_uuid": FEATURE_MODEL_UUIDS["summary"], "input_tokens": n,
                                    "output_tokens": len(summary.split())}
    if opts["sentiment"]:
        results["sentiments"] = intelligence.sentiment(words)
        metadata["sentiment_info"] = {"model_uuid": FEATURE_MODEL_UUIDS["sentiment"], "input_tokens": n, "output_tokens": 0}
    try:
        if opts["topics"]:
            results["topics"] = intelligence.topics(words, custom=opts["custom_topic"] or None, mode=opts["custom_topic_mode"])
            metadata["topics_info"] = {"model_uuid": FEATURE_MODEL_UUIDS["topics"], "input_tokens": n, "output_tokens": 0}
        if opts["intents"]:
            results["intents"] = intelligence.intents(words, custom=opts["custom_intent"] or None, mode=opts["custom_intent_mode"])
            metadata["intents_info"] = {"model_uuid": FEATURE_MODEL_UUIDS["intents"], "input_tokens": n, "output_tokens": 0}
    except ValueError as exc:  # bad custom mode
        raise unprocessable(str(exc)) from None
    if opts["tag"]:
        metadata["tags"] = list(opts["tag"])
    return {"metadata": metadata, "results": results}


def _record(engine, principal, request_id, status, opts=None, err_code=None, callback=None, characters=0) -> None:
    try:
        engine.ledger.record_request(
            request_id=request_id, principal=principal, path="/v1/read", status=status,
            features=[f for f in FEATURES if opts and opts.get(f)], tags=(opts or {}).get("tag", []),
            callback=callback, err_code=err_code, characters=characters)
    except Exception:  # usage accounting never breaks a request
        log.exception("could not record request %s", request_id)


async def _deliver(engine, principal, request_id: str, opts: dict, text: str | None, url: str | None) -> None:
    """Analyse after the reply went out, then POST (or PUT) the result to the callback."""
    import httpx

    status = 200
    try:
        if url is not None:
            text = await _fetch_text(engine, url)
        body = await run_in_threadpool(analyze, text, opts, request_id)
    except EngineError as exc:
        status, body = exc.status, error_body(exc.err_code, exc.err_msg, request_id)
    except Exception:
        log.exception("read callback %s failed", request_id)
        status, body = 500, error_body("INTERNAL_SERVER_ERROR", "the local engine failed to analyse the text", request_id)
    _record(engine, principal, request_id, status, opts, callback=opts["callback"], characters=len(text or ""))
    headers = {"dg-request-id": request_id, "content-type": "application/json"}
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            await client.request(opts["callback_method"], opts["callback"], content=json.dumps(body).encode(),
                                 headers=headers)
    except httpx.HTTPError:
        log.warning("could not deliver the callback for request %s", request_id)


async def read_rest(request: Request) -> Response:
    """POST /v1/read."""
    engine = request.app.state.engine
    principal = request.scope.get("dgnb.principal")
    request_id = str(uuid.uuid4())
    opts = None
    try:
        opts = parse_read_options(request.query_params.multi_items())
        data = await _read_body(request)
        text, url = data.get("text"), None
        if text is None:
            url = validate_http_url(data.get("url"), "url")
        elif not isinstance(text, str) or not text.strip():
            raise EngineError(400, BAD_REQUEST, '"text" is empty; send the text to analyse')
        if opts["callback"]:
            task = BackgroundTask(_deliver, engine, principal, request_id, opts, text, url)
            return JSONResponse({"request_id": request_id}, background=task, headers={"dg-request-id": request_id})
        if url is not None:
            text = await _fetch_text(engine, url)
        result = await run_in_threadpool(analyze, text, opts, request_id)
    except EngineError as exc:
        _record(engine, principal, request_id, exc.status, opts, err_code=exc.err_code)
        return error_response(exc.status, exc.err_code, exc.err_msg, request_id)
    _record(engine, principal, request_id, 200, opts, characters=len(text))
    return JSONResponse(result, headers={"dg-request-id": request_id})


def routes() -> list:
    """The /v1/read route, for the app to mount."""
    return [Route("/v1/read", read_rest, methods=["POST"])]
