"""Shared test fixtures, and where the recorded Deepgram replies and real audio are.

They live beside the project, in ``../shared`` (``fixtures/`` and ``reference/``), or wherever
``DGNB_SHARED`` points. Tests that need them are marked ``recorded`` (whole modules by
``pytestmark``); without the folder those skip with one line saying how to get it, and under
``CI=true`` the run fails instead, so CI never passes by skipping.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DGNB_SHARED") or ROOT.parent / "shared").expanduser().resolve()
FIXTURES = SHARED / "fixtures"
AUDIO = FIXTURES / "audio"
RESPONSES = FIXTURES / "responses"
PRESENT = (FIXTURES / "audio").is_dir() and (SHARED / "reference").is_dir()
MISSING = (f"the recorded fixtures are not at {SHARED} (it needs fixtures/ and reference/): "
           "put the project's shared folder beside the repository or set DGNB_SHARED to it")


def first(pattern: str, folder: Path = RESPONSES) -> Path:
    """The first recorded file matching ``pattern`` (a path that does not exist when they are absent)."""
    return next(iter(sorted(folder.glob(pattern))), folder / pattern)


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
