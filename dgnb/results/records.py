"""Pure helpers over JSON records (no pandas, no numpy): a Transcript's text, duration and card read the
response through these, so nothing imports pandas until a DataFrame is asked for."""
from __future__ import annotations

from typing import Any, Mapping

__all__ = ["dig", "as_list", "number", "segments"]


def dig(obj: Any, *keys: str) -> Any:
    """``obj[k1][k2]...``, or None where a level is missing or not a mapping.

    >>> dig({"a": {"b": 1}}, "a", "b"), dig({"a": 1}, "a", "b")
    (1, None)
    """
    for key in keys:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def as_list(value: Any) -> list:
    """``value`` if it is a JSON array, else ``[]``."""
    return value if isinstance(value, list) else []


def number(value: Any) -> float:
    """``value`` as a float if it is a JSON number (not a bool), else 0.0.

    >>> number(2), number(True), number(None)
    (2.0, 0.0, 0.0)
    """
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def segments(block: Any, name: str) -> list[dict]:
    """Segments of a sentiments/topics/intents block, in the wire shape ``{"results": {name: {"segments"}}}``
    or the flattened ``{"segments": [...]}`` the SDKs give.

    >>> segments({"segments": [{"text": "hi"}]}, "topics")
    [{'text': 'hi'}]
    """
    found = dig(block, "results", name, "segments")
    if found is None:
        found = dig(block, "segments")
    return [s for s in found if isinstance(s, dict)] if isinstance(found, list) else []
