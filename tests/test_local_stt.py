"""The local recognizer: Whisper tiny.en on real audio, and its quick mode (a 10 s encoder window)."""
from __future__ import annotations

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
