"""The voice agent on the local engine: WebSocket ``/v1/agent/converse`` in Deepgram's protocol.

On connect the server sends ``Welcome``; the client's first message must be ``Settings``
(validated by :mod:`dgnb.local.agent_settings`; a bad one gets an ``Error`` and the socket
closes), answered by ``SettingsApplied``. Then:

* **listen**: binary user audio is decoded, cut into utterances by VAD endpointing and transcribed
  (:class:`dgnb.local.models.streaming.ChannelSegmenter`, the same as live /v1/listen); speech onset sends
  ``UserStartedSpeaking``. ``InjectUserMessage`` gives a user turn as text. ``ForceEndTurn`` ends the user's
  turn where the audio received so far ends, with a Flux (``version: "v2"``) listen provider; with another it
  is answered by a ``FORCE_END_TURN_UNSUPPORTED`` Warning, as Deepgram does.
* **think**: a registered Python function (provider type ``python``) or the rule-based responder
  (:mod:`dgnb.local.models.think`); a list of think sections falls back in order when one fails. Function
  calls go to the client as ``FunctionCallRequest`` and come back as ``FunctionCallResponse``; a
  function declared with an ``endpoint`` is called by the server over HTTP instead.
* **speak**: each reply is spoken by the local TTS and streamed as binary audio in
  ``audio.output``'s encoding.

Each user turn sends, in the order recorded from Deepgram: ``ConversationText`` (user),
``History``, ``EndOfThought``, any ``FunctionCallRequest`` + ``History`` (function_calls), then per
reply ``ConversationText`` (assistant) + ``History`` (``AgentStartedSpeaking`` before the first
reply's audio), and ``AgentAudioDone`` after the last audio. ``InjectAgentMessage`` and the
greeting speak without thinking. ``UpdatePrompt``/``UpdateSpeak``/``UpdateThink``/``UpdateListen``
are acknowledged with ``PromptUpdated``/``SpeakUpdated``/``ThinkUpdated``/``ListenUpdated``.
"""
from __future__ import annotations

import asyncio
import functools
import inspect
import json
import logging
import time
import uuid

import numpy as np
from anyio import to_thread
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from ..models import streaming, think as think_mod, tts
from ..wire.agent_settings import HOSTED_THINK_MODELS, INVALID, UNPARSABLE, AgentConfig, SettingsError, parse_settings, parse_speak, parse_think
from ..wire.errors import EngineError

log = logging.getLogger("dgnb.local.agent")

PATH = "/v1/agent/converse"
AUDIO_CHUNK_SECONDS = 0.2
ENDPOINTING = 0.6  # seconds of silence that end the user's turn
MAX_FUNCTION_ROUNDS = 8
_ACKS = {"UpdatePrompt": "PromptUpdated", "UpdateSpeak": "SpeakUpdated", "UpdateThink": "ThinkUpdated",
         "UpdateListen": "ListenUpdated"}
_CLIENT_TYPES = ("Settings", "KeepAlive", "InjectUserMessage", "InjectAgentMessage", "FunctionCallResponse",
                 "ForceEndTurn", *_ACKS)


def registry_of(app) -> think_mod.Registry:
    """The app's think-function registry (``create_app(think=...)``), made on first use if absent."""
    registry = getattr(app.state, "agent_think", None)
    if not isinstance(registry, think_mod.Registry):
        registry = think_mod.Registry(registry)
        app.state.agent_think = registry
    return registry


async def converse_websocket(ws: WebSocket) -> None:
    """WebSocket /v1/agent/converse (auth is done by the app's middleware)."""
    request_id = str(uuid.uuid4())
    await ws.accept(subprotocol=ws.scope.get("dgnb.subprotocol"), headers=[(b"dg-request-id", request_id.encode())])
    session = AgentSession(ws, request_id)
    await session.run()


THINK_MODELS_PATH = "/v1/agent/settings/think/models"
END_TURN = object()  # queued with the user's audio by ForceEndTurn: the turn ends where the audio so far ends


def routes() -> list:
    """The voice agent's routes, for the app to mount."""
    return [WebSocketRoute(PATH, converse_websocket), Route(THINK_MODELS_PATH, think_models, methods=["GET"])]


async def think_models(request) -> JSONResponse:
    """``GET /v1/agent/settings/think/models`` (no key needed, as on Deepgram), in Deepgram's shape:
    ``models`` lists the hosted models Deepgram lists (a Settings message may name them; here the
    rule-based responder answers for them, with a Warning), and ``local_models`` (this engine's own key,
    which the SDKs keep as an extra field) its rule-based responder and each registered Python think
    function (provider ``python``, id its name)."""
    hosted = [{"id": mid, "name": name, "provider": provider} for provider, mid, name in HOSTED_THINK_MODELS]
    local = [{"id": "rule-based", "name": "dgnb rule-based responder", "provider": "rule_based"}]
    try:
        names = sorted(registry_of(request.app).all())
    except (ValueError, TypeError):  # a bad DGNB_AGENT_THINK: said when a Settings message names one
        names = []
    local += [{"id": name, "name": f"Python think function {name}", "provider": "python"} for name in names]
    return JSONResponse({"models": hosted, "local_models": local})


class _Fatal(Exception):
    """End the session after an Error event."""

    def __init__(self, code: str, description: str, close_code: int = 1008):
        self.code, self.description, self.close_code = code, description, close_code


class AgentSession:
    """One conversation: a reader (client messages), a listener (user audio) and a turn worker."""

    def __init__(self, ws: WebSocket, request_id: str):
        self.ws = ws
        self.engine = ws.app.state.engine
        self.registry = registry_of(ws.app)
        self.request_id = request_id
        self.cfg: AgentConfig | None = None
        self.send_lock = asyncio.Lock()
        self.closed = False
        self.turns: asyncio.Queue = asyncio.Queue()
        self.audio_in: asyncio.Queue = asyncio.Queue()
        self.pending_calls: dict[str, asyncio.Future] = {}
        self.conversation: list[dict] = []  # what think functions see
        self.busy = False  # a turn is being thought about or spoken
        self.interrupted = False
        self.user_speaking = False
        self.decoder = None
        self.segmenter: streaming.ChannelSegmenter | None = None
        self.pending_text: list[str] = []
        self.loop = asyncio.get_running_loop()
        self.started = time.monotonic()
        self.status, self.err_code = 200, None
        self.tasks: list[asyncio.Task] = []

    # ------------------------------------------------------------------ sending
    async def send(self, message: dict) -> None:
        if self.closed:
            return
        async with self.send_lock:
            await self.ws.send_text(json.dumps(message))

    async def send_audio(self, data: bytes) -> None:
        if self.closed:
            return
        async with self.send_lock:
            await self.ws.send_bytes(data)

    async def warn(self, code: str, description: str) -> None:
        await self.send({"type": "Warning", "description": description, "code": code})

    async def error(self, code: str, description: str) -> None:
        await self.send({"type": "Error", "description": description, "code": code})

    async def history(self, entry: dict) -> None:
        if self.cfg is not None and self.cfg.history:
            await self.send({"type": "History", **entry})

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        try:
            await self.ws.close(code=code, reason=reason[:120])
        except Exception:  # the client may be gone already
            pass

    # ------------------------------------------------------------------ the session
    async def run(self) -> None:
        try:
            await self.send({"type": "Welcome", "request_id": self.request_id})
            await self._read()
        except _Fatal as exc:
            self.status, self.err_code = (408 if exc.code == "CLIENT_MESSAGE_TIMEOUT" else 400), exc.code
            await self.error(exc.code, exc.description)
            await self.close(exc.close_code, exc.code)
        except Exception:
            log.exception("agent session %s failed", self.request_id)
            self.status, self.err_code = 500, "INTERNAL_SERVER_ERROR"
            await self.error("INTERNAL_SERVER_ERROR", "the local engine failed while running the agent")
            await self.close(1011, "internal error")
        finally:
            for task in self.tasks:
                task.cancel()
            for future in self.pending_calls.values():
                future.cancel()
            await self.close()
            await to_thread.run_sync(self._record)

    async def _read(self) -> None:
        timeout = self.engine.settings.agent_idle_timeout
        while True:
            try:
                message = await asyncio.wait_for(self.ws.receive(), timeout)
            except asyncio.TimeoutError:
                raise _Fatal("CLIENT_MESSAGE_TIMEOUT", f"no message from the client for {timeout:g} s; send audio "
                                                       "or KeepAlive messages", 1011) from None
            if message["type"] == "websocket.disconnect":
                self.closed = True
                return
            if message.get("bytes") is not None:
                if self.cfg is None:
                    raise _Fatal("NON_SETTINGS_MESSAGE_BEFORE_SETTINGS", "audio arrived before the Settings message; "
                                                                         "send Settings first")
                self.audio_in.put_nowait(message["bytes"])
            elif message.get("text") is not None:
                await self._handle_text(message["text"])
            for task in self.tasks:  # a worker that died takes the session with it
                if task.done() and not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]

    async def _handle_text(self, text: str) -> None:
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        kind = msg.get("type") if isinstance(msg, dict) else None
        if kind not in _CLIENT_TYPES:
            problem = "is not JSON" if msg is None else "has no string 'type'" if not isinstance(kind, str) else \
                f"has an unknown type {kind!r} (expected one of {', '.join(_CLIENT_TYPES)})"
            if self.cfg is None:
                raise _Fatal(UNPARSABLE, f"the client message {problem}")
            await self.error(UNPARSABLE, f"the client message {problem}")
            return
        if self.cfg is None and kind not in ("Settings", "KeepAlive"):
            raise _Fatal("NON_SETTINGS_MESSAGE_BEFORE_SETTINGS", f"{kind} arrived before the Settings message; "
                                                                 "send Settings first")
        if kind == "KeepAlive":
            return
        if kind == "Settings":
            await self._settings(msg)
            return
        try:
            await self._dispatch(kind, msg)
        except SettingsError as exc:
            await self.error(exc.code, exc.description)

    async def _settings(self, msg: dict) -> None:
        if self.cfg is not None:
            await self.error("SETTINGS_ALREADY_APPLIED", "Settings were already applied in this session; use "
                                                         "UpdatePrompt, UpdateSpeak or UpdateThink to change them")
            return
        try:
            msg = await to_thread.run_sync(self._stored_agent, msg)
            cfg = parse_settings(msg, self.registry.problem)
            self.decoder = streaming.make_decoder(cfg.input_encoding, cfg.input_rate, 1)
        except SettingsError as exc:
            raise _Fatal(exc.code, exc.description) from None
        except EngineError as exc:
            raise _Fatal(INVALID, f"audio.input: {exc.err_msg}") from None
        self.cfg = cfg
        self.conversation = _context_messages(cfg.context)
        config = streaming.SegmenterConfig(interim_results=False, endpointing=ENDPOINTING, vad_events=True,
                                           max_segment=15.0)
        self.segmenter = streaming.ChannelSegmenter(self._transcribe, config)
        await self.send({"type": "SettingsApplied"})
        for code, description in cfg.warnings:
            await self.warn(code, description)
        self.tasks.append(asyncio.create_task(self._listen(), name="dgnb-agent-listen"))
        self.tasks.append(asyncio.create_task(self._work(), name="dgnb-agent-turns"))
        if cfg.greeting:
            self.turns.put_nowait(("agent", cfg.greeting))

    def _stored_agent(self, msg: dict) -> dict:
        """Settings with ``agent`` as a stored configuration's id replaced by its block, and the project's
        ``DG_*`` variables put in (:mod:`..ledger.agents`)."""
        principal = self.ws.scope.get("dgnb.principal")
        if principal is None or "agent" not in msg:
            return msg
        try:
            return {**msg, "agent": self.engine.ledger.resolve_agent(principal.project_id, msg["agent"])}
        except EngineError as exc:
            raise SettingsError(INVALID, f"agent: {exc.err_msg}") from None

    async def _dispatch(self, kind: str, msg: dict) -> None:
        cfg = self.cfg
        assert cfg is not None
        if kind == "InjectUserMessage":
            content = msg.get("content")
            if not isinstance(content, str) or not content.strip():
                raise SettingsError(UNPARSABLE, "InjectUserMessage needs a non-empty string 'content'")
            self.turns.put_nowait(("user", content.strip(), time.monotonic()))
        elif kind == "InjectAgentMessage":
            text = msg.get("message")
            behavior = msg.get("behavior") or "default"
            if not isinstance(text, str) or not text.strip():
                raise SettingsError(UNPARSABLE, "InjectAgentMessage needs a non-empty string 'message'")
            if behavior not in ("default", "queue", "interrupt"):
                raise SettingsError(UNPARSABLE, f"InjectAgentMessage behavior {behavior!r} is not one of default, queue, interrupt")
            if behavior == "default" and (self.busy or not self.turns.empty() or self.user_speaking):
                who = "the user is speaking" if self.user_speaking else "the agent is thinking or speaking"
                await self.send({"type": "InjectionRefused", "message": f"InjectAgentMessage was refused because {who}"})
                return
            if behavior == "interrupt" and self.busy:
                self.interrupted = True
            self.turns.put_nowait(("agent", text.strip()))
        elif kind == "FunctionCallResponse":
            call_id = msg.get("id")
            content = msg.get("content")
            if not isinstance(content, str):
                content = json.dumps(content)
            future = self.pending_calls.get(call_id) if isinstance(call_id, str) else None
            if future is None:
                await self.warn("FUNCTION_CALL_UNKNOWN", f"FunctionCallResponse for an unknown or finished call id {call_id!r}")
            elif not future.done():
                future.set_result(content)
        elif kind == "UpdatePrompt":
            prompt = msg.get("prompt")
            if not isinstance(prompt, str):
                raise SettingsError(UNPARSABLE, "UpdatePrompt needs a string 'prompt'")
            for section in cfg.think:
                section["prompt"] = prompt
            await self.send({"type": "PromptUpdated"})
        elif kind == "UpdateSpeak":
            if "speak" not in msg:
                raise SettingsError(UNPARSABLE, "missing required field UpdateSpeak.speak")
            cfg.voice, warnings = parse_speak(msg["speak"], "UpdateSpeak.speak")
            await self.send({"type": "SpeakUpdated"})
            for code, description in warnings:
                await self.warn(code, description)
        elif kind == "UpdateThink":
            if "think" not in msg:
                raise SettingsError(UNPARSABLE, "missing required field UpdateThink.think")
            cfg.think, warnings = parse_think(msg["think"], "UpdateThink.think", self.registry.problem)
            await self.send({"type": "ThinkUpdated"})
            for code, description in warnings:
                await self.warn(code, description)
        elif kind == "ForceEndTurn":
            if cfg.listen_version != "v2":
                await self.warn("FORCE_END_TURN_UNSUPPORTED", "ForceEndTurn needs a Deepgram V2 (Flux) listen provider: "
                                "set agent.listen.provider.version to 'v2' in Settings; the turn goes on")
            else:
                self.audio_in.put_nowait(END_TURN)  # read after the audio already received
        elif kind == "UpdateListen":
            provider = (msg.get("listen") or {}).get("provider") or {}
            cfg.keyterms = list(provider.get("keyterms") or cfg.keyterms)
            await self.send({"type": "ListenUpdated"})

    # ------------------------------------------------------------------ listening
    def _transcribe(self, samples: np.ndarray, offset: float) -> list:
        hotwords = " ".join(self.cfg.keyterms) if self.cfg and self.cfg.keyterms else None
        return self.engine.recognizer.transcribe(samples, offset=offset, hotwords=hotwords, quick=True)

    def _step(self, data) -> list:
        """The listener's events for the next audio received, or for ending the turn (ForceEndTurn)."""
        return self.segmenter.finalize() if data is END_TURN else self._feed(data)

    def _feed(self, data: bytes) -> list:
        samples = self.decoder.feed(data)
        if samples.shape[1] == 0:
            return []
        mono = samples[0] if samples.shape[0] == 1 else samples.mean(axis=0).astype(np.float32)
        return self.segmenter.feed(mono)

    async def _listen(self) -> None:
        while True:
            data = await self.audio_in.get()
            forced = data is END_TURN
            if forced and not (self.user_speaking or self.pending_text):
                continue  # no user turn under way: ForceEndTurn is ignored
            try:
                events = await to_thread.run_sync(self._step, data)
            except EngineError as exc:
                await self.error("USER_AUDIO_FORMAT", exc.err_msg)
                continue
            for ev in events:
                if ev.kind == "speech_started":
                    self.user_speaking = True
                    if self.busy:
                        self.interrupted = True  # barge-in: stop sending the agent's audio
                    await self.send({"type": "UserStartedSpeaking"})
                elif ev.kind == "results" and ev.is_final:
                    text = " ".join(w.get("punctuated_word") or w["word"] for w in ev.words).strip()
                    if text:
                        self.pending_text.append(text)
                    if ev.speech_final or forced:
                        self.user_speaking = False
                        if self.pending_text:
                            self.turns.put_nowait(("user", " ".join(self.pending_text), time.monotonic()))
                            self.pending_text = []

    # ------------------------------------------------------------------ turns
    async def _work(self) -> None:
        while True:
            item = await self.turns.get()
            self.busy, self.interrupted = True, False
            try:
                if item[0] == "user":
                    await self._user_turn(item[1], item[2])
                else:
                    await self._say([item[1]], started=None)
            finally:
                self.busy = not self.turns.empty()

    async def _user_turn(self, text: str, heard_at: float) -> None:
        cfg = self.cfg
        assert cfg is not None
        await self.send({"type": "ConversationText", "role": "user", "content": text})
        await self.history({"role": "user", "content": text})
        await self.send({"type": "EndOfThought"})
        before = list(self.conversation)
        self.conversation.append({"role": "user", "content": text})
        for i, section in enumerate(cfg.think):  # one provider, or several: each next one is a fallback
            try:
                answers = await self._think(section, text, before)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.info("think provider %d failed: %s", i, exc, exc_info=True)
                fallback = "; trying the next think provider" if i + 1 < len(cfg.think) else ""
                await self.warn("THINK_REQUEST_FAILED", f"{exc}{fallback}")
                continue
            await self._say(answers, started=heard_at)
            return

    async def _think(self, section: dict, text: str, before: list[dict]) -> list[str]:
        """The replies of one think section to the user's ``text`` (raises what the think function raises)."""
        provider = section["provider"]
        turn = think_mod.Turn(text=text, messages=before, prompt=section.get("prompt"),
                              functions=list(section.get("functions") or []), provider=dict(provider))
        turn._call = functools.partial(self._call_blocking, section)
        turn._acall = functools.partial(self._call_function, section)
        turn._think_aloud = lambda content: asyncio.run_coroutine_threadsafe(
            self.send({"type": "AgentThinking", "content": content}), self.loop)
        fn = self.registry.find(provider.get("function")) if provider["type"] == "python" else think_mod.rule_based
        if fn is None:
            raise LookupError(self.registry.problem(provider.get("function")) or "no think function")
        try:
            if inspect.iscoroutinefunction(fn):
                result = await fn(turn)
            else:
                result = await to_thread.run_sync(fn, turn)
                if inspect.isawaitable(result):
                    result = await result
            return think_mod.replies(result)
        except Exception as exc:
            name = getattr(fn, "__name__", "think")
            raise RuntimeError(f"the think function {name!r} raised {type(exc).__name__}: {exc}") from exc

    async def _say(self, answers: list[str], *, started: float | None) -> None:
        """ConversationText + History per answer, its audio, then AgentAudioDone."""
        from .speak import split_sentences

        cfg = self.cfg
        assert cfg is not None
        thought_at = time.monotonic()
        first = True
        spoke = False
        for answer in answers:
            await self.send({"type": "ConversationText", "role": "assistant", "content": answer})
            await self.history({"role": "assistant", "content": answer})
            self.conversation.append({"role": "assistant", "content": answer})
            sentences, rest = split_sentences(answer + " ")
            for sentence in sentences + ([rest.strip()] if rest.strip() else []):
                if self.interrupted:
                    break
                for piece in _pieces(sentence, tts.MAX_CHARACTERS):
                    samples = await to_thread.run_sync(tts.synthesize, piece, cfg.voice, cfg.output.sample_rate)
                    if first and started is not None:
                        done = time.monotonic()
                        await self.send({"type": "AgentStartedSpeaking", "total_latency": round(done - started, 6),
                                         "tts_latency": round(done - thought_at, 6),
                                         "ttt_latency": round(thought_at - started, 6)})
                    first = False
                    step = max(1, int(cfg.output.sample_rate * AUDIO_CHUNK_SECONDS))
                    for i in range(0, len(samples), step):
                        if self.interrupted:
                            break
                        await self.send_audio(tts.encode_stream_chunk(samples[i:i + step], cfg.output.encoding))
                        spoke = True
                        await asyncio.sleep(0)
        if spoke or answers:
            await self.send({"type": "AgentAudioDone"})

    # ------------------------------------------------------------------ function calls
    def _call_blocking(self, section: dict, name: str, arguments: dict) -> str:
        """``Turn.call`` from a think function running in a worker thread."""
        future = asyncio.run_coroutine_threadsafe(self._call_function(section, name, arguments), self.loop)
        return future.result()

    async def _call_function(self, section: dict, name: str, arguments: dict) -> str:
        """Call a function declared in ``section`` (the think section answering the turn)."""
        declared = {f.get("name"): f for f in section.get("functions") or []}
        if name not in declared:
            raise ValueError(f"function {name!r} is not declared in agent.think.functions "
                             f"(declared: {', '.join(declared) or 'none'})")
        call_id = "call_" + uuid.uuid4().hex[:24]
        args = json.dumps(arguments)
        endpoint = declared[name].get("endpoint")
        await self.send({"type": "FunctionCallRequest", "functions": [
            {"id": call_id, "name": name, "arguments": args, "client_side": endpoint is None}]})
        if endpoint is None:
            future = self.loop.create_future()
            self.pending_calls[call_id] = future
            timeout = self.engine.settings.agent_function_timeout
            try:
                content = await asyncio.wait_for(future, timeout)
            except asyncio.TimeoutError:
                content = json.dumps({"error": f"no FunctionCallResponse within {timeout:g} s"})
                await self.warn("FUNCTION_CALL_FAILED", f"the client did not answer the call to {name!r} within {timeout:g} s")
            finally:
                self.pending_calls.pop(call_id, None)
        else:
            content = await to_thread.run_sync(_call_endpoint, endpoint, arguments)
            await self.send({"type": "FunctionCallResponse", "id": call_id, "name": name, "content": content})
        await self.history({"function_calls": [{"id": call_id, "name": name, "client_side": endpoint is None,
                                                "arguments": args, "response": content}]})
        self.conversation.append({"role": "function", "id": call_id, "name": name, "arguments": arguments,
                                  "content": content})
        return content

    # ------------------------------------------------------------------ accounting
    def _record(self) -> None:
        try:
            duration = self.decoder.duration if self.decoder is not None else 0.0
            self.engine.ledger.record_request(
                request_id=self.request_id, principal=self.ws.scope.get("dgnb.principal"), path=PATH, method="GET",
                status=self.status, duration=duration, channels=1, model=self.cfg.voice.model if self.cfg else None,
                features=["agent"], tags=self.cfg.tags if self.cfg else [], err_code=self.err_code)
        except Exception:
            log.exception("could not record agent session %s", self.request_id)


def _pieces(text: str, limit: int) -> list[str]:
    return [text[i:i + limit] for i in range(0, len(text), limit)] or [text]


def _context_messages(messages: list[dict]) -> list[dict]:
    """Settings' ``agent.context.messages`` (History items) as the think functions' conversation."""
    out = []
    for m in messages:
        if m.get("function_calls"):
            for call in m["function_calls"]:
                try:
                    arguments = json.loads(call.get("arguments") or "{}")
                except ValueError:
                    arguments = {}
                out.append({"role": "function", "id": call.get("id"), "name": call.get("name"),
                            "arguments": arguments, "content": call.get("response")})
        elif m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str):
            out.append({"role": m["role"], "content": m["content"]})
    return out


def _call_endpoint(endpoint: dict, arguments: dict) -> str:
    """A server-side function (declared with an ``endpoint``): one HTTP request, the body as the content."""
    import httpx

    try:
        response = httpx.request((endpoint.get("method") or "POST").upper(), endpoint["url"], json=arguments,
                                 headers=endpoint.get("headers") or {}, timeout=15.0)
        return response.text
    except httpx.HTTPError as exc:
        return json.dumps({"error": f"{type(exc).__name__}: {exc}"})
