"""Shared test fixtures: paths to the recorded Deepgram fixtures beside the project."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FIXTURES = SHARED / "fixtures"
AUDIO = FIXTURES / "audio"
RESPONSES = FIXTURES / "responses"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


from local_server import local_server  # noqa: E402,F401  (one real `dgnb serve` process per test session)
