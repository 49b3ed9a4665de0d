"""The documentation site builds with ``mkdocs build --strict``: every page, every notebook, the API
reference from the docstrings, with no warning (broken links, missing references, bad nav)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("mkdocs", reason="the docs extra (mkdocs-material, mkdocstrings[python], mkdocs-jupyter) is not installed")


@pytest.mark.timeout(600)
def test_mkdocs_build_strict(tmp_path):
    site = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                           str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
                          cwd=tmp_path,  # mkdocs-jupyter keeps a .cache/ in the working directory
                          capture_output=True, text=True, timeout=590,
                          env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    # the pages the site promises, rendered
    for page in ("index.html", "getting-started/index.html", "concepts/local-engine/index.html",
                 "sdk-mapping/index.html", "local-engine/index.html", "guide/listen/index.html",
                 "reference/transcript/index.html"):
        assert (site / page).is_file(), page
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert len(notebooks) == 7
    for stem in notebooks:
        html = (site / "notebooks" / stem / "index.html").read_text()
        assert "DEEPGRAM_API_KEY" in html and "dgnb.Client()" in html, stem
    # the API reference is generated from the docstrings
    reference = (site / "reference" / "transcript" / "index.html").read_text()
    assert "from_response" in reference and "Transcript" in reference
