"""Malformed audio for the engine's fault suite and benchmark: WAV files whose every header field can
lie, and the cases of lies (each with words its 400 message must contain). Built in code, nothing stored.

>>> wav()[:4], len(LIES) > 10
(b'RIFF', True)
"""
from __future__ import annotations

import struct

from nonspeech import sweep

TONE = (sweep(1.0) * 32767).astype("<i2").tobytes()  # one second of real audio at 16 kHz


def wav(*, rate=16000, channels=1, bits=16, tag=1, block_align=None, data=TONE, data_size=None,
        fmt_size=16, with_fmt=True) -> bytes:
    """A WAV file with every header field settable, so each can lie."""
    block_align = channels * bits // 8 if block_align is None else block_align
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block_align, block_align, bits)[:fmt_size]
    chunks = (b"fmt " + struct.pack("<I", len(fmt)) + fmt) if with_fmt else b""
    chunks += b"data" + struct.pack("<I", len(data) if data_size is None else data_size) + data
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


#: (id, body, words the message must contain)
LIES = [
    ("rate-0", wav(rate=0), "sample rate of 0 Hz"),
    ("rate-1", wav(rate=1), "sample rate of 1 Hz"),
    ("rate-999", wav(rate=999), "sample rate of 999 Hz"),
    ("rate-1e9", wav(rate=1_000_000_000), "sample rate of 1000000000 Hz"),
    ("channels-0", wav(channels=0, block_align=2), "0 channels"),
    ("channels-100", wav(channels=100), "100 channels"),
    ("bits-0", wav(bits=0, block_align=2), "0 bits per sample"),
    ("bits-7", wav(bits=7, block_align=1), "7 bits per sample"),
    ("float-16-bit", wav(tag=3), "16 bits per sample for float"),
    ("mulaw-16-bit", wav(tag=7), "16 bits per sample for mu-law"),
    ("block-align-lies", wav(block_align=7), "block align of 7"),
    ("fmt-chunk-short", wav(fmt_size=8), "fmt chunk is 8 bytes"),
    ("no-fmt-chunk", wav(with_fmt=False), "no fmt chunk"),
    ("data-size-lies", wav(data_size=len(TONE) * 1000), "claims"),
]
