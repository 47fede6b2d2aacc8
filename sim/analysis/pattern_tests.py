"""Monte Carlo p-values for patterns, and a joint test across patterns whose size is measured.

Pattern-oriented modelling judges a model by several patterns of the record at once (Grimm et al.
2005, "Pattern-oriented modeling of agent-based complex systems", Science 310:987-991; Hartig et
al. 2011, "Statistical inference for stochastic simulation models", Ecology Letters 14:816-827).
The ensemble of runs is the model's predictive distribution of each pattern, so the natural test
is a Monte Carlo test (Barnard 1963; Besag & Clifford 1989; Davison & Hinkley 1997, ch. 4): where
does the observed value fall among the simulated ones? A band widened by the record's own noise
counts that noise twice and can no longer fail; a p-value does not.

Several patterns tested separately at level 0.10 reject a correct model far more often than 10 %
of the time, and patterns are correlated, so a Bonferroni correction is needlessly weak. The joint
test here combines the per-pattern p-values into one statistic (their minimum, or Fisher's
combination) and finds that statistic's null distribution *by simulation*: each run in turn plays
the record against all the others (the record included), so the record and the runs are
exchangeable under the null and the joint p-value is a rank among R + 1 values.
``rejection_rate`` then measures the size (or power) of the test on synthetic records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import special

Combine = Literal["min", "fisher"]


def _check(sim_stats: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sim = np.asarray(sim_stats, dtype=float)
    obs = np.asarray(observed, dtype=float)
    if sim.ndim != 2:
        raise ValueError(f"sim_stats must be a (runs, patterns) array, got shape {sim.shape}")
    if obs.shape != (sim.shape[1],):
        raise ValueError(f"observed must have shape ({sim.shape[1]},), got {obs.shape}")
    if np.isinf(sim).any() or np.isinf(obs).any():
        raise ValueError("pattern statistics must be finite or NaN (missing), not infinite")
    return sim, obs


def _two_sided(below: np.ndarray, equal: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Two-sided mid-rank p-value of a value with ``below``/``equal`` of ``n`` reference values.

    The observed value is ranked among the n + 1 values (itself included) with ties split in
    half, so the upper and lower tail p-values add up to one:
    p_lo = (below + equal / 2 + 1/2) / (n + 1), and p = min(1, 2 min(p_lo, 1 - p_lo)).
    Mid-ranks keep discrete patterns (counts, shares of few events) from being conservative.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = (below + 0.5 * equal + 0.5) / (n + 1.0)
        p = np.minimum(1.0, 2.0 * np.minimum(lower, 1.0 - lower))
    return np.where(n > 0, p, np.nan)


def pattern_pvalues(sim_stats: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """Two-sided mid-rank Monte Carlo p-value of each observed pattern among the runs.

    Args:
        sim_stats: Pattern values of each run, shape (R, P); NaN marks a run where the pattern
            is undefined (e.g. a share of zero events) and that run is ignored for that pattern.
        observed: The record's pattern values, shape (P,); NaN gives a NaN p-value.

    Returns:
        p-values, shape (P,): small when the record is in either tail of the ensemble. Under the
        null (record drawn like the runs) each is close to uniform on (0, 1].
    """
    sim, obs = _check(sim_stats, observed)
    valid = ~np.isnan(sim)
    below = ((sim < obs) & valid).sum(axis=0)
    equal = ((sim == obs) & valid).sum(axis=0)
    p = _two_sided(below, equal, valid.sum(axis=0))
    return np.where(np.isnan(obs), np.nan, p)


def _leave_one_out_pvalues(values: np.ndarray) -> np.ndarray:
    """Per-pattern p-value of every member against all the other members: (M, P).

    For each pattern column the valid values are sorted once; a member's count of smaller and
    equal others then comes from two binary searches (its own tie is removed).
    """
    m, n_pat = values.shape
    out = np.full((m, n_pat), np.nan)
    for j in range(n_pat):
        col = values[:, j]
        ok = ~np.isnan(col)
        v = col[ok]
        srt = np.sort(v)
        below = np.searchsorted(srt, v, side="left")
        equal = np.searchsorted(srt, v, side="right") - below - 1
        out[ok, j] = _two_sided(below, equal, np.full(v.size, v.size - 1.0))
    return out


def _combine(p: np.ndarray, how: Combine) -> np.ndarray:
    """Joint statistic of each row of p-values, oriented so that SMALL is extreme; NaN ignored.

    "min": the smallest p-value (Tippett). "fisher": the chi-square tail probability of
    -2 sum log p with 2 x (number of available patterns) degrees of freedom, so members with
    different numbers of defined patterns share one scale. Rows with no p-value give NaN.
    """
    avail = ~np.isnan(p)
    k = avail.sum(axis=1)
    if how == "min":
        stat = np.where(avail, p, np.inf).min(axis=1)
    elif how == "fisher":
        x = -2.0 * np.where(avail, np.log(np.where(avail, p, 1.0)), 0.0).sum(axis=1)
        stat = special.chdtrc(np.maximum(2 * k, 1), x)  # chi2.sf(x, df), without scipy.stats
    else:
        raise ValueError(f"combine must be 'min' or 'fisher', got {how!r}")
    return np.where(k > 0, stat, np.nan)


@dataclass(frozen=True)
class JointResult:
    """Outcome of the joint pattern test.

    Attributes:
        p_each: Per-pattern two-sided p-values of the record, shape (P,).
        stat: The record's joint statistic (small = extreme): min p-value or Fisher tail prob.
        p_joint: Calibrated joint p-value: the record's rank among the R + 1 members.
        n_null: How many runs contributed to the joint statistic's null distribution.
    """

    p_each: np.ndarray
    stat: float
    p_joint: float
    n_null: int

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-friendly dictionary (None for NaN)."""

        def clean(x: float) -> float | None:
            return None if not np.isfinite(x) else float(x)

        return {
            "p_each": [clean(v) for v in self.p_each],
            "stat": clean(self.stat),
            "p_joint": clean(self.p_joint),
            "n_null": int(self.n_null),
        }


def joint_pattern_test(
    sim_stats: np.ndarray, observed: np.ndarray, *, combine: Combine = "min"
) -> JointResult:
    """Joint Monte Carlo test of all patterns at once, calibrated by leave-one-out simulation.

    The record and the R runs form R + 1 members. Each member's per-pattern p-values are computed
    against the R other members, and combined into one statistic (``combine``). Under the null
    the members are exchangeable, so the record's statistic is a uniformly random one of the
    R + 1 (Besag & Clifford 1989), and p_joint = (#{members with stat < record's} + (#{ties}
    incl. the record) / 2) / (R + 1) (mid-rank, like the per-pattern p-values; runs whose
    statistic is undefined because all their patterns are NaN are left out). This accounts for
    the number of patterns and their correlation without any distributional assumption.

    Args:
        sim_stats: Pattern values of each run, shape (R, P); NaN allowed.
        observed: The record's pattern values, shape (P,); NaN allowed.
        combine: "min" (Tippett, sensitive to one badly missed pattern) or "fisher" (sensitive
            to many moderately missed ones).

    Returns:
        JointResult; ``p_joint`` is NaN when every observed pattern is NaN.
    """
    sim, obs = _check(sim_stats, observed)
    p_each = pattern_pvalues(sim, obs)
    members = np.vstack([obs[None, :], sim])
    stat_all = _combine(_leave_one_out_pvalues(members), combine)
    stat = float(stat_all[0])
    null = stat_all[1:]
    null = null[~np.isnan(null)]
    if np.isnan(stat):
        return JointResult(p_each, np.nan, np.nan, null.size)
    less = np.sum(null < stat)
    ties = np.sum(null == stat) + 1.0  # the record ties with itself
    p_joint = (less + 0.5 * ties) / (null.size + 1.0)
    return JointResult(p_each, stat, float(p_joint), null.size)


@dataclass(frozen=True)
class RejectionRate:
    """How often a test rejects over synthetic records.

    Attributes:
        rate: Share of records whose joint p-value is <= level.
        se: Binomial standard error of ``rate``.
        n_records: Number of synthetic records with a defined joint p-value.
        level: Nominal level of the test.
        per_pattern: Rejection rate of each pattern's own p-value at ``level``, shape (P,).
        p_joint: The joint p-value of every record, shape (n_records,).
    """

    rate: float
    se: float
    n_records: int
    level: float
    per_pattern: np.ndarray
    p_joint: np.ndarray


RecordGenerator = Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]


def rejection_rate(
    generator: RecordGenerator,
    n_records: int,
    level: float,
    rng: np.random.Generator,
    *,
    combine: Combine = "min",
) -> RejectionRate:
    """Measure the joint test's rejection rate on records drawn by ``generator``.

    When the generator draws the record from the same model as the runs, the rate is the test's
    size and should be close to ``level``; when the record comes from another model it is the
    power against that model, and ``per_pattern`` shows which patterns tell the two apart.

    Args:
        generator: ``generator(rng) -> (sim_stats (R, P), observed (P,))``: one ensemble and one
            synthetic record, drawn with the given Generator.
        n_records: Number of synthetic records (ensembles) to draw.
        level: Nominal level, e.g. 0.10.
        rng: Source of randomness, passed to every call of ``generator``.
        combine: Joint statistic, as in ``joint_pattern_test``.

    Returns:
        RejectionRate with the rate, its binomial standard error and per-pattern rates.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if n_records < 1:
        raise ValueError(f"n_records must be >= 1, got {n_records}")
    p_joint, p_each = [], []
    for _ in range(n_records):
        sim, obs = generator(rng)
        res = joint_pattern_test(sim, obs, combine=combine)
        p_joint.append(res.p_joint)
        p_each.append(res.p_each)
    pj = np.asarray(p_joint)
    pj = pj[~np.isnan(pj)]
    pe = np.asarray(p_each)
    defined = ~np.isnan(pe)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_pattern = ((pe <= level) & defined).sum(axis=0) / defined.sum(axis=0)
    rate = float(np.mean(pj <= level)) if pj.size else float("nan")
    se = float(np.sqrt(rate * (1 - rate) / pj.size)) if pj.size else float("nan")
    return RejectionRate(rate, se, int(pj.size), level, per_pattern, pj)
