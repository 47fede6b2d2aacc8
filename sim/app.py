"""The SolaraViz dashboard: watch one strategy expand year by year beside the real record.

Launch with ``sim dashboard [SCENARIO]`` (or ``solara run sim/app.py``). Controls: strategy, a
second strategy to compare, the hurdle of a deal and the size weight, barrier shocks on/off,
seed; Step / Play / Reset (Play stops at the last year). Views: a map of markets coloured by the
firm's commitment and sized by market size; deals per year of this run vs the record; the
ensemble view (median and 5-95 % band of 200 batched runs of both strategies, record over it);
mode and region mix so far vs the record to the same year; this run's deals beside the record's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import solara
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz

from sim.analysis.ensemble import COMPARE_MODES
from sim.dashboard import DashboardModel, model_params

COMMITMENT_COLOURS = ("#d9d9d9", "#67a9cf", "#ef8a62", "#b2182b", "#1b7837")
COMMITMENT_NAMES = ("none", "cooperation", "minority", "control", "greenfield")


def _last_year(model: DashboardModel) -> int:
    """The most recently simulated year (the first year before any step)."""
    return int(model.world.years[max(model.year_index - 1, 0)])


def MarketMap(model: DashboardModel):
    """Markets at their capitals, coloured by the firm's commitment, sized by market size."""
    world = model.world
    lat, lon = world.coords[:, 0], world.coords[:, 1]
    t = max(model.year_index - 1, 0)
    size = np.exp(world.size[t])  # GDP relative to the largest market
    fig = Figure(figsize=(7.5, 3.8))
    ax = fig.subplots()
    colours = [COMMITMENT_COLOURS[c] for c in model.firm.commitment]
    ax.scatter(
        lon,
        lat,
        s=20 + 900 * np.sqrt(size),
        c=colours,
        edgecolors="#444444",
        linewidths=0.5,
        alpha=0.9,
    )
    for i, code in enumerate(world.iso3):
        if model.firm.deals[i] > 0:
            ax.annotate(code, (lon[i], lat[i]), fontsize=6, ha="center", va="center")
    for colour, name in zip(COMMITMENT_COLOURS, COMMITMENT_NAMES, strict=True):
        ax.scatter([], [], c=colour, s=40, label=name, edgecolors="#444444", linewidths=0.5)
    ax.legend(title="commitment", fontsize=7, title_fontsize=7, loc="lower left", frameon=False)
    ax.set_xlim(-130, 180)
    ax.set_ylim(-50, 70)
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title(
        f"{model.strategy_label}: markets after {_last_year(model)} "
        f"({int((model.firm.commitment > 0).sum())} entered)",
        fontsize=9,
    )
    return solara.FigureMatplotlib(fig)


def DealsPerYear(model: DashboardModel):
    """This run's deals per year so far, and the record's."""
    world = model.world
    ev = model.events
    sim = np.bincount(ev["year"] - world.years[0], minlength=world.n_years)
    actual = model.history["year"].value_counts().reindex(world.years, fill_value=0).to_numpy()
    fig = Figure(figsize=(6, 3.2))
    ax = fig.subplots()
    done = model.year_index
    ax.bar(world.years[:done], sim[:done], color="#1b9e77", label="this run")
    ax.plot(world.years, actual, color="black", marker="o", lw=1.8, label="actual record")
    ax.set_xticks(world.years[::2])
    ax.set_title(
        f"Deals per year: {int(sim.sum())} simulated so far, "
        f"{int(actual[:done].sum())} recorded to {_last_year(model)}",
        fontsize=9,
    )
    ax.legend(frameon=False, fontsize=8)
    return solara.FigureMatplotlib(fig)


def _mix(model: DashboardModel, kind: str):
    world = model.world
    ev = model.events
    # The record to the same year as this run, so the two mixes cover the same years.
    history = model.history[model.history["year"] <= _last_year(model)]
    if kind == "mode":
        names = list(COMPARE_MODES)
        sim_codes = np.where(ev["blocked"] == 1, len(COMPARE_MODES) - 1, ev["mode"])
        actual = history["mode"].value_counts().reindex(names, fill_value=0)
    else:
        names = list(world.regions)
        sim_codes = world.region[ev["market"]]
        actual = history["region"].value_counts().reindex(names, fill_value=0)
    sim = np.bincount(sim_codes, minlength=len(names)).astype(float)
    sim = sim / sim.sum() if sim.sum() else sim
    fig = Figure(figsize=(6, 3.2))
    ax = fig.subplots()
    x = np.arange(len(names))
    ax.bar(x - 0.2, sim, 0.4, color="#d95f02", label="this run")
    share = actual.to_numpy() / actual.sum() if actual.sum() else actual.to_numpy()
    ax.bar(x + 0.2, share, 0.4, color="black", label="actual record (same years)")
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("share of deals")
    ax.set_title(f"{kind.capitalize()} mix", fontsize=9)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return solara.FigureMatplotlib(fig)


def EnsembleView(model: DashboardModel):
    """Median and 5-95 % band of deals per year over 200 runs of each shown strategy."""
    world = model.world
    actual = model.history["year"].value_counts().reindex(world.years, fill_value=0).to_numpy()
    fig = Figure(figsize=(6, 3.2))
    ax = fig.subplots()
    for (label, yearly), colour in zip(
        model.ensemble_yearly().items(), ("#1b9e77", "#7570b3"), strict=False
    ):
        lo, med, hi = np.percentile(yearly, [5, 50, 95], axis=0)
        ax.fill_between(world.years, lo, hi, color=colour, alpha=0.25)
        ax.plot(world.years, med, color=colour, lw=2, label=f"{label} (median, 5-95 %)")
    ax.plot(world.years, actual, color="black", marker="o", lw=1.5, label="actual record")
    ax.set_xticks(world.years[::2])
    ax.set_title("Ensemble: 200 runs per strategy", fontsize=9)
    ax.legend(frameon=False, fontsize=7)
    return solara.FigureMatplotlib(fig)


def ModeMix(model: DashboardModel):
    """Share of deals by entry mode: this run vs the record."""
    return _mix(model, "mode")


def RegionMix(model: DashboardModel):
    """Share of deals by region: this run vs the record."""
    return _mix(model, "region")


def DealTable(model: DashboardModel):
    """This run's deals in the last simulated year, beside the record's deals of that year."""
    year = _last_year(model)
    deals = model.deals()
    mine = deals[deals["year"] == year][["iso3", "mode", "blocked", "industry"]]
    actual = model.history[model.history["year"] == year][["target", "country_iso3", "mode"]]
    with solara.Column() as main:
        solara.Markdown(
            f"**{year}: {len(mine)} simulated deals, {len(actual)} in the record**"
            if model.year_index
            else "**Press Step to simulate the first year.**"
        )
        with solara.Columns([1, 1]):
            solara.DataFrame(mine.reset_index(drop=True), items_per_page=12)
            solara.DataFrame(pd.DataFrame(actual).reset_index(drop=True), items_per_page=12)
    return main


page = SolaraViz(
    DashboardModel(),
    components=[
        (MarketMap, 0),
        (DealsPerYear, 0),
        (EnsembleView, 0),
        (ModeMix, 0),
        (RegionMix, 0),
        (DealTable, 0),
    ],
    model_params=model_params(),
    name="sim: a cross-border e-commerce firm's internationalization",
)
