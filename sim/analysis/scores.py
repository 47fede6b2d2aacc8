"""Proper scores of the record under an ensemble's predictive distribution, with their noise.

A strategy is judged by how much probability its ensemble of runs gives to what actually
happened. The scores here are *proper* scoring rules (Gneiting & Raftery 2007, "Strictly proper
scoring rules, prediction, and estimation", JASA 102:359-378): in expectation they are best for
the forecaster who reports its true belief, so a smeared average of two different worlds cannot
beat the world that generated the data (the Jensen-Shannon divergence against pooled shares can).

Conventions shared by every function:

* Scores are **positively oriented**: higher is better (the log score is log f(y)).
* Scores are **normalised** so windows of different length sit on one scale: the count score is
  per year, the Dirichlet-multinomial mix score per observed event.
* The standard error is the **Monte Carlo** error of the score that comes from estimating the
  predictive distribution with a finite ensemble, found by the bootstrap over runs (Efron &
  Tibshirani 1993). It does not include the record's own sampling noise: the record is what is
  being scored, not a sample from the forecast. Bootstrap replicates are drawn as multinomial
  run weights, so memory stays at (replicates x runs) whatever the window length.

Inputs are plain numpy arrays (runs in rows) so the functions do not depend on the event format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy import special

#: Smallest predictive mean of a yearly count. A year in which no run has an event would
#: otherwise give an observed event probability 0 and a score of -inf; with this floor one
#: observed event in such a year costs about log(0.05) - 0.05 = -3.0 nats.
MIN_RATE = 0.05

#: Pseudo-count added to every category when the ensemble's pooled shares are estimated
#: (the Krichevsky-Trofimov / Jeffreys "add one half" estimator). A category that no run visits
#: gets share 0.5 / (N + K/2) among N simulated events, so an observed event there costs about
#: log(N) nats instead of -inf; with thousands of simulated events seen categories are unaffected.
SHARE_PSEUDOCOUNT = 0.5

#: Bounds of the Dirichlet-multinomial precision s = sum(alpha). The upper bound stands for
#: "no extra-multinomial variation" (the Dirichlet-multinomial is then a multinomial).
PRECISION_BOUNDS = (1e-3, 1e6)

#: Default number of bootstrap replicates for standard errors.
N_BOOT = 200


@dataclass(frozen=True)
class Score:
    """A score of the record under one ensemble, with its Monte Carlo standard error.

    Attributes:
        value: Mean score per unit (per year or per event); higher is better. NaN when empty.
        se: Bootstrap standard error of ``value`` over the ensemble's runs.
        per_unit: The contributions that average (count score) or sum (mix score) to ``value``:
            the log score of each year, or each category's share of the per-event log score.
        n_runs: Number of runs in the ensemble (for a difference, of the first ensemble).
        empty: True when there is nothing to score (no observed events); ``value`` is NaN.
        unit: What ``value`` is normalised by: "year", "event" or "record".
        n_units: How many years or events were scored.
        replicates: The bootstrap replicates of ``value`` behind ``se`` (B,), kept so that
            scores computed with the same run weights can be combined replicate by replicate.
    """

    value: float
    se: float
    per_unit: np.ndarray = field(repr=False)
    n_runs: int
    empty: bool = False
    unit: str = "year"
    n_units: int = 0
    replicates: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-friendly dictionary (lists instead of arrays, None for NaN)."""

        def clean(x: float) -> float | None:
            return None if not np.isfinite(x) else float(x)

        return {
            "value": clean(self.value),
            "se": clean(self.se),
            "per_unit": [clean(v) for v in np.asarray(self.per_unit, dtype=float)],
            "n_runs": int(self.n_runs),
            "empty": bool(self.empty),
            "unit": self.unit,
            "n_units": int(self.n_units),
        }


# --------------------------------------------------------------------------------------------
# input checks and bootstrap weights


def _as_runs(sim: np.ndarray, observed: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate a (runs x units) count matrix against an observed vector of matching length."""
    sim = np.asarray(sim)
    observed = np.asarray(observed)
    if sim.ndim != 2 or sim.shape[0] < 1:
        raise ValueError(f"{what}: simulated counts must be a (runs, units) array, got {sim.shape}")
    if observed.ndim != 1 or observed.shape[0] != sim.shape[1]:
        raise ValueError(
            f"{what}: observed must have shape ({sim.shape[1]},) to match the runs, "
            f"got {observed.shape}"
        )
    for name, arr in (("simulated", sim), ("observed", observed)):
        if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
            raise ValueError(f"{what}: {name} counts must be non-negative integers")
    return sim.astype(float), observed.astype(float)


def bootstrap_weights(n_runs: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap resamples of runs as counts: row b says how often each run is drawn.

    Drawing runs with replacement is the same as weighting each run by a multinomial count,
    which lets every scorer compute weighted moments with one matrix product.

    Args:
        n_runs: Number of runs R.
        n_boot: Number of replicates B.
        rng: Source of randomness.

    Returns:
        Integer array (B, R) with rows summing to R.
    """
    return rng.multinomial(n_runs, np.full(n_runs, 1.0 / n_runs), size=n_boot)


def _weights_for(
    n_runs: int, n_boot: int, rng: np.random.Generator | None, weights: np.ndarray | None
) -> np.ndarray:
    if weights is not None:
        return np.asarray(weights, dtype=float)
    if n_boot == 0:  # point estimate only (e.g. inside an optimiser): no standard error
        return np.ones((0, n_runs))
    if rng is None:
        raise ValueError("a numpy Generator (rng) is needed for bootstrap standard errors")
    return bootstrap_weights(n_runs, n_boot, rng).astype(float)


@dataclass(frozen=True)
class _Estimate:
    """What a scoring rule reads from a record under the runs, before its Monte Carlo error.

    Attributes:
        value: The score with every run weighted once; NaN when there is nothing to score.
        per_unit: The contributions behind ``value`` (:class:`Score`); NaN when empty.
        n_units: How many years or events were scored.
        replicates: The score for each row of run weights (B, R), shape (B,); ``None`` when
            there is nothing to score.
    """

    value: float
    per_unit: np.ndarray
    n_units: int = 0
    replicates: Callable[[np.ndarray], np.ndarray] | None = None

    @classmethod
    def nothing(cls, width: int) -> _Estimate:
        """Nothing to score: NaN value and ``width`` NaN contributions (never 0, a perfect fit)."""
        return cls(np.nan, np.full(width, np.nan))


@dataclass(frozen=True)
class Scorer:
    """A proper score of the record under an ensemble of runs, with its Monte Carlo error.

    The scores differ only in their rule, which reads the checked counts (:func:`_count_rule`,
    :func:`_mix_rule`); the rest is the same for each and done here once:
    the check of the counts, the Monte Carlo standard error from bootstrap run weights
    (:func:`bootstrap_weights`) or from weights given, and the :class:`Score`.

    Attributes:
        name: The score's name in error messages.
        unit: What the value is normalised by: "year", "event" or "record".
        rule: ``rule(sim, observed)``: the :class:`_Estimate` of the record under the runs.
    """

    name: str
    unit: str
    rule: Callable[[np.ndarray, np.ndarray], _Estimate]

    def __call__(
        self,
        sim_counts: np.ndarray,
        observed: np.ndarray,
        rng: np.random.Generator | None = None,
        *,
        n_boot: int = N_BOOT,
        weights: np.ndarray | None = None,
    ) -> Score:
        """Score the record ``observed`` under the runs ``sim_counts``.

        Args:
            sim_counts: Simulated counts, one row per run: (R, T) yearly counts or (R, K)
                category counts.
            observed: The record's counts, shape (T,) or (K,).
            rng: Generator for the bootstrap over runs (required unless ``weights`` is given).
            n_boot: Number of bootstrap replicates (0: the value only, its error NaN).
            weights: Precomputed bootstrap run weights (B, R), e.g. shared with another strategy.

        Returns:
            The :class:`Score`, flagged ``empty`` with NaN value and error when the rule finds
            nothing to score.

        Raises:
            ValueError: counts that are not non-negative integers of matching shapes, or neither
                ``rng`` nor ``weights`` for a bootstrap.
        """
        sim, obs = _as_runs(sim_counts, observed, self.name)
        n_runs = sim.shape[0]
        estimate = self.rule(sim, obs)
        if estimate.replicates is None:
            return Score(np.nan, np.nan, estimate.per_unit, n_runs, empty=True, unit=self.unit)
        boot = estimate.replicates(_weights_for(n_runs, n_boot, rng, weights))
        return Score(
            estimate.value,
            _se(boot, n_runs),
            estimate.per_unit,
            n_runs,
            False,
            self.unit,
            estimate.n_units,
            boot,
        )


# --------------------------------------------------------------------------------------------
# yearly counts: negative binomial by moments


def _nb_logpmf(observed: np.ndarray, mean: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Log pmf of a negative binomial matched to (mean, var); Poisson when var <= mean.

    Written with ``scipy.special`` in the very terms ``scipy.stats.nbinom.logpmf`` and
    ``scipy.stats.poisson.logpmf`` use (the same numbers, tested), because importing
    ``scipy.stats`` costs ``sim run`` about 37 MB of memory.
    """
    mu = np.maximum(mean, MIN_RATE)
    over = var > mu * (1.0 + 1e-9)
    r = np.where(over, mu**2 / np.where(over, var - mu, 1.0), 1.0)
    p = r / (r + mu)
    k = observed
    nb = special.gammaln(r + k) - special.gammaln(k + 1) - special.gammaln(r)
    nb = nb + r * np.log(p) + special.xlog1py(k, -p)
    poisson = special.xlogy(k, mu) - special.gammaln(k + 1) - mu
    return np.where(over, nb, poisson)


def _count_values(sim: np.ndarray, observed: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per-year log scores for each row of run weights w (B, R): returns (B, T)."""
    total = w.sum(axis=1, keepdims=True)
    mean = w @ sim / total
    second = w @ sim**2 / total
    # unbiased weighted variance (frequency weights); 0 with a single distinct run
    var = np.maximum(second - mean**2, 0.0) * total / np.maximum(total - 1.0, 1.0)
    return _nb_logpmf(observed[None, :], mean, var)


def _count_rule(sim: np.ndarray, observed: np.ndarray) -> _Estimate:
    """Log score of the observed yearly counts, per year, under the ensemble.

    The predictive distribution of each year's count is a negative binomial matched to the runs'
    mean and variance for that year (method of moments), or a Poisson with the runs' mean when
    the runs are not over-dispersed (variance <= mean). Why this choice rather than the runs'
    empirical pmf: with 10^2-10^3 runs the empirical pmf of a count that ranges over tens of
    values is ragged and zero at values no run produced (a score of -inf for one unlucky year);
    the two-moment fit is smooth, has full support, and is what over-dispersed event counts are
    usually modelled with. The mean is floored at ``MIN_RATE`` so the score is always finite.
    The log score of any fixed predictive distribution is strictly proper (Gneiting & Raftery
    2007, sec. 4.1), so the ranking rewards the ensemble whose yearly distributions are right.
    The fit ignores correlation between years (each year is scored on its own margin).

    Args:
        sim: Simulated counts, shape (R, T): run r's number of events in year t.
        observed: The record's counts, shape (T,).

    Returns:
        ``value`` = mean log predictive probability per year (nats), per-year values in
        ``per_unit``; nothing to score without years.
    """
    n_years = sim.shape[1]
    if n_years == 0:
        return _Estimate.nothing(0)
    per_year = _count_values(sim, observed, np.ones((1, sim.shape[0])))[0]
    return _Estimate(
        float(per_year.mean()),
        per_year,
        n_years,
        lambda w: _count_values(sim, observed, w).mean(axis=1),
    )


#: Log score of the observed yearly counts, per year (:func:`_count_rule`).
count_log_score = Scorer("count_log_score", "year", _count_rule)


def _se(replicates: np.ndarray, n_runs: int) -> float:
    """Standard deviation of the bootstrap replicates; NaN when one run cannot show the noise."""
    finite = replicates[np.isfinite(replicates)]
    return float(finite.std(ddof=1)) if finite.size > 1 and n_runs > 1 else float("nan")


# --------------------------------------------------------------------------------------------
# category mixes: Dirichlet-multinomial


def _pooled_shares(sim: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Add-one-half pooled category shares for each weight row: (B, K)."""
    pooled = w @ sim + SHARE_PSEUDOCOUNT
    return pooled / pooled.sum(axis=1, keepdims=True)


def _moment_precision(x: np.ndarray, n: np.ndarray, p: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Starting precision from the Pearson over-dispersion factor C = (n + s) / (1 + s).

    Pearson's statistic of run r is sum_k (x_rk - n_r p_k)^2 / (n_r p_k) = sum_k x_rk^2 / (n_r
    p_k) - n_r, computed with one matrix product.
    """
    lo, hi = PRECISION_BOUNDS
    k = x.shape[1]
    chi = (x**2 / n[:, None]) @ (1.0 / p).T - n[:, None]  # (R, B)
    dof = np.maximum((w.sum(axis=1) - 1.0) * (k - 1), 1.0)
    c = np.einsum("br,rb->b", w, chi) / dof
    nbar = (w @ n) / w.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where((c > 1.0) & (c < nbar), (nbar - c) / (c - 1.0), hi)
    return np.clip(s, lo, hi)


def _fit_precision(sim: np.ndarray, p: np.ndarray, w: np.ndarray, steps: int = 50) -> np.ndarray:
    """Maximum-likelihood Dirichlet-multinomial precision given shares, per weight row.

    Newton's method on u = log s for the runs' weighted Dirichlet-multinomial log-likelihood
    with alpha = s p (shares fixed at their pooled estimate), started from the moment estimate,
    with steps clipped to +-2 and a fixed uphill step where the curvature is not negative. Only
    the non-zero cells of the count matrix enter the category sums (a zero count adds
    digamma(a) - digamma(a) = 0), which keeps sparse mixes such as countries cheap.
    """
    lo, hi = PRECISION_BOUNDS
    n_all = sim.sum(axis=1)
    used = n_all > 0
    if used.sum() < 2 or sim.shape[1] < 2:
        return np.full(w.shape[0], hi)
    x, n, wu = sim[used], n_all[used], w[:, used]
    u = np.log(_moment_precision(x, n, p, wu))
    # The likelihood depends on a run only through its total and its non-zero (category, count)
    # cells, so sum the weights of identical totals and identical cells once: every Newton step
    # then costs (replicates x distinct values), not (replicates x runs x categories).
    n_vals, w_n = _grouped_weights(n, wu)
    rows, cols = np.nonzero(x)
    cells, inverse = np.unique(np.stack([cols, x[rows, cols]]), axis=1, return_inverse=True)
    cell_cat, cell_val = cells[0].astype(int), cells[1]
    w_cell = _sum_by_group(wu, inverse, cells.shape[1], columns=rows)
    p_cell = p[:, cell_cat]
    for _ in range(steps):
        s = np.exp(u)[:, None]
        a = s * p_cell
        # first and second derivatives in s of sum_r w_r log DM(x_r | s p)
        g = (w_n * (special.digamma(s) - special.digamma(n_vals + s))).sum(axis=1)
        g += (w_cell * p_cell * (special.digamma(cell_val + a) - special.digamma(a))).sum(axis=1)
        h = (w_n * (special.polygamma(1, s) - special.polygamma(1, n_vals + s))).sum(axis=1)
        h += (
            w_cell * p_cell**2 * (special.polygamma(1, cell_val + a) - special.polygamma(1, a))
        ).sum(axis=1)
        s = s[:, 0]
        du, d2u = s * g, s * g + s**2 * h  # chain rule for u = log s
        step = np.where(d2u < 0, -du / np.where(d2u < 0, d2u, -1.0), np.sign(du))
        u_new = np.clip(u + np.clip(step, -2.0, 2.0), np.log(lo), np.log(hi))
        # stop when every replicate has settled or sits where the likelihood is flat in log s
        done = np.all((np.abs(u_new - u) < 1e-7) | (np.abs(du) < 1e-6))
        u = u_new
        if done:
            break
    return np.exp(u)


def _sum_by_group(
    w: np.ndarray, group: np.ndarray, n_groups: int, columns: np.ndarray | None = None
) -> np.ndarray:
    """Sum the columns of w (B, M) that share a group label: returns (B, n_groups).

    ``columns`` picks (and may repeat) the columns of ``w`` that ``group`` labels; they are taken
    one replicate row at a time, so no (B, len(columns)) copy is ever made.
    """
    out = np.zeros((w.shape[0], n_groups))
    for b in range(w.shape[0]):
        row = w[b] if columns is None else w[b, columns]
        out[b] = np.bincount(group, weights=row, minlength=n_groups)
    return out


def _grouped_weights(values: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values and the summed run weights (B, distinct) of the runs holding each."""
    distinct, inverse = np.unique(values, return_inverse=True)
    return distinct, _sum_by_group(w, inverse, distinct.size)


def dirichlet_multinomial_fit(
    sim_counts: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Dirichlet-multinomial parameters alpha (K,) fitted to the runs' category counts.

    The shares are the runs' pooled shares with the add-one-half pseudo-count (so every alpha is
    positive and an unseen category is unlikely but possible); the precision s = sum(alpha) is the
    maximum-likelihood value given those shares (Minka 2000, "Estimating a Dirichlet
    distribution"; fixed-shares Newton in log s). Runs without events carry no information on
    the mix and are ignored by the precision fit.

    Args:
        sim_counts: Category counts per run, shape (R, K).
        weights: Optional run weights (B, R); returns (B, K) then.

    Returns:
        alpha with shape (K,), or (B, K) when weights are given.
    """
    sim = np.asarray(sim_counts, dtype=float)
    w = np.ones((1, sim.shape[0])) if weights is None else np.asarray(weights, dtype=float)
    p = _pooled_shares(sim, w)
    alpha = _fit_precision(sim, p, w)[:, None] * p
    return alpha[0] if weights is None else alpha


def _dm_terms(observed: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Per-category contributions to the log probability of the observed event sequence.

    log P(sequence) = lgamma(S) - lgamma(n + S) + sum_k [lgamma(y_k + a_k) - lgamma(a_k)]; the
    normalising part is split over categories in proportion to their observed counts.
    """
    n = observed.sum()
    s = alpha.sum(axis=-1, keepdims=True)
    norm = special.gammaln(n + s) - special.gammaln(s)
    own = special.gammaln(observed + alpha) - special.gammaln(alpha)
    return own - norm * observed / n


def _mix_rule(sim: np.ndarray, observed: np.ndarray) -> _Estimate:
    """Dirichlet-multinomial log score of the observed category counts, per observed event.

    The ensemble's predictive distribution for the mix is a Dirichlet-multinomial fitted to the
    runs (``dirichlet_multinomial_fit``): its mean is the pooled share, its precision captures how
    much the runs' shares vary beyond multinomial noise. The score is the log probability of the
    record's events in their order (the multinomial coefficient depends only on the record, so
    dropping it changes no comparison), divided by the number of events: the average log
    predictive probability of each event's category, directly comparable with log(1/K) for a
    uniform guess and between windows of different size. Being a log score of a fixed predictive
    distribution it is strictly proper (Gneiting & Raftery 2007), unlike divergences to pooled
    shares, which reward a smeared average.

    Args:
        sim: Category counts per run, shape (R, K).
        observed: The record's category counts, shape (K,).

    Returns:
        The score per event; ``per_unit`` holds each category's contribution (they sum to
        ``value``). Nothing to score without observed events. An ensemble without any simulated
        event says nothing about the mix; the add-one-half shares then make it a uniform
        forecast (its count score is where such an ensemble loses).
    """
    n_events = int(observed.sum())
    if n_events == 0:
        return _Estimate.nothing(sim.shape[1])
    per_cat = _dm_terms(observed, dirichlet_multinomial_fit(sim)) / n_events
    return _Estimate(
        float(per_cat.sum()),
        per_cat,
        n_events,
        lambda w: (
            _dm_terms(observed[None, :], dirichlet_multinomial_fit(sim, w)).sum(axis=1) / n_events
        ),
    )


#: Dirichlet-multinomial log score of the observed category counts, per event (:func:`_mix_rule`).
mix_log_score = Scorer("mix_log_score", "event", _mix_rule)


# --------------------------------------------------------------------------------------------
# differences between strategies

_SCORERS = {
    "count": count_log_score,
    "mix": mix_log_score,
}


def score_difference(
    kind: Literal["count", "mix"],
    a_runs: np.ndarray,
    b_runs: np.ndarray,
    observed: np.ndarray,
    rng: np.random.Generator,
    *,
    paired: bool,
    n_boot: int = N_BOOT,
) -> Score:
    """Score of strategy A minus score of strategy B on the same record, with its MC error.

    Positive values favour A. With ``paired=True`` both ensembles are resampled with the *same*
    run indices, which keeps the correlation that common random numbers create between run r of
    A and run r of B and usually gives a much smaller (and correct) standard error; with
    ``paired=False`` the two ensembles are resampled independently.

    When pairing is sound: the pairs (A_r, B_r) must be independent and identically distributed
    across r, which holds when run r of every strategy is driven by the r-th seed of one seed list
    and nothing else couples the runs (pairing then is valid even if the policies use their random
    streams differently, it just gains less). It is NOT sound when the ensembles have different
    numbers of runs (refused here), when runs were dropped, filtered or reordered after seeing
    their outcome in one ensemble only, or when run r of A and of B come from different seed
    lists; use ``paired=False`` then. Either way the error is the Monte Carlo error of the ensemble
    estimate; the record-to-record uncertainty of the comparison is not included (the per-year
    differences in ``per_unit`` are the input for a test across years).

    Args:
        kind: Which score: "count" (``count_log_score``) or "mix" (``mix_log_score``).
        a_runs: Strategy A's simulated counts, (R_a, T) or (R_a, K).
        b_runs: Strategy B's simulated counts, same number of columns.
        observed: The record's counts, (T,) or (K,).
        rng: Generator for the bootstrap.
        paired: Resample run indices jointly (common random numbers) or independently.
        n_boot: Number of bootstrap replicates.

    Returns:
        Score of the difference: ``value`` = A - B, ``per_unit`` = A's minus B's contributions,
        ``se`` from the (paired or independent) bootstrap of the difference.
    """
    if kind not in _SCORERS:
        raise ValueError(f"score_difference: kind must be one of {sorted(_SCORERS)}, got {kind!r}")
    scorer = _SCORERS[kind]
    a_runs, b_runs = np.asarray(a_runs), np.asarray(b_runs)
    if paired and a_runs.shape[0] != b_runs.shape[0]:
        raise ValueError(
            f"score_difference: paired bootstrap needs equal run counts, got {a_runs.shape[0]} "
            f"and {b_runs.shape[0]}; use paired=False"
        )
    w_a = bootstrap_weights(a_runs.shape[0], n_boot, rng).astype(float)
    w_b = w_a if paired else bootstrap_weights(b_runs.shape[0], n_boot, rng).astype(float)
    a = scorer(a_runs, observed, weights=w_a)
    b = scorer(b_runs, observed, weights=w_b)
    if a.empty or b.empty:
        return Score(np.nan, np.nan, a.per_unit - b.per_unit, a.n_runs, True, a.unit, a.n_units)
    boot = a.replicates - b.replicates
    return Score(
        a.value - b.value,
        _se(boot, min(a.n_runs, b.n_runs)),
        a.per_unit - b.per_unit,
        a.n_runs,
        False,
        a.unit,
        a.n_units,
        boot,
    )
