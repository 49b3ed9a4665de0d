"""Captions equal deepgram-captions 2.0 cue by cue on every listen fixture and on local-engine
transcripts (diarized, with utterances); times past 24 h keep counting; bad input gives clear errors."""
from __future__ import annotations

import copy
import json
import re

import pytest

from conftest import RESPONSES, recorded
from dgnb import Transcript, captions

deepgram_captions = pytest.importorskip("deepgram_captions")

LISTEN_FIXTURES = sorted((RESPONSES / "listen-rest").glob("*-response.json")) + sorted(
    (RESPONSES / "listen-websocket").glob("*-response.json"))
CUE = re.compile(r"(\d\d+:\d\d:\d\d[.,]\d{3}) --> (\d\d+:\d\d:\d\d[.,]\d{3})\n(.*?)\n\n", re.S)


def parse(document: str) -> list[tuple[str, str, str]]:
    """(start, end, text) of every cue of a WebVTT or SRT document."""
    return CUE.findall(document if document.endswith("\n\n") else document + "\n")


def response_dict(path) -> dict:
    """A response dict as deepgram-captions takes it (live messages turned into a response)."""
    return Transcript.from_response(json.loads(path.read_text())).to_dict()


def theirs(response: dict, kind: str, **kw) -> str:
    converter = deepgram_captions.DeepgramConverter(copy.deepcopy(response))
    return getattr(deepgram_captions, kind)(converter, **kw)


@pytest.fixture(scope="module")
def local_transcript(local_server):
    """A diarized local-engine transcript of the two-voice sample dialogue, with utterances."""
    import dgnb
    from dgnb.local.models.samples import dialogue

    with dgnb.Client(api_key=local_server.api_key, url=local_server.url) as dg:
        return dg.transcribe(dialogue().wav_bytes, diarize=True, utterances=True, punctuate=True)


@pytest.mark.parametrize("path", LISTEN_FIXTURES, ids=lambda p: p.parent.name + "/" + p.name[:8])
@pytest.mark.parametrize("kind", ["webvtt", "srt"])
@recorded
def test_fixture_cues_equal_deepgram_captions(path, kind):
    response = response_dict(path)
    try:
        reference = theirs(response, kind)
    except deepgram_captions.ConverterException:  # a live message with no speech: both refuse
        with pytest.raises(ValueError, match="no words"):
            getattr(captions, kind)(response)
        return
    mine = getattr(captions, kind)(response)
    assert parse(mine) == parse(reference) and len(parse(mine)) >= 1
    assert mine == reference  # same document, NOTE block and all


@pytest.mark.parametrize("line_length", [3, 10])
@recorded
def test_line_length_matches_and_transcript_methods(line_length):
    response = response_dict(LISTEN_FIXTURES[0])
    t = Transcript.from_response(response)
    assert parse(t.to_webvtt(line_length=line_length)) == parse(theirs(response, "webvtt", line_length=line_length))
    assert parse(t.to_srt(line_length=line_length)) == parse(theirs(response, "srt", line_length=line_length))


def test_local_engine_diarized_utterances_match(local_transcript):
    response = local_transcript.to_dict()
    assert response["results"].get("utterances") and local_transcript.speakers == [0, 1]
    for kind in ("webvtt", "srt"):
        mine, reference = getattr(captions, kind)(local_transcript), theirs(response, kind)
        assert parse(mine) == parse(reference)
    vtt = captions.webvtt(local_transcript)
    assert "<v Speaker 0>" in vtt and "<v Speaker 1>" in vtt
    srt = captions.srt(local_transcript)
    assert "[speaker 0]" in srt and "[speaker 1]" in srt
    # the NOTE says what produced the captions: the local engine's model, not Deepgram
    assert "Transcription provided by the dgnb local engine (whisper-tiny.en)" in vtt and "by Deepgram" not in vtt


@recorded
def test_diarized_words_without_utterances_break_at_speaker_changes():
    response = response_dict(LISTEN_FIXTURES[0])
    words = response["results"]["channels"][0]["alternatives"][0]["words"]
    for i, w in enumerate(words):
        w["speaker"] = 0 if i < 13 or i >= 30 else 1
    for kind in ("webvtt", "srt"):
        assert parse(getattr(captions, kind)(response)) == parse(theirs(response, kind))
    cue_texts = [c.text for c in captions.cues(response)]
    assert cue_texts[1].split()[-1] == words[12]["punctuated_word"]  # cue 2 ends where speaker 0 stops
    assert "<v Speaker 1>" + words[13]["punctuated_word"] in captions.webvtt(response)
    no_labels = captions.webvtt(response, speaker_labels=False)
    assert "<v " not in no_labels and parse(no_labels)[0][2] == parse(captions.webvtt(response))[0][2][13:]


@recorded
def test_times_past_24_hours_keep_counting():
    response = response_dict(LISTEN_FIXTURES[0])
    for w in response["results"]["channels"][0]["alternatives"][0]["words"]:
        w["start"] += 86400 + 3600
        w["end"] += 86400 + 3600
    mine, reference = parse(captions.srt(response)), parse(theirs(response, "srt"))
    assert [c[2] for c in mine] == [c[2] for c in reference]
    assert mine[0][0].startswith("25:00:") and reference[0][0].startswith("01:00:")  # theirs wraps
    assert [c[0][2:] for c in mine] == [c[0][2:] for c in reference]


@recorded
def test_two_line_cues():
    response = response_dict(LISTEN_FIXTURES[0])
    found = captions.cues(response, line_length=5, lines=2)
    assert all(len(c.lines) <= 2 and all(len(line.split()) <= 5 for line in c.lines) for c in found)
    assert len(found[0].lines) == 2
    single = captions.cues(response, line_length=10)
    assert [c.text.replace("\n", " ") for c in found] == [c.text for c in single]


@recorded
def test_any_response_shape():
    from deepgram import ListenV1Response

    path = LISTEN_FIXTURES[0]
    raw = path.read_text()
    expected = captions.webvtt(json.loads(raw))
    assert captions.webvtt(raw) == expected  # JSON text
    assert captions.webvtt(path) == expected  # a saved file
    assert captions.webvtt(Transcript.from_response(raw)) == expected
    sdk = ListenV1Response.model_validate_json(raw)  # official SDK object (pydantic re-writes "created")
    assert captions.webvtt(sdk) == expected  # the NOTE's Created: as the raw JSON has it
    assert parse(captions.srt(sdk)) == parse(captions.srt(raw))


@recorded
def test_bad_input_gives_clear_errors():
    empty = {"metadata": {}, "results": {"channels": [{"alternatives": [{"transcript": "", "words": []}]}]}}
    with pytest.raises(ValueError, match="no words"):
        captions.webvtt(empty)
    with pytest.raises(ValueError, match="line_length"):
        captions.srt(response_dict(LISTEN_FIXTURES[0]), line_length=0)
    with pytest.raises(ValueError, match="channel 3"):
        captions.srt(response_dict(LISTEN_FIXTURES[0]), channel=3)
    with pytest.raises(ValueError, match="not a Deepgram transcription response"):
        captions.webvtt({"hello": 1})
