"""The calibration loss, computed on one window of years only.

loss = w_counts * (-log-likelihood of the window's yearly counts, negative binomial)
     + w_region * JSD(region shares) + w_mode * JSD(mode shares) + w_country * JSD(country shares)

Simulated and recorded events outside the window are removed before any statistic is computed,
so a fit on 2010-2017 cannot see 2018-2021 (tests check this by changing the later record).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.analysis.ensemble import RunStats, encode_record, summarise_runs
from sim.analysis.fit import count_loglik, jsd
from sim.experiment.runner import run_block
from sim.policies.base import Policy, PolicyParams
from sim.scenario import Firm, LossWeights
from sim.world import World


@dataclass(frozen=True)
class WindowStats:
    """Run statistics restricted to a window of years (yearly counts only for its years)."""

    stats: RunStats
    years: np.ndarray

    @property
    def yearly(self) -> np.ndarray:
        """Events per run in each year of the window."""
        return self.stats.yearly


def window_stats(
    events: np.ndarray, run: np.ndarray, n_runs: int, world: World, window: tuple[int, int]
) -> WindowStats:
    """Statistics of the events whose year lies in ``window`` (others are dropped first)."""
    keep = (events["year"] >= window[0]) & (events["year"] <= window[1])
    stats = summarise_runs(events[keep], run[keep], n_runs, world)
    cols = np.flatnonzero((world.years >= window[0]) & (world.years <= window[1]))
    fields = {k: getattr(stats, k) for k in RunStats.__dataclass_fields__}
    fields["yearly"] = stats.yearly[:, cols]
    return WindowStats(RunStats(**fields), world.years[cols])


def record_window(history: pd.DataFrame, world: World, window: tuple[int, int]) -> WindowStats:
    """The record's statistics in ``window`` (rows of other years are removed first)."""
    rows = history[history["year"].between(*window)]
    events = encode_record(rows, world)
    return window_stats(events, np.zeros(events.shape[0], dtype=np.int64), 1, world, window)


def loss(observed: WindowStats, simulated: WindowStats, weights: LossWeights) -> float:
    """The weighted calibration loss of an ensemble in one window (lower is better)."""
    nb, _ = count_loglik(observed.yearly[0], simulated.yearly)
    sim, obs = simulated.stats, observed.stats
    terms = [
        weights.counts * -nb,
        weights.region * jsd(obs.regions[0], sim.regions.sum(axis=0)),
        weights.mode * jsd(obs.modes[0], sim.modes.sum(axis=0)),
        weights.country * jsd(obs.countries[0], sim.countries.sum(axis=0)),
    ]
    return float(sum(0.0 if np.isnan(t) else t for t in terms))


def simulate(
    world: World,
    policy: Policy[PolicyParams],
    firm: Firm,
    seed: int,
    label: str,
    replications: int,
    first: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Events and run index (0-based) of ``replications`` runs, seeds as in ``sim run`` (point 0)."""
    events = run_block(world, policy, firm, seed, 0, 0, range(first, first + replications), label)
    return events, events["replication"].astype(np.int64) - first
