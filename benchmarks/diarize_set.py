"""A development set for diarization, built from real recordings of different real voices.

Voices come from registry packages and the recorded fixtures (nothing is downloaded):
- Debian ``codec2-examples`` (``/usr/share/codec2``, 8 kHz, LGPL-2.1): radio amateurs and test readers;
- Debian ``pocketsphinx-testdata`` (``/usr/share/pocketsphinx/test/data``, 16 kHz, BSD-2): a LibriVox
  reader and the "cards" speaker;
- the fixtures' reader of ``preamble.wav``.

Each voice is cut into utterances at its pauses (WebRTC VAD). A conversation takes two to four voices
and alternates their utterances (a voice never follows itself) with gaps of 0.1-2 s, some turns
overlapping the previous one; half of the conversations are band-limited to telephone band (8 kHz).
The reference is exact: the speech regions of each utterance where the script placed it. One-voice
recordings are included too (the count must stay one). Everything is seeded: the same seed builds the
same audio.

    from diarize_set import conversations
    for c in conversations():
        print(c.name, c.speakers, round(c.duration, 1), len(c.reference))

A voice whose package is not installed is left out (``missing_sources()`` names them); install with
``apt-get install codec2-examples pocketsphinx-testdata``.
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from recorded import AUDIO

RATE = 16000
CODEC2 = Path("/usr/share/codec2")
SPHINX = Path("/usr/share/pocketsphinx/test/data")

# One entry per real speaker: the files that hold only that voice. Raw files are 16-bit mono at the rate given.
# Left out: codec2's speech_orig_16k.wav holds two voices in turn (its sentences' voice prints: 0.2-0.35
# across, 0.6-0.73 within).
VOICES: dict[str, list[tuple[Path, int | None]]] = {
    "preamble": [(AUDIO / "preamble.wav", None)],
    "librivox": [(p, None) for p in sorted((SPHINX / "librivox").glob("*.wav"))],
    "cards": [(p, None) for p in sorted((SPHINX / "cards").glob("*.wav"))],
    "david": [(CODEC2 / "wav/david4.wav", None), (CODEC2 / "wav/vk2tpm_004.wav", None)],  # one voice: cos 0.93-0.98
    "ve9qrp": [(CODEC2 / "wav/ve9qrp.wav", None)],
    "vk5qi": [(CODEC2 / "wav/vk5qi.wav", None)],
    "hts1": [(CODEC2 / "raw/hts1.raw", 8000)],
    "hts2": [(CODEC2 / "raw/hts2.raw", 8000)],
    "kristoff": [(CODEC2 / "raw/kristoff.raw", 8000)],
    "g3plx": [(CODEC2 / "raw/g3plx.raw", 8000)],
    "cq_ref": [(CODEC2 / "raw/cq_ref.raw", 8000)],
    "mmt1": [(CODEC2 / "wav/mmt1.wav", None)],
}

# Conversations: (speakers, telephone band?, overlapping turns?). New pairs and triples, wide and narrow.
PLAN: list[tuple[tuple[str, ...], bool, bool]] = [
    (("librivox", "david"), False, False),
    (("preamble", "cq_ref"), True, False),
    (("cards", "hts1"), False, False),
    (("hts1", "hts2"), True, False),
    (("david", "hts2"), True, True),
    (("cards", "librivox"), False, True),
    (("ve9qrp", "kristoff"), True, False),
    (("cq_ref", "vk5qi"), True, False),
    (("preamble", "librivox"), False, False),
    (("g3plx", "vk5qi"), True, True),
    (("librivox", "david", "hts2"), False, False),
    (("preamble", "david", "cards"), True, False),
    (("vk5qi", "librivox", "ve9qrp"), False, True),
    (("kristoff", "hts1", "cards"), True, False),
    (("david", "mmt1", "librivox", "g3plx"), False, False),
    (("preamble", "ve9qrp", "hts2", "cards"), True, True),
    # one voice: the count must stay one
    (("preamble",), False, False),
    (("librivox",), False, False),
    (("david",), True, False),
    (("ve9qrp",), True, False),
]


@dataclass
class Conversation:
    """One scripted conversation: 16 kHz mono float32 audio and its exact reference turns."""

    name: str
    audio: np.ndarray
    reference: list[tuple[float, float, str]] = field(default_factory=list)
    speakers: int = 0
    band: str = "wide"

    @property
    def duration(self) -> float:
        return len(self.audio) / RATE

    def annotation(self):
        """The reference as a ``pyannote.core.Annotation``."""
        from pyannote.core import Annotation, Segment

        ann = Annotation(uri=self.name)
        for i, (s, e, who) in enumerate(self.reference):
            ann[Segment(s, e), i] = who
        return ann


# The fixtures' real customer-service call (113 s, two voices), labelled by hand from what is said: each
# span holds one voice's turn (and the pause before the next); "A" the agent, "C" the customer. The last
# second ("Bye-bye", either voice) is left out.
PHONE_CALL = AUDIO / "CallCenterPhoneCall.mp3"
PHONE_CALL_TURNS: list[tuple[float, float, str]] = [
    (0.0, 3.5, "A"), (3.5, 8.5, "C"), (8.5, 11.0, "A"), (11.0, 16.4, "C"), (16.4, 22.0, "A"),
    (22.0, 26.0, "C"), (26.0, 30.3, "A"), (30.3, 36.3, "C"), (36.3, 39.8, "A"), (39.8, 42.3, "C"),
    (42.3, 45.2, "A"), (45.2, 47.6, "C"), (47.6, 50.9, "A"), (50.9, 54.0, "C"), (54.0, 62.8, "A"),
    (62.8, 65.0, "C"), (65.0, 68.0, "A"), (68.0, 70.0, "C"), (70.0, 74.2, "A"), (74.2, 75.5, "C"),
    (75.5, 79.8, "A"), (79.8, 84.9, "C"), (84.9, 100.2, "A"), (100.2, 102.5, "C"), (102.5, 107.9, "A"),
    (107.9, 110.1, "C"), (110.1, 112.1, "A"),
]


def speech_time_right(turns, reference, duration: float) -> float:
    """Share of the speech found inside the reference's spans whose label is right (best one-to-one mapping)."""
    from scipy.optimize import linear_sum_assignment

    n = int(duration * 100) + 1
    names = sorted({w for *_, w in reference})
    ref, hyp = np.full(n, -1), np.full(n, -1)
    for s, e, who in reference:
        ref[int(s * 100):int(e * 100)] = names.index(who)
    for t in turns:
        hyp[int(t.start * 100):int(t.end * 100)] = t.speaker
    both = (ref >= 0) & (hyp >= 0)
    m = np.zeros((max(hyp.max(), 0) + 1, len(names)))
    np.add.at(m, (hyp[both], ref[both]), 1)
    rows, cols = linear_sum_assignment(-m)
    return float(m[rows, cols].sum() / max(both.sum(), 1))


def load(path: Path, raw_rate: int | None = None) -> np.ndarray:
    """Any audio file (or raw 16-bit mono at ``raw_rate``) as 16 kHz mono float32, decoded by ffmpeg."""
    src = ["-f", "s16le", "-ar", str(raw_rate), "-ac", "1"] if raw_rate else []
    out = subprocess.run(["ffmpeg", "-v", "error", *src, "-i", str(path), "-ac", "1", "-ar", str(RATE),
                          "-f", "f32le", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype="<f4").copy()


def _speech(x: np.ndarray, longest: float = 4.0) -> list[tuple[float, float]]:
    """Speech regions; one longer than ``longest`` s is cut at its quietest moments (breaths, word ends)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from dgnb.local.models.diarize import speech_segments

    frame = RATE // 50  # 20 ms energy frames
    energy = np.convolve(x[: len(x) // frame * frame].reshape(-1, frame).std(axis=1), np.ones(5) / 5, "same")
    out = []
    for s, e in speech_segments(x, aggressiveness=3, min_gap=0.25, min_len=0.3):
        while e - s > longest:
            lo, hi = int((s + 1.5) * 50), int((s + longest - 0.5) * 50)  # cut 1.5-3.5 s in
            cut = (lo + int(np.argmin(energy[lo:hi]))) / 50
            out.append((s, cut))
            s = cut
        out.append((s, e))
    return out


@lru_cache(maxsize=None)
def utterances(voice: str) -> tuple[tuple[np.ndarray, tuple[tuple[float, float], ...]], ...]:
    """The voice's utterances: (audio trimmed to speech, speech regions inside it), each 0.5-4 s."""
    out = []
    for path, raw_rate in VOICES[voice]:
        x = load(path, raw_rate)
        x = x * (0.1 / (np.sqrt(np.mean(x ** 2)) + 1e-9))  # the same loudness for every voice
        group: list[tuple[float, float]] = []
        for s, e in _speech(x) + [(None, None)]:
            if group and (s is None or e - group[0][0] > 4.0 or s - group[-1][1] > 0.6):
                a, b = group[0][0], group[-1][1]
                if b - a >= 0.5:
                    seg = x[int(a * RATE):int(b * RATE)]
                    out.append((seg, tuple((round(u - a, 3), round(v - a, 3)) for u, v in group)))
                group = []
            if s is not None:
                group.append((s, e))
    return tuple(out)


def missing_sources() -> list[str]:
    """Voices whose recordings are not installed on this machine."""
    return [v for v, files in VOICES.items() if not files or not all(p.exists() for p, _ in files)]


def _telephone(x: np.ndarray) -> np.ndarray:
    """Band-limit to 300-3400 Hz as a telephone line does (8 kHz sampling, back at 16 kHz)."""
    from scipy.signal import butter, sosfilt

    return sosfilt(butter(6, [300, 3400], btype="band", fs=RATE, output="sos"), x).astype(np.float32)


def build(speakers: tuple[str, ...], *, telephone: bool, overlap: bool, seed: int, name: str = "",
          max_seconds: float = 45.0) -> Conversation:
    """A conversation of ``speakers``' utterances, alternating at random; the reference comes with it."""
    rng = np.random.default_rng(seed)
    pools = {v: list(utterances(v)) for v in speakers}
    for v in pools:
        rng.shuffle(pools[v])
    pieces: list[tuple[float, np.ndarray]] = []
    reference: list[tuple[float, float, str]] = []
    t, last = 0.3, None
    while t < max_seconds:
        left = [v for v in speakers if pools[v] and v != last]
        if not left:
            break
        who = left[int(rng.integers(len(left)))] if last is not None or len(speakers) == 1 else speakers[0]
        take = 1 if len(speakers) == 1 else int(rng.integers(1, 3))
        start = t
        for _ in range(take):
            if not pools[who]:
                break
            seg, regions = pools[who].pop()
            pieces.append((start, seg))
            reference.extend((round(start + a, 3), round(start + b, 3), who) for a, b in regions)
            start += len(seg) / RATE + float(rng.uniform(0.05, 0.3))
        end = reference[-1][1]
        if len(speakers) > 1 and overlap and rng.random() < 0.3:
            t = end - float(rng.uniform(0.2, 0.8))  # the next speaker starts before this one ends
        else:
            t = end + float(rng.uniform(0.1, 2.0))
        last = who if len(speakers) > 1 else None
    total = max(s + len(seg) / RATE for s, seg in pieces) + 0.5
    audio = np.zeros(int(total * RATE), dtype=np.float32)
    for s, seg in pieces:
        i = int(round(s * RATE))
        audio[i:i + len(seg)] += seg
    if telephone:
        audio = _telephone(audio)
    audio += rng.normal(0, 0.001, len(audio)).astype(np.float32)  # a quiet room, not digital silence
    audio = np.clip(audio, -1, 1)
    return Conversation(name or "+".join(speakers), audio, sorted(reference), len(set(speakers)),
                        "telephone" if telephone else "wide")


def conversations(seed: int = 0, plan=PLAN) -> list[Conversation]:
    """Every conversation of ``plan`` whose voices are installed, built with ``seed``."""
    gone = set(missing_sources())
    out = []
    for i, (speakers, telephone, overlap) in enumerate(plan):
        if gone & set(speakers):
            continue
        name = f"{i:02d} {'+'.join(speakers)}{' tel' if telephone else ''}{' ovl' if overlap else ''}"
        out.append(build(speakers, telephone=telephone, overlap=overlap, seed=seed * 1000 + i, name=name))
    return out


def long_conversation(speakers: tuple[str, ...], *, telephone: bool, overlap: bool, minutes: float, seed: int = 0,
                      name: str = "") -> Conversation:
    """A conversation of ``minutes``: conversations of the same voices built with successive seeds, one
    after another (so utterances recur, shuffled: the voices have a few minutes of audio each)."""
    parts, t, k = [], 0.0, 0
    while t < minutes * 60:
        c = build(speakers, telephone=telephone, overlap=overlap, seed=seed * 1000 + 7919 * k)
        parts.append((t, c))
        t, k = t + c.duration, k + 1
    audio = np.concatenate([c.audio for _, c in parts])
    reference = [(round(s + t0, 3), round(e + t0, 3), who) for t0, c in parts for s, e, who in c.reference]
    return Conversation(name or "+".join(speakers), audio, reference, len(set(speakers)),
                        "telephone" if telephone else "wide")


# Short two-voice calls: a greeting of 1-2 s and a one-sentence reply, in both orders (notebooks/07's kind).
GREETINGS = ("Thanks for calling Acme.", "Acme support, good morning.", "Hello, Acme here.", "Acme, how can I help?",
             "Good afternoon, this is Acme.", "Acme billing, hello.")
REPLIES = ("I love the product and I would like to upgrade my plan.",
           "My parcel is late again. This is really annoying.", "I was charged twice and I want a refund.",
           "Hello, I cannot log in to my account.", "Can you tell me when my order will arrive?")


def short_calls() -> list[Conversation]:
    """60 short calls spoken by the sample dialogue's voices (``dgnb.local.models.samples``), exact turns."""
    from dgnb.local.models.samples import DIALOGUE_RATE, dialogue

    assert DIALOGUE_RATE == RATE
    out = []
    for i, (greeting, reply) in enumerate((g, r) for g in GREETINGS for r in REPLIES):
        for first in ("agent", "customer"):
            lines = [("agent", greeting), ("customer", reply)]
            d = dialogue(lines if first == "agent" else lines[::-1], seed=i)
            out.append(Conversation(f"short {i:02d} {first} first", d.samples,
                                    [(s, e, who) for who, _, s, e in d.turns], 2, "wide"))
    return out


if __name__ == "__main__":
    for v in VOICES:
        if v not in missing_sources():
            us = utterances(v)
            print(f"{v:14s} {len(us):3d} utterances, {sum(len(a) for a, _ in us) / RATE:6.1f} s")
    for c in conversations():
        print(f"{c.name:50s} {c.duration:6.1f} s  {len(c.reference):3d} regions")
