"""``TextAnalysis``: a /v1/read reply as pandas DataFrames (no I/O).

>>> a = TextAnalysis.from_response(reply)      # doctest: +SKIP
>>> a.sentiments                               # one row per segment; a.sentiment_average  # doctest: +SKIP
>>> a.topics, a.intents, a.summary             # doctest: +SKIP
"""
from __future__ import annotations

import copy
import html
from typing import Any, Mapping

import pandas as pd

from .frames import dig as _dig, segments as _segments

__all__ = ["TextAnalysis"]

_SEGMENT_COLUMNS = ["text", "start_word", "end_word"]


def _labelled(segments: list[dict], key: str, label: str) -> pd.DataFrame:
    """One row per (segment, label): text, start_word, end_word, segment, <label>, confidence_score."""
    rows = []
    for i, seg in enumerate(segments):
        for item in seg.get(key) or []:
            rows.append({"segment": i, "text": seg.get("text"), "start_word": seg.get("start_word"),
                         "end_word": seg.get("end_word"), label: item.get(label),
                         "confidence_score": item.get("confidence_score")})
    df = pd.DataFrame(rows, columns=["segment", *_SEGMENT_COLUMNS, label, "confidence_score"])
    return df.astype({"segment": "int64", "start_word": "Int64", "end_word": "Int64", "confidence_score": "float64"})


class TextAnalysis:
    """Text intelligence results: ``sentiments``, ``topics``, ``intents`` DataFrames and the ``summary``."""

    def __init__(self, response: Mapping[str, Any]) -> None:
        if not isinstance(response, Mapping) or "results" not in response:
            raise ValueError("not a /v1/read reply: expected a JSON object with 'results'")
        self._response = copy.deepcopy(dict(response))
        self.results: dict = self._response.get("results") or {}
        meta = self._response.get("metadata") or {}
        # the official SDK's mocks nest it once more: {"metadata": {"metadata": {...}}}
        self.metadata: dict = meta.get("metadata") if isinstance(meta.get("metadata"), Mapping) else meta

    @classmethod
    def from_response(cls, response: Mapping[str, Any]) -> "TextAnalysis":
        return cls(response)

    # ---- scalars
    @property
    def request_id(self) -> str | None:
        return self.metadata.get("request_id")

    @property
    def language(self) -> str | None:
        return self.metadata.get("language")

    @property
    def summary(self) -> str | None:
        """The summary text (``summarize=True``), else None."""
        s = self.results.get("summary")
        if isinstance(s, str):
            return s
        return _dig(s, "text") or _dig(s, "results", "summary", "text") or _dig(s, "short")

    # ---- frames
    @property
    def sentiments(self) -> pd.DataFrame:
        """One row per sentiment segment: text, start_word, end_word, sentiment, sentiment_score.
        ``df.attrs["average"]`` holds the average (also :attr:`sentiment_average`)."""
        block = self.results.get("sentiments")
        segs = _segments(block, "sentiments")
        df = pd.DataFrame([{k: s.get(k) for k in (*_SEGMENT_COLUMNS, "sentiment", "sentiment_score")} for s in segs],
                          columns=[*_SEGMENT_COLUMNS, "sentiment", "sentiment_score"])
        df = df.astype({"start_word": "Int64", "end_word": "Int64", "sentiment_score": "float64"})
        df["sentiment"] = pd.Categorical(df["sentiment"], categories=["negative", "neutral", "positive"])
        df.attrs["average"] = self.sentiment_average
        return df

    @property
    def sentiment_average(self) -> dict | None:
        """``{"sentiment", "sentiment_score"}`` over the whole text, or None."""
        avg = _dig(self.results.get("sentiments"), "average")
        return dict(avg) if isinstance(avg, Mapping) else None

    @property
    def topics(self) -> pd.DataFrame:
        """One row per (segment, topic): segment, text, start_word, end_word, topic, confidence_score."""
        return _labelled(_segments(self.results.get("topics"), "topics"), "topics", "topic")

    @property
    def intents(self) -> pd.DataFrame:
        """One row per (segment, intent): segment, text, start_word, end_word, intent, confidence_score."""
        return _labelled(_segments(self.results.get("intents"), "intents"), "intents", "intent")

    def to_dict(self) -> dict:
        """The reply as received (a copy)."""
        return copy.deepcopy(self._response)

    # ---- display
    def __repr__(self) -> str:
        parts = []
        if self.summary:
            parts.append(f"summary={len(self.summary.split())} words")
        for name in ("sentiments", "topics", "intents"):
            if name in self.results:
                parts.append(f"{name}={len(getattr(self, name))} rows")
        avg = self.sentiment_average
        if avg:
            parts.append(f"average={avg.get('sentiment')}")
        return f"TextAnalysis({', '.join(parts) or 'empty'})"

    def _repr_html_(self) -> str:
        out = [f"<div><b>TextAnalysis</b> <code>{html.escape(self.request_id or '')}</code>"]
        if self.summary:
            out.append(f"<p><b>Summary.</b> {html.escape(self.summary)}</p>")
        avg = self.sentiment_average
        if avg:
            out.append(f"<p><b>Average sentiment:</b> {html.escape(str(avg.get('sentiment')))} "
                       f"({float(avg.get('sentiment_score') or 0):+.3f})</p>")
        for name in ("topics", "intents"):
            df = getattr(self, name)
            if len(df):
                label = name[:-1]
                top = df.groupby(label)["confidence_score"].max().sort_values(ascending=False).head(8)
                out.append(f"<p><b>{name.capitalize()}:</b> " + ", ".join(html.escape(str(t)) for t in top.index) + "</p>")
        out.append("</div>")
        return "".join(out)
