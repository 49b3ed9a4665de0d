"""Notebook widgets (anywidget: a Python class plus one ES module beside it, no build step).

Imported lazily: ``import dgnb`` does not import ipywidgets or anywidget.
"""
from __future__ import annotations

import importlib

_WIDGETS = {
    "LiveTranscript": ".live_transcript",
    "Player": ".player",
    "Recorder": ".recorder",
    "AgentView": ".agent_view",
}
__all__ = list(_WIDGETS)


def __getattr__(name: str):
    if name in _WIDGETS:
        return getattr(importlib.import_module(_WIDGETS[name], __name__), name)
    raise AttributeError(f"module 'dgnb.widgets' has no attribute {name!r}")
