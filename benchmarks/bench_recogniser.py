"""How well, and how fast, the local recogniser reads pre-recorded speech, per decoding setting.

Corpora, each with its true words:

- ``preamble``: the fixtures' preamble.wav (truth: Deepgram nova-3's transcript in the fixtures);
- ``librivox``, ``cards``: pocketsphinx-testdata's read book sentences and spoken playing cards
  (Debian ``pocketsphinx-testdata``; truth: their transcription files);
- ``demo call``: the sample two-voice dialogue (``dgnb.local.models.samples``; truth: its script);
- ``sentences``: the sentence set of ``bench_voices.py`` (numbers, names, addresses, dates, e-mail,
  the demos' lines) spoken by each clear voice the engine speaks with (truth: the text).

Settings are run alternately (``--rounds`` times each); printed per corpus and setting: WER
(numbers compared as digits) and decoding seconds, median and range over the rounds.

    python benchmarks/bench_recogniser.py [--beam 1 --beam 5] [--rounds 2]
    python benchmarks/bench_recogniser.py --model default --model whisper-base --beam 1   # pip install "dgnb[accurate]"
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from bench_stt_window import nova3_preamble
from bench_voices import SENTENCES, normalise
from diarize_set import SPHINX
from recorded import FIXTURES

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _transcriptions(folder: Path, listing: str) -> list[tuple[Path, str]]:
    out = []
    for line in (folder / listing).read_text().splitlines():
        if "(" in line:
            text, _, name = line.rpartition("(")
            out.append((folder / f"{name.strip(' )')}.wav", text.replace("<s>", "").replace("</s>", "").strip()))
    return out


def corpora() -> dict[str, list[tuple[np.ndarray, str]]]:
    """corpus name -> [(16 kHz mono float32 audio, true words)], for what is installed here."""
    from dgnb.local.models import samples, tts, voices
    from dgnb.local.wire import audio

    out = {"preamble": [(audio.decode(FIXTURES / "audio" / "preamble.wav").mono(), nova3_preamble())]}
    for name, listing in (("librivox", "transcription"), ("cards", "cards.transcription")):
        if (SPHINX / name / listing).exists():
            out[name] = [(audio.decode(p).mono(), text) for p, text in _transcriptions(SPHINX / name, listing)]
    call = samples.dialogue()
    out["demo call"] = [(call.samples, " ".join(text for _, text, _, _ in call.turns))]
    for voice in sorted({v for vs in tts.CLEAR_VOICES.values() for v in vs}):
        if voices.available(voice):
            out[f"sentences {voice}"] = [
                (audio.resample(x[None, :], rate)[0] if rate != 16000 else x, s)
                for s in SENTENCES for x, rate in [voices.synthesize(s, voice)]]
    return out


def wer(pairs: list[tuple[str, str]]) -> float:
    """Word error rate over the whole corpus (errors over true words)."""
    import jiwer

    refs, hyps = zip(*[(normalise(t), normalise(h)) for t, h in pairs])
    return float(jiwer.wer(list(refs), list(hyps)))


def read(recognizer, clips) -> tuple[float, float]:
    t0, pairs = time.perf_counter(), []
    for x, truth in clips:
        words = recognizer.transcribe(x)
        pairs.append((truth, " ".join(w.get("punctuated_word", w["word"]) for w in words)))
    return wer(pairs), time.perf_counter() - t0


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--beam", action="append", type=int, help="beam size to compare (repeat); default 1 and 5")
    ap.add_argument("--model", action="append", help="a model (dgnb serve --model; 'default': tiny.en) to compare (repeat)")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    from dgnb.local.models.stt import get_recognizer

    models = [None if m == "default" else m for m in args.model or ["default"]]
    settings = [(m, b) for m in models for b in args.beam or [1, 5]]
    name = {s: f"{Path(s[0]).name if s[0] else 'tiny.en'} beam {s[1]}" for s in settings}
    sets = corpora()
    results = {(c, s): [] for c in sets for s in settings}
    for _ in range(args.rounds):
        for corpus, clips in sets.items():
            for setting in settings:  # alternating, so the machine's load falls on all alike
                recognizer = get_recognizer(setting[0])
                recognizer.beam_size = setting[1]
                results[corpus, setting].append(read(recognizer, clips))
    audio_s = {c: sum(len(x) for x, _ in clips) / 16000 for c, clips in sets.items()}
    print(f"{'corpus':44s} {'audio s':>7s}" + "".join(f" | {name[s]:>16s}: WER   s (median, range)" for s in settings))
    for corpus in sets:
        row = f"{corpus:44s} {audio_s[corpus]:7.1f}"
        for setting in settings:
            wers, secs = zip(*results[corpus, setting])
            row += f" | {statistics.median(wers):23.3f} {statistics.median(secs):5.2f} ({min(secs):.2f}-{max(secs):.2f})"
        print(row)
    for setting in settings:
        total = sum(statistics.median(s for _, s in results[c, setting]) for c in sets)
        print(f"{name[setting]}: real-time factor {total / sum(audio_s.values()):.3f} over {sum(audio_s.values()):.0f} s of audio")


if __name__ == "__main__":
    main()
