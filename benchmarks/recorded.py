"""Where the benchmarks find the recorded Deepgram replies and real audio: ``DGNB_FIXTURES`` if set,
else ``../shared/fixtures`` beside the repository (as the tests do; see CONTRIBUTING.md)."""
from __future__ import annotations

import os
from pathlib import Path

FIXTURES = Path(os.environ.get("DGNB_FIXTURES") or Path(__file__).resolve().parents[2] / "shared" / "fixtures")
AUDIO = FIXTURES / "audio"
RESPONSES = FIXTURES / "responses"
