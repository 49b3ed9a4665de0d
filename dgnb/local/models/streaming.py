"""Incremental audio decoding and speech segmentation for live /v1/listen.

Three pieces, none of which knows about WebSockets:

* :class:`RawStreamDecoder` turns headerless chunks (linear16/linear32/mulaw/alaw at any
  rate) into 16 kHz float32 rows, keeping partial sample frames and filter context across
  chunk boundaries so chunked audio decodes exactly like the whole file would.
* :class:`ContainerStreamDecoder` feeds containerized bytes (wav, ogg/opus, webm, mp3,
  flac, ...) to PyAV in a background thread through a blocking pipe, so decoding starts
  as soon as the header has arrived.
* :class:`ChannelSegmenter` runs webrtcvad over one channel, grows a speech segment,
  re-transcribes it for interim results, and finalizes it on endpointing silence, at a
  maximum length (cut at a pause), or on request. It returns plain event objects that
  ``live.py`` turns into Deepgram messages.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..wire import audio
from ..wire.errors import EngineError

RATE = audio.TARGET_RATE  # 16 kHz, what the recognizer and the VAD take
FRAME = RATE * 30 // 1000  # one 30 ms VAD frame

Transcribe = Callable[[np.ndarray, float], list]  # (samples 16 kHz mono, offset s) -> word dicts


# --------------------------------------------------------------------------- decoding

class StreamResampler:
    """Chunk-by-chunk polyphase resampling that matches resampling the whole stream.

    Holds back a few input samples of right context and keeps left context, so chunk
    edges get the same filter taps as in one-shot :func:`audio.resample`.
    """

    def __init__(self, sr_from: int, sr_to: int = RATE):
        g = math.gcd(int(sr_from), int(sr_to))
        self.up, self.down = int(sr_to) // g, int(sr_from) // g
        self.identity = self.up == self.down
        # resample_poly's filter reaches 10 * max(up, down) taps either side at the up rate.
        reach = math.ceil(10 * max(self.up, self.down) / self.up) + 1
        self.ctx = math.ceil(reach / self.down) * self.down  # left context, aligned to `down`
        self.right = reach
        self._buf: np.ndarray | None = None
        self._hist = 0

    def push(self, x: np.ndarray) -> np.ndarray:
        """Resample the next chunk (channels, n); returns what can be output so far."""
        if self.identity:
            return x.astype(np.float32, copy=False)
        buf = x if self._buf is None else np.concatenate([self._buf, x], axis=1)
        ready = (buf.shape[1] - self._hist - self.right) // self.down * self.down
        if ready <= 0:
            self._buf = buf
            return np.zeros((x.shape[0], 0), np.float32)
        end = self._hist + ready
        y = audio.resample(buf[:, : end + self.right], self.down * 1, self.up * 1)
        out = y[:, self._hist * self.up // self.down : end * self.up // self.down]
        keep = min(self.ctx, end)
        self._buf, self._hist = buf[:, end - keep :], keep
        return out

    def flush(self) -> np.ndarray:
        """Everything still held back (the stream has ended)."""
        if self.identity or self._buf is None or self._buf.shape[1] <= self._hist:
            return np.zeros((0 if self._buf is None else self._buf.shape[0], 0), np.float32)
        y = audio.resample(self._buf, self.down, self.up)
        out = y[:, self._hist * self.up // self.down :]
        self._buf, self._hist = None, 0
        return out


class RawStreamDecoder:
    """Headerless linear16/linear32/mulaw/alaw chunks -> float32 (channels, n) at 16 kHz."""

    def __init__(self, encoding: str, sample_rate: int, channels: int = 1):
        self.encoding, self.channels = encoding, channels
        self.frame = audio.frame_bytes(encoding, channels)
        self._rest = b""
        self._resampler = StreamResampler(sample_rate, RATE)
        self.samples_in = 0
        self.sample_rate = sample_rate

    def feed(self, data: bytes) -> np.ndarray:
        data = self._rest + data
        usable = len(data) - len(data) % self.frame
        self._rest = data[usable:]
        if not usable:
            return np.zeros((self.channels, 0), np.float32)
        x = audio.raw_to_float(data[:usable], self.encoding, self.channels)
        self.samples_in += x.shape[1]
        return self._resampler.push(x)

    def close(self) -> np.ndarray:
        out = self._resampler.flush()
        return out if out.shape[0] else np.zeros((self.channels, 0), np.float32)

    @property
    def duration(self) -> float:
        return self.samples_in / self.sample_rate


class _BlockingPipe:
    """A read-only file object whose ``read`` waits for bytes written by another thread."""

    def __init__(self):
        self._buf = bytearray()
        self._eof = False
        self._cond = threading.Condition()

    def write(self, data: bytes) -> None:
        with self._cond:
            self._buf += data
            self._cond.notify_all()

    def close_writer(self) -> None:
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def read(self, n: int = -1) -> bytes:
        with self._cond:
            while not self._buf and not self._eof:
                self._cond.wait()
            if n is None or n < 0:
                n = len(self._buf)
            out = bytes(self._buf[:n])
            del self._buf[:n]
            return out


_UNDECODABLE = (
    "the stream could not be decoded as audio: send a container (wav, ogg, webm, mp3, flac, ...) "
    "or raw audio with encoding and sample_rate"
)


class ContainerStreamDecoder:
    """Containerized audio bytes -> float32 (channels, n) at 16 kHz, decoded as they arrive.

    PyAV reads from a blocking pipe in a daemon thread; :meth:`feed` returns whatever has
    been decoded so far and :meth:`close` waits for the rest. Decoding errors are raised as
    :class:`EngineError` from the next :meth:`feed` or :meth:`close`.
    """

    def __init__(self, fmt: str | None = None, *, expect_codec: tuple[str, ...] | None = None):
        self._pipe = _BlockingPipe()
        self._fmt = fmt
        self._expect = expect_codec
        self._lock = threading.Lock()
        self._out: list[np.ndarray] = []
        self._error: EngineError | None = None
        self._done = threading.Event()
        self._wrote = 0
        self.channels: int | None = None
        self.samples_in = 0
        self.sample_rate = 0
        self._thread = threading.Thread(target=self._run, name="dgnb-live-decode", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import av

        container = None
        try:
            try:
                container = av.open(self._pipe, mode="r", format=self._fmt, metadata_errors="ignore", buffer_size=4096)
            except Exception:
                raise audio.bad(_UNDECODABLE) from None
            if not container.streams.audio:
                raise audio.bad("the stream contains no audio track")
            stream = container.streams.audio[0]
            if self._expect and stream.codec_context.name not in self._expect:
                raise audio.bad(f"the stream's codec is {stream.codec_context.name}, not {'/'.join(self._expect)}")
            resampler = None
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except av.error.FFmpegError:
                    continue
                for frame in frames:
                    if resampler is None:
                        self.channels = len(frame.layout.channels) or 1
                        self.sample_rate = frame.sample_rate or RATE
                        resampler = av.AudioResampler(format="fltp", layout=frame.layout, rate=RATE)
                    if len(frame.layout.channels) != self.channels:
                        continue
                    self.samples_in += frame.samples
                    self._take(resampler.resample(frame))
            if resampler is not None:
                self._take(resampler.resample(None))
            elif self._wrote:
                raise audio.bad(_UNDECODABLE)
        except EngineError as exc:
            self._error = exc
        except Exception:  # PyAV/ffmpeg failures: the client gets a clear message, not a traceback
            self._error = audio.bad(_UNDECODABLE)
        finally:
            if container is not None:
                try:
                    container.close()
                except Exception:
                    pass
            self._done.set()

    def _take(self, frames) -> None:
        rows = []
        for out in frames:
            a = out.to_ndarray()
            rows.append(a.reshape(1, -1) if a.ndim == 1 else a)
        if rows:
            with self._lock:
                self._out.extend(r.astype(np.float32, copy=False) for r in rows)

    def _drain(self) -> np.ndarray:
        with self._lock:
            rows, self._out = self._out, []
        if self._error is not None and not rows:
            raise self._error
        if not rows:
            return np.zeros((self.channels or 1, 0), np.float32)
        return np.concatenate(rows, axis=1)

    def feed(self, data: bytes) -> np.ndarray:
        if self._error is not None and self._done.is_set():
            raise self._error
        self._wrote += len(data)
        self._pipe.write(data)
        return self._drain()

    def close(self, timeout: float = 30.0) -> np.ndarray:
        self._pipe.close_writer()
        self._done.wait(timeout)
        out = self._drain()
        if self._error is not None and self.samples_in == 0 and self._wrote:
            raise self._error
        return out

    @property
    def duration(self) -> float:
        return self.samples_in / self.sample_rate if self.sample_rate else 0.0


def make_decoder(encoding: str | None, sample_rate: int | None, channels: int | None):
    """The decoder for a live stream's query options (raises EngineError 400 when unusable)."""
    enc = (encoding or "").strip().lower() or None
    if enc in audio.RAW_ENCODINGS:
        if sample_rate is None:
            raise audio.bad(f"encoding={enc} needs sample_rate (raw audio has no header to read it from)")
        return RawStreamDecoder(enc, sample_rate, channels or 1)
    if enc is None:
        return ContainerStreamDecoder()
    if enc == "flac":
        return ContainerStreamDecoder("flac")
    if enc in ("opus", "ogg-opus"):
        return ContainerStreamDecoder(None, expect_codec=("opus", "libopus"))
    raise audio.bad(
        f"encoding={encoding!r} is not supported by the local engine; use one of "
        f"{', '.join(audio.RAW_ENCODINGS + ('opus', 'flac'))}, or leave it out for containerized audio"
    )


# --------------------------------------------------------------------------- segmentation

@dataclass
class SegmenterConfig:
    """Live options that shape segmentation (times in seconds)."""

    interim_results: bool = False
    endpointing: float | None = 0.010  # None: endpointing=false (no speech_final)
    utterance_end: float | None = None  # utterance_end_ms / 1000
    vad_events: bool = False
    interim_every: float = 1.0
    max_segment: float = 10.0
    # the pause that ends a final (shorter endpointing is floored to it). 0.2 s cut synthetic and real
    # speech inside phrases ("the duplicate charge | of $29 dollars"), each part read worse than the
    # whole: live - REST WER median +0.038 at 0.2 s, +0.000 at 0.3 s (max +0.028), for latency median
    # 276 -> 323 ms, max 348 -> 445 ms (bench_live_accuracy.py, bench_live_latency.py --min-silence)
    min_silence: float = 0.3
    speculate_after: float = 0.09  # silence after which the final's words are computed ahead of time
    preroll: float = 0.25
    context: float = 5.0  # seconds of audio before a segment that are read with it (their words dropped)
    context_within: float = 7.0  # ...as far as the clip stays this short (the recogniser's quick window)
    vad_mode: int = 3
    start_window: int = 5  # speech starts when `start_voiced` of the last `start_window` frames are voiced
    start_voiced: int = 3


@dataclass
class Event:
    """Something :class:`ChannelSegmenter` wants sent: 'results', 'speech_started' or 'utterance_end'."""

    kind: str
    start: float = 0.0
    end: float = 0.0
    words: list = field(default_factory=list)
    is_final: bool = False
    speech_final: bool = False
    from_finalize: bool = False
    timestamp: float = 0.0


class ChannelSegmenter:
    """VAD segmentation + incremental transcription of one channel of a live stream.

    Finals tile the stream: each final's ``start`` is the previous final's end, so starts
    and durations are contiguous and monotonic, as Deepgram's are.
    """

    def __init__(self, transcribe: Transcribe, config: SegmenterConfig | None = None):
        import webrtcvad

        self.cfg = config or SegmenterConfig()
        self._transcribe = transcribe
        self._vad = webrtcvad.Vad(self.cfg.vad_mode)
        self._audio = np.zeros(0, np.float32)  # samples from index self._base
        self._base = 0
        self._total = 0  # samples received
        self._vad_pos = 0  # next sample index the VAD looks at
        self._recent: list[bool] = []  # last few frame decisions (for speech start)
        self._final_at = 0  # sample index where the last final ended
        self._seg_start: int | None = None  # first voiced sample of the active segment
        self._seg_audio_from = 0  # where the active segment's audio begins (pre-roll included)
        self._last_voiced = 0  # end of the last voiced frame
        self._voiced_flags: list[tuple[int, bool]] = []  # (frame start, voiced) within the segment
        self._last_interim = 0
        self._last_word_end: float | None = None  # for UtteranceEnd
        self._words_since_ue = False
        self._emitted_until = 0.0  # end of the last word sent in a final
        self._ahead: list | None = None  # words of the segment so far, computed early in a pause
        self._said: list = []  # the last seconds of words sent in finals (to match a re-read context)

    # -- helpers --------------------------------------------------------------------------
    @property
    def now(self) -> float:
        return self._total / RATE

    def _slice(self, a: int, b: int) -> np.ndarray:
        return self._audio[max(a - self._base, 0) : max(b - self._base, 0)]

    def _words(self, a: int, b: int) -> list:
        if b - a < FRAME:
            return []
        room = int(min(self.cfg.context, self.cfg.context_within - (b - a) / RATE) * RATE)
        since = max(a - max(room, 0), self._base)
        words = self._after_said(self._transcribe(self._slice(since, b), since / RATE), since / RATE, a / RATE)
        spoken_until = min(b, self._last_voiced) / RATE + 0.1  # nothing starts in the silence after speech
        return [w for w in words if w["start"] < spoken_until]

    def _after_said(self, words: list, since: float, start: float) -> list:
        """The words that follow what finals already said. The context (and pre-roll) before ``start``
        is read again: where its words match the tail of the words sent, what follows the match is
        new; else the words that start after the last word sent."""
        from difflib import SequenceMatcher

        said = [w["word"] for w in self._said if w["end"] > since]
        if not said:
            return [w for w in words if w["start"] >= self._emitted_until - 0.03]
        early = [w["word"] for w in words if w["start"] < start + 0.2]
        blocks = SequenceMatcher(None, said, early, autojunk=False).get_matching_blocks()
        tail = [m for m in blocks if m.size and m.a + m.size >= len(said) - 2]
        if tail:
            return words[tail[-1].b + tail[-1].size:]
        floor = max(self._emitted_until, start)
        return [w for w in words if w["end"] > floor + 0.05]

    def _trim(self) -> None:
        if self._seg_start is not None:
            keep_from = self._seg_audio_from - int(self.cfg.context * RATE)
        else:  # keep enough history for the pre-roll (and context) of a segment that starts in the next frames
            history = int((self.cfg.preroll + self.cfg.context) * RATE) + (self.cfg.start_window + 1) * FRAME
            keep_from = self._total - history
        keep_from = min(keep_from, self._vad_pos)
        if keep_from - self._base > RATE:  # drop in whole-second steps
            self._audio = self._audio[keep_from - self._base :]
            self._base = keep_from

    def _results(self, end: int, words: list, *, is_final: bool, speech_final=False, from_finalize=False) -> Event:
        lo = self._final_at / RATE
        for w in words:  # words belong inside the result's [start, start + duration]
            w["start"] = max(w["start"], lo)
            w["end"] = max(w["end"], w["start"])
        ev = Event("results", self._final_at / RATE, end / RATE, words, is_final, speech_final, from_finalize)
        if is_final:
            self._final_at = end
            keep = end / RATE - self.cfg.context_within - 1.0
            self._said = [w for w in self._said if w["end"] > keep] + list(words)
            if words:
                self._last_word_end = max(w["end"] for w in words)
                self._emitted_until = max(self._emitted_until, self._last_word_end)
                self._words_since_ue = True
        return ev

    # -- public ---------------------------------------------------------------------------
    def feed(self, samples: np.ndarray) -> list[Event]:
        """Take the next 16 kHz mono samples; returns the events they cause (may transcribe)."""
        events: list[Event] = []
        if samples.size:
            self._audio = np.concatenate([self._audio, samples.astype(np.float32, copy=False)])
            self._total += samples.size
        cfg = self.cfg
        while self._vad_pos + FRAME <= self._total:
            pos = self._vad_pos
            frame = self._slice(pos, pos + FRAME)
            pcm = (np.clip(frame, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
            voiced = self._vad.is_speech(pcm, RATE)
            self._vad_pos += FRAME
            self._on_frame(pos, voiced, events)
        self._maybe_utterance_end(events)
        # interim results for a growing segment
        if (
            cfg.interim_results
            and self._seg_start is not None
            and self._total - self._last_interim >= cfg.interim_every * RATE
            and self._vad_pos - self._last_voiced < 3 * FRAME  # in a pause a final is likely next: don't delay it
        ):
            self._last_interim = self._total
            words = self._words(self._seg_audio_from, self._total)
            events.append(self._results(self._total, words, is_final=False))
        # long silence: close the silent stretch with an empty final so results keep tiling
        if self._seg_start is None and self._total - self._final_at >= cfg.max_segment * RATE:
            events.append(self._results(self._total, [], is_final=True))
        self._trim()
        return events

    def _on_frame(self, pos: int, voiced: bool, events: list[Event]) -> None:
        cfg = self.cfg
        self._recent = (self._recent + [voiced])[-cfg.start_window :]
        if self._seg_start is None:
            if voiced and sum(self._recent) >= cfg.start_voiced:
                first = pos - (len(self._recent) - 1 - self._recent.index(True)) * FRAME
                self._seg_start = max(first, self._final_at)
                self._seg_audio_from = max(self._base, self._seg_start - int(cfg.preroll * RATE))
                self._last_voiced = pos + FRAME
                self._last_interim = pos + FRAME
                self._voiced_flags = []
                if cfg.vad_events:
                    events.append(Event("speech_started", timestamp=round(self._seg_start / RATE, 3)))
            return
        self._voiced_flags.append((pos, voiced))
        if voiced:
            self._last_voiced = pos + FRAME
            self._ahead = None  # speech went on: words computed in the pause are stale
        end = pos + FRAME
        silence = (end - self._last_voiced) / RATE
        threshold = max(cfg.endpointing if cfg.endpointing is not None else 0.0, cfg.min_silence)
        if silence >= threshold:
            # what follows the pause's first frames is silence too: words computed then still hold
            words = self._ahead if self._ahead is not None else self._words(self._seg_audio_from, end)
            events.append(self._results(end, words, is_final=True, speech_final=cfg.endpointing is not None))
            self._seg_start, self._ahead = None, None
            self._recent = []
        elif (end - self._seg_audio_from) >= cfg.max_segment * RATE:
            cut = self._pause_cut(end)
            words = self._words(self._seg_audio_from, cut)
            events.append(self._results(cut, words, is_final=True))
            self._seg_audio_from = cut
            self._seg_start = max(self._seg_start, cut)
            self._last_interim = end
            self._voiced_flags = [(p, v) for p, v in self._voiced_flags if p >= cut]
            self._ahead = None
        elif self._ahead is None and silence >= cfg.speculate_after:
            # a pause long enough to be the end: transcribe now, while the endpointing silence runs
            self._ahead = self._words(self._seg_audio_from, end)

    def _pause_cut(self, end: int) -> int:
        """The middle of the longest unvoiced run in the segment's second half (else ``end``)."""
        lo = self._seg_audio_from + (end - self._seg_audio_from) // 2
        best, best_len, run_start, run_len = end, 0, None, 0
        for p, v in self._voiced_flags:
            if p < lo:
                continue
            if not v:
                run_start = p if run_len == 0 else run_start
                run_len += 1
                if run_len > best_len:
                    best_len, best = run_len, run_start + run_len * FRAME // 2
            else:
                run_len = 0
        return best

    def _maybe_utterance_end(self, events: list[Event]) -> None:
        gap = self.cfg.utterance_end
        if gap is None or not self._words_since_ue or self._last_word_end is None:
            return
        if self._seg_start is not None and self._seg_start / RATE < self._last_word_end + gap:
            return  # speech resumed before the gap elapsed
        if self.now >= self._last_word_end + gap:
            events.append(Event("utterance_end", timestamp=round(self._last_word_end, 3)))
            self._words_since_ue = False

    def finalize(self, *, from_finalize: bool = True) -> list[Event]:
        """Finalize everything received so far (Finalize message, or the end of the stream)."""
        events: list[Event] = []
        end = self._total
        if self._seg_start is not None:
            words = self._words(self._seg_audio_from, end)
            events.append(self._results(end, words, is_final=True, speech_final=not from_finalize and self.cfg.endpointing is not None, from_finalize=from_finalize))
            self._seg_start, self._ahead = None, None
            self._recent = []
        elif from_finalize or end > self._final_at + FRAME:
            events.append(self._results(end, [], is_final=True, from_finalize=from_finalize))
        self._last_interim = end
        self._trim()
        return events
