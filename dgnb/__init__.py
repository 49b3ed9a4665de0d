"""dgnb: the Deepgram API, native to Jupyter notebooks.

>>> import dgnb
>>> dg = dgnb.Client()                       # doctest: +SKIP
>>> t = dg.transcribe("call.mp3", diarize=True)  # doctest: +SKIP
>>> t.words                                  # doctest: +SKIP
"""
from __future__ import annotations

__version__ = "0.1.0"

from .errors import ApiError, ConnectionError, DgnbError, TimeoutError  # noqa: E402

__all__ = [
    "Client", "AsyncClient", "Transcript", "RawResponse", "SpeechAudio", "TextAnalysis", "LiveStreamError",
    "ApiError", "DgnbError", "TimeoutError", "ConnectionError", "__version__",
]

_LAZY = {
    "Client": "._client",
    "AsyncClient": "._client",
    "RawResponse": "._http",
    "Transcript": ".transcript",
    "SpeechAudio": ".speech_audio",
    "TextAnalysis": ".analysis",
    "LiveStreamError": ".live",
}


#: Submodules reachable as ``dgnb.<name>`` right after ``import dgnb`` (imported on first use).
_SUBMODULES = {"reports", "plots", "widgets", "captions", "cache", "batch", "live", "demo"}


def __getattr__(name: str):
    """Import heavy parts on first use, so ``import dgnb`` stays fast."""
    import importlib

    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'dgnb' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
