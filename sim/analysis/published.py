"""Numbers a publication states about a firm's record, set beside the record's own values.

A firm profile may name a CSV of published claims (``metric, value, section, wording, source``);
for the reference firm these are the numbers written in the text of Li & Li (2022). Each metric
is an expression evaluated on the record:

- a headline aggregate of :func:`sim.analysis.metrics.record_aggregates` (``total_events``,
  ``peak_year``, ``equity_share`` ...);
- ``country_share:ISO3`` — the country's share of all events;
- ``equity_since:YEAR:continent:CODE`` or ``equity_since:YEAR:country:ISO3+ISO3`` — the share of
  equity deals (control or minority) dated YEAR or later in that continent or set of countries.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from sim.analysis.metrics import record_aggregates
from sim.data.profile import FirmProfile
from sim.data.schema import URL, Column, Pattern, TableSpec, read_table
from sim.data.taxonomy import EQUITY_MODES

CLAIMS = TableSpec(
    name="published_claims.csv",
    columns=(
        Column(
            "metric",
            pattern=Pattern(
                r"[a-z_0-9]+(:[A-Za-z0-9_+]+)*",
                "a lower-case metric name with optional :arguments, like country_share:USA",
            ),
        ),
        Column("value", "float"),
        Column("section"),
        Column("wording"),
        Column("source", pattern=URL),
    ),
    key=("metric",),
)


def load_claims(profile: FirmProfile) -> pd.DataFrame | None:
    """The profile's published claims, or ``None`` when it names none."""
    if profile.published_claims is None:
        return None
    return read_table(profile.path(profile.published_claims), CLAIMS).reset_index(drop=True)


def claim_value(events: pd.DataFrame, metric: str, years: Iterable[int]) -> float:
    """The record's value of one claim metric (see the module docstring); NaN if unknown."""
    parts = metric.split(":")
    if parts[0] == "country_share" and len(parts) == 2:
        n = len(events)
        return float((events["country_iso3"] == parts[1]).sum() / n) if n else float("nan")
    if parts[0] == "equity_since" and len(parts) == 4:
        since, kind, codes = int(parts[1]), parts[2], parts[3].split("+")
        equity = events[events["mode"].isin(EQUITY_MODES) & (events["year"] >= since)]
        column = {"continent": "continent", "country": "country_iso3"}.get(kind)
        if column is None or column not in equity.columns or equity.empty:
            return float("nan")
        return float(equity[column].isin(codes).mean())
    return float(record_aggregates(events, years).get(metric, float("nan")))


def published_comparison(
    events: pd.DataFrame, claims: pd.DataFrame, years: Iterable[int]
) -> pd.DataFrame:
    """The record's value of every published claim, with the difference."""
    years = list(years)
    rows = []
    for claim in claims.to_dict("records"):
        ours = claim_value(events, str(claim["metric"]), years)
        published = float(claim["value"])
        rows.append(
            {
                "metric": claim["metric"],
                "record": ours,
                "published": published,
                "difference": ours - published,
                "section": claim["section"],
                "wording": claim["wording"],
            }
        )
    return pd.DataFrame(rows)
