"""Aggregates of a tidy deal-event table, as the paper reports them (``sim data summary``).

Every function takes a table with at least the columns ``year``, ``country_iso3``, ``region`` and
``mode`` (one row per event). Ensembles of simulated runs are summarised per run by the integer
bincounts of :mod:`sim.analysis.ensemble` instead, which also encode the record the same way for
``sim run``; the two agree on the shared measures (total, peak year, countries, US, control and
equity shares).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import numpy as np
import pandas as pd

from sim.data.taxonomy import MODES


def events_per_year(events: pd.DataFrame, years: Iterable[int]) -> pd.Series:
    """Event counts for each year in ``years`` (zeros included, so series align across runs)."""
    years = list(years)
    return events["year"].astype(int).value_counts().reindex(years, fill_value=0).sort_index()


def counts_by(
    events: pd.DataFrame, column: str, categories: Iterable[str] | None = None
) -> pd.Series:
    """Event counts per category of ``column``, in the given category order when one is given."""
    counts = events[column].value_counts()
    if categories is not None:
        counts = counts.reindex(list(categories), fill_value=0)
    return counts


def shares_by(
    events: pd.DataFrame, column: str, categories: Iterable[str] | None = None
) -> pd.Series:
    """Share of events per category of ``column`` (sums to 1; empty table gives zeros)."""
    counts = counts_by(events, column, categories).astype(float)
    total = counts.sum()
    return counts / total if total > 0 else counts


def hhi(shares: pd.Series) -> float:
    """Herfindahl-Hirschman concentration of shares (1 = all in one category)."""
    return float(np.square(shares.to_numpy(dtype=float)).sum())


def peak_year(per_year: pd.Series) -> int:
    """The year with the most events (the earliest such year on ties)."""
    return int(cast("int", per_year.idxmax()))  # labels are years


def record_aggregates(events: pd.DataFrame, years: Iterable[int]) -> dict[str, float]:
    """The headline numbers of an event table, as a flat dict of named scalars.

    The names are stable identifiers used by the paper comparison, tables and tests.
    """
    years = list(years)
    n = len(events)
    per_year = events_per_year(events, years)
    country = shares_by(events, "country_iso3")
    modes = shares_by(events, "mode", MODES)
    out: dict[str, float] = {
        "total_events": float(n),
        "distinct_countries": float(events["country_iso3"].nunique()),
        "peak_year": float(peak_year(per_year)) if n else float("nan"),
        "peak_year_events": float(per_year.max()) if n else 0.0,
        "control_events": float((events["mode"] == "control").sum()),
        "control_share": float(modes.get("control", 0.0)),
        "minority_share": float(modes.get("minority", 0.0)),
        "equity_share": float(modes.get("control", 0.0) + modes.get("minority", 0.0)),
        "cooperation_share": float(modes.get("cooperation", 0.0)),
        "other_share": float(modes.get("other", 0.0)),
        "top_market_share": float(country.max()) if n else 0.0,
        "country_hhi": hhi(country),
        "top3_country_share": float(country.nlargest(3).sum()),
    }
    return out
