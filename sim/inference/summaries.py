"""Summary statistics of a history: what simulation-based inference compares.

One vector per run (and one for the record, computed by the same function from the record's
events), so that a classifier or a distance sees simulated and real histories alike. The
summaries follow the patterns a record of 100-150 events can carry (ODD 1; NOTES 3): the yearly
counts, the mode and region mix, concentration over countries, mode by market type, and the pace,
rhythm and scope of expansion (Vermeulen & Barkema 2002, Strategic Management Journal 23:637).
Counts are taken on log scale (log1p) and mixes as shares with one half added to each cell, so
that a run with no deal still has finite summaries.
"""

from __future__ import annotations

import numpy as np

from sim.analysis.ensemble import RunStats, mode_columns, summarise_runs
from sim.modes import COMPARE_MODES
from sim.world import World

_CONTROL = COMPARE_MODES.index("control")
_MINORITY = COMPARE_MODES.index("minority")


def summary_names(world: World) -> list[str]:
    """Names of the summary columns, in order."""
    modes = [COMPARE_MODES[i] for i in mode_columns(world)]
    return [
        *(f"log_count_{y}" for y in world.years),
        "log_total",
        *(f"mode_share_{m}" for m in modes),
        *(f"region_share_{r}" for r in world.regions),
        "countries",
        "top_country_share",
        "hhi_countries",
        "control_share_emerging",
        "control_share_mature",
        "equity_share_emerging",
        "equity_share_mature",
        "first_active_year",
        "rhythm_cv",
        "regions_entered",
    ]


def _shares(counts: np.ndarray) -> np.ndarray:
    """Shares with one half added to each cell (finite for an empty row)."""
    padded = counts + 0.5
    return padded / padded.sum(axis=1, keepdims=True)


def from_stats(stats: RunStats, world: World) -> np.ndarray:
    """The summaries of every run of ``stats``, shape (runs, len(summary_names(world)))."""
    yearly = stats.yearly.astype(float)
    total = yearly.sum(axis=1)
    countries = stats.countries.astype(float)
    held = np.maximum(total, 1.0)[:, None]
    share = countries / held
    em, ma = stats.emerging_modes.astype(float), stats.mature_modes.astype(float)
    active = yearly > 0
    first = np.where(active.any(axis=1), active.argmax(axis=1), world.n_years)
    mean = yearly.mean(axis=1)
    rhythm = np.where(mean > 0, yearly.std(axis=1) / np.maximum(mean, 1e-12), 0.0)
    parts = [
        np.log1p(yearly),
        np.log1p(total)[:, None],
        _shares(stats.modes[:, mode_columns(world)].astype(float)),
        _shares(stats.regions.astype(float)),
        (countries > 0).sum(axis=1, keepdims=True),
        share.max(axis=1, keepdims=True),
        (share**2).sum(axis=1, keepdims=True),
        ((em[:, _CONTROL] + 0.5) / (em.sum(axis=1) + 1.0))[:, None],
        ((ma[:, _CONTROL] + 0.5) / (ma.sum(axis=1) + 1.0))[:, None],
        ((em[:, [_CONTROL, _MINORITY]].sum(axis=1) + 0.5) / (em.sum(axis=1) + 1.0))[:, None],
        ((ma[:, [_CONTROL, _MINORITY]].sum(axis=1) + 0.5) / (ma.sum(axis=1) + 1.0))[:, None],
        first[:, None].astype(float),
        rhythm[:, None],
        (stats.regions > 0).sum(axis=1, keepdims=True),
    ]
    return np.hstack([np.asarray(p, dtype=float) for p in parts])


def summarise(events: np.ndarray, run: np.ndarray, n_runs: int, world: World) -> np.ndarray:
    """Summaries of ``n_runs`` histories given as an event table and each event's run index.

    Only the events of the world's years and compared modes count (as in every comparison).
    """
    inside = (events["year"] >= world.years[0]) & (events["year"] <= world.years[-1])
    stats = summarise_runs(events[inside], run[inside], n_runs, world)
    return from_stats(stats, world)
