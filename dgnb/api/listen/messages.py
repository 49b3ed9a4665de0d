"""The messages of a live /v1/listen stream, typed: ``Results``, ``Metadata``, ``UtteranceEnd``,
``SpeechStarted``, ``Error``, and the client's own ``Open``, ``Close`` and ``Reconnect`` events.

>>> parse_message('{"type": "UtteranceEnd", "last_word_end": 2.5}')
<UtteranceEndMessage last_word_end=2.50s>
"""
from __future__ import annotations

import json
from typing import Any, Mapping

#: Event names for :meth:`dgnb.live.AsyncLiveConnection.on` (the official SDKs' names, plus Reconnect).
EVENTS = ("Open", "Results", "Metadata", "UtteranceEnd", "SpeechStarted", "Close", "Error", "Unhandled", "Reconnect",
          "ConfigureSuccess", "ConfigureFailure")
EVENT_ALIASES = {"Transcript": "Results", "transcript": "Results", "Warning": "Unhandled"}


class LiveMessage:
    """A message of the live stream: ``type`` plus the JSON (``.json``; also ``msg["key"]``)."""

    type = "Unhandled"

    def __init__(self, data: Mapping[str, Any], raw: str | None = None) -> None:
        self.json = dict(data)
        self.raw = raw

    def __getitem__(self, key: str) -> Any:
        return self.json[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.json.get(key, default)

    def _fields(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"<{type(self).__name__}{self._fields()}>"

    #: The one stream timestamp (seconds) of this message type that :meth:`shifted` moves.
    _time_key: str | None = None

    def shifted(self, offset: float) -> "LiveMessage":
        """A copy with every stream timestamp moved by ``offset`` seconds."""
        if not offset or self._time_key is None:
            return self
        return type(self)(dict(self.json, **{self._time_key: round(_num(self.json.get(self._time_key)) + offset, 6)}))


def _num(value: Any, default: float = 0.0) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


class ResultsMessage(LiveMessage):
    """An interim (``is_final`` false) or final transcript of a stretch of audio."""

    type = "Results"

    @property
    def is_final(self) -> bool:
        return self.json.get("is_final") is True

    @property
    def speech_final(self) -> bool:
        return self.json.get("speech_final") is True

    @property
    def from_finalize(self) -> bool:
        return self.json.get("from_finalize") is True

    @property
    def start(self) -> float:
        return _num(self.json.get("start"))

    @property
    def duration(self) -> float:
        return _num(self.json.get("duration"))

    @property
    def end(self) -> float:
        return self.start + self.duration

    @property
    def channel(self) -> int:
        index = self.json.get("channel_index")
        return index[0] if isinstance(index, list) and index and isinstance(index[0], int) else 0

    @property
    def channels(self) -> int:
        index = self.json.get("channel_index")
        return index[1] if isinstance(index, list) and len(index) > 1 and isinstance(index[1], int) else 1

    @property
    def alternative(self) -> dict:
        alts = (self.json.get("channel") or {}).get("alternatives") or [{}]
        return alts[0] if isinstance(alts[0], dict) else {}

    @property
    def transcript(self) -> str:
        return str(self.alternative.get("transcript") or "")

    @property
    def confidence(self) -> float:
        return _num(self.alternative.get("confidence"))

    @property
    def words(self) -> list[dict]:
        return [w for w in self.alternative.get("words") or [] if isinstance(w, dict)]

    def _fields(self) -> str:
        kind = "final" if self.is_final else "interim"
        return f" {kind} {self.start:.2f}-{self.end:.2f}s {self.transcript[:60]!r}"

    def shifted(self, offset: float) -> "ResultsMessage":
        """A copy with ``start`` and every word's times moved by ``offset`` seconds. Only what holds a time is
        copied (the message, its channel, alternatives and words), so the original is untouched and a
        reconnected stream pays a few dict copies per message, not a deep copy.

        >>> m = parse_message('{"type": "Results", "start": 1.0, "channel": {"alternatives": '
        ...                   '[{"words": [{"word": "hi", "start": 1.0, "end": 1.25}]}]}}')
        >>> m.shifted(10).words, m.words
        ([{'word': 'hi', 'start': 11.0, 'end': 11.25}], [{'word': 'hi', 'start': 1.0, 'end': 1.25}])
        """
        if not offset:
            return self

        def move(word: Any) -> Any:
            if not isinstance(word, dict):
                return word
            return {**word, **{k: round(word[k] + offset, 6) for k in ("start", "end")
                               if isinstance(word.get(k), (int, float)) and not isinstance(word.get(k), bool)}}

        data = dict(self.json, start=round(_num(self.json.get("start")) + offset, 6))
        channel = data.get("channel")
        if isinstance(channel, dict) and isinstance(channel.get("alternatives"), list):
            data["channel"] = dict(channel, alternatives=[
                dict(alt, words=[move(w) for w in alt["words"]])
                if isinstance(alt, dict) and isinstance(alt.get("words"), list) else alt
                for alt in channel["alternatives"]])
        return ResultsMessage(data)


class MetadataMessage(LiveMessage):
    """Sent once when the stream closes: request_id, duration, sha256, models."""

    type = "Metadata"
    _time_key = "duration"

    @property
    def request_id(self) -> str | None:
        return self.json.get("request_id")

    @property
    def duration(self) -> float:
        return _num(self.json.get("duration"))

    def _fields(self) -> str:
        return f" request_id={self.request_id} duration={self.duration:.2f}s"


class UtteranceEndMessage(LiveMessage):
    """A gap after the last word (``utterance_end_ms``)."""

    type = "UtteranceEnd"
    _time_key = "last_word_end"

    @property
    def last_word_end(self) -> float:
        return _num(self.json.get("last_word_end"))

    def _fields(self) -> str:
        return f" last_word_end={self.last_word_end:.2f}s"


class SpeechStartedMessage(LiveMessage):
    """Speech began at ``timestamp`` (``vad_events``)."""

    type = "SpeechStarted"
    _time_key = "timestamp"

    @property
    def timestamp(self) -> float:
        return _num(self.json.get("timestamp"))

    def _fields(self) -> str:
        return f" timestamp={self.timestamp:.2f}s"


class ErrorMessage(LiveMessage):
    """A server ``Error`` message, or a client-side failure (``err_code`` CLIENT-...)."""

    type = "Error"

    @property
    def err_code(self) -> str | None:
        return self.json.get("err_code") or self.json.get("variant")

    @property
    def err_msg(self) -> str:
        return str(self.json.get("err_msg") or self.json.get("description") or self.json.get("message") or "")

    def _fields(self) -> str:
        return f" {self.err_code}: {self.err_msg[:80]!r}"


class ConfigureSuccessMessage(LiveMessage):
    """The server took a ``Configure``: ``keyterms`` now in force."""

    type = "ConfigureSuccess"

    @property
    def keyterms(self) -> list[str]:
        return list(self.json.get("keyterms") or [])

    def _fields(self) -> str:
        return f" keyterms={self.keyterms!r}"


class ConfigureFailureMessage(LiveMessage):
    """The server refused a ``Configure`` (``code``, ``description``); the stream goes on as before."""

    type = "ConfigureFailure"

    def _fields(self) -> str:
        return f" {self.json.get('code')}: {str(self.json.get('description') or '')[:80]!r}"


class UnhandledMessage(LiveMessage):
    """A message of a type this client does not know (kept whole in ``.json``)."""


class OpenEvent(LiveMessage):
    """The connection opened (``request_id`` from the handshake's dg-request-id header)."""

    type = "Open"


class CloseEvent(LiveMessage):
    """The stream is over: ``code`` and ``reason`` of the last close."""

    type = "Close"


class ReconnectEvent(LiveMessage):
    """The client reconnected after a drop: ``attempt``, ``resume_from`` (s), ``close_code``."""

    type = "Reconnect"


_MESSAGE_TYPES: dict[str, type[LiveMessage]] = {
    "Results": ResultsMessage, "Metadata": MetadataMessage, "UtteranceEnd": UtteranceEndMessage,
    "SpeechStarted": SpeechStartedMessage, "Error": ErrorMessage, "ConfigureSuccess": ConfigureSuccessMessage,
    "ConfigureFailure": ConfigureFailureMessage,
}


def parse_message(text: str | bytes) -> LiveMessage:
    """Turn one server frame into a typed message (unknown or non-JSON frames -> ``UnhandledMessage``).

    >>> parse_message('{"type": "SpeechStarted", "timestamp": 1.5}')
    <SpeechStartedMessage timestamp=1.50s>
    """
    raw = text.decode("utf-8", "replace") if isinstance(text, (bytes, bytearray)) else text
    try:
        data = json.loads(raw)
    except ValueError:
        return UnhandledMessage({"type": "Unhandled", "raw": raw[:1000]}, raw)
    if not isinstance(data, dict):
        return UnhandledMessage({"type": "Unhandled", "raw": raw[:1000]}, raw)
    return _MESSAGE_TYPES.get(data.get("type"), UnhandledMessage)(data, raw)

