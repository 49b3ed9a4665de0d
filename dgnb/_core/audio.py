"""Audio sources for requests: paths, bytes and file objects become streamed request bodies."""
from __future__ import annotations

import io
import mimetypes
import os
import struct
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Union

from .http import FileBody

AudioSource = Union[str, os.PathLike, bytes, bytearray, memoryview, BinaryIO]

_TYPES = {
    ".wav": "audio/wav", ".wave": "audio/wav", ".mp3": "audio/mpeg", ".flac": "audio/flac",
    ".ogg": "audio/ogg", ".oga": "audio/ogg", ".opus": "audio/ogg", ".webm": "audio/webm",
    ".m4a": "audio/mp4", ".mp4": "video/mp4", ".aac": "audio/aac", ".amr": "audio/amr",
    ".mkv": "video/x-matroska", ".mov": "video/quicktime", ".mulaw": "audio/basic", ".raw": "application/octet-stream",
}
_MAGIC = [
    (b"RIFF", "audio/wav"), (b"fLaC", "audio/flac"), (b"OggS", "audio/ogg"), (b"ID3", "audio/mpeg"),
    (b"\x1aE\xdf\xa3", "audio/webm"), (b"\xff\xfb", "audio/mpeg"), (b"\xff\xf3", "audio/mpeg"), (b"\xff\xf2", "audio/mpeg"),
]


def is_url(source: Any) -> bool:
    """True for an http(s) URL string.

    >>> is_url("https://dpgr.am/spacewalk.wav"), is_url("call.wav")
    (True, False)
    """
    return isinstance(source, str) and source.split("://", 1)[0].lower() in ("http", "https") and "://" in source


def sniff_content_type(head: bytes) -> str:
    """Guess a Content-Type from the first bytes of the audio.

    >>> sniff_content_type(b"RIFF....WAVEfmt ")
    'audio/wav'
    """
    for magic, ctype in _MAGIC:
        if head.startswith(magic):
            return ctype
    if head[4:8] == b"ftyp":
        return "audio/mp4"
    return "application/octet-stream"


@dataclass
class PreparedAudio:
    """A request body with its Content-Type."""

    body: "bytes | FileBody"
    content_type: str


def prepare(source: AudioSource, content_type: str | None = None) -> PreparedAudio:
    """Turn a path, bytes or binary file object into a streamed body with a Content-Type.

    Paths are read in chunks as the request is sent (and re-read whole on a retry). A missing
    file raises ``FileNotFoundError`` naming it.

    >>> prepare(b"RIFF\\x00\\x00\\x00\\x00WAVE").content_type
    'audio/wav'
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        return PreparedAudio(data, content_type or sniff_content_type(data[:16]))
    if isinstance(source, (str, os.PathLike)):
        if is_url(source):
            raise ValueError(f"{source!r} is a URL: use transcribe_url(), or transcribe() which accepts both")
        path = Path(source).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"audio file not found: {str(path)!r}" if not path.exists()
                                    else f"not a regular file: {str(path)!r}")
        ctype = content_type or _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
        if not ctype:
            with open(path, "rb") as f:
                ctype = sniff_content_type(f.read(16))
        return PreparedAudio(FileBody(path, size=path.stat().st_size), ctype)
    if hasattr(source, "read"):
        f = source if _seekable(source) else _spool(source)
        start = f.tell()
        head = f.read(16)
        f.seek(start)
        size = f.seek(0, io.SEEK_END) - start
        f.seek(start)
        if isinstance(head, str):
            raise TypeError("the file object is open in text mode; open it with 'rb'")
        return PreparedAudio(FileBody(f, size=size), content_type or sniff_content_type(head))
    raise TypeError(
        f"cannot read audio from {type(source).__name__}: pass a path, a URL, bytes or a binary file object"
    )


def _seekable(f: Any) -> bool:
    try:
        return bool(f.seekable()) and f.tell() >= 0
    except (AttributeError, OSError, ValueError):
        return False


def _spool(f: Any) -> BinaryIO:
    """Copy a non-seekable stream to a spooled temp file, so a retry can send it again."""
    spooled = tempfile.SpooledTemporaryFile(max_size=8 << 20)
    while chunk := f.read(1 << 20):
        spooled.write(chunk)
    spooled.seek(0)
    return spooled  # type: ignore[return-value]


# ---------------------------------------------------------------- WAV headers ----
_WAV_ENCODINGS = {(1, 16): "linear16", (1, 32): "linear32", (7, 8): "mulaw", (6, 8): "alaw"}


@dataclass
class WavInfo:
    """What a RIFF/WAVE header says: where the samples start, how many bytes, and their format."""

    data_offset: int
    data_bytes: int
    format_tag: int
    encoding: str | None  # linear16, linear32, mulaw, alaw; None for other formats
    sample_rate: int
    channels: int
    block_align: int

    @property
    def duration(self) -> float:
        return self.data_bytes / (self.block_align * self.sample_rate) if self.block_align and self.sample_rate else 0.0


def parse_wav_header(head: bytes) -> WavInfo | None:
    """Read a RIFF/WAVE header (``head``: the first bytes of the file); None if it is not one.

    >>> parse_wav_header(wav_header("mulaw", 8000, 800)).encoding
    'mulaw'
    """
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos, fmt = 12, None
    while pos + 8 <= len(head):
        cid, size = head[pos:pos + 4], struct.unpack("<I", head[pos + 4:pos + 8])[0]
        if cid == b"fmt " and len(head) >= pos + 24:
            tag, channels, rate, _rate_bytes, align, bits = struct.unpack("<HHIIHH", head[pos + 8:pos + 24])
            if tag == 0xFFFE and size >= 40 and len(head) >= pos + 34:  # WAVE_FORMAT_EXTENSIBLE: the sub-format's tag
                tag = struct.unpack("<H", head[pos + 32:pos + 34])[0]
            fmt = (tag, _WAV_ENCODINGS.get((tag, bits)), rate, channels, align)
        elif cid == b"data" and fmt:
            tag, encoding, rate, channels, align = fmt
            return WavInfo(pos + 8, size, tag, encoding, rate, channels, align)
        pos += 8 + size + (size & 1)
    return None


def wav_header(encoding: str, sample_rate: int, data_bytes: int, channels: int = 1) -> bytes:
    """A RIFF/WAVE header for 16-bit PCM, mu-law (format 7) or A-law (format 6) data.

    >>> len(wav_header("linear16", 16000, 0))
    44
    """
    if encoding == "linear16":
        fmt = struct.pack("<HHIIHH", 1, channels, sample_rate, sample_rate * 2 * channels, 2 * channels, 16)
    elif encoding in ("mulaw", "alaw"):
        fmt = struct.pack("<HHIIHHH", 7 if encoding == "mulaw" else 6, channels, sample_rate, sample_rate * channels,
                          channels, 8, 0)
    else:
        raise ValueError(f"no WAV header for encoding {encoding!r}")
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", data_bytes)
    return b"RIFF" + struct.pack("<I", len(body) + data_bytes) + body


def decode_linear16(path_or_bytes: str | os.PathLike | bytes) -> tuple[bytes, int, int]:
    """Decode any audio file to (linear16 bytes, sample_rate, channels): WAV via the stdlib,
    anything else via PyAV when installed, else the ffmpeg command."""
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    info = parse_wav_header(data[:1 << 16])
    if info and info.encoding == "linear16":
        with wave.open(io.BytesIO(data)) as w:
            return w.readframes(w.getnframes()), w.getframerate(), w.getnchannels()
    try:
        import av  # noqa: F401  (installed with dgnb[local])
    except ImportError:
        av = None
    if av is not None:
        try:
            with av.open(io.BytesIO(data)) as container:
                stream = container.streams.audio[0]
                rate = stream.rate
                resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
                out = []
                for frame in container.decode(stream):
                    for f in resampler.resample(frame):
                        out.append(f.to_ndarray().tobytes())
                for f in resampler.resample(None):
                    out.append(f.to_ndarray().tobytes())
                return b"".join(out), rate, 1
        except Exception as exc:
            raise ValueError(f"could not decode the audio: {type(exc).__name__}: {exc}") from None
    import shutil
    import subprocess

    if not shutil.which("ffmpeg"):
        raise ValueError("cannot decode this audio format: install PyAV (pip install av) or ffmpeg, "
                         "or pass encoding=... to send it raw")
    proc = subprocess.run(["ffmpeg", "-v", "error", "-i", "pipe:0", "-f", "s16le", "-ac", "1", "-ar", "16000", "pipe:1"],
                          input=data, capture_output=True)
    if proc.returncode:
        raise ValueError(f"ffmpeg could not decode the audio: {proc.stderr.decode(errors='replace')[-300:]}")
    return proc.stdout, 16000, 1
