"""Text-to-speech for the local engine: Deepgram voice names spoken by the clearest installed voices,
and the encoders of Deepgram's /v1/speak formats.

English Aura voices (``aura-2-thalia-en``, ``aura-orion-en``...) speak with Festival's HTS "slt" or
flite's "slt" (female names) and flite's "rms" or "awb" (male names) when those are installed
(Debian ``festival festvox-us-slt-hts flite``; ``benchmarks/bench_voices.py`` measures how well the
recogniser reads each). :func:`voice_table` lists which name speaks with which. Other languages, and
English when none of them is installed, speak with espeak-ng (the PyPI package ``espeakng-loader``):
a female or male variant with its own pitch and range per name. Encodings follow Deepgram's rules
(rates, bit rates and containers per encoding); a combination Deepgram would refuse is refused here
too with a 400 that names what is supported.
"""
from __future__ import annotations

import io
import re
import struct
from dataclasses import dataclass

import numpy as np

from ..wire.errors import BAD_REQUEST, EngineError

__all__ = [
    "DEFAULT_MODEL", "MAX_CHARACTERS", "Voice", "Format", "voice_for", "resolve_format", "synthesize", "encode",
    "encode_stream_chunk", "model_uuid", "supported_encodings", "voice_table", "CLEAR_VOICES",
]

DEFAULT_MODEL = "aura-2-thalia-en"
#: Deepgram's limit on the text of one /v1/speak request (and of one Speak message on the WebSocket).
MAX_CHARACTERS = 2000

_FEMALE = """amalthea andromeda asteria athena aurora callista cora cordelia delia electra harmonia helena hera
iris juno luna minerva ophelia pandora phoebe selene thalia theia vesta stella""".split()
_MALE = """apollo arcas aries atlas draco hermes hyperion janus jupiter mars neptune odysseus orion orpheus pluto
saturn zeus perseus angus helios""".split()
_AURA1 = {"asteria", "luna", "stella", "athena", "hera", "orion", "arcas", "perseus", "angus", "orpheus", "helios", "zeus"}
#: espeak-ng language voices for the languages Aura-2 speaks.
_LANGS = {"en": "en-us", "es": "es", "de": "de", "fr": "fr", "nl": "nl", "it": "it", "ja": "ja"}
_MODEL_RE = re.compile(r"^aura-(?:(2)-)?([a-z]+)-([a-z]{2})$")


#: English Aura names speak with these (``dgnb.local.models.voices`` names), by gender, alternating by name.
CLEAR_VOICES = {"female": ("festival:cmu_us_slt_arctic_hts", "flite:slt"), "male": ("flite:rms", "flite:awb")}


@dataclass(frozen=True)
class Voice:
    """What speaks one Deepgram model name: a clear installed voice, else espeak-ng settings."""

    model: str
    gender: str  # "female" | "male"
    settings: dict  # espeak-ng settings for samples.synthesize: name, pitch, range, rate (speed applied)
    speaker: str | None = None  # the ``voices`` name speaking it, when one is installed
    speed: float = 1.0

    @property
    def engine_voice(self) -> str:
        """The voice that speaks, as ``voices`` names it (``espeak:...`` for the fallback)."""
        return self.speaker or f"espeak:{self.settings['name']}"


def _catalogue() -> dict[str, tuple[str, int]]:
    """name -> (gender, index among that gender), stable across runs."""
    out = {name: ("female", i) for i, name in enumerate(sorted(_FEMALE))}
    out.update({name: ("male", i) for i, name in enumerate(sorted(_MALE))})
    return out


_VOICES = _catalogue()


def known_models() -> list[str]:
    """Every model name the engine speaks (English)."""
    names = [f"aura-2-{n}-en" for n in sorted(_VOICES)]
    names += [f"aura-{n}-en" for n in sorted(_AURA1)]
    return names


def voice_for(model: str | None, speed: float = 1.0) -> Voice:
    """The espeak-ng voice of a Deepgram model name, or a 400 naming the accepted form."""
    model = (model or DEFAULT_MODEL).strip().lower()
    m = _MODEL_RE.match(model)
    if not m or m.group(2) not in _VOICES or m.group(3) not in _LANGS or (m.group(1) is None and m.group(2) not in _AURA1):
        raise EngineError(400, BAD_REQUEST,
                          f"model {model!r} is not available on the local engine; use an Aura voice such as "
                          f"'{DEFAULT_MODEL}', 'aura-2-apollo-en' or 'aura-asteria-en' (see dgnb.local.models.tts.known_models())")
    gender, index = _VOICES[m.group(2)]
    lang = _LANGS[m.group(3)]
    if gender == "female":
        variant = f"f{index % 5 + 1}"
        pitch = 55 + (index * 7) % 30  # 55..84
    else:
        variant = f"m{index % 7 + 1}"
        pitch = 25 + (index * 7) % 25  # 25..49
    if m.group(1) is None:  # Aura-1 voices: a little flatter than their Aura-2 namesakes
        pitch -= 5
    rate = int(round((160 + (index * 3) % 20) * speed))
    settings = {"name": f"{lang}+{variant}", "pitch": pitch, "range": 40 + (index * 11) % 40, "rate": rate}
    return Voice(model=model, gender=gender, settings=settings, speaker=_clear_voice(gender, index, lang), speed=speed)


def _clear_voice(gender: str, index: int, lang: str) -> str | None:
    from . import voices

    if lang != "en-us":
        return None
    choices = CLEAR_VOICES[gender][index % 2:] + CLEAR_VOICES[gender][:index % 2]
    return next((v for v in choices if voices.available(v)), None)


def voice_table() -> list[tuple[str, str]]:
    """(model name, the voice that speaks it here) for every English model name.

        >>> dict(voice_table())["aura-2-thalia-en"]    # doctest: +SKIP
        'festival:cmu_us_slt_arctic_hts'
    """
    return [(m, voice_for(m).engine_voice) for m in known_models()]


def model_uuid(model: str) -> str:
    """A stable UUID for a local voice (reported in dg-model-uuid and Metadata)."""
    import uuid

    return str(uuid.uuid5(uuid.UUID("6c1f4d7e-2b0a-4c9e-8f3d-5a7b9e1c2d40"), model))


# --------------------------------------------------------------------------- formats

@dataclass(frozen=True)
class Format:
    """A validated output format."""

    encoding: str
    container: str  # "wav", "none", "ogg", or the encoding's own stream format ("mp3", "flac", "adts")
    sample_rate: int
    bit_rate: int | None

    @property
    def content_type(self) -> str:
        if self.container == "wav":
            return "audio/wav"
        return {"mp3": "audio/mpeg", "opus": "audio/ogg", "flac": "audio/flac", "aac": "audio/aac"}.get(
            self.encoding, "application/octet-stream")


# encoding -> (allowed rates, default rate, allowed containers (first = default), bit-rate rule)
_RULES: dict[str, dict] = {
    "linear16": {"rates": (8000, 16000, 22050, 24000, 32000, 48000), "rate": 24000, "containers": ("wav", "none")},
    "mulaw": {"rates": (8000, 16000), "rate": 8000, "containers": ("wav", "none")},
    "alaw": {"rates": (8000, 16000), "rate": 8000, "containers": ("wav", "none")},
    "mp3": {"rates": (22050,), "rate": 22050, "containers": ("mp3",), "bit_rates": (32000, 48000), "bit_rate": 48000},
    "opus": {"rates": (48000,), "rate": 48000, "containers": ("ogg",), "bit_range": (4000, 650000), "bit_rate": 12000},
    "flac": {"rates": (8000, 16000, 22050, 32000, 48000), "rate": 48000, "containers": ("flac",)},
    "aac": {"rates": (22050,), "rate": 22050, "containers": ("adts",), "bit_range": (4000, 192000), "bit_rate": 48000},
}
_AV_CODEC = {"mp3": "libmp3lame", "opus": "libopus", "flac": "flac", "aac": "aac"}
_WS_ENCODINGS = ("linear16", "mulaw", "alaw")


def _has_encoder(encoding: str) -> bool:
    if encoding not in _AV_CODEC:
        return True
    try:
        import av

        av.codec.Codec(_AV_CODEC[encoding], "w")
        return True
    except Exception:
        return False


def supported_encodings(websocket: bool = False) -> list[str]:
    """Encodings this engine can produce (REST), or stream (WebSocket)."""
    if websocket:
        return list(_WS_ENCODINGS)
    return [e for e in _RULES if _has_encoder(e)]


def _bad(msg: str) -> EngineError:
    return EngineError(400, BAD_REQUEST, msg)


def _int(name: str, value) -> int | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        raise _bad(f"{name}={value!r} is not a whole number") from None


def resolve_format(encoding=None, container=None, sample_rate=None, bit_rate=None, *, websocket: bool = False) -> Format:
    """Validate Deepgram's format options and fill in its defaults (linear16, wav, 24 kHz)."""
    enc = (encoding or "linear16").strip().lower()
    allowed = supported_encodings(websocket)
    if enc not in allowed:
        where = "the /v1/speak WebSocket" if websocket else "this engine"
        missing = "" if websocket or enc not in _RULES else " (no encoder for it is installed in PyAV)"
        raise _bad(f"encoding={enc!r} is not supported by {where}{missing}; supported: {', '.join(allowed)}")
    rule = _RULES[enc]
    rate = _int("sample_rate", sample_rate) or rule["rate"]
    if rate not in rule["rates"]:
        raise _bad(f"sample_rate={rate} is not valid for encoding={enc}; use one of "
                   f"{', '.join(str(r) for r in rule['rates'])}")
    if websocket:
        if container not in (None, "", "none"):
            raise _bad("the /v1/speak WebSocket streams raw audio: container must be 'none' or left out")
        cont = "none"
    else:
        cont = (container or "").strip().lower() or rule["containers"][0]
        native = rule["containers"][0]
        if cont == "none" and native not in ("wav",):
            cont = native  # mp3/flac/aac are their own stream format; "none" changes nothing
        if cont not in rule["containers"] and not (cont == "none" and "none" in rule["containers"]):
            allowed_c = [c for c in rule["containers"] if c in ("wav", "none", "ogg")] or ["none"]
            raise _bad(f"container={cont!r} is not valid for encoding={enc}; use {' or '.join(allowed_c)}")
    br = _int("bit_rate", bit_rate)
    if br is not None or "bit_rate" in rule:
        if "bit_rate" not in rule:
            raise _bad(f"bit_rate is not applicable to encoding={enc}")
        br = br or rule["bit_rate"]
        if "bit_rates" in rule and br not in rule["bit_rates"]:
            raise _bad(f"bit_rate={br} is not valid for encoding={enc}; use one of "
                       f"{', '.join(str(b) for b in rule['bit_rates'])}")
        if "bit_range" in rule and not rule["bit_range"][0] <= br <= rule["bit_range"][1]:
            lo, hi = rule["bit_range"]
            raise _bad(f"bit_rate={br} is out of range for encoding={enc} ({lo}..{hi})")
    return Format(encoding=enc, container=cont, sample_rate=rate, bit_rate=br)


# --------------------------------------------------------------------------- synthesis

def check_text(text) -> str:
    """The text to speak, or 400 (empty) / 413 (over :data:`MAX_CHARACTERS`)."""
    if not isinstance(text, str) or not text.strip():
        raise _bad('the text to speak is empty; send JSON {"text": "..."}')
    if len(text) > MAX_CHARACTERS:
        raise EngineError(413, "Payload Too Large",
                          f"the text has {len(text)} characters; the limit is {MAX_CHARACTERS} per request")
    return text


def synthesize(text: str, voice: Voice, sample_rate: int) -> np.ndarray:
    """Speak ``text``; float32 mono samples at ``sample_rate``. A faint dither (-80 dBFS) replaces
    espeak's exact digital silence, which some decoders and recognizers treat badly."""
    from . import samples, voices
    from ..wire.audio import resample

    if voice.speaker:
        x, sr = voices.synthesize(text, voice.speaker, voice.speed)
    else:
        x, sr = samples.synthesize(text, voice.settings)
    x = np.asarray(x, dtype=np.float32)
    if x.size:
        peak = float(np.max(np.abs(x)))
        if peak > 0:
            x = x * (0.8 / peak)
    x = resample(x, sr, sample_rate)
    rng = np.random.default_rng(len(text))
    return (x + rng.normal(0.0, 1e-4, x.shape)).astype(np.float32)


# --------------------------------------------------------------------------- encoders

def _pcm16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype("<i2")


def _mulaw(x: np.ndarray) -> bytes:
    """ITU-T G.711 mu-law."""
    pcm = _pcm16(x).astype(np.int32)
    sign = (pcm < 0).astype(np.int32)
    mag = np.minimum(np.abs(pcm), 32635) + 0x84
    exponent = np.clip(np.floor(np.log2(mag)).astype(np.int32) - 7, 0, 7)
    mantissa = (mag >> (exponent + 3)) & 0x0F
    return (~((sign << 7) | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()


def _alaw(x: np.ndarray) -> bytes:
    """ITU-T G.711 A-law."""
    pcm = _pcm16(x).astype(np.int32) >> 3
    neg = pcm < 0
    mask = np.where(neg, 0x55, 0xD5)
    mag = np.where(neg, -pcm - 1, pcm)
    seg = np.searchsorted(np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF]), mag)
    low = np.where(seg < 2, (mag >> 1) & 0x0F, (mag >> np.maximum(seg, 1)) & 0x0F)
    val = np.where(seg >= 8, 0x7F, (np.minimum(seg, 7) << 4) | low)
    return ((val ^ mask) & 0xFF).astype(np.uint8).tobytes()


def _raw(x: np.ndarray, encoding: str) -> bytes:
    if encoding == "linear16":
        return _pcm16(x).tobytes()
    if encoding == "mulaw":
        return _mulaw(x)
    return _alaw(x)


def wav_header(encoding: str, sample_rate: int, data_bytes: int) -> bytes:
    """A RIFF/WAVE header: PCM 16-bit, or G.711 (format 7 mu-law, 6 A-law) with an 18-byte fmt chunk."""
    if encoding == "linear16":
        fmt = struct.pack("<HHIIHH", 1, 1, sample_rate, sample_rate * 2, 2, 16)
    else:
        tag = 7 if encoding == "mulaw" else 6
        fmt = struct.pack("<HHIIHHH", tag, 1, sample_rate, sample_rate, 1, 8, 0)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", data_bytes)
    return b"RIFF" + struct.pack("<I", len(body) + data_bytes) + body


def _compressed(x: np.ndarray, fmt: Format) -> bytes:
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt.container) as out:
        stream = out.add_stream(_AV_CODEC[fmt.encoding], rate=fmt.sample_rate)
        stream.layout = "mono"
        if fmt.bit_rate:
            stream.bit_rate = fmt.bit_rate
        pcm = _pcm16(x).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = fmt.sample_rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def encode(x: np.ndarray, fmt: Format) -> bytes:
    """The whole reply body for samples ``x`` (already at ``fmt.sample_rate``)."""
    if fmt.encoding in ("linear16", "mulaw", "alaw"):
        data = _raw(x, fmt.encoding)
        if fmt.container == "wav":
            return wav_header(fmt.encoding, fmt.sample_rate, len(data)) + data
        return data
    try:
        return _compressed(x, fmt)
    except Exception as exc:  # an encoder failing inside PyAV: say which, without its traceback
        raise EngineError(500, "INTERNAL_SERVER_ERROR",
                          f"the {fmt.encoding} encoder failed ({type(exc).__name__})") from None


def encode_stream_chunk(x: np.ndarray, encoding: str) -> bytes:
    """Raw bytes of one streamed chunk (WebSocket: linear16 / mulaw / alaw, no container)."""
    return _raw(x, encoding)
