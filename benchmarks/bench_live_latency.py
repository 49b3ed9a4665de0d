"""Latency of live /v1/listen finals on the local engine.

Streams preamble-websocket.wav (mu-law 8 kHz) in 100 ms chunks at real-time pace to an
embedded local engine and prints, for each final with words, the time from the end of its
last word (in stream time, mapped to wall time by the pace of sending) to the arrival of the
final. Goal: median and max <= 0.5 s.

    python benchmarks/bench_live_latency.py [--endpointing MS] [--interim] [--context 0 --context 4] [--min-silence 0.2 --min-silence 0.3]

With ``--context`` or ``--min-silence`` given more than once, the settings take turns (``--rounds`` each) on one engine
and the median and range of each are printed side by side. ``--rest-load``: each setting also streams while the
engine transcribes pre-recorded audio (2 minutes of speech with diarize, sentiment and utterances, posted again
as soon as it is answered), the quiet and loaded rounds alternating.

    python benchmarks/bench_live_latency.py --rest-load --rounds 3
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_live_accuracy import add_setting_options, label, live_settings, settings_to_compare
from recorded import AUDIO as RECORDED_AUDIO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
AUDIO = RECORDED_AUDIO / "preamble-websocket.wav"


def wav_data(blob: bytes) -> bytes:
    """The raw samples of a WAV file."""
    from dgnb._core.audio import parse_wav_header

    info = parse_wav_header(blob[:4096])
    return blob[info.data_offset:info.data_offset + info.data_bytes]


async def run(url: str, key: str, raw: bytes, endpointing: int | None,
              interim: bool = False) -> list[tuple[float, float, str]]:
    import websockets

    query = "encoding=mulaw&sample_rate=8000&punctuate=true"
    if endpointing is not None:
        query += f"&endpointing={endpointing}"
    if interim:
        query += "&interim_results=true"
    rows: list[tuple[float, float, str]] = []
    async with websockets.connect(url.replace("http://", "ws://") + "/v1/listen?" + query,
                                  additional_headers={"Authorization": f"Token {key}"}) as ws:
        t0 = time.monotonic()

        async def sender():
            for i, k in enumerate(range(0, len(raw), 800)):
                # chunk i holds stream time [i*0.1, (i+1)*0.1): send it when that audio has "happened"
                await asyncio.sleep(max(0.0, t0 + (i + 1) * 0.1 - time.monotonic()))
                await ws.send(raw[k:k + 800])
            await ws.send(json.dumps({"type": "CloseStream"}))

        task = asyncio.create_task(sender())
        async for message in ws:
            m = json.loads(message)
            if m.get("type") != "Results" or not m["is_final"]:
                continue
            words = m["channel"]["alternatives"][0]["words"]
            if not words:
                continue
            arrived = time.monotonic() - t0
            rows.append((words[-1]["end"], arrived, m["channel"]["alternatives"][0]["transcript"]))
        await task
    return rows


@contextlib.contextmanager
def rest_job(url: str, key: str, body: bytes | None, jobs: int = 1):
    """While inside: ``jobs`` pre-recorded transcriptions at a time keep the engine busy (none when ``body`` is
    None or ``jobs`` is 0), each posted again as soon as it is answered."""
    if body is None or jobs == 0:
        yield
        return
    import httpx

    done, answered = threading.Event(), []

    def post_again() -> None:
        params = {"diarize": "true", "sentiment": "true", "utterances": "true", "smart_format": "true"}
        with httpx.Client(headers={"Authorization": f"Token {key}"}, timeout=600) as http:
            while not done.is_set():
                http.post(f"{url}/v1/listen", params=params, content=body).raise_for_status()
                answered.append(1)

    workers = [threading.Thread(target=post_again) for _ in range(jobs)]
    for worker in workers:
        worker.start()
    try:
        yield
    finally:
        done.set()
        for worker in workers:
            worker.join()  # the jobs under way end before the next round


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpointing", type=int, default=None, help="endpointing in ms (default: Deepgram's 10)")
    ap.add_argument("--interim", action="store_true", help="ask for interim results too")
    add_setting_options(ap)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--rest-load", action="store_true", help="also stream while a pre-recorded job runs (alternating)")
    args = ap.parse_args(argv)
    from dgnb.local.server import start_in_background

    raw = wav_data(AUDIO.read_bytes())
    body = None
    if args.rest_load:
        from bench_long_file import long_speech
        from nonspeech import wav_bytes

        body = wav_bytes(long_speech(2))
    settings = [dict(s, load=load) for s in settings_to_compare(args) for load in ([False, True] if body else [False])]
    latencies: list[list[float]] = [[] for _ in settings]
    with tempfile.TemporaryDirectory() as tmp:
        server = start_in_background(data_dir=tmp)
        try:
            for _ in range(args.rounds):
                for i, setting in enumerate(settings):  # alternating
                    fields = {k: v for k, v in setting.items() if k != "load"}
                    with live_settings(**fields), rest_job(server.url, server.api_key, body if setting["load"] else None):
                        rows = asyncio.run(run(server.url, server.api_key, raw, args.endpointing, args.interim))
                    # The end of the stream is flushed by CloseStream, not by endpointing: leave it out.
                    stream_end = len(raw) / 8000
                    latencies[i] += [arrived - end for end, arrived, _ in rows if end < stream_end - 0.5]
                    if len(settings) == 1 and args.rounds == 1:
                        for end, arrived, text in rows:
                            print(f"last word ends {end:6.2f} s  final arrives {arrived:6.2f} s  "
                                  f"latency {arrived - end:5.2f} s  {text}")
        finally:
            server.stop()
    for setting, lat in zip(settings, latencies):
        if lat:
            print(f"{label(setting)}{', one REST job' if setting['load'] else ''}: finals {len(lat)}  median latency {statistics.median(lat) * 1000:.0f} ms  "
                  f"range {min(lat) * 1000:.0f}-{max(lat) * 1000:.0f} ms  (goal <= 500 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
