"""Persistence baseline: "more of the same as in the calibration years", scored like a model.

A theory earns credit only if it forecasts better than a naive forecast that knows what the
theories were allowed to know. This baseline is the simplest such forecast for event records:
the yearly number of events keeps the calibration window's level and dispersion (a negative
binomial fitted by maximum likelihood), and the mix of regions, modes and countries keeps the
calibration window's shares (a Dirichlet posterior from the calibration counts). It is the
climatological / persistence reference forecast of forecast verification (Murphy 1993, "What is a
good forecast?", Weather and Forecasting 8:281-293; Gneiting & Raftery 2007 sec. 1), and it is
sampled into the same arrays the scorers in ``sim.analysis.scores`` take, so it is scored exactly
like a model's ensemble.

It sees only events dated inside the calibration window: events of other years are dropped before
anything is fitted, so rewriting them cannot change the forecast (tested).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

#: Pseudo-count added to every category's calibration count before the shares are drawn
#: (Jeffreys' prior Dirichlet(1/2, ..., 1/2) for multinomial shares). It keeps a category that
#: the calibration years never saw possible (as in ``scores.SHARE_PSEUDOCOUNT``), weighs as half
#: an event, and with ~10^2 calibration events barely moves the seen categories.
CATEGORY_PSEUDOCOUNT = 0.5

#: Bounds of the negative binomial size r. The upper bound means "no over-dispersion": the
#: forecast is then Poisson in all but name.
SIZE_BOUNDS = (1e-3, 1e6)


def _missing(labels: np.ndarray) -> np.ndarray:
    """Labels that carry no category: None, NaN or the empty string."""
    out = np.zeros(labels.shape, dtype=bool)
    for i, v in enumerate(labels):
        out[i] = v is None or v == "" or (isinstance(v, float) and np.isnan(v))
    return out


def nb_mle(counts: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood negative binomial (mean, size) of a sample of counts.

    For any size r the likelihood is maximised by the sample mean, so only r is searched (on
    log r, bounded by ``SIZE_BOUNDS``); an under-dispersed sample ends at the upper bound, i.e. a
    Poisson forecast.

    Args:
        counts: Non-negative integer counts (one per year).

    Returns:
        (mean, size r); variance of the fitted distribution is mean + mean^2 / r.
    """
    y = np.asarray(counts, dtype=float)
    mu = float(y.mean())
    lo, hi = SIZE_BOUNDS
    if mu == 0.0 or y.var() <= mu:
        return mu, hi

    def nll(log_r: float) -> float:
        r = np.exp(log_r)
        ll = (
            special.gammaln(y + r)
            - special.gammaln(r)
            + r * np.log(r / (r + mu))
            + y * np.log(mu / (r + mu))
        )
        return -float(ll.sum())

    res = optimize.minimize_scalar(
        nll, bounds=(np.log(lo), np.log(hi)), method="bounded", options={"xatol": 1e-6}
    )
    return mu, float(np.exp(res.x))


@dataclass(frozen=True)
class PersistenceForecast:
    """Negative-binomial yearly counts and Dirichlet category shares from the calibration window.

    Attributes:
        calib_years: (first, last) calibration years, inclusive.
        mean: Mean events per calibration year.
        size: Negative binomial size r (variance = mean + mean^2 / r).
        categories: For each mix (e.g. "region", "mode", "country") its category labels, in the
            column order of the sampled count arrays.
        alpha: For each mix, Dirichlet parameters (calibration counts + pseudo-count), same order.
    """

    calib_years: tuple[int, int]
    mean: float
    size: float
    categories: Mapping[str, tuple[str, ...]]
    alpha: Mapping[str, np.ndarray]

    @classmethod
    def fit(
        cls,
        record_years: np.ndarray,
        record_categories: Mapping[str, np.ndarray],
        calib_years: tuple[int, int],
        *,
        categories: Mapping[str, Sequence[str]] | None = None,
    ) -> PersistenceForecast:
        """Fit the baseline on the record's events dated inside the calibration window.

        Args:
            record_years: Year of each recorded event, shape (N,).
            record_categories: For each mix name, the label of each event, shape (N,); None,
                NaN or "" mark an unknown label, which counts for the yearly total but not the mix.
            calib_years: (first, last) calibration years, inclusive; years without events count
                as zero.
            categories: Optional full category list per mix (e.g. every country of the world
                file), so the forecast's columns match the model's. Default: the labels seen in
                the calibration window, sorted. Labels outside the list are an error.

        Returns:
            The fitted forecast.

        Raises:
            ValueError: On malformed input (shapes, an empty window, unknown labels).
        """
        years = np.asarray(record_years)
        first, last = int(calib_years[0]), int(calib_years[1])
        if last < first:
            raise ValueError(f"calib_years: last year {last} is before first year {first}")
        if years.ndim != 1:
            raise ValueError(f"record_years must be one-dimensional, got shape {years.shape}")
        inside = (years >= first) & (years <= last)
        per_year = np.bincount((years[inside] - first).astype(int), minlength=last - first + 1)
        mean, size = nb_mle(per_year)
        cats: dict[str, tuple[str, ...]] = {}
        alpha: dict[str, np.ndarray] = {}
        for name, labels in record_categories.items():
            labels = np.asarray(labels, dtype=object)
            if labels.shape != years.shape:
                raise ValueError(
                    f"record_categories[{name!r}] has shape {labels.shape}, "
                    f"record_years has {years.shape}"
                )
            seen = labels[inside & ~_missing(labels)].astype(str)
            if categories is not None and name in categories:
                cats[name] = tuple(str(c) for c in categories[name])
            else:
                cats[name] = tuple(sorted(set(seen.tolist())))
            if not cats[name]:
                raise ValueError(f"record_categories[{name!r}]: no labelled event in calib_years")
            alpha[name] = _counts(seen, cats[name], name) + CATEGORY_PSEUDOCOUNT
        return cls((first, last), mean, size, cats, alpha)

    def sample(
        self, years: Sequence[int] | np.ndarray, n_runs: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Draw an ensemble of runs from the baseline, in the scorers' array shapes.

        Each run draws a yearly count for every requested year from the fitted negative binomial
        and, once, one share vector per mix from the Dirichlet (so the runs carry the uncertainty
        of shares estimated from few events); the run's events are then spread over categories
        by a multinomial with those shares. Every event gets a label in every mix.

        Args:
            years: Years to forecast (any years; typically the validation window).
            n_runs: Number of runs R.
            rng: Source of randomness.

        Returns:
            (counts (R, T), {mix name: category counts (R, K)}) with T = len(years).
        """
        t = len(np.asarray(years))
        if n_runs < 1:
            raise ValueError(f"n_runs must be >= 1, got {n_runs}")
        if self.mean == 0.0:
            counts = np.zeros((n_runs, t), dtype=int)
        else:
            r = self.size
            counts = rng.negative_binomial(r, r / (r + self.mean), size=(n_runs, t))
        totals = counts.sum(axis=1)
        mixes = {}
        for name, a in self.alpha.items():
            shares = rng.dirichlet(a, size=n_runs)
            mixes[name] = rng.multinomial(totals, shares)
        return counts, mixes


def _counts(labels: np.ndarray, categories: tuple[str, ...], name: str) -> np.ndarray:
    """Count labels per category; refuse labels outside the category list."""
    index = {c: i for i, c in enumerate(categories)}
    unknown = sorted({lab for lab in labels.tolist() if lab not in index})
    if unknown:
        raise ValueError(f"record_categories[{name!r}]: labels not in the categories: {unknown}")
    codes = np.fromiter((index[lab] for lab in labels.tolist()), dtype=int, count=labels.size)
    return np.bincount(codes, minlength=len(categories)).astype(float)
