"""Query options of POST /v1/listen: parsing, validation and what cannot be honoured locally.

Values that cannot be parsed (``punctuate=maybe``, ``utt_split=abc``) raise a 422
:class:`EngineError`; options the local engine cannot honour are kept as warnings for
``metadata.warnings`` (``{"parameter", "type", "message"}``), never dropped silently.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .errors import BAD_REQUEST, UNPROCESSABLE, EngineError

TRUE = {"true", "1", "yes", "on", ""}
FALSE = {"false", "0", "no", "off"}
ENGLISH = {"en", "en-us", "en-gb", "en-au", "en-in", "en-nz", "en-ca", "en-ie", "en-za"}
REDACT_KINDS = {"pci", "ssn", "numbers", "true", "false", "phi", "name", "email", "location"}
LOCAL_REDACT = {"pci", "ssn", "numbers"}
LOCAL_MODEL_ALIASES = {"whisper", "whisper-tiny", "whisper-tiny.en", "tiny.en", "local"}

BOOL_OPTIONS = (
    "punctuate", "smart_format", "diarize", "multichannel", "numerals", "profanity_filter",
    "utterances", "paragraphs", "filler_words", "dictation", "measurements", "sentiment",
    "topics", "intents", "detect_entities", "detect_topics", "mip_opt_out", "ner",
)
REPEATABLE = ("redact", "replace", "search", "keywords", "keyterm", "tag", "extra", "custom_topic",
              "custom_intent", "detect_language")
KNOWN = set(BOOL_OPTIONS) | set(REPEATABLE) | {
    "model", "version", "language", "tier", "alternatives", "utt_split", "summarize", "callback",
    "callback_method", "encoding", "sample_rate", "channels", "custom_topic_mode", "custom_intent_mode",
    "diarize_version", "max_speakers", "uttsplit",
}
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
    if (lo is not None and n < lo) or (hi is not None and n > hi):
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


def parse_listen_options(multi_items, *, local_model_name: str = "whisper-tiny.en") -> ListenOptions:
    """Parse query items (an iterable of (key, value), e.g. ``request.query_params.multi_items()``)."""
    o = ListenOptions()
    items = [(k, v) for k, v in multi_items]
    seen: dict[str, list[str]] = {}
    for key, value in items:
        seen.setdefault(key, []).append(value)

    for key, values in seen.items():
        if key not in KNOWN:
            o.warn(key, "unsupported_parameter", f"{key} is not a /v1/listen option known to the local engine; it was ignored")
            continue
        last = values[-1]
        if key in BOOL_OPTIONS:
            val = parse_bool(key, last)
            if hasattr(o, key):
                setattr(o, key, val)
            if val and key in NO_EFFECT:
                o.warn(key, "unsupported_parameter", f"{key}: {NO_EFFECT[key]}")
        elif key == "model":
            o.model = last.strip()
            if o.model and o.model.lower() not in LOCAL_MODEL_ALIASES and o.model != local_model_name:
                o.warn("model", "unsupported_model",
                       f"model {o.model!r} is not available locally; the request was served by {local_model_name}")
        elif key in ("version", "tier", "diarize_version"):
            if last.strip() and last.strip() != "latest":
                o.warn(key, "unsupported_parameter", f"{key}: {NO_EFFECT[key]}")
        elif key == "language":
            lang = last.strip()
            if lang.lower() in ENGLISH:
                o.language = lang
            elif lang.lower() == "multi":
                o.language = "en"
                o.warn("language", "unsupported_language",
                       f"language=multi is not available locally; {local_model_name} transcribes English only")
            else:
                raise EngineError(400, BAD_REQUEST,
                                  f"language={lang!r} is not supported by the local model {local_model_name}, "
                                  "which transcribes English only (en, en-US, en-GB, ...)")
        elif key == "detect_language":
            langs = [v.strip().lower() for v in values if v.strip()]
            if len(langs) == 1 and langs[0] in TRUE | FALSE:
                o.detect_language = parse_bool(key, langs[0])
            elif langs:
                o.detect_language = True
                if not any(l.split("-")[0] == "en" for l in langs):
                    o.warn("detect_language", "unsupported_language",
                           "the local model detects English only; en is reported")
            if o.detect_language:
                o.warn("detect_language", "partially_unsupported",
                       f"{local_model_name} is English-only: detected_language is always en")
        elif key == "alternatives":
            n = _number(key, last, int, 1, 10)
            if n > 1:
                o.warn("alternatives", "partially_unsupported", "the local engine returns a single alternative")
        elif key in ("utt_split", "uttsplit"):
            o.utt_split = _number("utt_split", last, float, 0.0, 60.0)
        elif key == "max_speakers":
            o.max_speakers = _number(key, last, int, 1, 32)
        elif key == "summarize":
            v = last.strip().lower()
            if v in ("v2", "true", ""):
                o.summarize = "v2"
            elif v == "v1":
                o.summarize = "v1"
            elif v == "false":
                o.summarize = None
            else:
                raise unprocessable(f"summarize={last!r} is not valid; use v2 (or true/false)")
        elif key == "redact":
            for v in values:
                for kind in (p.strip().lower() for p in v.split(",")):
                    if not kind or kind == "false":
                        continue
                    if kind not in REDACT_KINDS:
                        raise unprocessable(f"redact={kind!r} is not valid; use pci, ssn or numbers")
                    if kind == "true":
                        kind = "pci"
                    if kind not in LOCAL_REDACT:
                        o.warn("redact", "unsupported_value", f"redact={kind} is not available locally (pci, ssn, numbers are)")
                    elif kind not in o.redact:
                        o.redact.append(kind)
        elif key == "replace":
            for v in values:
                if not v.strip():
                    continue
                find, sep, repl = v.partition(":")
                if not find.strip():
                    raise unprocessable(f"replace={v!r} is not valid; use term:replacement")
                o.replace.append((find.strip(), repl.strip() if sep else ""))
        elif key in ("search", "keyterm", "custom_topic", "custom_intent", "tag"):
            getattr(o, key).extend(v for v in (s.strip() for s in values) if v)
        elif key == "keywords":
            for v in values:
                if v.strip():
                    if ":" in v and not _has_boost(v):
                        raise unprocessable(f"keywords={v!r}: the boost after ':' must be a number")
                    o.keywords.append(v.strip())
        elif key == "extra":
            for v in values:
                k, sep, val = v.partition(":")
                if not sep or not k.strip():
                    raise unprocessable(f"extra={v!r} is not valid; use key:value")
                o.extra[k.strip()] = val.strip()
        elif key in ("custom_topic_mode", "custom_intent_mode"):
            mode = last.strip().lower()
            if mode not in ("extended", "strict"):
                raise unprocessable(f"{key}={last!r} is not valid; use extended or strict")
            setattr(o, key, mode)
        elif key == "callback":
            o.callback = validate_http_url(last, "callback")
        elif key == "callback_method":
            m = last.strip().lower()
            if m not in ("post", "put"):
                raise unprocessable(f"callback_method={last!r} is not valid; use post or put")
            o.callback_method = m
        elif key == "encoding":
            o.encoding = last.strip() or None
        elif key == "sample_rate":
            o.sample_rate = last
        elif key == "channels":
            o.channels = last

    if o.smart_format:
        o.punctuate = True
    if o.keywords:
        o.warn("keywords", "partially_unsupported", "keywords are passed to the local model as hotwords; boost values are ignored")
    o.features = [name for name in (
        "punctuate", "smart_format", "diarize", "multichannel", "numerals", "profanity_filter", "utterances",
        "paragraphs", "filler_words", "sentiment", "topics", "intents", "detect_entities", "detect_language",
    ) if getattr(o, name)] + (["summarize"] if o.summarize else []) + [
        name for name in ("redact", "replace", "search", "keywords", "keyterm") if getattr(o, name)]
    return o
