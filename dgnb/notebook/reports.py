"""A usage and billing report of one project and period: DataFrames and plots.

>>> r = dgnb.reports.usage_report(dg, project_id, "2025-01-01", "2025-01-31")   # doctest: +SKIP
>>> r.daily, r.by_model, r.by_feature, r.by_key, r.spend                         # doctest: +SKIP
>>> r.plot_usage(); r.plot_burndown(); r.plot_features()                         # doctest: +SKIP
>>> r.export("usage-report")     # report.html with the plots, and a CSV per table   # doctest: +SKIP

On :class:`dgnb.AsyncClient`, ``await usage_report(dg, ...)``. Plots take ``ax=None`` (a new
figure when None), return the Axes and never call ``plt.show()``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generator

import numpy as np
import pandas as pd

from ..api.manage import Manage, check_dates, check_id

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["usage_report", "UsageReport"]


#: Beyond this many days a run-out date means nothing (and pandas cannot represent it).
RUN_OUT_HORIZON_DAYS = 100 * 365


@dataclass
class UsageReport:
    """Usage and spend of ``project_id`` from ``start`` to ``end`` (UTC days).

    DataFrames: ``daily`` (date -> hours, requests, dollars), ``by_model`` (per model: hours and
    requests that succeeded, as Deepgram's usage counts them, and ``failed`` requests), ``by_feature``,
    ``by_key`` (per accessor: hours, requests, dollars), ``spend`` (date -> dollars, balance at the
    end of the day), ``balances`` and ``purchases`` as the API gives them, ``requests`` (one row
    per request, newest first, capped by ``max_requests``). ``balance`` is the total now, and
    ``run_out`` the projected date the balance reaches zero at the period's mean daily spend.
    """

    project_id: str
    start: pd.Timestamp
    end: pd.Timestamp
    daily: pd.DataFrame
    by_model: pd.DataFrame
    by_feature: pd.DataFrame
    by_key: pd.DataFrame
    spend: pd.DataFrame
    balances: pd.DataFrame
    purchases: pd.DataFrame
    requests: pd.DataFrame
    usage_by_model_daily: pd.DataFrame = field(repr=False)

    @property
    def balance(self) -> float:
        return float(self.balances["amount"].sum()) if len(self.balances) else 0.0

    @property
    def mean_daily_spend(self) -> float:
        return float(self.spend["dollars"].mean()) if len(self.spend) else 0.0

    @property
    def run_out(self) -> pd.Timestamp | None:
        """The day the balance runs out at the mean daily spend (None when nothing is spent, or when
        the balance would outlast a century)."""
        rate = self.mean_daily_spend
        if rate <= 0:
            return None
        days = self.balance / rate
        if days > RUN_OUT_HORIZON_DAYS:
            return None
        return (max(self.end, pd.Timestamp.now(tz="UTC").normalize()) + pd.Timedelta(days=float(days))).normalize()

    def summary(self) -> dict:
        """Totals of the period, for a notebook cell."""
        return {"project_id": self.project_id, "start": self.start.date(), "end": self.end.date(),
                "requests": int(self.daily["requests"].sum()), "hours": float(self.daily["hours"].sum()),
                "dollars": float(self.daily["dollars"].sum()), "balance": self.balance,
                "run_out": None if self.run_out is None else self.run_out.date()}

    def __repr__(self) -> str:
        s = self.summary()
        return (f"UsageReport({s['project_id']}, {s['start']}..{s['end']}: {s['requests']} requests, "
                f"{s['hours']:.3f} h, ${s['dollars']:.4f}; balance ${s['balance']:.2f}, run-out {s['run_out']})")

    # ---------------------------------------------------------------- export ----
    #: The tables written by :meth:`export`, in the order the HTML page shows them.
    TABLES = ("daily", "by_model", "by_feature", "by_key", "spend", "balances", "purchases", "requests")

    def to_html(self) -> str:
        """The report as one self-contained HTML page: totals, the three plots (inline PNG) and the
        tables, for someone without Jupyter.

        >>> Path("usage.html").write_text(r.to_html())   # doctest: +SKIP
        """
        import html

        s = self.summary()
        title = f"Deepgram usage of project {s['project_id']}, {s['start']} to {s['end']}"
        totals = pd.DataFrame({"": [s["requests"], f"{s['hours']:.3f}", f"${s['dollars']:.4f}",
                                    f"${s['balance']:.2f}", s["run_out"] or "not in sight"]},
                              index=["requests", "audio hours", "spend", "balance now", "balance runs out"])
        figures = "".join(f'<img alt="{html.escape(name)}" src="data:image/png;base64,{_png(plot)}">'
                          for name, plot in (("usage per day", self.plot_usage),
                                             ("balance", self.plot_burndown),
                                             ("requests by feature", self.plot_features)))
        tables = "".join(f"<h2>{html.escape(name.replace('_', ' '))}</h2>{_table_html(getattr(self, name))}"
                         for name in self.TABLES)
        return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
                f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
                f"{totals.to_html(header=False)}{figures}{tables}</body></html>")

    def export(self, folder: "str | os.PathLike[str]") -> dict[str, Path]:
        """Write ``report.html`` (:meth:`to_html`) and one CSV per table into ``folder`` (made if
        missing); returns ``{name: path}``.

        >>> paths = r.export("usage-report")   # doctest: +SKIP
        >>> sorted(paths)                      # doctest: +SKIP
        ['balances', 'by_feature', 'by_key', 'by_model', 'daily', 'purchases', 'report', 'requests', 'spend']
        """
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"report": out / "report.html"}
        paths["report"].write_text(self.to_html(), encoding="utf-8")
        for name in self.TABLES:
            paths[name] = out / f"{name}.csv"
            getattr(self, name).to_csv(paths[name])
        return paths

    # ---------------------------------------------------------------- plots ----
    def plot_usage(self, ax: "Axes | None" = None) -> "Axes":
        """Hours per day stacked by model (requests per day when no audio hours were used)."""
        ax = _axes(ax)
        table = self.usage_by_model_daily
        if table.empty:
            return _say(ax, "no usage in this period")
        value = "hours" if table["hours"].sum() > 0 else "requests"
        wide = table.pivot_table(index="date", columns="model", values=value, aggfunc="sum", observed=True,
                                 fill_value=0.0)
        wide = wide.reindex(self.daily.index, fill_value=0.0)
        wide = wide.loc[:, wide.sum() > 0]  # a model with no bars in the period has no place in the legend
        bottom = np.zeros(len(wide))
        x = wide.index.tz_localize(None) if wide.index.tz is not None else wide.index
        for model in wide.columns:
            ax.bar(x, wide[model].to_numpy(), bottom=bottom, label=str(model), width=0.8)
            bottom += wide[model].to_numpy()
        ax.set_ylabel("audio hours" if value == "hours" else "requests")
        ax.set_title("Usage per day by model")
        ax.legend(title="model", fontsize="small")
        _date_ticks(ax)
        return ax

    def plot_burndown(self, ax: "Axes | None" = None) -> "Axes":
        """Balance at the end of each day, and its projection to zero at the mean daily spend."""
        ax = _axes(ax)
        if self.spend.empty:
            return _say(ax, "no balance data")
        x = self.spend.index.tz_localize(None)
        ax.plot(x, self.spend["balance"], marker="o", markersize=3, label="balance")
        run_out = self.run_out
        if run_out is not None:
            last, level = pd.Timestamp(x[-1]), float(self.spend["balance"].iloc[-1])
            horizon = last + max(pd.Timedelta(days=7), pd.Timestamp(x[-1]) - pd.Timestamp(x[0]))
            target = run_out.tz_localize(None)
            if target <= horizon:
                ax.plot([last, target], [level, 0.0], linestyle="--", color="#d62728",
                        label=f"projected run-out {run_out.date()}")
                ax.axhline(0, color="#999999", linewidth=0.8)
            else:  # far away: show the trend over the chart's width and name the date
                days = (horizon - last) / pd.Timedelta(days=1)
                ax.plot([last, horizon], [level, level - self.mean_daily_spend * days], linestyle="--",
                        color="#d62728", label=f"projected run-out {run_out.date()} (beyond the chart)")
        _money_axis(ax, self._units)
        ax.set_title("Balance burn-down")
        ax.legend(fontsize="small")
        _date_ticks(ax)
        return ax

    def plot_features(self, ax: "Axes | None" = None) -> "Axes":
        """Requests per feature (a request with several features counts once for each)."""
        ax = _axes(ax)
        if self.by_feature.empty:
            return _say(ax, "no requests with features in this period")
        data = self.by_feature.sort_values("requests")
        ax.barh(data.index.astype(str), data["requests"])
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole requests
        ax.set_xlabel("requests")
        ax.set_title("Requests by feature")
        return ax

    @property
    def _units(self) -> str:
        return str(self.balances["units"].iloc[0]).upper() if len(self.balances) else "USD"


_FIGSIZE = (8, 3.5)  #: inches, in a notebook and in the exported page alike
_CSS = ("body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;font-size:0.9em;margin:0.5em 0 1.5em}"
        "td,th{border:1px solid #ddd;padding:0.2em 0.6em;text-align:right}img{max-width:100%;display:block}")


def _png(plot) -> str:
    """One plot method drawn on its own figure, as base64 PNG (no pyplot: nothing shows in a notebook)."""
    import base64
    import io

    from matplotlib.figure import Figure

    fig = Figure(figsize=_FIGSIZE)
    plot(fig.subplots())
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _table_html(df: pd.DataFrame) -> str:
    return df.to_html(na_rep="", float_format=lambda v: f"{v:,.4f}") if len(df) else "<p>none in this period</p>"


def _axes(ax):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=_FIGSIZE)
    return ax


def _date_ticks(ax) -> None:
    """Ticks on whole days (never 12:00), at most about eight of them."""
    import math

    import matplotlib.dates as mdates

    lo, hi = ax.get_xlim()
    ax.xaxis.set_major_locator(mdates.DayLocator(interval=max(1, math.ceil((hi - lo) / 8))))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %d"))


def _money_axis(ax, units: str) -> None:
    """An amount axis from 0 with the amounts written out: a $0.09 spend on $200 must not look like a
    crash, as it does on an axis zoomed to the change with an offset ("+1.999e2")."""
    from matplotlib.ticker import FuncFormatter

    top = max(ax.get_ylim()[1], 0.0)
    ax.set_ylim(0, top * 1.05 or 1.0)
    sign = "$" if units == "USD" else ""
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{sign}{v:,.2f}"))
    ax.set_ylabel(f"balance ({units})")


def _say(ax, text: str):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#555555")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


# ---------------------------------------------------------------- building ----
def _utc(value: Any) -> pd.Timestamp:
    ts = pd.Timestamp(value.strip() if isinstance(value, str) else value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _day_index(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    return pd.date_range(start.normalize(), end.normalize(), freq="D", tz="UTC", name="date").as_unit("ns")


def _per_day(df: pd.DataFrame, columns: list[str], days: pd.DatetimeIndex) -> pd.DataFrame:
    if df.empty:
        return pd.DataFrame({c: np.zeros(len(days)) for c in columns}, index=days)
    out = df.assign(date=df["start"].dt.normalize()).groupby("date")[columns].sum()
    return out.astype("float64").reindex(days, fill_value=0.0)


def _build(manage: Manage, project_id: str, start: Any, end: Any, max_requests: int | None, span: int = 30
           ) -> Generator[Any, Any, UsageReport]:
    check_id(project_id, "project_id")
    check_dates(start, end)  # types and order, before any request
    today = pd.Timestamp.now(tz="UTC").normalize()
    end_ts = _utc(end) if end is not None else today
    start_ts = _utc(start) if start is not None else end_ts - pd.Timedelta(days=span - 1)
    if start_ts.normalize() > end_ts.normalize():
        raise ValueError(f"start ({start_ts.date()}) is after end ({end_ts.date()})")
    s, e = start_ts.strftime("%Y-%m-%d"), end_ts.strftime("%Y-%m-%d")
    days = _day_index(start_ts, end_ts)

    total = yield from manage.steps.get_usage_breakdown(project_id, s, e)
    models = yield from manage.steps.get_usage_breakdown(project_id, s, e, grouping="models")
    features = yield from manage.steps.get_usage_breakdown(project_id, s, e, grouping="feature_set")
    keys = yield from manage.steps.get_usage_breakdown(project_id, s, e, grouping="accessor")
    through = max(end_ts.normalize(), today)  # spend up to now, to walk the balance back day by day
    bill_days = yield from manage.steps.get_billing_breakdown(project_id, s, through.strftime("%Y-%m-%d"))
    bill_keys = yield from manage.steps.get_billing_breakdown(project_id, s, e, grouping="accessor")
    balances = yield from manage.steps.get_balances(project_id)
    purchases = yield from manage.steps.get_purchases(project_id)
    requests = yield from manage.steps.get_usage_requests(project_id, s, e, limit=max_requests)

    daily = _per_day(total, ["hours", "requests"], days).join(_per_day(bill_days, ["dollars"], days))
    daily["requests"] = daily["requests"].astype("int64")

    if len(models):
        by_model_daily = models.assign(date=models["start"].dt.normalize(),
                                       model=models["model"].astype("string").fillna(NO_MODEL))
        by_model_daily = by_model_daily[["date", "model", "hours", "requests"]].astype(
            {"hours": "float64", "requests": "int64"})
        by_model = by_model_daily.groupby("model")[["hours", "requests"]].sum().sort_values("hours", ascending=False)
    else:
        by_model_daily = pd.DataFrame({"date": pd.Series(dtype="datetime64[ns, UTC]"), "model": pd.Series(dtype="string"),
                                       "hours": pd.Series(dtype="float64"), "requests": pd.Series(dtype="int64")})
        by_model = pd.DataFrame({"hours": pd.Series(dtype="float64"), "requests": pd.Series(dtype="int64")},
                                index=pd.Index([], name="model", dtype="string"))

    by_model = _with_failed(by_model, requests)

    counts: dict[str, int] = {}
    for feature_set, n in zip(features.get("feature_set", pd.Series(dtype="object")), features["requests"]):
        for f in str(feature_set or "").split(","):
            if f and f != "nan":
                counts[f] = counts.get(f, 0) + int(n)
    by_feature = pd.DataFrame({"requests": pd.Series(counts, dtype="int64")})
    by_feature.index.name = "feature"
    by_feature = by_feature.sort_values("requests", ascending=False)

    key_usage = (keys.groupby("accessor")[["hours", "requests"]].sum() if len(keys) and "accessor" in keys
                 else pd.DataFrame({"hours": [], "requests": []}, index=pd.Index([], name="accessor")))
    key_dollars = (bill_keys.groupby("accessor")[["dollars"]].sum() if len(bill_keys) and "accessor" in bill_keys
                   else pd.DataFrame({"dollars": []}, index=pd.Index([], name="accessor")))
    by_key = key_usage.join(key_dollars, how="outer").fillna(0.0).astype({"hours": "float64", "requests": "int64",
                                                                          "dollars": "float64"})
    by_key.index.name = "accessor"
    by_key = by_key.sort_values("dollars", ascending=False)

    balance_now = float(balances["amount"].sum()) if len(balances) else 0.0
    dollars = _per_day(bill_days, ["dollars"], _day_index(start_ts, through))["dollars"]
    after = dollars[::-1].cumsum()[::-1] - dollars  # spent after each day, up to now
    spend = pd.DataFrame({"dollars": dollars, "balance": balance_now + after}).reindex(days)
    return UsageReport(project_id=project_id, start=start_ts.normalize(), end=end_ts.normalize(), daily=daily,
                       by_model=by_model, by_feature=by_feature, by_key=by_key, spend=spend, balances=balances,
                       purchases=purchases, requests=requests, usage_by_model_daily=by_model_daily)


NO_MODEL = "(no model)"  # requests no model answers (text intelligence, /v1/read)


def _with_failed(by_model: pd.DataFrame, requests: pd.DataFrame) -> pd.DataFrame:
    """``by_model`` (the period's successful requests per model, as Deepgram's usage counts them) with a
    ``failed`` column: the requests refused or failed, which used nothing. ``requests`` plus ``failed``
    is a groupby of ``report.requests`` by model."""
    if len(requests) and "code" in requests:
        bad = requests[~requests["code"].between(200, 299)]
        failed = bad.groupby(bad["model"].astype("string").fillna(NO_MODEL)).size()
    else:
        failed = pd.Series(dtype="int64")
    out = by_model.reindex(by_model.index.union(failed.index))
    out = out.fillna({"hours": 0.0, "requests": 0}).astype({"hours": "float64", "requests": "int64"})
    out["failed"] = failed.reindex(out.index, fill_value=0).astype("int64")
    out.index.name = "model"
    return out.sort_values(["hours", "requests"], ascending=False)


def usage_report(dg: Any, project_id: str, start: Any = None, end: Any = None, *, days: int | None = None,
                 max_requests: int | None = 10_000) -> Any:
    """Fetch a project's usage, billing and requests for ``start``..``end``, or for the ``days`` days
    ending with ``end`` (default: today); with neither, the last 30 days.

    Returns a :class:`UsageReport` on :class:`dgnb.Client` (an awaitable of one on ``AsyncClient``).

    >>> report = dgnb.reports.usage_report(dg, pid, days=7)   # doctest: +SKIP
    """
    if days is not None:
        if start is not None:
            raise ValueError("give start or days, not both")
        if not isinstance(days, int) or isinstance(days, bool) or days < 1:
            raise ValueError(f"days must be a positive whole number, got {days!r}")
    return dg.compose(_build(dg.manage, project_id, start, end, max_requests, days or 30))
