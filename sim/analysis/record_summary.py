"""Tables that describe the historical record and set it beside the paper's stated numbers."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from sim.data.taxonomy import MODES


def with_continent(events: pd.DataFrame, markets: pd.DataFrame) -> pd.DataFrame:
    """Add each event's continent from the market table."""
    return events.merge(
        markets[["iso3", "continent"]], left_on="country_iso3", right_on="iso3", how="left"
    ).drop(columns="iso3")


def yearly_by_mode(events: pd.DataFrame, years: Iterable[int]) -> pd.DataFrame:
    """Year x mode event counts, all years and modes present (zeros included)."""
    table = pd.crosstab(events["year"].astype(int), events["mode"])
    return table.reindex(index=list(years), columns=list(MODES), fill_value=0)


def country_counts(events: pd.DataFrame) -> pd.DataFrame:
    """Events per country, with the share of the total, most active first."""
    counts = events["country_iso3"].value_counts()
    return pd.DataFrame({"events": counts, "share": counts / counts.sum()}).rename_axis("iso3")
