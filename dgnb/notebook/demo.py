"""``dgnb demo``: a two-voice support call, transcribed with diarization and sentiment, shown as a
DataFrame and plots. Runs on the local engine with no key.

>>> from dgnb.demo import run
>>> t = run("demo-output")      # doctest: +SKIP
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any


_SMALL_NUMBERS = "zero one two three four five six seven eight nine ten".split()


def _normalise(text: str) -> list[str]:
    words = re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()
    return [_SMALL_NUMBERS[int(w)] if w.isdigit() and int(w) <= 10 else w for w in words]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word error rate by edit distance over normalised words (lower case, no punctuation, 0-10 spelled out).

    >>> word_error_rate("the cat sat", "the cat sat down")
    0.3333333333333333
    >>> word_error_rate("three to five days", "3 to 5 days")
    0.0
    """
    ref, hyp = _normalise(reference), _normalise(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(1, len(ref))


def speaker_agreement(turns: list[tuple[str, str, float, float]], words: Any) -> float:
    """Share of the script's words that were heard and given their speaker (best one-to-one mapping of
    labels to speakers). The recognised words are aligned to the script, so a stretch that was lost
    counts as wrong, as does a word heard in the right place under the wrong label.

    >>> import pandas as pd
    >>> script = [("agent", "hello there", 0, 1), ("customer", "hi how are you", 1, 2)]
    >>> heard = pd.DataFrame({"word": ["hello", "there", "hi", "how"], "speaker": [0, 0, 1, 1]})
    >>> speaker_agreement(script, heard)   # "are you" was lost
    0.6666666666666666
    """
    import itertools
    from difflib import SequenceMatcher

    script = [(token, who) for who, text, _, _ in turns for token in _normalise(text)]
    heard = [(token, str(label)) for word, label in zip(words["word"], words["speaker"])
             for token in _normalise(str(word))]
    pairs = []  # (true speaker, label) of each script word heard in its place
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, [t for t, _ in script], [t for t, _ in heard],
                                               autojunk=False).get_opcodes():
        if tag in ("equal", "replace"):
            pairs += [(script[i][1], heard[j][1]) for i, j in zip(range(i1, i2), range(j1, j2))]
    if not script or not pairs:
        return 0.0
    names, labels = sorted({who for _, who in script}), sorted({label for _, label in pairs})
    best = max(sum(dict(zip(labels, perm)).get(label) == who for who, label in pairs)
               for perm in itertools.permutations(names + [None] * max(0, len(labels) - len(names)), len(labels)))
    return best / len(script)


def run(out: str | Path = "demo-output", *, client: Any = None, show: bool = True) -> Any:
    """Make the sample call, transcribe it, print the words DataFrame and write the plots to ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    import dgnb
    from dgnb.local.models.samples import dialogue

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    call = dialogue()
    audio_path = out / "support-call.wav"
    call.save(audio_path)
    dg = client or dgnb.Client(local=True)
    t = dg.transcribe(audio_path, diarize=True, sentiment=True, utterances=True, smart_format=True)
    (out / "transcript.json").write_text(json.dumps(t.to_dict(), indent=1))
    speakers_png, sentiment_png = out / "speakers.png", out / "sentiment.png"
    t.plot.speakers().figure.savefig(speakers_png, dpi=110, bbox_inches="tight")
    t.plot.sentiment().figure.savefig(sentiment_png, dpi=110, bbox_inches="tight")
    if show:
        words = t.words[["punctuated_word", "start", "end", "confidence", "speaker", "speaker_confidence"]]
        with pd.option_context("display.max_rows", 20, "display.width", 120):
            where = " on the local engine (no Deepgram key needed)" if getattr(dg, "local", False) else ""
            print(f"{len(words)} words, {call.duration:.1f} s of audio, model {t.model}{where}\n")
            print(words)
            print()
            for u in t.utterances.itertuples():
                print(f"[{u.start:6.2f}-{u.end:6.2f}] speaker {u.speaker}: {u.transcript}")
        truth_text = " ".join(text for _, text, _, _ in call.turns)
        print(f"\nword error rate vs the script: {word_error_rate(truth_text, t.transcript):.1%}")
        print(f"script words heard and given the right speaker: {speaker_agreement(call.turns, t.words):.1%}")
        avg = t.average_sentiment or {}
        print(f"average sentiment: {avg.get('sentiment')} ({avg.get('sentiment_score', float('nan')):+.2f})")
        print(f"\nwrote {audio_path}, {out / 'transcript.json'}, {speakers_png}, {sentiment_png}")
    return t
