"""Speaker and sentiment plots: Axes in, Axes out, a clear message when the feature is missing."""
from __future__ import annotations

import copy
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from conftest import RESPONSES, recorded, recorded_json  # noqa: E402
from dgnb import Transcript  # noqa: E402

PREAMBLE = recorded_json("listen-rest/b00dc*-response.json")


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


@recorded
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


@recorded
def test_plots_draw_on_given_axes():
    t = diarized()
    fig, (a, b) = plt.subplots(2)
    assert t.plot.speakers(ax=a) is a
    assert t.plot.sentiment(ax=b) is b
    plt.close(fig)


@recorded
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


@recorded
def test_missing_features_give_a_message_not_a_crash():
    t = Transcript.from_response(PREAMBLE)
    ax = t.plot.speakers()
    assert "diarize=True" in ax.texts[0].get_text()
    ax2 = t.plot.sentiment()
    assert "sentiment=True" in ax2.texts[0].get_text()
    plt.close("all")


# --- extensions: confidence, channel lanes, lanes under sentiment, 10 speakers x 3 h, local engine ---
import io  # noqa: E402

import numpy as np  # noqa: E402


def png(ax) -> bytes:
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png")
    plt.close(ax.figure)
    return buf.getvalue()


def synthetic(n_speakers: int, hours: float, channels: int = 1, speakers: bool = True) -> Transcript:
    """Words every 2 s over ``hours``, speaker turns of ~1 minute rotating over ``n_speakers``."""
    rng = np.random.default_rng(0)
    starts = np.arange(0, hours * 3600, 2.0)
    chans = []
    for c in range(channels):
        words = []
        for i, s in enumerate(starts[c::channels]):
            w = {"word": f"w{i}", "punctuated_word": f"w{i}", "start": float(s), "end": float(s) + 1.2,
                 "confidence": float(rng.uniform(0.3, 1.0))}
            if speakers:
                w["speaker"] = int(s // 60) % n_speakers
            words.append(w)
        chans.append({"alternatives": [{"transcript": "", "words": words}]})
    return Transcript.from_response({"metadata": {"duration": hours * 3600, "channels": channels},
                                     "results": {"channels": chans}})


def test_ten_speakers_over_three_hours_stay_readable():
    t = synthetic(10, 3.0)
    ax = t.plot.speakers()
    ticks = [tick.get_text() for tick in ax.get_yticklabels()]
    assert ticks == [f"speaker {i}" for i in range(10)]
    # every lane looks different: colour, or the same colour hatched
    looks = {(tuple(c.get_facecolor()[0]), c.get_hatch()) for c in ax.collections}
    assert len(looks) == 10
    # time ticks: a handful, at round clock times, reaching 3:00:00
    labels = [ax.xaxis.get_major_formatter()(x, 0) for x in ax.get_xticks() if 0 <= x <= ax.get_xlim()[1]]
    assert 4 <= len(labels) <= 10 and labels[-1] == "3:00:00" and labels[1] == "30:00"
    assert png(ax).startswith(b"\x89PNG")


def test_one_minute_ticks_and_multichannel_lanes_without_speakers():
    t = synthetic(2, 1 / 60, channels=2, speakers=False)
    ax = t.plot.speakers()
    assert [tick.get_text() for tick in ax.get_yticklabels()] == ["channel 0", "channel 1"]
    labels = [ax.xaxis.get_major_formatter()(x, 0) for x in ax.get_xticks() if 0 <= x <= ax.get_xlim()[1]]
    assert labels[-1] == "1:00" and len(labels) <= 10
    colours = [tuple(c.get_facecolor()[0]) for c in ax.collections]
    assert len(set(colours)) == 2
    plt.close(ax.figure)


@recorded
def test_sentiment_with_speaker_lanes_beneath():
    t = diarized()
    ax = t.plot.sentiment(speakers=True)
    lanes = ax.speaker_lanes
    assert lanes in ax.figure.axes and lanes.get_shared_x_axes().joined(ax, lanes)
    assert [tick.get_text() for tick in lanes.get_yticklabels()] == ["speaker 0", "speaker 1"]
    from matplotlib.colors import to_hex

    assert [to_hex(c.get_facecolor()[0]) for c in lanes.collections] == ["#1f77b4", "#d62728"]
    assert t.sentiments["speaker"].tolist() == [0, 1, 0]
    marks = [c for c in ax.collections if (c.get_gid() or "").startswith("speaker")]
    assert [(c.get_gid(), to_hex(c.get_facecolor()[0])) for c in marks] == [
        ("speaker 0", "#1f77b4"), ("speaker 1", "#d62728"), ("speaker 0", "#1f77b4")]
    assert [a.get_text() for a in ax.texts] == ["S0", "S1", "S0"]
    assert png(ax).startswith(b"\x89PNG")
    no_speakers = Transcript.from_response({**diarized().to_dict()})
    assert no_speakers.plot.sentiment(speakers=True) is not None
    plt.close("all")


@recorded
def test_confidence_marks_low_words():
    t = Transcript.from_response(PREAMBLE)
    words = t.words
    ax = t.plot.confidence(threshold=0.95, label=3)
    red = ax.collections[1]
    assert len(red.get_offsets()) == int((words["confidence"] < 0.95).sum()) > 0
    assert len(ax.collections[0].get_offsets()) + len(red.get_offsets()) == len(words)
    worst = words.nsmallest(3, "confidence")["punctuated_word"].tolist()
    assert sorted(a.get_text() for a in ax.texts) == sorted(worst)
    assert "under 0.95" in ax.get_legend().get_texts()[1].get_text()
    empty = Transcript.from_response({"metadata": {}, "results": {"channels": []}}).plot.confidence()
    assert "No words" in empty.texts[0].get_text()
    with pytest.raises(ValueError, match="between 0 and 1"):
        t.plot.confidence(threshold=5)
    plt.close("all")


@pytest.mark.parametrize("path", sorted((RESPONSES / "listen-websocket").glob("*-response.json"))[:2])
@recorded
def test_live_fixtures_plot_with_messages_not_crashes(path):
    t = Transcript.from_response(path)
    for ax in (t.plot.speakers(), t.plot.sentiment(speakers=True), t.plot.confidence()):
        assert png(ax).startswith(b"\x89PNG")


def test_local_engine_transcript(local_server):
    import dgnb
    from dgnb.local.models.samples import dialogue

    with dgnb.Client(api_key=local_server.api_key, url=local_server.url) as dg:
        t = dg.transcribe(dialogue().wav_bytes, diarize=True, sentiment=True, utterances=True, punctuate=True)
    ax = t.plot.speakers()
    assert [tick.get_text() for tick in ax.get_yticklabels()] == ["speaker 0", "speaker 1"]
    from matplotlib.colors import to_hex

    assert [to_hex(c.get_facecolor()[0]) for c in ax.collections] == ["#1f77b4", "#d62728"]
    assert sum(len(c.get_paths()) for c in ax.collections) == len(t.utterances)
    assert png(ax).startswith(b"\x89PNG")
    ax = t.plot.sentiment(speakers=True)
    assert len(t.sentiments) > 0 and ax.get_legend() is not None and hasattr(ax, "speaker_lanes")
    assert png(ax).startswith(b"\x89PNG")
    ax = t.plot.confidence()
    assert len(ax.collections[0].get_offsets()) + len(ax.collections[1].get_offsets()) == len(t.words)
    assert png(ax).startswith(b"\x89PNG")
