"""The contract of each shipped data file (columns, allowed values, ranges, keys).

Documented for people in ``sim/data/README.md``; this module is what the loaders enforce.
"""

from __future__ import annotations

from sim.data.geography import HOFSTEDE_DIMS
from sim.data.schema import DATE, ISO3, URL, Column, Pattern, TableSpec
from sim.data.taxonomy import (
    BARRIER_AFFECTS,
    BARRIER_KINDS,
    CONTINENTS,
    DEVELOPMENT_CLASSES,
    HOME_POLICY_KINDS,
    INDICATOR_METHODS,
    INDICATORS,
    INDUSTRIES,
    MODES,
    REGIONS,
)

#: A record event's id: one to three capital letters (the firm's own prefix) and 3-4 digits.
EVENT_ID = Pattern(
    r"[A-Z]{1,3}\d{3,4}", "1-3 capital letters followed by 3-4 digits, like E001 or J012"
)

#: Widest span of years any data file may hold (a firm's record and the indicators narrow it).
FIRST_YEAR, LAST_YEAR = 1990, 2100

EVENTS = TableSpec(
    name="events.csv",
    columns=(
        Column("event_id", pattern=EVENT_ID),
        Column("year", "int", lo=FIRST_YEAR, hi=LAST_YEAR),
        Column("date", required=False, pattern=DATE),
        Column("target"),
        Column("country_iso3", pattern=ISO3),
        Column("region", allowed=REGIONS),
        Column("industry", allowed=INDUSTRIES),
        Column("mode", allowed=MODES),
        Column("entity"),  # checked against the firm profile's entities
        Column("amount_usd_m", "float", required=False, lo=0.0, hi=100_000.0),
        Column("stake_pct", "float", required=False, lo=0.01, hi=100.0),
        Column("round_size_usd_m", "float", required=False, lo=0.0, hi=100_000.0),
        Column("source_url", pattern=URL),
        Column("confidence", allowed=("high", "medium")),
        Column("notes", required=False),
    ),
    key=("event_id",),
)

COUNTRIES = TableSpec(
    name="countries.csv",
    columns=(
        Column("iso3", pattern=ISO3),
        Column("name"),
        Column("region", allowed=REGIONS),
        Column("continent", allowed=CONTINENTS),
        Column("capital"),
        Column("capital_lat", "float", lo=-90.0, hi=90.0),
        Column("capital_lon", "float", lo=-180.0, hi=180.0),
        Column("development", required=False, allowed=DEVELOPMENT_CLASSES),
        *(Column(d, "float", required=False, lo=0.0, hi=120.0) for d in HOFSTEDE_DIMS),
        Column("coord_source"),
        Column("hofstede_source", required=False),
    ),
    key=("iso3",),
)

INDICATOR_ROWS = TableSpec(
    name="market_indicators.csv",
    columns=(
        Column("iso3", pattern=ISO3),
        Column("year", "int", lo=FIRST_YEAR, hi=LAST_YEAR),
        Column("indicator", allowed=tuple(INDICATORS)),
        Column("value", "float"),
        Column("method", allowed=INDICATOR_METHODS),
        Column("source"),
        Column("vintage"),
        Column("source_year", "int", lo=FIRST_YEAR, hi=LAST_YEAR),
    ),
    key=("iso3", "year", "indicator"),
)

BARRIER_EVENTS = TableSpec(
    name="barrier_events.csv",
    columns=(
        Column("barrier_id", pattern=Pattern(r"B\d{2,3}", "B followed by 2-3 digits, like B01")),
        Column("date", pattern=DATE),
        Column("country_iso3", pattern=ISO3),
        Column("kind", allowed=BARRIER_KINDS),
        Column("affects", allowed=BARRIER_AFFECTS),
        Column("targets_origin", required=False, pattern=ISO3),
        Column("description"),
        Column("source_url", pattern=URL),
        Column("notes", required=False),
    ),
    key=("barrier_id",),
    allow_empty=True,  # a market set with no barrier events: "no barriers" must be sayable
)

HOME_POLICY = TableSpec(
    name="home_policy_events.csv",
    columns=(
        Column("policy_id", pattern=Pattern(r"H\d{2,3}", "H followed by 2-3 digits, like H01")),
        Column("date", pattern=DATE),
        Column("home_iso3", pattern=ISO3),
        Column("kind", allowed=HOME_POLICY_KINDS),
        Column("direction", "int", lo=-1, hi=1),
        Column("description"),
        Column("source_url", pattern=URL),
        Column("source_title", required=False),
        Column("notes", required=False),
    ),
    key=("policy_id",),
)

FINANCE = TableSpec(
    name="finance.csv",
    columns=(
        Column("fiscal_year", "int", lo=2000, hi=2035),
        Column("period_end", pattern=DATE),
        Column("measure", allowed=("total_revenue",)),
        Column("value", "float", lo=0.0),
        Column("currency", allowed=("RMB", "USD")),
        Column("unit", allowed=("million",)),
        Column(
            "source",
            pattern=Pattern(
                r"(https?://|github:)\S+", "a web address (http:// or https://) or github:PATH"
            ),
        ),
        Column("notes", required=False),
    ),
    key=("fiscal_year", "measure"),
)

EVENT_MARKETS = TableSpec(
    name="event_markets.csv",
    columns=(
        Column("event_id", pattern=EVENT_ID),
        Column("iso3", pattern=ISO3),
        Column("weight", "float", lo=0.0, hi=1.0),
        Column("basis", allowed=("operating_market",)),
        Column("source_url", pattern=URL),
        Column("notes", required=False),
    ),
    key=("event_id", "iso3"),
)
