"""100 files: dgnb ``transcribe_many(concurrency=16)`` vs a sequential loop of the official deepgram-sdk,
against the same loopback server; prints both wall times and the ratio (goal >= 8x).

The default server answers every POST /v1/listen with a real Deepgram reply after ``--latency``
seconds (what a hosted API spends per file; Deepgram is typically 0.2-1 s for short files), so the
ratio measures how well each client overlaps that wait. ``--local`` uses the real local engine
(``dgnb serve``) instead: on a 2-core machine Whisper's CPU time dominates there, so expect a
ratio near the number of cores, not 8x. The cache is off (``cache=False``): every file is a request.

Run: ``python benchmarks/bench_batch.py [--files 100] [--latency 0.3] [--local]``.
"""
from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import wave
from pathlib import Path

from recorded import AUDIO, RESPONSES

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESPONSE = next((RESPONSES / "listen-rest").glob("b00dc*-response.json"))
PREAMBLE = AUDIO / "preamble.wav"

SERVER = textwrap.dedent(
    """
    import asyncio, sys, uuid, uvicorn
    body, latency = open(sys.argv[2], "rb").read(), float(sys.argv[3])
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        await asyncio.sleep(latency)  # the hosted API's processing time
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"), (b"dg-request-id", str(uuid.uuid4()).encode())]})
        await send({"type": "http.response.body", "body": body})
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", backlog=256)
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_files(folder: Path, n: int) -> list[Path]:
    """``n`` distinct 1.5 s clips of the preamble."""
    with wave.open(str(PREAMBLE)) as w:
        rate, width, pcm = w.getframerate(), w.getsampwidth(), w.readframes(w.getnframes())
    frames = len(pcm) // width
    out = []
    for i in range(n):
        start = (i * int(0.17 * rate)) % max(1, frames - int(1.5 * rate))
        clip = pcm[start * width:(start + int(1.5 * rate)) * width]
        path = folder / f"clip{i:03d}.wav"
        with wave.open(str(path), "wb") as o:
            o.setnchannels(1), o.setsampwidth(width), o.setframerate(rate)
            o.writeframes(clip)
        out.append(path)
    return out


def start_scripted(latency: float):
    import httpx

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(RESPONSE), str(latency)])
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(url, timeout=0.5)
            break
        except httpx.HTTPError:
            time.sleep(0.05)
    return proc, url, "bench-key"


def start_local(folder: Path):
    sys.path.insert(0, str(ROOT / "tests"))
    from local_server import start_server

    server = start_server(folder / "engine")
    return server.process, server.url, server.api_key


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--latency", type=float, default=0.3)
    ap.add_argument("--local", action="store_true", help="the real local engine instead of a fixed-latency server")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = make_files(folder, args.files)
        proc, url, key = start_local(folder) if args.local else start_scripted(args.latency)
        try:
            import dgnb
            from dgnb.api.batch import transcribe_many
            from deepgram import DeepgramClient
            from deepgram.environment import DeepgramClientEnvironment

            ws = url.replace("http", "ws")
            sdk = DeepgramClient(api_key=key, environment=DeepgramClientEnvironment(
                base=url, production=ws, agent=ws, agent_rest=url))
            sdk.listen.v1.media.transcribe_file(request=files[0].read_bytes())  # warm-up
            started = time.perf_counter()
            sdk_words = 0
            for path in files:
                reply = sdk.listen.v1.media.transcribe_file(request=path.read_bytes())
                sdk_words += len(reply.results.channels[0].alternatives[0].words or [])
            sdk_time = time.perf_counter() - started

            with dgnb.Client(api_key=key, url=url) as dg:
                dg.transcribe(files[0])  # warm-up
                started = time.perf_counter()
                df = transcribe_many(dg, files, concurrency=args.concurrency, cache=False, progress=False)
                dgnb_time = time.perf_counter() - started
            ok = int((df.status == "ok").sum())
            dgnb_words = int(sum(len(t.words) for t in df.transcript if t is not None))
        finally:
            proc.terminate()
            proc.wait(10)

    server = "local engine (dgnb serve)" if args.local else f"loopback server, {args.latency:g} s per request"
    print(f"{args.files} files, {server}")
    print(f"official deepgram-sdk, sequential:        {sdk_time:7.2f} s  ({sdk_words} words)")
    print(f"dgnb transcribe_many(concurrency={args.concurrency}):   {dgnb_time:7.2f} s  ({ok} ok, {dgnb_words} words)")
    print(f"ratio: {sdk_time / dgnb_time:.1f}x  (goal >= 8x)")


if __name__ == "__main__":
    main()
