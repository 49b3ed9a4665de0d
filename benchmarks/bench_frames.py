"""Time building Transcript.words for a synthetic 10-hour, ~100k-word diarized response.

Run: python benchmarks/bench_frames.py [--words N] [--runs R]
Prints the median build time beside pandas' own constructor on the same words, alternating
(target: <= 150 ms for 100k words, and <= 1.1x pandas).
"""
from __future__ import annotations

import argparse
import random
import statistics
import time

from dgnb.results.transcript import Transcript

VOCAB = ["the", "people", "of", "united", "states", "order", "form", "more", "perfect", "union",
         "justice", "insure", "domestic", "tranquility", "provide", "common", "defense", "promote"]


def synthetic_response(n_words: int = 100_000, hours: float = 10.0, seed: int = 0) -> dict:
    """A /v1/listen-shaped response with n_words diarized words spread over `hours`."""
    rng = random.Random(seed)
    step = hours * 3600 / n_words
    words = []
    speaker = 0
    for i in range(n_words):
        if rng.random() < 0.02:
            speaker = rng.randrange(4)
        w = rng.choice(VOCAB)
        start = round(i * step, 3)
        words.append({"word": w, "start": start, "end": round(start + step * 0.8, 3),
                      "confidence": rng.random(), "punctuated_word": w.capitalize() if i % 12 == 0 else w,
                      "speaker": speaker, "speaker_confidence": rng.random()})
    transcript = " ".join(w["punctuated_word"] for w in words)
    return {"metadata": {"request_id": "bench", "duration": hours * 3600, "channels": 1,
                         "models": ["m"], "model_info": {"m": {"name": "bench-model"}}},
            "results": {"channels": [{"alternatives": [{"transcript": transcript, "confidence": 0.9,
                                                          "words": words}]}]}}


def words_frame_times(response: dict, runs: int = 7, baseline: list[float] | None = None) -> tuple[list[float], "object"]:
    """Seconds to build ``.words`` on a fresh Transcript each run (nothing cached), and the frame. With
    ``baseline``, each run is followed by pandas' own ``pd.DataFrame(words)`` of the same words (untyped,
    no channel columns), whose seconds are appended to it: the two alternate."""
    import pandas as pd

    words = response["results"]["channels"][0]["alternatives"][0]["words"]
    times = []
    for _ in range(runs):
        t = Transcript(response)
        begin = time.perf_counter()
        df = t.words
        times.append(time.perf_counter() - begin)
        if baseline is not None:
            begin = time.perf_counter()
            pd.DataFrame(words)
            baseline.append(time.perf_counter() - begin)
    return times, df


def words_frame_seconds(n_words: int = 100_000, runs: int = 7) -> tuple[float, int]:
    """(median build seconds, words) for the synthetic 10-hour response."""
    times, df = words_frame_times(synthetic_response(n_words), runs)
    return statistics.median(times), len(df)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    response = synthetic_response(args.words)
    pandas_times: list[float] = []
    times, df = words_frame_times(response, args.runs, pandas_times)
    print(f"words DataFrame: {len(df):,} rows x {df.shape[1]} columns")
    for name, seconds in (("dgnb .words", times), ("pd.DataFrame(words)", pandas_times)):
        print(f"{name:<20} over {args.runs} runs: median {statistics.median(seconds) * 1000:.1f} ms, "
              f"range {min(seconds) * 1000:.1f}-{max(seconds) * 1000:.1f} ms")
    print(f"ratio {statistics.median(times) / statistics.median(pandas_times):.2f} (target <= 150 ms and <= 1.1x pandas)")
    begin = time.perf_counter()
    Transcript(response)._repr_html_()
    print(f"_repr_html_ on the same response: {(time.perf_counter() - begin) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
