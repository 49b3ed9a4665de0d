"""Live streaming benchmarks: client-side overhead per message, and end-of-speech -> final latency.

    python benchmarks/bench_live.py                 # embedded local engine (no key needed)
    python benchmarks/bench_live.py --no-stream     # only the client overhead (no server)

1. Overhead: the time the client spends on one server message (parse, timestamp shift, dedupe,
   bookkeeping, event dispatch to a LiveTranscript widget) measured on 20,000 Results messages.
2. Latency: preamble-websocket.wav streamed at real-time pace; for each final result, the wall
   time from when the audio of its last word had been sent to when the final arrived.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path

from recorded import AUDIO as RECORDED_AUDIO

import dgnb
from dgnb.api.listen import live as L

AUDIO = RECORDED_AUDIO / "preamble-websocket.wav"


def overhead(n: int = 20_000, with_widget: bool = True) -> dict:
    conn = L.AsyncLiveConnection(dgnb.Client(api_key="k", url="http://127.0.0.1:9")._config)
    frames = []
    for i in range(n):
        words = [{"word": f"w{j}", "punctuated_word": f"W{j}", "start": i * 0.5 + j * 0.1, "end": i * 0.5 + j * 0.1 + 0.08,
                  "confidence": 0.9} for j in range(5)]
        frames.append(json.dumps({"type": "Results", "is_final": i % 3 == 0, "speech_final": False, "start": i * 0.5,
                                  "duration": 0.5, "channel_index": [0, 1], "metadata": {"request_id": "r"},
                                  "channel": {"alternatives": [{"transcript": " ".join(w["word"] for w in words),
                                                                "confidence": 0.9, "words": words}]}}))

    async def run() -> float:
        conn._loop = asyncio.get_running_loop()
        conn._changed = asyncio.Event()
        conn._offset = 12.5  # as after a reconnect: every timestamp is shifted
        if with_widget:
            from dgnb.notebook.widgets import LiveTranscript

            LiveTranscript(conn, flush_interval=0.1)
        t0 = time.perf_counter()
        for frame in frames:
            await conn._handle(frame)
        return time.perf_counter() - t0

    elapsed = asyncio.run(run())
    return {"messages": n, "us_per_message": elapsed / n * 1e6, "finals": len(conn.finals)}


def latency(dg, path: Path) -> dict:
    arrivals = []
    conn = L.stream_file(dg, path, realtime=True, chunk_ms=100, encoding="mulaw", interim_results=False)
    t0 = time.monotonic()  # realtime pacing sends stream time T at about t0 + T
    conn.on("Results", lambda m: arrivals.append((time.monotonic(), m)) if m.is_final and m.words else None)
    conn.wait(timeout=300)
    lat = [arrived - (t0 + max(w["end"] for w in m.words)) for arrived, m in arrivals]
    return {"finals": len(lat), "median_s": statistics.median(lat), "max_s": max(lat),
            "mean_s": statistics.fmean(lat)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-stream", action="store_true", help="skip the latency run against a server")
    parser.add_argument("--file", type=Path, default=AUDIO, help="a mu-law 8 kHz WAV (default: preamble)")
    args = parser.parse_args(argv)
    for widget in (False, True):
        r = overhead(with_widget=widget)
        print(f"client overhead{' + LiveTranscript' if widget else ''}: {r['us_per_message']:.1f} us/message "
              f"({r['messages']} messages, {r['finals']} finals)")
    if not args.no_stream:
        dg = dgnb.Client()
        r = latency(dg, args.file)
        print(f"end of speech -> final result on {dg.url}: median {r['median_s'] * 1000:.0f} ms, "
              f"mean {r['mean_s'] * 1000:.0f} ms, max {r['max_s'] * 1000:.0f} ms over {r['finals']} finals")


if __name__ == "__main__":
    main()
