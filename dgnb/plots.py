"""Matplotlib plots of a Transcript: speaker lanes and sentiment over time.

Every function takes ``ax=None`` (a new figure when None), returns the Axes and never calls
``plt.show()``. On a transcript without the needed feature, the Axes says what to ask for.

>>> ax = t.plot.speakers()      # doctest: +SKIP
>>> ax = t.plot.sentiment()     # doctest: +SKIP
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ._style import clock, speaker_colour

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .transcript import Transcript

def _axes(ax: "Axes | None", size: tuple[float, float]) -> "Axes":
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=size)
    return ax


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
    key = words["speaker"].astype("int64") * 1000 + words["channel"]
    run = (key != key.shift()).cumsum()
    turns = words.groupby(run).agg(channel=("channel", "first"), speaker=("speaker", "first"),
                                   start=("start", "min"), end=("end", "max"))
    return turns.reset_index(drop=True)


def speakers(t: "Transcript", ax: "Axes | None" = None) -> "Axes":
    """One lane per speaker (and per channel), a bar per turn, talk-time share in the legend.

    >>> ax = dgnb.plots.speakers(t)   # doctest: +SKIP
    """
    turns = speaker_turns(t)
    ax = _axes(ax, (10, 1.2 + 0.45 * max(1, turns[["channel", "speaker"]].drop_duplicates().shape[0])))
    if turns.empty:
        return _say(ax, "No speaker labels in this transcript: transcribe with diarize=True")
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    lanes = sorted(turns.groupby(["channel", "speaker"]).groups)
    multichannel = len({c for c, _ in lanes}) > 1
    talk = (turns["end"] - turns["start"]).groupby([turns["channel"], turns["speaker"]]).sum()
    total = float(talk.sum()) or 1.0
    handles, labels = [], []
    for lane, (channel, speaker) in enumerate(lanes):
        rows = turns[(turns["channel"] == channel) & (turns["speaker"] == speaker)]
        colour = speaker_colour(speaker if not multichannel else lane)
        ax.broken_barh(list(zip(rows["start"], rows["end"] - rows["start"])), (lane - 0.38, 0.76),
                       facecolors=colour, edgecolors="none")
        name = f"ch {int(channel)} · speaker {int(speaker)}" if multichannel else f"speaker {int(speaker)}"
        handles.append(Patch(color=colour))
        labels.append(f"{name} ({talk[(channel, speaker)] / total:.0%} of talk)")
    ax.set_yticks(range(len(lanes)))
    ax.set_yticklabels([lab.split(" (")[0] for lab in labels])
    ax.set_ylim(-0.6, len(lanes) - 0.4)
    ax.invert_yaxis()
    end = max(float(turns["end"].max()), float(t.duration or 0))
    ax.set_xlim(0, end)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda s, _pos: clock(s, 0)))
    ax.set_xlabel("time")
    ax.set_title("Who spoke when")
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize="small")
    ax.grid(axis="x", alpha=0.3)
    return ax


def sentiment(t: "Transcript", ax: "Axes | None" = None) -> "Axes":
    """Sentiment segments over time, coloured by score on a diverging map centred on 0, with the average.

    >>> ax = dgnb.plots.sentiment(t)  # doctest: +SKIP
    """
    seg = t.sentiments.dropna(subset=["start", "end", "sentiment_score"])
    ax = _axes(ax, (10, 3))
    if seg.empty:
        return _say(ax, "No sentiment in this transcript: transcribe with sentiment=True")
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.ticker import FuncFormatter

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
    ax.set_xlim(0, max(float(seg["end"].max()), float(t.duration or 0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda s, _pos: clock(s, 0)))
    ax.set_xlabel("time")
    ax.set_ylabel("sentiment score")
    ax.set_title("Sentiment over time")
    ax.figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, pad=0.02, fraction=0.03, label="score")
    return ax


class TranscriptPlots:
    """``t.plot``: the plots of one transcript."""

    def __init__(self, transcript: "Transcript") -> None:
        self._t = transcript

    def speakers(self, ax: "Axes | None" = None) -> "Axes":
        """See :func:`dgnb.plots.speakers`."""
        return speakers(self._t, ax=ax)

    def sentiment(self, ax: "Axes | None" = None) -> "Axes":
        """See :func:`dgnb.plots.sentiment`."""
        return sentiment(self._t, ax=ax)
