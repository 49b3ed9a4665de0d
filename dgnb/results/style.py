"""Presentation shared by the HTML cards, the plots and the widgets: speaker colours, clock times."""
from __future__ import annotations

from typing import Any

SPEAKER_COLOURS = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#393b79",
]


def speaker_colour(speaker: Any) -> str:
    """The colour of a speaker, the same everywhere; grey when there is no speaker.

    >>> speaker_colour(0), speaker_colour(11), speaker_colour(None)
    ('#1f77b4', '#d62728', '#7f7f7f')
    """
    try:
        return SPEAKER_COLOURS[int(speaker) % len(SPEAKER_COLOURS)]
    except (TypeError, ValueError):
        return "#7f7f7f"


def clock(seconds: float | None, digits: int = 1) -> str:
    """``m:ss.s`` (or ``h:mm:ss.s``) for a time in seconds; ``digits`` decimals of seconds.

    >>> clock(75.25), clock(3725, 0), clock(None)
    ('1:15.2', '1:02:05', '')
    """
    import math

    if seconds is None or not math.isfinite(seconds):
        return ""
    seconds = round(max(0.0, float(seconds)), digits)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    width = 2 + (digits + 1 if digits else 0)
    text = f"{secs:0{width}.{digits}f}"
    return f"{hours}:{minutes:02d}:{text}" if hours else f"{minutes}:{text}"
