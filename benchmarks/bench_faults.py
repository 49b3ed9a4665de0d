"""What malformed input costs the engine: time to the answer and the server's peak memory, per case.

A real ``dgnb serve`` subprocess gets, ``--rounds`` times each, every lying WAV header of
``malformed.py``, and other hostile bodies (empty, random bytes, a cut MP3, text, a 1 Hz header over
32 KB). Before each request the server's peak resident memory is reset (``/proc/PID/clear_refs``), so
its ``VmHWM`` afterwards is the peak during that request. Printed per case: the status, the seconds to
the answer (median, max) and the peak memory above the idle server (median, max). Goal: every case a
400 within 2 s and 200 MB.

    python benchmarks/bench_faults.py [--rounds 3]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from malformed import LIES, TONE, wav
from recorded import AUDIO

import httpx
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))


def cases() -> list[tuple[str, bytes]]:
    mp3 = (AUDIO / "CallCenterPhoneCall.mp3").read_bytes()
    noise = np.random.default_rng(0).integers(0, 256, 256 * 1024, dtype=np.uint8).tobytes()
    return [(name, body) for name, body, _ in LIES] + [
        ("empty body", b""),
        ("random bytes 256 KB", noise),
        ("mp3 cut to its first 2 KB", mp3[:2048]),
        ("mp3 with its middle torn out", mp3[:40000] + noise[:40000] + mp3[-40000:]),
        ("text", b"this is not audio " * 100),
        ("1 Hz header over 32 KB", wav(rate=1, data=TONE[:32000])),
    ]


def _kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def main(argv=None) -> int:
    from local_server import start_server, stop_server

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp))
        pid = server.process.pid
        try:
            # one honest request first, so the model and the decoders are loaded before anything is measured
            httpx.post(server.url + "/v1/listen", content=wav(), headers=server.headers, timeout=120).raise_for_status()
            print(f"{'case':32s} {'status':>6s} {'s median':>9s} {'s max':>6s} {'MB median':>10s} {'MB max':>7s}")
            worst_s = worst_mb = 0.0
            for name, body in cases():
                seconds, mb, statuses = [], [], set()
                for _ in range(args.rounds):
                    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
                    idle = _kb(pid, "VmRSS")
                    t0 = time.perf_counter()
                    r = httpx.post(server.url + "/v1/listen", content=body, timeout=300,
                                   headers={**server.headers, "Content-Type": "audio/wav"})
                    seconds.append(time.perf_counter() - t0)
                    mb.append((_kb(pid, "VmHWM") - idle) / 1024)
                    statuses.add(r.status_code)
                worst_s, worst_mb = max(worst_s, max(seconds)), max(worst_mb, max(mb))
                print(f"{name:32s} {'/'.join(map(str, sorted(statuses))):>6s} {statistics.median(seconds):9.3f} "
                      f"{max(seconds):6.3f} {statistics.median(mb):10.1f} {max(mb):7.1f}", flush=True)
            print(f"\nworst: {worst_s:.3f} s, {worst_mb:.1f} MB above idle (goal: 2 s, 200 MB)")
        finally:
            stop_server(server)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
