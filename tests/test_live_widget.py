"""LiveTranscript widget state, its coalescing at 50 messages/s, and a notebook (nbclient) whose cell
returns while the stream goes on. Real streams run against the local engine (``dgnb serve``)."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import dgnb
from dgnb.api.listen import live as L
from dgnb.notebook.widgets import LiveTranscript
from conftest import AUDIO, recorded

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = Path(__file__).resolve().parent / "notebooks" / "live_cell_returns.ipynb"


@recorded
def test_widget_follows_a_real_stream_to_its_final_transcript(local_server):
    dg = dgnb.Client(api_key=local_server.api_key, url=local_server.url)
    conn = L.stream_file(dg, AUDIO / "preamble-websocket.wav", realtime=False, encoding="mulaw",
                         interim_results=True, utterance_end_ms=1000, punctuate=True)
    view = conn.view()
    interims_seen = []
    conn.on("Results", lambda m: interims_seen.append(view.interim) if not m.is_final else None)
    transcript = conn.wait(timeout=120)
    view.flush()
    assert view.status == "closed" and view.error == "" and view.ended > view.started
    assert view.word_count == len(transcript.words)
    spoken = [s["text"] for s in view.segments]
    assert " ".join(spoken) == " ".join(m.transcript for m in conn.finals if m.transcript)
    assert "United States of America" in view.text and view.interim == ""
    assert all(s["brk"] for s in view.segments)  # every engine final is speech_final: one utterance a line
    assert view.audio_time == pytest.approx(19.1, abs=0.2)
    late = LiveTranscript(conn)  # a view made after the stream replays it
    assert late.text == view.text and late.status == "closed"


def test_widget_coalesces_fifty_messages_a_second():
    """500 messages at 50/s through a real connection's message path: the state is exact and
    the front end is synced far fewer times than there are messages."""
    conn = L.AsyncLiveConnection(dgnb.Client(api_key="k", url="http://127.0.0.1:9")._config)

    def results(i: int, final: bool) -> str:
        words = [{"word": f"w{i}", "punctuated_word": f"W{i}.", "start": i * 0.1, "end": i * 0.1 + 0.05,
                  "confidence": 0.9, "speaker": i % 2}]
        return json.dumps({"type": "Results", "is_final": final, "speech_final": final and i % 10 == 9,
                           "start": i * 0.1, "duration": 0.1, "channel_index": [0, 1],
                           "channel": {"alternatives": [{"transcript": f"W{i}.", "confidence": 0.9, "words": words}]}})

    async def run() -> LiveTranscript:
        conn._loop = asyncio.get_running_loop()
        conn._changed = asyncio.Event()
        view = LiveTranscript(conn, flush_interval=0.1)
        for i in range(500):
            await conn._handle(results(i, final=False))
            await conn._handle(results(i, final=True)) if i % 2 else None
            if i % 5 == 4:
                await conn._handle(json.dumps({"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": i * 0.1}))
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.15)
        return view

    view = asyncio.run(run())
    n_messages = len(conn.messages)
    assert n_messages == 500 + 250 + 100
    assert view.flushes < n_messages / 4
    assert view.word_count == 250 and len(view.segments) == 250
    assert [s["speaker"] for s in view.segments] == [1] * 250  # odd i are the finals: speaker 1
    assert view.segments[-1]["text"] == "W499." and view.interim == ""  # the final replaced the interim
    assert sum(s["brk"] for s in view.segments) == 100  # one break per UtteranceEnd
    assert view.audio_time == pytest.approx(50.0)


def test_widget_rejects_what_is_not_a_connection():
    with pytest.raises(TypeError, match="follows a live connection"):
        LiveTranscript("not a connection")


@recorded
def test_notebook_cell_returns_while_streaming(local_server, monkeypatch):
    """Executed with nbclient: the stream_file cell returns at once, the stream goes on, and a later
    cell gets the final transcript (and the widget's state matches it)."""
    monkeypatch.setenv("DEEPGRAM_API_KEY", local_server.api_key)
    monkeypatch.setenv("DEEPGRAM_BASE_URL", local_server.url)
    monkeypatch.setenv("DGNB_TEST_AUDIO", str(AUDIO / "preamble-websocket.wav"))
    monkeypatch.delenv("DEEPGRAM_ACCESS_TOKEN", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    out = ["".join(o.get("text", "") for o in cell.get("outputs", [])) for cell in nb.cells if cell.cell_type == "code"]
    assert "streaming when the cell returned: True" in out[2]
    final = out[3]
    assert "United States of America" in final
    status, count, n_words = final.split("widget:")[1].split()
    assert status == "closed" and int(count) == int(n_words) > 40
    assert local_server.api_key not in json.dumps(nbformat.writes(nb))  # no secret in saved outputs
