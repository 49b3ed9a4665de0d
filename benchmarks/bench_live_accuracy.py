"""Live against pre-recorded: word error rate of live finals and of POST /v1/listen on the same audio.

Each recording is sent whole to ``POST /v1/listen`` and streamed to the live ``/v1/listen`` WebSocket
(linear16, 100 ms chunks, as fast as the engine takes them, or at real-time pace with ``--realtime``)
of an engine started in the background; the finals are joined and both are scored against the truth.
Recordings: the preamble, wide band and mu-law 8 kHz (truth: Deepgram nova-3's transcript in the fixtures), pocketsphinx-testdata's
five librivox sentences joined with 1 s pauses (truth: their transcription), and sample support
dialogues (truth: their script). Printed per recording: WER of REST and of live for each amount of
``--context`` (seconds of audio before a phrase read with it, its words dropped), then per setting the
median and range of live minus REST. ``--min-silence``: the pause (seconds) that ends a final.

    python benchmarks/bench_live_accuracy.py [--dialogues 4] [--realtime] [--context 0 --context 3] [--min-silence 0.2 --min-silence 0.3]
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import statistics
import sys
import tempfile
from pathlib import Path

from bench_recogniser import SPHINX, _transcriptions
from bench_stt_window import nova3_preamble
from bench_voices import wer
from recorded import FIXTURES

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
RATE = 16000


def recordings(dialogues: int) -> list[tuple[str, np.ndarray, str]]:
    """(name, 16 kHz mono float32, true words) of every recording installed here."""
    from dgnb.local.models import samples
    from dgnb.local.wire import audio

    out = [("preamble", audio.decode(FIXTURES / "audio" / "preamble.wav").mono(), nova3_preamble()),
           ("preamble mu-law 8 kHz", audio.decode(FIXTURES / "audio" / "preamble-websocket.wav").mono(), nova3_preamble())]
    if (SPHINX / "librivox" / "transcription").exists():
        parts = _transcriptions(SPHINX / "librivox", "transcription")
        gap = np.zeros(RATE, np.float32)
        out.append(("librivox x5", np.concatenate([y for p, _ in parts for y in (audio.decode(p).mono(), gap)]),
                    " ".join(text for _, text in parts)))
    for seed in range(dialogues):
        talk = samples.dialogue(seed=seed)
        out.append((f"dialogue seed {seed}", talk.samples, " ".join(text for _, text, _, _ in talk.turns)))
    return out


def pcm16(x: np.ndarray) -> bytes:
    return (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()


def rest(url: str, headers: dict, x: np.ndarray) -> str:
    r = httpx.post(url + "/v1/listen", params={"encoding": "linear16", "sample_rate": RATE, "punctuate": "true"},
                   content=pcm16(x), headers={**headers, "Content-Type": "audio/raw"}, timeout=600)
    r.raise_for_status()
    return r.json()["results"]["channels"][0]["alternatives"][0]["transcript"]


async def live(url: str, headers: dict, x: np.ndarray, realtime: bool) -> str:
    import websockets

    raw, step = pcm16(np.concatenate([x, np.zeros(RATE, np.float32)])), RATE // 10 * 2
    query = f"encoding=linear16&sample_rate={RATE}&punctuate=true"
    finals = []
    async with websockets.connect(url.replace("http://", "ws://") + "/v1/listen?" + query,
                                  additional_headers=headers, max_size=None) as ws:
        async def sender():
            for i in range(0, len(raw), step):
                await ws.send(raw[i:i + step])
                if realtime:
                    await asyncio.sleep(0.1)
            await ws.send(json.dumps({"type": "CloseStream"}))

        task = asyncio.create_task(sender())
        async for message in ws:
            m = json.loads(message)
            if m.get("type") == "Results" and m["is_final"]:
                finals.append(m["channel"]["alternatives"][0]["transcript"])
        await task
    return " ".join(f for f in finals if f)


@contextlib.contextmanager
def live_settings(**fields):
    """Live streams opened inside segment with these ``SegmenterConfig`` fields (e.g. ``context=3``:
    seconds of audio re-read before a phrase; ``min_silence=0.3``: the pause that ends a final);
    the engine's own settings are back afterwards."""
    from dgnb.local.models import streaming

    engine_config = streaming.SegmenterConfig
    streaming.SegmenterConfig = functools.partial(engine_config, **fields)
    try:
        yield
    finally:
        streaming.SegmenterConfig = engine_config


def settings_to_compare(args) -> list[dict]:
    """Every combination of the ``--context`` and ``--min-silence`` values asked (the engine's own if none)."""
    from dgnb.local.models import streaming

    own = streaming.SegmenterConfig()
    return [{"context": c, "min_silence": m} for c in args.context or [own.context]
            for m in args.min_silence or [own.min_silence]]


def label(setting: dict) -> str:
    return f"context {setting['context']:g} s, pause {setting['min_silence']:g} s"


def add_setting_options(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--context", action="append", type=float, help="seconds of context audio re-read before a phrase (repeat)")
    ap.add_argument("--min-silence", action="append", type=float, help="seconds of pause that end a final (repeat)")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dialogues", type=int, default=4)
    ap.add_argument("--realtime", action="store_true", help="stream at real-time pace")
    add_setting_options(ap)
    args = ap.parse_args(argv)
    from dgnb.local.server import start_in_background

    settings = settings_to_compare(args)
    with tempfile.TemporaryDirectory() as tmp:
        server = start_in_background(data_dir=tmp)
        headers = {"Authorization": f"Token {server.api_key}"}
        diffs: list[list[float]] = [[] for _ in settings]
        print(f"{'recording':22s} {'s':>6s} {'REST':>6s}" + "".join(f" {f'live {i + 1}':>7s}" for i in range(len(settings))))
        for name, x, truth in recordings(args.dialogues):
            a = wer(truth, rest(server.url, headers, x))
            row = f"{name:22s} {len(x) / RATE:6.1f} {a:6.3f}"
            for i, setting in enumerate(settings):
                with live_settings(**setting):
                    b = wer(truth, asyncio.run(live(server.url, headers, x, args.realtime)))
                diffs[i].append(b - a)
                row += f" {b:7.3f}"
            print(row, flush=True)
        print()
        for i, (setting, d) in enumerate(zip(settings, diffs)):
            print(f"live {i + 1} ({label(setting)}): live - REST median {statistics.median(d):+.3f}, "
                  f"range {min(d):+.3f} to {max(d):+.3f}")


if __name__ == "__main__":
    main()
