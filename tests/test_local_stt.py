"""The local recognizer: Whisper tiny.en on real audio, and its quick mode (a 10 s encoder window)."""
from __future__ import annotations

import contextlib
import threading

import pytest

import bench_stt_window  # its corpus and measurement, on a smaller corpus
from conftest import recorded
from dgnb.local.models import stt


def assert_examples_hold(function) -> None:
    """The examples of ``function``'s docstring give what they say."""
    import doctest

    runner = doctest.DocTestRunner()
    for test in doctest.DocTestFinder().find(function, globs={function.__name__: function, "np": __import__("numpy")}):
        runner.run(test)
    results = runner.summarize(verbose=False)
    assert results.attempted > 0 and results.failed == 0, results


def test_encoder_window_keeps_three_seconds_of_padding():
    rate = 16000
    assert stt.encoder_window(rate * 1) == 1000
    assert stt.encoder_window(rate * 7) == 1000
    assert stt.encoder_window(rate * 7 + rate // 10) == 3000
    assert stt.encoder_window(rate * 600) == 3000


@pytest.fixture(scope="module")
def clips():
    return bench_stt_window.corpus(dialogues=1)


@pytest.mark.slow
@recorded
def test_quick_reads_short_clips_nearly_as_well(clips):
    """The preamble's phrases and a dialogue's turns read nearly as well in 10 s as in 30 s."""
    assert stt.encoder_window(min(c.size for c, _ in clips)) == 1000
    full = bench_stt_window.measure(clips, quick=False)
    quick = bench_stt_window.measure(clips, quick=True)
    assert 0 < full.wer < 0.25
    assert quick.wer <= full.wer + 0.03, (quick.wer, full.wer)


@recorded
def test_offsets_place_words_inside_the_clip(clips):
    rec = stt.get_recognizer()
    for clip, _ in clips[:3]:
        for quick in (True, False):
            words = rec.transcribe(clip, offset=12.5, quick=quick)
            assert words
            assert all(12.5 <= w["start"] <= w["end"] <= 12.5 + clip.size / 16000 + 0.01 for w in words)
            assert [w["start"] for w in words] == sorted(w["start"] for w in words)


def test_words_squeezed_into_one_instant_are_dropped():
    assert_examples_hold(stt.without_timeless_runs)
    w = lambda text, t, d=0.3: {"word": text, "start": t, "end": t + d}  # noqa: E731
    two = [w("okay", 1.0), w("okay", 1.0, 0)]  # two words may share an instant (a short word, then its echo)
    assert stt.without_timeless_runs(two) == two
    loop = [w("you", 9.0, 0)] * 12
    assert stt.without_timeless_runs([w("thank", 8.0), *loop]) == [w("thank", 8.0)]


def test_an_ending_whisper_barely_believes_is_dropped():
    from types import SimpleNamespace as W

    raw = [W(word=" America.", start=1.0, end=1.4, probability=0.98), W(word=" Okay.", start=1.4, end=1.5, probability=0.01)]
    assert [w["word"] for w in stt._to_words(raw, 0.0, 2.0)] == ["america"]
    raw[1].start, raw[1].end = 0.2, 0.5  # an unsure word before others stays: it was heard
    raw.reverse()
    assert [w["word"] for w in stt._to_words(raw, 0.0, 2.0)] == ["okay", "america"]


def test_a_word_ends_with_one_punctuation_mark():
    """Whisper's runs of dots after a fading phrase ("welcome.............") read as Deepgram writes them."""
    from types import SimpleNamespace as W

    assert_examples_hold(stt.one_mark)
    raw = [W(word=" very", start=0.0, end=0.3, probability=0.9), W(word=" welcome...", start=0.3, end=0.8, probability=0.9)]
    raw += [W(word="...", start=0.8, end=0.8, probability=0.5) for _ in range(10)]
    assert [w["punctuated_word"] for w in stt._to_words(raw, 0.0, 2.0)] == ["very", "welcome."]


def test_spans_group_clips_and_keep_real_audio_either_side():
    assert_examples_hold(stt.decode_spans)
    assert stt.decode_spans([], 16000, 300) == []
    # a clip longer than the span is a span of its own, clipped to the audio
    assert stt.decode_spans([0.0, 400.0, 401.0, 402.0], 16000 * 402, 300) == [
        (0, 6408000, [0.0, 400.0]), (6408000, 16000 * 402, [0.5, 1.5])]


@pytest.mark.slow
@recorded
def test_reading_a_long_file_a_span_at_a_time_gives_the_same_words(clips, monkeypatch):
    """Phrases 4 s apart, read in spans of 10 s (the engine's are 300 s), give the words read in one, at
    the same times. Whisper scales its features to the loudest frame it is given, so a span may read
    a word or two differently (measured: 2 of 41), never more or fewer words."""
    import jiwer

    import numpy as np

    gap = np.zeros(4 * 16000, np.float32)
    audio = np.concatenate([piece for clip, _ in clips[:6] for piece in (clip, gap)])
    rec = stt.get_recognizer()
    whole = rec.transcribe(audio)
    monkeypatch.setattr(stt, "DECODE_SPAN", 10)
    assert len(stt.decode_spans(stt.speech_clips(audio), audio.size, stt.DECODE_SPAN)) >= 3
    spanned = rec.transcribe(audio)
    assert len(spanned) == len(whole)
    assert jiwer.wer(" ".join(w["word"] for w in whole), " ".join(w["word"] for w in spanned)) <= 0.1
    assert max(abs(a["start"] - b["start"]) for a, b in zip(spanned, whole)) < 0.05


class _SeenWaiting(threading.Condition):
    """A Condition that tells when ``expected`` threads are waiting on it."""

    def __init__(self, expected: int):
        super().__init__()
        self.waiting, self.expected, self.all_waiting = 0, expected, threading.Event()

    def wait_for(self, predicate, timeout=None):
        if not predicate():
            self.waiting += 1
            if self.waiting >= self.expected:
                self.all_waiting.set()
        return super().wait_for(predicate, timeout)


def test_a_live_read_takes_the_model_before_the_next_piece_of_a_prerecorded_one():
    turns, order = stt.Turns(), []
    turns._cond = _SeenWaiting(expected=2)

    def read(quick: bool) -> None:
        with turns(quick=quick):
            order.append("live" if quick else "pre-recorded")

    with turns(quick=False):  # a pre-recorded read has the model
        readers = [threading.Thread(target=read, args=(q,)) for q in (False, True)]  # its next piece first
        for r in readers:
            r.start()
        assert turns._cond.all_waiting.wait(10)
    for r in readers:
        r.join(10)
    assert order == ["live", "pre-recorded"]


@recorded
def test_a_live_phrase_is_read_while_a_long_recording_is_being_read(clips):
    """The recogniser is shared: a live phrase waits for one piece of a pre-recorded read, not for all of it."""
    import numpy as np

    rec = stt.get_recognizer()
    long = np.concatenate([clip for clip, _ in clips] * 3)
    assert long.size > 100 * 16000  # several 30 s windows
    turns, started = rec._turn, threading.Event()
    pieces = []

    def counting(quick: bool):
        if not quick:
            pieces.append(1)
            if len(pieces) == 2:  # the features are made and the first window is being decoded
                started.set()
        return turns(quick)

    rec._turn = counting
    try:
        reader = threading.Thread(target=rec.transcribe, args=(long,))
        reader.start()
        assert started.wait(60)
        words = rec.transcribe(clips[0][0], quick=True)
        assert words and reader.is_alive()
        reader.join(300)
    finally:
        rec._turn = turns
    assert len(pieces) > 4


def test_readers_share_the_workers_and_a_waiting_live_read_takes_the_first_free_one():
    turns, order = stt.Turns(slots=2), []
    both_inside = threading.Barrier(3, timeout=10)  # broken (an error) unless two readers hold turns at once
    release = [threading.Event(), threading.Event()]

    def hold(i: int) -> None:
        with turns(quick=False):
            both_inside.wait()
            release[i].wait(10)

    live_inside, live_done = threading.Event(), threading.Event()

    def read(quick: bool) -> None:
        with turns(quick=quick):
            order.append("live" if quick else "pre-recorded")
            if quick:
                live_inside.set()
                live_done.wait(10)

    holders = [threading.Thread(target=hold, args=(i,)) for i in range(2)]
    for h in holders:
        h.start()
    both_inside.wait()  # every worker is busy
    turns._cond = _SeenWaiting(expected=2)
    readers = [threading.Thread(target=read, args=(q,)) for q in (False, True)]
    for r in readers:
        r.start()
    assert turns._cond.all_waiting.wait(10)
    release[0].set()  # one worker frees: the live read has it, the pre-recorded one waits for the next
    assert live_inside.wait(10)
    assert order == ["live"] and turns.busy == 2
    live_done.set()
    release[1].set()
    for t in holders + readers:
        t.join(10)
    assert order == ["live", "pre-recorded"]


@recorded
def test_two_workers_read_at_once_each_with_its_own_window(clips):
    """A live read (10 s window) and a piece of a pre-recorded one (30 s window) decoded at the same time
    read what each reads alone: the encoder window belongs to the reading thread."""
    rec = stt.get_recognizer(workers=2)
    assert rec.workers == 2 and rec._turn.slots == 2
    (live, _), (recorded_clip, _) = clips[0], clips[1]
    alone = [rec.transcribe(live, quick=True), rec.transcribe(recorded_clip)]
    together: list = [None, None]
    meet = threading.Barrier(2, timeout=60)
    turns, taken = rec._turn, {True: 0, False: 0}

    @contextlib.contextmanager
    def meeting(quick: bool):
        # the live read's one turn and the pre-recorded read's second (its first piece, after the features)
        # are held at once
        with turns(quick):
            taken[quick] += 1
            if taken[quick] == (1 if quick else 2):
                meet.wait()
            yield

    rec._turn = meeting
    try:
        readers = [threading.Thread(target=lambda: together.__setitem__(0, rec.transcribe(live, quick=True))),
                   threading.Thread(target=lambda: together.__setitem__(1, rec.transcribe(recorded_clip)))]
        for r in readers:
            r.start()
        for r in readers:
            r.join(120)
    finally:
        rec._turn = turns
    assert taken[True] == 1 and taken[False] >= 2 and not meet.broken
    assert [[w["word"] for w in ws] for ws in together] == [[w["word"] for w in ws] for ws in alone]
