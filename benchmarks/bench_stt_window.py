"""The local recognizer's quick mode: word error rate and time per clip, 30 s vs 10 s encoder window.

Live streaming and voice agents read each phrase on its own with ``quick=True``, which encodes
clips of up to 7 s in a 10 s window instead of Whisper's 30 s. This prints what that costs and
saves on short clips with known words: the preamble's phrases (truth: Deepgram nova-3's
transcript in the fixtures) and the turns of synthesized support dialogues (truth: their script).

    python benchmarks/bench_stt_window.py [--dialogues 4]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from recorded import FIXTURES

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RATE = 16000


def nova3_preamble() -> str:
    """Deepgram nova-3's transcript of preamble.wav, from the recorded fixtures."""
    for opt in sorted((FIXTURES / "responses" / "listen-rest").glob("*-options.json")):
        if json.loads(opt.read_text()) == {"model": "nova-3", "smart_format": True}:
            reply = json.loads(Path(str(opt).replace("-options.json", "-response.json")).read_text())
            return reply["results"]["channels"][0]["alternatives"][0]["transcript"]
    raise LookupError("no nova-3 transcript of preamble.wav in the fixtures")


def corpus(dialogues: int = 4) -> list[tuple[np.ndarray, str]]:
    """(16 kHz clip, true words) pairs. The preamble's phrases tile its text, so all of it goes with the first."""
    from dgnb.local.wire import audio
    from dgnb.local.text import formatting
    from dgnb.local.models import samples, stt

    x = audio.decode(FIXTURES / "audio" / "preamble.wav").mono()
    phrases = formatting.utterances(stt.get_recognizer().transcribe(x), utt_split=0.25)
    clips = [(x[max(int((p["start"] - 0.25) * RATE), 0):int((p["end"] + 0.2) * RATE)], "") for p in phrases]
    clips[0] = (clips[0][0], nova3_preamble())
    for seed in range(3, 3 + dialogues):
        talk = samples.dialogue(seed=seed)
        y = audio.resample(talk.samples[None, :], talk.sample_rate)[0]
        clips += [(y[int((start - 0.25) * RATE):int((end + 0.2) * RATE)], text) for _, text, start, end in talk.turns]
    return clips


@dataclass
class Reading:
    wer: float
    seconds_per_clip: float


def measure(clips: list[tuple[np.ndarray, str]], *, quick: bool) -> Reading:
    """Read every clip; word error rate of all the clips' words against all the true words."""
    from dgnb.notebook.demo import word_error_rate
    from dgnb.local.models import stt

    rec = stt.get_recognizer()
    rec.transcribe(clips[0][0], quick=quick)  # warm-up
    t = time.perf_counter()
    words = [rec.transcribe(clip, quick=quick) for clip, _ in clips]
    elapsed = time.perf_counter() - t
    truth = " ".join(text for _, text in clips)
    said = " ".join(w["punctuated_word"] for ws in words for w in ws)
    return Reading(word_error_rate(truth, said), elapsed / len(clips))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dialogues", type=int, default=4, help="synthesized dialogues to add to the preamble")
    args = ap.parse_args(argv)
    clips = corpus(args.dialogues)
    seconds = sum(c.size for c, _ in clips) / RATE
    n_words = sum(len(t.split()) for _, t in clips)
    print(f"{len(clips)} clips, {seconds:.0f} s of audio, {n_words} true words")
    full, quick = measure(clips, quick=False), measure(clips, quick=True)
    for name, r in (("30 s window", full), ("quick (10 s window)", quick)):
        print(f"{name:22s} WER {r.wer:.3f}   {r.seconds_per_clip * 1000:4.0f} ms per clip")
    print(f"quick: {full.seconds_per_clip / quick.seconds_per_clip:.1f}x faster, WER {quick.wer - full.wer:+.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
