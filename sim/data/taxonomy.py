"""The record's categories, defined once: entry modes, industries, regions, indicators.

These are classifications (definitions), not measurements; ``sim/data/README.md`` states the
rule behind each. The loaders reject any value outside these sets, so a typo in a data file
cannot silently create a new category.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal, get_args

#: Modes of a record event. The first four are the deal modes of Li & Li (2022), from most to
#: least committing; ``other`` covers fund commitments and deals that failed, were blocked or
#: abandoned. ``greenfield`` is an operation the firm built or launched itself (a data centre,
#: hub, office, store or marketplace; no partner equity) and ``exit`` a divestment or closure of
#: an earlier commitment (added after the deal modes so existing codes keep their meaning).
RecordMode = Literal["control", "minority", "cooperation", "other", "greenfield", "exit"]
MODES: tuple[str, ...] = get_args(RecordMode)
#: The record modes a comparison counts unless a scenario's ``history: modes:`` says otherwise:
#: the paper's deal modes (M&A, investment, cooperation, failed deals).
DEAL_MODES: tuple[RecordMode, ...] = ("control", "minority", "cooperation", "other")
#: Modes that put the firm's equity into the target.
EQUITY_MODES: frozenset[str] = frozenset({"control", "minority"})

#: Kinds of dated home-country regime events (``home_policy_events.csv``).
HOME_POLICY_KINDS: tuple[str, ...] = (
    "outbound_easing",
    "outbound_tightening",
    "platform_regulation",
    "capital_controls",
)

#: Target industries (13 named + ``other``; the paper counts 13 target industries).
INDUSTRIES: tuple[str, ...] = (
    "ecommerce",
    "fintech",
    "logistics",
    "social",
    "media_entertainment",
    "gaming",
    "mobility",
    "enterprise_tech",
    "cybersecurity",
    "hardware",
    "local_services_travel",
    "retail",
    "government_trade",
    "other",
)

#: Industries a host's investment screening treats as sensitive (what the host response counts,
#: docs/ODD.md 7.12): payments and finance (``fintech``: financial infrastructure), personal data
#: (``social``; ``enterprise_tech``: data processing and storage, cloud), media
#: (``media_entertainment``: media pluralism) and ``cybersecurity`` (a critical technology), the
#: factors of Article 4(1) of Regulation (EU) 2019/452 and the "sensitive personal data" and
#: "critical technologies" of a TID U.S. business under FIRRMA (sources in docs/ODD.md 7.12).
SENSITIVE_INDUSTRIES: tuple[str, ...] = (
    "fintech",
    "social",
    "media_entertainment",
    "enterprise_tech",
    "cybersecurity",
)

#: Regions used for shares and diversification; every market belongs to exactly one.
REGIONS: tuple[str, ...] = (
    "north_america",
    "latin_america",
    "europe",
    "middle_east",
    "africa",
    "south_asia",
    "southeast_asia",
    "east_asia",
    "central_asia",
    "oceania",
)

#: Continents as GeoNames codes them; the paper reports shares by continent.
CONTINENTS: tuple[str, ...] = ("AF", "AS", "EU", "NA", "OC", "SA")

#: Development classes (rule in the data README).
DEVELOPMENT_CLASSES: tuple[str, ...] = ("emerging", "mature")

#: Indicators allowed in ``market_indicators.csv`` with their plausible value range.
INDICATORS: MappingProxyType[str, tuple[float, float]] = MappingProxyType(
    {
        "gdp_pc_usd": (100.0, 250_000.0),
        "gdp_growth_pct": (-60.0, 100.0),
        "population": (1.0e4, 2.0e9),
        "internet_users_pct": (0.0, 100.0),
        "db_score": (0.0, 100.0),
        "db_rank": (1.0, 200.0),
        "unctad_b2c_rank": (1.0, 200.0),
    }
)
#: Indicators every market must have for every simulated year (gaps are errors for these).
CORE_INDICATORS: tuple[str, ...] = (
    "gdp_pc_usd",
    "gdp_growth_pct",
    "population",
    "internet_users_pct",
)
#: How an indicator value was obtained; anything but ``observed`` is a documented fill, except
#: ``estimate`` and ``projection``: values of a projection release (IMF World Economic Outlook)
#: for a year before its release year (history or staff estimate) and from it on.
INDICATOR_METHODS: tuple[str, ...] = (
    "observed",
    "carried_backward",
    "carried_forward",
    "interpolated",
    "estimate",
    "projection",
)

#: Kinds of dated host barrier events.
BARRIER_KINDS: tuple[str, ...] = (
    "investment_screening",
    "app_ban",
    "deal_block",
    "sanction_order",
    "other",
)
BARRIER_AFFECTS: tuple[str, ...] = ("investment", "operations", "both")

#: Country-group codes allowed where a barrier applies to a bloc, with the markets they cover.
#: EUU: the European Union's member states among our markets, as listed with its source in the notes
#: of barrier event B15 (the EU screening regulation becoming applicable in October 2020).
COUNTRY_GROUPS: MappingProxyType[str, frozenset[str]] = MappingProxyType(
    {
        "EUU": frozenset(
            {
                "AUT",
                "BEL",
                "CZE",
                "DEU",
                "DNK",
                "ESP",
                "FIN",
                "FRA",
                "IRL",
                "ITA",
                "LUX",
                "NLD",
                "POL",
                "SWE",
            }
        ),
    }
)
