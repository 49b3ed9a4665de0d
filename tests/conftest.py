"""Shared test fixtures, and the one way tests find the recorded Deepgram replies and real audio.

``DGNB_FIXTURES`` if set, else ``../shared/fixtures`` beside the repository; the REST reference
(``reference/``) is read beside it. Tests that need them carry the ``recorded`` marker (whole modules
by ``pytestmark``); without the folder those skip with one line saying how to get it, and under
``CI=true`` the run fails instead, so CI never passes by skipping.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))  # tests reuse the benchmarks' data sets and measurements
FIXTURES = Path(os.environ.get("DGNB_FIXTURES") or ROOT.parent / "shared" / "fixtures").expanduser().resolve()
AUDIO = FIXTURES / "audio"
RESPONSES = FIXTURES / "responses"
REFERENCE = FIXTURES.parent / "reference"
PRESENT = AUDIO.is_dir() and RESPONSES.is_dir() and REFERENCE.is_dir()
MISSING = (f"the recorded Deepgram fixtures are not at {FIXTURES} (with reference/ beside it): clone the "
           "repository beside the project's shared/ folder, or set DGNB_FIXTURES to its fixtures/ folder")

#: Mark a test (or a module, as ``pytestmark``) that reads the recorded fixtures.
recorded = pytest.mark.recorded


def first(pattern: str, folder: Path = RESPONSES) -> Path:
    """The first recorded file matching ``pattern`` (a path that does not exist when they are absent)."""
    return next(iter(sorted(folder.glob(pattern))), folder / pattern)


def recorded_json(pattern: str, folder: Path = RESPONSES):
    """The first recorded JSON file matching ``pattern``, parsed; ``{}`` when the fixtures are absent
    (for module-level constants: the tests that use them are ``recorded`` and skip)."""
    return json.loads(first(pattern, folder).read_text()) if PRESENT else {}


def recorded_bytes(path: Path) -> bytes:
    """A recorded file's bytes; ``b""`` when the fixtures are absent (for module-level constants)."""
    return path.read_bytes() if PRESENT else b""


def pytest_configure(config: pytest.Config) -> None:
    if not PRESENT and os.environ.get("CI", "").lower() == "true":
        raise pytest.UsageError(f"CI=true and {MISSING}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if PRESENT:
        return
    skip = pytest.mark.skip(reason="recorded fixtures absent")
    for item in items:
        if item.get_closest_marker("recorded"):
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not PRESENT:
        skipped = sum(1 for r in terminalreporter.stats.get("skipped", ()) if "fixtures absent" in str(r.longrepr))
        terminalreporter.write_line(f"{skipped} tests skipped: {MISSING}", yellow=True)


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


from local_server import local_server  # noqa: E402,F401  (one real `dgnb serve` process per test session)
