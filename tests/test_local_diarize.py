"""Diarization on real and synthetic audio: speaker count and share of speech time labelled right."""
import numpy as np
import pytest
from conftest import AUDIO, recorded

from dgnb.local.models.diarize import diarize, segment_speakers, speech_segments
from dgnb.local.models.samples import dialogue


def load16k(path) -> np.ndarray:
    import av

    out = []
    with av.open(str(path)) as c:
        rs = av.AudioResampler(format="s16", layout="mono", rate=16000)
        for frame in c.decode(audio=0):
            out += [f.to_ndarray().reshape(-1) for f in rs.resample(frame)]
        out += [f.to_ndarray().reshape(-1) for f in rs.resample(None)]
    return np.concatenate(out).astype(np.float32) / 32768.0


def to16k(x, sr):
    from scipy.signal import resample_poly

    g = np.gcd(16000, sr)
    return resample_poly(x, 16000 // g, sr // g).astype(np.float32)


@pytest.fixture(scope="module")
def dlg():
    d = dialogue()
    return d, to16k(d.samples, d.sample_rate)


def speech_time_accuracy(turns, truth_turns, duration):
    """Share of the true speech time whose predicted speaker is right (best label mapping)."""
    grid = np.arange(0, duration, 0.01)
    names = sorted({t[0] for t in truth_turns})
    truth = np.full(len(grid), -1)
    pred = np.full(len(grid), -1)
    for spk, _, a, b in truth_turns:
        truth[(grid >= a) & (grid < b)] = names.index(spk)
    for t in turns:
        pred[(grid >= t.start) & (grid < t.end)] = t.speaker
    sel = truth >= 0
    return max(np.mean(pred[sel] == truth[sel]), np.mean(pred[sel] == 1 - truth[sel]))


def test_two_voice_dialogue_speech_time_accuracy(dlg):
    d, x = dlg
    turns = segment_speakers(x)
    assert {t.speaker for t in turns} == {0, 1}
    assert speech_time_accuracy(turns, d.turns, len(x) / 16000) >= 0.95
    assert all(0.0 <= t.confidence <= 1.0 for t in turns)


@recorded
def test_real_phone_call_has_exactly_two_speakers():
    turns = segment_speakers(load16k(AUDIO / "CallCenterPhoneCall.mp3"))
    assert {t.speaker for t in turns} == {0, 1}
    assert turns[0].speaker == 0  # numbered in order of appearance


@pytest.mark.parametrize("name", ["preamble.wav", "preamble-websocket.wav", "testing-websocket.wav"])
@recorded
def test_single_reader_is_one_speaker(name):
    x = load16k(AUDIO / name)
    words = [{"word": "w", "start": s, "end": e, "confidence": 1.0, "punctuated_word": "w"}
             for s, e in speech_segments(x)]
    assert diarize(x, words) == 1
    assert {w["speaker"] for w in words} == {0}


def test_speech_segments_find_the_turns(dlg):
    d, x = dlg
    segs = speech_segments(x)
    for _, _, a, b in d.turns:  # every turn is mostly covered by detected speech
        cover = sum(max(0.0, min(b, e) - max(a, s)) for s, e in segs)
        assert cover >= 0.85 * (b - a)
    assert speech_segments(np.zeros(16000, dtype=np.float32)) == []


def test_words_from_the_real_recognizer_get_the_right_speaker(dlg):
    from dgnb.local.models.stt import get_recognizer

    d, x = dlg
    words = get_recognizer().transcribe(x)
    assert len(words) > 50
    n = diarize(x, words)
    assert n == 2
    truth = []
    for w in words:
        mid = (w["start"] + w["end"]) / 2
        turn = min(d.turns, key=lambda t: 0 if t[2] <= mid <= t[3] else min(abs(mid - t[2]), abs(mid - t[3])))
        truth.append(0 if turn[0] == d.turns[0][0] else 1)
    pred = [w["speaker"] for w in words]
    acc = max(np.mean(np.array(pred) == truth), np.mean(np.array(pred) != truth))
    assert acc >= 0.95
    assert all(0.0 <= w["speaker_confidence"] <= 1.0 for w in words)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="mono"):
        diarize(np.zeros((2, 16000), dtype=np.float32), [])
    with pytest.raises(ValueError, match="float"):
        diarize(np.zeros(16000, dtype=np.int16), [])
