"""Synthetic sample audio: a two-voice customer-support dialogue.

The agent speaks with Festival's HTS "slt" voice (female) and the customer with flite's "rms" (male)
when they are installed (Debian ``festival festvox-us-slt-hts flite``): the recogniser reads them
best (``benchmarks/bench_voices.py``: WER 0.05 and 0.09 against espeak-ng's 0.19-0.21), and the same
``seed`` then gives byte-identical audio in any process. Without them, espeak-ng from the PyPI
package ``espeakng-loader`` speaks (no system package needed; its audio varies a little run to run).
"""
from __future__ import annotations

import functools
import io
import wave
from dataclasses import dataclass, field

import numpy as np

from .espeak import VOICES, synthesize  # public here too: samples.synthesize, samples.VOICES

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
