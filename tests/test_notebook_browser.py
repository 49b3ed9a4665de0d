"""Real browser: notebook 2 (conversation analytics) runs top to bottom in JupyterLab with no key,
and its plots and the player widget render; notebook 3 under Run All still records Chromium's fake
microphone when Record is pressed afterwards. Screenshots: test-results/notebook-0[23]-*.png."""
from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from browser import NOTEBOOK, cell_output, chromium, jupyter_lab, open_notebook, requires_browser, run_all, run_cell, screenshot
from test_widgets_browser import fake_mic  # noqa: F401  (the preamble as a fake microphone)

ROOT = Path(__file__).resolve().parents[1]
NAME = "02-conversation-analytics.ipynb"

pytestmark = requires_browser


def prompts(page) -> list[str]:
    return [p.strip() for p in page.locator(f"{NOTEBOOK} .jp-CodeCell .jp-InputPrompt").all_inner_texts()]


def lab_home(tmp_path: Path, name: str) -> tuple[Path, int, dict]:
    """A JupyterLab home holding notebook ``name``, its number of code cells, and a no-key environment."""
    home = tmp_path / "lab"
    home.mkdir()
    shutil.copy(ROOT / "notebooks" / name, home / name)
    code_cells = sum(c.cell_type == "code" for c in nbformat.read(str(home / name), as_version=4).cells)
    env = {"DGNB_DATA_DIR": str(tmp_path / "data"), "DGNB_CACHE_DIR": str(tmp_path / "cache"),
           "DEEPGRAM_API_KEY": None, "DEEPGRAM_ACCESS_TOKEN": None, "DEEPGRAM_TOKEN": None}
    return home, code_cells, env


def wait_until_all_ran(page, code_cells: int, seconds: float = 400) -> None:
    """Every code cell has run when each prompt shows a number (not "[*]" or "[ ]")."""
    deadline = time.monotonic() + seconds
    while True:
        shown = prompts(page)
        if len(shown) == code_cells and all(p[1:-2].isdigit() for p in shown if p):
            return
        assert time.monotonic() < deadline, f"the notebook did not finish: {shown}"
        time.sleep(1)


@pytest.mark.timeout(600)
def test_notebook_2_runs_in_jupyterlab_with_plots_and_player(tmp_path):
    home, code_cells, env = lab_home(tmp_path, NAME)
    with jupyter_lab(home, {}, env=env) as lab, chromium(tmp_path / "profile") as context:
        page = context.new_page()
        page.set_viewport_size({"width": 1400, "height": 2400})
        open_notebook(page, lab, NAME)
        run_all(page)
        wait_until_all_ran(page, code_cells)
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


@pytest.mark.timeout(600)
def test_notebook_3_under_run_all_records_when_record_is_pressed_later(tmp_path, fake_mic):  # noqa: F811
    """Run All reaches the end before anyone presses Record: the recorder's stream must still be open,
    and the after-Stop cell, run again, shows what was said."""
    name = "03-live-streaming.ipynb"
    home, code_cells, env = lab_home(tmp_path, name)
    cells = nbformat.read(str(home / name), as_version=4).cells
    after_stop = next(i for i, c in enumerate(cells) if c.cell_type == "code" and 'rec.status == "stopped"' in c.source)
    with jupyter_lab(home, {}, env=env) as lab, chromium(tmp_path / "profile", fake_audio=fake_mic) as context:
        page = context.new_page()
        page.set_viewport_size({"width": 1400, "height": 2400})
        open_notebook(page, lab, name)
        run_all(page)
        wait_until_all_ran(page, code_cells)
        assert "press Record" in cell_output(page, after_stop)  # under Run All nobody has recorded yet
        page.locator(".dgnb-rec-start").click(timeout=20_000)
        page.wait_for_selector(".dgnb-rec-status >> text=/^recording · [1-9]/", timeout=30_000)
        page.wait_for_timeout(6000)  # record about 6 s of the looping preamble
        page.locator(".dgnb-rec-stop").click()
        page.wait_for_selector(".dgnb-rec-status >> text=/^stopped · [1-9]/", timeout=30_000)
        run_cell(page, after_stop)
        page.wait_for_selector(f"{NOTEBOOK} .jp-Cell >> nth={after_stop} >> text=punctuated_word", timeout=60_000)
        screenshot(page, "notebook-03-recorded.png")
        shown = " ".join(page.locator(f"{NOTEBOOK} .jp-OutputArea").all_inner_texts())
        table = cell_output(page, after_stop)
    assert "cannot send" not in shown and "live stream:" not in shown and "Traceback" not in shown, shown[-2000:]
    assert len(re.findall(r"\b(people|united|states|union|justice|we)\b", table.lower())) >= 2, table[:1500]
