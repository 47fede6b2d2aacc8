"""How well an ensemble of runs reproduces the record: likelihoods, divergences, patterns.

Follows pattern-oriented validation for a short record (NOTES section 3): a count likelihood of
the yearly series, Jensen-Shannon divergences of pooled shares (finite when a simulated category
is empty), and a table of patterns with noise-aware tolerances and the observed value's quantile
in the ensemble.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

from sim.analysis.ensemble import Comparison, RunStats

#: Smallest expected yearly count used in likelihoods (a year the model never fills would
#: otherwise make one observed deal infinitely unlikely).
MIN_RATE = 0.05


def count_loglik(observed: np.ndarray, simulated: np.ndarray) -> tuple[float, float]:
    """Log-likelihood of the observed yearly counts under the ensemble: (neg. binomial, Poisson).

    Each year's simulated counts give a mean and variance; the negative binomial matches both
    (method of moments) and falls back to Poisson when the variance does not exceed the mean.
    """
    mu = np.maximum(simulated.mean(axis=0), MIN_RATE)
    var = simulated.var(axis=0, ddof=1) if simulated.shape[0] > 1 else mu
    poisson = stats.poisson.logpmf(observed, mu)
    over = var > mu * (1 + 1e-9)
    r = np.where(over, mu**2 / np.where(over, var - mu, 1.0), 1.0)
    p = r / (r + mu)
    nb = np.where(over, stats.nbinom.logpmf(observed, r, p), poisson)
    return float(nb.sum()), float(poisson.sum())


def jsd(observed: np.ndarray, simulated: np.ndarray) -> float:
    """Jensen-Shannon divergence (base 2, in [0, 1]) between two count vectors' shares."""
    if observed.sum() == 0 or simulated.sum() == 0:
        return float("nan")
    return float(jensenshannon(observed, simulated, base=2) ** 2)


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

    def tolerance(self, observed: float, n_events: float) -> float:
        """Sampling standard error of the observed value (counts: Poisson; shares: binomial)."""
        if self.name == "peak_year":
            return 1.0
        if self.name.endswith("_share"):
            return float(np.sqrt(max(observed * (1 - observed), 1e-12) / max(n_events, 1.0)))
        return float(np.sqrt(max(observed, 1.0)))


PATTERNS: tuple[Pattern, ...] = (
    Pattern("total_events", "events 2010-2021"),
    Pattern("peak_year", "year with most events"),
    Pattern("distinct_countries", "countries with at least one event"),
    Pattern("us_share", "share of events in the United States"),
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
    "tolerance",
    "quantile",
    "hit",
)


def pattern_row(
    pattern: Pattern, observed: float, values: np.ndarray, tolerance: float = 0.0
) -> dict[str, object]:
    """One pattern's comparison: ensemble median and 5-95 % band, quantile, and hit.

    Hit: the observed value lies inside the band widened on each side by ``tolerance``.
    An ensemble without values (e.g. a statistic undefined in every run) is a miss.
    """
    values = values[~np.isnan(values)]
    row: dict[str, object] = {
        "pattern": pattern.name,
        "description": pattern.description,
        "observed": observed,
        "tolerance": tolerance,
    }
    if values.size == 0 or np.isnan(observed):
        return row | {
            "median": np.nan,
            "p05": np.nan,
            "p95": np.nan,
            "quantile": np.nan,
            "hit": False,
        }
    lo, med, hi = np.percentile(values, [5, 50, 95])
    return row | {
        "median": med,
        "p05": lo,
        "p95": hi,
        "quantile": quantile_of(observed, values),
        "hit": bool(lo - tolerance <= observed <= hi + tolerance),
    }


def pattern_table(observed: pd.Series, simulated: pd.DataFrame) -> pd.DataFrame:
    """Observed value, ensemble median and 5-95 % band, quantile and hit/miss for each pattern.

    A pattern is hit when the observed value lies inside the ensemble's 5-95 % band widened on
    each side by the observed value's own sampling error (a short record is noisy too).
    """
    n = float(observed["total_events"])
    rows = []
    for pattern in PATTERNS:
        obs = float(observed[pattern.name])
        values = simulated[pattern.name].to_numpy(dtype=float)
        rows.append(pattern_row(pattern, obs, values, pattern.tolerance(obs, n)))
    return pd.DataFrame(rows)[list(PATTERN_COLUMNS)]


def fit_summary(observed: RunStats, simulated: RunStats) -> dict[str, float]:
    """Likelihood of the yearly counts and divergences of pooled region, mode, country shares."""
    nb, poisson = count_loglik(observed.yearly[0], simulated.yearly)
    return {
        "nb_loglik": nb,
        "poisson_loglik": poisson,
        "jsd_region": jsd(observed.regions[0], simulated.regions.sum(axis=0)),
        "jsd_mode": jsd(observed.modes[0], simulated.modes.sum(axis=0)),
        "jsd_country": jsd(observed.countries[0], simulated.countries.sum(axis=0)),
    }


def compare_strategies(c: Comparison) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit table (one row per strategy) and pattern table (strategy x pattern)."""
    obs_scalars = c.observed.scalars(c.world).iloc[0]
    sim_scalars = c.simulated.scalars(c.world)
    fits, patterns = [], []
    for s, label in enumerate(c.labels):
        rows = np.flatnonzero(c.strategy_of_run == s)
        table = pattern_table(obs_scalars, sim_scalars.iloc[rows])
        table.insert(0, "strategy", label)
        patterns.append(table)
        fit = {"strategy": label, "runs": len(rows), **fit_summary(c.observed, c.runs_of(s))}
        fit["patterns_hit"] = int(table["hit"].sum())
        fit["patterns_total"] = len(table)
        fits.append(fit)
    return pd.DataFrame(fits), pd.concat(patterns, ignore_index=True)
