"""The diarization development set: built the same way every time, with references that match its audio."""
import numpy as np
import pytest

import diarize_set
from conftest import recorded

pytestmark = [recorded, pytest.mark.skipif(diarize_set.missing_sources() != [], reason="voices not installed: "
                                           "apt-get install codec2-examples pocketsphinx-testdata")]


def test_every_voice_has_utterances_of_usable_length():
    for voice in diarize_set.VOICES:
        us = diarize_set.utterances(voice)
        assert us, voice
        for audio, regions in us:
            assert 0.5 <= len(audio) / diarize_set.RATE <= 4.5, voice
            assert all(0 <= a < b <= len(audio) / diarize_set.RATE + 1e-3 for a, b in regions), voice


def test_the_same_seed_builds_the_same_conversation_and_another_seed_another():
    plan = [(("librivox", "david"), True, True)]
    a, = diarize_set.conversations(0, plan)
    b, = diarize_set.conversations(0, plan)
    c, = diarize_set.conversations(1, plan)
    assert np.array_equal(a.audio, b.audio) and a.reference == b.reference
    assert a.reference != c.reference


def test_the_reference_points_at_the_voices_speech():
    for conv in diarize_set.conversations(0, diarize_set.PLAN[:6]):
        assert {who for _, _, who in conv.reference} == set(conv.name.split()[1].split("+"))
        rms = lambda s, e: float(np.sqrt(np.mean(conv.audio[int(s * 16000):int(e * 16000)] ** 2)))  # noqa: E731
        speech = [rms(s, e) for s, e, _ in conv.reference]
        gaps = [rms(e, s2) for (_, e, _), (s2, _, _) in zip(conv.reference, conv.reference[1:]) if s2 - e > 0.3]
        assert min(speech) > 5 * max(gaps, default=0.0), conv.name
        assert conv.reference[-1][1] <= conv.duration
