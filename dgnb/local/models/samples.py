"""Synthetic sample audio: a two-voice customer-support dialogue.

The agent speaks with Festival's HTS "slt" voice (female) and the customer with flite's "rms" (male)
when they are installed (Debian ``festival festvox-us-slt-hts flite``): the recogniser reads them
best (``benchmarks/bench_voices.py``: WER 0.05 and 0.09 against espeak-ng's 0.19-0.21), and the same
``seed`` then gives byte-identical audio in any process. Without them, espeak-ng from the PyPI
package ``espeakng-loader`` speaks (no system package needed; its audio varies a little run to run).
"""
from __future__ import annotations

import ctypes
import functools
import io
import threading
import wave
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Dialogue", "dialogue", "synthesize", "DEFAULT_LINES", "VOICES"]

#: (speaker, text) turns: a frustrated customer, an agent who fixes things, a happy ending.
DEFAULT_LINES: list[tuple[str, str]] = [
    ("agent", "Thank you for calling Acme support. My name is Sarah. How can I help you today?"),
    ("customer", "Hi. I am really frustrated. I was charged twice for my subscription this month, "
                 "and nobody answered my emails."),
    ("agent", "I am so sorry about that. Let me look at your account. Can you tell me your email address?"),
    ("customer", "It is john dot smith at example dot com. This is the third time I have called, "
                 "and it is terrible service."),
    ("agent", "I understand. I can see the duplicate charge of twenty nine dollars. "
              "I will request a refund right now."),
    ("customer", "Okay. How long will the refund take?"),
    ("agent", "The refund will arrive in three to five business days. "
              "I have also added a free month to your plan for the trouble."),
    ("customer", "Oh, that is great. Thank you so much, I really appreciate your help."),
    ("agent", "You are very welcome. Is there anything else I can do for you?"),
    ("customer", "No, that is all. You have been wonderful. Have a nice day."),
]

#: The clearest installed voice per speaker (``dgnb.local.models.voices`` names).
CLEAR_VOICES: dict[str, str] = {"agent": "festival:cmu_us_slt_arctic_hts", "customer": "flite:rms"}
#: The rate every dialogue is rendered at.
DIALOGUE_RATE = 16000

#: espeak-ng voice settings per speaker (the fallback): clearly different timbre, pitch and pace.
VOICES: dict[str, dict] = {
    "agent": {"name": "en-us+f3", "pitch": 75, "range": 60, "rate": 165},
    "customer": {"name": "en-us+m3", "pitch": 30, "range": 40, "rate": 150},
}

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_POS_CHARACTER = 1
_ESPEAK_CHARS_UTF8 = 1
_PARAM = {"rate": 1, "volume": 2, "pitch": 3, "range": 4}
_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

_lock = threading.Lock()  # libespeak-ng keeps global state: one synthesis at a time
_engine: "_Espeak | None" = None


class _Espeak:
    """Minimal ctypes binding of libespeak-ng in synchronous (retrieval) mode."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:  # pragma: no cover - declared dependency
            raise RuntimeError("dgnb.local.models.samples needs the 'espeakng-loader' package") from exc
        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data = espeakng_loader.get_data_path().encode()
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, 0)
        if rate <= 0:
            raise RuntimeError("libespeak-ng failed to initialise")
        self.sample_rate = int(rate)
        self._chunks: list[np.ndarray] = []

        def on_audio(wav, n, _events):
            if n > 0 and wav:
                self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
            return 0

        self._callback = _CALLBACK(on_audio)  # keep a reference: C holds the pointer
        self.lib.espeak_SetSynthCallback(self._callback)
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
        ]

    def speak(self, text: str, voice: dict) -> np.ndarray:
        """Synthesize ``text`` with ``voice`` settings; returns int16 samples at ``sample_rate``."""
        if self.lib.espeak_SetVoiceByName(voice["name"].encode()) != 0:
            raise ValueError(f"unknown espeak-ng voice {voice['name']!r}")
        for key, param in _PARAM.items():
            if key in voice:
                self.lib.espeak_SetParameter(param, int(voice[key]), 0)
        self._chunks = []
        data = text.encode("utf-8") + b"\0"
        err = self.lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _ESPEAK_CHARS_UTF8, None, None)
        if err != 0:
            raise RuntimeError(f"espeak_Synth failed with code {err}")
        self.lib.espeak_Synchronize()
        if not self._chunks:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(self._chunks).astype(np.int16)


def _get_engine() -> _Espeak:
    global _engine
    if _engine is None:
        _engine = _Espeak()
    return _engine


def synthesize(text: str, voice: dict | str = "agent") -> tuple[np.ndarray, int]:
    """Speak one text; returns (float32 samples in [-1, 1], sample rate). ``voice``: a VOICES key or settings dict."""
    settings = VOICES[voice] if isinstance(voice, str) else voice
    with _lock:
        engine = _get_engine()
        pcm = engine.speak(text, settings)
        return pcm.astype(np.float32) / 32768.0, engine.sample_rate


def _trim(x: np.ndarray, threshold: float = 1e-3) -> np.ndarray:
    """Drop the leading/trailing digital silence espeak leaves around an utterance."""
    idx = np.flatnonzero(np.abs(x) > threshold)
    return x[idx[0]: idx[-1] + 1] if idx.size else x[:0]


@dataclass
class Dialogue:
    """A synthesized conversation. ``turns``: (speaker, text, start s, end s) of each spoken turn."""

    samples: np.ndarray  # float32 mono
    sample_rate: int
    turns: list[tuple[str, str, float, float]] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    @property
    def text(self) -> str:
        return "\n".join(f"{speaker}: {text}" for speaker, text, _, _ in self.turns)

    @property
    def speakers(self) -> list[str]:
        return list(dict.fromkeys(s for s, _, _, _ in self.turns))

    @property
    def wav_bytes(self) -> bytes:
        """The audio as a 16-bit PCM mono WAV file."""
        pcm = np.clip(self.samples * 32767.0, -32768, 32767).astype("<i2")
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(self.sample_rate)
            w.writeframes(pcm.tobytes())
        return buf.getvalue()

    def save(self, path) -> None:
        with open(path, "wb") as f:
            f.write(self.wav_bytes)


def default_voices() -> dict[str, str | dict]:
    """Per speaker, the clear voice when installed, else the espeak-ng settings."""
    from . import voices

    return {who: CLEAR_VOICES[who] if voices.available(CLEAR_VOICES[who]) else VOICES[who] for who in VOICES}


def _speak(text: str, voice: str | dict) -> np.ndarray:
    """One line at :data:`DIALOGUE_RATE`, by a voice name (``voices`` module) or espeak-ng settings."""
    if isinstance(voice, str):
        return _named_voice_line(text, voice).copy()
    x, rate = synthesize(text, voice)
    return _at_dialogue_rate(x, rate)


@functools.lru_cache(maxsize=512)
def _named_voice_line(text: str, voice: str) -> np.ndarray:
    from . import voices  # deterministic voices: a line said once is the same line next time

    return _at_dialogue_rate(*voices.synthesize(text, voice))


def _at_dialogue_rate(x: np.ndarray, rate: int) -> np.ndarray:
    from ..wire.audio import resample

    return resample(x[None, :], rate, DIALOGUE_RATE)[0].astype(np.float32) if rate != DIALOGUE_RATE else x


def dialogue(lines: list[tuple[str, str]] | None = None, seed: int = 0, *,
             pause: tuple[float, float] = (0.5, 0.9), noise_db: float = -50.0,
             voices: dict[str, str | dict] | None = None) -> Dialogue:
    """Synthesize a two-voice customer-support dialogue at 16 kHz.

    ``lines``: (speaker, text) pairs; speakers must be keys of ``voices`` (default
    :func:`default_voices`: "agent" and "customer"), each a voice name of
    ``dgnb.local.models.voices`` or espeak-ng settings. Pauses between turns are drawn uniformly from
    ``pause`` seconds, and white noise at ``noise_db`` dBFS is added so the audio is never digital
    silence.

        >>> d = dialogue([("agent", "Hello."), ("customer", "Hi.")])   # doctest: +SKIP
        >>> d.sample_rate, d.speakers                                  # doctest: +SKIP
        (16000, ['agent', 'customer'])
    """
    lines = DEFAULT_LINES if lines is None else lines
    voices = default_voices() if voices is None else voices
    if not lines:
        raise ValueError("dialogue needs at least one (speaker, text) line")
    rng = np.random.default_rng(seed)
    pieces: list[np.ndarray] = []
    turns: list[tuple[str, str, float, float]] = []
    sr = None
    t = 0.0
    lead = 0.3
    for i, (speaker, text) in enumerate(lines):
        if speaker not in voices:
            raise ValueError(f"unknown speaker {speaker!r}; known: {sorted(voices)}")
        if not str(text).strip():
            raise ValueError(f"line {i} has no text")
        x, sr = _trim(_speak(text, voices[speaker])), DIALOGUE_RATE
        gap = lead if i == 0 else float(rng.uniform(*pause))
        pieces.append(np.zeros(int(round(gap * sr)), dtype=np.float32))
        t += gap
        start = t
        pieces.append(x)
        t += len(x) / sr
        turns.append((speaker, text, round(start, 3), round(t, 3)))
    pieces.append(np.zeros(int(0.4 * sr), dtype=np.float32))
    audio = np.concatenate(pieces)
    audio = 0.8 * audio / max(1e-9, float(np.max(np.abs(audio))))
    audio = audio + rng.normal(0.0, 10 ** (noise_db / 20.0), audio.shape).astype(np.float32)
    return Dialogue(samples=audio.astype(np.float32), sample_rate=int(sr), turns=turns)
