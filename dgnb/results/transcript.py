"""`Transcript`: a Deepgram /v1/listen response as pandas DataFrames.

Works on any response body: from dgnb, the official deepgram-sdk, a saved JSON file or a
list of live-streaming ``Results`` messages. Pure: pandas only, no network; the only I/O
is reading a JSON file whose path the caller gives.

>>> t = Transcript.from_response({"metadata": {"duration": 1.0}, "results": {"channels": [
...     {"alternatives": [{"transcript": "Hello there.", "words": [
...         {"word": "hello", "punctuated_word": "Hello", "start": 0.1, "end": 0.4, "confidence": 0.9},
...         {"word": "there", "punctuated_word": "there.", "start": 0.5, "end": 0.8, "confidence": 0.8}]}]}]}})
>>> t.transcript, len(t.words), t.words["start"].tolist()
('Hello there.', 2, [0.1, 0.5])
>>> t.utterances.empty  # a feature absent from the response gives an empty, typed frame
True
"""
from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from .style import clock as _clock, speaker_colour
from .records import as_list as _list, dig as _dig, segments as _segments
from .live_assembly import response_from_live

__all__ = ["Transcript"]

if TYPE_CHECKING:
    import pandas as pd

    from ..notebook.plots import TranscriptPlots
    from .frames import Spec

# --- column specs (public through Transcript.COLUMNS) -------------------------------------
SENTIMENT_COLUMNS: Spec = {"sentiment": "string", "sentiment_score": "float64"}
_SEGMENT_BASE: Spec = {
    "segment": "int64", "text": "string", "start_word": "Int64", "end_word": "Int64",
    "start": "float64", "end": "float64", "speaker": "Int64",
}
COLUMNS: dict[str, Spec] = {
    "words": {
        "channel": "int64", "alternative": "int64", "word": "string", "punctuated_word": "string",
        "start": "float64", "end": "float64", "confidence": "float64",
        "speaker": "Int64", "speaker_confidence": "float64",
    },
    "utterances": {
        "channel": "Int64", "id": "string", "speaker": "Int64", "start": "float64", "end": "float64",
        "confidence": "float64", "num_words": "Int64", "transcript": "string",
    },
    "paragraphs": {
        "channel": "int64", "alternative": "int64", "paragraph": "int64", "speaker": "Int64",
        "start": "float64", "end": "float64", "num_words": "Int64", "text": "string",
    },
    "sentences": {
        "channel": "int64", "alternative": "int64", "paragraph": "int64", "sentence": "int64",
        "speaker": "Int64", "start": "float64", "end": "float64", "text": "string",
    },
    "sentiments": {**_SEGMENT_BASE, **SENTIMENT_COLUMNS},
    "topics": {**_SEGMENT_BASE, "topic": "string", "confidence_score": "float64"},
    "intents": {**_SEGMENT_BASE, "intent": "string", "confidence_score": "float64"},
    "entities": {
        "channel": "int64", "alternative": "int64", "label": "string", "value": "string",
        "raw_value": "string", "confidence": "float64", "start_word": "Int64", "end_word": "Int64",
        "start": "float64", "end": "float64",
    },
    "search": {
        "channel": "int64", "query": "string", "snippet": "string", "start": "float64",
        "end": "float64", "confidence": "float64",
    },
}
# Columns added only when the response has them (language=multi, sentiment=true, ...).
OPTIONAL: dict[str, Spec] = {
    "words": {"language": "string", **SENTIMENT_COLUMNS},
    "utterances": {**SENTIMENT_COLUMNS, "languages": "object"},
    "paragraphs": SENTIMENT_COLUMNS,
    "sentences": SENTIMENT_COLUMNS,
}

_PREVIEW_LINES = 6


class Transcript:
    """A transcription response with typed DataFrames for every part of it.

    Build one with :meth:`from_response` (dict, JSON text, path, bytes or SDK object) or
    :meth:`from_live` (live ``Results`` messages). DataFrames cover every channel and
    alternative; text properties use channel 0, alternative 0.

    >>> t = Transcript({"metadata": {"request_id": "r1", "duration": 2.5}, "results": {"channels": []}})
    >>> t.request_id, t.duration, t.transcript, list(t.words.columns[:3])
    ('r1', 2.5, '', ['channel', 'alternative', 'word'])
    """

    COLUMNS = COLUMNS
    OPTIONAL = OPTIONAL

    def __init__(self, response: Mapping[str, Any]):
        if not isinstance(response, Mapping):
            raise TypeError(f"Transcript() takes a response dict, got {type(response).__name__}; "
                            "use Transcript.from_response() for JSON text, files, bytes or SDK objects")
        _check_response(response)
        self._response = response
        self._frames: dict[str, pd.DataFrame] = {}

    # --- constructors --------------------------------------------------------------------
    @classmethod
    def from_response(cls, response: Any) -> "Transcript":
        """Build from a /v1/listen response in any form.

        ``response``: a dict, JSON text, a path (``str`` or ``Path``) to a saved JSON file,
        bytes, or a response object of the official deepgram-sdk (pydantic model, or an
        older SDK object with ``to_dict()``). A live ``Results`` message, or a list of live
        messages, is passed on to :meth:`from_live`.

        >>> Transcript.from_response('{"metadata": {"duration": 3.0}, "results": {"channels": []}}').duration
        3.0
        """
        data = _load(response)
        if isinstance(data, list):
            return cls.from_live(data)
        if isinstance(data, Mapping) and data.get("type") == "Results":
            return cls.from_live([data])
        return cls(data)

    @classmethod
    def from_live(cls, messages: Iterable[Any]) -> "Transcript":
        """Build from the messages of a live /v1/listen stream.

        ``messages``: dicts, JSON strings/bytes or SDK message objects. Final ``Results``
        messages (``is_final: true``) become the words and transcript of a response-shaped
        dict; a ``Metadata`` message, if present, supplies its metadata (request_id,
        duration, created, ...). Interim results and other message types are ignored.

        >>> msg = {"type": "Results", "is_final": True, "start": 0.0, "duration": 1.2,
        ...        "channel_index": [0, 1], "metadata": {"request_id": "abc"},
        ...        "channel": {"alternatives": [{"transcript": "Hi.", "confidence": 0.9, "words": [
        ...            {"word": "hi", "punctuated_word": "Hi.", "start": 0.2, "end": 0.5, "confidence": 0.9}]}]}}
        >>> t = Transcript.from_live([msg, '{"type": "SpeechStarted", "timestamp": 0.1}'])
        >>> t.transcript, t.request_id, t.duration
        ('Hi.', 'abc', 1.2)
        """
        if isinstance(messages, (str, bytes, bytearray, Mapping)) or not isinstance(messages, Iterable):
            raise TypeError("from_live() takes a list of live messages (dicts, JSON strings or SDK objects), "
                            f"got {type(messages).__name__}")
        parsed = []
        for i, message in enumerate(messages):
            data = _load(message, allow_path=False)
            if not isinstance(data, Mapping):
                raise ValueError(f"live message {i} is a JSON {type(data).__name__}, expected an object")
            parsed.append(data)
        return cls(response_from_live(parsed))

    def to_dict(self) -> dict:
        """The response this transcript was built from (the same dict; do not mutate it).

        >>> d = {"metadata": {}, "results": {"channels": []}}
        >>> Transcript.from_response(d).to_dict() is d
        True
        """
        return self._response  # type: ignore[return-value]

    # --- scalar properties ---------------------------------------------------------------
    @property
    def metadata(self) -> dict:
        """The response's ``metadata`` object ({} when absent)."""
        meta = self._response.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def warnings(self) -> list[dict]:
        """What the service could not do as asked, or is unsure of: ``metadata.warnings`` ([] when none).

        Each is a dict with ``parameter``, ``type`` and ``message``; for example the local engine says
        ``uncertain_speaker_count`` when one voice more or fewer is nearly as likely.

            >>> Transcript({"metadata": {"warnings": [{"parameter": "diarize", "type": "x", "message": "m"}]}}).warnings
            [{'parameter': 'diarize', 'type': 'x', 'message': 'm'}]
        """
        return [w for w in _list(self.metadata.get("warnings")) if isinstance(w, dict)]

    @property
    def request_id(self) -> str | None:
        """Deepgram's request id."""
        return _meta(self._response).get("request_id")

    @property
    def duration(self) -> float | None:
        """Audio duration in seconds, from the metadata."""
        value = _meta(self._response).get("duration")
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    @property
    def model(self) -> str | None:
        """Name of the speech model that produced the transcript (e.g. ``general-nova-3``)."""
        meta = _meta(self._response)
        info = meta.get("model_info")
        if not isinstance(info, dict) or not info:
            return None
        if isinstance(info.get("name"), str):  # live messages: model_info is the model itself
            return info["name"]
        models = meta.get("models") if isinstance(meta.get("models"), list) else []
        for key in [*models, *info]:
            entry = info.get(key) if isinstance(key, str) else None
            if isinstance(entry, dict) and entry.get("name"):
                return str(entry["name"])
        return None

    @property
    def transcript(self) -> str:
        """Transcript text of channel 0, alternative 0 ("" when there is none)."""
        text = _first_alternative(self._response).get("transcript")
        return text if isinstance(text, str) else ""

    @property
    def confidence(self) -> float | None:
        """Transcript confidence of channel 0, alternative 0."""
        value = _first_alternative(self._response).get("confidence")
        return float(value) if isinstance(value, (int, float)) else None

    @property
    def channels(self) -> int:
        """Number of audio channels in the results."""
        return len(_channels(self._response))

    @property
    def summary(self) -> str | None:
        """Summary text: ``summarize=v2`` (results.summary.short), /v1/read (results.summary.text)
        or ``summarize=v1`` (per-alternative summaries, joined); None when not requested."""
        results = _results(self._response)
        block = results.get("summary")
        if isinstance(block, dict):
            for key in ("short", "text"):
                if isinstance(block.get(key), str):
                    return block[key]
            nested = _dig(block, "results", "summary", "text")
            if isinstance(nested, str):
                return nested
        summaries = _first_alternative(self._response).get("summaries")
        if isinstance(summaries, list):
            parts = [s["summary"] for s in summaries if isinstance(s, dict) and isinstance(s.get("summary"), str)]
            if parts:
                return " ".join(parts)
        return None

    @property
    def average_sentiment(self) -> dict | None:
        """``{"sentiment", "sentiment_score"}`` over the whole transcript (``sentiment=true``)."""
        average = _dig(_results(self._response), "sentiments", "average")
        return average if isinstance(average, dict) else None

    @property
    def plot(self) -> "TranscriptPlots":
        """Plots of this transcript: ``t.plot.speakers()``, ``t.plot.sentiment()`` (matplotlib Axes).

        >>> ax = t.plot.speakers()   # doctest: +SKIP
        """
        from ..notebook.plots import TranscriptPlots

        return TranscriptPlots(self)

    def to_webvtt(self, *, line_length: int = 8, lines: int = 1, speaker_labels: bool | None = None,
                  **kwargs: Any) -> str:
        """WebVTT captions (cues as deepgram-captions makes them); see :func:`dgnb.captions.webvtt`.

        >>> open("call.vtt", "w").write(t.to_webvtt())   # doctest: +SKIP
        """
        from ..notebook.captions import webvtt

        return webvtt(self, line_length=line_length, lines=lines, speaker_labels=speaker_labels, **kwargs)

    def to_srt(self, *, line_length: int = 8, lines: int = 1, speaker_labels: bool | None = None,
               **kwargs: Any) -> str:
        """SRT captions; see :func:`dgnb.captions.srt`."""
        from ..notebook.captions import srt

        return srt(self, line_length=line_length, lines=lines, speaker_labels=speaker_labels, **kwargs)

    def player(self, audio: Any = None, **kwargs: Any) -> Any:
        """A widget playing ``audio`` (path, URL, bytes or SpeechAudio) beside this transcript: the
        current word highlights, clicking a word seeks there. See :class:`dgnb.widgets.Player`.

        >>> t.player("call.mp3")   # doctest: +SKIP
        """
        from ..notebook.widgets.player import Player

        return Player(self, audio, **kwargs)

    @property
    def speakers(self) -> list[int]:
        """Sorted speaker numbers found in the words of alternative 0 (empty without diarization)."""
        found: set[int] = set()
        for _, _, alt in _alternatives(self._response, first_only=True):
            for w in _list(alt.get("words")):
                s = w.get("speaker") if isinstance(w, dict) else None
                if isinstance(s, int) and not isinstance(s, bool):
                    found.add(s)
        if not found:
            for u in _list(_results(self._response).get("utterances")):
                s = u.get("speaker") if isinstance(u, dict) else None
                if isinstance(s, int) and not isinstance(s, bool):
                    found.add(s)
        return sorted(found)

    # --- DataFrames ----------------------------------------------------------------------
    @property
    def words(self) -> pd.DataFrame:
        """One row per word: channel, alternative, word, punctuated_word, start, end,
        confidence, speaker, speaker_confidence (+ language, sentiment when present)."""
        return self._frame("words")

    @property
    def utterances(self) -> pd.DataFrame:
        """One row per utterance (``utterances=true``): channel, id, speaker, start, end,
        confidence, num_words, transcript."""
        return self._frame("utterances")

    @property
    def paragraphs(self) -> pd.DataFrame:
        """One row per paragraph (``paragraphs=true`` or ``smart_format``): channel,
        alternative, paragraph, speaker, start, end, num_words, text."""
        return self._frame("paragraphs")

    @property
    def sentences(self) -> pd.DataFrame:
        """One row per sentence of the paragraphs: channel, alternative, paragraph,
        sentence, speaker, start, end, text."""
        return self._frame("sentences")

    @property
    def sentiments(self) -> pd.DataFrame:
        """Sentiment segments (``sentiment=true``): segment, text, start_word, end_word,
        start, end (seconds, from the words), speaker (of the first word, when diarized),
        sentiment, sentiment_score."""
        return self._frame("sentiments")

    @property
    def topics(self) -> pd.DataFrame:
        """One row per topic per segment (``topics=true``): segment, text, start_word,
        end_word, start, end, speaker, topic, confidence_score."""
        return self._frame("topics")

    @property
    def intents(self) -> pd.DataFrame:
        """One row per intent per segment (``intents=true``): segment, text, start_word,
        end_word, start, end, speaker, intent, confidence_score."""
        return self._frame("intents")

    @property
    def entities(self) -> pd.DataFrame:
        """Detected entities (``detect_entities=true``): channel, alternative, label, value,
        raw_value, confidence, start_word, end_word, start, end."""
        return self._frame("entities")

    @property
    def search(self) -> pd.DataFrame:
        """Search hits (``search=...``): channel, query, snippet, start, end, confidence."""
        return self._frame("search")

    def _frame(self, name: str) -> pd.DataFrame:
        df = self._frames.get(name)
        if df is None:
            df = self._frames[name] = getattr(self, f"_build_{name}")()
        return df.copy(deep=False)  # callers may add columns without touching the cache

    # --- builders ------------------------------------------------------------------------
    def _build_words(self) -> pd.DataFrame:
        blocks = [(c, a, _list(alt.get("words"))) for c, a, alt in _alternatives(self._response)]
        return _blocks_frame(blocks, "words")

    def _build_utterances(self) -> pd.DataFrame:
        records = [u for u in _list(_results(self._response).get("utterances")) if isinstance(u, dict)]
        num_words = [len(u["words"]) if isinstance(u.get("words"), list) else None for u in records]
        return frame(records, COLUMNS["utterances"], values={"num_words": num_words},
                     optional=OPTIONAL["utterances"])

    def _build_paragraphs(self) -> pd.DataFrame:
        blocks = []
        for c, a, alt in _alternatives(self._response):
            paragraphs = [p for p in _list(_dig(alt, "paragraphs", "paragraphs")) if isinstance(p, dict)]
            blocks.append((c, a, paragraphs))
        records = [p for _, _, ps in blocks for p in ps]
        text = [" ".join(s["text"] for s in _list(p.get("sentences")) if isinstance(s, dict)
                         and isinstance(s.get("text"), str)) for p in records]
        return _blocks_frame(blocks, "paragraphs", values={
            "paragraph": [i for _, _, ps in blocks for i in range(len(ps))], "text": text})

    def _build_sentences(self) -> pd.DataFrame:
        blocks, paragraph, sentence, speaker = [], [], [], []
        for c, a, alt in _alternatives(self._response):
            sentences = []
            paragraphs = [p for p in _list(_dig(alt, "paragraphs", "paragraphs")) if isinstance(p, dict)]
            for p_index, p in enumerate(paragraphs):
                in_paragraph = [s for s in _list(p.get("sentences")) if isinstance(s, dict)]
                sentences += in_paragraph
                paragraph += [p_index] * len(in_paragraph)
                sentence += range(len(in_paragraph))
                speaker += [p.get("speaker")] * len(in_paragraph)
            blocks.append((c, a, sentences))
        return _blocks_frame(blocks, "sentences", values={
            "paragraph": paragraph, "sentence": sentence, "speaker": speaker})

    def _build_sentiments(self) -> pd.DataFrame:
        segments = _segments(_results(self._response).get("sentiments"), "sentiments")
        return self._segment_frame(segments, "sentiments")

    def _build_topics(self) -> pd.DataFrame:
        segments = _segments(_results(self._response).get("topics"), "topics")
        if not segments:  # older per-alternative topics: {"topics": ["name", ...]}
            segments = [dict(s, topics=[{"topic": t} for t in _list(s.get("topics"))])
                        for s in _list(_first_alternative(self._response).get("topics")) if isinstance(s, dict)]
        return self._segment_frame(segments, "topics", item="topic")

    def _build_intents(self) -> pd.DataFrame:
        segments = _segments(_results(self._response).get("intents"), "intents")
        return self._segment_frame(segments, "intents", item="intent")

    def _segment_frame(self, segments: list[dict], name: str, item: str | None = None) -> pd.DataFrame:
        """Segments with word indices; ``item`` explodes a nested list (topics, intents)."""
        rows, index = [], []
        for i, seg in enumerate(segments):
            if item is None:
                rows.append(seg)
                index.append(i)
                continue
            for entry in _list(seg.get(item + "s")):
                if isinstance(entry, dict):
                    rows.append({**seg, **entry})
                    index.append(i)
        alt = _first_alternative(self._response)
        starts, ends = _word_times(alt, rows)
        return frame(rows, COLUMNS[name], values={
            "segment": index, "start": starts, "end": ends, "speaker": _word_speakers(alt, rows)})

    def _build_entities(self) -> pd.DataFrame:
        rows, channel, alternative, starts, ends = [], [], [], [], []
        for c, a, alt in _alternatives(self._response):
            entities = [e for e in _list(alt.get("entities")) if isinstance(e, dict)]
            s, e = _word_times(alt, entities)
            rows += entities
            channel += [c] * len(entities)
            alternative += [a] * len(entities)
            starts += s
            ends += e
        return frame(rows, COLUMNS["entities"], values={
            "channel": channel, "alternative": alternative, "start": starts, "end": ends})

    def _build_search(self) -> pd.DataFrame:
        rows, channel, query = [], [], []
        for c, ch in enumerate(_channels(self._response)):
            for q in _list(ch.get("search")):
                if not isinstance(q, dict):
                    continue
                hits = [h for h in _list(q.get("hits")) if isinstance(h, dict)]
                rows += hits
                channel += [c] * len(hits)
                query += [q.get("query")] * len(hits)
        return frame(rows, COLUMNS["search"], values={"channel": channel, "query": query})

    # --- display -------------------------------------------------------------------------
    def __repr__(self) -> str:
        parts = [f"{self.duration:.1f} s" if self.duration is not None else "duration unknown",
                 f"{self._word_count()} words"]
        if self.model:
            parts.append(f"model {self.model}")
        if self.speakers:
            parts.append(f"{len(self.speakers)} speakers")
        text = self.transcript
        if text:
            parts.append(repr(text if len(text) <= 60 else text[:57] + "..."))
        return f"<Transcript {', '.join(parts)}>"

    def _repr_html_(self) -> str:
        esc = html.escape
        speakers = self.speakers
        facts = [_clock(self.duration) if self.duration is not None else "duration unknown"]
        if self.model:
            facts.append(esc(self.model))
        facts.append(f"{len(speakers)} speaker{'s' if len(speakers) != 1 else ''}" if speakers
                     else "no speaker labels")
        facts.append(f"{self._word_count():,} words")
        if self.channels > 1:
            facts.append(f"{self.channels} channels")
        out = ['<div class="dgnb-transcript" style="font-family:system-ui,sans-serif;font-size:13px;'
               'line-height:1.45;border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;max-width:860px">',
               '<div style="font-weight:600">Transcript <span style="font-weight:400;color:#57606a">'
               + " &middot; ".join(facts) + "</span></div>"]
        for warning in self.warnings:
            out.append('<div style="margin:4px 0;color:#9a6700">&#9888; '
                       + esc(_clip(str(warning.get("message") or warning.get("type") or ""), 300)) + "</div>")
        summary = self.summary
        if summary:
            out.append('<div style="margin:4px 0;color:#24292f"><i>Summary:</i> '
                       + esc(_clip(summary, 400)) + "</div>")
        lines, total = self._preview_lines(_PREVIEW_LINES)
        for speaker, start, text in lines:
            label = ""
            if speaker is not None:
                colour = speaker_colour(speaker)
                label = f'<b style="color:{colour}">Speaker {speaker}</b> '
            when = (f'<span style="color:#8c959f">{_clock(start)}</span> '
                    if isinstance(start, (int, float)) else "")
            out.append(f'<div style="margin:2px 0">{when}{label}{esc(_clip(text, 300))}</div>')
        if total > len(lines):
            out.append(f'<div style="color:#8c959f">&hellip; {total - len(lines)} more</div>')
        if not lines:
            out.append('<div style="color:#8c959f">(no speech)</div>')
        out.append("</div>")
        return "".join(out)

    def _word_count(self) -> int:
        return sum(len(_list(alt.get("words"))) for _, _, alt in _alternatives(self._response, first_only=True))

    def _preview_lines(self, limit: int) -> tuple[list[tuple[int | None, float | None, str]], int]:
        """First ``limit`` (speaker, start, text) lines and how many lines there are in all."""
        utterances = [u for u in _list(_results(self._response).get("utterances"))
                      if isinstance(u, dict) and isinstance(u.get("transcript"), str) and u["transcript"]]
        if utterances:
            return [(_int(u.get("speaker")), u.get("start"), u["transcript"])
                    for u in utterances[:limit]], len(utterances)
        alt = _first_alternative(self._response)
        paragraphs = [p for p in _list(_dig(alt, "paragraphs", "paragraphs")) if isinstance(p, dict)]
        if paragraphs:
            return [(_int(p.get("speaker")), p.get("start"),
                     " ".join(str(s.get("text", "")) for s in _list(p.get("sentences")) if isinstance(s, dict)))
                    for p in paragraphs[:limit]], len(paragraphs)
        words = [w for w in _list(alt.get("words")) if isinstance(w, dict)]
        if words and any("speaker" in w for w in words[:50]):
            runs: list[tuple[int | None, float | None, list[str]]] = []
            total = 0
            for w in words:
                speaker = _int(w.get("speaker"))
                if not runs or runs[-1][0] != speaker:
                    total += 1
                    if len(runs) < limit:
                        runs.append((speaker, w.get("start"), []))
                    else:
                        continue
                elif total > len(runs):
                    continue
                runs[-1][2].append(str(w.get("punctuated_word") or w.get("word") or ""))
            return [(s, t, " ".join(ws)) for s, t, ws in runs], total
        text = self.transcript
        return ([(None, words[0].get("start") if words else None, text)], 1) if text else ([], 0)


# --- loading -------------------------------------------------------------------------------
def _load(source: Any, *, allow_path: bool = True) -> Any:
    """Parse a response given as dict, JSON text, path, bytes or SDK object."""
    if isinstance(source, Mapping):
        return source
    if isinstance(source, list):
        return source
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _parse_json(bytes(source), "bytes")
    if isinstance(source, str):
        if source.lstrip()[:1] in ("{", "[") or not allow_path:
            return _parse_json(source, "text")
        return _read_file(Path(source))
    if isinstance(source, os.PathLike):
        return _read_file(Path(source))
    dump = getattr(source, "model_dump", None)
    if callable(dump):  # deepgram-sdk >= 4 (pydantic v2 models)
        return _as_deepgram_wrote(dump(mode="json", by_alias=True, exclude_none=True))
    for method in ("to_dict", "dict"):  # deepgram-sdk 3 (dataclasses-json), pydantic v1
        convert = getattr(source, method, None)
        if callable(convert):
            data = convert()
            if isinstance(data, Mapping):
                return data
    raise TypeError("expected a Deepgram response as a dict, JSON text, a path to a JSON file, bytes "
                    f"or a deepgram-sdk response object, got {type(source).__name__}")


_MICROSECONDS = re.compile(r"(\.\d{3})000(Z|[+-]\d\d:\d\d)$")


def _as_deepgram_wrote(data: Any) -> Any:
    """An SDK object's dump with ``metadata.created`` as Deepgram writes it: pydantic writes a datetime with
    microseconds (``...37.496000Z``), Deepgram with milliseconds (``...37.496Z``).

    >>> _as_deepgram_wrote({"metadata": {"created": "2025-07-22T16:56:37.496000Z"}})
    {'metadata': {'created': '2025-07-22T16:56:37.496Z'}}
    """
    meta = data.get("metadata") if isinstance(data, dict) else None
    if isinstance(meta, dict) and isinstance(meta.get("created"), str):
        meta["created"] = _MICROSECONDS.sub(r"\1\2", meta["created"])
    return data


def _parse_json(text: str | bytes, what: str) -> Any:
    try:
        return json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"response {what} is not valid JSON: {exc}") from None


def _read_file(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"no such response file: {path} (a str is read as a path unless it is JSON text)") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"expected a JSON response file, got a directory: {path}") from None
    return _parse_json(raw, f"file {path}")


def _check_response(response: Mapping[str, Any]) -> None:
    if "err_code" in response or "err_msg" in response:
        raise ValueError("this is a Deepgram error reply, not a transcript: "
                         f"{response.get('err_code')}: {response.get('err_msg')}")
    if "results" not in response and "metadata" not in response:
        keys = ", ".join(map(str, list(response)[:8])) or "none"
        raise ValueError(f"not a Deepgram transcription response: expected 'metadata' and 'results' keys, got: {keys}")
    if "results" in response and not isinstance(response["results"], Mapping):
        raise ValueError(f"'results' must be a JSON object, got {type(response['results']).__name__}")


# --- small JSON helpers -------------------------------------------------------------------------
def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _meta(response: Mapping[str, Any]) -> Mapping[str, Any]:
    """Metadata, looking one level down where a reply nests it (some /v1/read examples)."""
    meta = response.get("metadata")
    if not isinstance(meta, Mapping):
        return {}
    inner = meta.get("metadata")
    if isinstance(inner, Mapping) and "request_id" not in meta:
        return inner
    return meta


def _results(response: Mapping[str, Any]) -> Mapping[str, Any]:
    results = response.get("results")
    return results if isinstance(results, Mapping) else {}


def _channels(response: Mapping[str, Any]) -> list[dict]:
    return [c if isinstance(c, dict) else {} for c in _list(_results(response).get("channels"))]


def _alternatives(response: Mapping[str, Any], *, first_only: bool = False):
    """(channel index, alternative index, alternative dict) for every alternative."""
    for c, channel in enumerate(_channels(response)):
        for a, alt in enumerate(_list(channel.get("alternatives"))):
            if isinstance(alt, dict):
                yield c, a, alt
            if first_only:
                break


def _first_alternative(response: Mapping[str, Any]) -> Mapping[str, Any]:
    channels = _channels(response)
    alts = _list(channels[0].get("alternatives")) if channels else []
    return alts[0] if alts and isinstance(alts[0], dict) else {}


def frame(*args, **kwargs) -> pd.DataFrame:
    """:func:`.frames.frame`, imported when the first DataFrame is asked for (pandas takes ~0.3 s to import)."""
    from .frames import frame as build

    return build(*args, **kwargs)


def _blocks_frame(blocks: list[tuple[int, int, list]], name: str, values: dict | None = None) -> pd.DataFrame:
    """Frame of records grouped in (channel, alternative, records) blocks."""
    import numpy as np

    records = blocks[0][2] if len(blocks) == 1 else [r for _, _, rs in blocks for r in rs]
    if not all(type(r) is dict for r in records):  # keep row counts aligned with the blocks
        records = [r if isinstance(r, Mapping) else {} for r in records]
    counts = [len(rs) for _, _, rs in blocks]
    channel = np.repeat(np.array([c for c, _, _ in blocks], dtype="int64"), counts)
    alternative = np.repeat(np.array([a for _, a, _ in blocks], dtype="int64"), counts)
    return frame(records, COLUMNS[name], values={"channel": channel, "alternative": alternative, **(values or {})},
                 optional=OPTIONAL.get(name))


def _word_at(words: list, index: Any) -> dict | None:
    """The word a segment's start_word/end_word index names (a whole float counts; past the end, the
    last word), or None when the index names none."""
    if isinstance(index, float) and index.is_integer():
        index = int(index)
    if not isinstance(index, int) or isinstance(index, bool) or not words or index < 0:
        return None
    word = words[min(index, len(words) - 1)]
    return word if isinstance(word, dict) else None


def _word_speakers(alt: Mapping[str, Any], rows: list[dict]) -> list[Any]:
    """The speaker of each row's first word (start_word), or None when not diarized."""
    words = _list(alt.get("words"))
    speakers = [(_word_at(words, r.get("start_word")) or {}).get("speaker") for r in rows]
    return [s if isinstance(s, int) and not isinstance(s, bool) else None for s in speakers]


def _word_times(alt: Mapping[str, Any], rows: list[dict]) -> tuple[list[float], list[float]]:
    """Start/end seconds of rows with start_word/end_word (inclusive) indices into the words."""
    words = _list(alt.get("words"))

    def at(index: Any, key: str) -> float:
        value = (_word_at(words, index) or {}).get(key)
        return float(value) if isinstance(value, (int, float)) else float("nan")

    return [at(r.get("start_word"), "start") for r in rows], [at(r.get("end_word"), "end") for r in rows]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"
