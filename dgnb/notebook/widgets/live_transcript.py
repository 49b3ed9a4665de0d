"""``LiveTranscript``: a notebook view of a live stream that updates as messages arrive.

Interim text is shown greyed and replaced in place; final text is appended, coloured by speaker,
with a line break at each utterance end; a header shows the status, a running word count, the
stream time covered and the elapsed wall time. Updates are coalesced (at most one sync every
``flush_interval`` seconds), so the view stays responsive at tens of messages a second.

>>> conn = dg.listen.stream_file("call.wav", diarize=True)   # doctest: +SKIP
>>> conn.view()                                              # doctest: +SKIP
"""
from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from ...results.style import SPEAKER_COLOURS

_HERE = Path(__file__).resolve().parent


class LiveTranscript(anywidget.AnyWidget):
    """Shows a live stream (:class:`dgnb.live.LiveConnection` or ``AsyncLiveConnection``).

    ``LiveTranscript(conn)`` replays the messages received so far, then follows the stream.
    ``LiveTranscript()`` with no connection can be fed messages with :meth:`feed`.
    """

    _esm = _HERE / "live_transcript.js"

    #: final text runs: {"text", "speaker" (int or None), "start", "end", "brk" (utterance ends after)}
    segments = traitlets.List(traitlets.Dict()).tag(sync=True)
    interim = traitlets.Unicode("").tag(sync=True)
    word_count = traitlets.Int(0).tag(sync=True)
    audio_time = traitlets.Float(0.0).tag(sync=True)
    status = traitlets.Unicode("waiting").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    reconnects = traitlets.Int(0).tag(sync=True)
    started = traitlets.Float(0.0).tag(sync=True)  # epoch ms
    colours = traitlets.List(traitlets.Unicode(), default_value=list(SPEAKER_COLOURS)).tag(sync=True)
    ended = traitlets.Float(0.0).tag(sync=True)  # epoch ms, 0 while live

    def __init__(self, connection: Any = None, *, flush_interval: float = 0.1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if flush_interval < 0:
            raise ValueError("flush_interval must be >= 0")
        self.flush_interval = float(flush_interval)
        self._lock = threading.RLock()
        self._segments: list[dict] = []
        self._interim: dict[int, str] = {}
        self._words = 0
        self._audio_time = 0.0
        self._status = "waiting"
        self._error = ""
        self._reconnects = 0
        self._ended = 0.0
        self._dirty = False
        self._flush_scheduled = False
        self.flushes = 0  #: how many times state was synced (for tests and benchmarks)
        self.started = time.time() * 1000
        self._connection = None
        if connection is not None:
            self.follow(connection)

    # ---- feeding ---------------------------------------------------------------------------
    def follow(self, connection: Any) -> "LiveTranscript":
        """Show ``connection``: replay its messages so far and register handlers for the rest."""
        if not hasattr(connection, "on") or not hasattr(connection, "messages"):
            raise TypeError("LiveTranscript follows a live connection (dg.listen.live(...) or stream_file(...))")
        self._connection = connection
        with self._lock:
            for message in list(connection.messages):
                self._apply(message)
            self._status = "closed" if connection.done else "live"
            if connection.done and getattr(connection, "error", None) is not None:
                self._status, self._error = "error", _error_text(connection.error)
        for event in ("Results", "UtteranceEnd", "Metadata", "Error", "Reconnect", "Close"):
            connection.on(event, self.feed)
        self.flush()
        return self

    def feed(self, message: Any) -> None:
        """Apply one live message (typed message or dict) and schedule a coalesced sync."""
        with self._lock:
            self._apply(message)
            self._dirty = True
            final = getattr(message, "type", None) in ("Close", "Error")
            if final or self.flush_interval == 0:
                self._flush_locked()
                return
            if self._flush_scheduled:
                return
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is None:
                self._flush_locked()
                return
            self._flush_scheduled = True
            loop.call_later(self.flush_interval, self.flush)

    def flush(self) -> None:
        """Push pending changes to the front end now."""
        with self._lock:
            self._flush_scheduled = False
            self._flush_locked()

    def _flush_locked(self) -> None:
        self._dirty = False
        self.flushes += 1
        with self.hold_sync():
            if len(self.segments) != len(self._segments) or (self._segments and self.segments[-1] != self._segments[-1]):
                self.segments = [dict(s) for s in self._segments]
            self.interim = " ".join(t for _, t in sorted(self._interim.items()) if t)
            self.word_count = self._words
            self.audio_time = round(self._audio_time, 3)
            self.status = self._status
            self.error = self._error
            self.reconnects = self._reconnects
            self.ended = self._ended

    def _apply(self, message: Any) -> None:
        data = getattr(message, "json", message)
        if not isinstance(data, dict):
            return
        kind = data.get("type")
        if kind == "Results":
            channel = _channel(data)
            alt = ((data.get("channel") or {}).get("alternatives") or [{}])[0] or {}
            end = float(data.get("start") or 0) + float(data.get("duration") or 0)
            if data.get("is_final") is True:
                self._interim[channel] = ""
                self._append_final(alt, data, end)
            else:
                self._interim[channel] = str(alt.get("transcript") or "")
            if self._status in ("waiting", "reconnecting"):
                self._status = "live"
            self._audio_time = max(self._audio_time, end)
        elif kind == "UtteranceEnd":
            if self._segments:
                self._segments[-1]["brk"] = True
        elif kind == "Reconnect":
            self._reconnects += 1
        elif kind == "Error":
            self._status, self._error = "error", _error_text(message)
        elif kind == "Close":
            if self._status != "error":
                self._status = "closed"
            self._ended = time.time() * 1000
            self._interim.clear()

    def _append_final(self, alt: dict, data: dict, end: float) -> None:
        words = [w for w in alt.get("words") or [] if isinstance(w, dict)]
        text = str(alt.get("transcript") or "").strip()
        if not text and not words:
            return
        runs: list[dict] = []
        if words and any("speaker" in w for w in words):
            for w in words:
                token = str(w.get("punctuated_word") or w.get("word") or "")
                speaker = w.get("speaker")
                if runs and runs[-1]["speaker"] == speaker:
                    runs[-1]["text"] += " " + token
                    runs[-1]["end"] = w.get("end", end)
                else:
                    runs.append({"text": token, "speaker": speaker, "start": w.get("start", 0.0),
                                 "end": w.get("end", end), "brk": False})
        else:
            runs.append({"text": text, "speaker": None, "start": float(data.get("start") or 0), "end": end,
                         "brk": False})
        if data.get("speech_final") is True:
            runs[-1]["brk"] = True
        self._segments.extend(runs)
        self._words += len(words) if words else len(text.split())

    # ---- plain-text views --------------------------------------------------------------------
    @property
    def text(self) -> str:
        """The final text shown so far (utterances on separate lines)."""
        with self._lock:
            out = []
            for s in self._segments:
                out.append(s["text"] + ("\n" if s.get("brk") else " "))
            return "".join(out).strip()

    def __repr__(self) -> str:
        return f"<LiveTranscript {self._status} words={self._words} audio={self._audio_time:.1f}s>"


def _channel(data: dict) -> int:
    index = data.get("channel_index")
    return index[0] if isinstance(index, list) and index and isinstance(index[0], int) else 0


def _error_text(message: Any) -> str:
    data = getattr(message, "json", message) if message is not None else {}
    if not isinstance(data, dict):
        return str(message)
    code = data.get("err_code") or data.get("variant") or ""
    msg = data.get("err_msg") or data.get("description") or data.get("message") or ""
    return f"{code}: {msg}" if code else str(msg)
