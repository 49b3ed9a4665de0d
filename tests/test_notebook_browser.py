"""Real browser: notebook 2 (conversation analytics) runs top to bottom in JupyterLab with no key,
and its plots and the player widget render. Screenshots: test-results/notebook-02-*.png."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import nbformat
import pytest
from browser import NOTEBOOK, chromium, jupyter_lab, open_notebook, requires_browser, run_all, screenshot

ROOT = Path(__file__).resolve().parents[1]
NAME = "02-conversation-analytics.ipynb"

pytestmark = requires_browser


def prompts(page) -> list[str]:
    return [p.strip() for p in page.locator(f"{NOTEBOOK} .jp-CodeCell .jp-InputPrompt").all_inner_texts()]


@pytest.mark.timeout(600)
def test_notebook_2_runs_in_jupyterlab_with_plots_and_player(tmp_path):
    home = tmp_path / "lab"
    home.mkdir()
    shutil.copy(ROOT / "notebooks" / NAME, home / NAME)
    code_cells = sum(c.cell_type == "code" for c in nbformat.read(str(home / NAME), as_version=4).cells)
    env = {"DGNB_DATA_DIR": str(tmp_path / "data"), "DGNB_CACHE_DIR": str(tmp_path / "cache"),
           "DEEPGRAM_API_KEY": None, "DEEPGRAM_ACCESS_TOKEN": None, "DEEPGRAM_TOKEN": None}
    with jupyter_lab(home, {}, env=env) as lab, chromium(tmp_path / "profile") as context:
        page = context.new_page()
        page.set_viewport_size({"width": 1400, "height": 2400})
        open_notebook(page, lab, NAME)
        run_all(page)
        deadline = time.monotonic() + 400
        while True:  # every code cell has run when each prompt shows a number (not "[*]" or "[ ]")
            shown = prompts(page)
            if len(shown) == code_cells and all(p[1:-2].isdigit() for p in shown if p):
                break
            assert time.monotonic() < deadline, f"the notebook did not finish: {shown}"
            time.sleep(1)
        outputs = page.locator(f"{NOTEBOOK} .jp-OutputArea")
        assert "Traceback" not in " ".join(outputs.all_inner_texts())
        # the player widget rendered its words, the plots rendered as images
        page.wait_for_selector(".dgnb-player-word >> nth=20", timeout=30_000)
        assert page.locator(f"{NOTEBOOK} .jp-RenderedImage img").count() >= 4  # timeline, talk time, sentiment, mood
        player = page.locator(".dgnb-player").first
        player.scroll_into_view_if_needed()
        screenshot(page, "notebook-02-player.png")
        page.locator(f"{NOTEBOOK} .jp-RenderedImage img").last.scroll_into_view_if_needed()
        shot = screenshot(page, "notebook-02-plots.png")
        assert shot.stat().st_size > 20_000
