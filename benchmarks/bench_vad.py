"""Which voice-activity stage keeps the words and invents none: measured side by side.

For each candidate it prints, over the same audio:
- words invented on the non-speech set (``nonspeech.py``: silence, noise, hum, sweep, DTMF, hold
  music) and the seconds of it passed to the recogniser (false alarms);
- word error rate on speech (the preamble, truth Deepgram nova-3; synthetic dialogues, truth their
  script), alone and with 5-30 s gaps of silence and noise in its pauses;
- decoding time.
Candidates: no stage (the whole file to Whisper, as before), webrtcvad regions (what live uses to
cut phrases), and the Silero model faster-whisper ships (the engine's choice). Then 60 minutes of
digital silence through a real ``dgnb serve``: words, seconds, and the server's peak memory.

    python benchmarks/bench_vad.py [--dialogues 4] [--skip-hour]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from nonspeech import RATE, non_speech, wav_bytes
from recorded import AUDIO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def webrtc_clips(x: np.ndarray, mode: int = 3, pad: float = 0.4, join: float = 2.0) -> list[float]:
    """webrtcvad's voiced 30 ms frames as clips, padded and joined across pauses under ``join`` s."""
    import webrtcvad

    vad, frame = webrtcvad.Vad(mode), RATE * 30 // 1000
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2")
    voiced = [i * frame / RATE for i in range(len(pcm) // frame)
              if vad.is_speech(pcm[i * frame:(i + 1) * frame].tobytes(), RATE)]
    regions: list[list[float]] = []
    for t in voiced:
        if regions and t - regions[-1][1] < join:
            regions[-1][1] = t + 0.03
        else:
            regions.append([t, t + 0.03])
    end = len(x) / RATE
    return [round(v, 3) for s, e in regions for v in (max(0.0, s - pad), min(end, e + pad))]


def candidates():
    from dgnb.local.models import stt

    return {"none": lambda x: None, "webrtcvad": webrtc_clips, "silero": stt.speech_clips}


def decode(x: np.ndarray, clips: list[float] | None) -> list[str]:
    """Words of ``x``, decoding only ``clips`` (all of it when None), as the engine decodes."""
    from dgnb.local.models import stt

    model = stt.get_recognizer()._model
    stt._window.frames = stt.WINDOWS[-1]
    if clips is not None and not clips:
        return []
    segments, _ = model.transcribe(x, language="en", word_timestamps=True, beam_size=1,
                                   condition_on_previous_text=False,
                                   clip_timestamps="0" if clips is None else clips)
    return [stt.plain_word(w.word) for s in segments for w in (s.words or []) if stt.plain_word(w.word)]


def speech_set(dialogues: int) -> list[tuple[str, np.ndarray, str]]:
    from bench_stt_window import nova3_preamble

    from dgnb.local.models import samples
    from dgnb.local.wire import audio

    out = [("preamble", audio.decode(AUDIO / "preamble.wav").mono(), nova3_preamble())]
    for seed in range(3, 3 + dialogues):
        talk = samples.dialogue(seed=seed)
        out.append((f"dialogue-{seed}", audio.resample(talk.samples[None, :], talk.sample_rate)[0],
                    " ".join(text for _, text, _, _ in talk.turns)))
    return out


def with_gaps(x: np.ndarray, fillers: dict[str, np.ndarray]) -> np.ndarray:
    """``x`` with 5 s of silence, 12 s of pink noise and 30 s of quiet white noise in its three
    quietest 0.3 s stretches (its pauses), found from the signal's energy, not from any transcript."""
    hop = int(0.3 * RATE)
    energy = [float(np.mean(x[i:i + hop] ** 2)) for i in range(hop, len(x) - 2 * hop, hop)]
    picks: list[int] = []
    for i in np.argsort(energy):
        if all(abs(i - p) > 5 for p in picks):
            picks.append(int(i))
        if len(picks) == 3:
            break
    cuts = sorted((p + 1) * hop + hop // 2 for p in picks)
    gaps = [np.zeros(5 * RATE, np.float32), fillers["pink-noise"][:12 * RATE],
            np.tile(fillers["white-noise-quiet"], 2)[:30 * RATE]]
    pieces, prev = [], 0
    for cut, gap in zip(cuts, gaps):
        pieces += [x[prev:cut], gap]
        prev = cut
    return np.concatenate(pieces + [x[prev:]])


def hour_of_silence() -> tuple[int, float, float]:
    """(words, seconds, server peak RSS MB) for 60 minutes of digital silence over REST."""
    import httpx

    sys.path.insert(0, str(ROOT / "tests"))
    import tempfile

    from local_server import start_server, stop_server

    body = wav_bytes(np.zeros(3600 * RATE, dtype=np.float32))
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp))
        try:
            t = time.perf_counter()
            r = httpx.post(f"{server.url}/v1/listen", content=body, headers=server.headers, timeout=3600)
            seconds = time.perf_counter() - t
            r.raise_for_status()
            words = len(r.json()["results"]["channels"][0]["alternatives"][0]["words"])
            status = Path(f"/proc/{server.process.pid}/status").read_text()
            peak = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")) / 1024
        finally:
            stop_server(server)
    return words, seconds, peak


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dialogues", type=int, default=4)
    ap.add_argument("--skip-hour", action="store_true", help="skip the 60 minutes of silence")
    args = ap.parse_args()
    from dgnb.notebook.demo import word_error_rate

    fillers = non_speech(30.0)
    speech = speech_set(args.dialogues)
    gapped = [(name, with_gaps(x, fillers), truth) for name, x, truth in speech]
    print(f"{len(fillers)} non-speech cases of 30 s; {len(speech)} speech files "
          f"({sum(len(x) for _, x, _ in speech) / RATE:.0f} s), alone and with 47 s of gaps each\n")
    print(f"{'stage':10s} {'invented':>8s} {'false-alarm s':>13s} {'WER alone':>9s} {'WER gapped':>10s} "
          f"{'per-file WER spread (alone)':>28s} {'decode s':>9s}")
    for name, clips_of in candidates().items():
        t = time.perf_counter()
        invented = false_alarm = 0.0
        for x in fillers.values():
            clips = clips_of(x)
            invented += len(decode(x, clips))
            false_alarm += len(x) / RATE if clips is None else sum(clips[1::2]) - sum(clips[::2])
        wers, hyps, hyps_gapped = [], [], []
        for (_, x, truth), (_, y, _) in zip(speech, gapped):
            hyp = " ".join(decode(x, clips_of(x)))
            hyps.append(hyp)
            wers.append(word_error_rate(truth, hyp))
            hyps_gapped.append(" ".join(decode(y, clips_of(y))))
        truths = " ".join(t for _, _, t in speech)
        spread = f"{min(wers):.3f} / {statistics.median(wers):.3f} / {max(wers):.3f}"
        print(f"{name:10s} {invented:8.0f} {false_alarm:13.1f} {word_error_rate(truths, ' '.join(hyps)):9.3f} "
              f"{word_error_rate(truths, ' '.join(hyps_gapped)):10.3f} {spread:>28s} {time.perf_counter() - t:9.1f}")
    if not args.skip_hour:
        words, seconds, peak = hour_of_silence()
        print(f"\n60 min of digital silence over REST: {words} words, {seconds:.1f} s "
              f"({seconds / 36:.2f}% of real time), server peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
