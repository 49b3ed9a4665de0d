"""The engine's one word pipeline: what ``/v1/listen`` does to recognised words, over REST and live alike.

The same words with the same options come out the same whichever way the audio arrived. Steps, in order:

1. filler words ("uh", "um") are dropped unless ``filler_words=true``;
2. numbers are written as numerals with ``numerals`` or ``smart_format``;
3. ``profanity_filter`` masks profanity;
4. ``replace`` swaps terms;
5. ``redact`` runs last, so nothing that follows can bring a redacted value back;
6. speakers are labelled (``diarize``) by the caller's diarizer;
7. ``punctuated_word`` is kept only with ``punctuate`` or ``smart_format``.

A step that fails becomes a warning (``metadata.warnings`` over REST), never a failed request.

>>> from dgnb.local.wire.options import parse_listen_options
>>> opts = parse_listen_options([("numerals", "true"), ("punctuate", "true")])
>>> ws = [{"word": w, "punctuated_word": w, "start": i, "end": i + 1, "confidence": 0.9}
...       for i, w in enumerate(["um", "room", "four", "twelve"])]
>>> alternative(format_words(ws, opts)[0], opts)["transcript"]
'room 412'
"""
from __future__ import annotations

import logging
from typing import Callable

from ..wire.errors import EngineError
from . import formatting

log = logging.getLogger("dgnb.local")

Diarizer = Callable[[list], list]


def run_step(warnings: list | None, parameter: str, fn, *args, **kwargs):
    """Run one step; a failure is logged and becomes a warning, and the words go on unchanged."""
    try:
        return fn(*args, **kwargs)
    except EngineError:
        raise
    except Exception as exc:
        log.exception("feature %s failed", parameter)
        if warnings is not None:
            warnings.append({"parameter": parameter, "type": "processing_error",
                             "message": f"{parameter} could not be computed locally ({type(exc).__name__})"})
        return None


def format_words(words: list[dict], opts, *, diarize: Diarizer | None = None,
                 warnings: list | None = None) -> tuple[list[dict], bool]:
    """Apply the options to recognised words: ``(words, diarized)``; the input list is not changed.

    ``diarize`` labels words with speakers (given when ``opts.diarize`` and the audio is at hand).
    """
    steps = (
        (True, "filler_words", formatting.filler_words, (opts.filler_words,)),
        (opts.numerals or opts.smart_format, "numerals", formatting.numerals, ()),
        (opts.profanity_filter, "profanity_filter", formatting.profanity_filter, ()),
        (bool(opts.replace), "replace", formatting.replace, (opts.replace,)),
        (bool(opts.redact), "redact", formatting.redact, (opts.redact,)),
    )
    for enabled, parameter, fn, args in steps:
        if enabled:
            out = run_step(warnings, parameter, fn, words, *args)
            if isinstance(out, list):
                words = out
    diarized = False
    if opts.diarize and diarize is not None:
        if words:
            out = run_step(warnings, "diarize", diarize, words)
            if isinstance(out, list):
                words, diarized = out, True
        else:
            diarized = True
    if not (opts.punctuate or opts.smart_format):
        words = [{k: v for k, v in w.items() if k != "punctuated_word"} for w in words]
    return words, diarized


def as_sentences(words: list[dict], after: str | None) -> list[dict]:
    """Live finals read as sentences, as Deepgram's live results are: a final begins with a capital when
    the one before it ended a sentence (``after``: that final's last punctuated word; None at the start).
    Each live phrase is read as a whole, so it ends with a full stop where the pre-recorded reading, which
    sees what follows, writes a comma (Deepgram's live does the same: "Ensure domestic tranquility.").

    >>> [w["punctuated_word"] for w in as_sentences([{"word": "in", "punctuated_word": "in"}], "States.")]
    ['In']
    >>> [w["punctuated_word"] for w in as_sentences([{"word": "in", "punctuated_word": "in"}], "States,")]
    ['in']
    """
    if not words or "punctuated_word" not in words[0] or (after is not None and not formatting._SENTENCE_END.search(after)):
        return words
    first = words[0]["punctuated_word"]
    return [dict(words[0], punctuated_word=first[:1].upper() + first[1:]), *words[1:]]


def confidence(words: list[dict]) -> float:
    """The mean word confidence, rounded as Deepgram's (0.0 for no words)."""
    return round(sum(float(w["confidence"]) for w in words) / len(words), 4) if words else 0.0


def alternative(words: list[dict], opts) -> dict:
    """``{"transcript", "confidence", "words"}``: one alternative of a channel."""
    key = "punctuated_word" if (opts.punctuate or opts.smart_format) else "word"
    return {"transcript": " ".join(w.get(key) or w["word"] for w in words), "confidence": confidence(words),
            "words": words}


def channel(words: list[dict], opts, *, warnings: list | None = None) -> dict:
    """A channel of a reply: ``{"search": ..., "alternatives": [...]}`` (search only when asked)."""
    out: dict = {}
    if opts.search:
        hits = run_step(warnings, "search", formatting.search, words, opts.search)
        if hits is not None:
            out["search"] = hits
    out["alternatives"] = [alternative(words, opts)]
    return out


def model_metadata(recognizer) -> dict:
    """``{"models": [uuid], "model_info": {uuid: info}}`` of the recogniser, as replies carry it."""
    return {"models": [recognizer.model_uuid], "model_info": {recognizer.model_uuid: dict(recognizer.model_info)}}
