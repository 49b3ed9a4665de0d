"""WebVTT and SRT captions from any /v1/listen response.

Cues are built as the ``deepgram-captions`` package builds them (same cue breaks, text and times
with its defaults: 8 words a cue, a new cue at each speaker change, utterances preferred over
words), with two differences: times past 24 hours keep counting (``25:00:00.000``, where
deepgram-captions wraps to ``01:00:00.000``), and an empty transcript raises a clear
``ValueError``. ``lines=2`` makes two-line cues of ``line_length`` words a line.

>>> resp = {"metadata": {}, "results": {"channels": [{"alternatives": [{"transcript": "Hi there.", "words": [
...     {"word": "hi", "punctuated_word": "Hi", "start": 0.5, "end": 0.8, "confidence": 0.9},
...     {"word": "there", "punctuated_word": "there.", "start": 0.9, "end": 1.25, "confidence": 0.9}]}]}]}}
>>> print(srt(resp))
1
00:00:00,500 --> 00:00:01,250
Hi there.
<BLANKLINE>
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

__all__ = ["Cue", "cues", "webvtt", "srt", "timestamp"]


@dataclass
class Cue:
    """One caption: start/end seconds, the speaker of its first word (or None), its text lines."""

    start: float
    end: float
    speaker: int | None
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def timestamp(seconds: float, separator: str = ".") -> str:
    """``HH:MM:SS.mmm`` (``separator=","`` for SRT), rounded to the millisecond; hours never wrap.

    >>> timestamp(65.4), timestamp(3725.25, ","), timestamp(90000)
    ('00:01:05.400', '01:02:05,250', '25:00:00.000')
    """
    ms = int(round(round(max(0.0, float(seconds)), 3) * 1000))
    secs, ms = divmod(ms, 1000)
    minutes, secs = divmod(secs, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"


def _response(source: Any) -> Mapping[str, Any]:
    from ..results.transcript import Transcript

    if isinstance(source, Transcript):
        return source.to_dict()
    return Transcript.from_response(source).to_dict()


def _word_groups(response: Mapping[str, Any], line_length: int, channel: int | None) -> list[list[dict]]:
    """Groups of words, one per cue, as deepgram-captions' DeepgramConverter.get_lines makes them."""
    results = response.get("results") if isinstance(response.get("results"), Mapping) else {}
    utterances = [u for u in results.get("utterances") or [] if isinstance(u, Mapping)]
    if channel is not None:
        utterances = [u for u in utterances if u.get("channel", 0) == channel]
    groups: list[list[dict]] = []
    if utterances:
        for utt in utterances:
            words = [w for w in utt.get("words") or [] if isinstance(w, Mapping)]
            groups.extend(words[i:i + line_length] for i in range(0, len(words), line_length))
        return groups
    channels = results.get("channels") or []
    index = channel or 0
    if index >= len(channels):
        raise ValueError(f"channel {index} is not in this response ({len(channels)} channel(s))")
    alternatives = (channels[index] or {}).get("alternatives") or [{}]
    words = [w for w in alternatives[0].get("words") or [] if isinstance(w, Mapping)]
    diarized = bool(words) and "speaker" in words[0]
    buffer: list[dict] = []
    speaker = 0
    for word in words:
        if (diarized and word.get("speaker", 0) != speaker) or len(buffer) == line_length:
            if buffer:
                groups.append(buffer)
            buffer = []
        if diarized:
            speaker = word.get("speaker", 0)
        buffer.append(word)
    if buffer:
        groups.append(buffer)
    return groups


def _text(word: Mapping[str, Any]) -> str:
    return str(word.get("punctuated_word", word.get("word", "")))


def cues(response: Any, *, line_length: int = 8, lines: int = 1, channel: int | None = None) -> list[Cue]:
    """The caption cues of a response (dict, JSON text or file, :class:`~dgnb.Transcript`, SDK object).

    ``line_length``: words a line; ``lines``: lines a cue; ``channel``: one channel only (default:
    utterances of every channel, else the words of channel 0, as deepgram-captions does).
    """
    if not isinstance(line_length, int) or isinstance(line_length, bool) or line_length < 1:
        raise ValueError(f"line_length must be a positive number of words, got {line_length!r}")
    if not isinstance(lines, int) or isinstance(lines, bool) or lines < 1:
        raise ValueError(f"lines must be a positive number of lines, got {lines!r}")
    groups = _word_groups(_response(response), line_length * lines, channel)
    out = []
    for words in groups:
        texts = [_text(w) for w in words]
        speaker = words[0].get("speaker")
        out.append(Cue(
            start=float(words[0].get("start", 0.0)), end=float(words[-1].get("end", 0.0)),
            speaker=speaker if isinstance(speaker, int) and not isinstance(speaker, bool) else None,
            lines=[" ".join(texts[i:i + line_length]) for i in range(0, len(texts), line_length)],
        ))
    if not out:
        raise ValueError("this transcript has no words, so there is nothing to caption")
    return out


def _labels(found: list[Cue], speaker_labels: bool | None) -> bool:
    if speaker_labels is None:  # like deepgram-captions: when the first word has a speaker
        return found[0].speaker is not None
    return bool(speaker_labels)


def _provider(meta: Mapping[str, Any]) -> str:
    """Who transcribed: Deepgram, or the dgnb local engine and its model (its model_info says whisper)."""
    infos = meta.get("model_info") if isinstance(meta.get("model_info"), Mapping) else {}
    local = sorted({str(i.get("name")) for i in infos.values() if isinstance(i, Mapping) and i.get("arch") == "whisper"})
    return f"the dgnb local engine ({', '.join(local)})" if local else "Deepgram"


def _note(response: Mapping[str, Any]) -> list[str]:
    meta = response.get("metadata") if isinstance(response.get("metadata"), Mapping) else {}
    out = ["NOTE", f"Transcription provided by {_provider(meta)}"]
    for key, label in (("request_id", "Request Id"), ("created", "Created"), ("duration", "Duration"),
                       ("channels", "Channels")):
        if meta.get(key):
            out.append(f"{label}: {meta[key]}")
    return out


def webvtt(response: Any, *, line_length: int = 8, lines: int = 1, speaker_labels: bool | None = None,
           channel: int | None = None, note: bool = True) -> str:
    """A WebVTT document: ``<v Speaker N>`` voice tags when diarized, a ``NOTE`` with the request's
    metadata unless ``note=False``.

    >>> vtt = dgnb.captions.webvtt(t, line_length=10)   # doctest: +SKIP
    """
    data = _response(response)
    found = cues(data, line_length=line_length, lines=lines, channel=channel)
    labels = _labels(found, speaker_labels)
    out = ["WEBVTT", ""]
    if note:
        out += ["\n".join(_note(data)), ""]
    for cue in found:
        out.append(f"{timestamp(cue.start)} --> {timestamp(cue.end)}")
        voice = f"<v Speaker {cue.speaker}>" if labels and cue.speaker is not None else ""
        out.append(voice + cue.text)
        out.append("")
    return "\n".join(out)


def srt(response: Any, *, line_length: int = 8, lines: int = 1, speaker_labels: bool | None = None,
        channel: int | None = None) -> str:
    """An SRT document; a ``[speaker N]`` line starts each cue whose speaker differs from the last.

    >>> open("call.srt", "w").write(dgnb.captions.srt(t))   # doctest: +SKIP
    """
    found = cues(response, line_length=line_length, lines=lines, channel=channel)
    labels = _labels(found, speaker_labels)
    out: list[str] = []
    current: int | None = None
    for index, cue in enumerate(found, start=1):
        out += [str(index), f"{timestamp(cue.start, ',')} --> {timestamp(cue.end, ',')}"]
        if labels and cue.speaker is not None and cue.speaker != current:
            current = cue.speaker
            out.append(f"[speaker {cue.speaker}]")
        out += [cue.text, ""]
    return "\n".join(out)
