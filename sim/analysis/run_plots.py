"""Figures of a scenario run: simulated vs actual deals per year, mode mix, regions, countries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.analysis.accumulate import Comparison
from sim.analysis.ensemble import COMPARE_MODES
from sim.analysis.record_plots import save_figure
from sim.analysis.tables import RECORD

PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666")


def _colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def plot_deals_per_year(
    yearly: pd.DataFrame,
    labels: tuple[str, ...],
    target: Path,
    windows: tuple[tuple[int, int], tuple[int, int]] | None = None,
) -> Path:
    """Median and 5-95 % band of deals per year for each strategy, with the record over them.

    ``windows`` (calibration, validation) are shaded and named, so that in-sample and
    out-of-sample years can be told apart at a glance.
    """
    fig = Figure(figsize=(8.5, 4.5))
    ax = fig.subplots()
    if windows is not None:
        for (first, last), name, shade in zip(
            windows,
            ("calibration window", "validation window"),
            ("#f2f2f2", "#fde9d9"),
            strict=True,
        ):
            ax.axvspan(first - 0.5, last + 0.5, color=shade, zorder=0)
            ax.text(
                (first + last) / 2,
                1.0,
                name,
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="bottom",
                fontsize=8,
                color="#555555",
            )
    for i, label in enumerate(labels):
        part = yearly[yearly["strategy"] == label]
        ax.fill_between(
            part["year"], part["p05"], part["p95"], color=_colour(i), alpha=0.18, linewidth=0
        )
        ax.plot(
            part["year"], part["median"], color=_colour(i), lw=2, label=f"{label} (median, 5-95 %)"
        )
    record = yearly[yearly["strategy"] == RECORD]
    ax.plot(
        record["year"],
        record["median"],
        color="black",
        lw=2.2,
        marker="o",
        label="actual record",
        zorder=10,  # the record on top of every band
    )
    ax.set_xticks(sorted(record["year"].unique()))
    ax.set_xlabel("year")
    ax.set_ylabel("deal events per year")
    ax.set_title("Simulated vs actual deals per year", pad=18)
    ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return save_figure(fig, target)


def _grouped(ax: Axes, categories: list[str], series: dict[str, np.ndarray]) -> None:
    width = 0.8 / len(series)
    x = np.arange(len(categories))
    for i, (name, values) in enumerate(series.items()):
        colour = "black" if name == RECORD else _colour(i)
        ax.bar(
            x + (i - (len(series) - 1) / 2) * width,
            values,
            width,
            label=name,
            color=colour,
            alpha=0.85 if name != RECORD else 0.9,
        )
    ax.set_xticks(x)
    ax.set_xticklabels(categories, rotation=30, ha="right")
    ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)


def plot_mix(kind: str, c: Comparison, target: Path) -> Path:
    """Pooled shares by entry mode (``kind="mode"``) or region (``kind="region"``)."""
    field, names = ("modes", COMPARE_MODES) if kind == "mode" else ("regions", c.world.regions)
    series = {label: part.pooled(field) for label, part in zip(c.labels, c.points, strict=True)}
    series[RECORD] = c.record.pooled(field)
    fig = Figure(figsize=(8.5, 4.2))
    ax = fig.subplots()
    _grouped(ax, list(names), series)
    ax.set_ylabel("share of events")
    ax.set_title(f"{kind.capitalize()} mix: simulated (pooled over runs) vs actual")
    return save_figure(fig, target)


def plot_top_countries(c: Comparison, target: Path, top: int = 12) -> Path:
    """Events per run in the record's most active countries: simulated mean vs actual."""
    actual = c.observed.countries[0]
    order = [i for i in np.argsort(-actual, kind="stable")[:top] if actual[i] > 0]
    series = {
        label: part.mean("countries")[order] for label, part in zip(c.labels, c.points, strict=True)
    }
    series[RECORD] = actual[order].astype(float)
    fig = Figure(figsize=(9, 4.2))
    ax = fig.subplots()
    _grouped(ax, [c.world.iso3[i] for i in order], series)
    ax.set_ylabel("events (simulated: mean per run)")
    ax.set_title("Top countries of the record: simulated vs actual")
    return save_figure(fig, target)
