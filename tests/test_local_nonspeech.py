"""No invented words: the local engine says nothing where nothing was said.

The non-speech set (``benchmarks/nonspeech.py``: silence, white and pink noise, mains hum, a sweep,
DTMF, hold music) goes through the real ``dgnb serve`` over REST and live; speech with long gaps of
silence and noise keeps its words, at timestamps that still point at the audio.
"""
from __future__ import annotations

import asyncio
import json

import httpx
import numpy as np
import pytest
import websockets

from bench_vad import speech_set
from conftest import recorded
from nonspeech import RATE, non_speech, wav_bytes

CASES = non_speech(seconds=20.0)


def _post(server, body: bytes, params: dict | None = None) -> dict:
    r = httpx.post(f"{server.url}/v1/listen", params=params or {}, content=body, headers=server.headers, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


def _words(reply: dict) -> list[dict]:
    return reply["results"]["channels"][0]["alternatives"][0]["words"]


@pytest.mark.parametrize("name", sorted(CASES))
def test_rest_non_speech_gives_no_words_and_bills_all_of_it(local_server, name):
    reply = _post(local_server, wav_bytes(CASES[name]), {"punctuate": "true", "utterances": "true"})
    alt = reply["results"]["channels"][0]["alternatives"][0]
    assert alt["words"] == [] and alt["transcript"] == "", (name, alt["transcript"])
    assert reply["results"]["utterances"] == []
    assert reply["metadata"]["duration"] == pytest.approx(20.0, abs=0.01)  # what was sent is accounted for


def test_ten_minutes_on_hold_give_no_words(local_server):
    """A long call on hold: every non-speech case in turn, repeated to ten minutes."""
    line = np.tile(np.concatenate([CASES[name] for name in sorted(CASES)]), 3)
    reply = _post(local_server, wav_bytes(line))
    assert _words(reply) == [] and reply["metadata"]["duration"] == pytest.approx(600.0, abs=0.01)


async def _live(server, pcm: bytes) -> list[dict]:
    url = server.url.replace("http://", "ws://") + "/v1/listen?encoding=linear16&sample_rate=16000&interim_results=true"
    async with websockets.connect(url, additional_headers=server.headers, max_size=None) as ws:
        for i in range(0, len(pcm), 3200):
            await ws.send(pcm[i:i + 3200])
        await ws.send(json.dumps({"type": "CloseStream"}))
        return [json.loads(m) async for m in ws]


@pytest.mark.parametrize("name", sorted(CASES))
def test_live_non_speech_gives_no_words(local_server, name):
    pcm = (np.clip(CASES[name], -1, 1) * 32767).astype("<i2").tobytes()
    messages = asyncio.run(_live(local_server, pcm))
    results = [m for m in messages if m["type"] == "Results"]
    heard = [w["word"] for m in results for w in m["channel"]["alternatives"][0]["words"]]
    assert heard == [], (name, heard)
    assert messages[-1]["type"] == "Metadata" and messages[-1]["duration"] == pytest.approx(20.0, abs=0.05)


def _with_gaps(speech: np.ndarray, words: list[dict]) -> tuple[np.ndarray, list[float], list[float]]:
    """The speech with 5 s of silence, 12 s of pink noise and 30 s of quiet white noise put in its three
    widest pauses; returns (audio, where each gap starts in the original, each gap's length)."""
    pauses = sorted(((b["start"] - a["end"], (a["end"] + b["start"]) / 2) for a, b in zip(words, words[1:])),
                    reverse=True)
    cuts = sorted(middle for _, middle in pauses[:3])
    fillers = [(5.0, CASES["silence"]), (12.0, CASES["pink-noise"]), (30.0, np.tile(CASES["white-noise-quiet"], 2))]
    pieces, prev = [], 0
    for cut, (seconds, filler) in zip(cuts, fillers):
        at = int(cut * RATE)
        pieces += [speech[prev:at], filler[:int(seconds * RATE)]]
        prev = at
    pieces.append(speech[prev:])
    return np.concatenate(pieces), cuts, [seconds for seconds, _ in fillers[:len(cuts)]]


@pytest.mark.slow
@recorded
def test_speech_with_long_gaps_keeps_its_words_and_their_times(local_server):
    from dgnb.notebook.demo import word_error_rate

    truths, alone_text, gapped_text = [], [], []
    for _, speech, truth in speech_set(dialogues=2):
        alone = _words(_post(local_server, wav_bytes(speech)))
        audio, cuts, lengths = _with_gaps(speech, alone)
        gapped = _words(_post(local_server, wav_bytes(audio)))
        truths.append(truth)
        alone_text.append(" ".join(w["word"] for w in alone))
        gapped_text.append(" ".join(w["word"] for w in gapped))
        # every word still points at its audio: its time in the gapped file minus the gaps before it
        gap_starts = [c + sum(lengths[:i]) for i, c in enumerate(cuts)]
        for w in gapped:
            original = w["start"] - sum(lengths[:sum(1 for g in gap_starts if g <= w["start"])])
            nearest = min(alone, key=lambda a: abs(a["start"] - original))
            assert abs(nearest["start"] - original) < 0.75, (w, nearest)  # seconds off, not a gap off
    # the same words, across the set: the gaps cost at most one point of word error rate
    wer_alone = word_error_rate(" ".join(truths), " ".join(alone_text))
    wer_gapped = word_error_rate(" ".join(truths), " ".join(gapped_text))
    assert wer_gapped <= wer_alone + 0.01, (wer_alone, wer_gapped)


PROMPTS = [["testing 123"], ["Deepgram", "Nova", "keyterm prompting"], ["invoice", "chargeback", "escalation"]]


@pytest.mark.slow
@recorded
@pytest.mark.parametrize("terms", PROMPTS, ids=lambda t: t[0].split()[0])
def test_keyterms_bias_but_never_insert(local_server, terms):
    """Prompt words that are not spoken are never written: not into speech, not into silence or music."""
    _, speech, _ = speech_set(dialogues=0)[0]
    for audio in (speech, CASES["silence"], CASES["hold-music"]):
        for option in ("keyterm", "keywords"):
            reply = _post(local_server, wav_bytes(audio), {option: terms})
            heard = {w["word"] for w in _words(reply)}
            prompted = {word.lower() for term in terms for word in term.split()}
            assert not heard & prompted, (option, terms, heard & prompted)


@pytest.mark.slow
@recorded
def test_a_spoken_keyterm_helps_or_stays(local_server):
    """A term that is spoken (the company in the support dialogues) is read at least as well with it."""
    from dgnb.notebook.demo import word_error_rate

    for _, speech, truth in speech_set(dialogues=2)[1:]:
        plain = " ".join(w["word"] for w in _words(_post(local_server, wav_bytes(speech))))
        biased = " ".join(w["word"] for w in _words(_post(local_server, wav_bytes(speech), {"keyterm": "Acme"})))
        assert word_error_rate(truth, biased) <= word_error_rate(truth, plain), (plain, biased)
