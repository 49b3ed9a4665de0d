"""Query options of POST /v1/listen: parsing, validation and what cannot be honoured locally.

Values that cannot be parsed (``punctuate=maybe``, ``utt_split=abc``) raise a 422
:class:`EngineError`; options the local engine cannot honour are kept as warnings for
``metadata.warnings`` (``{"parameter", "type", "message"}``), never dropped silently.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ...protocol.listen import BOOLEAN_OPTIONS, STT_MODELS, is_stt_model
from ...protocol.usage import USAGE_FEATURES
from .errors import BAD_REQUEST, UNPROCESSABLE, EngineError

TRUE = {"true", "1", "yes", "on", ""}
FALSE = {"false", "0", "no", "off"}
ENGLISH = {"en", "en-us", "en-gb", "en-au", "en-in", "en-nz", "en-ca", "en-ie", "en-za"}
REDACT_KINDS = {"pci", "ssn", "numbers", "true", "false", "phi", "name", "email", "location"}
LOCAL_REDACT = {"pci", "ssn", "numbers"}
LOCAL_MODEL_ALIASES = {"whisper", "whisper-tiny", "whisper-tiny.en", "tiny.en", "local"}
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

# Options accepted but with no local effect: the warning says why.
NO_EFFECT = {
    "dictation": "spoken punctuation commands are not converted by the local engine",
    "measurements": "measurement abbreviations are not converted by the local engine",
    "ner": "named-entity formatting is not applied separately by the local engine",
    "detect_topics": "legacy detect_topics is not supported; use topics=true",
    "mip_opt_out": "the local engine keeps no data for model improvement anyway",
    "version": "the local engine has a single model version",
    "tier": "tiers do not exist on the local engine",
    "diarize_version": "the local engine has a single diarizer",
    "diarize_model": "the local engine has a single diarizer",
}


@dataclass
class ListenOptions:
    """Parsed /v1/listen options (unset booleans are False)."""

    model: str | None = None
    language: str = "en"
    punctuate: bool = False
    smart_format: bool = False
    diarize: bool = False
    multichannel: bool = False
    numerals: bool = False
    profanity_filter: bool = False
    utterances: bool = False
    utt_split: float = 0.8
    paragraphs: bool = False
    filler_words: bool = False
    sentiment: bool = False
    topics: bool = False
    intents: bool = False
    detect_entities: bool = False
    summarize: str | None = None  # "v2" or "v1"
    detect_language: bool = False
    alternatives: int = 1
    max_speakers: int = 10
    redact: list[str] = field(default_factory=list)
    replace: list[tuple[str, str]] = field(default_factory=list)
    search: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    keyterm: list[str] = field(default_factory=list)
    tag: list[str] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)
    custom_topic: list[str] = field(default_factory=list)
    custom_topic_mode: str = "extended"
    custom_intent: list[str] = field(default_factory=list)
    custom_intent_mode: str = "extended"
    callback: str | None = None
    callback_method: str = "post"
    encoding: str | None = None
    sample_rate: str | None = None
    channels: str | None = None
    warnings: list[dict] = field(default_factory=list)
    features: list[str] = field(default_factory=list)

    def warn(self, parameter: str, type_: str, message: str) -> None:
        self.warnings.append({"parameter": parameter, "type": type_, "message": message})

    @property
    def hotwords(self) -> str | None:
        """Keyterms and keywords (boost stripped) as one Whisper hotwords prompt."""
        terms = list(self.keyterm) + [k.rsplit(":", 1)[0] if _has_boost(k) else k for k in self.keywords]
        terms = [t.strip() for t in terms if t.strip()]
        return " ".join(terms) or None


def _has_boost(keyword: str) -> bool:
    if ":" not in keyword:
        return False
    try:
        float(keyword.rsplit(":", 1)[1])
        return True
    except ValueError:
        return False


def unprocessable(msg: str) -> EngineError:
    return EngineError(422, UNPROCESSABLE, msg)


def parse_bool(name: str, value: str) -> bool:
    v = value.strip().lower()
    if v in TRUE:
        return True
    if v in FALSE:
        return False
    raise unprocessable(f"{name}={value!r} is not a boolean; use true or false")


def _number(name: str, value: str, kind=float, lo=None, hi=None):
    try:
        n = kind(value.strip())
    except ValueError:
        raise unprocessable(f"{name}={value!r} is not a {'number' if kind is float else 'whole number'}") from None
    if not math.isfinite(n) or (lo is not None and n < lo) or (hi is not None and n > hi):
        raise unprocessable(f"{name}={value!r} is out of range ({lo}..{hi})")
    return n


def validate_http_url(url: str, what: str = "url") -> str:
    """An http(s) URL or a 400 saying what is wrong with it."""
    if not isinstance(url, str) or not url.strip():
        raise EngineError(400, BAD_REQUEST, f"{what} is empty")
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise EngineError(400, BAD_REQUEST, f"{what} must be an http:// or https:// URL")
    return url.strip()


# --------------------------------------------------------------------------- one parser per option
# Each takes (options being built, option name, every value given for it (last wins for single ones),
# the local model's name) and sets what it means, raises a 4xx EngineError, or adds a warning.

def _bool(o: ListenOptions, key: str, values: list[str], model: str) -> None:
    val = parse_bool(key, values[-1])
    if hasattr(o, key):
        setattr(o, key, val)
    if val and key in NO_EFFECT:
        o.warn(key, "unsupported_parameter", f"{key}: {NO_EFFECT[key]}")


def _model(o: ListenOptions, key: str, values: list[str], model: str) -> None:
    o.model = values[-1].strip()
    if not o.model or o.model.lower() in LOCAL_MODEL_ALIASES or o.model == model:
        return
    if not is_stt_model(o.model) and not _UUID.fullmatch(o.model):  # a custom model's id is a UUID
        families = ", ".join(STT_MODELS)
        raise EngineError(400, BAD_REQUEST, f"model={o.model!r} is not a speech-to-text model: use one of {families}, "
                                            f"with an option such as nova-2-phonecall, or the local model ({model})")
    o.warn("model", "unsupported_model", f"model {o.model!r} is not available locally; the request was served by {model}")


def _latest_only(o: ListenOptions, key: str, values: list[str], model: str) -> None:
    if values[-1].strip() and values[-1].strip() != "latest":
        o.warn(key, "unsupported_parameter", f"{key}: {NO_EFFECT[key]}")


def _language(o: ListenOptions, key: str, values: list[str], model: str) -> None:
    lang = values[-1].strip()
    if lang.lower() in ENGLISH:
        o.language = lang
    elif lang.lower() == "multi":
        o.warn("language", "unsupported_language", f"language=multi is not available locally; {model} transcribes English only")
    else:
        raise EngineError(400, BAD_REQUEST, f"language={lang!r} is not supported by the local model {model}, "
                                            "which transcribes English only (en, en-US, en-GB, ...)")


def _detect_language(o: ListenOptions, key: str, values: list[str], model: str) -> None:
    langs = [v.strip().lower() for v in values if v.strip()]
    if len(langs) == 1 and langs[0] in TRUE | FALSE:
        o.detect_language = parse_bool(key, langs[0])
    elif langs:
        o.detect_language = True
        if not any(lang.split("-")[0] == "en" for lang in langs):
            o.warn("detect_language", "unsupported_language", "the local model detects English only; en is reported")
    if o.detect_language:
        o.warn("detect_language", "partially_unsupported", f"{model} is English-only: detected_language is always en")


def _alternatives(o: ListenOptions, key: str, values: list[str], model: str) -> None:
    if _number(key, values[-1], int, 1, 10) > 1:
        o.warn("alternatives", "partially_unsupported", "the local engine returns a single alternative")


def _utt_split(o: ListenOptions, key: str, values: list[str], model: str) -> None:
    o.utt_split = _number("utt_split", values[-1], float, 0.0, 60.0)


def _max_speakers(o: ListenOptions, key: str, values: list[str], model: str) -> None:
    o.max_speakers = _number(key, values[-1], int, 1, 32)


def _summarize(o: ListenOptions, key: str, values: list[str], model: str) -> None:
    v = values[-1].strip().lower()
    if v not in SUMMARIZE:
        raise unprocessable(f"summarize={values[-1]!r} is not valid; use v2 (or true/false)")
    o.summarize = SUMMARIZE[v]


def _redact(o: ListenOptions, key: str, values: list[str], model: str) -> None:
    kinds = [k.strip().lower() for v in values for k in v.split(",")]
    for kind in (k for k in kinds if k and k != "false"):
        if kind not in REDACT_KINDS:
            raise unprocessable(f"redact={kind!r} is not valid; use pci, ssn or numbers")
        kind = "pci" if kind == "true" else kind
        if kind not in LOCAL_REDACT:
            o.warn("redact", "unsupported_value", f"redact={kind} is not available locally (pci, ssn, numbers are)")
        elif kind not in o.redact:
            o.redact.append(kind)


def _replace(o: ListenOptions, key: str, values: list[str], model: str) -> None:
    for v in (v for v in values if v.strip()):
        find, sep, repl = v.partition(":")
        if not find.strip():
            raise unprocessable(f"replace={v!r} is not valid; use term:replacement")
        o.replace.append((find.strip(), repl.strip() if sep else ""))


def _terms(o: ListenOptions, key: str, values: list[str], model: str) -> None:
    getattr(o, key).extend(v for v in (s.strip() for s in values) if v)


def _keywords(o: ListenOptions, key: str, values: list[str], model: str) -> None:
    for v in (v.strip() for v in values if v.strip()):
        if ":" in v and not _has_boost(v):
            raise unprocessable(f"keywords={v!r}: the boost after ':' must be a number")
        o.keywords.append(v)


def _extra(o: ListenOptions, key: str, values: list[str], model: str) -> None:
    for v in values:
        k, sep, val = v.partition(":")
        if not sep or not k.strip():
            raise unprocessable(f"extra={v!r} is not valid; use key:value")
        o.extra[k.strip()] = val.strip()


def _choice(*allowed: str):
    def parse(o: ListenOptions, key: str, values: list[str], model: str) -> None:
        value = values[-1].strip().lower()
        if value not in allowed:
            raise unprocessable(f"{key}={values[-1]!r} is not valid; use {' or '.join(allowed)}")
        setattr(o, key, value)
    return parse


def _callback(o: ListenOptions, key: str, values: list[str], model: str) -> None:
    o.callback = validate_http_url(values[-1], "callback")


def _raw(o: ListenOptions, key: str, values: list[str], model: str) -> None:
    setattr(o, key, values[-1].strip() or None if key == "encoding" else values[-1])


def _ignored(o: ListenOptions, key: str, values: list[str], model: str) -> None:
    o.warn(key, "unsupported_parameter", f"{key}: {NO_EFFECT[key]}")


SUMMARIZE = {"v2": "v2", "true": "v2", "": "v2", "v1": "v1", "false": None}

#: The parser of every /v1/listen option the local engine takes (``uttsplit`` and ``max_speakers`` are local extras).
PARSERS = {
    **{name: _bool for name in BOOLEAN_OPTIONS},
    "model": _model, "version": _latest_only, "tier": _latest_only, "diarize_version": _latest_only,
    "diarize_model": _ignored, "language": _language, "detect_language": _detect_language,
    "alternatives": _alternatives, "utt_split": _utt_split, "uttsplit": _utt_split, "max_speakers": _max_speakers,
    "summarize": _summarize, "redact": _redact, "replace": _replace, "keywords": _keywords, "extra": _extra,
    **{name: _terms for name in ("search", "keyterm", "custom_topic", "custom_intent", "tag")},
    "custom_topic_mode": _choice("extended", "strict"), "custom_intent_mode": _choice("extended", "strict"),
    "callback": _callback, "callback_method": _choice("post", "put"),
    "encoding": _raw, "sample_rate": _raw, "channels": _raw,
}

def parse_listen_options(multi_items, *, local_model_name: str = "whisper-tiny.en") -> ListenOptions:
    """Parse query items (an iterable of (key, value), e.g. ``request.query_params.multi_items()``).

    >>> parse_listen_options([("smart_format", "true"), ("tag", "a"), ("tag", "b")]).tag
    ['a', 'b']
    """
    o = ListenOptions()
    seen: dict[str, list[str]] = {}
    for key, value in multi_items:
        seen.setdefault(key, []).append(value)
    for key, values in seen.items():
        parser = PARSERS.get(key)
        if parser is None:
            o.warn(key, "unsupported_parameter", f"{key} is not a /v1/listen option known to the local engine; it was ignored")
        else:
            parser(o, key, values, local_model_name)
    if o.smart_format:
        o.punctuate = True
    if o.keywords:
        o.warn("keywords", "partially_unsupported", "keywords are passed to the local model as hotwords; boost values are ignored")
    o.features = [name for name in USAGE_FEATURES if getattr(o, name, None)]  # what its usage record names
    return o
