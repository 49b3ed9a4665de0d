"""The Voice Agent API (WebSocket ``/v1/agent/converse``): talk to an agent from a notebook.

>>> from dgnb.agent import Settings, Think, Speak
>>> def get_weather(location: str) -> dict:
...     '''Current weather for a city.'''
...     return {"conditions": "sunny", "temperature_c": 21}
>>> conn = dg.agent.connect(Settings(think=Think(prompt="Be brief.")), functions=[get_weather])  # doctest: +SKIP
>>> conn.inject_user_message("What's the weather in Paris?")      # doctest: +SKIP
>>> conn.wait_for("AgentAudioDone"); conn.conversation            # doctest: +SKIP
>>> conn.view()       # widget: the conversation, and the agent's voice   # doctest: +SKIP

One asyncio implementation (:class:`AsyncAgentConnection`) holds the protocol; the synchronous
:class:`AgentConnection` runs it on the background loop of :mod:`dgnb._core.loop` (as live listen does).
It sends ``KeepAlive`` while idle, answers ``FunctionCallRequest`` for client-side functions with
the registered Python callables (an exception becomes an error result, never a crash), keeps the
conversation as a DataFrame and the agent's audio as :class:`dgnb.SpeechAudio`.
"""
from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Mapping

from .._core import loop as _loop
from .namespace import Namespace, endpoint
from .._core.stream import EventHub, SyncEventStream, event_namer, read_frames, request_id_of
from .agent_settings import Function, Listen, Settings, Speak, Think, _section, declare_functions, settings_dict
from .._core.errors import DgnbError
from .listen.live import LiveMessage

if TYPE_CHECKING:
    import pandas as pd

    from ..results.speech_audio import SpeechAudio

__all__ = ["Agent", "AgentConnection", "AsyncAgentConnection", "AgentError", "Settings", "Think", "Speak", "Listen",
           "Function", "EVENTS"]

log = logging.getLogger("dgnb.agent")
PATH = "/v1/agent/converse"
DEFAULT_KEEPALIVE = 5.0  # seconds; Deepgram closes an idle agent socket after ~10 s
#: Event names for :meth:`AsyncAgentConnection.on`.
EVENTS = ("Open", "Welcome", "SettingsApplied", "ConversationText", "UserStartedSpeaking", "AgentThinking",
          "FunctionCallRequest", "FunctionCallResponse", "AgentStartedSpeaking", "AgentAudioDone", "History",
          "PromptUpdated", "SpeakUpdated", "ThinkUpdated", "ListenUpdated", "InjectionRefused", "Warning", "Error",
          "Audio", "Close", "Unhandled")


class AgentError(DgnbError):
    """The agent sent an ``Error`` (``code``, ``description``), or the session failed on the client."""

    def __init__(self, code: str | None, description: str):
        self.code, self.description = code, description
        super().__init__(f"{code}: {description}" if code else description)


# ================================================================= messages ===
class AgentMessage(LiveMessage):
    """A message from the agent: ``type`` plus the JSON (``.json``; ``msg["key"]``); ``.time`` received (UTC)."""

    def __init__(self, data: Mapping[str, Any], raw: str | None = None) -> None:
        super().__init__(data, raw)
        self.type = str(self.json.get("type") or "Unhandled")
        self.time = datetime.now(timezone.utc)

    def _fields(self) -> str:
        return "".join(f" {k}={v!r}" for k, v in list(self.json.items())[:4] if k != "type")

    def __repr__(self) -> str:
        return f"<{self.type}{self._fields()}>"


class ConversationText(AgentMessage):
    role = property(lambda self: str(self.json.get("role") or ""))
    content = property(lambda self: str(self.json.get("content") or ""))

    def _fields(self) -> str:
        return f" {self.role}: {self.content[:70]!r}"


class FunctionCall:
    """One function the agent wants called: ``id``, ``name``, ``arguments`` (parsed dict), ``client_side``."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.id = str(data.get("id") or "")
        self.name = str(data.get("name") or "")
        self.client_side = data.get("client_side") is not False
        raw = data.get("arguments")
        try:
            parsed = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            parsed = None
        self.arguments: dict = parsed if isinstance(parsed, dict) else {}
        self.raw_arguments = raw

    def __repr__(self) -> str:
        return f"FunctionCall({self.name}({self.arguments}), id={self.id!r})"


class FunctionCallRequest(AgentMessage):
    @property
    def functions(self) -> list[FunctionCall]:
        return [FunctionCall(f) for f in self.json.get("functions") or [] if isinstance(f, Mapping)]

    def _fields(self) -> str:
        return " " + ", ".join(f"{f.name}({f.arguments})" for f in self.functions)


class AgentStartedSpeaking(AgentMessage):
    total_latency = property(lambda self: float(self.json.get("total_latency") or 0.0))
    tts_latency = property(lambda self: float(self.json.get("tts_latency") or 0.0))
    ttt_latency = property(lambda self: float(self.json.get("ttt_latency") or 0.0))

    def _fields(self) -> str:
        return f" total_latency={self.total_latency:.3f}s"


class Problem(AgentMessage):
    """``Error`` or ``Warning``: ``code`` and ``description``."""

    code = property(lambda self: self.json.get("code") or self.json.get("err_code"))
    description = property(lambda self: str(self.json.get("description") or self.json.get("err_msg") or ""))

    def _fields(self) -> str:
        return f" {self.code}: {self.description[:80]!r}"


class AgentAudio(AgentMessage):
    """A chunk of the agent's speech (raw ``audio.output`` encoding): ``.data``."""

    def __init__(self, data: bytes) -> None:
        super().__init__({"type": "Audio", "bytes": len(data)})
        self.data = data

    def _fields(self) -> str:
        return f" {len(self.data)} bytes"


_MESSAGE_TYPES: dict[str, type[AgentMessage]] = {
    "ConversationText": ConversationText, "FunctionCallRequest": FunctionCallRequest,
    "AgentStartedSpeaking": AgentStartedSpeaking, "Error": Problem, "Warning": Problem,
}


def parse_message(frame: str | bytes) -> AgentMessage:
    """One server frame as a typed message (binary frames are :class:`AgentAudio`).

    >>> parse_message('{"type": "ConversationText", "role": "user", "content": "Hi"}')
    <ConversationText user: 'Hi'>
    """
    if isinstance(frame, (bytes, bytearray, memoryview)):
        return AgentAudio(bytes(frame))
    try:
        data = json.loads(frame)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return AgentMessage({"type": "Unhandled", "raw": frame[:1000]}, frame)
    return _MESSAGE_TYPES.get(data.get("type"), AgentMessage)(data, frame)


_event_name = event_namer("agent", EVENTS)


def _functions_map(functions: Any) -> dict[str, Callable]:
    if functions is None:
        return {}
    if isinstance(functions, Mapping):
        items = list(functions.items())
    elif callable(functions):
        items = [(functions.__name__, functions)]
    else:
        items = [(getattr(f, "__name__", None), f) for f in functions]
    out = {}
    for name, fn in items:
        if not callable(fn) or not name:
            raise TypeError(f"functions must be callables (or a dict name -> callable); got {fn!r}")
        out[str(name)] = fn
    return out


def _result_content(result: Any) -> str:
    if isinstance(result, str):
        return result
    try:
        return json.dumps(result, default=str)
    except (TypeError, ValueError):
        return str(result)


# ================================================================= the connection ===
class AsyncAgentConnection(EventHub):
    """A voice agent conversation (asyncio). Made by ``await dg.agent.connect(...)`` on ``AsyncClient``.

    Open when :meth:`start` returns: the server said ``SettingsApplied`` (an ``Error`` instead
    raises :class:`AgentError`). Events go to handlers added with :meth:`on` and to ``async for``.
    """

    _KIND, _LOG, _EVENTS, _DEFAULT_KEEPALIVE, _EXIT = "agent", log, EVENTS, DEFAULT_KEEPALIVE, ("close", "close")
    _event_name = staticmethod(_event_name)

    def __init__(self, config: Any, settings: Any = None, *, functions: Any = None, keepalive: bool | float = True,
                 open_timeout: float | None = None, extra_headers: Mapping[str, str] | None = None) -> None:
        self.functions = _functions_map(functions)
        self.settings = declare_functions(settings_dict(settings), self.functions)
        self._extra_headers = dict(extra_headers or {})
        self.events: list[AgentMessage] = []  #: every event, audio included, in arrival order
        # state: new -> open -> closed
        self._init_hub(config, self.events, keepalive=keepalive, open_timeout=open_timeout)
        output = (self.settings.get("audio") or {}).get("output") or {}
        self.output_encoding = str(output.get("encoding") or "linear16")
        self.output_sample_rate = int(output.get("sample_rate") or (24000 if self.output_encoding == "linear16" else 8000))
        self.messages: list[AgentMessage] = []  #: every JSON message from the server
        self.request_id: str | None = None
        self.error: Problem | None = None
        self.warnings: list[Problem] = []
        self.function_calls: list[dict] = []  #: calls answered here: id, name, arguments, content, error
        self._rows: list[tuple[str, str, datetime]] = []
        self._audio: list[bytes] = []  # all agent audio
        self._turn_audio: list[bytes] = []  # audio since the last AgentAudioDone
        self.replies: list["SpeechAudio"] = []  #: the agent's audio, one per AgentAudioDone
        self._frame_cache: tuple[int, Any] | None = None

    # ---- handlers -------------------------------------------------------------------------
    def on(self, event: Any, handler: Callable[[AgentMessage], Any]) -> Callable:
        """Call ``handler(message)`` on ``event`` (see :data:`EVENTS`; ``"Audio"`` gets :class:`AgentAudio`).
        Coroutine handlers are awaited; an exception in a handler is logged, never raised. Returns ``handler``."""
        self._subscribe(event, handler)
        return handler

    # ---- lifecycle ------------------------------------------------------------------------
    async def start(self, timeout: float | None = None) -> "AsyncAgentConnection":
        """Connect, send Settings and wait for ``SettingsApplied`` (raises :class:`AgentError` on an
        ``Error``, :class:`dgnb.ApiError` when the handshake is refused)."""
        if self.state != "new":
            return self
        from .._core.websocket import connect, target

        self._open_hub()
        url, headers = target(self._config, "agent", PATH, (), self._extra_headers)
        self._ws = await connect(url, headers, label=f"WebSocket {PATH}", open_timeout=self.open_timeout,
                                 compression=None)
        self.request_id = request_id_of(self._ws)
        self._enter("open")
        await self._record(AgentMessage({"type": "Open", "request_id": self.request_id, "url": url}), "Open")
        self._spawn(self._read(), "reader")
        await self.send_json(self.settings)
        try:
            await self.wait_for("SettingsApplied", timeout=timeout or self.open_timeout, after=0)
        except AgentError:
            await self.close()
            raise
        if self.keepalive_interval:
            self._spawn(self._keepalive(), "keepalive")
        return self

    async def close(self) -> None:
        """Close the conversation (the server ends the session)."""
        await super().close()

    # ---- sending --------------------------------------------------------------------------
    async def send_json(self, message: Mapping[str, Any]) -> None:
        """Send one JSON message as it is."""
        await self._send(json.dumps(dict(message)))

    async def _send(self, payload: str | bytes) -> None:
        from websockets.exceptions import ConnectionClosed

        if self.state == "new":
            raise RuntimeError("the agent connection is not open yet: await it or use 'async with'")
        if self.done or self._ws is None:
            raise AgentError("CLIENT-CLOSED", "the agent connection is closed" +
                             (f" ({self.error.code}: {self.error.description})" if self.error else ""))
        self._last_send = time.monotonic()
        try:
            await self._ws.send(payload)
        except ConnectionClosed:
            raise AgentError("CLIENT-CLOSED", "the agent connection is closed") from None

    async def send_audio(self, data: bytes | bytearray | memoryview) -> None:
        """Send user audio (``audio.input``'s encoding and sample rate)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"send_audio() takes audio bytes, not {type(data).__name__}")
        if len(data):
            await self._send(bytes(data))

    send = send_audio

    async def send_file(self, source: Any, *, realtime: bool = False, chunk_ms: float = 100,
                        trailing_silence: float = 1.5) -> None:
        """Speak an audio file (path or bytes) to the agent as the user, then ``trailing_silence``
        seconds of silence so the agent hears the end of the turn. Needs linear16 input."""
        pcm = _pcm_for(source, self.settings)
        rate = int(self.settings["audio"]["input"].get("sample_rate") or 24000)
        pcm += b"\x00\x00" * int(rate * trailing_silence)
        step = max(2, int(rate * chunk_ms / 1000) * 2)
        t0 = time.monotonic()
        for i in range(0, len(pcm), step):
            await self.send_audio(pcm[i:i + step])
            if realtime:
                ahead = t0 + (i + step) / (2 * rate) - time.monotonic()
                if ahead > 0:
                    await asyncio.sleep(ahead)

    async def keep_alive(self) -> None:
        await self.send_json({"type": "KeepAlive"})

    async def force_end_turn(self) -> None:
        """End the user's turn now, on the audio sent so far (push-to-talk release, a keypad press, your own
        turn detection). Needs a Flux listen provider (``listen.provider.version = "v2"``); with another the
        server answers with a ``FORCE_END_TURN_UNSUPPORTED`` warning. Ignored when no user turn is under way."""
        await self.send_json({"type": "ForceEndTurn"})

    async def inject_user_message(self, content: str) -> None:
        """Say ``content`` to the agent as the user (text instead of audio)."""
        await self.send_json({"type": "InjectUserMessage", "content": _text(content, "content")})

    async def inject_agent_message(self, message: str, behavior: str | None = None) -> None:
        """Make the agent say ``message`` (``behavior``: default, queue or interrupt)."""
        msg = {"type": "InjectAgentMessage", "message": _text(message, "message")}
        if behavior is not None:
            msg["behavior"] = behavior
        await self.send_json(msg)

    async def update_prompt(self, prompt: str) -> None:
        await self.send_json({"type": "UpdatePrompt", "prompt": _text(prompt, "prompt")})

    async def update_speak(self, speak: Any) -> None:
        """Change the voice: a :class:`Speak`, a dict or a list of them."""
        await self.send_json({"type": "UpdateSpeak", "speak": _section(speak)})

    async def update_think(self, think: Any) -> None:
        """Change the LLM: a :class:`Think`, a dict or a list of them."""
        await self.send_json({"type": "UpdateThink", "think": _section(think)})

    async def send_function_call_response(self, id: str, name: str, content: Any) -> None:  # noqa: A002
        """Answer a ``FunctionCallRequest`` yourself (``content``: a string, or JSON-able)."""
        await self.send_json({"type": "FunctionCallResponse", "id": id, "name": name,
                              "content": _result_content(content)})

    # ---- waiting --------------------------------------------------------------------------
    async def wait_for(self, event: Any, predicate: Callable[[AgentMessage], bool] | None = None, *,
                       timeout: float | None = 60.0, after: int | None = None) -> AgentMessage:
        """The first ``event`` message (from event index ``after`` on; default: from now) for which
        ``predicate`` holds. Raises :class:`AgentError` if the agent errs or closes first, and
        ``TimeoutError`` after ``timeout`` seconds."""
        name = self._event_name(event)
        i = len(self.events) if after is None else after
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            while i < len(self.events):
                message = self.events[i]
                i += 1
                if message.type == name or (name == "Unhandled" and message.type not in EVENTS):
                    if predicate is None or predicate(message):
                        return message
                if message.type == "Error" and name != "Error":
                    raise AgentError(message.get("code"), message.get("description") or "")
            if self.done:
                raise AgentError("CLIENT-CLOSED", f"the agent connection closed before {name}" +
                                 (f" (close code {self.close_code})" if self.close_code else ""))
            remaining = None if deadline is None else deadline - time.monotonic()
            if (remaining is not None and remaining <= 0) or not await self._await_change(remaining):
                raise TimeoutError(f"no {name} from the agent within {timeout:g} s")

    # ---- results --------------------------------------------------------------------------
    @property
    def conversation(self) -> "pd.DataFrame":
        """Every ``ConversationText`` so far: role (category), content, time (UTC)."""
        import pandas as pd

        if self._frame_cache is None or self._frame_cache[0] != len(self._rows):
            frame = pd.DataFrame(self._rows, columns=["role", "content", "time"])
            frame["role"] = frame["role"].astype(pd.CategoricalDtype(["user", "assistant"]))
            frame["content"] = frame["content"].astype("string")
            frame["time"] = pd.to_datetime(frame["time"], utc=True)
            self._frame_cache = (len(self._rows), frame)
        return self._frame_cache[1].copy()

    @property
    def audio(self) -> "SpeechAudio":
        """All the agent's audio so far (``audio.output`` format) as a :class:`dgnb.SpeechAudio`."""
        return self._speech(self._audio)

    def _speech(self, chunks: list[bytes]) -> "SpeechAudio":
        from ..results.speech_audio import SpeechAudio

        return SpeechAudio(b"".join(chunks), encoding=self.output_encoding, container="none",
                           sample_rate=self.output_sample_rate, headers={"dg-request-id": self.request_id or ""})

    @property
    def url(self) -> str:
        from .._core.websocket import target

        return target(self._config, "agent", PATH)[0]

    def view(self, **kwargs: Any):
        """A notebook widget showing the conversation and playing the agent's voice."""
        from ..notebook.widgets.agent_view import AgentView

        return AgentView(self, **kwargs)

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.state} turns={len(self._rows)} replies={len(self.replies)} "
                f"url={self.url!r}>")

    # ---- internals ------------------------------------------------------------------------
    async def _record(self, message: AgentMessage, name: str) -> None:
        if not isinstance(message, AgentAudio) and name not in ("Open", "Close"):
            self.messages.append(message)
        await super()._record(message, name)  # into self.events, then the handlers

    async def _read(self) -> None:
        ws = self._ws
        try:
            await read_frames(ws, self._handle)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # never leave a waiter hanging on a dead reader
            log.exception("agent reader failed")
            self.error = Problem({"type": "Error", "code": "CLIENT-ERROR", "description": f"{type(exc).__name__}: {exc}"})
        finally:
            self._mark_closed(ws.close_code if ws.close_code is not None else 1006, ws.close_reason or "")
            await self._record(AgentMessage({"type": "Close", "code": self.close_code, "reason": self.close_reason}),
                               "Close")

    async def _handle(self, frame: str | bytes) -> None:
        message = parse_message(frame)
        kind = message.type
        if isinstance(message, AgentAudio):
            self._audio.append(message.data)
            self._turn_audio.append(message.data)
            await self._record(message, "Audio")
            return
        if kind == "Welcome" and not self.request_id:
            self.request_id = message.get("request_id")
        elif kind == "ConversationText":
            self._rows.append((message.role, message.content, message.time))  # type: ignore[attr-defined]
        elif kind == "AgentAudioDone":
            self.replies.append(self._speech(self._turn_audio))
            self._turn_audio = []
        elif kind == "Error":
            self.error = message  # type: ignore[assignment]
        elif kind == "Warning":
            self.warnings.append(message)  # type: ignore[arg-type]
            log.warning("agent warning %s: %s", message.get("code"), message.get("description"))
        elif kind == "FunctionCallRequest":
            for call in message.functions:  # type: ignore[attr-defined]
                if call.client_side and call.name in self.functions:
                    self._spawn(self._answer(call), f"fn-{call.name}")
        await self._record(message, kind if kind in EVENTS else "Unhandled")

    async def _answer(self, call: FunctionCall) -> None:
        """Run a registered function for a FunctionCallRequest and send its result (errors included)."""
        fn = self.functions[call.name]
        record = {"id": call.id, "name": call.name, "arguments": call.arguments, "content": None, "error": None}
        try:
            if inspect.iscoroutinefunction(fn):
                result = await fn(**call.arguments)
            else:
                result = await asyncio.to_thread(fn, **call.arguments)
                if inspect.isawaitable(result):
                    result = await result
            content = _result_content(result)
        except Exception as exc:  # reported to the agent, which can tell the user
            record["error"] = f"{type(exc).__name__}: {exc}"
            content = json.dumps({"error": record["error"]})
            log.info("agent function %s failed: %s", call.name, record["error"])
        record["content"] = content
        self.function_calls.append(record)
        try:
            await self.send_function_call_response(call.id, call.name, content)
        except AgentError:
            pass  # the conversation ended meanwhile

    async def _ping(self) -> bool:
        """KeepAlive; False (the keepalive loop stops) once the conversation is closed."""
        try:
            await self.keep_alive()
        except AgentError:
            return False
        return True


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string")
    return value


def _pcm_for(source: Any, settings: Mapping[str, Any]) -> bytes:
    """linear16 mono bytes at the Settings' input rate from a path, bytes or binary file object."""
    import numpy as np

    from .._core.audio import decode_linear16

    inp = (settings.get("audio") or {}).get("input") or {}
    if str(inp.get("encoding") or "linear16") != "linear16":
        raise ValueError("send_file needs audio.input.encoding 'linear16'; send other encodings with send_audio()")
    rate = int(inp.get("sample_rate") or 24000)
    if hasattr(source, "read"):
        source = source.read()
    if isinstance(source, (bytes, bytearray)):
        source = bytes(source)
    pcm, src_rate, channels = decode_linear16(source)
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    if channels > 1:
        x = x.reshape(-1, channels).mean(axis=1)
    if src_rate != rate and x.size:
        n = int(round(x.size * rate / src_rate))
        x = np.interp(np.arange(n) * (src_rate / rate), np.arange(x.size), x)
    return np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes()


# ================================================================= the sync wrapper ===
class AgentConnection(SyncEventStream, wraps=AsyncAgentConnection,
                      delegate=("on", "off", "events", "messages", "replies", "function_calls", "functions",
                                "settings", "request_id", "error", "warnings", "state", "done", "close_code", "url",
                                "conversation", "audio"),
                      blocking=("send_audio", "send", "send_file", "send_json", "keep_alive", "inject_user_message",
                                "force_end_turn",
                                "inject_agent_message", "update_prompt", "update_speak", "update_think",
                                "send_function_call_response")):
    """The synchronous agent conversation: the same :class:`AsyncAgentConnection`, run on a
    background event-loop thread (handlers run there). ``for event in conn`` yields every event."""

    def wait_for(self, event: Any, predicate: Callable[[AgentMessage], bool] | None = None, *,
                 timeout: float | None = 60.0, after: int | None = None) -> AgentMessage:
        """See :meth:`AsyncAgentConnection.wait_for` (``after`` defaults to now)."""
        if after is None:
            after = len(self._conn.events)
        return self._run(self._conn.wait_for(event, predicate, timeout=timeout, after=after))

    def close(self) -> None:
        if self._conn.state != "closed":
            self._run(self._conn.close())

    def view(self, **kwargs: Any):
        from ..notebook.widgets.agent_view import AgentView

        return AgentView(self, **kwargs)


# ================================================================= the namespace ===
class Agent(Namespace):
    """The Voice Agent API: ``dg.agent.connect(settings, functions=[...])``, ``dg.agent.think_models()``."""

    name = "agent"

    @endpoint
    def think_models(self):
        """The models the agent can think with: DataFrame (id, name, provider, local), the reply in
        ``.attrs["response"]``. ``local`` rows are the local engine's own thinkers (its rule-based
        responder and your registered Python functions); on the local engine the hosted models are
        answered by the rule-based responder.

        >>> import dgnb
        >>> dg = dgnb.Client()                             # doctest: +SKIP
        >>> dg.agent.think_models().provider.unique()      # doctest: +SKIP
        """
        from .._core.http import Call
        from ..results.manage_frames import THINK_MODELS, framed

        response = yield from self._send(Call("GET", "/v1/agent/settings/think/models", self.name))
        body = response.json()
        rows = [{**m, "local": local} for local, key in ((False, "models"), (True, "local_models"))
                for m in body.get(key) or []]
        return framed(rows, THINK_MODELS, body)

    def connect(self, settings: Any = None, *, functions: Any = None, keepalive: bool | float = True,
                open_timeout: float | None = None, extra_headers: Mapping[str, str] | None = None,
                timeout: float | None = None) -> "AgentConnection | AsyncAgentConnection":
        """Start a conversation. ``settings``: :class:`Settings`, Deepgram's Settings JSON as a dict,
        or None (defaults). ``functions``: Python callables (or a dict name -> callable) the agent may
        call; each is declared in ``think.functions`` unless already there, and answered automatically.

        On ``Client`` returns an open :class:`AgentConnection` (SettingsApplied received); on
        ``AsyncClient`` an :class:`AsyncAgentConnection` to ``await`` or use with ``async with``.
        """
        conn = AsyncAgentConnection(self._client._config, settings, functions=functions, keepalive=keepalive,
                                    open_timeout=open_timeout, extra_headers=extra_headers)
        if self._is_async:
            return conn
        _loop.run(conn.start(timeout))
        return AgentConnection(conn)
