"""`import dgnb` stays light: heavy parts load on first use."""
from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["matplotlib", "ipywidgets", "pydub", "pandas", "numpy", "websockets", "anywidget", "dgnb.local"]


def loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_import_dgnb_and_make_a_client_loads_nothing_heavy():
    mods = loaded_after("import dgnb\ndg = dgnb.Client(api_key='k', url='http://127.0.0.1:9')\ndg.listen")
    assert not [m for m in HEAVY if m in mods]
    assert "httpx" in mods  # made on the client's construction, not on import


def test_plain_import_does_not_even_load_httpx():
    assert "httpx" not in loaded_after("import dgnb")
