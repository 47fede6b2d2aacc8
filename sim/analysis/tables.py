"""Tidy tables of an ensemble: deals per year and per-strategy summaries, with the record beside."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.analysis.ensemble import COMPARE_MODES, Comparison, RunStats
from sim.world import World

RECORD = "record"


def yearly_table(c: Comparison) -> pd.DataFrame:
    """Deals per year per strategy (median, 5-95 %, mean) and the record's counts."""
    rows = []
    for s, label in enumerate(c.labels):
        yearly = c.runs_of(s).yearly
        lo, med, hi = np.percentile(yearly, [5, 50, 95], axis=0)
        for t, year in enumerate(c.world.years):
            rows.append(
                {
                    "strategy": label,
                    "year": int(year),
                    "median": med[t],
                    "p05": lo[t],
                    "p95": hi[t],
                    "mean": yearly[:, t].mean(),
                }
            )
    for t, year in enumerate(c.world.years):
        n = float(c.observed.yearly[0, t])
        rows.append(
            {"strategy": RECORD, "year": int(year), "median": n, "p05": n, "p95": n, "mean": n}
        )
    return pd.DataFrame(rows)


def _shares(counts: np.ndarray, names: tuple[str, ...], prefix: str) -> dict[str, float]:
    pooled = counts.sum(axis=0).astype(float)
    total = pooled.sum()
    return {f"{prefix}{n}": (pooled[i] / total if total else 0.0) for i, n in enumerate(names)}


def _summary_row(label: str, part: RunStats, world: World) -> dict[str, float | str]:
    scal = part.scalars(world)
    total = scal["total_events"].to_numpy()
    out: dict[str, float | str] = {
        "strategy": label,
        "runs": len(total),
        "events_median": float(np.median(total)),
        "events_p05": float(np.percentile(total, 5)),
        "events_p95": float(np.percentile(total, 95)),
        "distinct_countries_median": float(scal["distinct_countries"].median()),
        "top_market_share_median": float(scal["top_market_share"].median()),
        "capital_used_median": float(scal["capital_used"].median()),
        "blocked_median": float(scal["blocked"].median()),
        "region_entropy_median": float(scal["region_entropy"].median()),
    }
    out |= _shares(part.modes, COMPARE_MODES, "mode_share_")
    out |= _shares(part.regions, world.regions, "region_share_")
    top = part.countries.sum(axis=0)
    order = np.argsort(-top)[:5]
    out["top_countries"] = " ".join(world.iso3[i] for i in order if top[i] > 0)
    return out


def summary_table(c: Comparison) -> pd.DataFrame:
    """One row per strategy (and the record): totals, shares, countries, capital, blocks, entropy.

    Shares are pooled over all runs of a strategy; counts are medians with a 5-95 % band.
    """
    rows = [_summary_row(label, c.runs_of(s), c.world) for s, label in enumerate(c.labels)]
    rows.append(_summary_row(RECORD, c.observed, c.world))
    return pd.DataFrame(rows)
