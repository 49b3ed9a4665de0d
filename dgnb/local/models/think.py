"""The local voice agent's "think" step: Python functions you register, and a rule-based responder.

A think function takes one :class:`Turn` and returns the agent's reply: a string, a list of
strings (each becomes its own ``ConversationText``), or None to stay silent. It may call the
functions declared in ``agent.think.functions``: ``turn.call("get_weather", location="Paris")``
sends Deepgram's ``FunctionCallRequest`` to the client, waits for its ``FunctionCallResponse``
and returns the content string (``await turn.acall(...)`` in an ``async def`` think function).

Registering, so a Settings message can pick one with ``{"provider": {"type": "python", "function": NAME}}``:

* embedded engine: ``start_in_background(think={"weather": fn})`` (or ``think=fn``, named after the function);
* any process: :func:`register` (``@register`` works as a decorator);
* ``dgnb serve``: ``DGNB_AGENT_THINK="module:function"`` or ``"name=module:function,other=pkg.mod:fn"``.
"""
from __future__ import annotations

import importlib
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping

ENV_VAR = "DGNB_AGENT_THINK"
ThinkFunction = Callable[["Turn"], Any]

_registry: dict[str, ThinkFunction] = {}


def register(name: str | ThinkFunction, fn: ThinkFunction | None = None):
    """Register a think function for every local engine in this process; returns it (a decorator too).

    >>> @register
    ... def parrot(turn): return turn.text
    >>> "parrot" in registered()
    True
    """
    if callable(name) and fn is None:
        fn, name = name, getattr(name, "__name__", "think")
        _registry[_check_name(name)] = _check_fn(fn, name)
        return fn
    if fn is None:
        return lambda f: register(name, f)  # type: ignore[arg-type]
    _registry[_check_name(str(name))] = _check_fn(fn, str(name))
    return fn


def registered() -> dict[str, ThinkFunction]:
    return dict(_registry)


def _check_name(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][\w.\-]*", name or ""):
        raise ValueError(f"think function name {name!r} must be an identifier (letters, digits, _ . -)")
    return name


def _check_fn(fn: Any, name: str) -> ThinkFunction:
    if not callable(fn):
        raise TypeError(f"think function {name!r} is not callable ({type(fn).__name__})")
    return fn


def load(spec: str) -> ThinkFunction:
    """Import ``"package.module:function"`` (clear errors for a bad spec, module or name)."""
    module_name, sep, attr = spec.strip().partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"think function {spec!r} must look like 'package.module:function'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import the module of think function {spec!r}: {exc}") from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"think function {spec!r}: {module_name} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return _check_fn(obj, spec)


def from_env(value: str | None = None) -> dict[str, ThinkFunction]:
    """The functions named in ``$DGNB_AGENT_THINK`` (``module:fn`` or ``name=module:fn``, comma-separated)."""
    value = os.environ.get(ENV_VAR, "") if value is None else value
    out: dict[str, ThinkFunction] = {}
    for item in filter(None, (p.strip() for p in value.split(","))):
        name, eq, spec = item.partition("=")
        if not eq:
            name, spec = item.rpartition(":")[2].rpartition(".")[2], item
        out[_check_name(name.strip())] = load(spec)
    return out


def normalize(think: Any) -> dict[str, ThinkFunction]:
    """``think=`` of ``create_app``: None, a callable, a list of callables, ``"module:fn"`` or a name -> function mapping."""
    if think is None:
        return {}
    if isinstance(think, str):
        return from_env(think)
    if callable(think):
        return {_check_name(getattr(think, "__name__", "think")): think}
    if isinstance(think, Mapping):
        return {_check_name(str(k)): (load(v) if isinstance(v, str) else _check_fn(v, str(k))) for k, v in think.items()}
    if isinstance(think, (list, tuple)):
        out: dict[str, ThinkFunction] = {}
        for fn in think:
            out.update(normalize(fn))
        return out
    raise TypeError(f"think must be a callable, a list of callables or a dict name -> callable, not {type(think).__name__}")


class Registry:
    """The think functions one app can use: its own (``create_app(think=...)``), then :func:`register`'s, then the env's."""

    def __init__(self, think: Any = None):
        self.own = normalize(think)
        self._env: dict[str, ThinkFunction] | None = None

    def all(self) -> dict[str, ThinkFunction]:
        if self._env is None:
            self._env = from_env()
        return {**self._env, **_registry, **self.own}

    def find(self, name: str | None) -> ThinkFunction | None:
        functions = self.all()
        if name is None:
            return next(iter(functions.values())) if len(functions) == 1 else None
        return functions.get(name)

    def problem(self, name: str | None) -> str | None:
        """None when ``name`` (or, with no name, the only function) is registered; else what is wrong."""
        try:
            functions = self.all()
        except (ValueError, TypeError) as exc:
            return f"{ENV_VAR} is not usable: {exc}"
        if name is None:
            if len(functions) == 1:
                return None
            if not functions:
                return ("no Python think function is registered with the local engine; start it with "
                        "start_in_background(think=fn), dgnb.local.models.think.register(fn), or DGNB_AGENT_THINK=module:function")
            return f"several think functions are registered ({', '.join(sorted(functions))}): name one in \"function\""
        if name not in functions:
            known = ", ".join(sorted(functions)) or "none"
            return f"no Python think function named {name!r} is registered (registered: {known})"
        return None


# --------------------------------------------------------------------------- the turn a function sees

@dataclass
class Turn:
    """One user turn, as a think function sees it.

    ``text``: what the user said; ``messages``: the conversation before it, oldest first
    (``{"role": "user"|"assistant", "content"}`` and ``{"role": "function", "id", "name", "arguments",
    "content"}``); ``prompt`` and ``functions``: from the Settings' think section.
    """

    text: str
    messages: list[dict] = field(default_factory=list)
    prompt: str | None = None
    functions: list[dict] = field(default_factory=list)
    provider: dict = field(default_factory=dict)
    _call: Callable[[str, dict], str] | None = field(default=None, repr=False)
    _acall: Callable[[str, dict], Awaitable[str]] | None = field(default=None, repr=False)
    _think_aloud: Callable[[str], None] | None = field(default=None, repr=False)

    def call(self, name: str, arguments: Mapping[str, Any] | None = None, /, **kwargs: Any) -> str:
        """Call a declared function through the client and return its response content (blocks)."""
        if self._call is None:
            raise RuntimeError("function calls are not available in this turn")
        return self._call(name, {**(arguments or {}), **kwargs})

    async def acall(self, name: str, arguments: Mapping[str, Any] | None = None, /, **kwargs: Any) -> str:
        """``call`` for ``async def`` think functions."""
        if self._acall is None:
            raise RuntimeError("function calls are not available in this turn")
        return await self._acall(name, {**(arguments or {}), **kwargs})

    def think_aloud(self, text: str) -> None:
        """Send an ``AgentThinking`` message with ``text``."""
        if self._think_aloud is not None:
            self._think_aloud(str(text))


def replies(result: Any) -> list[str]:
    """A think function's return value as the list of reply texts."""
    if result is None:
        return []
    if isinstance(result, str):
        return [result.strip()] if result.strip() else []
    if isinstance(result, (list, tuple)) and all(isinstance(r, str) for r in result):
        return [r.strip() for r in result if r.strip()]
    raise TypeError(f"a think function must return a string, a list of strings or None, not {type(result).__name__}")


# --------------------------------------------------------------------------- the rule-based responder

_GENERIC = {"get", "set", "fetch", "check", "lookup", "look", "find", "do", "make", "call", "run", "the", "a",
            "to", "of", "for", "by", "info", "information", "data", "current", "create", "update", "list"}
_NUMBER_WORDS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20, "hundred": 100}
_OPS = {"+": "+", "plus": "+", "-": "-", "minus": "-", "*": "*", "x": "*", "times": "*", "multiplied": "*",
        "/": "/", "divided": "/", "over": "/"}
_ARITH = re.compile(r"(-?\d+(?:\.\d+)?|[a-z]+)\s*(\+|-|\*|/|plus|minus|times|x|multiplied by|divided by|over)\s*"
                    r"(-?\d+(?:\.\d+)?|[a-z]+)", re.I)
_PLACE = re.compile(r"\b(?:in|at|for|to|from|near|about)\s+((?:[A-Z][\w'.-]*)(?:\s+(?:[A-Z][\w'.-]*|and|of|de|la))*)")


def _keywords(name: str) -> set[str]:
    parts = re.sub(r"([a-z])([A-Z])", r"\1 \2", name).replace("_", " ").replace("-", " ").lower().split()
    return {p for p in parts if p not in _GENERIC and len(p) > 2}


def _words(text: str) -> set[str]:
    words = set(re.findall(r"[a-z0-9']+", text.lower()))
    return words | {w[:-1] for w in words if w.endswith("s")} | {w + "s" for w in words}


def _number(token: str) -> float | None:
    token = token.lower()
    if token in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[token])
    try:
        return float(token)
    except ValueError:
        return None


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.4g}"


def _arithmetic(text: str) -> str | None:
    m = _ARITH.search(text)
    if not m:
        return None
    a, b = _number(m.group(1)), _number(m.group(3))
    op = _OPS.get(m.group(2).split()[0].lower())
    if a is None or b is None or op is None:
        return None
    if op == "/" and b == 0:
        return "Dividing by zero is not defined."
    value = {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else 0.0}[op]
    return f"{_fmt(a)} {op} {_fmt(b)} equals {_fmt(value)}."


def _string_values(text: str, name: str, prop: dict) -> list[str]:
    """Candidate values for a string parameter: a capitalised phrase after a preposition, else a quote."""
    quoted = re.findall(r"[\"“']([^\"”']{2,})[\"”']", text)
    places = [m.group(1).rstrip(".?!,") for m in _PLACE.finditer(text)]
    values: list[str] = []
    for phrase in places or quoted:
        for piece in re.split(r"\s+and\s+|,\s*", phrase):
            piece = piece.strip()
            if piece and piece.lower() not in ("i", "the"):
                values.append(piece)
    return values


def _arguments(fn: dict, text: str) -> tuple[list[dict], str | None]:
    """Argument sets to call ``fn`` with (several when the user names several places), or what is missing."""
    params = fn.get("parameters") or {}
    props = params.get("properties") or {}
    required = list(params.get("required") or [])
    base: dict[str, Any] = {}
    multi: tuple[str, list[str]] | None = None
    lower = text.lower()
    for pname, prop in props.items():
        prop = prop if isinstance(prop, dict) else {}
        kind = prop.get("type")
        if isinstance(prop.get("enum"), list):
            hit = next((v for v in prop["enum"] if str(v).lower() in lower), None)
            if hit is not None:
                base[pname] = hit
        elif kind in ("number", "integer"):
            nums = [_number(t) for t in re.findall(r"-?\d+(?:\.\d+)?|[a-z]+", lower)]
            nums = [n for n in nums if n is not None]
            if nums:
                base[pname] = int(nums[0]) if kind == "integer" else nums[0]
        elif kind == "boolean":
            if pname in required:
                base[pname] = not re.search(r"\b(no|not|don't|never)\b", lower)
        elif kind in ("string", None):
            values = _string_values(text, pname, prop)
            if values:
                if multi is None and len(values) > 1:
                    multi = (pname, values)
                base[pname] = values[0]
    missing = [p for p in required if p not in base]
    if missing:
        return [], missing[0]
    if multi:
        return [dict(base, **{multi[0]: v}) for v in multi[1]], None
    return [base], None


def _summary(content: str) -> str:
    try:
        data = json.loads(content)
    except ValueError:
        return content.strip()[:300]
    if isinstance(data, dict):
        if "error" in data and len(data) <= 2:
            return f"it failed: {data['error']}"
        return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in list(data.items())[:6])
    return str(data)[:300]


def rule_based(turn: Turn) -> list[str] | str | None:
    """The built-in responder for demos and tests: calls a declared function when the user names it
    (arguments from the words: places after "in"/"for", numbers, enum values), does small arithmetic,
    answers greetings and thanks, and otherwise says what it understood."""
    text = turn.text.strip()
    if not text:
        return None
    words = _words(text)
    for fn in turn.functions:
        name = str(fn.get("name") or "")
        keys = _keywords(name)
        if name.lower() in text.lower().replace(" ", "_") or (keys and keys & words):
            calls, missing = _arguments(fn, text)
            readable = " ".join(sorted(keys)) or name
            if missing:
                return f"To check the {readable} I need the {missing.replace('_', ' ')}. Could you tell me?"
            out = []
            for args in calls:
                content = turn.call(name, args)
                shown = ", ".join(str(v) for v in args.values())
                out.append(f"The {readable}{' for ' + shown if shown else ''}: {_summary(content)}.")
            return " ".join(out)
    math = _arithmetic(text)
    if math:
        return math
    lower = text.lower()
    if re.search(r"\b(thanks|thank you)\b", lower):
        return "You're welcome!"
    if re.search(r"\b(bye|goodbye)\b", lower):
        return "Goodbye! Have a great day."
    if re.match(r"^(hello|hi|hey|good (morning|afternoon|evening))\b", lower):
        return "Hello! How can I help you today?"
    if text.endswith("?"):
        return f"You asked: {text} I am a simple local agent, so I can only repeat what I understood."
    return f"I heard you say: {text}"
