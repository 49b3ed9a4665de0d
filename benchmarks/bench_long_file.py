"""Long recordings: time and peak memory of the local recogniser on a long stretch of speech, read a
span of clips at a time (the engine, 300 s) or all at once (one call with every clip).

    python benchmarks/bench_long_file.py [--minutes 15] [--runs 2]

The audio is the preamble and two sample dialogues, repeated with 3 s pauses to ``--minutes``. Each run
is a fresh process (its peak RSS is its own), the two ways alternate, and the figures are median and range.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WHOLE = 10 ** 9  # a span longer than any file: every clip in one call, as before spans


def long_speech(minutes: float):
    import numpy as np
    from bench_vad import speech_set

    pause = np.zeros(3 * 16000, np.float32)
    pieces, n = [], 0
    parts = [x for _, x, _ in speech_set(dialogues=2)]
    while n < minutes * 60 * 16000:
        for x in parts:
            pieces += [x, pause]
            n += x.size + pause.size
    return np.concatenate(pieces)[: int(minutes * 60 * 16000)]


def one_run(minutes: float, span: float) -> dict:
    from dgnb.local.models import stt

    audio = long_speech(minutes)
    rec = stt.get_recognizer()
    rec.transcribe(audio[: 16000 * 5])  # the model is loaded and warm before the clock starts
    stt.DECODE_SPAN = span
    t = time.perf_counter()
    words = rec.transcribe(audio)
    seconds = time.perf_counter() - t
    status = Path("/proc/self/status").read_text()
    peak = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")) / 1024
    return {"words": len(words), "seconds": seconds, "peak_mb": peak}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=15)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(one_run(args.minutes, args.child)))
        return
    ways = {"spans of 300 s": 300.0, "all at once": float(WHOLE)}
    results: dict[str, list[dict]] = {name: [] for name in ways}
    for _ in range(args.runs):
        for name, span in ways.items():
            out = subprocess.run([sys.executable, __file__, "--minutes", str(args.minutes), "--child", str(span)],
                                 capture_output=True, text=True, check=True, cwd=HERE)
            results[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{args.minutes:g} minutes of speech, {args.runs} runs each, alternating")
    print(f"{'way':<16} {'words':>6} {'seconds (median, range)':>26} {'peak RSS MB (median, range)':>30}")
    for name, runs in results.items():
        s, m = [r["seconds"] for r in runs], [r["peak_mb"] for r in runs]
        print(f"{name:<16} {runs[0]['words']:>6} {statistics.median(s):>10.1f} ({min(s):.1f}-{max(s):.1f}) "
              f"{statistics.median(m):>16.0f} ({min(m):.0f}-{max(m):.0f})")


if __name__ == "__main__":
    main()
