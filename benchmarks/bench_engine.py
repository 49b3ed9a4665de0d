"""The local engine's speed: real-time factor of POST /v1/listen with diarize + sentiment, and live
latency from the end of speech to its final result.

    python benchmarks/bench_engine.py [--runs 3] [--no-live]

Real-time factor = processing seconds / audio seconds (goal <= 0.15 on 2 cores), measured over
real HTTP against an engine started in the background, per file and in total.
"""
from __future__ import annotations

import argparse
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


def real_time_factor(url: str, key: str, runs: int) -> None:
    total_audio = total_time = 0.0
    with httpx.Client(base_url=url, headers={"Authorization": f"Token {key}"}, timeout=600) as http:
        for name in FILES:
            body = (AUDIO / name).read_bytes()
            params = {"diarize": "true", "sentiment": "true", "smart_format": "true", "utterances": "true"}
            http.post("/v1/listen", params=params, content=body).raise_for_status()  # warm-up
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                reply = http.post("/v1/listen", params=params, content=body)
                times.append(time.perf_counter() - t)
                reply.raise_for_status()
            duration = reply.json()["metadata"]["duration"]
            best = statistics.median(times)
            total_audio, total_time = total_audio + duration, total_time + best
            speakers = {w.get("speaker") for w in reply.json()["results"]["channels"][0]["alternatives"][0]["words"]}
            print(f"{name:28s} {duration:6.1f} s audio  {best:6.2f} s  RTF {best / duration:.3f}  speakers {len(speakers)}")
    print(f"{'all files':28s} {total_audio:6.1f} s audio  {total_time:6.2f} s  RTF {total_time / total_audio:.3f} (goal <= 0.15)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-live", action="store_true", help="skip the live latency measurement")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE.parent))
    from dgnb.local.server import start_in_background

    with tempfile.TemporaryDirectory() as tmp:
        server = start_in_background(data_dir=tmp)
        try:
            real_time_factor(server.url, server.api_key, args.runs)
            if not args.no_live:
                sys.path.insert(0, str(HERE))
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
