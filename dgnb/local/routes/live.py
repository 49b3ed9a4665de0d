"""Live /v1/listen over WebSocket, speaking Deepgram's streaming protocol.

The client sends binary audio frames (raw with ``encoding``/``sample_rate``/``channels``, or a
container with no ``encoding``) and text control messages (``KeepAlive``, ``Finalize``,
``CloseStream``; an empty binary frame also closes). The server answers with ``Results``
(interim and final), ``SpeechStarted`` (``vad_events``), ``UtteranceEnd`` (``utterance_end_ms``)
and, when the stream closes, ``Metadata``; then it closes with 1000. With neither audio nor a
text message for ``engine.settings.live_idle_timeout`` seconds (10, as Deepgram), it sends an error and
closes with 1011.

Two tasks per connection: a reader that only receives (so the idle timer and control messages
never wait on recognition) and a processor that decodes, segments and transcribes in a worker
thread (:mod:`dgnb.local.models.streaming`), sending messages in order.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass

import numpy as np
from anyio import to_thread
from starlette.websockets import WebSocketDisconnect

from ...protocol.listen import CONFIGURE_FEATURES, KEYTERM_TOKEN_LIMIT, LIVE_ONLY_OPTIONS
from ..ledger import resumes
from ..text import words as text_words
from ..wire import options as listen_options
from ..models import streaming
from ..wire.errors import INVALID_AUTH, EngineError, error_response

log = logging.getLogger("dgnb.local.live")

NET0001 = "Deepgram did not receive audio data or a text message within the timeout window. See https://dpgr.am/net0001"
DATA0000 = "The payload cannot be decoded as audio. It is either not audio data or is a codec unsupported by Deepgram."


@dataclass
class LiveOptions:
    """Query options of a live stream: the shared /v1/listen ones plus the live-only ones."""

    listen: listen_options.ListenOptions
    segmenter: streaming.SegmenterConfig
    sample_rate: int | None
    channels: int


def parse_live_options(multi_items) -> LiveOptions:
    """Parse the handshake's query (raises EngineError 400/422 with a clear message)."""
    items = list(multi_items)
    shared = [(k, v) for k, v in items if k not in LIVE_ONLY_OPTIONS]
    live = {k: v for k, v in items if k in LIVE_ONLY_OPTIONS}
    opts = listen_options.parse_listen_options(shared)
    cfg = streaming.SegmenterConfig()
    if "interim_results" in live:
        cfg.interim_results = listen_options.parse_bool("interim_results", live["interim_results"])
    if "vad_events" in live:
        cfg.vad_events = listen_options.parse_bool("vad_events", live["vad_events"])
    if "endpointing" in live:
        value = live["endpointing"].strip().lower()
        if value in listen_options.FALSE:
            cfg.endpointing = None
        elif value in ("true", ""):
            cfg.endpointing = 0.010
        else:
            cfg.endpointing = listen_options._number("endpointing", value, int, 0, 60_000) / 1000.0
    if "utterance_end_ms" in live:
        value = live["utterance_end_ms"].strip().lower()
        if value not in listen_options.FALSE:
            cfg.utterance_end = listen_options._number("utterance_end_ms", value, int, 1, 60_000) / 1000.0
    from ..wire import audio

    sample_rate = audio.parse_sample_rate(opts.sample_rate)
    channels = audio.parse_channels(opts.channels) or 1
    return LiveOptions(opts, cfg, sample_rate, channels)


def _credentials(websocket) -> tuple[str | None, str | None]:
    """(Authorization header value, subprotocol to accept) from the handshake.

    Browsers cannot set headers on a WebSocket, so Deepgram also takes the key as the
    subprotocols ``token, <key>`` (or ``bearer, <token>``).
    """
    header = websocket.headers.get("authorization")
    if header:
        return header, None
    protocols = [p.strip() for p in websocket.scope.get("subprotocols") or []]
    if len(protocols) >= 2 and protocols[0].lower() in ("token", "bearer"):
        return f"{protocols[0]} {protocols[1]}", protocols[0]
    return None, None


async def _deny(websocket, status: int, err_code: str, err_msg: str) -> None:
    """Refuse the handshake with an HTTP error (Deepgram's body) or, failing that, close 1008."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(error_response(status, err_code, err_msg))
    else:
        await websocket.close(code=1008, reason=f"{err_code}: {err_msg}"[:120])


async def listen_websocket(websocket, parse=None, session_class=None) -> None:
    """The WebSocket /v1/listen endpoint (mounted by ``app.py``); another streaming protocol gives its own
    ``parse`` (query items -> :class:`LiveOptions`) and ``session_class``."""
    parse, session_class = parse or parse_live_options, session_class or LiveSession
    engine = websocket.app.state.engine
    principal = websocket.scope.get("dgnb.principal")  # set by app.py's auth middleware
    subprotocol = websocket.scope.get("dgnb.subprotocol")
    if principal is None:
        header, subprotocol = _credentials(websocket)
        principal = await to_thread.run_sync(engine.ledger.authenticate, header)
    if principal is None:
        await _deny(websocket, 401, INVALID_AUTH, "Invalid credentials.")
        return
    try:
        opts = parse(websocket.query_params.multi_items())
        decoder = streaming.make_decoder(opts.listen.encoding, opts.sample_rate, opts.channels)
    except EngineError as exc:
        await _deny(websocket, exc.status, exc.err_code, exc.err_msg)
        return
    await websocket.accept(subprotocol=subprotocol)
    session = session_class(websocket, engine, principal, opts, decoder)
    await session.run()


class LiveSession:
    """One live stream: reads frames, decodes, segments, transcribes and answers. A subclass speaks
    another streaming protocol over the same work (:mod:`.flux`): its control messages (:attr:`CONTROLS`),
    the messages it sends for the segmenter's events (:meth:`_send_events`), errors and closing messages."""

    PATH = "/v1/listen"  # what the ledger records
    #: text control messages -> what the processor does (``KeepAlive`` only restarts the idle clock)
    CONTROLS = {"Finalize": "finalize", "CloseStream": "close", "Configure": "configure"}

    def __init__(self, websocket, engine, principal, opts: LiveOptions, decoder):
        from ..ledger import now_iso

        self.ws = websocket
        self.engine = engine
        self.principal = principal
        self.opts = opts
        self.decoder = decoder
        self.recognizer = engine.recognizer
        self.request_id = str(uuid.uuid4())
        self.created = now_iso()
        self.sha = hashlib.sha256()
        self.segmenters: list[streaming.ChannelSegmenter] | None = None
        self.queue: asyncio.Queue = asyncio.Queue()
        self.send_lock = asyncio.Lock()
        self.status = 200
        self.err_code: str | None = None
        self.closed = False
        self._speakers = None  # a diarize.SpeakerTracker once diarize=true audio arrives
        self._last_final_word: dict[int, str] = {}  # per channel: the punctuated word that ended its last final
        self.hotwords = opts.listen.hotwords
        self.gone = False  # the client went without CloseStream
        self._resumable(principal)

    # ------------------------------------------------------------------ plumbing
    async def send(self, message: dict) -> None:
        if self.closed:
            return
        async with self.send_lock:  # in the order sent (a subclass may number them: _outgoing)
            await self.ws.send_text(json.dumps(self._outgoing(message)))

    def _outgoing(self, message: dict) -> dict:
        """A message as it goes out (called once per message sent, in order)."""
        return message

    async def close(self, code: int, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        try:
            await self.ws.close(code=code, reason=reason)
        except Exception:  # the client may already be gone
            pass

    async def run(self) -> None:
        reader = asyncio.create_task(self._read())
        try:
            await self._process()
        finally:
            reader.cancel()
            try:
                await reader
            except (asyncio.CancelledError, Exception):
                pass
            await to_thread.run_sync(self._record)

    async def _read(self) -> None:
        """Receive frames into the queue; the idle timer restarts on every frame."""
        timeout = self.engine.settings.live_idle_timeout
        while True:
            try:
                message = await asyncio.wait_for(self.ws.receive(), timeout)
            except asyncio.TimeoutError:
                await self.queue.put(("timeout", None))
                return
            except Exception:
                message = {"type": "websocket.disconnect"}
            kind = message.get("type")
            if kind == "websocket.disconnect":
                self.gone = True  # the audio still queued is not read: no one is there for its results
                await self.queue.put(("disconnect", None))
                return
            data = message.get("bytes")
            text = message.get("text")
            if data is not None:
                if len(data) == 0:
                    await self.queue.put(("close", None))
                    return
                await self.queue.put(("audio", data))
            elif text is not None:
                control = _control_type(text)
                if control == "KeepAlive":
                    continue
                kind = self.CONTROLS.get(control)
                await self.queue.put((kind, text) if kind else ("bad_text", text))
                if kind == "close":
                    return

    async def _process(self) -> None:
        try:
            while True:
                kind, payload = await self.queue.get()
                if self.gone:
                    kind = "disconnect"
                if kind == "audio":
                    self.sha.update(payload)
                    if self._tail is not None:
                        self._tail.append(payload)
                        self._head.append(payload)
                    events = await to_thread.run_sync(self._feed, payload)
                    await self._send_events(events)
                elif kind == "finalize":
                    events = await to_thread.run_sync(self._finalize)
                    await self._send_events(events)
                elif kind == "close":
                    events = await to_thread.run_sync(self._finish)
                    await self._send_events(events)
                    for message in self._closing_messages():
                        await self.send(message)
                    await self.close(1000)
                    return
                elif kind == "timeout":
                    self.status, self.err_code = 408, "NET-0001"
                    await self.send(self._error_message("NET-0001", NET0001))
                    await self.close(1011, NET0001)
                    return
                elif kind == "bad_text":
                    await self.send(self._bad_text_message(payload))
                elif kind == "disconnect":
                    self.closed = True
                    self._dropped()
                    return
                else:
                    await self._control(kind, payload)
        except WebSocketDisconnect:  # gone while we answered
            self.closed = True
            self._dropped()
        except EngineError as exc:  # undecodable audio
            self.status, self.err_code = exc.status, "DATA-0000"
            await self.send(self._error_message("DATA-0000", exc.err_msg))
            await self.close(1008, DATA0000[:120])
        except Exception:
            log.exception("live stream %s failed", self.request_id)
            self.status, self.err_code = 500, "INTERNAL_SERVER_ERROR"
            await self.close(1011, "The local engine failed while processing the stream.")

    def _resumable(self, principal) -> None:
        """Raw audio is held back a while (:mod:`..ledger.resumes`): if this stream drops, a stream that
        re-sends its end is billed once; if this stream re-sends one that dropped, the repeat is not billed."""
        from ...protocol.audio import BYTES_PER_SAMPLE

        encoding, rate = self.opts.listen.encoding, self.opts.sample_rate
        self._tail = self._head = None
        if encoding not in BYTES_PER_SAMPLE or not rate or principal is None:
            return
        self._audio_format = (encoding, rate, self.opts.channels)
        self._frame_bytes = BYTES_PER_SAMPLE[encoding] * self.opts.channels
        self._bytes_per_second = rate * self._frame_bytes
        hold = min(resumes.MAX_HOLD_BYTES, int(resumes.HOLD_SECONDS * self._bytes_per_second))
        self._tail, self._head = resumes.Tail(hold), resumes.Head(hold)

    def _dropped(self) -> None:
        """The client went without CloseStream: it may resume the stream on a new connection (once said)."""
        if self._tail is not None:
            self.engine.dropped_tails.dropped(self.principal.key_id, self._audio_format, self._tail.bytes(),
                                              self._frame_bytes, self.request_id)
            self._tail = resumes.Tail(0)

    def _billed_seconds(self) -> float:
        """The stream's audio, less what it repeats of a stream that dropped."""
        if self._head is None:
            return self.decoder.duration
        repeated = self.engine.dropped_tails.repeated(self.principal.key_id, self._audio_format, self._frame_bytes,
                                                      bytes(self._head.data), self.request_id)
        return max(0.0, self.decoder.duration - repeated / self._bytes_per_second)

    # ------------------------------------------------------------------ work (worker thread)
    def _transcribe(self, samples: np.ndarray, offset: float) -> list:
        return self.recognizer.transcribe(samples, offset=offset, hotwords=self.hotwords, quick=True)

    def _ensure_segmenters(self, n_channels: int) -> None:
        if self.segmenters is None:
            n = n_channels if self.opts.listen.multichannel else 1
            self.segmenters = [streaming.ChannelSegmenter(self._transcribe, self.opts.segmenter) for _ in range(n)]

    def _split(self, samples: np.ndarray) -> list[np.ndarray]:
        self._ensure_segmenters(samples.shape[0])
        if len(self.segmenters) == 1:
            mono = samples[0] if samples.shape[0] == 1 else samples.mean(axis=0).astype(np.float32)
            if self.opts.listen.diarize:
                self._tracker().add(mono)
            return [mono]
        return [samples[i] if i < samples.shape[0] else np.zeros(samples.shape[1], np.float32)
                for i in range(len(self.segmenters))]

    def _feed(self, data: bytes) -> list:
        samples = self.decoder.feed(data)
        if samples.shape[1] == 0:
            return []
        channels = self._split(samples)
        return [(i, ev) for i, (seg, chan) in enumerate(zip(self.segmenters, channels)) for ev in seg.feed(chan)]

    def _finalize(self) -> list:
        if self.segmenters is None:
            self._ensure_segmenters(self.opts.channels)
        return [(i, ev) for i, seg in enumerate(self.segmenters) for ev in seg.finalize(from_finalize=True)]

    def _finish(self) -> list:
        rest = self.decoder.close()
        out = []
        if rest.shape[1]:
            channels = self._split(rest)
            out.extend((i, ev) for i, (seg, chan) in enumerate(zip(self.segmenters, channels)) for ev in seg.feed(chan))
        if self.segmenters is None:
            self._ensure_segmenters(self.opts.channels)
        for i, seg in enumerate(self.segmenters):
            out.extend((i, ev) for ev in seg.finalize(from_finalize=False))
        return out

    # ------------------------------------------------------------------ messages
    async def _send_events(self, events: list) -> None:
        n = len(self.segmenters or [None])
        for channel, ev in events:
            if ev.kind == "results":
                message = await to_thread.run_sync(self._results_message, channel, n, ev)
            elif ev.kind == "speech_started":
                message = {"type": "SpeechStarted", "channel": [channel, n], "timestamp": ev.timestamp}
            else:
                message = {"type": "UtteranceEnd", "channel": [channel, n], "last_word_end": ev.timestamp}
            await self.send(message)

    def _tracker(self):
        if self._speakers is None:
            from ..models import diarize

            self._speakers = diarize.SpeakerTracker(max_speakers=self.opts.listen.max_speakers)
        return self._speakers

    def _diarize(self, words: list) -> list:
        """Speaker labels for a final's words: the stream's voices so far, labels never swapped."""
        from ..models import diarize

        if self._speakers is None:
            return words
        labelled = [dict(w) for w in words]
        try:
            diarize.assign_words(labelled, self._speakers.turns())
        except Exception:
            log.exception("live diarization failed")
            return words
        return labelled

    def _results_message(self, channel: int, n: int, ev) -> dict:
        diarize = self._diarize if ev.is_final else None
        words, _ = text_words.format_words(ev.words, self.opts.listen, diarize=diarize)
        words = text_words.as_sentences(words, self._last_final_word.get(channel))
        if ev.is_final and words:
            self._last_final_word[channel] = words[-1].get("punctuated_word", "")
        return {
            "type": "Results",
            "channel_index": [channel, n],
            "duration": round(ev.end - ev.start, 3),
            "start": round(ev.start, 3),
            "is_final": ev.is_final,
            "speech_final": ev.speech_final,
            "channel": text_words.channel(words, self.opts.listen),
            "metadata": {
                "request_id": self.request_id,
                "model_info": dict(self.recognizer.model_info),
                "model_uuid": self.recognizer.model_uuid,
            },
            "from_finalize": ev.from_finalize,
        }

    def _error_message(self, code: str, description: str) -> dict:
        return {"type": "Error", "err_code": code, "err_msg": description, "variant": code, "description": description,
                "request_id": self.request_id}

    def _bad_text_message(self, text: str) -> dict:
        return {"type": "Error", "variant": "SchemaError",
                "description": "text messages must be JSON with type KeepAlive, Finalize, Configure or CloseStream",
                "message": text[:1000]}

    async def _control(self, kind: str, text: str) -> None:
        """A control message other than Finalize and CloseStream: here ``Configure``."""
        if kind == "configure":
            await self.send(self._configure(json.loads(text)))

    def _configure(self, message: dict) -> dict:
        """``Configure``: replace the keyterms (an empty list clears them, none keeps them) and turn formatting
        features on or off, for the audio read from now on; ``ConfigureSuccess`` or ``ConfigureFailure``."""
        o = self.opts.listen
        keyterms, features = message.get("keyterms"), message.get("features") or {}

        def failure(code: str, description: str) -> dict:
            return {"type": "ConfigureFailure", "request_id": self.request_id, "code": code, "description": description}

        if keyterms is not None:
            if not isinstance(keyterms, list) or not all(isinstance(k, str) for k in keyterms):
                return failure("CONFIGURE_INVALID", "keyterms must be a list of strings")
            if o.model and not o.model.startswith("nova-3"):
                return failure("CONFIGURE_KEYTERMS_NOT_SUPPORTED", f"keyterms need a Nova-3 model, not {o.model!r}")
            if sum(len(k.split()) for k in keyterms) > KEYTERM_TOKEN_LIMIT:
                return failure("CONFIGURE_KEYTERM_LIMIT_EXCEEDED", f"keyterms hold over {KEYTERM_TOKEN_LIMIT} words")
        if not isinstance(features, dict) or not all(isinstance(v, bool) for v in features.values()):
            return failure("CONFIGURE_INVALID", "features must map feature names to true or false")
        unknown = sorted(set(features) - CONFIGURE_FEATURES)
        if unknown:
            return failure("CONFIGURE_INVALID", f"features may turn {', '.join(sorted(CONFIGURE_FEATURES))} on or "
                                                f"off, not {', '.join(unknown)}")
        if keyterms is not None:
            o.keyterm = [k.strip() for k in keyterms if k.strip()]
            self.hotwords = o.hotwords
        for name, on in features.items():
            setattr(o, name, on)
        return {"type": "ConfigureSuccess", "request_id": self.request_id, "keyterms": list(o.keyterm)}

    def _closing_messages(self) -> list[dict]:
        return [self._metadata()]

    def _metadata(self) -> dict:
        return {
            "type": "Metadata",
            "transaction_key": "deprecated",
            "request_id": self.request_id,
            "sha256": self.sha.hexdigest(),
            "created": self.created,
            "duration": round(self.decoder.duration, 6),
            "channels": len(self.segmenters) if self.segmenters and self.opts.listen.multichannel
            else (self.decoder.channels or 1) if hasattr(self.decoder, "channels") else 1,
            **text_words.model_metadata(self.recognizer),
        }

    def _record(self) -> None:
        try:
            o = self.opts.listen
            self.engine.ledger.record_request(
                request_id=self.request_id, principal=self.principal, path=self.PATH, method="GET",
                status=self.status, duration=self._billed_seconds(), channels=len(self.segmenters or [None]),
                model=self.recognizer.model_info.get("name"), model_uuid=self.recognizer.model_uuid,
                features=list(o.features) + [k for k in ("interim_results", "vad_events") if getattr(self.opts.segmenter, k)],
                tags=list(o.tag), sha256=self.sha.hexdigest(), err_code=self.err_code, created=self.created,
            )
        except Exception:
            log.exception("could not record live stream %s in the ledger", self.request_id)


def _control_type(text: str) -> str | None:
    try:
        message = json.loads(text)
    except ValueError:
        return None
    return message.get("type") if isinstance(message, dict) else None
