"""Scenario discovery: which ranges of the uncertainties make a strategy fail.

For each strategy, the futures in which it does *not* satisfice are the cases of interest, and
the EMA Workbench's PRIM (Friedman & Fisher 1999; Bryant & Lempert 2010) peels the uncertainty
space down to a box where they concentrate. A box is read by its *coverage* (share of all
failures that fall inside it) and *density* (share of futures inside it that fail). Of PRIM's
peeling trajectory we keep the densest box that still covers at least ``min_coverage`` of the
failures (the usual coverage-density trade-off, fixed in advance so it is not tuned by eye).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.projection.exploration import quiet, require_ema

#: A kept box covers at least this share of a strategy's failures.
MIN_COVERAGE = 0.5
#: Fewest failures PRIM is asked to explain (fewer make a box that fits noise).
MIN_FAILURES = 5
#: PRIM's smallest box, as a share of the futures (EMA's default).
MASS_MIN = 0.05
BOX_COLUMNS = [
    "strategy",
    "failures",
    "futures",
    "coverage",
    "density",
    "mass",
    "uncertainty",
    "low",
    "high",
    "range_low",
    "range_high",
    "qp_lower",
    "qp_upper",
    "note",
]


def prim_box(
    x: pd.DataFrame, fail: np.ndarray, min_coverage: float = MIN_COVERAGE
) -> tuple[dict[str, float], pd.DataFrame] | None:
    """PRIM's box for ``fail`` over the uncertainties ``x`` (None when PRIM finds none).

    Returns:
        ``(stats, limits)``: coverage, density and mass of the chosen box, and the limits
        (``uncertainty, low, high, qp_lower, qp_upper``) of every dimension it restricts, with
        PRIM's quasi-p-values of each restricted bound (how likely such a restriction is by
        chance; NaN for a bound left at its range).
    """
    require_ema()
    with quiet():
        from ema_workbench.analysis import prim

        x = x.reset_index(drop=True)
        finder = prim.Prim(x, np.asarray(fail, dtype=bool), mass_min=MASS_MIN)
        box = finder.find_box()
        if box is None:
            return None
        trajectory = box.peeling_trajectory
        eligible = trajectory[trajectory["coverage"] >= min_coverage]
        if eligible.empty:
            eligible = trajectory
        best = eligible.sort_values(["density", "coverage"], ascending=False).index[0]
        box.select(int(best))
        limits = box.box_lims[int(best)]
        initial = box.box_lims[0]
        qp = box.p_values[int(best)]
        stats = {
            "coverage": float(box.coverage),
            "density": float(box.density),
            "mass": float(box.mass),
        }
    rows = []
    for name in x.columns:
        lo, hi = float(limits[name].iloc[0]), float(limits[name].iloc[1])
        if lo > float(initial[name].iloc[0]) or hi < float(initial[name].iloc[1]):
            q = [v if v is not None and v >= 0 else np.nan for v in qp.get(name, [-1, -1])]
            rows.append(
                {"uncertainty": name, "low": lo, "high": hi, "qp_lower": q[0], "qp_upper": q[1]}
            )
    return stats, pd.DataFrame(rows, columns=["uncertainty", "low", "high", "qp_lower", "qp_upper"])


def discover(
    table: pd.DataFrame,
    ok: pd.Series,
    uncertainties: list[str],
    ranges: dict[str, tuple[float, float]],
) -> pd.DataFrame:
    """A PRIM box per strategy for the futures where it fails the satisficing criterion.

    Returns:
        One row per restricted uncertainty of each strategy's box (``BOX_COLUMNS``); a strategy
        that never or always fails gets one row saying so, with no box.
    """
    rows = []
    for label in dict.fromkeys(table["strategy"]):
        mine = table["strategy"] == label
        fail = ~ok[mine].to_numpy()
        base = {"strategy": label, "failures": int(fail.sum()), "futures": int(fail.size)}
        if fail.all() or not fail.any():
            note = "fails in every future" if fail.all() else "never fails"
            rows.append({**base, "note": f"{note}: no box"})
            continue
        if fail.sum() < MIN_FAILURES:
            rows.append({**base, "note": f"fewer than {MIN_FAILURES} failures: no box"})
            continue
        found = prim_box(table.loc[mine, uncertainties], fail)
        if found is None or found[1].empty:
            rows.append({**base, "note": "PRIM found no box"})
            continue
        stats, limits = found
        for lim in limits.itertuples():
            lo, hi = ranges[str(lim.uncertainty)]
            rows.append(
                {
                    **base,
                    **stats,
                    "uncertainty": lim.uncertainty,
                    "low": lim.low,
                    "high": lim.high,
                    "range_low": lo,
                    "range_high": hi,
                    "qp_lower": lim.qp_lower,
                    "qp_upper": lim.qp_upper,
                    "note": "",
                }
            )
    return pd.DataFrame(rows, columns=BOX_COLUMNS)
