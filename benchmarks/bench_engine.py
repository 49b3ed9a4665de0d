"""The local engine's speed: POST /v1/listen beside raw faster-whisper, how time and memory grow with the
length of a recording, and live latency from the end of speech to its final result.

    python benchmarks/bench_engine.py [--runs 5] [--no-live]
    python benchmarks/bench_engine.py --scaling [--lengths 5 20 80 320 3600]
    python benchmarks/bench_engine.py --load [--jobs 0 2 8] [--concurrency 1 2 8] [--workers 1 2] [--rounds 3]

1. Per file, alternating run by run: raw faster-whisper (the same model and settings, in this process, on
   the decoded samples), the engine over real HTTP with no options, and the engine with diarize, sentiment,
   smart_format and utterances. Median and range of seconds, and real-time factor (seconds / audio
   seconds; goal <= 0.15 on 2 cores).
2. ``--scaling``: speech of each length (the preamble and two sample dialogues with 3 s pauses) posted
   with diarize, sentiment, utterances and smart_format to a fresh ``dgnb serve`` process; its seconds,
   seconds per audio minute (flat when time is linear), peak RSS, and RSS once warm (every model loaded) (goal for an hour: < 1.5 GB).
3. ``--load``: a fresh ``dgnb serve`` (one per ``--workers`` value, taking turns round by round); REST throughput
   with 1, 2 and 8 requests at a time (16 posts of 30 s of speech with diarize etc.: requests per second, and
   the ratio to one at a time; goal at 8 >= 1.7x on 2 cores), and live latency from the end of speech to its
   final while 0, 2 and 8 pre-recorded jobs (2 minutes of speech each, posted again as soon as answered) run
   (goal: median <= 1 s with 8). And the cores busy, and each server's RSS once warm and at its peak.
"""
from __future__ import annotations

import argparse
import os
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from recorded import AUDIO

import httpx

HERE = Path(__file__).resolve().parent
FILES = ["preamble.wav", "CallCenterPhoneCall.mp3"]
FEATURES = {"diarize": "true", "sentiment": "true", "smart_format": "true", "utterances": "true"}


def _spread(xs: list[float]) -> str:
    return f"{statistics.median(xs):6.2f} ({min(xs):.2f}-{max(xs):.2f})"


def real_time_factor(url: str, key: str, runs: int) -> None:
    from faster_whisper import WhisperModel

    from dgnb.local.models import stt
    from dgnb.local.wire import audio as audio_mod

    model = WhisperModel(stt._describe(None)[0], device="cpu", compute_type="int8", cpu_threads=2)

    def raw(samples) -> None:
        segments, _ = model.transcribe(samples, language="en", word_timestamps=True, beam_size=1)
        list(segments)

    total_audio, totals = 0.0, {}
    with httpx.Client(base_url=url, headers={"Authorization": f"Token {key}"}, timeout=600) as http:
        print(f"{'file':26s} {'audio s':>7s} | {'way':<24s} seconds: median (range)   RTF")
        for name in FILES:
            body = (AUDIO / name).read_bytes()
            samples = audio_mod.decode(body).mono()
            ways = {"raw faster-whisper": lambda: raw(samples),
                    "engine, no options": lambda: http.post("/v1/listen", content=body).raise_for_status(),
                    "engine + diarize etc.": lambda: http.post("/v1/listen", params=FEATURES, content=body).raise_for_status()}
            for way in ways.values():  # warm-up
                way()
            times: dict[str, list[float]] = {w: [] for w in ways}
            for _ in range(runs):
                for w, way in ways.items():  # alternating
                    t = time.perf_counter()
                    way()
                    times[w].append(time.perf_counter() - t)
            duration = samples.size / 16000
            total_audio += duration
            for w, ts in times.items():
                totals[w] = totals.get(w, 0.0) + statistics.median(ts)
                print(f"{name:26s} {duration:7.1f} | {w:<24s} {_spread(ts)}  {statistics.median(ts) / duration:.3f}")
    for w, t in totals.items():
        print(f"{'all files':26s} {total_audio:7.1f} | {w:<24s} {t:6.2f}                 {t / total_audio:.3f}"
              + ("  (goal <= 0.15)" if "diarize" in w else ""))


def _peak_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")) / 1024


def scaling(lengths: list[float]) -> None:
    sys.path.insert(0, str(HERE.parent / "tests"))
    from bench_long_file import long_speech
    from local_server import start_server, stop_server
    from nonspeech import wav_bytes

    print(f"{'audio s':>8s} {'words':>6s} {'seconds':>8s} {'s per audio min':>16s} {'peak RSS MB':>12s} {'warm MB':>11s}")
    for seconds in lengths:
        body = wav_bytes(long_speech(seconds / 60))
        with tempfile.TemporaryDirectory() as tmp:
            server = start_server(Path(tmp))
            try:
                warm = wav_bytes(long_speech(5 / 60))  # every model loaded before the clock starts
                httpx.post(f"{server.url}/v1/listen", params=FEATURES, content=warm, headers=server.headers,
                           timeout=60).raise_for_status()
                rest = _peak_mb(server.process.pid)
                t = time.perf_counter()
                reply = httpx.post(f"{server.url}/v1/listen", params=FEATURES, content=body, headers=server.headers,
                                   timeout=7200)
                took = time.perf_counter() - t
                reply.raise_for_status()
                words = len(reply.json()["results"]["channels"][0]["alternatives"][0]["words"])
                print(f"{seconds:8.0f} {words:6d} {took:8.1f} {took / seconds * 60:16.2f} "
                      f"{_peak_mb(server.process.pid):12.0f} {rest:11.0f}", flush=True)
            finally:
                stop_server(server)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS")) / 1024


def _throughput(server, body: bytes, concurrency: int, requests: int) -> tuple[float, float]:
    """(requests per second, cores busy on average) for ``requests`` posts of ``body``, ``concurrency`` at a time."""
    from concurrent.futures import ThreadPoolExecutor

    def post(_):
        with httpx.Client(headers=server.headers, timeout=600) as http:
            http.post(f"{server.url}/v1/listen", params=FEATURES, content=body).raise_for_status()

    t, cpu = time.perf_counter(), _cpu_seconds(server.process.pid)
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(post, range(requests)))
    took = time.perf_counter() - t
    return requests / took, (_cpu_seconds(server.process.pid) - cpu) / took


def under_load(workers: list[int | None], jobs: list[int], concurrency: list[int], rounds: int,
               requests: int = 16) -> None:
    sys.path.insert(0, str(HERE.parent / "tests"))
    import bench_live_latency as live
    from bench_long_file import long_speech
    from local_server import start_server, stop_server
    from nonspeech import wav_bytes

    short, long = wav_bytes(long_speech(0.5)), wav_bytes(long_speech(2))
    raw = live.wav_data(live.AUDIO.read_bytes())
    stream_end = len(raw) / 8000
    rates: dict[tuple, list[float]] = {}
    cores: dict[tuple, list[float]] = {}
    latencies: dict[tuple, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        servers = {w: start_server(Path(tmp) / str(w), args=("--workers", str(w)) if w else ()) for w in workers}
        try:
            for server in servers.values():  # every model loaded before the clock starts
                _throughput(server, short, 1, 1)
            warm = {w: _rss_mb(server.process.pid) for w, server in servers.items()}
            for r in range(rounds):
                for w, server in servers.items():  # alternating
                    for c in concurrency:
                        rate, busy = _throughput(server, short, c, requests)
                        rates.setdefault((w, c), []).append(rate)
                        cores.setdefault((w, c), []).append(busy)
                    for j in jobs:
                        with live.rest_job(server.url, server.api_key, long, j):
                            rows = asyncio.run(live.run(server.url, server.api_key, raw, None))
                        # the end of the stream is flushed by CloseStream, not by endpointing: left out
                        latencies.setdefault((w, j), []).extend(
                            arrived - end for end, arrived, _ in rows if end < stream_end - 0.5)
                print(f"round {r + 1} of {rounds} done", flush=True)
            peaks = {w: _peak_mb(server.process.pid) for w, server in servers.items()}
        finally:
            for server in servers.values():
                stop_server(server)
    name = lambda w: f"workers {w}" if w else "default workers"
    print(f"REST throughput, {requests} posts of 30 s of speech with diarize etc. (requests/s, median (range) of {rounds})")
    for w in workers:
        one = statistics.median(rates[(w, concurrency[0])])
        for c in concurrency:
            xs = rates[(w, c)]
            print(f"  {name(w):16s} {c} at a time: {_spread(xs)}  x{statistics.median(xs) / one:.2f} of "
                  f"{concurrency[0]} at a time, {statistics.median(cores[(w, c)]):.2f} of {os.cpu_count()} cores busy")
    for w in workers:
        print(f"  {name(w):16s} RSS once warm {warm[w]:.0f} MB, peak {peaks[w]:.0f} MB")
    print("live: end of speech -> final, ms (all finals of every round)")
    for w in workers:
        for j in jobs:
            xs = [x * 1000 for x in latencies[(w, j)]]
            print(f"  {name(w):16s} {j} REST jobs running: {len(xs)} finals, median {statistics.median(xs):.0f} "
                  f"({min(xs):.0f}-{max(xs):.0f})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-live", action="store_true", help="skip the live latency measurement")
    ap.add_argument("--scaling", action="store_true", help="time and peak memory against the recording's length")
    ap.add_argument("--lengths", type=float, nargs="+", default=[5, 20, 80, 320, 3600], help="seconds, with --scaling")
    ap.add_argument("--load", action="store_true", help="REST throughput and live latency under REST load")
    ap.add_argument("--jobs", type=int, nargs="+", default=[0, 2, 8], help="REST jobs running under live, with --load")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 8], help="requests at a time, with --load")
    ap.add_argument("--workers", type=int, nargs="+", default=[None], help="dgnb serve --workers, with --load")
    ap.add_argument("--rounds", type=int, default=3, help="with --load")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE.parent))
    if args.load:
        under_load(args.workers, args.jobs, args.concurrency, args.rounds)
        return 0
    if args.scaling:
        scaling(args.lengths)
        return 0
    from dgnb.local.server import start_in_background

    with tempfile.TemporaryDirectory() as tmp:
        server = start_in_background(data_dir=tmp)
        try:
            real_time_factor(server.url, server.api_key, args.runs)
            if not args.no_live:
                import bench_live_latency as live

                raw = live.wav_data(live.AUDIO.read_bytes())
                rows = asyncio.run(live.run(server.url, server.api_key, raw, None))
                stream_end = len(raw) / 8000
                lat = [arrived - end for end, arrived, _ in rows if end < stream_end - 0.5]
                if lat:
                    print(f"live: {len(lat)} finals, end of speech -> final median {statistics.median(lat) * 1000:.0f} ms, "
                          f"max {max(lat) * 1000:.0f} ms (goal <= 500 ms)")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
