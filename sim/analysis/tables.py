"""Tidy tables of an ensemble: deals per year and per-strategy summaries, with the record beside."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.analysis.accumulate import QUANTILED, Comparison, PointStats
from sim.analysis.ensemble import COMPARE_MODES
from sim.world import World

RECORD = "record"


def yearly_table(c: Comparison) -> pd.DataFrame:
    """Deals per year per strategy (median, 5-95 %, mean over every run) and the record's counts."""
    rows = []
    for label, part in zip(c.labels, c.points, strict=True):
        mean = part.mean("yearly")
        for t, year in enumerate(c.world.years):
            band = part.band(f"year_{t}")
            rows.append({"strategy": label, "year": int(year), **band, "mean": mean[t]})
    for t, year in enumerate(c.world.years):
        n = float(c.observed.yearly[0, t])
        rows.append(
            {"strategy": RECORD, "year": int(year), "median": n, "p05": n, "p95": n, "mean": n}
        )
    return pd.DataFrame(rows)


def _shares(pooled: np.ndarray, names: tuple[str, ...], prefix: str) -> dict[str, float]:
    pooled = pooled.astype(float)
    total = pooled.sum()
    return {f"{prefix}{n}": (pooled[i] / total if total else 0.0) for i, n in enumerate(names)}


def _summary_row(label: str, part: PointStats, world: World) -> dict[str, float | str]:
    band = part.band("total_events")
    out: dict[str, float | str] = {
        "strategy": label,
        "runs": part.n_runs,
        "events_median": part.medians["total_events"],
        "events_p05": band["p05"],
        "events_p95": band["p95"],
    }
    for name in QUANTILED[1:]:
        out[f"{name}_median"] = part.medians[name]
    out |= _shares(part.sums["modes"], COMPARE_MODES, "mode_share_")
    out |= _shares(part.sums["regions"], world.regions, "region_share_")
    top = part.sums["countries"]
    order = np.argsort(-top)[:5]
    out["top_countries"] = " ".join(world.iso3[i] for i in order if top[i] > 0)
    return out


def summary_table(c: Comparison) -> pd.DataFrame:
    """One row per strategy (and the record): totals, shares, countries, capital, blocks, entropy.

    Shares are pooled over all runs of a strategy; counts are medians with a 5-95 % band, exact
    over every run (selected exactly from the streamed per-run values).
    """
    rows = [
        _summary_row(label, part, c.world) for label, part in zip(c.labels, c.points, strict=True)
    ]
    rows.append(_summary_row(RECORD, c.record, c.world))
    return pd.DataFrame(rows)
