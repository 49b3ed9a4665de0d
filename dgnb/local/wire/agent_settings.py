"""The voice agent's ``Settings`` message, checked the way Deepgram checks it, for the local engine.

A field the schema does not know, a missing required field or a value of the wrong JSON type is
``UNPARSABLE_CLIENT_MESSAGE``; a well-formed value the engine cannot honour (an unknown voice, an
unsupported encoding, a Python think function nobody registered) is ``INVALID_SETTINGS``. Each
error names the field by its path (``agent.think.provider.type``) and says what is accepted.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ..models import tts
from .errors import EngineError

UNPARSABLE = "UNPARSABLE_CLIENT_MESSAGE"
INVALID = "INVALID_SETTINGS"
#: Think provider types the local engine answers with: a registered Python function, or its rule-based responder.
LOCAL_THINK_TYPES = ("python", "rule_based")
#: Hosted LLM providers Deepgram offers; locally the rule-based responder stands in for them (with a Warning).
REMOTE_THINK_TYPES = ("open_ai", "anthropic", "google", "groq", "aws_bedrock")
#: The hosted think models Deepgram lists (GET /v1/agent/settings/think/models; the ids the 7.16 SDK's
#: types name), as (provider, id, display name): Settings may name them, the rule-based responder answers.
HOSTED_THINK_MODELS = (
    ("open_ai", "gpt-5", "GPT-5"), ("open_ai", "gpt-5-mini", "GPT-5 mini"), ("open_ai", "gpt-5-nano", "GPT-5 nano"),
    ("open_ai", "gpt-4.1", "GPT-4.1"), ("open_ai", "gpt-4.1-mini", "GPT-4.1 mini"),
    ("open_ai", "gpt-4.1-nano", "GPT-4.1 nano"), ("open_ai", "gpt-4o", "GPT-4o"), ("open_ai", "gpt-4o-mini", "GPT-4o mini"),
    ("anthropic", "claude-3-5-haiku-latest", "Claude 3.5 Haiku"), ("anthropic", "claude-sonnet-4-20250514", "Claude Sonnet 4"),
    ("google", "gemini-2.5-flash", "Gemini 2.5 Flash"), ("google", "gemini-2.0-flash", "Gemini 2.0 Flash"),
    ("google", "gemini-2.0-flash-lite", "Gemini 2.0 Flash-Lite"), ("groq", "openai/gpt-oss-20b", "GPT OSS 20B"),
)
INPUT_ENCODINGS = ("linear16", "linear32", "mulaw", "alaw", "opus", "ogg-opus", "flac")
DEFAULT_RATE = 24000


class SettingsError(Exception):
    """A Settings (or Update*) message the engine refuses: ``code`` and ``description`` for the Error event."""

    def __init__(self, code: str, description: str):
        self.code, self.description = code, description
        super().__init__(f"{code}: {description}")


# --------------------------------------------------------------------------- a tiny JSON schema checker
# A spec is a Python type (str, bool, int, float = any number, list, dict = any object), a dict
# {"fields": {...}, "required": (...)} for an object, ("list", spec) for a list of spec, or a callable
# check(value, path) for anything special.

def _type_name(spec: Any) -> str:
    return {str: "a string", bool: "true or false", int: "an integer", float: "a number", list: "a list",
            dict: "an object"}.get(spec, "an object")


def check(value: Any, spec: Any, path: str) -> None:
    """Raise SettingsError(UNPARSABLE_CLIENT_MESSAGE) where ``value`` does not fit ``spec``."""
    if callable(spec) and not isinstance(spec, type):
        spec(value, path)
        return
    if isinstance(spec, tuple) and spec[0] == "list":
        if not isinstance(value, list):
            raise SettingsError(UNPARSABLE, f"{path} must be a list")
        for i, item in enumerate(value):
            check(item, spec[1], f"{path}[{i}]")
        return
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            raise SettingsError(UNPARSABLE, f"{path} must be an object")
        fields = spec["fields"]
        for key in value:
            if key not in fields:
                close = difflib.get_close_matches(str(key), list(fields), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; fields allowed here: {', '.join(fields)}"
                raise SettingsError(UNPARSABLE, f"unknown field {_join(path, key)}{hint}")
        for key in spec.get("required", ()):
            if key not in value:
                raise SettingsError(UNPARSABLE, f"missing required field {_join(path, key)}")
        for key, item in value.items():
            if item is not None:
                check(item, fields[key], _join(path, key))
        return
    ok = {
        str: isinstance(value, str),
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        list: isinstance(value, list),
        dict: isinstance(value, dict),
    }[spec]
    if not ok:
        raise SettingsError(UNPARSABLE, f"{path} must be {_type_name(spec)}, not {type(value).__name__}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else str(key)


def _obj(fields: Mapping[str, Any], required: tuple = ()) -> dict:
    return {"fields": dict(fields), "required": required}


def _one_or_list(spec: dict) -> Callable[[Any, str], None]:
    def checker(value: Any, path: str) -> None:
        if isinstance(value, list):
            if not value:
                raise SettingsError(UNPARSABLE, f"{path} must not be an empty list")
            check(value, ("list", spec), path)
        else:
            check(value, spec, path)
    return checker


_ENDPOINT = _obj({"url": str, "method": str, "headers": dict}, ("url",))
_FUNCTION = _obj({"name": str, "description": str, "parameters": dict, "endpoint": _ENDPOINT,
                  "defer_until_eot": bool, "initial_agent_filler": bool, "agent_filler_max_count": int,
                  "agent_filler_interval_ms": int}, ("name",))
_THINK_PROVIDER_FIELDS = {
    "python": _obj({"type": str, "function": str}, ("type",)),
    "rule_based": _obj({"type": str}, ("type",)),
    "open_ai": _obj({"type": str, "version": str, "model": str, "temperature": float, "reasoning_mode": str}, ("type", "model")),
    "anthropic": _obj({"type": str, "version": str, "model": str, "temperature": float}, ("type", "model")),
    "google": _obj({"type": str, "version": str, "model": str, "temperature": float}, ("type", "model")),
    "groq": _obj({"type": str, "version": str, "model": str, "temperature": float, "reasoning_mode": str}, ("type",)),
    "aws_bedrock": _obj({"type": str, "model": str, "temperature": float, "credentials": dict}, ("type", "model")),
}
_SPEAK_PROVIDER_FIELDS = {
    "deepgram": _obj({"type": str, "version": str, "model": str, "speed": float, "expressivity": int,
                      "language": str}, ("type",)),
    "eleven_labs": _obj({"type": str, "version": str, "model_id": str, "language": str, "language_code": str}, ("type",)),
    "cartesia": _obj({"type": str, "version": str, "model_id": str, "voice": dict, "language": str, "volume": float}, ("type",)),
    "open_ai": _obj({"type": str, "version": str, "model": str, "voice": str}, ("type",)),
    "aws_polly": _obj({"type": str, "voice": str, "language": str, "language_code": str, "engine": str,
                       "credentials": dict}, ("type",)),
}
_LISTEN_PROVIDER = _obj({"type": str, "version": str, "model": str, "language": str, "keyterms": ("list", str),
                         "smart_format": bool, "language_hints": ("list", str), "language_hint": str,
                         "eot_threshold": float, "eager_eot_threshold": float, "eot_timeout_ms": int}, ("type",))


def _by_type(table: Mapping[str, dict], what: str) -> Callable[[Any, str], None]:
    def checker(value: Any, path: str) -> None:
        if not isinstance(value, dict):
            raise SettingsError(UNPARSABLE, f"{path} must be an object")
        kind = value.get("type")
        if not isinstance(kind, str):
            raise SettingsError(UNPARSABLE, f"missing required field {path}.type (one of {', '.join(table)})")
        if kind not in table:
            raise SettingsError(INVALID, f"{path}.type {kind!r} is not a {what} the local engine knows; "
                                         f"use one of {', '.join(table)}")
        check(value, table[kind], path)
    return checker


_THINK = _obj({"provider": _by_type(_THINK_PROVIDER_FIELDS, "think provider"), "endpoint": _ENDPOINT,
               "functions": ("list", _FUNCTION), "prompt": str, "context_length": lambda v, p: None}, ("provider",))
_SPEAK = _obj({"provider": _by_type(_SPEAK_PROVIDER_FIELDS, "speak provider"), "endpoint": _ENDPOINT}, ("provider",))
_LISTEN = _obj({"provider": _LISTEN_PROVIDER})
_HISTORY_ITEM = _obj({"type": str, "role": str, "content": str, "function_calls": ("list", dict)})
_AGENT = _obj({"language": str, "context": _obj({"messages": ("list", _HISTORY_ITEM)}), "listen": _LISTEN,
               "think": _one_or_list(_THINK), "think_live": dict, "speak": _one_or_list(_SPEAK),
               "greeting": str}, ("think",))
_AUDIO = _obj({"input": _obj({"encoding": str, "sample_rate": int}, ("encoding", "sample_rate")),
               "output": _obj({"encoding": str, "sample_rate": int, "bitrate": int, "container": str})})
SETTINGS = _obj({"type": str, "tags": ("list", str), "experimental": bool, "flags": _obj({"history": bool}),
                 "mip_opt_out": bool, "audio": _AUDIO, "agent": _AGENT}, ("type", "audio", "agent"))


# --------------------------------------------------------------------------- what the session uses

@dataclass
class AgentConfig:
    """The Settings, validated and with defaults filled in."""

    input_encoding: str = "linear16"
    input_rate: int = DEFAULT_RATE
    output: tts.Format = field(default_factory=lambda: tts.resolve_format("linear16", None, DEFAULT_RATE, None, websocket=True))
    think: list[dict] = field(default_factory=list)  # one or more think sections (fallbacks)
    voice: tts.Voice = field(default_factory=lambda: tts.voice_for(tts.DEFAULT_MODEL))
    keyterms: list[str] = field(default_factory=list)
    listen_version: str = "v1"  # agent.listen.provider.version: "v2" (Flux) lets ForceEndTurn end a user turn
    greeting: str | None = None
    language: str = "en"
    history: bool = True
    context: list[dict] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (code, description) to send after SettingsApplied

    @property
    def prompt(self) -> str | None:
        return self.think[0].get("prompt") if self.think else None

    @property
    def functions(self) -> list[dict]:
        return list(self.think[0].get("functions") or []) if self.think else []


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def parse_think(think: Any, path: str, has_function: Callable[[str | None], str | None]) -> tuple[list[dict], list[tuple[str, str]]]:
    """Check a think section (or list) and the Python functions it names; returns (sections, warnings).

    ``has_function(name)`` returns None when the named (or the only) registered function exists,
    else a description of what is missing.
    """
    check(think, _one_or_list(_THINK), path)
    sections, warnings = _as_list(think), []
    for i, section in enumerate(sections):
        provider = section["provider"]
        where = f"{path}[{i}].provider" if isinstance(think, list) else f"{path}.provider"
        if provider["type"] == "python":
            problem = has_function(provider.get("function"))
            if problem:
                raise SettingsError(INVALID, f"{where}: {problem}")
        elif provider["type"] in REMOTE_THINK_TYPES:
            warnings.append(("THINK_PROVIDER_UNAVAILABLE",
                             f"think provider {provider['type']!r} is not available on the local engine; the built-in "
                             "rule-based responder answers instead (register a Python function and use "
                             "provider type 'python' for your own logic)"))
        names = [f.get("name") for f in section.get("functions") or []]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise SettingsError(INVALID, f"{path}: function names must be unique; repeated: {', '.join(dupes)}")
    return sections, warnings[:1]


def parse_speak(speak: Any, path: str) -> tuple[tts.Voice, list[tuple[str, str]]]:
    """The voice of the first Deepgram speak provider (the others are fallbacks Deepgram would use)."""
    check(speak, _one_or_list(_SPEAK), path)
    for section in _as_list(speak):
        provider = section["provider"]
        if provider["type"] == "deepgram":
            speed = provider.get("speed") or 1.0
            try:
                return tts.voice_for(provider.get("model"), float(speed)), []
            except EngineError as exc:
                raise SettingsError(INVALID, f"{path}.provider.model: {exc.err_msg}") from None
    kinds = ", ".join(s["provider"]["type"] for s in _as_list(speak))
    return tts.voice_for(tts.DEFAULT_MODEL), [("SPEAK_PROVIDER_UNAVAILABLE",
                                               f"speak provider {kinds} is not available on the local engine; "
                                               f"speaking with the local voice {tts.DEFAULT_MODEL!r}")]


def parse_settings(message: Mapping[str, Any], has_function: Callable[[str | None], str | None]) -> AgentConfig:
    """Validate a Settings message; raises :class:`SettingsError` describing the first problem."""
    check(dict(message), SETTINGS, "")
    cfg = AgentConfig(tags=list(message.get("tags") or []))
    audio = message["audio"]
    inp = audio.get("input") or {}
    cfg.input_encoding = str(inp.get("encoding") or "linear16").lower()
    cfg.input_rate = int(inp.get("sample_rate") or DEFAULT_RATE)
    if cfg.input_encoding not in INPUT_ENCODINGS:
        raise SettingsError(INVALID, f"audio.input.encoding {cfg.input_encoding!r} is not supported by the local engine; "
                                     f"use one of {', '.join(INPUT_ENCODINGS)}")
    if not 8000 <= cfg.input_rate <= 96000:
        raise SettingsError(INVALID, f"audio.input.sample_rate {cfg.input_rate} is out of range (8000..96000)")
    out = audio.get("output") or {}
    if (out.get("container") or "none") != "none":
        raise SettingsError(INVALID, "audio.output.container: the local engine streams raw audio; use 'none'")
    if out.get("bitrate") is not None:
        raise SettingsError(INVALID, "audio.output.bitrate applies to compressed encodings, which the local engine "
                                     "does not stream; use linear16, mulaw or alaw")
    try:
        cfg.output = tts.resolve_format(out.get("encoding"), None, out.get("sample_rate") or
                                        (None if out.get("encoding") not in (None, "linear16") else DEFAULT_RATE),
                                        None, websocket=True)
    except EngineError as exc:
        raise SettingsError(INVALID, f"audio.output: {exc.err_msg}") from None
    agent = message["agent"]
    cfg.think, warnings = parse_think(agent["think"], "agent.think", has_function)
    if agent.get("speak") is not None:
        cfg.voice, more = parse_speak(agent["speak"], "agent.speak")
        warnings += more
    provider = (agent.get("listen") or {}).get("provider") or {}
    if provider and provider.get("type") != "deepgram":
        raise SettingsError(INVALID, f"agent.listen.provider.type {provider.get('type')!r} is not supported; use 'deepgram'")
    cfg.keyterms = list(provider.get("keyterms") or [])
    cfg.listen_version = provider.get("version") or "v1"
    cfg.language = agent.get("language") or provider.get("language") or "en"
    if not cfg.language.lower().startswith("en"):
        warnings.append(("LANGUAGE_UNAVAILABLE", f"the local engine listens in English only (language {cfg.language!r})"))
    cfg.greeting = agent.get("greeting") or None
    cfg.history = (message.get("flags") or {}).get("history", True) is not False
    cfg.context = list((agent.get("context") or {}).get("messages") or [])
    cfg.warnings = warnings
    return cfg
