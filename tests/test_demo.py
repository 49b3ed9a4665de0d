"""The README's main job: `dgnb demo` on the embedded local engine, with no key."""
from __future__ import annotations

import os
import subprocess
import sys

from conftest import AUDIO, recorded
from dgnb.notebook.demo import speaker_agreement, word_error_rate


def clean_env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPGRAM_")}
    env.update(DGNB_DATA_DIR=str(tmp_path / "data"), MPLBACKEND="Agg")
    return env


def test_demo_transcribes_the_sample_call_with_speakers_and_plots(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "dgnb", "demo", "--out", str(out)], env=clean_env(tmp_path),
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "model whisper-tiny.en on the local engine" in proc.stdout
    assert "Deepgram key" not in proc.stderr  # local was asked for: nothing to explain, nothing on stderr
    assert "punctuated_word" in proc.stdout and "speaker" in proc.stdout
    wer = float(proc.stdout.split("word error rate vs the script: ")[1].split("%")[0])
    right = float(proc.stdout.split("script words heard and given the right speaker: ")[1].split("%")[0])
    assert wer <= 10.0 and right >= 90.0, proc.stdout[-800:]
    for name in ("support-call.wav", "transcript.json", "speakers.png", "sentiment.png"):
        assert (out / name).stat().st_size > 1000
    assert (out / "speakers.png").read_bytes()[:4] == b"\x89PNG"


@recorded
def test_client_without_credentials_uses_embedded_engine_and_says_so_once(tmp_path):
    """The notice is an INFO line of the ``dgnb`` logger (shown when a script shows INFO), never a bare
    stderr print; asking for the local engine explicitly gets no notice."""
    code = (
        "import dgnb, logging, sys\n"
        "quiet = dgnb.Client(local=True)\n"
        "logging.basicConfig(level=logging.INFO, format='%(name)s %(levelname)s %(message)s')\n"
        "a = dgnb.Client(); b = dgnb.Client()\n"
        "assert a.local and a.url == b.url and a.url.startswith('http://127.0.0.1:')\n"
        "t = a.transcribe(sys.argv[1])\n"
        "print(len(t.words), t.words['word'].iloc[0], t.model)\n"
    )
    wav = str(AUDIO / "preamble.wav")
    proc = subprocess.run([sys.executable, "-c", code, wav], env=clean_env(tmp_path), capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr.count("dgnb INFO No Deepgram key found: dgnb runs on its local engine (whisper-tiny.en") == 1
    assert proc.stderr.count("Deepgram key") == 1
    n, first, model = proc.stdout.split()
    assert int(n) > 45 and first == "we" and model == "whisper-tiny.en"


def test_scoring_helpers():
    assert word_error_rate("we the people", "We, the people!") == 0.0
    assert word_error_rate("a b c d", "a x c") == 0.5
    import pandas as pd

    words = pd.DataFrame({"word": ["x", "y", "z"], "speaker": [5, 7, 5]})
    turns = [("agent", "x", 0.0, 1.0), ("customer", "y", 1.0, 2.0), ("agent", "z", 2.0, 3.0)]
    assert speaker_agreement(turns, words) == 1.0
    assert speaker_agreement(turns, words.assign(speaker=[5, 5, 5])) == 2 / 3  # one label for both voices
    assert speaker_agreement(turns, words.iloc[:1]) == 1 / 3  # a lost stretch counts as wrong
    assert speaker_agreement(turns, words.assign(speaker=[1, 2, 3])) == 2 / 3  # more labels than voices
