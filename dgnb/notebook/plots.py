"""Matplotlib plots of a Transcript: speaker lanes, sentiment and word confidence over time.

Every function takes ``ax=None`` (a new figure when None), returns the Axes and never calls
``plt.show()``. On a transcript without the needed feature, the Axes says what to ask for.

>>> ax = t.plot.speakers()      # doctest: +SKIP
>>> ax = t.plot.sentiment()     # doctest: +SKIP
>>> ax = t.plot.confidence()    # doctest: +SKIP
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ..results.style import SPEAKER_COLOURS, clock, speaker_colour

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..results.transcript import Transcript

def _axes(ax: "Axes | None", size: tuple[float, float]) -> "Axes":
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=size)
    return ax


_TICK_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600]


def _time_axis(ax: "Axes", end: float) -> None:
    """x from 0 to ``end`` seconds, ticks at round clock times (about 8 of them), ``m:ss``/``h:mm:ss``."""
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    end = max(float(end), 1.0)
    step = next((st for st in _TICK_STEPS if end / st <= 9), _TICK_STEPS[-1])
    ax.set_xlim(0, end)
    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda sec, _pos: clock(sec, 0)))
    ax.set_xlabel("time")


def _hatch(index: int) -> str | None:
    """Lanes past the palette's length repeat its colours, so they are hatched to stay distinct."""
    return [None, "///", "...", "xxx"][(int(index) // len(SPEAKER_COLOURS)) % 4]


def _say(ax: "Axes", text: str) -> "Axes":
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#555555")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def speaker_turns(t: "Transcript") -> pd.DataFrame:
    """Turns (channel, speaker, start, end): utterances when present, else runs of words by speaker.

    >>> speaker_turns(t).head()      # doctest: +SKIP
    """
    utt = t.utterances
    if len(utt) and utt["speaker"].notna().any():
        turns = utt[["channel", "speaker", "start", "end"]].copy()
        turns["channel"] = turns["channel"].fillna(0)
        return turns.dropna(subset=["speaker"]).reset_index(drop=True)
    words = t.words
    words = words[(words["alternative"] == 0) & words["speaker"].notna()]
    if words.empty:
        return pd.DataFrame({"channel": [], "speaker": [], "start": [], "end": []})
    return _runs(words)


def channel_turns(t: "Transcript", gap: float = 1.0) -> pd.DataFrame:
    """Turns (channel, speaker=NA, start, end) of each channel: runs of words with pauses under ``gap`` s."""
    words = t.words
    words = words[words["alternative"] == 0].sort_values(["channel", "start"])
    if words.empty:
        return pd.DataFrame({"channel": [], "speaker": [], "start": [], "end": []})
    new = (words["channel"] != words["channel"].shift()) | (words["start"] - words["end"].shift() > gap)
    turns = words.groupby(new.cumsum()).agg(channel=("channel", "first"), start=("start", "min"), end=("end", "max"))
    turns.insert(1, "speaker", pd.array([pd.NA] * len(turns), dtype="Int64"))
    return turns.reset_index(drop=True)


def _runs(words: pd.DataFrame) -> pd.DataFrame:
    key = words["speaker"].astype("int64") * 1000 + words["channel"]
    run = (key != key.shift()).cumsum()
    turns = words.groupby(run).agg(channel=("channel", "first"), speaker=("speaker", "first"),
                                   start=("start", "min"), end=("end", "max"))
    return turns.reset_index(drop=True)


def speakers(t: "Transcript", ax: "Axes | None" = None) -> "Axes":
    """One lane per speaker (and per channel), a bar per turn, talk-time share in the legend.

    A multichannel transcript without speaker labels gets one lane per channel.

    >>> ax = dgnb.plots.speakers(t)   # doctest: +SKIP
    """
    turns = speaker_turns(t)
    by_channel = turns.empty and t.channels > 1
    if by_channel:
        turns = channel_turns(t)
    n_lanes = max(1, turns[["channel", "speaker"]].drop_duplicates().shape[0])
    ax = _axes(ax, (10, 1.2 + 0.45 * n_lanes))
    if turns.empty:
        return _say(ax, "No speaker labels in this transcript: transcribe with diarize=True")
    _draw_lanes(ax, turns, by_channel)
    _time_axis(ax, max(float(turns["end"].max()), float(t.duration or 0)))
    ax.set_title("Who spoke when")
    ax.grid(axis="x", alpha=0.3)
    return ax


def _draw_lanes(ax: "Axes", turns: pd.DataFrame, by_channel: bool = False, legend: bool = True) -> list[tuple]:
    from matplotlib.patches import Patch

    turns = turns.assign(speaker=turns["speaker"].astype("Int64").fillna(-1))
    lanes = sorted(turns.groupby(["channel", "speaker"]).groups)
    multichannel = len({c for c, _ in lanes}) > 1
    talk = (turns["end"] - turns["start"]).groupby([turns["channel"], turns["speaker"]]).sum()
    total = float(talk.sum()) or 1.0
    handles, labels = [], []
    for lane, (channel, speaker) in enumerate(lanes):
        rows = turns[(turns["channel"] == channel) & (turns["speaker"] == speaker)]
        index = lane if (multichannel or by_channel) else speaker
        colour, hatch = speaker_colour(index), _hatch(index)
        ax.broken_barh(list(zip(rows["start"], rows["end"] - rows["start"])), (lane - 0.38, 0.76),
                       facecolors=colour, edgecolors="white" if hatch else "none", hatch=hatch, linewidth=0)
        if by_channel:
            name = f"channel {int(channel)}"
        elif multichannel:
            name = f"ch {int(channel)} · speaker {int(speaker)}"
        else:
            name = f"speaker {int(speaker)}"
        handles.append(Patch(facecolor=colour, hatch=hatch, edgecolor="white" if hatch else colour))
        labels.append(f"{name} ({talk[(channel, speaker)] / total:.0%} of talk)")
    ax.set_yticks(range(len(lanes)))
    ax.set_yticklabels([lab.split(" (")[0] for lab in labels], fontsize="small" if len(lanes) > 6 else None)
    ax.set_ylim(-0.6, len(lanes) - 0.4)
    if not ax.yaxis_inverted():
        ax.invert_yaxis()
    if legend:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize="small")
    return lanes


def sentiment(t: "Transcript", ax: "Axes | None" = None, *, speakers: bool = False) -> "Axes":
    """Sentiment segments over time, coloured by score on a diverging map centred on 0, with the average.

    ``speakers=True`` marks each segment with its speaker's colour and adds the speaker lanes
    beneath, on the same time axis (when diarized).

    >>> ax = dgnb.plots.sentiment(t, speakers=True)  # doctest: +SKIP
    """
    seg = t.sentiments.dropna(subset=["start", "end", "sentiment_score"])
    ax = _axes(ax, (10, 4.2 if speakers else 3))
    if seg.empty:
        return _say(ax, "No sentiment in this transcript: transcribe with sentiment=True")
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import TwoSlopeNorm

    cmap, norm = colormaps["RdYlGn"], TwoSlopeNorm(vmin=-1, vcenter=0, vmax=1)
    for row in seg.itertuples():
        colour = cmap(norm(row.sentiment_score))
        ax.fill_between([row.start, row.end], 0, row.sentiment_score, color=colour, alpha=0.85, linewidth=0)
        ax.plot([row.start, row.end], [row.sentiment_score] * 2, color=colour, linewidth=2)
    average = t.average_sentiment
    if average and average.get("sentiment_score") is not None:
        ax.axhline(average["sentiment_score"], color="#333333", linestyle="--", linewidth=1,
                   label=f"average: {average.get('sentiment', '')} ({average['sentiment_score']:+.2f})")
        ax.legend(loc="lower left", frameon=False, fontsize="small")
    ax.axhline(0, color="#999999", linewidth=0.8)
    ax.set_ylim(-1.05, 1.05)
    end = max(float(seg["end"].max()), float(t.duration or 0))
    if speakers:
        _segment_speakers(ax, seg, end)
    _time_axis(ax, end)
    ax.set_ylabel("sentiment score")
    ax.set_title("Sentiment over time")
    turns = speaker_turns(t) if speakers else None
    if turns is not None and not turns.empty:
        from mpl_toolkits.axes_grid1 import make_axes_locatable

        n_lanes = turns[["channel", "speaker"]].drop_duplicates().shape[0]
        divider = make_axes_locatable(ax)
        lanes_ax = divider.append_axes("bottom", size=f"{min(60, 12 * n_lanes)}%", pad=0.35, sharex=ax)
        cbar_ax = divider.append_axes("right", size="2%", pad=0.1)
        ax.figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=cbar_ax, label="score")
        _draw_lanes(lanes_ax, turns, legend=False)
        _time_axis(lanes_ax, end)
        lanes_ax.grid(axis="x", alpha=0.3)
        ax.set_xlabel("")
        ax.tick_params(labelbottom=False)
        ax.speaker_lanes = lanes_ax  # type: ignore[attr-defined]  # for callers that want to style it
    else:
        ax.figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, pad=0.02, fraction=0.03, label="score")
        if speakers:
            ax.set_title("Sentiment over time (no speaker labels: transcribe with diarize=True)")
    return ax


def _segment_speakers(ax: "Axes", seg: pd.DataFrame, end: float) -> None:
    """A strip along the top of each segment in its speaker's colour, named where it fits."""
    seg = seg.dropna(subset=["speaker"])
    for row in seg.itertuples():
        colour = speaker_colour(int(row.speaker))
        ax.broken_barh([(row.start, row.end - row.start)], (0.93, 0.1), facecolors=colour, linewidth=0,
                       gid=f"speaker {int(row.speaker)}")
        if row.end - row.start > end / 25:
            ax.text((row.start + row.end) / 2, 0.98, f"S{int(row.speaker)}", ha="center", va="center",
                    fontsize="x-small", color="white", fontweight="bold")


def confidence(t: "Transcript", ax: "Axes | None" = None, *, threshold: float = 0.6, label: int = 12,
               window: int = 25) -> "Axes":
    """Word confidence over time (alternative 0, every channel): a dot per word, a rolling mean over
    ``window`` words, words under ``threshold`` in red with the ``label`` least confident named.

    >>> ax = dgnb.plots.confidence(t, threshold=0.5)  # doctest: +SKIP
    """
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold is a confidence between 0 and 1, got {threshold!r}")
    words = t.words
    words = words[(words["alternative"] == 0)].dropna(subset=["start", "confidence"]).sort_values("start")
    ax = _axes(ax, (10, 3))
    if words.empty:
        return _say(ax, "No words with confidence scores in this transcript")
    x, y = words["start"].to_numpy(float), words["confidence"].to_numpy(float)
    low = y < threshold
    size = 12 if len(words) < 2000 else 3
    ax.scatter(x[~low], y[~low], s=size, color="#1f77b4", alpha=0.5, linewidths=0, label="word")
    ax.scatter(x[low], y[low], s=size * 2, color="#d62728", marker="v", linewidths=0,
               label=f"under {threshold:g} ({int(low.sum())} of {len(words)} words)")
    if len(words) >= 3:
        mean = pd.Series(y).rolling(min(window, len(words)), center=True, min_periods=1).mean()
        ax.plot(x, mean.to_numpy(), color="#333333", linewidth=1.2, label=f"rolling mean ({window} words)")
    ax.axhline(threshold, color="#d62728", linestyle=":", linewidth=1)
    if label and low.any():
        worst = words[low].nsmallest(label, "confidence")
        for row in worst.itertuples():
            text = row.punctuated_word if isinstance(row.punctuated_word, str) else row.word
            ax.annotate(str(text), (row.start, row.confidence), xytext=(0, -11), textcoords="offset points",
                        ha="center", fontsize=7, color="#d62728")
    ax.set_ylim(min(0.0, float(y.min())) - 0.08, 1.03)
    _time_axis(ax, max(float(words["end"].max()), float(t.duration or 0)))
    ax.set_ylabel("confidence")
    ax.set_title("Word confidence")
    ax.legend(loc="lower right", frameon=False, fontsize="small", ncol=3)
    return ax


class TranscriptPlots:
    """``t.plot``: the plots of one transcript."""

    def __init__(self, transcript: "Transcript") -> None:
        self._t = transcript

    def speakers(self, ax: "Axes | None" = None) -> "Axes":
        """See :func:`dgnb.plots.speakers`."""
        return speakers(self._t, ax=ax)

    def sentiment(self, ax: "Axes | None" = None, *, speakers: bool = False) -> "Axes":
        """See :func:`dgnb.plots.sentiment`."""
        return sentiment(self._t, ax=ax, speakers=speakers)

    def confidence(self, ax: "Axes | None" = None, **kwargs) -> "Axes":
        """See :func:`dgnb.plots.confidence`."""
        return confidence(self._t, ax=ax, **kwargs)
