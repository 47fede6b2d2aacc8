"""How well an ensemble of runs reproduces the record: proper scores and pattern tests.

Follows pattern-oriented validation for a short record (Grimm et al. 2005; Hartig et al. 2011):
proper log scores of the record under each strategy's predictive distribution, with Monte Carlo
standard errors (:mod:`sim.analysis.scores`: counts per year, region/mode/country mixes per
event), and a table of patterns with each observed value's Monte Carlo p-value and a joint test
across patterns calibrated by simulation (:mod:`sim.analysis.pattern_tests`). There is no
hit/miss: a band widened by the record's own noise counts that noise twice and cannot fail.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.analysis.accumulate import Comparison
from sim.analysis.ensemble import RunStats, mode_columns
from sim.analysis.pattern_tests import joint_pattern_test, pattern_pvalues
from sim.analysis.scores import bootstrap_weights, count_log_score, mix_log_score
from sim.modes import COMPARE_MODES


def quantile_of(observed: float, values: np.ndarray) -> float:
    """Mid-rank quantile of the observed value in the ensemble (0.5 = at the median)."""
    below = np.mean(values < observed)
    equal = np.mean(values == observed)
    return float(below + 0.5 * equal)


@dataclass(frozen=True)
class Pattern:
    """A pattern of the record and how much sampling noise its observed value carries."""

    name: str
    description: str


PATTERNS: tuple[Pattern, ...] = (
    Pattern("total_events", "events 2010-2021"),
    Pattern("peak_year", "year with most events"),
    Pattern("distinct_countries", "countries with at least one event"),
    Pattern("top_market_share", "share of events in the most-used market"),
    Pattern("control_share", "share of controlling acquisitions"),
    Pattern("equity_share", "share of equity deals (control + minority)"),
)


#: Columns of a pattern table, in order.
PATTERN_COLUMNS = (
    "pattern",
    "description",
    "observed",
    "median",
    "p05",
    "p95",
    "quantile",
    "p_value",
)

#: Bootstrap replicates behind the standard errors of ``sim run``'s scores.
N_BOOT = 200
#: Column of the exits in the compared-mode columns (:data:`sim.modes.COMPARE_MODES`).
_EXIT_COLUMN = COMPARE_MODES.index("exit")


def pattern_row(pattern: Pattern, observed: float, values: np.ndarray) -> dict[str, object]:
    """One pattern: ensemble median and 5-95 % band, the observed value's quantile (descriptive).

    An ensemble without values (e.g. a statistic undefined in every run) gives NaN cells.
    """
    values = values[~np.isnan(values)]
    row: dict[str, object] = {
        "pattern": pattern.name,
        "description": pattern.description,
        "observed": observed,
    }
    if values.size == 0 or np.isnan(observed):
        return row | {"median": np.nan, "p05": np.nan, "p95": np.nan, "quantile": np.nan}
    lo, med, hi = np.percentile(values, [5, 50, 95])
    return row | {"median": med, "p05": lo, "p95": hi, "quantile": quantile_of(observed, values)}


def pattern_table(observed: pd.Series, simulated: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    """Per pattern: band, quantile and two-sided Monte Carlo p-value; and the joint p-value.

    The joint test's statistic is the smallest per-pattern p-value; its null distribution comes
    from the runs themselves (each treated in turn as the record), so it rejects a record drawn
    from the model at its nominal rate.
    """
    names = [p.name for p in PATTERNS]
    sim = simulated[names].to_numpy(dtype=float)
    obs = observed[names].to_numpy(dtype=float)
    rows = [pattern_row(p, obs[k], sim[:, k]) for k, p in enumerate(PATTERNS)]
    table = pd.DataFrame(rows)
    if np.isnan(obs).all() or sim.shape[0] < 2:
        table["p_value"] = np.nan
        return table[list(PATTERN_COLUMNS)], float("nan")
    table["p_value"] = pattern_pvalues(sim, obs)
    joint = joint_pattern_test(sim, obs)
    return table[list(PATTERN_COLUMNS)], float(joint.p_joint)


def fit_summary(
    observed: RunStats,
    simulated: RunStats,
    rng: np.random.Generator,
    mode_columns: np.ndarray | None = None,
    windows: dict[str, np.ndarray] | None = None,
) -> dict:
    """Proper scores of the record under the ensemble, with Monte Carlo standard errors.

    ``count_score``: log score of the yearly counts, per year. ``mix_score``: the region, mode
    and country Dirichlet-multinomial log scores summed, per event. Higher is better. The mode
    mix is scored on ``mode_columns`` only (the history's compared modes; all when ``None``).
    ``windows`` (name -> year columns, e.g. the calibration and validation windows) add the
    count score of those years alone, ``count_score_<name>``: in and out of sample at a glance.
    When the compared modes include exits, ``count_score_entries`` and ``count_score_exits``
    score the yearly counts of the other events and of the exits apart.
    """
    n_runs = simulated.yearly.shape[0]
    weights = bootstrap_weights(n_runs, N_BOOT, rng).astype(float) if n_runs > 1 else None
    n_boot = N_BOOT if weights is not None else 0
    counts = count_log_score(simulated.yearly, observed.yearly[0], n_boot=n_boot, weights=weights)
    parts = {
        name: (simulated.yearly[:, years], observed.yearly[0, years])
        for name, years in (windows or {}).items()
    }
    if mode_columns is not None and _EXIT_COLUMN in mode_columns:
        parts["entries"] = (
            simulated.yearly - simulated.yearly_exits,
            observed.yearly[0] - observed.yearly_exits[0],
        )
        parts["exits"] = (simulated.yearly_exits, observed.yearly_exits[0])
    per_part: dict[str, float] = {}
    for name, (sim, obs) in parts.items():
        part = count_log_score(sim, obs, n_boot=n_boot, weights=weights)
        per_part |= {f"count_score_{name}": part.value, f"count_score_{name}_se": part.se}
    cols = slice(None) if mode_columns is None else mode_columns
    mixes = [
        mix_log_score(simulated.regions, observed.regions[0], n_boot=n_boot, weights=weights),
        mix_log_score(
            simulated.modes[:, cols], observed.modes[0, cols], n_boot=n_boot, weights=weights
        ),
        mix_log_score(simulated.countries, observed.countries[0], n_boot=n_boot, weights=weights),
    ]
    out = {"count_score": counts.value, "count_score_se": counts.se, **per_part}
    if any(m.empty for m in mixes):
        return out | {"mix_score": np.nan, "mix_score_se": np.nan}
    replicates = np.sum([m.replicates for m in mixes], axis=0)
    se = float(replicates.std(ddof=1)) if replicates.size > 1 else float("nan")
    return out | {"mix_score": float(sum(m.value for m in mixes)), "mix_score_se": se}


def compare_strategies(
    c: Comparison, seed: int = 0, windows: dict[str, np.ndarray] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit table (one row per strategy) and pattern table (strategy x pattern).

    Scores and pattern tests use each point's sample: its first
    :data:`~sim.analysis.accumulate.SAMPLE_RUNS` runs in replication order, so a larger ensemble
    is scored on the same runs a 5,000-run one would be (the ``runs`` column counts them all).
    ``windows``: year columns scored apart as well (see :func:`fit_summary`).
    """
    obs_scalars = c.observed.scalars(c.world).iloc[0]
    fits, patterns = [], []
    for s, (label, part) in enumerate(zip(c.labels, c.points, strict=True)):
        assert part.sample is not None, f"{label}: no runs"
        table, joint_p = pattern_table(obs_scalars, part.sample.scalars(c.world))
        table.insert(0, "strategy", label)
        patterns.append(table)
        rng = np.random.default_rng([seed, s, 41])
        fit = {
            "strategy": label,
            "runs": part.n_runs,
            **fit_summary(c.observed, part.sample, rng, mode_columns(c.world), windows),
        }
        fit["patterns_joint_p"] = joint_p
        fits.append(fit)
    return pd.DataFrame(fits), pd.concat(patterns, ignore_index=True)
