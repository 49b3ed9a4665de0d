"""Text intelligence: ``/v1/read`` (sentiment, topics, intents, summary on text).

>>> a = dg.read.analyze_text(open("notes.txt").read(), sentiment=True, topics=True, summarize=True)  # doctest: +SKIP
>>> a.sentiments.head(); a.topics; a.summary                                                         # doctest: +SKIP
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generator, Mapping

from .._core.http import Call
from .namespace import Namespace, endpoint
from .._core.params import check_options, encode_params

if TYPE_CHECKING:
    from ..results.analysis import TextAnalysis

__all__ = ["Read", "READ_OPTIONS"]

#: /v1/read query options.
READ_OPTIONS = frozenset({
    "callback", "callback_method", "custom_intent", "custom_intent_mode", "custom_topic", "custom_topic_mode",
    "intents", "language", "sentiment", "summarize", "tag", "topics",
})


def _body(source: Any) -> dict:
    if isinstance(source, str):
        if not source.strip():
            raise ValueError("the text is empty: nothing to analyse")
        return {"text": source}
    if isinstance(source, Mapping):
        keys = set(source)
        if keys == {"text"} and isinstance(source["text"], str) and source["text"].strip():
            return {"text": source["text"]}
        if keys == {"url"} and isinstance(source["url"], str) and source["url"].startswith(("http://", "https://")):
            return {"url": source["url"]}
        raise ValueError('source must be the text, {"text": "..."} or {"url": "https://..."}')
    raise TypeError(f"source must be a str or a dict with 'text' or 'url', not {type(source).__name__}")


class Read(Namespace):
    """Text intelligence. :meth:`analyze_text` returns a :class:`dgnb.TextAnalysis` (awaitable on ``AsyncClient``)."""

    name = "read"

    @endpoint
    def analyze_text(
        self,
        source: "str | Mapping[str, str]",
        *,
        language: str = "en",
        timeout: float | None = None,
        extra_query: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Generator[Any, Any, "TextAnalysis"]:
        """Analyse text (a ``str``, ``{"text": ...}`` or ``{"url": ...}``).

        Options: ``sentiment``, ``topics``, ``intents``, ``summarize`` (booleans), ``custom_topic`` /
        ``custom_intent`` (str or list), ``custom_topic_mode`` / ``custom_intent_mode`` ("strict" or
        "extended"), ``tag``, ``callback``.

        >>> dg.read.analyze_text("I love it.", sentiment=True).sentiments   # doctest: +SKIP
        """
        body = _body(source)
        options = {**options, "language": language}
        check_options(options, READ_OPTIONS, "/v1/read")
        params = encode_params({**options, **(extra_query or {})})
        headers = {"Content-Type": "application/json", **dict(extra_headers or {})}
        call = Call("POST", "/v1/read", "read", params=params, json=body, headers=headers, timeout=timeout)
        response = yield from self._send(call)
        data = response.json()
        if options.get("callback"):
            return data
        from ..results.analysis import TextAnalysis

        return TextAnalysis.from_response(data)

    analyze = analyze_text
