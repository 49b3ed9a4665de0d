"""Notebook widgets (anywidget: a Python class plus one ES module beside it, no build step).

Imported lazily: ``import dgnb`` does not import ipywidgets or anywidget.
"""
from __future__ import annotations

__all__ = ["LiveTranscript"]


def __getattr__(name: str):
    if name == "LiveTranscript":
        from .live_transcript import LiveTranscript

        return LiveTranscript
    raise AttributeError(f"module 'dgnb.widgets' has no attribute {name!r}")
