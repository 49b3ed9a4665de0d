"""Each second of live audio is billed once, though a client re-sends some after a drop.

A live client whose connection drops opens a new one and sends again the audio that no final result
it received covers (dgnb's client does; the official SDKs leave it to the application). Deepgram's
protocol does not mark a re-send, so the engine recognises one by its bytes: a stream that drops
leaves the last :data:`HOLD_SECONDS` of its raw audio here for :data:`KEEP_FOR` seconds, and a new
stream of the same key and audio format whose first bytes are found in such a tail (at a sample
boundary) is billed only for the audio after the part that repeats it (decided as the new stream ends,
when the one it resumes has surely dropped; a stream holds its first and last :data:`MAX_HOLD_BYTES` at most). Container audio (no
``encoding``) is re-sent from its start and is not matched.

>>> tails, audio, mulaw = DroppedTails(), bytes(range(250)) * 40, ("mulaw", 8000, 1)
>>> tails.dropped("key-1", mulaw, audio, frame_bytes=1, request_id="first")
>>> resent = audio[3000:] + b"new audio"
>>> tails.repeated("key-2", mulaw, 1, resent, "second"), tails.repeated("key-1", mulaw, 1, resent, "second")
(0, 7000)
"""
from __future__ import annotations

import threading
import time
from collections import deque

HOLD_SECONDS = 30.0  # of audio: a client re-sends what its finals do not cover, seconds at most
MAX_HOLD_BYTES = 2 * 1024 * 1024  # the most one tail holds, whatever the format
KEEP_FOR = 120.0  # seconds a tail waits for its stream to resume
PROBE_BYTES = 1600  # the first bytes of a stream that must match before it counts as a re-send
MIN_PROBE_BYTES = 160  # ... or all of a shorter tail, if it holds this many


class Tail:
    """The last ``limit`` bytes written (in the chunks they came in), for a stream that may drop."""

    def __init__(self, limit: int) -> None:
        self.limit = max(0, limit)
        self.chunks: deque[bytes] = deque()
        self.size = 0

    def append(self, data: bytes) -> None:
        if not self.limit:
            return
        self.chunks.append(data)
        self.size += len(data)
        while self.chunks and self.size - len(self.chunks[0]) >= self.limit:
            self.size -= len(self.chunks.popleft())

    def bytes(self) -> bytes:
        return b"".join(self.chunks)[-self.limit:] if self.limit else b""


class Head:
    """The first ``limit`` bytes written: what a resumed stream may have re-sent."""

    def __init__(self, limit: int) -> None:
        self.limit = max(0, limit)
        self.data = bytearray()

    def append(self, data: bytes) -> None:
        if len(self.data) < self.limit:
            self.data += data[: self.limit - len(self.data)]


def repeated_bytes(head: bytes, tail: bytes, frame_bytes: int) -> int:
    """How many leading bytes of ``head`` repeat ``tail`` from a sample boundary of it on: 0 unless the
    first :data:`PROBE_BYTES` (or all of a shorter tail, :data:`MIN_PROBE_BYTES` at least) are found there.

    >>> tail = bytes(range(256)) * 20
    >>> repeated_bytes(tail[1000:] + b"new audio", tail, 2), repeated_bytes(b"other" * 400, tail, 2)
    (4120, 0)
    """
    frame = max(1, frame_bytes)
    n = min(PROBE_BYTES, len(tail), len(head))
    if n < MIN_PROBE_BYTES:
        return 0
    at = tail.find(head[:n])
    while at != -1 and at % frame:
        at = tail.find(head[:n], at + 1)
    if at == -1:
        return 0
    same = _common_prefix(tail[at:], head)
    return same - same % frame


def _common_prefix(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # a[:lo] == b[:lo], a[:hi] != b[:hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid
    return lo


class DroppedTails:
    """The tails of the live streams that dropped lately, by key and audio format; thread-safe."""

    def __init__(self, keep_for: float = KEEP_FOR) -> None:
        self.keep_for = keep_for
        self._lock = threading.Lock()
        # (dropped at, key, format, frame, bytes, the stream's request id)
        self._tails: list[tuple[float, str, tuple, int, bytes, str]] = []

    def dropped(self, key_id: str, audio_format: tuple, tail: bytes, frame_bytes: int, request_id: str = "") -> None:
        """A stream of ``key_id`` dropped after sending ``tail`` last (raw audio in ``audio_format``)."""
        if not tail:
            return
        with self._lock:
            self._expire()
            self._tails.append((time.monotonic(), key_id, audio_format, frame_bytes, tail, request_id))

    def repeated(self, key_id: str, audio_format: tuple, frame_bytes: int, head: bytes, request_id: str = "") -> int:
        """Leading bytes of a stream (its ``head``) that repeat a tail it resumes (another stream's, of the
        same key and format); that tail is used up."""
        with self._lock:
            self._expire()
            for t in self._tails:
                if t[1:4] == (key_id, audio_format, frame_bytes) and t[5] != request_id:
                    n = repeated_bytes(head, t[4], frame_bytes)
                    if n:
                        self._tails.remove(t)
                        return n
        return 0

    def _expire(self) -> None:
        now = time.monotonic()
        self._tails = [t for t in self._tails if now - t[0] <= self.keep_for]
