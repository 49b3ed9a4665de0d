"""Which voice does the local recogniser understand? Word error rate per voice on one sentence set.

Every installed voice (``dgnb.local.models.voices``: Festival, flite, and the espeak-ng settings the
samples used so far) reads every sentence of ``SENTENCES`` (numbers, names, addresses, dates, and the
lines of the demos and notebooks); the engine's recogniser (faster-whisper tiny.en, as served) reads
it back. Printed per voice: WER over the whole set, median and worst sentence, how many sentences
were read back exactly, synthesis time per second of speech, and whether two runs give identical
samples. Numbers are compared as digits on both sides ("five six seven eight" = "5678",
"twenty nine" = "29").

    python benchmarks/bench_voices.py [--voice flite:slt ...] [--speed 0.9 --speed 1.0]
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

#: What the demos say, and the kinds of thing users dictate: numbers, names, addresses, dates, e-mail.
SENTENCES = [
    "Your order number is five six seven eight.",
    "I would like to check on order five six seven eight, please.",
    "The refund of twenty nine dollars will arrive in three to five business days.",
    "Thanks for calling Acme support. How can I help you today?",
    "My name is Charlie Johnson and I live at forty two Baker Street.",
    "Please send it to Springfield, Illinois, by Friday the twelfth of March.",
    "My email address is john dot smith at example dot com.",
    "I was charged twice for my subscription this month.",
    "The meeting moved from two thirty to four fifteen on Tuesday.",
    "Can you read me the tracking number again, slowly?",
    "Let me check that for you. Your order shipped yesterday and arrives on Friday.",
    "Deepgram makes voice a first class citizen of your data.",
    "I understand. I can see the duplicate charge of twenty nine dollars.",
    "You are very welcome. Is there anything else I can do for you?",
    "Oh, that is great. Thank you so much, I really appreciate your help.",
    "No, that is all. You have been wonderful. Have a nice day.",
]

_ORDINALS = {str(i + 1): w for i, w in enumerate("first second third fourth fifth sixth seventh eighth ninth tenth "
                                                 "eleventh twelfth".split())}
_UNITS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                      "fourteen fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * i for i, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()) if w != "_"}


def _numbers_as_digits(words: list[str]) -> list[str]:
    """Runs of number words become digits: single digits concatenate, compounds add up."""
    out, run = [], []

    def flush():
        if not run:
            return
        if all(w in _UNITS and _UNITS[w] < 10 for w in run):
            out.append("".join(str(_UNITS[w]) for w in run))
        else:
            total, cur = 0, 0
            for w in run:
                if w == "hundred":
                    cur = max(cur, 1) * 100
                elif w in _TENS:
                    cur += _TENS[w]
                else:
                    cur += _UNITS[w]
            out.append(str(total + cur))
        run.clear()

    for w in words:
        if w in _UNITS or w in _TENS or (w == "hundred" and run):
            # a compound is tens + a digit ("twenty nine") or "<n> hundred"; "two thirty" is two numbers
            joins = run and ((run[-1] in _TENS and w in _UNITS and _UNITS[w] < 10) or w == "hundred"
                             or (all(x in _UNITS and _UNITS[x] < 10 for x in run) and w in _UNITS and _UNITS[w] < 10))
            if run and not joins:
                flush()
            run.append(w)
        else:
            flush()
            out.append(w)
    flush()
    return out


def normalise(text: str) -> str:
    """Lower case, no punctuation, numbers as digits."""
    text = re.sub(r"(\d),(\d)", r"\1\2", text.lower())
    text = re.sub(r"(\d)\s*-\s*(\d)", r"\1 to \2", text).replace("-", " ")  # "3-5" is "three to five"
    text = re.sub(r"\$(\d+)", r"\1 dollars", text)
    text = re.sub(r"\.(?=[a-z])", " dot ", text).replace("@", " at ")  # "john.smith@example.com"
    text = re.sub(r"\b(\d+)(st|nd|rd|th)\b", lambda m: _ORDINALS.get(m.group(1), m.group(0)), text)
    words = re.sub(r"[^a-z0-9' ]+", " ", text).split()
    merged: list[str] = []
    chain = False  # the last token is a run of single digits ("5 6 7 8" and "five six seven eight" -> "5678")
    for w in _numbers_as_digits(words):
        single = w.isdigit() and len(w) == 1
        if single and chain:
            merged[-1] += w
        else:
            merged.append(w)
            chain = single
    return " ".join(merged)


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    ref, hyp = normalise(reference), normalise(hypothesis)
    return float(jiwer.wer(ref, hyp)) if ref else float(bool(hyp))


def to16k(x: np.ndarray, rate: int) -> np.ndarray:
    from dgnb.local.wire.audio import resample

    return resample(x[None, :], rate)[0] if rate != 16000 else x


def measure(voice: str, recognizer, speed: float = 1.0) -> dict:
    from dgnb.local.models import voices

    errors, synth, spoken, exact, same = [], 0.0, 0.0, 0, True
    for sentence in SENTENCES:
        t0 = time.perf_counter()
        x, rate = voices.synthesize(sentence, voice, speed)
        synth += time.perf_counter() - t0
        spoken += len(x) / rate
        y, _ = voices.synthesize(sentence, voice, speed)
        same &= len(x) == len(y) and bool(np.array_equal(x, y))
        heard = " ".join(w.get("punctuated_word", w["word"]) for w in recognizer.transcribe(to16k(x, rate)))
        errors.append(wer(sentence, heard))
        exact += errors[-1] == 0
    words = [len(normalise(s).split()) for s in SENTENCES]
    return {"voice": voice, "wer": sum(e * n for e, n in zip(errors, words)) / sum(words),
            "median": statistics.median(errors), "worst": max(errors), "exact": exact,
            "synth_rtf": synth / spoken, "deterministic": same}


def candidates() -> list[str]:
    from dgnb.local.models import voices

    return [*voices.installed(), "espeak:agent", "espeak:customer"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--voice", action="append", help="a voice to measure (repeat); default: every installed one")
    ap.add_argument("--speed", action="append", type=float, help="speaking speed (repeat to compare); default 1.0")
    args = ap.parse_args(argv)
    from dgnb.local.models.stt import get_recognizer

    recognizer = get_recognizer()
    print(f"{len(SENTENCES)} sentences, recogniser {recognizer.model_name if hasattr(recognizer, 'model_name') else ''}")
    print(f"{'voice':34s} {'WER':>6s} {'median':>7s} {'worst':>6s} {'exact':>6s} {'synth s/s':>9s}  deterministic")
    for voice, speed in [(v, s) for v in args.voice or candidates() for s in args.speed or [1.0]]:
        r = measure(voice, recognizer, speed)
        name = voice if speed == 1.0 else f"{voice} x{speed:g}"
        print(f"{name:34s} {r['wer']:6.3f} {r['median']:7.3f} {r['worst']:6.3f} {r['exact']:3d}/{len(SENTENCES):<2d}"
              f" {r['synth_rtf']:9.3f}  {'yes' if r['deterministic'] else 'NO'}", flush=True)


if __name__ == "__main__":
    main()
