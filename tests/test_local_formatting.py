"""Pure word-list transforms: paragraphs, utterances, redaction, numerals, search, replace..."""
import uuid

import pytest

from dgnb.local.text import formatting as F


def W(spec, speaker=None, t0=0.0, gap_after=None):
    """Words from "text" with 0.3 s per word; gap_after maps word index -> extra pause (s)."""
    out, t = [], t0
    for i, tok in enumerate(spec.split()):
        w = {"word": tok.lower().strip(".,?!"), "start": round(t, 2), "end": round(t + 0.25, 2),
             "confidence": 0.9, "punctuated_word": tok}
        if speaker is not None:
            w["speaker"] = speaker[i] if isinstance(speaker, list) else speaker
        out.append(w)
        t += 0.3 + (gap_after or {}).get(i, 0.0)
    return out


def test_paragraphs_by_speaker_match_deepgram_shape():
    words = W("Hello there. How are you? I am fine. Thanks.", speaker=[0, 0, 0, 0, 0, 1, 1, 1, 1])
    p = F.paragraphs(words, by_speaker=True)
    assert p["transcript"] == "\nSpeaker 0: Hello there. How are you?\n\nSpeaker 1: I am fine. Thanks."
    p0, p1 = p["paragraphs"]
    assert p0["speaker"] == 0 and p0["num_words"] == 5 and p1["num_words"] == 4
    assert [s["text"] for s in p0["sentences"]] == ["Hello there.", "How are you?"]
    assert p0["start"] == 0.0 and p0["end"] == words[4]["end"]
    assert set(p0) == {"sentences", "start", "end", "num_words", "speaker"}


def test_paragraphs_without_diarization_split_on_long_pause():
    words = W("One thing. Another thing. After a break.", gap_after={3: 3.0})
    p = F.paragraphs(words)
    assert p["transcript"] == "\nOne thing. Another thing.\n\nAfter a break."
    assert "speaker" not in p["paragraphs"][0]


def test_utterances_split_at_pause_and_speaker():
    words = W("a b c d e f", speaker=[0, 0, 0, 0, 1, 1], gap_after={1: 1.0})
    u = F.utterances(words, channel=0, utt_split=0.8)
    assert [x["transcript"] for x in u] == ["a b", "c d", "e f"]
    assert [x["speaker"] for x in u] == [0, 0, 1]
    assert u[1]["start"] == words[2]["start"] and u[1]["end"] == words[3]["end"]
    assert list(u[0]) == ["start", "end", "confidence", "channel", "transcript", "words", "speaker", "id"]
    uuid.UUID(u[0]["id"])
    assert len(F.utterances(words, utt_split=2.0)) == 2


def test_redact_pci_ssn_and_numbers():
    words = W("My card is 4111 1111 1111 1111 and my social is 123-45-6789.")
    out = F.redact(words, ["pci", "ssn"])
    text = F.transcript(out)
    assert text == "My card is [CREDIT_CARD_1] and my social is [SSN_1]."
    card = out[3]
    assert card["start"] == words[3]["start"] and card["end"] == words[6]["end"]
    spoken = W("it is one two three four five six seven eight nine okay")
    assert F.transcript(F.redact(spoken, "ssn")) == "it is [SSN_1] okay"
    assert F.transcript(F.redact(W("room 512 and 7"), "numbers")) == "room [NUMBER_1] and 7"
    with pytest.raises(ValueError, match="unsupported redact"):
        F.redact(words, ["bogus"])


def test_numerals():
    words = W("I paid twenty five dollars in nineteen eighty four for one hundred and five apples.")
    assert F.transcript(F.numerals(words)) == "I paid 25 dollars in 1984 for 105 apples."
    assert F.transcript(F.numerals(W("the one I want"))) == "the one I want"


def test_search_finds_word_with_time():
    words = W("please send the refund to my account today")
    (res,) = F.search(words, ["refund"])
    assert res["query"] == "refund"
    best = res["hits"][0]
    assert best["snippet"] == "refund" and best["confidence"] == 1.0
    assert (best["start"], best["end"]) == (words[3]["start"], words[3]["end"])
    fuzzy = F.search(words, "refunds")[0]["hits"][0]
    assert fuzzy["snippet"] == "refund" and 0.6 <= fuzzy["confidence"] < 1.0
    assert F.search(words, "zebra")[0]["hits"] == []


def test_replace_profanity_and_fillers():
    words = W("Um, the acme corp shipment is damn late.")
    assert F.transcript(F.replace(words, ["acme corp:Acme Corporation"])) == \
        "Um, the Acme Corporation shipment is damn late."
    assert F.transcript(F.profanity_filter(words)) == "Um, the acme corp shipment is **** late."
    assert F.transcript(F.filler_words(words, keep=False)) == "The acme corp shipment is damn late."
    assert F.transcript(F.filler_words(words, keep=True)) == F.transcript(words)
    assert F.parse_replace("a:b") == [("a", "b")]
