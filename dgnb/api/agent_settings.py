"""Typed helpers for the voice agent's ``Settings`` message (each ``.to_dict()`` gives Deepgram's JSON).

>>> s = Settings(think=Think(prompt="Be brief."), speak=Speak("aura-2-thalia-en"), greeting="Hi!")
>>> s.to_dict()["agent"]["think"]["provider"]
{'type': 'open_ai', 'model': 'gpt-4o-mini'}
>>> def get_weather(location: str, unit: str = "C") -> dict:
...     '''Current weather for a city.'''
>>> Function.from_callable(get_weather).to_dict()["parameters"]["required"]
['location']
"""
from __future__ import annotations

import inspect
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

__all__ = ["Settings", "Think", "Speak", "Listen", "Function", "settings_dict"]

_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array", dict: "object",
               tuple: "array"}


def _json_type(annotation: Any) -> dict:
    """A JSON-schema fragment for a parameter annotation (``str``, ``int``, ``Literal[...]``, ``Optional[x]``...)."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return {"type": "string"}
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        values = list(typing.get_args(annotation))
        return {"type": _JSON_TYPES.get(type(values[0]), "string"), "enum": values}
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _json_type(args[0]) if args else {"type": "string"}
    if origin in (list, tuple, Sequence):
        return {"type": "array"}
    if origin in (dict, Mapping):
        return {"type": "object"}
    return {"type": _JSON_TYPES.get(annotation, "string")}


@dataclass
class Function:
    """A function the agent may call (``agent.think.functions``). Without ``endpoint`` it is called
    client-side: the connection answers it with the Python callable of the same name."""

    name: str
    description: str = ""
    parameters: dict = field(default_factory=lambda: {"type": "object", "properties": {}})
    endpoint: dict | None = None

    @classmethod
    def from_callable(cls, fn: Callable, name: str | None = None, description: str | None = None) -> "Function":
        """Declare ``fn``: its name, the first paragraph of its docstring, and a JSON schema of its
        parameters from the annotations (parameters without a default are required)."""
        try:
            hints = typing.get_type_hints(fn)
        except Exception:
            hints = {}
        props: dict[str, dict] = {}
        required: list[str] = []
        for pname, param in inspect.signature(fn).parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            props[pname] = _json_type(hints.get(pname, param.annotation))
            if param.default is inspect.Parameter.empty:
                required.append(pname)
            elif param.default is not None and isinstance(param.default, (str, int, float, bool)):
                props[pname]["default"] = param.default
        doc = (description if description is not None else inspect.getdoc(fn) or "").strip().split("\n\n")[0]
        schema: dict = {"type": "object", "properties": props}
        if required:
            schema["required"] = required
        return cls(name or fn.__name__, " ".join(doc.split()), schema)

    def to_dict(self) -> dict:
        out: dict = {"name": self.name, "description": self.description, "parameters": self.parameters}
        if self.endpoint:
            out["endpoint"] = dict(self.endpoint)
        return out


def _function_dict(f: Any) -> dict:
    if isinstance(f, Function):
        return f.to_dict()
    if isinstance(f, Mapping):
        return dict(f)
    if callable(f):
        return Function.from_callable(f).to_dict()
    raise TypeError(f"a function declaration must be a Function, a dict or a callable, not {type(f).__name__}")


@dataclass
class Think:
    """The agent's LLM. ``provider="python"`` with ``function=NAME`` uses a think function
    registered with the local engine; ``"rule_based"`` the local engine's built-in responder."""

    provider: str = "open_ai"
    model: str | None = "gpt-4o-mini"
    prompt: str | None = None
    functions: Sequence[Any] = ()
    temperature: float | None = None
    function: str | None = None  # provider "python": the registered think function's name
    endpoint: dict | None = None

    def to_dict(self) -> dict:
        provider: dict = {"type": self.provider}
        if self.provider == "python":
            if self.function:
                provider["function"] = self.function
        elif self.provider != "rule_based":
            if self.model:
                provider["model"] = self.model
            if self.temperature is not None:
                provider["temperature"] = self.temperature
        out: dict = {"provider": provider}
        if self.prompt is not None:
            out["prompt"] = self.prompt
        if self.functions:
            out["functions"] = [_function_dict(f) for f in self.functions]
        if self.endpoint:
            out["endpoint"] = dict(self.endpoint)
        return out


@dataclass
class Speak:
    """The agent's voice (``provider="deepgram"``: an Aura model)."""

    model: str = "aura-2-thalia-en"
    provider: str = "deepgram"
    speed: float | None = None
    extra: dict = field(default_factory=dict)  # other provider fields (voice, model_id, ...)

    def to_dict(self) -> dict:
        provider: dict = {"type": self.provider}
        if self.provider == "deepgram" or "model_id" not in self.extra:
            provider["model"] = self.model
        if self.speed is not None:
            provider["speed"] = self.speed
        provider.update(self.extra)
        return {"provider": provider}


@dataclass
class Listen:
    """The agent's ears: a Deepgram speech-to-text model, with optional keyterms. ``version="v2"`` with a
    Flux model (``Listen("flux-general-en", version="v2")``) lets ``force_end_turn()`` end a user turn.

    >>> Listen("flux-general-en", version="v2").to_dict()
    {'provider': {'type': 'deepgram', 'model': 'flux-general-en', 'version': 'v2'}}
    """

    model: str = "nova-3"
    keyterms: Sequence[str] = ()
    smart_format: bool | None = None
    version: str | None = None

    def to_dict(self) -> dict:
        provider: dict = {"type": "deepgram", "model": self.model}
        if self.version is not None:
            provider["version"] = self.version
        if self.keyterms:
            provider["keyterms"] = list(self.keyterms)
        if self.smart_format is not None:
            provider["smart_format"] = self.smart_format
        return {"provider": provider}


def _section(value: Any) -> Any:
    """A settings section (or a list of them, for fallbacks) as JSON: objects with ``to_dict`` or mappings."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [_section(v) for v in value]
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"expected a settings object or dict, not {type(value).__name__}")


@dataclass
class Settings:
    """The whole ``Settings`` message. ``speak`` and ``think`` may be lists (fallback providers)."""

    think: Any = field(default_factory=Think)
    speak: Any = field(default_factory=Speak)
    listen: Any = field(default_factory=Listen)
    greeting: str | None = None
    language: str | None = None
    input_encoding: str = "linear16"
    input_sample_rate: int = 24000
    output_encoding: str = "linear16"
    output_sample_rate: int | None = 24000
    output_container: str | None = "none"
    tags: Sequence[str] = ()
    history: bool | None = None
    context: Sequence[Mapping[str, Any]] = ()

    def to_dict(self) -> dict:
        output: dict = {"encoding": self.output_encoding}
        if self.output_sample_rate:
            output["sample_rate"] = self.output_sample_rate
        if self.output_container:
            output["container"] = self.output_container
        agent: dict = {"think": _section(self.think)}
        for key in ("listen", "speak"):
            if getattr(self, key) is not None:
                agent[key] = _section(getattr(self, key))
        if self.language:
            agent["language"] = self.language
        if self.greeting:
            agent["greeting"] = self.greeting
        if self.context:
            agent["context"] = {"messages": [dict(m) for m in self.context]}
        out: dict = {"type": "Settings",
                     "audio": {"input": {"encoding": self.input_encoding, "sample_rate": self.input_sample_rate},
                               "output": output},
                     "agent": agent}
        if self.tags:
            out["tags"] = list(self.tags)
        if self.history is not None:
            out["flags"] = {"history": self.history}
        return out


def settings_dict(settings: Any) -> dict:
    """A Settings message from a :class:`Settings`, a dict (Deepgram's JSON, ``type`` optional) or an SDK model."""
    if settings is None:
        return Settings().to_dict()
    if isinstance(settings, Settings):
        return settings.to_dict()
    if hasattr(settings, "model_dump"):  # the official SDK's pydantic models
        settings = settings.model_dump(exclude_none=True)
    if not isinstance(settings, Mapping):
        raise TypeError(f"settings must be dgnb.agent.Settings or a dict, not {type(settings).__name__}")
    out = dict(settings)
    if out.setdefault("type", "Settings") != "Settings":
        raise ValueError(f"settings 'type' must be 'Settings', not {out['type']!r}")
    if not isinstance(out.get("agent"), Mapping):
        raise ValueError("settings need an 'agent' object (with at least 'think')")
    return out


def declare_functions(settings: dict, functions: Mapping[str, Callable]) -> dict:
    """Add a declaration for each Python function not yet declared in the (first) think section."""
    if not functions:
        return settings
    agent = dict(settings["agent"])
    think = agent.get("think")
    sections = [dict(s) for s in think] if isinstance(think, list) else [dict(think or {})]
    for section in sections:
        declared = {f.get("name") for f in section.get("functions") or [] if isinstance(f, Mapping)}
        extra = [Function.from_callable(fn, name).to_dict() for name, fn in functions.items() if name not in declared]
        if extra:
            section["functions"] = list(section.get("functions") or []) + extra
    agent["think"] = sections if isinstance(think, list) else sections[0]
    return {**settings, "agent": agent}
