"""``Recorder``: record from the browser's microphone into Python, optionally streaming live.

The browser records with ``getUserMedia`` + ``MediaRecorder`` (WebM/Opus), shows a level meter and
the elapsed time, and sends the audio to the kernel in chunks as it records. After Stop,
``recorder.audio`` holds the recording's bytes. ``Recorder(live=dg.listen.live(...))`` also
forwards each chunk to that live connection (opened without ``encoding``: the stream is
containerized WebM) and shows its :class:`~dgnb.widgets.LiveTranscript` below.

>>> rec = dgnb.widgets.Recorder(); rec          # doctest: +SKIP
>>> t = rec.transcribe(dg, smart_format=True)    # doctest: +SKIP   (after pressing Stop)
"""
from __future__ import annotations

import io
import logging
import os
import threading
from pathlib import Path
from typing import Any

import anywidget
import traitlets

_HERE = Path(__file__).resolve().parent
log = logging.getLogger("dgnb")


class Recorder(anywidget.AnyWidget):
    """A record/stop widget whose recording reaches Python as bytes (``.audio``)."""

    _esm = _HERE / "recorder.js"

    status = traitlets.Unicode("idle").tag(sync=True)  # idle | recording | stopped | error
    error = traitlets.Unicode("").tag(sync=True)
    received = traitlets.Int(0).tag(sync=True)  #: bytes received by the kernel so far
    max_seconds = traitlets.Float(0.0).tag(sync=True)  #: stop by itself after this long (0: never)

    def __init__(self, live: Any = None, *, max_seconds: float | None = None, **kwargs: Any) -> None:
        if live is not None:
            if not (hasattr(live, "send") and hasattr(live, "finish") and hasattr(live, "on")):
                raise TypeError("live= takes a live connection: Recorder(live=dg.listen.live(interim_results=True))")
            options = getattr(getattr(live, "_conn", live), "options", {}) or {}
            if options.get("encoding"):
                raise ValueError("the recorder streams WebM/Opus: open the live connection without encoding= "
                                 f"(it has encoding={options['encoding']!r})")
        if max_seconds is not None and max_seconds <= 0:
            raise ValueError("max_seconds must be positive")
        super().__init__(max_seconds=float(max_seconds or 0), **kwargs)
        self._chunks: list[bytes] = []
        self._lock = threading.Lock()
        self._mime = "audio/webm"
        self.elapsed = 0.0  #: seconds recorded, as the browser measured them
        self.live = live
        self.live_view = None
        self._finisher: threading.Thread | None = None
        if live is not None:
            from .live_transcript import LiveTranscript

            self.live_view = LiveTranscript(live)
        self.on_msg(self._on_message)

    # ---- messages from the browser ------------------------------------------------------------
    def _on_message(self, _widget: Any, content: Any, buffers: list) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "start":
            with self._lock:
                self._chunks = []
            self._mime = str(content.get("mime") or "audio/webm")
            self.received, self.error, self.status = 0, "", "recording"
        elif kind == "chunk":
            data = b"".join(bytes(b) for b in buffers)
            with self._lock:
                self._chunks.append(data)
                self.received += len(data)
            if self.live is not None and data:
                try:
                    self.live.send(data)
                except Exception as exc:  # the recording goes on; the error shows in the widget
                    self.error = f"live stream: {exc}"
        elif kind == "stop":
            self.elapsed = float(content.get("elapsed") or 0.0)
            self.status = "stopped"
            if self.live is not None:
                self._finisher = threading.Thread(target=self._finish_live, name="dgnb-recorder-finish", daemon=True)
                self._finisher.start()
        elif kind == "error":
            self.status, self.error = "error", str(content.get("message") or "the browser could not record")

    def _finish_live(self) -> None:
        try:
            self.live.finish()
        except Exception as exc:
            log.warning("live stream did not finish cleanly: %s", exc)

    # ---- the recording -----------------------------------------------------------------------
    @property
    def audio(self) -> bytes:
        """The recording so far (WebM/Opus bytes as the browser made them; b"" before recording)."""
        with self._lock:
            return b"".join(self._chunks)

    @property
    def mime(self) -> str:
        return self._mime

    def _need_audio(self) -> bytes:
        data = self.audio
        if not data:
            raise ValueError("nothing recorded yet: press Record, then Stop (in the widget)")
        return data

    def to_pydub(self):
        """The recording as a ``pydub.AudioSegment`` (decoded with ffmpeg)."""
        from pydub import AudioSegment

        return AudioSegment.from_file(io.BytesIO(self._need_audio()), format="webm")

    def save(self, path: str | os.PathLike) -> Path:
        """Write the recording: as recorded for ``.webm``, else converted by extension (``.wav``, ``.mp3``...)."""
        path = Path(path).expanduser()
        data = self._need_audio()
        if path.suffix.lower() in ("", ".webm"):
            path.write_bytes(data)
        else:
            self.to_pydub().export(str(path), format=path.suffix.lower().lstrip("."))
        return path

    def transcribe(self, client: Any, **options: Any) -> Any:
        """Transcribe the recording with ``client`` (a :class:`dgnb.Client`); returns a Transcript."""
        data = self._need_audio()
        if not callable(getattr(client, "transcribe", None)):
            raise TypeError(f"transcribe() takes a dgnb.Client, got {type(client).__name__}")
        return client.transcribe(data, **options)

    @property
    def transcript(self) -> Any:
        """The live connection's transcript (with ``live=``), else None."""
        return self.live.transcript if self.live is not None else None

    def _repr_mimebundle_(self, **kwargs: Any):
        if self.live_view is None:
            return super()._repr_mimebundle_(**kwargs)
        import ipywidgets

        if not hasattr(self, "_box"):
            self._box = ipywidgets.VBox([self, self.live_view])
        return self._box._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"<Recorder {self.status}, {self.received:,} bytes, {self.elapsed:.1f} s>"
