"""``Player``: audio with its transcript beside it; the word being spoken highlights, a click seeks.

Speaker colours are those of the plots and the HTML card (:mod:`dgnb.results.style`).

>>> t.player("call.mp3")            # doctest: +SKIP
>>> Player(t, "https://dpgr.am/spacewalk.wav").seek(12.5)   # doctest: +SKIP
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from ...results.style import SPEAKER_COLOURS

if TYPE_CHECKING:
    from ...results.transcript import Transcript

_HERE = Path(__file__).resolve().parent
MAX_INLINE_BYTES = 200 << 20


def _audio_payload(audio: Any) -> tuple[bytes, str, str]:
    """(bytes, mime type, url) of a path, URL, bytes, file object or SpeechAudio."""
    from ..._core.audio import _TYPES, is_url, sniff_content_type

    if audio is None:
        raise ValueError("Player needs the audio too: t.player('call.mp3') (a path, URL, bytes or SpeechAudio)")
    if is_url(audio):
        return b"", "", str(audio)
    if hasattr(audio, "wav_bytes") and hasattr(audio, "encoding"):  # SpeechAudio
        data = audio.data if getattr(audio, "container", None) else audio.wav_bytes
        return data, sniff_content_type(data[:16]), ""
    if isinstance(audio, (str, os.PathLike)):
        path = Path(audio).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"audio file not found: {str(path)!r}")
        if path.stat().st_size > MAX_INLINE_BYTES:
            raise ValueError(f"{path.name} is over {MAX_INLINE_BYTES >> 20} MB: serve it and pass its URL instead")
        data = path.read_bytes()
        return data, _TYPES.get(path.suffix.lower()) or sniff_content_type(data[:16]), ""
    if isinstance(audio, (bytes, bytearray, memoryview)):
        data = bytes(audio)
    elif hasattr(audio, "read"):
        data = audio.read()
        if not isinstance(data, bytes):
            raise TypeError("the file object is open in text mode; open it with 'rb'")
    else:
        raise TypeError(f"cannot play a {type(audio).__name__}: give a path, URL, bytes or SpeechAudio")
    if not data:
        raise ValueError("the audio is empty")
    return data, sniff_content_type(data[:16]), ""


def _words(transcript: "Transcript", channel: int) -> list[dict]:
    import pandas as pd

    words = transcript.words
    words = words[(words["alternative"] == 0) & (words["channel"] == channel)]
    out = []
    for row in words.itertuples(index=False):
        speaker = None if pd.isna(row.speaker) else int(row.speaker)
        text = row.punctuated_word if isinstance(row.punctuated_word, str) and row.punctuated_word else row.word
        out.append({"w": str(text), "s": round(float(row.start), 3), "e": round(float(row.end), 3), "k": speaker})
    return out


class Player(anywidget.AnyWidget):
    """An audio player beside a transcript (``t.player(audio)``).

    ``time`` follows the playback position (seconds); :meth:`seek` moves it from Python.
    """

    _esm = _HERE / "player.js"

    words = traitlets.List(traitlets.Dict()).tag(sync=True)  #: {"w" text, "s" start, "e" end, "k" speaker}
    audio = traitlets.Bytes(b"").tag(sync=True)
    audio_url = traitlets.Unicode("").tag(sync=True)
    mime = traitlets.Unicode("").tag(sync=True)
    colours = traitlets.List(traitlets.Unicode()).tag(sync=True)
    time = traitlets.Float(0.0).tag(sync=True)
    height = traitlets.Int(260).tag(sync=True)

    def __init__(self, transcript: Any, audio: Any = None, *, channel: int = 0, height: int = 260,
                 **kwargs: Any) -> None:
        from ...results.transcript import Transcript

        if not isinstance(transcript, Transcript):
            transcript = Transcript.from_response(transcript)
        if channel < 0 or (transcript.channels and channel >= transcript.channels):
            raise ValueError(f"channel {channel} is not in this transcript ({transcript.channels} channel(s))")
        data, mime, url = _audio_payload(audio)
        super().__init__(words=_words(transcript, channel), audio=data, audio_url=url, mime=mime,
                         colours=list(SPEAKER_COLOURS), height=int(height), **kwargs)
        self.transcript = transcript

    def seek(self, seconds: float) -> None:
        """Move playback to ``seconds`` (and highlight the word there)."""
        self.send({"seek": float(seconds)})

    def __repr__(self) -> str:
        return f"<Player {len(self.words)} words, at {self.time:.1f} s>"
