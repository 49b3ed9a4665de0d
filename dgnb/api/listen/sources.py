"""Where the audio of ``dg.listen.stream_file`` comes from: a path, bytes, a file object or an
iterator, decoded to linear16 unless an encoding is declared, and fed to the stream in chunks."""
from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from ..._core.audio import decode_linear16, parse_wav_header

if TYPE_CHECKING:
    from .live import AsyncLiveConnection

log = logging.getLogger("dgnb.live")


def prepare_source(source: Any, options: dict) -> tuple[bytes | None, Any]:
    """(all bytes to stream, or None) and (an iterator / async iterator), updating ``options``
    with encoding/sample_rate/channels for decoded or WAV audio."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"audio file not found: {str(path)!r}" if not path.exists()
                                    else f"not a regular file: {str(path)!r}")
        source = path.read_bytes()
    elif hasattr(source, "read"):
        data = source.read()
        if isinstance(data, str):
            raise TypeError("the file object is open in text mode; open it with 'rb'")
        source = bytes(data)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data:
            raise ValueError("the audio is empty")
        if options.get("encoding"):  # declared: send it raw (a WAV header is skipped)
            info = parse_wav_header(data[:1 << 16])
            if info:
                options.setdefault("sample_rate", info.sample_rate)
                if info.channels != 1:
                    options.setdefault("channels", info.channels)
                data = data[info.data_offset:]
            return data, None
        pcm, rate, channels = decode_linear16(data)
        options.update(encoding="linear16", sample_rate=rate)
        if channels != 1:
            options["channels"] = channels
        return pcm, None
    if hasattr(source, "__aiter__") or isinstance(source, Iterable):
        return None, source
    raise TypeError(f"cannot stream audio from {type(source).__name__}: pass a path, bytes, a binary file "
                    "object, or an iterator / async iterator of bytes")


async def feed(conn: "AsyncLiveConnection", data: bytes | None, chunks: Any, realtime: bool, chunk_ms: float) -> None:
    """Send the source (paced at real time when asked), then ``CloseStream``."""
    bps, frame = conn._audio.bytes_per_second, conn._audio.frame_bytes
    try:
        if data is not None:
            size = int(bps * chunk_ms / 1000) // frame * frame if bps else 3200
            size = max(size, frame)
            t0 = time.monotonic()
            for i in range(0, len(data), size):
                await conn.send(data[i:i + size])
                if realtime and bps:
                    ahead = t0 + (i + size) / bps - time.monotonic()
                    if ahead > 0:
                        await asyncio.sleep(ahead)
                else:
                    await asyncio.sleep(0)
        elif hasattr(chunks, "__aiter__"):
            async for chunk in chunks:
                await conn.send(chunk)
        else:
            iterator = iter(chunks)
            sentinel = object()
            while True:
                chunk = await asyncio.to_thread(next, iterator, sentinel)
                if chunk is sentinel:
                    break
                await conn.send(chunk)
        await conn._close_stream()
    except asyncio.CancelledError:
        raise
    except RuntimeError:
        if not conn.done:
            raise
    except Exception as exc:
        log.exception("streaming the source failed")
        conn._fail("CLIENT-SOURCE", f"reading the audio source failed: {type(exc).__name__}: {exc}")
        await conn.close()
