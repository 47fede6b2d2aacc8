"""Figures of a projection: fan charts of deals per year, and mode and region mix by year."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from sim.analysis.record_plots import save_figure


def _grid(n: int) -> tuple[int, int]:
    cols = min(4, n)
    return math.ceil(n / cols), cols


def fan_chart(yearly: pd.DataFrame, labels: list[str], target: Path, title: str) -> Path:
    """One panel per strategy: the record (black), then the projected median and bands.

    The dark band is the 25-75 % range, the light band 5-95 %, over all futures and runs.
    """
    rows, cols = _grid(len(labels))
    fig = Figure(figsize=(3.4 * cols, 2.6 * rows + 0.6))
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False).ravel()
    record = yearly[yearly["strategy"] == "record"]
    for ax, label in zip(axes, labels, strict=False):
        mine = yearly[yearly["strategy"] == label]
        ax.plot(record["year"], record["median"], color="black", lw=1.4, label="record")
        ax.fill_between(mine["year"], mine["p5"], mine["p95"], color="C0", alpha=0.2, lw=0)
        ax.fill_between(mine["year"], mine["p25"], mine["p75"], color="C0", alpha=0.35, lw=0)
        ax.plot(mine["year"], mine["median"], color="C0", lw=1.8, label="median")
        ax.axvline(record["year"].max() + 0.5, color="grey", lw=0.8, ls=":")
        ax.set_title(label, fontsize=9)
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=7)
    for ax in axes[len(labels) :]:
        ax.set_visible(False)
    axes[0].legend(frameon=False, fontsize=7)
    fig.supylabel("completed deals per year", fontsize=9)
    fig.suptitle(
        f"{title}: record, then median and 25-75 % / 5-95 % bands over futures x runs",
        fontsize=10,
    )
    return save_figure(fig, target)


def mix_chart(mix: pd.DataFrame, labels: list[str], kind: str, target: Path) -> Path:
    """Stacked areas per strategy: mean completed deals per run by mode (or region) and year."""
    rows, cols = _grid(len(labels))
    fig = Figure(figsize=(3.4 * cols, 2.6 * rows + 1.0))
    axes = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False).ravel()
    data = mix[mix["kind"] == kind]
    categories = list(dict.fromkeys(data["category"]))
    colours = colormaps["tab10"]
    for ax, label in zip(axes, labels, strict=False):
        table = data[data["strategy"] == label].pivot(
            index="year", columns="category", values="deals"
        )[categories]
        ax.stackplot(
            table.index,
            table.T.to_numpy(),
            labels=categories,
            colors=[colours(i % 10) for i in range(len(categories))],
            alpha=0.85,
        )
        ax.set_title(label, fontsize=9)
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=7)
    for ax in axes[len(labels) :]:
        ax.set_visible(False)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(
        handles, names, loc="lower center", ncol=min(5, len(names)), fontsize=7, frameon=False
    )
    fig.supylabel("mean completed deals per run", fontsize=9)
    fig.suptitle(f"Projected {kind} mix by year (mean over futures)", fontsize=10)
    fig.subplots_adjust(bottom=0.14)
    return save_figure(fig, target)
