"""A development set of audio with no speech in it, made by code (nothing recorded is committed).

Each case is what a real line carries when nobody talks: digital silence, low-level white and pink
noise, mains hum (50 and 60 Hz with harmonics), a tone sweep, DTMF key presses, and hold music (a
synthetic chord sequence with a melody, as no registry package ships instrumental music). The
local engine must return no words for any of them. Cases are deterministic for a seed.

>>> cases = non_speech(seconds=2.0)
>>> sorted(cases)[:3], all(abs(x).max() <= 1.0 for x in cases.values())
(['dtmf', 'hold-music', 'hum-50hz'], True)
"""
from __future__ import annotations

import numpy as np

RATE = 16000


def _db(level_dbfs: float) -> float:
    return 10 ** (level_dbfs / 20)


def white_noise(seconds: float, level_dbfs: float = -45, seed: int = 0) -> np.ndarray:
    """Gaussian white noise with the given RMS level."""
    return np.random.default_rng(seed).normal(0, _db(level_dbfs), int(seconds * RATE)).astype(np.float32)


def pink_noise(seconds: float, level_dbfs: float = -45, seed: int = 0) -> np.ndarray:
    """1/f noise (white noise shaped in the frequency domain), with the given RMS level."""
    n = int(seconds * RATE)
    spectrum = np.fft.rfft(np.random.default_rng(seed).normal(size=n))
    f = np.arange(spectrum.size, dtype=np.float64)
    f[0] = 1.0
    x = np.fft.irfft(spectrum / np.sqrt(f), n)
    return (x / np.sqrt(np.mean(x ** 2)) * _db(level_dbfs)).astype(np.float32)


def hum(seconds: float, mains: float = 50.0, level_dbfs: float = -30) -> np.ndarray:
    """Mains hum: the fundamental and its odd and even harmonics, falling off."""
    t = np.arange(int(seconds * RATE)) / RATE
    x = sum(np.sin(2 * np.pi * mains * k * t) / k for k in range(1, 6))
    return (x / np.sqrt(np.mean(x ** 2)) * _db(level_dbfs)).astype(np.float32)


def sweep(seconds: float, low: float = 100.0, high: float = 4000.0, level_dbfs: float = -20) -> np.ndarray:
    """A logarithmic sine sweep from ``low`` to ``high`` Hz."""
    t = np.arange(int(seconds * RATE)) / RATE
    k = np.log(high / low) / seconds
    x = np.sin(2 * np.pi * low * (np.exp(k * t) - 1) / k)
    return (x * _db(level_dbfs) * np.sqrt(2)).astype(np.float32)


DTMF = {"1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "4": (770, 1209), "5": (770, 1336),
        "6": (770, 1477), "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "*": (941, 1209),
        "0": (941, 1336), "#": (941, 1477)}


def dtmf(seconds: float, keys: str = "5551234#0*9876", level_dbfs: float = -20) -> np.ndarray:
    """Key presses of a telephone keypad: 150 ms tones, 150 ms gaps, repeated to fill ``seconds``."""
    n, tone = int(seconds * RATE), int(0.15 * RATE)
    t = np.arange(tone) / RATE
    out = np.zeros(n, dtype=np.float32)
    pos, i = 0, 0
    while pos + tone <= n:
        low, high = DTMF[keys[i % len(keys)]]
        out[pos:pos + tone] = (np.sin(2 * np.pi * low * t) + np.sin(2 * np.pi * high * t)) * _db(level_dbfs)
        pos, i = pos + 2 * tone, i + 1
    return out


def hold_music(seconds: float, level_dbfs: float = -22, seed: int = 0) -> np.ndarray:
    """Hold music: a I-V-vi-IV chord sequence of plucked tones with harmonics, and a melody over it."""
    rng = np.random.default_rng(seed)
    n, beat = int(seconds * RATE), int(0.5 * RATE)
    t = np.arange(beat) / RATE
    envelope = np.exp(-3.0 * t)
    chords = [(60, 64, 67), (55, 59, 62), (57, 60, 64), (53, 57, 60)]  # C, G, Am, F (MIDI notes)

    def note(midi: int, gain: float) -> np.ndarray:
        f = 440.0 * 2 ** ((midi - 69) / 12)
        return gain * envelope * sum(np.sin(2 * np.pi * f * h * t) / h ** 1.5 for h in (1, 2, 3, 4))

    out = np.zeros(n + beat, dtype=np.float64)
    for b, pos in enumerate(range(0, n, beat)):
        chord = chords[(b // 4) % len(chords)]
        block = sum(note(m, 0.3) for m in chord) + note(chord[rng.integers(3)] + 12, 0.5)
        out[pos:pos + beat] += block
    out = out[:n]
    return (out / np.sqrt(np.mean(out ** 2)) * _db(level_dbfs)).astype(np.float32)


def non_speech(seconds: float = 20.0, seed: int = 0) -> dict[str, np.ndarray]:
    """Every non-speech case, ``name -> 16 kHz mono float32`` of ``seconds`` each."""
    return {
        "silence": np.zeros(int(seconds * RATE), dtype=np.float32),
        "white-noise-quiet": white_noise(seconds, -55, seed),
        "white-noise": white_noise(seconds, -40, seed),
        "pink-noise-quiet": pink_noise(seconds, -55, seed),
        "pink-noise": pink_noise(seconds, -40, seed),
        "hum-50hz": hum(seconds, 50.0),
        "hum-60hz": hum(seconds, 60.0),
        "sweep": sweep(seconds),
        "dtmf": dtmf(seconds),
        "hold-music": hold_music(seconds, seed=seed),
    }


def wav_bytes(x: np.ndarray, rate: int = RATE) -> bytes:
    """16-bit PCM WAV of float samples in [-1, 1]."""
    from dgnb._core.audio import wav_header

    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()
    return wav_header("linear16", rate, len(pcm)) + pcm
