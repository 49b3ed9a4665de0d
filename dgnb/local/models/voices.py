"""Voices the local engine can speak with, from whichever speech synthesisers are installed.

A voice is named ``"<engine>:<voice>"``:

- ``festival:cmu_us_slt_arctic_hts`` - Festival with the HTS "slt" voice (Debian ``festival
  festvox-us-slt-hts``; female, US; BSD-style licence);
- ``flite:slt``, ``flite:awb``, ``flite:rms``, ``flite:kal16`` - flite's built-in voices (Debian ``flite``;
  slt female US, awb male Scottish, rms male US);
- ``espeak:<settings>`` - espeak-ng from the ``espeakng-loader`` wheel, always installed (the fallback).

Every engine here is deterministic: the same text and voice give the same samples in any process.

    >>> from dgnb.local.models import voices
    >>> x, rate = voices.synthesize("Hello there.", "flite:slt")   # doctest: +SKIP
    >>> voices.available("flite:slt")                              # doctest: +SKIP
    True
"""
from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

__all__ = ["available", "synthesize", "installed", "FESTIVAL_VOICES", "FLITE_VOICES"]

FESTIVAL_VOICES = {"cmu_us_slt_arctic_hts": "/usr/share/festival/voices/us/cmu_us_slt_arctic_hts"}
FLITE_VOICES = ("slt", "awb", "rms", "kal16")
_TIMEOUT = 60


def _engine(voice: str) -> tuple[str, str]:
    engine, _, name = voice.partition(":")
    if engine not in ("festival", "flite", "espeak") or not name:
        raise ValueError(f"unknown voice {voice!r}: use festival:<voice>, flite:<voice> or espeak:<settings>")
    return engine, name


@functools.lru_cache(maxsize=None)
def available(voice: str) -> bool:
    """True when ``voice``'s synthesiser (and its voice data) is installed."""
    engine, name = _engine(voice)
    if engine == "espeak":
        return True
    if engine == "flite":
        return name in FLITE_VOICES and shutil.which("flite") is not None
    return name in FESTIVAL_VOICES and shutil.which("text2wave") is not None and Path(FESTIVAL_VOICES[name]).is_dir()


def installed() -> list[str]:
    """The festival and flite voices installed here (espeak-ng voices are always there)."""
    return [v for v in [*(f"festival:{n}" for n in FESTIVAL_VOICES), *(f"flite:{n}" for n in FLITE_VOICES)]
            if available(v)]


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path)) as w:
        rate, width, n = w.getframerate(), w.getsampwidth(), w.getnframes()
        if width != 2 or w.getnchannels() != 1:
            raise RuntimeError(f"{path.name}: expected 16-bit mono from the synthesiser")
        pcm = np.frombuffer(w.readframes(n), dtype="<i2")
    return pcm.astype(np.float32) / 32768.0, rate


def synthesize(text: str, voice: str, speed: float = 1.0) -> tuple[np.ndarray, int]:
    """Speak ``text`` with ``voice`` at ``speed`` (1.0 natural, 1.5 half as fast again); returns
    (float32 samples in [-1, 1], sample rate)."""
    engine, name = _engine(voice)
    if engine == "espeak":
        from .espeak import synthesize as espeak

        settings = _espeak_settings(name)
        settings["rate"] = int(round(settings.get("rate", 175) * speed))
        return espeak(text, settings)
    if not available(voice):
        raise RuntimeError(f"voice {voice!r} is not installed (Debian: apt-get install "
                           f"{'flite' if engine == 'flite' else 'festival festvox-us-slt-hts'})")
    text = " ".join(str(text).split())
    with tempfile.TemporaryDirectory(prefix="dgnb-voice-") as tmp:
        out = Path(tmp) / "out.wav"
        if engine == "flite":
            src = Path(tmp) / "text.txt"
            src.write_text(text, encoding="utf-8")
            cmd, stdin = ["flite", "-voice", name, "--setf", f"duration_stretch={1 / speed:.4f}",
                          "-f", str(src), "-o", str(out)], None
        else:
            faster = f"(set! hts_engine_params (append hts_engine_params '((\"-r\" {speed:.4f}))))"
            cmd, stdin = ["text2wave", "-eval", f"(voice_{name})", "-eval", faster, "-o", str(out)], text.encode("utf-8")
        done = subprocess.run(cmd, input=stdin, capture_output=True, timeout=_TIMEOUT)
        if done.returncode != 0 or not out.exists():
            raise RuntimeError(f"{engine} failed on voice {name}: {done.stderr.decode(errors='replace')[-300:]}")
        return _read_wav(out)


def _espeak_settings(name: str) -> dict:
    """``espeak:en-us+f3`` or ``espeak:agent`` (an espeak.VOICES key) -> espeak-ng settings."""
    from .espeak import VOICES

    return dict(VOICES[name]) if name in VOICES else {"name": name}
