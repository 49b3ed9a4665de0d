"""Notebook-style: real requests through the local engine, then the usage report and its plots."""
from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import matplotlib
import pandas as pd
import pytest
from manage_server import short_clip, start

import dgnb
from dgnb.local.ledger import iso
from dgnb.api.manage import Manage
from dgnb.notebook.reports import UsageReport, usage_report
from browser import CHROMIUM, RESULTS, chromium
from conftest import recorded

pytestmark = recorded

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """Two keys; a real transcription with features, a few short ones, and three earlier days of usage."""
    server = start(tmp_path_factory.mktemp("report-engine"))
    clip = short_clip(tmp_path_factory.mktemp("clip") / "clip.wav").read_bytes()
    tiny = short_clip(tmp_path_factory.mktemp("clip") / "tiny.wav", seconds=0.09).read_bytes()
    dg = dgnb.Client(api_key=server.api_key, url=server.url)
    ledger = server.app.state.engine.ledger
    pid = ledger.default_project_id
    m = Manage(dg)
    keys = [m.create_key(pid, f"team {i}", ["member"]) for i in range(2)]

    def post(key, body, **params):
        r = httpx.post(f"{server.url}/v1/listen", params=params, content=body, timeout=120,
                       headers={"Authorization": f"Token {key['key']}", "Content-Type": "audio/wav"})
        assert r.status_code == 200, r.text

    post(keys[0], clip, diarize="true", punctuate="true", sentiment="true")
    for _ in range(3):
        post(keys[1], tiny, punctuate="true")
    # earlier days of usage, recorded (and charged) through the ledger's own API
    admin = ledger.authenticate(f"Token {server.api_key}")
    now = datetime.now(timezone.utc)
    for days_ago, minutes in ((3, 30.0), (2, 10.0), (1, 20.0)):
        ledger.record_request(request_id=f"past-{days_ago}", principal=admin, duration=minutes * 60, channels=1,
                              model="whisper-tiny.en", features=["punctuate"], created=iso(now - timedelta(days=days_ago)))
    server.dg, server.pid, server.keys = dg, pid, keys
    try:
        yield server
    finally:
        dg.close()
        server.stop()


def test_usage_report_tables(story):
    today = datetime.now(timezone.utc).date()
    report = usage_report(story.dg, story.pid, today - timedelta(days=6), today)
    assert isinstance(report, UsageReport)
    assert len(report.daily) == 7 and str(report.daily.index.dtype) == "datetime64[ns, UTC]"
    assert report.daily["requests"].sum() == 7 == len(report.requests)
    assert report.daily["hours"].sum() == pytest.approx(report.requests["duration"].sum() / 3600)
    assert report.daily["dollars"].sum() == pytest.approx(report.requests["usd"].sum())
    assert report.by_model.loc["whisper-tiny.en", "requests"] == 7
    assert report.by_feature.loc["punctuate", "requests"] == 7
    assert report.by_feature.loc["diarize", "requests"] == 1 and report.by_feature.loc["sentiment", "requests"] == 1
    assert set(report.by_key.index) >= {k["api_key_id"] for k in story.keys}
    assert report.by_key["dollars"].sum() == pytest.approx(report.daily["dollars"].sum())
    balance = Manage(story.dg).get_balances(story.pid)["amount"].sum()
    assert report.balance == pytest.approx(balance)
    assert report.spend["balance"].iloc[-1] == pytest.approx(balance)
    # the balance walked back: before the first day of spending, it was the purchase
    first_spend = report.spend.index[report.spend["dollars"] > 0][0]
    assert report.spend.loc[first_spend, "balance"] + report.spend.loc[first_spend, "dollars"] == pytest.approx(200.0)
    assert report.run_out is not None and report.run_out > pd.Timestamp(today, tz="UTC")
    assert report.summary()["requests"] == 7 and "run-out" in repr(report)


def test_tiny_spend_against_a_large_balance_has_no_run_out_date(story):
    import dataclasses

    today = datetime.now(timezone.utc).date()
    report = usage_report(story.dg, story.pid, today - timedelta(days=6), today)
    rich = dataclasses.replace(report, balances=report.balances.assign(amount=report.balances["amount"] * 1e9))
    assert rich.run_out is None  # centuries away: no date, and no overflow
    assert "run-out None" in repr(rich) and rich.summary()["run_out"] is None


def test_report_axes_read_right(story):
    """The burn-down's amount axis starts at 0 and writes amounts out (no "+1.999e2" offset on a zoomed axis);
    dates tick on whole days; the per-day legend names only models with bars."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    report = usage_report(story.dg, story.pid, days=7)
    ax = report.plot_burndown()
    ax.figure.canvas.draw()
    assert ax.get_ylim()[0] == 0 and ax.get_ylim()[1] >= report.spend["balance"].max()
    assert ax.yaxis.get_offset_text().get_text() == ""
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all(re.fullmatch(r"\$[\d,]+\.\d\d", t) for t in labels), labels
    for axes in (ax, report.plot_usage()):
        ticks = axes.get_xticks()
        assert len(ticks) <= 9 and all(float(t).is_integer() for t in ticks), [mdates.num2date(t) for t in ticks]
    usage = report.plot_usage()
    shown = {t.get_text() for t in usage.get_legend().get_texts()}
    assert shown == set(report.usage_by_model_daily.groupby("model", observed=True)["hours"].sum().loc[lambda h: h > 0].index)
    plt.close("all")


def test_usage_report_plots_are_saved(story, tmp_path):
    report = usage_report(story.dg, story.pid)  # default: the last 30 days
    for name in ("plot_usage", "plot_burndown", "plot_features"):
        ax = getattr(report, name)()
        assert isinstance(ax, matplotlib.axes.Axes) and ax.get_title()
        path = tmp_path / f"{name}.png"
        ax.figure.savefig(path)
        assert path.stat().st_size > 5000
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    assert report.plot_burndown(ax=ax) is ax
    assert any("run-out" in t.get_text() for t in ax.get_legend().get_texts())
    plt.close("all")


def test_report_exports_html_with_its_figures_and_csv_of_its_tables(story, tmp_path):
    import base64
    import html

    import matplotlib.pyplot as plt

    report = usage_report(story.dg, story.pid, days=7)
    before = plt.get_fignums()
    paths = report.export(tmp_path / "out")
    assert plt.get_fignums() == before  # nothing left to show in a notebook
    assert set(paths) == {"report", *UsageReport.TABLES} and all(p.parent == tmp_path / "out" for p in paths.values())
    for name in UsageReport.TABLES:
        table = getattr(report, name)
        back = pd.read_csv(paths[name], index_col=0)
        assert back.shape == table.shape and list(back.columns) == [str(c) for c in table.columns], name
    back = pd.read_csv(paths["daily"], index_col=0)
    assert back["requests"].sum() == report.daily["requests"].sum() == 7
    assert back["dollars"].sum() == pytest.approx(report.daily["dollars"].sum())
    page = paths["report"].read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and f"project {story.pid}" in page
    images = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([^"]+)">', page)
    assert [alt for alt, _ in images] == ["usage per day", "balance", "requests by feature"]
    assert all(base64.b64decode(data).startswith(b"\x89PNG") and len(data) > 5000 for _, data in images)
    assert [html.unescape(h) for h in re.findall(r"<h2>([^<]+)</h2>", page)] == [
        n.replace("_", " ") for n in UsageReport.TABLES]
    assert f"${report.balance:.2f}" in page and "whisper-tiny.en" in page
    assert story.api_key not in page and all(story.api_key not in p.read_text() for p in paths.values())


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")
def test_exported_report_reads_in_a_browser(story, tmp_path):
    """The page someone without Jupyter opens: Chromium shows its three figures at full size and the
    tables with their rows."""
    report = usage_report(story.dg, story.pid, days=7)
    page_path = report.export(tmp_path / "out")["report"]
    with chromium(tmp_path / "profile") as context:
        page = context.new_page()
        page.goto(page_path.as_uri())
        page.wait_for_function("[...document.images].every(i => i.complete)")
        sizes = page.evaluate("[...document.images].map(i => [i.alt, i.naturalWidth, i.naturalHeight])")
        assert sizes == [[alt, 800, 350] for alt in ("usage per day", "balance", "requests by feature")]
        heads = page.locator("h2").all_inner_texts()
        assert heads == [n.replace("_", " ") for n in UsageReport.TABLES]
        daily_rows = page.locator("h2:text-is('daily') + table tbody tr").count()
        assert daily_rows == len(report.daily) == 7  # days=7: the week ending today
        RESULTS.mkdir(exist_ok=True)
        page.screenshot(path=str(RESULTS / "usage-report.png"), full_page=True)


def test_usage_report_async(story):
    async def main():
        async with dgnb.AsyncClient(api_key=story.api_key, url=story.url) as dg:
            return await usage_report(dg, story.pid)

    report = asyncio.run(main())
    assert report.daily["requests"].sum() == 7


def test_empty_period_and_bad_dates(story):
    report = usage_report(story.dg, story.pid, "2020-01-01", "2020-01-05")
    assert report.daily["requests"].sum() == 0 and report.by_model.empty and report.by_feature.empty
    assert report.plot_usage().texts  # says there is no usage instead of drawing nothing
    with pytest.raises(ValueError, match="after"):
        usage_report(story.dg, story.pid, "2020-02-01", "2020-01-01")
    with pytest.raises(ValueError, match="project_id"):
        usage_report(story.dg, "", "2020-01-01")


def test_a_report_of_the_last_days_ends_today(story):
    """``days=7`` is the week ending today, as ``today - 6 days .. today`` (what the README uses)."""
    today = datetime.now(timezone.utc).date()
    week = usage_report(story.dg, story.pid, days=7)
    same = usage_report(story.dg, story.pid, today - timedelta(days=6), today)
    assert list(week.daily.index) == list(same.daily.index) and len(week.daily) == 7
    assert week.daily["requests"].sum() == same.daily["requests"].sum() > 0
    assert len(usage_report(story.dg, story.pid).daily) == 30
    with pytest.raises(ValueError, match="not both"):
        usage_report(story.dg, story.pid, "2020-01-01", days=7)
    with pytest.raises(ValueError, match="positive"):
        usage_report(story.dg, story.pid, days=0)


def test_by_model_is_the_successful_requests_grouped_by_model(tmp_path):
    """One definition: ``by_model`` counts the period's successful requests per model (Deepgram's usage) and
    the failed ones apart; together they are a groupby of ``report.requests`` by model."""
    server = start(tmp_path)
    try:
        dg = dgnb.Client(api_key=server.api_key, url=server.url)
        clip = short_clip(tmp_path / "clip.wav").read_bytes()
        for _ in range(2):
            dg.transcribe(clip)
        with pytest.raises(dgnb.ApiError):
            dg.transcribe(b"RIFF\x00\x00\x00\x00WAVEdata")  # refused: a request that used nothing
        dg.speak.generate("Hello there.", model="aura-2-thalia-en")
        dg.read.analyze("The refund arrived and I am happy.", sentiment=True)
        report = usage_report(dg, server.app.state.engine.ledger.default_project_id, days=1)
        requests = report.requests.assign(model=report.requests["model"].astype("string").fillna("(no model)"),
                                          ok=report.requests["code"].between(200, 299))
        succeeded = requests[requests.ok].groupby("model").size()
        failed = requests[~requests.ok].groupby("model").size()
        table = report.by_model
        assert table["requests"][table["requests"] > 0].sort_index().to_dict() == succeeded.sort_index().to_dict(), table
        assert table["failed"][table["failed"] > 0].to_dict() == failed.to_dict() == {"whisper-tiny.en": 1}, table
        assert (table["requests"] + table["failed"]).to_dict() == requests.groupby("model").size().to_dict()
        assert set(table.index) == {"whisper-tiny.en", "aura-2-thalia-en", "(no model)"}
        dg.close()
    finally:
        server.stop()
