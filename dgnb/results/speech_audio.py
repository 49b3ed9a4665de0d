"""``SpeechAudio``: the result of text-to-speech, in memory or on disk, that plays itself in a notebook.

>>> a = dg.speak.generate("Hello, world.")          # doctest: +SKIP
>>> a                                               # an <audio> player in Jupyter  # doctest: +SKIP
>>> a.duration, a.sample_rate, a.request_id         # doctest: +SKIP
>>> a.save("hello.wav"); seg = a.to_pydub()         # doctest: +SKIP
"""
from __future__ import annotations

import base64
import html
import io
import os
import shutil
from pathlib import Path
from typing import Mapping

from .._core.audio import parse_wav_header, wav_header
from ..protocol.audio import BYTES_PER_SAMPLE

__all__ = ["SpeechAudio"]

_MIME = {"wav": "audio/wav", "mp3": "audio/mpeg", "ogg": "audio/ogg", "flac": "audio/flac", "aac": "audio/aac"}
#: Deepgram's fixed/default sample rates per encoding (used when the reply does not say).
DEFAULT_RATES = {"linear16": 24000, "mulaw": 8000, "alaw": 8000, "mp3": 22050, "opus": 48000, "flac": 48000, "aac": 22050}
MAX_INLINE_BYTES = 20 * 1024 * 1024


class SpeechAudio:
    """Synthesized speech: the bytes (or the file they were streamed to), their format and the reply's headers.

    ``encoding``/``container``/``sample_rate`` describe the bytes as requested from the API;
    ``headers`` are the reply's (``request_id``, ``model_name``, ``model_uuid``, ``characters`` read from them).
    """

    def __init__(self, data: bytes | None = None, *, path: "str | os.PathLike[str] | None" = None,
                 encoding: str | None = None, container: str | None = None, sample_rate: int | None = None,
                 headers: Mapping[str, str] | None = None, text: str | None = None) -> None:
        if (data is None) == (path is None):
            raise ValueError("SpeechAudio needs exactly one of data= or path=")
        self._data = bytes(data) if data is not None else None
        self.path = Path(path) if path is not None else None
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self.encoding = (encoding or self._guess_encoding()).lower()
        self.container = (container or ("wav" if self.encoding in BYTES_PER_SAMPLE else None))
        self._sample_rate = int(sample_rate) if sample_rate else None
        self.text = text

    # ---- what it is
    def _guess_encoding(self) -> str:
        ctype = self.headers.get("content-type", "")
        for enc, mime in (("mp3", "audio/mpeg"), ("opus", "audio/ogg"), ("flac", "audio/flac"), ("aac", "audio/aac")):
            if ctype.startswith(mime):
                return enc
        return "linear16"

    @property
    def data(self) -> bytes:
        """The audio bytes (read from :attr:`path` when it was streamed to disk)."""
        if self._data is not None:
            return self._data
        return self.path.read_bytes()  # type: ignore[union-attr]

    @property
    def size(self) -> int:
        return len(self._data) if self._data is not None else self.path.stat().st_size  # type: ignore[union-attr]

    def __len__(self) -> int:
        return self.size

    def __bytes__(self) -> bytes:
        return self.data

    def _head(self, n: int = 4096) -> bytes:
        if self._data is not None:
            return self._data[:n]
        with open(self.path, "rb") as f:  # type: ignore[arg-type]
            return f.read(n)

    @property
    def format(self) -> str:
        """File format of the bytes: wav, raw, mp3, ogg, flac or aac."""
        if self.encoding in BYTES_PER_SAMPLE:
            return "wav" if parse_wav_header(self._head(64)) else "raw"
        return {"mp3": "mp3", "opus": "ogg", "flac": "flac", "aac": "aac"}.get(self.encoding, "raw")

    @property
    def sample_rate(self) -> int:
        wav = parse_wav_header(self._head(256)) if self.encoding in BYTES_PER_SAMPLE else None
        if wav:
            return wav.sample_rate
        return self._sample_rate or DEFAULT_RATES.get(self.encoding, 24000)

    @property
    def duration(self) -> float:
        """Length in seconds (from the header or size for PCM/G.711, by decoding otherwise)."""
        if self.encoding in BYTES_PER_SAMPLE:
            wav = parse_wav_header(self._head(256))
            if wav:
                return min(wav.data_bytes, self.size - wav.data_offset) / (wav.block_align * wav.sample_rate)
            return self.size / (BYTES_PER_SAMPLE[self.encoding] * self.sample_rate)
        return self.to_pydub().duration_seconds

    # ---- reply headers
    @property
    def request_id(self) -> str | None:
        return self.headers.get("dg-request-id") or self.headers.get("request_id")

    @property
    def model_name(self) -> str | None:
        return self.headers.get("dg-model-name") or self.headers.get("model_name")

    @property
    def model_uuid(self) -> str | None:
        return self.headers.get("dg-model-uuid") or self.headers.get("model_uuid")

    @property
    def characters(self) -> int | None:
        value = self.headers.get("dg-char-count") or self.headers.get("characters")
        return int(value) if value not in (None, "") else None

    # ---- conversions
    def wav_bytes(self) -> bytes:
        """Playable bytes: WAV for PCM/G.711 (raw audio gets a header), the file itself otherwise."""
        if self.format == "raw":
            data = self.data
            return wav_header(self.encoding, self.sample_rate, len(data)) + data
        return self.data

    def to_pydub(self):
        """A ``pydub.AudioSegment`` (compressed formats and G.711 decode with ffmpeg)."""
        from pydub import AudioSegment

        fmt = self.format
        if fmt == "raw" and self.encoding == "linear16":
            return AudioSegment(data=self.data, sample_width=2, frame_rate=self.sample_rate, channels=1)
        if fmt == "wav" and self.encoding == "linear16":
            return AudioSegment.from_file(io.BytesIO(self.data), format="wav")
        if fmt == "raw":  # G.711: give it a WAV header (format 6/7) so ffmpeg knows the rate
            return AudioSegment.from_file(io.BytesIO(self.wav_bytes()), format="wav")
        return AudioSegment.from_file(io.BytesIO(self.data), format={"aac": "aac"}.get(fmt, fmt))

    def to_numpy(self):
        """(float32 samples in [-1, 1], sample rate)."""
        import numpy as np

        seg = self.to_pydub().set_sample_width(2).set_channels(1)
        x = np.frombuffer(seg.raw_data, dtype="<i2").astype(np.float32) / 32768.0
        return x, seg.frame_rate

    def save(self, path: "str | os.PathLike[str]") -> Path:
        """Write the audio to ``path`` (raw PCM/G.711 as-is; name it .wav only when the container is wav)."""
        path = Path(path)
        if self.path is not None:
            if self.path.resolve() != path.resolve():
                shutil.copyfile(self.path, path)
        else:
            path.write_bytes(self._data or b"")
        return path

    # ---- notebook display
    def widget(self):
        """An ``ipywidgets.Audio`` player."""
        import ipywidgets

        fmt = "wav" if self.format in ("wav", "raw") else {"ogg": "ogg", "aac": "aac"}.get(self.format, self.format)
        return ipywidgets.Audio(value=self.wav_bytes(), format=fmt, autoplay=False, loop=False)

    def _repr_html_(self) -> str:
        fmt = "wav" if self.format in ("wav", "raw") else self.format
        caption = html.escape(self.__repr__())
        if self.size > MAX_INLINE_BYTES:
            return f"<div><code>{caption}</code> (too large to embed; use .save() or .widget())</div>"
        b64 = base64.b64encode(self.wav_bytes()).decode("ascii")
        return (f'<div><audio controls src="data:{_MIME.get(fmt, "audio/wav")};base64,{b64}"></audio>'
                f"<br><code>{caption}</code></div>")

    def __repr__(self) -> str:
        where = f", path={str(self.path)!r}" if self.path is not None else ""
        try:
            dur = f", duration={self.duration:.2f}s" if self.encoding in BYTES_PER_SAMPLE else ""
        except Exception:
            dur = ""
        model = f", model={self.model_name!r}" if self.model_name else ""
        return (f"SpeechAudio(encoding={self.encoding!r}, format={self.format!r}, sample_rate={self.sample_rate}"
                f"{dur}, bytes={self.size}{model}{where})")
