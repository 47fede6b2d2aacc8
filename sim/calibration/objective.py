"""Proper scores of the record under an ensemble, on one window of years only.

Two questions are scored apart, each on a scale that does not depend on the window's length:

- *how many*: the log score of the record's yearly counts under the ensemble's predictive
  distribution, **per year** (:func:`sim.analysis.scores.count_log_score`);
- *where and how*: the Dirichlet-multinomial log score of the record's region, mode and country
  counts, **per event**, summed over the three mixes (:func:`sim.analysis.scores.mix_log_score`).

Higher is better (Gneiting & Raftery 2007). The calibration loss is the weighted sum of the two
negative scores. Simulated and recorded events outside the window are removed before anything is
counted, so a fit on 2010-2017 cannot see 2018-2021 (tests rewrite the later record to check).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.analysis.ensemble import RunStats, encode_record, mode_columns, summarise_runs
from sim.analysis.scores import Score, bootstrap_weights, count_log_score, mix_log_score
from sim.experiment.runner import run_block
from sim.policies.base import Policy, PolicyParams
from sim.scenario import Firm, LossWeights
from sim.world import World

#: The mixes scored for "where and how".
MIXES = ("regions", "modes", "countries")


@dataclass(frozen=True)
class WindowStats:
    """Run statistics restricted to a window of years (yearly counts only for its years).

    ``mode_columns`` are the compared modes' columns of ``stats.modes`` (all when ``None``): the
    mode mix is scored on them only.
    """

    stats: RunStats
    years: np.ndarray
    mode_columns: np.ndarray | None = None

    @property
    def yearly(self) -> np.ndarray:
        """Events per run in each year of the window."""
        return self.stats.yearly

    @property
    def n_events(self) -> int:
        """Events of the first run (for the record: its events in the window)."""
        return int(self.stats.yearly[0].sum())


def window_stats(
    events: np.ndarray, run: np.ndarray, n_runs: int, world: World, window: tuple[int, int]
) -> WindowStats:
    """Statistics of the events whose year lies in ``window`` (others are dropped first)."""
    keep = (events["year"] >= window[0]) & (events["year"] <= window[1])
    stats = summarise_runs(events[keep], run[keep], n_runs, world)
    cols = np.flatnonzero((world.years >= window[0]) & (world.years <= window[1]))
    fields = {k: getattr(stats, k) for k in RunStats.__dataclass_fields__}
    fields["yearly"] = stats.yearly[:, cols]
    fields["yearly_exits"] = stats.yearly_exits[:, cols]
    return WindowStats(RunStats(**fields), world.years[cols], mode_columns(world))


def record_window(history: pd.DataFrame, world: World, window: tuple[int, int]) -> WindowStats:
    """The record's statistics in ``window`` (rows of other years are removed first)."""
    rows = history[history["year"].between(*window)]
    events = encode_record(rows, world)
    return window_stats(events, np.zeros(events.shape[0], dtype=np.int64), 1, world, window)


@dataclass(frozen=True)
class WindowScores:
    """The record's scores under one ensemble in one window.

    Attributes:
        counts: Log score of the yearly counts, per year.
        mix: Sum of the region, mode and country Dirichlet-multinomial log scores, per event
            (empty when the record has no event in the window).
        parts: The three mix scores and the count score by name.
    """

    counts: Score
    mix: Score
    parts: dict[str, Score]

    def loss(self, weights: LossWeights) -> float:
        """The weighted negative score (lower is better); an empty mix adds nothing."""
        mix = 0.0 if self.mix.empty else -self.mix.value
        return weights.counts * -self.counts.value + weights.mix * mix


def score_window(
    observed: WindowStats,
    simulated: WindowStats,
    rng: np.random.Generator | None = None,
    n_boot: int = 0,
) -> WindowScores:
    """Score the record's window under the ensemble's window.

    Args:
        observed: The record's statistics in the window.
        simulated: The ensemble's statistics in the same window.
        rng: Generator of the bootstrap over runs (needed when ``n_boot > 0``).
        n_boot: Bootstrap replicates for Monte Carlo standard errors (0: point estimates, as
            inside the optimiser). All scores share one set of resampled runs, so the standard
            error of the summed mix score is that of the sum.
    """
    n_runs = simulated.yearly.shape[0]
    weights = None
    if n_boot > 0:
        if rng is None:
            raise ValueError("score_window needs rng for bootstrap standard errors")
        weights = bootstrap_weights(n_runs, n_boot, rng).astype(float)
    counts = count_log_score(simulated.yearly, observed.yearly[0], n_boot=n_boot, weights=weights)
    parts = {"counts": counts}
    for name in MIXES:
        sim_mix, obs_mix = getattr(simulated.stats, name), getattr(observed.stats, name)[0]
        if name == "modes" and observed.mode_columns is not None:
            sim_mix, obs_mix = sim_mix[:, observed.mode_columns], obs_mix[observed.mode_columns]
        parts[name] = mix_log_score(sim_mix, obs_mix, n_boot=n_boot, weights=weights)
    mixes = [parts[n] for n in MIXES]
    if any(m.empty for m in mixes):
        mix = Score(np.nan, np.nan, np.zeros(0), n_runs, empty=True, unit="event")
    else:
        value = float(sum(m.value for m in mixes))
        replicates = np.sum([m.replicates for m in mixes], axis=0)
        se = float(replicates.std(ddof=1)) if replicates.size > 1 else float("nan")
        mix = Score(
            value,
            se,
            np.array([m.value for m in mixes]),
            n_runs,
            False,
            "event",
            observed.n_events,
            replicates,
        )
    return WindowScores(counts, mix, parts)


def simulate(
    world: World,
    policy: Policy[PolicyParams],
    firm: Firm,
    seed: int,
    label: str,
    replications: int,
    first: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Events and 0-based run index of ``replications`` runs, seeded as in ``sim run`` (point 0)."""
    events = run_block(world, policy, firm, seed, 0, 0, range(first, first + replications), label)
    return events, events["replication"].astype(np.int64) - first
