"""Figures of the historical record: events per year stacked by mode, and events by country."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.record_summary import country_counts, yearly_by_mode
from sim.io import write_atomic

MODE_COLOURS = {
    "control": "#b2182b",
    "minority": "#ef8a62",
    "cooperation": "#67a9cf",
    "other": "#bdbdbd",
    "greenfield": "#1b7837",
    "exit": "#404040",
}


def save_figure(fig: Figure, target: Path) -> Path:
    """Write a figure as PNG atomically and close it."""
    write_atomic(target, lambda p: fig.savefig(p, format="png", dpi=150, bbox_inches="tight"))
    return target


def plot_events_per_year(
    events: pd.DataFrame, years: Iterable[int], target: Path, title: str
) -> Path:
    """Stacked bars of events per year by entry mode."""
    table = yearly_by_mode(events, years)
    fig = Figure(figsize=(8, 4))
    ax = fig.subplots()
    bottom = pd.Series(0, index=table.index)
    for mode in table.columns:
        ax.bar(table.index, table[mode], bottom=bottom, label=mode, color=MODE_COLOURS[mode])
        bottom = bottom + table[mode]
    ax.set_xticks(list(table.index))
    ax.set_xlabel("year of announcement")
    ax.set_ylabel("events")
    ax.set_title(title)
    ax.legend(title="entry mode", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return save_figure(fig, target)


def plot_events_by_country(events: pd.DataFrame, target: Path, title: str) -> Path:
    """Horizontal bars of events per country, stacked by mode, most active country on top."""
    order = country_counts(events).index.tolist()
    table = pd.crosstab(events["country_iso3"], events["mode"]).reindex(
        index=order[::-1], columns=list(MODE_COLOURS), fill_value=0
    )
    fig = Figure(figsize=(7, max(3.0, 0.28 * len(order) + 1)))
    ax = fig.subplots()
    left = pd.Series(0, index=table.index)
    for mode in table.columns:
        ax.barh(table.index, table[mode], left=left, label=mode, color=MODE_COLOURS[mode])
        left = left + table[mode]
    ax.set_xlabel("events")
    ax.set_title(title)
    ax.legend(title="entry mode", frameon=False, loc="lower right")
    ax.spines[["top", "right"]].set_visible(False)
    return save_figure(fig, target)
