"""What a live stream needs to resume after a drop: the audio no final result covers yet, and
the words of a re-sent stretch that were already delivered.

>>> audio_format({"encoding": "mulaw", "sample_rate": 8000})
(8000.0, 1)
"""
from __future__ import annotations

import copy
from collections import deque
from typing import Any, Iterator, Mapping

from ...protocol.audio import BYTES_PER_SAMPLE
from .messages import ResultsMessage, _num

_EPS = 1e-6


class AudioLedger:
    """The raw audio sent so far, so a reconnect can re-send what no final result covers.

    With a raw encoding (``bytes_per_second`` known), byte offsets map to stream time: audio before
    the resume point is dropped as finals arrive. Otherwise (container audio) the whole stream is
    kept and re-sent from the start, and words already delivered are filtered out.
    """

    def __init__(self, bytes_per_second: float | None, frame_bytes: int = 1) -> None:
        self.bytes_per_second = bytes_per_second
        self.frame_bytes = max(1, frame_bytes)
        self.chunks: deque[tuple[int, bytes]] = deque()
        self.total = 0

    def append(self, data: bytes) -> None:
        self.chunks.append((self.total, data))
        self.total += len(data)

    def resume_point(self, covered: float) -> tuple[int, float]:
        """(byte offset, stream seconds) to resume from when ``covered`` seconds are final."""
        if not self.bytes_per_second:
            return 0, 0.0
        offset = int(covered * self.bytes_per_second + _EPS) // self.frame_bytes * self.frame_bytes
        offset = min(offset, self.total - self.total % self.frame_bytes)
        return offset, offset / self.bytes_per_second

    def trim(self, covered: float) -> None:
        """Forget audio entirely before the resume point of ``covered`` seconds."""
        if not self.bytes_per_second:
            return
        offset, _ = self.resume_point(covered)
        while self.chunks and self.chunks[0][0] + len(self.chunks[0][1]) <= offset:
            self.chunks.popleft()

    def since(self, offset: int) -> Iterator[bytes]:
        """The audio from byte ``offset`` on, in the chunks it was sent in."""
        for start, data in list(self.chunks):
            end = start + len(data)
            if end <= offset:
                continue
            yield data[offset - start:] if start < offset else data

    @property
    def held_bytes(self) -> int:
        return sum(len(d) for _, d in self.chunks)


def audio_format(options: Mapping[str, Any]) -> tuple[float | None, int]:
    """(bytes per second, bytes per sample frame) for raw-encoded options, else (None, 1).

    >>> audio_format({"encoding": "linear16", "sample_rate": 16000, "channels": 2})
    (64000.0, 4)
    """
    encoding = str(options.get("encoding") or "").lower()
    width = BYTES_PER_SAMPLE.get(encoding)
    try:
        rate = int(options.get("sample_rate") or 0)
        channels = int(options.get("channels") or 1)
    except (TypeError, ValueError):
        return None, 1
    if not width or rate <= 0 or channels <= 0:
        return None, 1
    return float(width * rate * channels), width * channels


def dedupe(message: ResultsMessage, covered: float) -> ResultsMessage | None:
    """Drop the words of ``message`` already delivered in finals up to ``covered`` seconds.

    Returns the message unchanged when nothing overlaps, a trimmed copy when some words do,
    and None when it only repeats delivered audio.

    >>> m = ResultsMessage({"type": "Results", "is_final": True, "start": 0.0, "duration": 2.0,
    ...     "channel": {"alternatives": [{"transcript": "a b", "words": [
    ...         {"word": "a", "start": 0.1, "end": 0.5}, {"word": "b", "start": 1.2, "end": 1.6}]}]}})
    >>> [w["word"] for w in dedupe(m, 1.0).words], dedupe(m, 1.0).start
    (['b'], 1.0)
    """
    if covered <= message.start + _EPS:
        return message
    words = message.words
    keep = [w for w in words if (_num(w.get("start")) + _num(w.get("end"))) / 2 >= covered]
    if message.end <= covered + _EPS and not keep:
        return None
    if len(keep) == len(words) and message.start >= covered - 0.05:
        return message
    data = copy.deepcopy(message.json)
    end = message.end
    data["start"] = round(max(message.start, covered), 6)
    data["duration"] = round(max(0.0, end - data["start"]), 6)
    alt = data["channel"]["alternatives"][0]
    alt["words"] = copy.deepcopy(keep)
    alt["transcript"] = " ".join(str(w.get("punctuated_word") or w.get("word") or "") for w in keep)
    return ResultsMessage(data)
