"""dgnb.results.transcript.Transcript on real Deepgram replies (../shared/fixtures) and documented shapes."""
from __future__ import annotations

import copy
import doctest
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import REFERENCE, RESPONSES, recorded
from dgnb.results import transcript as transcript_module
from dgnb.results.transcript import Transcript

REST = sorted((RESPONSES / "listen-rest").glob("*-response.json"))
LIVE = sorted((RESPONSES / "listen-websocket").glob("*-response.json"))
FRAMES = ["words", "utterances", "paragraphs", "sentences", "sentiments", "topics", "intents", "entities", "search"]


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def options_of(response_path: Path) -> dict:
    return load(Path(str(response_path).replace("-response.json", "-options.json")))


def audio_of(response_path: Path) -> str:
    return json.loads(Path(str(response_path).replace("-response.json", ".cmd")).read_text())


@pytest.fixture(scope="module")
def listen_example() -> dict:
    examples = json.loads((REFERENCE / "deepgram-api-examples.json").read_text())
    return next(e["response"] for e in examples if e["method"] == "POST" and e["path"] == "/v1/listen")


def assert_typed(t: Transcript) -> None:
    """Every frame has the declared columns, in order, with the declared dtypes."""
    for name in FRAMES:
        df = getattr(t, name)
        spec = Transcript.COLUMNS[name]
        assert list(df.columns[: len(spec)]) == list(spec), name
        for col, dtype in spec.items():
            assert str(df[col].dtype) == dtype, (name, col, df[col].dtype)
        assert set(df.columns[len(spec):]) <= set(Transcript.OPTIONAL.get(name, {})), name


# --- recorded /v1/listen replies ------------------------------------------------------------
@pytest.mark.parametrize("path", REST, ids=lambda p: p.name[:8])
@recorded
def test_rest_fixtures(path):
    raw = load(path)
    t = Transcript.from_response(path)
    assert_typed(t)
    alt = raw["results"]["channels"][0]["alternatives"][0]

    words = t.words
    assert len(words) == 52
    first = words.iloc[0]
    assert (first["word"], first["start"], first["punctuated_word"]) == ("we", 0.32, "We,")
    assert first["confidence"] == alt["words"][0]["confidence"]
    assert words["end"].iloc[-1] == alt["words"][-1]["end"]
    assert (words["channel"] == 0).all() and (words["alternative"] == 0).all()
    assert words["speaker"].isna().all()  # no diarization requested
    assert (words["end"] >= words["start"]).all() and words["start"].is_monotonic_increasing

    assert t.transcript == alt["transcript"]
    assert t.transcript.startswith("We, the people of")
    assert t.transcript.lower().endswith("for the united states of america.")
    assert words["punctuated_word"].str.cat(sep=" ") == t.transcript
    assert t.confidence == alt["confidence"]

    paragraphs, sentences = t.paragraphs, t.sentences
    assert len(paragraphs) == 1 and paragraphs["num_words"].tolist() == [52]
    assert paragraphs["text"].iloc[0] == alt["paragraphs"]["transcript"].strip()
    assert paragraphs["start"].iloc[0] == 0.32
    assert len(sentences) == len(alt["paragraphs"]["paragraphs"][0]["sentences"]) >= 1
    assert sentences["text"].iloc[0].startswith("We, the people")
    assert sentences["paragraph"].tolist() == [0] * len(sentences)

    assert t.duration == 19.097937
    assert t.request_id == raw["metadata"]["request_id"]
    assert t.model == next(iter(raw["metadata"]["model_info"].values()))["name"]
    assert t.speakers == [] and t.channels == 1
    assert t.metadata is raw["metadata"] or t.metadata == raw["metadata"]

    if options_of(path).get("summarize") == "v2":
        assert t.summary == raw["results"]["summary"]["short"]
        assert "more perfect union" in t.summary
    else:
        assert t.summary is None
    for name in ("utterances", "sentiments", "topics", "intents", "entities", "search"):
        assert getattr(t, name).empty, name  # not requested: empty, typed, no KeyError
    assert t.average_sentiment is None


@recorded
def test_summarize_cases_are_present():
    assert sum(options_of(p).get("summarize") == "v2" for p in REST) == 2


@pytest.mark.parametrize("path", LIVE, ids=lambda p: p.name[:8] + "-" + p.name[65:73])
@recorded
def test_live_fixtures(path):
    message = load(path)
    alt = message["channel"]["alternatives"][0]
    for t in (Transcript.from_live([message]), Transcript.from_response(path), Transcript.from_response(message)):
        assert_typed(t)
        assert len(t.words) == len(alt["words"])
        assert t.transcript == alt["transcript"]
        assert t.request_id == message["metadata"]["request_id"]
        assert t.model == message["metadata"]["model_info"]["name"]
        assert t.duration == pytest.approx(message["start"] + message["duration"])
        assert t.words["start"].tolist() == [w["start"] for w in alt["words"]]
        assert t.words["punctuated_word"].tolist() == [w["punctuated_word"] for w in alt["words"]]
    if audio_of(path) == "preamble-websocket.wav" and alt["words"]:
        assert t.words["start"].iloc[0] > 5  # a message from the middle of the stream keeps stream times


@recorded
def test_from_live_joins_a_stream_and_skips_other_messages():
    """The real final messages, as one stream: interim results and events in between are ignored."""
    finals = [load(p) for p in LIVE]
    finals.sort(key=lambda m: m["start"])
    interim = copy.deepcopy(finals[-1])
    interim["is_final"] = False
    interim["channel"]["alternatives"][0]["transcript"] = "INTERIM"
    stream = [{"type": "SpeechStarted", "channel": [0], "timestamp": 0.1}]
    for m in finals:
        stream += [interim, json.dumps(m), {"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": 1.0}]
    t = Transcript.from_live(stream)
    expected_words = [w for m in finals for w in m["channel"]["alternatives"][0]["words"]]
    texts = [m["channel"]["alternatives"][0]["transcript"] for m in finals]
    assert len(t.words) == len(expected_words) == 13
    assert t.words["word"].tolist() == [w["word"] for w in expected_words]
    assert t.words["start"].is_monotonic_increasing
    assert t.transcript == " ".join(x for x in texts if x)
    assert "INTERIM" not in t.transcript
    assert t.duration == pytest.approx(max(m["start"] + m["duration"] for m in finals))
    assert t.request_id == finals[0]["metadata"]["request_id"]
    # A saved list of messages (JSON text or file) goes through from_response too.
    assert Transcript.from_response(json.dumps(finals)).words["word"].tolist() == t.words["word"].tolist()
    # Out-of-order arrival is put back in time order.
    assert Transcript.from_live(list(reversed(stream))).words["word"].tolist() == t.words["word"].tolist()


@recorded
def test_from_live_uses_metadata_message_and_channels():
    message = load(LIVE[0])
    second = copy.deepcopy(message)
    second["channel_index"] = [1, 2]
    message = dict(message, channel_index=[0, 2])
    metadata = {"type": "Metadata", "transaction_key": "deprecated", "request_id": "req-1", "sha256": "ab",
                "created": "2025-01-01T00:00:00.000Z", "duration": 20.5, "channels": 2}
    t = Transcript.from_live([message, second, json.dumps(metadata).encode()])
    assert t.channels == 2 and t.request_id == "req-1" and t.duration == 20.5
    assert t.metadata["created"] == "2025-01-01T00:00:00.000Z"
    n = len(message["channel"]["alternatives"][0]["words"])
    assert t.words.groupby("channel").size().to_dict() == {0: n, 1: n}
    assert t.to_dict()["results"]["channels"][1]["alternatives"][0]["transcript"] == t.transcript


@recorded
def test_from_live_entities_are_shifted_to_stream_word_indices():
    first, second = (load(p) for p in LIVE[:2])
    second = dict(second, start=first["start"] + first["duration"],
                  entities=[{"label": "CARDINAL", "value": "1", "raw_value": "one", "confidence": 0.9,
                             "start_word": 0, "end_word": 1}])
    t = Transcript.from_live([first, second])
    n_first = len(first["channel"]["alternatives"][0]["words"])
    entities = t.entities
    assert len(entities) == 1 and entities["start_word"].tolist() == [n_first]
    assert entities["start"].iloc[0] == t.words["start"].iloc[n_first]


def test_from_live_official_sdk_messages():
    from deepgram.listen.v1 import ListenV1Results

    messages = [ListenV1Results.model_validate(load(p)) for p in LIVE]
    t = Transcript.from_live(messages)
    assert len(t.words) == sum(len(load(p)["channel"]["alternatives"][0]["words"]) for p in LIVE)


def test_from_live_with_no_finals_is_empty():
    t = Transcript.from_live([])
    assert t.transcript == "" and t.words.empty and t.duration == 0.0 and t.request_id is None
    assert_typed(t)


# --- input forms ------------------------------------------------------------------------------
@recorded
def test_from_response_every_input_form_and_round_trip():
    path = REST[0]
    raw = load(path)
    forms = {
        "dict": raw, "json text": path.read_text(), "str path": str(path), "Path": path,
        "bytes": path.read_bytes(), "bytearray": bytearray(path.read_bytes()),
    }
    for label, source in forms.items():
        t = Transcript.from_response(source)
        assert t.to_dict() == raw, label
        assert len(t.words) == 52 and t.words["word"].iloc[0] == "we", label
    assert Transcript.from_response(raw).to_dict() is raw  # same object, not a copy
    before = copy.deepcopy(raw)
    t = Transcript.from_response(raw)
    for name in FRAMES:
        getattr(t, name)
    t._repr_html_()
    assert raw == before  # building frames never mutates the response


def test_from_response_official_sdk_object():
    from deepgram import ListenV1Response

    for path in REST:
        raw = load(path)
        sdk = ListenV1Response.model_validate(raw)
        t = Transcript.from_response(sdk)
        plain = Transcript.from_response(raw)
        pd.testing.assert_frame_equal(t.words, plain.words)
        pd.testing.assert_frame_equal(t.paragraphs, plain.paragraphs)
        assert (t.summary, t.transcript, t.model, t.duration, t.request_id) == \
               (plain.summary, plain.transcript, plain.model, plain.duration, plain.request_id)
        assert json.dumps(t.to_dict())  # JSON-ready: the SDK's datetimes come back as text
        assert t.to_dict()["results"] == raw["results"]


@recorded
def test_listen_example_with_audio_intelligence(listen_example):
    """The documented /v1/listen example: utterances, sentiments, topics, intents, summary."""
    t = Transcript.from_response(listen_example)
    assert_typed(t)
    assert t.words.empty and t.transcript == ""  # the example's channel is {}
    assert len(t.utterances) == 1
    assert (len(t.sentiments), len(t.topics), len(t.intents)) == (1, 1, 1)
    s = t.sentiments.iloc[0]
    assert (s["sentiment"], s["sentiment_score"], s["start_word"], s["end_word"]) == ("positive", 0.5810546875, 0, 69)
    assert np.isnan(s["start"])  # no words to place the segment in time
    topic = t.topics.iloc[0]
    assert (topic["topic"], topic["confidence_score"], topic["start_word"]) == ("Spacewalk", 0.91581345, 32)
    intent = t.intents.iloc[0]
    assert (intent["intent"], intent["end_word"]) == ("Encourage podcasting", 414)
    assert t.summary.startswith("Speaker 0 discusses the significance of the first all-female spacewalk")
    assert t.average_sentiment == {"sentiment": "positive", "sentiment_score": 0.5810185185185185}
    assert t.model == "2-general-nova" and t.duration == 25.933313
    page = t._repr_html_()
    assert "all-female spacewalk" in page and "(no speech)" in page  # the example's utterance is {}
    # The official SDK flattens topics/intents to {"segments": [...]}: same rows.
    from deepgram import ListenV1Response

    via_sdk = Transcript.from_response(ListenV1Response.model_validate(listen_example))
    for name in ("sentiments", "topics", "intents"):
        pd.testing.assert_frame_equal(getattr(via_sdk, name), getattr(t, name))


@recorded
def test_read_response_summary():
    path = next((RESPONSES / "read").glob("*-response.json"))
    t = Transcript.from_response(path)
    assert t.summary == load(path)["results"]["summary"]["text"]
    assert t.words.empty and t.duration is None and t.request_id == load(path)["metadata"]["request_id"]


@pytest.mark.parametrize("bad, error, message", [
    (42, TypeError, "got int"),
    ("{not json", ValueError, "not valid JSON"),
    (b"\xff\xfe", ValueError, "not valid JSON"),
    ("no/such/file.json", FileNotFoundError, "no such response file"),
    ('{"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials."}', ValueError, "INVALID_AUTH: Invalid credentials"),
    ({"hello": 1}, ValueError, "expected 'metadata' and 'results'"),
    ({"results": []}, ValueError, "'results' must be a JSON object"),
])
def test_bad_input_is_a_clear_error(bad, error, message):
    with pytest.raises(error, match=message):
        Transcript.from_response(bad)


def test_from_live_bad_input():
    with pytest.raises(TypeError, match="list of live messages"):
        Transcript.from_live('{"type": "Results"}')
    with pytest.raises(ValueError, match="live message 1 is a JSON list"):
        Transcript.from_live([{}, "[1, 2]"])


# --- features by their documented shapes ---------------------------------------------------------
def diarized_response() -> dict:
    """The real preamble words, split between two speakers, with the optional features filled in."""
    raw = copy.deepcopy(load(REST[0]))
    alt = raw["results"]["channels"][0]["alternatives"][0]
    words = alt["words"]
    for i, w in enumerate(words):
        w["speaker"], w["speaker_confidence"] = (0 if i < 26 else 1), 0.75
        w["language"] = "en"
    alt["paragraphs"]["paragraphs"][0]["speaker"] = 0
    alt["entities"] = [{"label": "LOCATION", "value": "United States", "raw_value": "united states",
                        "confidence": 0.99, "start_word": 5, "end_word": 6}]
    alt["summaries"] = [{"summary": "Part one.", "start_word": 0, "end_word": 25},
                        {"summary": "Part two.", "start_word": 26, "end_word": 51}]
    raw["results"]["channels"][0]["search"] = [
        {"query": "union", "hits": [{"confidence": 1.0, "start": 3.2, "end": 3.6, "snippet": "perfect union"}]},
        {"query": "nothing", "hits": []}]
    raw["results"]["utterances"] = [
        {"start": words[0]["start"], "end": words[25]["end"], "confidence": 0.9, "channel": 0,
         "transcript": "<b>We</b> & the people", "words": words[:26], "speaker": 0, "id": "u1"},
        {"start": words[26]["start"], "end": words[51]["end"], "confidence": 0.8, "channel": 0,
         "transcript": " ".join(w["punctuated_word"] for w in words[26:]), "words": words[26:], "speaker": 1,
         "id": "u2"}]
    raw["results"]["sentiments"] = {"segments": [{"text": "x", "start_word": 0, "end_word": 51,
                                                  "sentiment": "neutral", "sentiment_score": 0.1}]}
    raw["results"].pop("summary", None)
    return raw


@recorded
def test_diarized_and_optional_features():
    raw = diarized_response()
    words = raw["results"]["channels"][0]["alternatives"][0]["words"]
    t = Transcript(raw)
    assert_typed(t)
    assert t.speakers == [0, 1]
    assert t.words["speaker"].tolist() == [0] * 26 + [1] * 26
    assert "language" in t.words.columns and str(t.words["language"].dtype) == "string"
    assert t.utterances["id"].tolist() == ["u1", "u2"] and t.utterances["num_words"].tolist() == [26, 26]
    assert t.utterances["speaker"].tolist() == [0, 1]
    assert t.paragraphs["speaker"].tolist() == [0] and t.sentences["speaker"].iloc[0] == 0
    e = t.entities.iloc[0]
    assert (e["label"], e["start"], e["end"]) == ("LOCATION", words[5]["start"], words[6]["end"])
    assert t.search[["query", "snippet", "start"]].values.tolist() == [["union", "perfect union", 3.2]]
    s = t.sentiments.iloc[0]
    assert (s["start"], s["end"]) == (0.32, words[51]["end"])  # word indices placed in time
    assert t.summary == "Part one. Part two."  # summarize=v1 per-alternative summaries


@recorded
def test_multichannel_and_alternatives():
    raw = copy.deepcopy(load(REST[0]))
    channel = raw["results"]["channels"][0]
    channel["alternatives"].append(copy.deepcopy(channel["alternatives"][0]))
    raw["results"]["channels"].append(copy.deepcopy(channel))
    t = Transcript(raw)
    counts = t.words.groupby(["channel", "alternative"]).size().to_dict()
    assert counts == {(0, 0): 52, (0, 1): 52, (1, 0): 52, (1, 1): 52}
    assert len(t.paragraphs) == 4 and len(t.sentences) == 4
    assert t.channels == 2 and "2 channels" in t._repr_html_()


@recorded
def test_older_per_alternative_topics():
    raw = copy.deepcopy(load(REST[0]))
    raw["results"]["channels"][0]["alternatives"][0]["topics"] = [
        {"text": "We the people", "start_word": 0, "end_word": 2, "topics": ["constitution", "law"]}]
    topics = Transcript(raw).topics
    assert topics["topic"].tolist() == ["constitution", "law"]
    assert topics["confidence_score"].isna().all() and topics["start"].tolist() == [0.32, 0.32]


@recorded
def test_frames_are_cached_but_safe_to_modify():
    t = Transcript.from_response(REST[0])
    df = t.words
    df["extra"] = 1
    df.loc[0, "word"] = "changed"
    assert "extra" not in t.words.columns and t.words["word"].iloc[0] == "we"


# --- display ----------------------------------------------------------------------------------
@recorded
def test_repr_html_escapes_and_shows_speakers():
    t = Transcript(diarized_response())
    page = t._repr_html_()
    assert "<b>We</b>" not in page and "&lt;b&gt;We&lt;/b&gt; &amp; the people" in page
    assert "2 speakers" in page and "Speaker 0" in page and "Speaker 1" in page
    assert "52 words" in page and "general-nova-3" in page and "0:19.1" in page
    assert page.count("color:#1f77b4") == 1 and page.count("color:#d62728") == 1  # one colour per speaker


@recorded
def test_repr_html_preview_without_utterances():
    t = Transcript.from_response(REST[1])
    page = t._repr_html_()
    assert "We, the people of the United States" in page and "no speaker labels" in page
    assert "more perfect union" in Transcript.from_response(REST[0])._repr_html_()  # summary shown
    raw = diarized_response()
    raw["results"].pop("utterances")
    raw["results"]["channels"][0]["alternatives"][0].pop("paragraphs")
    page = Transcript(raw)._repr_html_()  # speaker runs of the words
    assert "Speaker 0" in page and "Speaker 1" in page
    assert "(no speech)" in Transcript.from_live([])._repr_html_()


@recorded
def test_repr_html_truncates_long_transcripts():
    raw = diarized_response()
    u = raw["results"]["utterances"]
    raw["results"]["utterances"] = [dict(u[i % 2], id=str(i)) for i in range(20)]
    page = Transcript(raw)._repr_html_()
    assert page.count("Speaker ") == 6 and "14 more" in page


@recorded
def test_repr():
    text = repr(Transcript.from_response(REST[0]))
    assert text.startswith("<Transcript 19.1 s, 52 words, model general-nova-3")
    assert len(text) < 200


# --- module hygiene -----------------------------------------------------------------------------
def test_import_stays_light():
    code = ("import sys, dgnb.results.transcript; heavy = [m for m in ('matplotlib', 'ipywidgets', 'pydub') "
            "if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parent.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_doctests():
    assert doctest.testmod(transcript_module).failed == 0


@recorded
def test_no_pandas_until_a_dataframe_is_asked_for():
    """A Transcript's text, duration, card and captions read the response as it is: pandas (0.3 s to import)
    and numpy are imported by the first DataFrame only, so a script's first transcript comes sooner."""
    path = sorted((RESPONSES / "listen-rest").glob("*-response.json"))[0]
    code = (
        "import json, sys\n"
        "from dgnb.results.transcript import Transcript\n"
        f"t = Transcript.from_response(json.load(open({str(path)!r})))\n"
        "seen = [t.transcript, t.duration, t.summary, t.confidence, t.speakers, repr(t), t._repr_html_(), t.to_webvtt(), t.to_srt()]\n"
        "print('pandas' in sys.modules, 'numpy' in sys.modules, bool(seen[0]))\n"
        "t.words\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "True", "True"]
