"""The voices the local engine speaks with: installed ones found, deterministic in any process."""
import hashlib
import subprocess
import sys

import numpy as np
import pytest

from dgnb.local.models import voices

INSTALLED = voices.installed()
SENTENCE = "Your order number is five six seven eight."


def test_voice_names_are_checked():
    with pytest.raises(ValueError, match="unknown voice"):
        voices.synthesize("hi", "sapi:david")
    assert voices.available("espeak:agent")
    assert not voices.available("flite:nobody")


@pytest.mark.skipif(not INSTALLED, reason="apt-get install festival festvox-us-slt-hts flite")
@pytest.mark.parametrize("voice", INSTALLED)
def test_the_same_text_gives_the_same_samples_in_another_process(voice):
    x, rate = voices.synthesize(SENTENCE, voice)
    assert rate in (16000, 32000) and 1.5 < len(x) / rate < 5 and np.abs(x).max() > 0.05
    here = hashlib.sha256(x.tobytes()).hexdigest()
    code = ("import hashlib; from dgnb.local.models import voices; "
            f"x, _ = voices.synthesize({SENTENCE!r}, {voice!r}); print(hashlib.sha256(x.tobytes()).hexdigest())")
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert here == there


@pytest.mark.skipif("flite:awb" not in INSTALLED, reason="apt-get install flite")
def test_a_missing_voice_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(voices, "available", lambda v: False)
    with pytest.raises(RuntimeError, match="apt-get install flite"):
        voices.synthesize("hi", "flite:awb")
