"""Who spoke when, measured on many conversations: speaker count and DER per conversation, and the spread.

The development set is ``diarize_set.py`` (real voices from registry packages, 1-4 speakers, wide and
telephone band, gaps and overlaps, exact references), and the fixtures' real phone call against its
hand labels (the share of speech time labelled right). For every conversation and every method asked
for, it prints the speakers found against the truth, the diarization error rate (pyannote.metrics,
collar 0.25 s, overlap skipped) and the seconds taken; then, per method, how many counts were right
and the median and range of DER.

A method named ``live-campplus`` streams the conversation through the live tracker and scores the labels
as they were given (never revised), as a live view shows them: each final's, when the engine would send it
(after the pause that ends it; ``--live-step 2``: every 2 s instead, cut anywhere). Asked together with
``campplus``, the table adds how far live agrees with pre-recorded: the share of speech time both
label, given the same label after the best one-to-one mapping.

    python benchmarks/bench_diarize.py [--method mfcc] [--method campplus] [--method live-campplus] [--seed 0]
    python benchmarks/bench_diarize.py --short     # 60 short two-voice calls instead
    python benchmarks/bench_diarize.py --calibration
    python benchmarks/bench_diarize.py --long 8 --cap 200   # long recordings: a spread sample clustered, or all

``--long``: the dev set's many-voice conversations made ``MINUTES`` long; each is diarized clustering every
window and clustering ``--cap`` of them spread evenly (the rest take the nearest voice), as the engine does
beyond ``diarize.MAX_CLUSTERED`` windows; the same voice prints serve both. The cap's share of windows
here (about a third) is what an hour keeps of its windows in the engine.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from diarize_set import (PHONE_CALL, PHONE_CALL_TURNS, PLAN, RATE, Conversation, conversations, load,  # noqa: E402
                         long_conversation, missing_sources, short_calls, speech_time_right)


def der(conv, turns) -> float:
    """DER of ``turns`` (objects with start, end, speaker) against the conversation's reference."""
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    hyp = Annotation(uri=conv.name)
    for i, t in enumerate(turns):
        hyp[Segment(t.start, t.end), i] = int(t.speaker)
    metric = DiarizationErrorRate(collar=0.25, skip_overlap=True)
    return float(metric(conv.annotation(), hyp, uem=Timeline([Segment(0, conv.duration)])))


def final_cuts(audio, pause: float = 0.3, longest: float = 10.0) -> list[float]:
    """Where the live engine ends its finals: after each stretch of speech, once ``pause`` s of silence
    follow it (WebRTC VAD, aggressiveness 3, as the live segmenter), and at least every ``longest`` s."""
    from dgnb.local.models import diarize

    cuts = []
    for start, end in diarize.speech_segments(audio, aggressiveness=3, min_gap=pause):
        cuts += [t for t in np.arange(start + longest, end, longest)] + [end]
    return [float(t) for t in cuts]


def live_turns(conv, method: str | None = None, step: float | None = None):
    """Turns as a live stream labels them, never revised: the words of each final, labelled when the final
    is sent (its end plus the pause that ended it), as the engine does; or, with ``step``, every ``step`` s
    of audio cut anywhere (harsher: a final may end inside a word)."""
    from dgnb.local.models import diarize

    pause = 0.3
    if step:
        stops = [(t, t) for t in np.arange(step, conv.duration + step, step)]
    else:
        stops = [(t, t + pause) for t in final_cuts(conv.audio, pause)] + [(conv.duration, conv.duration)]
    tracker = diarize.SpeakerTracker(method=method)
    fed, lo, out = 0, 0.0, []
    for hi, heard in stops:
        upto = min(int(heard * RATE), len(conv.audio))
        if upto > fed:
            tracker.add(conv.audio[fed:upto])
            fed = upto
        if hi <= lo:
            continue
        for t in tracker.turns():
            if t.end > lo and t.start < hi:
                out.append(diarize.Turn(max(t.start, lo), min(t.end, hi), t.speaker, t.confidence))
        lo = hi
    return out


def run(method: str, conv, live_step: float | None = None):
    from dgnb.local.models import diarize

    t0 = time.perf_counter()
    if method.startswith("live-"):
        turns = live_turns(conv, method.removeprefix("live-"), live_step)
    else:
        turns = diarize.segment_speakers(conv.audio, method=method)
    return turns, time.perf_counter() - t0


def calibration(seeds=(0, 1, 2)) -> None:
    """How often a label given with confidence c is right, per band of c (speech time, every conversation),
    and the speaker-count margin of each conversation against whether its count was right."""
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    from dgnb.local.models import diarize

    conf, right, margins = [], [], []
    for seed in seeds:
        for conv in conversations(seed):
            turns = diarize.segment_speakers(conv.audio)
            n, names = int(conv.duration * 100) + 1, sorted({w for *_, w in conv.reference})
            ref, hyp, c = np.full(n, -1), np.full(n, -1), np.zeros(n)
            for s, e, who in conv.reference:
                ref[int(s * 100):int(e * 100)] = names.index(who)
            for t in turns:
                hyp[int(t.start * 100):int(t.end * 100)], c[int(t.start * 100):int(t.end * 100)] = t.speaker, t.confidence
            both = (ref >= 0) & (hyp >= 0)
            m = np.zeros((hyp.max() + 1, len(names)))
            np.add.at(m, (hyp[both], ref[both]), 1)
            mapping = dict(zip(*linear_sum_assignment(-m)))
            right.append(np.array([mapping.get(h, -1) == r for h, r in zip(hyp[both], ref[both])]))
            conf.append(c[both])
            margins.append((len({t.speaker for t in turns}) == conv.speakers, turns.count_margin, seed, conv.name))
    conf, right = np.concatenate(conf), np.concatenate(right)
    bands = np.clip((conf * 10).astype(int), 0, 9)
    ece = sum(abs(conf[bands == b].mean() - right[bands == b].mean()) * np.mean(bands == b)
              for b in range(10) if np.any(bands == b))
    print(f"speech time labelled right {right.mean():.3f}; mean confidence {conf.mean():.3f}; "
          f"expected calibration error {ece:.3f}")
    for b in range(10):
        if np.any(bands == b):
            print(f"  confidence {b / 10:.1f}-{(b + 1) / 10:.1f}: {np.mean(bands == b):6.1%} of speech, right {right[bands == b].mean():.3f}")
    print("speaker-count margin (uncertain under 0.05) against a right count:")
    for ok, margin, seed, name in sorted(margins, key=lambda r: r[1])[:12]:
        print(f"  {margin:6.3f} {'right' if ok else 'WRONG'} seed {seed} {name}")


def long_recordings(minutes: float, cap: int, seed: int) -> None:
    """Clustering a spread sample of windows against clustering them all, on long many-voice conversations."""
    from dgnb.local.models import diarize

    prints: dict = {}
    embed = diarize._campplus_features

    def remembered(x, windows):  # one set of voice prints per recording, for both ways
        key = (x.ctypes.data, len(x), tuple(windows[:3]), len(windows))
        if key not in prints:
            prints[key] = embed(x, windows)
        return prints[key]

    diarize._campplus_features = remembered
    ways = {"all windows": 10 ** 9, f"{cap} spread": cap}
    scores: dict[str, list[tuple[bool, float, float]]] = {w: [] for w in ways}
    print(f"{'conversation':46s} {'min':>5s} {'windows':>7s} {'true':>4s}" + "".join(f" | {w:>12s} n   DER   sec" for w in ways))
    for i, (speakers, telephone, overlap) in enumerate(PLAN):
        if len(speakers) < 2 or set(speakers) & set(missing_sources()):
            continue
        c = long_conversation(speakers, telephone=telephone, overlap=overlap, minutes=minutes, seed=seed,
                              name=f"{i:02d} {'+'.join(speakers)}{' tel' if telephone else ''}{' ovl' if overlap else ''}")
        x = diarize._check(c.audio)
        windows = diarize._windows(diarize.speech_segments(x), 1 + max(0, len(x) - diarize._WIN) // diarize._HOP)
        remembered(x, windows)  # the voice prints, before either way's clock starts
        row = f"{c.name:46s} {c.duration / 60:5.1f} {len(windows):7d} {c.speakers:4d}"
        for way, most in ways.items():
            diarize.MAX_CLUSTERED = most
            turns, sec = run("campplus", c)
            n, d = len({t.speaker for t in turns}), der(c, turns)
            scores[way].append((n == c.speakers, d, sec))
            row += f" | {'':>12s} {n}{' ' if n == c.speakers else '!'} {d:5.3f} {sec:5.1f}"
        print(row, flush=True)
        prints.clear()
    print()
    for way, rs in scores.items():
        ders = [d for _, d, _ in rs]
        print(f"{way:12s} count right {sum(ok for ok, _, _ in rs)}/{len(rs)}; DER median {statistics.median(ders):.3f} "
              f"range {min(ders):.3f}-{max(ders):.3f}; "
              f"seconds after the voice prints: median {statistics.median(r for _, _, r in rs):.2f}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--method", action="append", help="diarizer method (repeat to compare); default: the engine's")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--short", action="store_true", help="the 60 short two-voice calls instead of the dev set")
    ap.add_argument("--calibration", action="store_true", help="speaker_confidence and count margin, seeds 0-2")
    ap.add_argument("--live-step", type=float, help="live methods label every this many seconds (default: at finals)")
    ap.add_argument("--long", type=float, metavar="MINUTES", help="long recordings: a spread sample clustered, or all")
    ap.add_argument("--cap", type=int, default=200, help="with --long: windows clustered in the spread sample")
    args = ap.parse_args(argv)
    if args.long:
        return long_recordings(args.long, args.cap, args.seed)
    if args.calibration:
        return calibration()
    from dgnb.local.models import diarize

    methods = args.method or [diarize.default_method()]
    if missing_sources():
        print("not installed, left out:", ", ".join(missing_sources()))
    convs = short_calls() if args.short else conversations(args.seed)
    results, agreement = {m: [] for m in methods}, []
    print(f"{'conversation':46s} {'s':>5s} {'true':>4s}" + "".join(f" | {m:>10s} n   DER   sec" for m in methods))
    for c in convs:
        row = f"{c.name:46s} {c.duration:5.1f} {c.speakers:4d}"
        given = {}
        for m in methods:
            turns, sec = run(m, c, args.live_step)
            given[m] = turns
            n = len({t.speaker for t in turns})
            d = der(c, turns)
            results[m].append((n == c.speakers, d, sec / c.duration))
            row += f" | {'':>10s} {n}{' ' if n == c.speakers else '!'} {d:5.3f} {sec:5.2f}"
        if {"campplus", "live-campplus"} <= set(given):
            rest = [(t.start, t.end, str(t.speaker)) for t in given["campplus"]]
            agreement.append(speech_time_right(given["live-campplus"], rest, c.duration))
            row += f" | live agrees {agreement[-1]:.3f}"
        print(row, flush=True)
    if PHONE_CALL.exists() and not args.short:  # the real call, against its hand labels
        call = Conversation("real phone call", load(PHONE_CALL), PHONE_CALL_TURNS, 2, "telephone")
        row = f"{call.name + ' (speech time labelled right)':46s} {call.duration:5.1f} {2:4d}"
        for m in methods:
            turns, sec = run(m, call, args.live_step)
            n = len({t.speaker for t in turns})
            row += f" | {'':>10s} {n}{' ' if n == 2 else '!'} {speech_time_right(turns, call.reference, call.duration):5.3f} {sec:5.2f}"
        print(row)
    print()
    for m, rs in results.items():
        ders = [d for _, d, _ in rs]
        print(f"{m:10s} count right {sum(ok for ok, _, _ in rs)}/{len(rs)}; DER median {statistics.median(ders):.3f} "
              f"range {min(ders):.3f}-{max(ders):.3f}; DER <= 0.10 on {sum(d <= 0.10 for d in ders)}/{len(ders)}; "
              f"real-time factor median {statistics.median(r for _, _, r in rs):.3f}")
    if agreement:
        print(f"live agrees with pre-recorded: median {statistics.median(agreement):.3f}, range {min(agreement):.3f}-"
              f"{max(agreement):.3f}; >= 0.95 on {sum(a >= 0.95 for a in agreement)}/{len(agreement)}")


if __name__ == "__main__":
    main()
