"""espeak-ng through its C library (from the PyPI package ``espeakng-loader``, no system package):
the fallback voices of the sample dialogues and of ``/v1/speak``.

>>> samples, rate = synthesize("Hello there.", "agent")   # doctest: +SKIP
"""
from __future__ import annotations

import ctypes
import threading

import numpy as np

__all__ = ["VOICES", "synthesize"]

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
            raise RuntimeError("dgnb.local.models.espeak needs the 'espeakng-loader' package") from exc
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
