"""Speaker and sentiment plots: Axes in, Axes out, a clear message when the feature is missing."""
from __future__ import annotations

import copy
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from conftest import RESPONSES  # noqa: E402
from dgnb import Transcript  # noqa: E402

PREAMBLE = json.loads(next((RESPONSES / "listen-rest").glob("b00dc*-response.json")).read_text())


def diarized() -> Transcript:
    """The real preamble words, split between two speakers at word 20 and 40, with sentiment segments."""
    response = copy.deepcopy(PREAMBLE)
    words = response["results"]["channels"][0]["alternatives"][0]["words"]
    for i, w in enumerate(words):
        w["speaker"] = 0 if i < 20 or i >= 40 else 1
    response["results"]["sentiments"] = {
        "segments": [
            {"text": "a", "start_word": 0, "end_word": 19, "sentiment": "positive", "sentiment_score": 0.6},
            {"text": "b", "start_word": 20, "end_word": 39, "sentiment": "negative", "sentiment_score": -0.5},
            {"text": "c", "start_word": 40, "end_word": 51, "sentiment": "neutral", "sentiment_score": 0.1},
        ],
        "average": {"sentiment": "neutral", "sentiment_score": 0.07},
    }
    return Transcript.from_response(response)


def test_speaker_lanes_and_talk_share():
    t = diarized()
    ax = t.plot.speakers()
    assert [tick.get_text() for tick in ax.get_yticklabels()] == ["speaker 0", "speaker 1"]
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert len(labels) == 2 and all("% of talk" in label for label in labels)
    assert len(ax.collections) == 2  # one broken_barh per lane
    bars = ax.collections[1].get_paths()
    assert len(bars) == 1  # speaker 1 spoke once (words 20-39)
    plt.close(ax.figure)


def test_plots_draw_on_given_axes():
    t = diarized()
    fig, (a, b) = plt.subplots(2)
    assert t.plot.speakers(ax=a) is a
    assert t.plot.sentiment(ax=b) is b
    plt.close(fig)


def test_sentiment_segments_coloured_by_score_with_average():
    t = diarized()
    ax = t.plot.sentiment()
    assert ax.get_ylim() == pytest.approx((-1.05, 1.05))
    legend = ax.get_legend().get_texts()[0].get_text()
    assert "average: neutral" in legend and "+0.07" in legend
    # positive segment is drawn in a green-ish colour, negative in a red-ish one
    fills = [c for c in ax.collections if c.get_array() is None][:3]
    pos, neg = fills[0].get_facecolor()[0], fills[1].get_facecolor()[0]
    assert pos[1] > pos[0] and neg[0] > neg[1]
    plt.close(ax.figure)


def test_missing_features_give_a_message_not_a_crash():
    t = Transcript.from_response(PREAMBLE)
    ax = t.plot.speakers()
    assert "diarize=True" in ax.texts[0].get_text()
    ax2 = t.plot.sentiment()
    assert "sentiment=True" in ax2.texts[0].get_text()
    plt.close("all")
