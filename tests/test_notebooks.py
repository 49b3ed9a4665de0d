"""Every teaching notebook in notebooks/ runs top to bottom with no key and no network.

Each notebook executes in a fresh kernel (nbclient) on the local engine, in a temporary working
directory, with its own DGNB_DATA_DIR and DGNB_CACHE_DIR. Outbound HTTP goes to a dead proxy (only
127.0.0.1 is reachable), so a notebook that needs the internet fails here.
"""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CREDENTIAL_VARS = ("DEEPGRAM_API_KEY", "DEEPGRAM_ACCESS_TOKEN", "DEEPGRAM_TOKEN")
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def offline_env(tmp: Path) -> dict[str, str]:
    """The environment a notebook kernel gets: no credentials, private data/cache dirs, no internet."""
    env = {k: v for k, v in os.environ.items() if k not in CREDENTIAL_VARS}
    dead_proxy = "http://127.0.0.1:9"  # the discard port: nothing listens, so every outbound request fails
    env.update({
        "DGNB_DATA_DIR": str(tmp / "data"), "DGNB_CACHE_DIR": str(tmp / "cache"), "MPLCONFIGDIR": str(tmp / "mpl"),
        "HTTP_PROXY": dead_proxy, "HTTPS_PROXY": dead_proxy, "ALL_PROXY": dead_proxy,
        "http_proxy": dead_proxy, "https_proxy": dead_proxy, "all_proxy": dead_proxy,
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
    })
    return env


def run_notebook(path: Path, workdir: Path, env: dict[str, str], timeout: int = 240) -> nbformat.NotebookNode:
    """Execute ``path`` in ``workdir`` with ``env``; raises CellExecutionError on the first failing cell."""
    nb = nbformat.read(str(path), as_version=4)
    workdir.mkdir(parents=True, exist_ok=True)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)  # the kernel process inherits the environment of the kernel manager
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=False,
                       resources={"metadata": {"path": str(workdir)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return nb


def outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]


def output_text(nb: nbformat.NotebookNode) -> str:
    return json.dumps(outputs(nb))


def test_there_are_seven_notebooks_stored_without_outputs():
    assert [p.name[:3] for p in NOTEBOOKS] == [f"0{i}-" for i in range(1, 8)]
    for path in NOTEBOOKS:
        nb = nbformat.read(str(path), as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code, path.name
        assert all(not c.outputs and c.execution_count is None for c in code), f"{path.name} has stored outputs"
        markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert "DEEPGRAM_API_KEY" in markdown, f"{path.name} does not say how to use Deepgram"
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# "), path.name


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_with_no_key(path, tmp_path):
    env = offline_env(tmp_path)
    started = time.monotonic()
    try:
        nb = run_notebook(path, tmp_path / "work", env)
    except CellExecutionError as exc:
        pytest.fail(f"{path.name} failed:\n{exc}")
    print(f"{path.name}: {time.monotonic() - started:.1f} s")
    outs = outputs(nb)
    assert not [o for o in outs if o.get("output_type") == "error"]
    text = output_text(nb)
    assert "Traceback" not in text
    # the local engine's admin key never shows in what a notebook displays
    admin_key = (tmp_path / "data" / "admin.key").read_text().strip()
    assert admin_key and admin_key not in text
    # every code cell ran; the notebook displayed something (tables, plots, widgets)
    assert all(c.execution_count for c in nb.cells if c.cell_type == "code")
    kinds = {k for o in outs for k in o.get("data", {})}
    assert "text/html" in kinds or "image/png" in kinds
    # the local engine is announced once as a small note, never in JupyterLab's (alarming) stderr box
    client_cell = next(c for c in nb.cells if c.cell_type == "code" and "Client(" in c.source)
    assert not [o for o in client_cell.outputs if o.get("name") == "stderr"], client_cell.outputs
    notes = [o for o in outs if "No Deepgram key found" in json.dumps(o.get("data", {}).get("text/html", ""))]
    assert len(notes) == 1, notes
    check = EXPECTED.get(path.stem[:2])
    if check:
        check(nb, text, kinds)


# ---- what each notebook must show, beyond running --------------------------------------------

def _quick_start(nb, text, kinds):
    assert WIDGET_MIME in kinds and "image/png" in kinds  # the player widget and the confidence plot
    assert "WEBVTT" in text and "-->" in text
    assert "Transcription provided by the dgnb local engine (whisper-tiny.en)" in text
    for needle in ("vtt = t.to_webvtt()", "srt = t.to_srt("):  # the captions shown end at a cue's end, never mid-word
        shown = "".join(json.loads(_cell_output(nb, needle))[0]["text"]).strip().split("\n\n")
        cues = [block.splitlines() for block in shown if "-->" in block]
        assert len(cues) >= 3 and all(len(lines) >= 2 and lines[-1].strip() for lines in cues), shown
    assert "True" in _cell_output(nb, "again.words.equals")  # a saved response reads back the same


def _analytics(nb, text, kinds):
    assert WIDGET_MIME in kinds
    assert sum(1 for o in outputs(nb) if "image/png" in o.get("data", {})) >= 3  # timeline, talk time, sentiment
    # one palette for speakers: the talk-time charts use the timeline's speaker colours
    from dgnb.results.style import SPEAKER_COLOURS

    talk = _colours_of(_cell_output(nb, "Talk time"))
    assert {SPEAKER_COLOURS[0], SPEAKER_COLOURS[1]} <= talk and "#ff7f0e" not in talk, talk
    # the text follows the values it prints
    said, table = json.loads(_cell_output(nb, "first, last = t.sentiments"))
    said = said["text"]
    first, last = (float(x) for x in re.search(r"first segment ([+-][\d.]+), last ([+-][\d.]+)", said).groups())
    assert ("better" in said) == (last > first) and ("worse" in said) == (last < first), said
    # every sentiment segment has one speaker, and both voices have segments
    header = re.findall(r"<th>(\w+)</th>", table["data"]["text/html"])
    assert header[:3] == ["start", "end", "speaker"], header
    speakers = re.findall(r"<th>\d+</th>\s*<td>[\d.]+</td>\s*<td>[\d.]+</td>\s*<td>(\d+)</td>", table["data"]["text/html"])
    assert set(speakers) == {"0", "1"}, table


def _colours_of(cell_outputs: str) -> set[str]:
    """The colours covering at least 1% of a cell's PNG image, as #rrggbb."""
    import base64
    import io

    import numpy as np
    from matplotlib.image import imread

    png = next(o["data"]["image/png"] for o in json.loads(cell_outputs) if "image/png" in o.get("data", {}))
    pixels = (imread(io.BytesIO(base64.b64decode(png)))[..., :3] * 255).round().astype(int).reshape(-1, 3)
    found, counts = np.unique(pixels, axis=0, return_counts=True)
    return {"#%02x%02x%02x" % tuple(c) for c, n in zip(found, counts) if n > pixels.shape[0] / 100}


def _live(nb, text, kinds):
    assert WIDGET_MIME in kinds  # the live view and the recorder
    # the streamed call's words: the agent speaks until ~7 s, then the customer; live names each voice
    table = json.loads(_cell_output(nb, "t = conn.wait()"))[0]["data"]["text/html"]
    rows = re.findall(r"<th>\d+</th>\s*<td>([^<]*)</td>\s*<td>([\d.]+)</td>\s*<td>[\d.]+</td>\s*<td>[\d.]+</td>"
                      r"\s*<td>(\d+)</td>", table)
    agent = {int(spk) for _, start, spk in rows if float(start) < 6.5}
    customer = {int(spk) for _, start, spk in rows if float(start) > 8.0}
    assert len(rows) >= 15 and agent == {0} and customer == {1}, table


def _speech(nb, text, kinds):
    assert "<audio" in text  # the voices play in the notebook
    said = json.loads(_cell_output(nb, "heard = dg.transcribe(hello.wav_bytes()"))[0]["text"]
    wrote, heard = (re.sub(r"[^a-z ]", "", line.split(":", 1)[1].lower()).split() for line in said.splitlines()[:2])
    assert heard == wrote, said  # the round trip reads back what was written
    # sentiment: every sentence in some segment, each label follows the +-1/3 edges, bars coloured by label
    table = json.loads(_cell_output(nb, "seg = analysis.sentiments"))[0]["data"]["text/html"]
    rows = [(int(n), label, float(score)) for n, label, score in re.findall(
        r"<th>\d+</th>\s*<td>(\d+)</td>\s*<td>(\w+)</td>\s*<td>([-\d.]+)</td>", table)]
    assert sum(n for n, _, _ in rows) == 5, table
    for _, label, score in rows:
        assert label == ("positive" if score >= 1 / 3 else "negative" if score <= -1 / 3 else "neutral"), table
    colours = {"positive": "#2ca02c", "neutral": "#7f7f7f", "negative": "#d62728"}
    drawn = _colours_of(_cell_output(nb, "Sentiment per segment"))
    for label, colour in colours.items():
        if any(lab == label and abs(score) > 0.1 for _, lab, score in rows):
            assert colour in drawn, (label, drawn, table)
        elif all(lab != label for _, lab, _ in rows):
            assert colour not in drawn, (label, drawn, table)


def _agent(nb, text, kinds):
    assert "get_order_status" in text
    spoken = _cell_output(nb, "conn.send_file(question.wav_bytes())")
    assert "Order 5678 is being packed" in spoken, spoken  # the spoken number was heard and looked up


def _usage(nb, text, kinds):
    assert sum(1 for o in outputs(nb) if "image/png" in o.get("data", {})) >= 2  # usage and burn-down
    spenders = _cell_output(nb, "report.by_key.join(teams)")
    assert "support team" in spenders and "&lt;NA&gt;" not in spenders and "<NA>" not in spenders, spenders
    written = json.loads(_cell_output(nb, 'report.export("usage-report")'))[0]["text"]
    assert re.search(r"report: usage-report/report.html \([\d,]{6,} bytes\)", written), written  # with its figures
    assert "daily: usage-report/daily.csv" in written and "requests: usage-report/requests.csv" in written, written


def _batch(nb, text, kinds):
    assert "cached" in text and "error" in text
    reasons = "".join(json.loads(_cell_output(nb, "each reason in full"))[0]["text"])
    assert "400" in reasons and "..." not in reasons and len(reasons.splitlines()[0]) > 80, reasons  # not elided
    table = json.loads(_cell_output(nb, "overview = pd.DataFrame"))[0]["data"]["text/html"]
    # rows: call, then seconds, words, speakers
    speakers = dict(re.findall(r"<th>(\w+)</th>\s*<td>[^<]*</td>\s*<td>[^<]*</td>\s*<td>(\d+)</td>", table))
    assert speakers == {"refund": "2", "delivery": "2", "upgrade": "2", "password": "2"}, table  # agent and customer


def _cell_output(nb, needle: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "code" and needle in cell.source:
            return json.dumps(cell.outputs)
    raise AssertionError(f"no cell with {needle!r}")


EXPECTED = {"01": _quick_start, "02": _analytics, "03": _live, "04": _speech, "05": _agent, "06": _usage,
            "07": _batch}
