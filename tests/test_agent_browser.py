"""Real browser: JupyterLab in headless Chromium shows ``conn.view()`` (the AgentView widget) of a voice
agent conversation run in a notebook against the embedded local engine (no key, rule-based thinker).
The chat bubbles must show both turns and the widget must schedule every agent audio chunk on a running
AudioContext (its data-audio-* attributes). Screenshot: test-results/agent-view.png."""
from __future__ import annotations

import re

import pytest

from browser import cell_output, chromium, jupyter_lab, open_notebook, requires_browser, run_cell, screenshot

pytestmark = requires_browser

CELLS = [
    "import dgnb\nfrom dgnb.api.agent import Settings, Speak, Think\ndg = dgnb.Client()\n"
    "conn = dg.agent.connect(Settings(think=Think('rule_based'), speak=Speak('aura-2-orion-en')))\n"
    "view = conn.view()\nview",
    "conn.inject_user_message('Hello there')\nconn.wait_for('AgentAudioDone', timeout=60)\n"
    "print(f'chunks={view.audio_chunks} seconds={conn.audio.duration:.3f} rate={view.sample_rate}')\nconn.close()",
]


@pytest.mark.timeout(180)
def test_agent_view_shows_the_conversation_and_plays_the_agents_audio(tmp_path):
    env = {"DGNB_DATA_DIR": str(tmp_path / "data"), "DGNB_CACHE_DIR": str(tmp_path / "cache"),
           "DEEPGRAM_API_KEY": None, "DEEPGRAM_ACCESS_TOKEN": None, "DEEPGRAM_TOKEN": None,
           "DEEPGRAM_BASE_URL": None}
    with jupyter_lab(tmp_path / "lab", {"agent.ipynb": CELLS}, env=env) as lab, \
            chromium(tmp_path / "profile") as context:
        page = open_notebook(context.new_page(), lab, "agent.ipynb")
        # the view is rendered before the conversation starts, so it receives every audio message
        run_cell(page, 0)
        page.wait_for_selector(".dgnb-agent-status >> text=/^Voice agent: listening$/", timeout=60_000)
        run_cell(page, 1)
        page.wait_for_selector(".dgnb-agent-status >> text=/^Voice agent: closed$/", timeout=60_000)
        page.wait_for_function("() => /chunks=\\d+/.test(document.body.innerText)", timeout=30_000)
        printed = re.search(r"chunks=(\d+) seconds=([\d.]+) rate=(\d+)", cell_output(page, 1))
        chunks, seconds = int(printed[1]), float(printed[2])
        agent = page.locator(".dgnb-agent")
        page.wait_for_function("n => document.querySelector('.dgnb-agent').dataset.audioChunks === String(n)",
                               arg=chunks, timeout=30_000)
        turns = page.locator(".dgnb-agent-turn").all_inner_texts()
        roles = [t.get_attribute("class") for t in page.locator(".dgnb-agent-turn").all()]
        played = float(agent.get_attribute("data-audio-seconds"))
        state = agent.get_attribute("data-audio-state")
        agent.scroll_into_view_if_needed()
        screenshot(page, "agent-view.png")
    assert turns == ["You: Hello there", "Agent: Hello! How can I help you today?"]
    assert roles == ["dgnb-agent-turn dgnb-agent-user", "dgnb-agent-turn dgnb-agent-assistant"]
    assert chunks > 0 and seconds > 0.5
    assert abs(played - seconds) < 0.001 * chunks + 0.002  # every chunk scheduled, nothing lost or doubled
    assert state == "running"  # the AudioContext plays (autoplay allowed in the test browser)
