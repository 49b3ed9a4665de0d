"""dgnb: the Deepgram API, native to Jupyter notebooks.

>>> import dgnb
>>> dg = dgnb.Client()                       # doctest: +SKIP
>>> t = dg.transcribe("call.mp3", diarize=True)  # doctest: +SKIP
>>> t.words                                  # doctest: +SKIP

The package is layered (see ARCHITECTURE.md): ``protocol`` (wire facts), ``_core`` (config, HTTP,
WebSocket, errors), ``results`` (DataFrames from responses), ``api`` (the client and its namespaces),
``notebook`` (plots, captions, reports, widgets), and ``local`` (the embedded engine, a server).
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"

from ._core.errors import ApiError, ConnectionError, DgnbError, TimeoutError  # noqa: E402

__all__ = [
    "Client", "AsyncClient", "Transcript", "RawResponse", "SpeechAudio", "TextAnalysis", "LiveStreamError",
    "ApiError", "DgnbError", "TimeoutError", "ConnectionError", "__version__",
]

_LAZY = {
    "Client": ".api.client",
    "AsyncClient": ".api.client",
    "RawResponse": "._core.http",
    "Transcript": ".results.transcript",
    "SpeechAudio": ".results.speech_audio",
    "TextAnalysis": ".results.analysis",
    "LiveStreamError": ".api.listen.live",
}

#: Short public names of modules: ``dgnb.plots`` is ``dgnb.notebook.plots``, and ``import dgnb.plots`` works too.
_SUBMODULES = {
    "reports": ".notebook.reports", "plots": ".notebook.plots", "widgets": ".notebook.widgets",
    "captions": ".notebook.captions", "demo": ".notebook.demo", "cache": "._core.cache", "batch": ".api.batch",
    "live": ".api.listen.live", "errors": "._core.errors",
}


def __getattr__(name: str):
    """Import heavy parts on first use, so ``import dgnb`` stays fast."""
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(_SUBMODULES[name], __name__)
    raise AttributeError(f"module 'dgnb' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_SUBMODULES))


class _ShortNames(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Lets ``import dgnb.plots`` (and ``from dgnb.plots import ...``) find the module at its layered home."""

    def find_spec(self, fullname, path=None, target=None):
        short = fullname[len(__name__) + 1:] if fullname.startswith(__name__ + ".") else None
        if short not in _SUBMODULES:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        module = importlib.import_module(_SUBMODULES[spec.name[len(__name__) + 1:]], __name__)
        spec.loader_state = (module.__spec__, module.__loader__)
        return module

    def exec_module(self, module):
        module.__spec__, module.__loader__ = module.__spec__.loader_state  # keep the module's own identity


if not any(isinstance(f, _ShortNames) for f in sys.meta_path):
    sys.meta_path.append(_ShortNames())
