"""Audio decoding for the local engine: any container PyAV reads, or raw PCM/G.711.

Everything is turned into float32 samples at 16 kHz, one row per channel (channels are
kept separate so ``multichannel=true`` can transcribe each on its own). Bad input raises
:class:`~dgnb.local.errors.EngineError` (400) with a message that says what is wrong.
"""
from __future__ import annotations

import hashlib
import io
import os
import struct
from dataclasses import dataclass

import numpy as np

from ...protocol.audio import BYTES_PER_SAMPLE
from .errors import BAD_REQUEST, EngineError

TARGET_RATE = 16000
RAW_ENCODINGS = ("linear16", "linear32", "mulaw", "alaw")
CONTAINER_ENCODINGS = ("flac", "opus", "ogg-opus", "speex", "amr-nb", "amr-wb", "g729")
ENCODINGS = RAW_ENCODINGS + ("flac", "opus", "ogg-opus")
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 1000, 192_000
MAX_CHANNELS = 32
_HASH_CHUNK = 1 << 20


@dataclass
class Audio:
    """Decoded audio: ``samples`` is float32 of shape (channels, n) at ``sample_rate`` (16 kHz)."""

    samples: np.ndarray
    sample_rate: int
    duration: float
    channels: int
    sha256: str

    def mono(self) -> np.ndarray:
        """All channels mixed down to one row (float32, 16 kHz)."""
        if self.channels == 1:
            return self.samples[0]
        return self.samples.mean(axis=0).astype(np.float32)


def bad(msg: str) -> EngineError:
    return EngineError(400, BAD_REQUEST, msg)


# --------------------------------------------------------------------------- raw PCM / G.711

def _mulaw_table() -> np.ndarray:
    u = np.arange(256, dtype=np.int32) ^ 0xFF
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = u & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    value = np.where(sign != 0, -magnitude, magnitude)
    return (value / 32768.0).astype(np.float32)


def _alaw_table() -> np.ndarray:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    sign = a & 0x80
    exponent = (a >> 4) & 0x07
    mantissa = a & 0x0F
    magnitude = np.where(exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0))
    value = np.where(sign != 0, magnitude, -magnitude)
    return (value / 32768.0).astype(np.float32)


_MULAW = _mulaw_table()
_ALAW = _alaw_table()
_WIDTH = BYTES_PER_SAMPLE


def raw_to_float(data: bytes, encoding: str, channels: int = 1) -> np.ndarray:
    """Headerless little-endian audio -> float32 array of shape (channels, n) at its own rate.

    A trailing partial frame is dropped (streams may split frames across messages; keep the
    remainder yourself with :func:`frame_bytes`).
    """
    encoding = (encoding or "").lower()
    if encoding not in _WIDTH:
        raise bad(f"encoding={encoding!r} is not a raw encoding; use one of {', '.join(RAW_ENCODINGS)}")
    channels = int(channels or 1)
    frame = _WIDTH[encoding] * channels
    usable = len(data) - len(data) % frame
    buf = memoryview(data)[:usable]
    if encoding == "linear16":
        x = np.frombuffer(buf, dtype="<i2").astype(np.float32) / 32768.0
    elif encoding == "linear32":
        x = (np.frombuffer(buf, dtype="<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
    elif encoding == "mulaw":
        x = _MULAW[np.frombuffer(buf, dtype=np.uint8)]
    else:
        x = _ALAW[np.frombuffer(buf, dtype=np.uint8)]
    return x.reshape(-1, channels).T.copy()


def frame_bytes(encoding: str, channels: int = 1) -> int:
    """Bytes per sample frame (all channels) of a raw encoding."""
    return _WIDTH[encoding.lower()] * int(channels or 1)


def resample(x: np.ndarray, sr_from: int, sr_to: int = TARGET_RATE) -> np.ndarray:
    """Resample along the last axis (polyphase filter); returns float32."""
    x = np.asarray(x, dtype=np.float32)
    if int(sr_from) == int(sr_to) or x.shape[-1] == 0:
        return x
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(int(sr_from), int(sr_to))
    return resample_poly(x, int(sr_to) // g, int(sr_from) // g, axis=-1).astype(np.float32)


# --------------------------------------------------------------------------- validation helpers

def _bounded_int(value, name: str, lo: int, hi: int, what: str, unit: str = "") -> int | None:
    """An optional integer option within [lo, hi]; a 400 naming the option otherwise."""
    if value is None or value == "":
        return None
    try:
        n = int(str(value).strip())
    except ValueError:
        raise bad(f"{name}={value!r} is not {what}") from None
    if not lo <= n <= hi:
        raise bad(f"{name}={n} is out of range ({lo}..{hi}{unit})")
    return n


def parse_sample_rate(value) -> int | None:
    return _bounded_int(value, "sample_rate", MIN_SAMPLE_RATE, MAX_SAMPLE_RATE, "an integer number of Hz", " Hz")


def parse_channels(value) -> int | None:
    return _bounded_int(value, "channels", 1, MAX_CHANNELS, "an integer")


def sniff_container(head: bytes) -> str | None:
    """Name of the container a header looks like, or None."""
    if head[:4] in (b"RIFF", b"RIFX", b"RF64") and (len(head) < 12 or head[8:12] == b"WAVE"):
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if head[4:8] == b"ftyp":
        return "mp4"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and head[1] & 0x06):
        return "mp3"
    return None


PCM_FORMATS = {1: "PCM", 3: "float", 6: "A-law", 7: "mu-law", 0xFFFE: "extensible"}
PCM_BITS = {1: (8, 16, 24, 32), 3: (32, 64), 6: (8,), 7: (8,), 0xFFFE: (8, 16, 24, 32, 64)}


def _check_declared(what: str, rate: int, channels: int) -> None:
    """A header's or stream's declared rate and channels within what any real recording has."""
    if not 1 <= channels <= MAX_CHANNELS:
        raise bad(f"{what} declares {channels} channels (1..{MAX_CHANNELS} are accepted)")
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise bad(f"{what} declares a sample rate of {rate} Hz ({MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz are accepted)")


def _check_wav_format(body: bytes) -> None:
    """Reject a ``fmt`` chunk whose numbers no real recording has, before anything is decoded."""
    if len(body) < 16:
        raise bad(f"WAV fmt chunk is {len(body)} bytes, too short to describe the audio (16 needed)")
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", body)
    _check_declared("WAV header", rate, channels)
    if tag in PCM_FORMATS:
        if bits not in PCM_BITS[tag]:
            raise bad(f"WAV header declares {bits} bits per sample for {PCM_FORMATS[tag]} audio "
                      f"({', '.join(map(str, PCM_BITS[tag]))} are valid)")
        if block_align != channels * bits // 8:
            raise bad(f"WAV header declares a block align of {block_align} bytes, but {channels} channel(s) of "
                      f"{bits}-bit samples take {channels * bits // 8}")


def _check_wav_header(head: bytes, total_size: int) -> None:
    """Reject WAV files whose header is impossible or claims more audio than the body holds."""
    if head[:4] != b"RIFF":
        return
    if total_size < 44:
        raise bad(f"WAV file is truncated: {total_size} bytes is too short for a WAV header")
    pos, seen_format = 12, False
    while pos + 8 <= len(head):
        cid = head[pos:pos + 4]
        (size,) = struct.unpack_from("<I", head, pos + 4)
        if cid == b"fmt ":
            _check_wav_format(head[pos + 8:pos + 8 + min(size, 40)])
            seen_format = True
        if cid == b"data":
            if not seen_format:
                raise bad("WAV file has no fmt chunk before its data: nothing says how to read the audio")
            if size in (0, 0xFFFFFFFF):  # unknown length (streamed WAV)
                return
            present = total_size - (pos + 8)
            if size > present:
                raise bad(
                    f"WAV header claims {size} bytes of audio data but the body holds only {max(present, 0)} "
                    "(truncated upload or corrupt header)"
                )
            return
        pos += 8 + size + (size & 1)


# --------------------------------------------------------------------------- decoding

def sha256_of(source) -> str:
    """sha256 hex digest of bytes or of a file (read in chunks)."""
    h = hashlib.sha256()
    if isinstance(source, (bytes, bytearray, memoryview)):
        h.update(source)
    else:
        with open(source, "rb") as f:
            for chunk in iter(lambda: f.read(_HASH_CHUNK), b""):
                h.update(chunk)
    return h.hexdigest()


def _head(source, n: int = 65536) -> tuple[bytes, int]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source[:n]), len(source)
    with open(source, "rb") as f:
        return f.read(n), os.fstat(f.fileno()).st_size


def decode(source, *, encoding: str | None = None, sample_rate=None, channels=None) -> Audio:
    """Decode ``source`` (bytes or a file path) into 16 kHz float32 channels.

    ``encoding`` (with ``sample_rate`` and ``channels``) describes headerless audio; for
    containerized audio (wav, mp3, flac, ogg, webm, mp4/m4a, ...) it is not needed.
    """
    if isinstance(source, (str, os.PathLike)):
        source = os.fspath(source)
        if not os.path.isfile(source):
            raise bad(f"audio file not found: {os.path.basename(source)}")
    head, size = _head(source)
    if size == 0:
        raise bad("the request body is empty: no audio data was sent")
    enc = encoding.strip().lower() if isinstance(encoding, str) and encoding.strip() else None
    rate = parse_sample_rate(sample_rate)
    nch = parse_channels(channels)
    if enc is not None and enc not in ENCODINGS:
        raise bad(f"encoding={encoding!r} is not supported; use one of {', '.join(ENCODINGS)}")
    container = sniff_container(head)

    if enc in RAW_ENCODINGS and container != "wav":
        if container is not None:
            raise bad(
                f"encoding={enc} says the body is headerless audio, but it looks like a {container} file; "
                "leave out encoding for containerized audio"
            )
        if rate is None:
            raise bad(f"encoding={enc} needs sample_rate (the audio has no header to read it from)")
        return _decode_raw(source, enc, rate, nch or 1)

    if enc in ("flac", "opus", "ogg-opus") and container is not None:
        expected = {"flac": ("flac", "ogg"), "opus": ("ogg", "webm"), "ogg-opus": ("ogg",)}[enc]
        if container not in expected:
            raise bad(f"encoding={enc} does not match the audio, which looks like a {container} file")

    if container == "wav":
        _check_wav_header(head, size)
    return _decode_container(source, enc)


def _decode_raw(source, enc: str, rate: int, nch: int) -> Audio:
    data = source if isinstance(source, (bytes, bytearray, memoryview)) else open(source, "rb").read()
    frame = frame_bytes(enc, nch)
    if len(data) < frame:
        raise bad(f"the body holds {len(data)} bytes, less than one {enc} sample frame ({frame} bytes)")
    x = raw_to_float(bytes(data) if isinstance(data, memoryview) else data, enc, nch)
    n_in = x.shape[1]
    samples = resample(x, rate, TARGET_RATE)
    return Audio(samples, TARGET_RATE, round(n_in / rate, 6), nch, sha256_of(source))


def _decode_container(source, enc: str | None) -> Audio:
    import av

    fmt = "flac" if enc == "flac" else None
    try:
        handle = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
        container = av.open(handle, mode="r", format=fmt, metadata_errors="ignore")
    except av.error.FFmpegError:  # the ffmpeg message is not shown to the client
        hint = f" as {enc}" if enc else ""
        raise bad(
            f"could not decode the audio{hint}: the data is corrupt or in an unsupported format "
            "(send a supported container such as wav, mp3, flac, ogg, webm or m4a, or raw audio with encoding and sample_rate)"
        ) from None
    except Exception:
        raise bad("could not decode the audio: the data is corrupt or in an unsupported format") from None
    with container:
        if not container.streams.audio:
            kinds = sorted({s.type for s in container.streams})
            found = f" (found only {', '.join(kinds)} streams)" if kinds else ""
            raise bad(f"the file contains no audio stream{found}")
        stream = container.streams.audio[0]
        # a stream that leaves its rate or channels to the frames (0) is checked by what it declares only
        _check_declared("the audio stream", stream.codec_context.sample_rate or TARGET_RATE,
                        stream.codec_context.channels or 1)
        if enc in ("opus", "ogg-opus") and stream.codec_context.name not in ("opus", "libopus"):
            raise bad(f"encoding={enc} does not match the audio, whose codec is {stream.codec_context.name}")
        rows, n_in, in_rate, nch = _decode_stream(container, stream)
    if n_in == 0 or rows.size == 0:
        raise bad("no audio samples could be decoded: the file is empty, truncated or corrupt")
    return Audio(rows.array(), TARGET_RATE, round(n_in / in_rate, 6), nch, sha256_of(source))


class _Samples:
    """Decoded float32 rows (channels x samples) written into one buffer as they come, so an hour costs
    its own size once, not the frames plus their concatenation. The buffer is sized from the duration
    the container declares (pages never written cost nothing) and grows by half if that was short.

    >>> s = _Samples(expected=4)
    >>> for n in (3, 3): s.add(np.ones((2, n), np.float32))
    >>> s.array().shape, s.size
    ((2, 6), 6)
    """

    def __init__(self, expected: int):
        self._buf: np.ndarray | None = None
        self._expected = max(int(expected), TARGET_RATE)
        self.size = 0

    def add(self, a: np.ndarray) -> None:
        """Append rows of the first call's channel count (the decoder drops frames of another layout)."""
        if self._buf is None:
            self._buf = np.empty((a.shape[0], self._expected), np.float32)
        end = self.size + a.shape[1]
        if end > self._buf.shape[1]:
            grown = np.empty((self._buf.shape[0], max(end, self._buf.shape[1] * 3 // 2)), np.float32)
            grown[:, :self.size] = self._buf[:, :self.size]
            self._buf = grown
        self._buf[:, self.size:end] = a
        self.size = end

    @property
    def channels(self) -> int:
        return 0 if self._buf is None else self._buf.shape[0]

    def array(self) -> np.ndarray:
        return self._buf[:, :self.size]


_MAX_PREALLOCATED = 4 * 3600 * TARGET_RATE  # samples: what a declared duration may reserve (untouched pages are free)


def _declared_samples(container, stream) -> int:
    """Samples at 16 kHz the container says it holds (1 s more), or 60 s when it does not say."""
    seconds = None
    if stream.duration and stream.time_base:
        seconds = float(stream.duration * stream.time_base)
    elif container.duration:
        seconds = container.duration / 1_000_000
    if not seconds or seconds <= 0:
        return 60 * TARGET_RATE
    return min(int((seconds + 1) * TARGET_RATE), _MAX_PREALLOCATED)


def _decode_stream(container, stream):
    import av

    nch = stream.codec_context.channels or 1
    resampler = None
    rows = _Samples(_declared_samples(container, stream))
    n_in = 0
    in_rate = stream.codec_context.sample_rate or 0
    errors = 0

    def take(frames):
        for out in frames:
            a = out.to_ndarray()
            if a.ndim == 1:
                a = a.reshape(1, -1)
            rows.add(a.astype(np.float32, copy=False))

    try:
        packets = container.demux(stream)
        for packet in packets:
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                errors += 1
                if errors > 50 and n_in == 0:
                    break
                continue
            for frame in frames:
                if resampler is None:
                    nch = len(frame.layout.channels) or nch
                    in_rate = frame.sample_rate or in_rate
                    resampler = av.AudioResampler(format="fltp", layout=frame.layout, rate=TARGET_RATE)
                if len(frame.layout.channels) != nch:
                    continue  # a mid-stream layout change; keep the first layout
                n_in += frame.samples
                take(resampler.resample(frame))
        if resampler is not None:
            take(resampler.resample(None))
    except av.error.FFmpegError:
        if n_in == 0:
            raise bad("could not decode the audio: the data is corrupt or in an unsupported format") from None
    except (MemoryError, OverflowError, ValueError):
        raise bad("could not decode the audio: the stream claims an impossible size or layout") from None
    return rows, n_in, in_rate or TARGET_RATE, rows.channels or nch
