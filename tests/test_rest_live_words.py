"""The same audio with the same options gives the same words over REST and live: both run the one word
pipeline (``dgnb/local/text/words.py``), so every formatting option must act alike on both paths.

The preamble is read alike by both paths (live finals are read with the seconds before them as context),
so the formatted words are compared directly. Its speech has no numbers, fillers or
profanity, so there those options must leave both paths' words alike; ``replace`` changes a word on both.
"""
from __future__ import annotations

import asyncio
import itertools

import httpx
import jiwer
import pytest

from conftest import recorded
from test_local_live import MULAW, SILENCE_2S, finals, split, stream

pytestmark = [recorded, pytest.mark.slow]

BASE = {"encoding": "mulaw", "sample_rate": "8000"}
#: smart_format alone (it implies numerals and punctuation), then every other formatting option at once:
#: one stream each keeps the test quick, and a step that acted differently on either path shows in both
CASES = {
    "smart_format": {"smart_format": "true"},
    "every other option": {"punctuate": "true", "numerals": "true", "profanity_filter": "true", "redact": "numbers",
                           "replace": "constitution:charter", "filler_words": "true", "search": "union",
                           "keyterm": "tranquility"},
}


def punctuated(words: list[dict]) -> list[str]:
    return [w.get("punctuated_word", w["word"]) for w in words]


def rest_words(server, query: dict) -> list[dict]:
    r = httpx.post(server.url + "/v1/listen", params={**BASE, **query}, content=MULAW,
                   headers={**server.headers, "Content-Type": "audio/raw"}, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()["results"]["channels"][0]["alternatives"][0]["words"]


def live_words(server, query: dict) -> list[dict]:
    messages, code, _ = asyncio.run(stream(server, "&".join(f"{k}={v}" for k, v in {**BASE, **query}.items()),
                                           split(MULAW + SILENCE_2S)))
    assert code == 1000
    return [w for m in finals(messages) for w in m["channel"]["alternatives"][0]["words"]]


@pytest.mark.parametrize("option", list(CASES))
def test_an_option_gives_the_same_words_over_rest_and_live(local_server, option):
    rest, live = rest_words(local_server, CASES[option]), live_words(local_server, CASES[option])
    assert [w["word"] for w in rest] == [w["word"] for w in live], (punctuated(rest), punctuated(live))
    if "replace" in CASES[option]:
        assert "charter" in [w["word"] for w in live] and "constitution" not in [w["word"] for w in live]


def test_punctuation_is_alike_over_rest_and_live_but_live_finals_are_sentences(local_server):
    """Live reads each phrase whole, so a final ends a sentence and the next begins with a capital, as
    Deepgram's live finals do (its reply to this preamble, in the fixtures: "Ensure domestic tranquility."
    where its pre-recorded reply writes "ensure domestic tranquility,"). Inside a final, and in every
    word away from a final's edges, live punctuates as REST does."""
    query = {"punctuate": "true"}
    rest = punctuated(rest_words(local_server, query))
    messages, code, _ = asyncio.run(stream(local_server, "&".join(f"{k}={v}" for k, v in {**BASE, **query}.items()),
                                           split(MULAW + SILENCE_2S)))
    assert code == 1000
    live_finals = [punctuated(m["channel"]["alternatives"][0]["words"]) for m in finals(messages)]
    live_finals = [f for f in live_finals if f]
    assert len(live_finals) >= 4
    for before, final in zip([None] + live_finals, live_finals):
        if before is None or before[-1][-1] in ".?!":
            assert final[0][:1].isupper(), final  # never "States. in order"
    live = [w for f in live_finals for w in f]
    assert len(live) == len(rest)
    edges = {i for n in itertools.accumulate(len(f) for f in live_finals) for i in (n - 1, n)}
    inside = [i for i in range(len(live)) if i not in edges]
    assert len(inside) > len(live) / 2
    assert [live[i] for i in inside] == [rest[i] for i in inside]
    assert [live[i].lower().rstrip(".,?!") for i in edges if i < len(live)] == \
        [rest[i].lower().rstrip(".,?!") for i in edges if i < len(rest)]
