"""The part of a firm's record a comparison uses: its scope of entities and its market coding.

Two codings of a multi-country target (a regional platform bought as one deal) are supported:

- ``headquarters``: the market is the target's headquarters country, as the record lists it.
- ``operating``: the market is one of the countries the target operated in at the deal date
  (``event_markets.csv``, sourced per row): the one with the largest weight, ties broken by the
  larger GDP (GDP per capita x population) in the deal year, then by ISO3 code. One deal stays
  one event, so counts and totals are the same under both codings; only markets (and so regions,
  development classes and distances) change.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from sim.data.loaders import Dataset
from sim.data.taxonomy import DEAL_MODES

CODINGS: tuple[str, ...] = ("headquarters", "operating")


def in_scope(events: pd.DataFrame, entities: frozenset[str]) -> pd.DataFrame:
    """Events whose ``entity`` is one of ``entities`` (a profile scope)."""
    return events[events["entity"].isin(entities)]


def operating_market(data: Dataset) -> pd.Series:
    """The operating market each multi-country event is coded to (index: event id)."""
    em = data.event_markets
    if em is None or em.empty:
        return pd.Series(dtype=object)
    ind = data.indicators
    gdp = (
        ind[ind["indicator"] == "gdp_pc_usd"].set_index(["iso3", "year"])["value"]
        * ind[ind["indicator"] == "population"].set_index(["iso3", "year"])["value"]
    ).rename("gdp")
    year = data.events.set_index("event_id")["year"]
    rows = em.assign(year=em["event_id"].map(year).astype(int))
    rows = rows.join(gdp, on=["iso3", "year"])
    rows = rows.sort_values(
        ["event_id", "weight", "gdp", "iso3"], ascending=[True, False, False, True]
    )
    return rows.drop_duplicates("event_id").set_index("event_id")["iso3"]


def history(
    data: Dataset,
    scope: str | None = None,
    coding: str = "headquarters",
    modes: Iterable[str] = DEAL_MODES,
) -> pd.DataFrame:
    """The record events a comparison uses: the one selection of "the record".

    Args:
        data: The firm's validated inputs.
        scope: A scope of the firm profile (its default when ``None``).
        coding: ``headquarters`` or ``operating`` (see the module docstring).
        modes: Record modes counted (default: the deal modes); simulated events are filtered to
            the same modes, so a comparison is like with like.
    """
    if coding not in CODINGS:
        raise ValueError(f"unknown coding {coding!r}; known: {', '.join(CODINGS)}")
    events = in_scope(data.events, data.firm.scope_entities(scope))
    events = events[events["mode"].isin(tuple(modes))]
    if coding == "headquarters":
        return events
    moved = operating_market(data)
    events = events.copy()
    iso3 = events["event_id"].map(moved)
    changed = iso3.notna()
    region = data.markets.set_index("iso3")["region"]
    events.loc[changed, "country_iso3"] = iso3[changed]
    events.loc[changed, "region"] = iso3[changed].map(region)
    return events
