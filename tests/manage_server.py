"""A real local engine (in-process uvicorn on a free 127.0.0.1 port) for the manage tests."""
from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import AUDIO

from dgnb.local.server import start_in_background


def start(data_dir: Path):
    """``EmbeddedServer`` (``.url``, ``.api_key``, ``.app``)."""
    return start_in_background(data_dir=data_dir)


def short_clip(out: Path, seconds: float = 3.0) -> Path:
    """The first ``seconds`` of preamble.wav as 16 kHz mono WAV (ffmpeg CLI): fast to transcribe."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(AUDIO / "preamble.wav"), "-t", str(seconds),
                    "-ac", "1", "-ar", "16000", str(out)], check=True)
    return out
