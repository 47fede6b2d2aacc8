"""Parameter posteriors within a model: ABC rejection with regression adjustment, and its checks.

For a record, the draws of a model whose summaries are nearest the record's are kept and
corrected by a local-linear regression of the parameters on the summaries (Beaumont, Zhang &
Balding 2002, Genetics 162:2025), clipped to the prior's range. The procedure is judged on
held-out simulations of the same model, where the truth is known (simulation-based calibration,
Talts et al. 2018, arXiv:1804.06788): the share of true values inside the central 50, 80 and 95 %
posterior intervals (coverage), and how much the posterior narrows the prior (contraction,
1 - posterior variance / prior variance; a median below 0.1 says the parameter is not identified).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.priors import Prior

LEVELS = (0.5, 0.8, 0.95)
#: Ridge penalty of the regression adjustment, per kept draw (summaries are scaled to unit spread).
RIDGE = 0.01
#: Contraction below this (median over held-out draws) is reported as "not identified".
IDENTIFIED = 0.1


def reference_size(n_draws: int, n_summaries: int) -> int:
    """Draws kept per posterior.

    2 % of a model's draws, but enough for the regression (ten per summary), and at most half.
    """
    return int(min(n_draws // 2, max(10 * (n_summaries + 1), n_draws // 50)))


def posterior(
    theta: np.ndarray,
    x: np.ndarray,
    record: np.ndarray,
    keep: int,
    priors: list[Prior],
) -> np.ndarray:
    """Adjusted posterior draws (keep, parameters) for one record; ``x`` and ``record`` scaled."""
    d = np.sqrt(((x - record) ** 2).sum(axis=1))
    near = np.argpartition(d, keep)[:keep]
    dn = d[near]
    w = 1.0 - (dn / max(dn.max(), 1e-12)) ** 2
    # Weighted ridge regression of the parameters on the centred summaries (a small penalty keeps
    # the adjustment stable when summaries are nearly collinear).
    dx = x[near] - record
    sw = np.maximum(w, 1e-6)
    mean_dx = (sw[:, None] * dx).sum(axis=0) / sw.sum()
    mean_t = (sw[:, None] * theta[near]).sum(axis=0) / sw.sum()
    cx, ct = dx - mean_dx, theta[near] - mean_t
    gram = (cx * sw[:, None]).T @ cx + RIDGE * keep * np.eye(dx.shape[1])
    coef = np.linalg.solve(gram, (cx * sw[:, None]).T @ ct)
    adjusted = theta[near] - dx @ coef
    low = np.array([p.low for p in priors])
    high = np.array([p.high for p in priors])
    return np.clip(adjusted, low, high)


def calibration_check(
    theta: np.ndarray,
    x: np.ndarray,
    heldout: np.ndarray,
    keep: int,
    priors: dict[str, Prior],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Coverage, contraction and SBC ranks of the posterior on held-out draws of one model.

    Args:
        theta: Parameter draws, (n, parameters).
        x: Scaled summaries, (n, summaries).
        heldout: Rows used as records (the others are the reference table).
        keep: Draws kept per posterior.
        priors: The model's priors, in the columns' order.

    Returns:
        ``coverage`` (parameter, level, coverage), ``contraction`` (parameter,
        contraction, identified) and ``ranks`` (parameter, rank: the share of posterior draws
        below the true value, uniform on [0, 1] when the posterior is calibrated; Talts et al.).
    """
    ref = np.setdiff1d(np.arange(len(theta)), heldout)
    plist = list(priors.values())
    prior_var = np.array([(p.high - p.low) ** 2 / 12 for p in plist])
    inside: dict[float, list[np.ndarray]] = {lvl: [] for lvl in LEVELS}
    shrink: list[np.ndarray] = []
    ranks: list[np.ndarray] = []
    for i in heldout:
        post = posterior(theta[ref], x[ref], x[i], keep, plist)
        ranks.append((post < theta[i]).mean(axis=0))
        for lvl in LEVELS:
            lo, hi = np.quantile(post, [(1 - lvl) / 2, (1 + lvl) / 2], axis=0)
            inside[lvl].append((lo <= theta[i]) & (theta[i] <= hi))
        shrink.append(1 - post.var(axis=0) / prior_var)
    names = list(priors)
    cover = pd.DataFrame(
        [
            {"parameter": n, "level": lvl, "coverage": float(np.mean(inside[lvl], axis=0)[j])}
            for lvl in LEVELS
            for j, n in enumerate(names)
        ]
    )
    med = np.median(np.array(shrink), axis=0)
    contraction = pd.DataFrame(
        {"parameter": names, "contraction": med, "identified": med >= IDENTIFIED}
    )
    rank = pd.DataFrame(ranks, columns=names).melt(var_name="parameter", value_name="rank")
    return cover, contraction, rank
