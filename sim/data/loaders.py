"""Load the shipped (or user-supplied) data files into validated pandas DataFrames.

Every loader reads text, checks it against its :mod:`sim.data.specs` contract and then applies the
checks that need more than one column or file (dates agree with years, countries are known
markets, stakes agree with modes). Files ship inside the package so an installed wheel works from
any directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sim.data import specs
from sim.data.geography import firm_markets
from sim.data.profile import FirmProfile, load_profile
from sim.data.schema import read_table, reject_first
from sim.data.taxonomy import CORE_INDICATORS, COUNTRY_GROUPS, INDICATORS
from sim.errors import SimInputError

#: Files every firm shares (packaged) and files of the firm itself (in its profile's folder).
SHARED_FILES = ("countries", "indicators", "barriers", "home_policy")
FIRM_FILES = ("events", "finance", "event_markets")
DATA_FILES = (*FIRM_FILES, *SHARED_FILES)
_FILE_NAMES = {
    "countries": specs.COUNTRIES.name,
    "indicators": specs.INDICATOR_ROWS.name,
    "barriers": specs.BARRIER_EVENTS.name,
    "home_policy": specs.HOME_POLICY.name,
}


def packaged_path(name: str) -> Path:
    """Path of a shared data file shipped inside the package (``name`` in :data:`SHARED_FILES`)."""
    return Path(str(resources.files("sim.data").joinpath(_FILE_NAMES[name])))


class DataPaths(BaseModel):
    """Where each input file lives; ``None`` means the firm profile's file or the packaged copy.

    The one data-path type: the command line's ``--events`` etc. and a scenario's ``data:``
    section both build it, so every file a scenario names (``finance`` included) is the file
    that is loaded. Unknown keys are errors.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    events: Path | None = Field(None, description="deal-event record CSV (default: the firm's)")
    finance: Path | None = Field(None, description="the firm's yearly revenue CSV")
    event_markets: Path | None = Field(
        None, description="operating markets of multi-country targets CSV"
    )
    countries: Path | None = Field(None, description="country attributes CSV")
    indicators: Path | None = Field(None, description="yearly country indicators CSV")
    barriers: Path | None = Field(None, description="dated host barrier events CSV")
    home_policy: Path | None = Field(
        None, description="dated home-country outbound-regime events CSV"
    )

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Path | None) -> Path | None:
        if value is not None and "\x00" in str(value):
            raise ValueError("a file path must not contain a NUL byte")
        return value

    def resolve(self, name: str, profile: FirmProfile | None = None) -> Path | None:
        """The concrete path for ``name``: given, else the firm's file, else the packaged one.

        ``None`` only for an optional firm file the profile does not have.
        """
        given = getattr(self, name)
        if given is not None:
            return Path(given)
        if name in FIRM_FILES:
            profile = profile or load_profile()
            relative = getattr(profile.record, name)
            return profile.path(relative) if relative is not None else None
        return packaged_path(name)


def _require_known(
    df: pd.DataFrame, column: str, markets: pd.DataFrame, path: Path, groups: tuple[str, ...] = ()
) -> None:
    """Fail on the first value of ``column`` that is neither a listed market nor a group code."""
    unknown = ~df[column].isin(markets["iso3"]) & ~df[column].isin(groups)
    also = f" nor a country group: {', '.join(groups)}" if groups else ""
    reject_first(
        unknown,
        path,
        column,
        lambda i: f"unknown country {df.loc[i, column]!r} (not a market{also})",
    )


def load_countries(path: Path | None = None) -> pd.DataFrame:
    """Load the country table: home-independent attributes, one row per country."""
    path = Path(path) if path is not None else packaged_path("countries")
    return read_table(path, specs.COUNTRIES).reset_index(drop=True)


def load_markets(
    profile: FirmProfile | None = None,
    countries: pd.DataFrame | None = None,
    countries_path: Path | None = None,
) -> pd.DataFrame:
    """The firm's markets: every listed country except its domestic ones, home-relative.

    Distance and cultural distance from the profile's home country are computed here
    (:func:`sim.data.geography.firm_markets`), so the same country file serves any home country.

    Raises:
        SimInputError: when the home country is not in the country table or a market lacks
            its development class.
    """
    profile = profile or load_profile()
    countries_path = Path(countries_path) if countries_path else packaged_path("countries")
    countries = load_countries(countries_path) if countries is None else countries
    if profile.home_iso3 not in set(countries["iso3"]):
        raise SimInputError(
            profile.path("profile.yaml"),
            f"{profile.home_iso3} is not in {countries_path.name} (its capital and culture are "
            "needed for distances)",
            field="home_iso3",
        )
    markets = firm_markets(countries, profile.home_iso3, profile.domestic)
    no_class = countries["development"].isna() & countries["iso3"].isin(markets["iso3"])
    no_class.index = countries.index + 2  # file lines (header is line 1)
    reject_first(
        no_class,
        countries_path,
        "development",
        lambda i: f"blank for {countries.loc[i - 2, 'iso3']}, a market of {profile.short_name}",
    )
    return markets


def _check_amounts(df: pd.DataFrame, path: Path) -> None:
    """Stakes that contradict their mode, amounts above their round, and repeated rows."""
    stake = df["stake_pct"]
    control_low = (df["mode"] == "control") & stake.notna() & (stake <= 50)
    reject_first(
        control_low,
        path,
        "stake_pct",
        lambda i: f"a control deal needs a stake above 50 % (got {stake[i]:g})",
    )
    minority_high = (df["mode"] == "minority") & stake.notna() & (stake > 50)
    reject_first(
        minority_high,
        path,
        "stake_pct",
        lambda i: f"a minority deal needs a stake of at most 50 % (got {stake[i]:g})",
    )
    over_round = (
        df["amount_usd_m"].notna()
        & df["round_size_usd_m"].notna()
        & (df["amount_usd_m"] > df["round_size_usd_m"] + 1e-9)
    )
    reject_first(
        over_round, path, "amount_usd_m", lambda i: "the firm's amount exceeds the round size"
    )

    same = df.duplicated(subset=["target", "date", "mode", "entity"], keep="first")
    reject_first(
        same,
        path,
        "target",
        lambda i: (
            f"same target, date, mode and entity as an earlier row "
            f"({df.loc[i, 'target']}, {df.loc[i, 'date']})"
        ),
    )


def load_events(
    path: Path | None = None,
    markets: pd.DataFrame | None = None,
    profile: FirmProfile | None = None,
) -> pd.DataFrame:
    """Load a firm's deal record and check it against its profile and markets.

    Args:
        path: The events CSV; the profile's record when ``None``.
        markets: The firm's validated markets; built from the profile when ``None``.
        profile: The firm profile (entities, domestic countries, years covered); the default
            firm when ``None``.
    """
    profile = profile or load_profile()
    path = Path(path) if path is not None else profile.path(profile.record.events)
    markets = load_markets(profile) if markets is None else markets
    df = read_table(path, specs.EVENTS)
    first, last = profile.record.years_covered
    outside = (df["year"] < first) | (df["year"] > last)
    reject_first(
        outside,
        path,
        "year",
        lambda i: f"{df.loc[i, 'year']} is outside the record's years {first}-{last} (profile)",
    )
    unknown = ~df["entity"].isin(profile.entity_names)
    reject_first(
        unknown,
        path,
        "entity",
        lambda i: (
            f"unknown entity {df.loc[i, 'entity']!r} (the profile of {profile.short_name} "
            f"lists: {', '.join(profile.entity_names)})"
        ),
    )

    dated = df["date"].notna()
    bad = dated & (df["date"].str.slice(0, 4).astype(float) != df["year"])
    reject_first(
        bad, path, "date", lambda i: f"{df.loc[i, 'date']} is not in year {df.loc[i, 'year']}"
    )

    domestic = df["country_iso3"].isin(profile.domestic)
    reject_first(
        domestic,
        path,
        "country_iso3",
        lambda i: f"{df.loc[i, 'country_iso3']} deals are domestic and out of scope",
    )
    region_of = markets.set_index("iso3")["region"]
    _require_known(df, "country_iso3", markets, path)
    wrong_region = df["region"] != df["country_iso3"].map(region_of)
    reject_first(
        wrong_region,
        path,
        "region",
        lambda i: (
            f"{df.loc[i, 'region']!r} disagrees with the country table "
            f"({region_of[df.loc[i, 'country_iso3']]!r} for {df.loc[i, 'country_iso3']})"
        ),
    )

    _check_amounts(df, path)
    return df.reset_index(drop=True)


def load_indicators(
    path: Path | None = None,
    markets: pd.DataFrame | None = None,
    years: range | None = None,
) -> pd.DataFrame:
    """Load the long-format yearly indicators and check ranges and completeness.

    Core indicators (:data:`CORE_INDICATORS`) must exist for every market and simulated year,
    because the model reads them every step; gaps in the source are filled by documented rules
    upstream and marked in the ``method`` column, never here. Rows of countries that are not the
    firm's markets (its home country, say) are dropped.

    Args:
        path: The indicators CSV; the packaged file when ``None``.
        markets: The firm's markets; the default firm's when ``None``.
        years: The years that must be complete; every year present when ``None``.
    """
    path = Path(path) if path is not None else packaged_path("indicators")
    markets = load_markets() if markets is None else markets
    df = read_table(path, specs.INDICATOR_ROWS)
    check_source_years(df, path)
    df = df[df["iso3"].isin(markets["iso3"])]
    for name, (lo, hi) in INDICATORS.items():
        rows = df["indicator"] == name
        out = rows & ((df["value"] < lo) | (df["value"] > hi))
        reject_first(
            out,
            path,
            "value",
            lambda i, lo=lo, hi=hi, name=name: (
                f"{df.loc[i, 'value']:g} is outside the plausible range [{lo:g}, {hi:g}] for {name}"
            ),
        )
    if years is None:
        years = range(int(df["year"].min()), int(df["year"].max()) + 1) if len(df) else range(0)
    gap = first_gap(df, markets, years)
    if gap is not None:
        raise SimInputError(
            path, f"missing core indicator {gap[1]} for {gap[0]} in {gap[2]}", field="value"
        )
    return df.reset_index(drop=True)


#: Where a row's ``source_year`` must lie relative to its ``year``, by ``method``: a value is
#: observed (or estimated, projected) for its own year, carried forward from an earlier year,
#: carried backward from a later one, interpolated from the earlier neighbour onwards.
SOURCE_YEAR_RULES = {
    "observed": ("==", "its own year"),
    "estimate": ("==", "its own year"),
    "projection": ("==", "its own year"),
    "carried_forward": ("<", "an earlier year"),
    "interpolated": ("<", "an earlier year"),
    "carried_backward": (">", "a later year"),
}


def check_source_years(df: pd.DataFrame, path: Path) -> None:
    """Reject a row whose ``source_year`` contradicts its ``method``.

    A filled value must say which year's value it repeats, so a reader (or a leakage check)
    can tell a carried 2021 value in 2025 from a 2025 value; a source year on the wrong side
    of the row's year means the build mislabelled the row.
    """
    source, year = df["source_year"], df["year"]
    for method, (op, where) in SOURCE_YEAR_RULES.items():
        fits = {"==": source == year, "<": source < year, ">": source > year}[op]
        reject_first(
            (df["method"] == method) & ~fits,
            path,
            "source_year",
            lambda i, where=where, method=method: (
                f"{df.loc[i, 'source_year']} for a {method} value of {df.loc[i, 'year']}; "
                f"it must be {where}"
            ),
        )


def first_gap(
    indicators: pd.DataFrame, markets: pd.DataFrame, years: range
) -> tuple[str, str, int] | None:
    """The first (market, core indicator, year) missing from ``indicators``, or ``None``."""
    present = set(
        zip(
            indicators["iso3"], indicators["year"].astype(int), indicators["indicator"], strict=True
        )
    )
    for year in years:
        for iso3 in markets["iso3"]:
            for name in CORE_INDICATORS:
                if (iso3, year, name) not in present:
                    return str(iso3), name, year
    return None


def load_barriers(path: Path | None = None, countries: pd.DataFrame | None = None) -> pd.DataFrame:
    """Load the dated host barrier events (each names the origin it targets, if any)."""
    path = Path(path) if path is not None else packaged_path("barriers")
    countries = load_countries() if countries is None else countries
    df = read_table(path, specs.BARRIER_EVENTS)
    _require_known(df, "country_iso3", countries, path, groups=tuple(COUNTRY_GROUPS))
    return df.reset_index(drop=True)


def load_finance(path: Path | None = None) -> pd.DataFrame:
    """Load the firm's yearly financial figures (its revenue lowers the no-deal hurdle)."""
    path = Path(path) if path is not None else DataPaths().resolve("finance")
    assert path is not None  # every profile names its finance file
    df = read_table(path, specs.FINANCE)
    bad = df["period_end"].str.slice(0, 4).astype(int) != df["fiscal_year"]
    reject_first(
        bad,
        path,
        "period_end",
        lambda i: f"{df.loc[i, 'period_end']} does not end fiscal year {df.loc[i, 'fiscal_year']}",
    )
    mixed = df.groupby("measure")["currency"].nunique() > 1
    if mixed.any():
        raise SimInputError(path, f"measure {mixed.idxmax()} mixes currencies", field="currency")
    if df.empty:
        raise SimInputError(path, "no total_revenue rows: capacity cannot be computed")
    return df.reset_index(drop=True)


def load_home_policy(path: Path | None = None, home: str | None = None) -> pd.DataFrame:
    """Load the dated home-country outbound-regime events (easing +1, tightening -1).

    Args:
        path: The events CSV; the packaged file when ``None``.
        home: Keep only the events of this home country (all when ``None``).
    """
    path = Path(path) if path is not None else packaged_path("home_policy")
    df = read_table(path, specs.HOME_POLICY)
    if home is not None:
        df = df[df["home_iso3"] == home]
    return df.reset_index(drop=True)


def load_event_markets(path: Path, events: pd.DataFrame, markets: pd.DataFrame) -> pd.DataFrame:
    """Load the operating markets of multi-country targets (weights sum to 1 per event)."""
    df = read_table(path, specs.EVENT_MARKETS)
    _require_known(df, "iso3", markets, path)
    unknown = ~df["event_id"].isin(events["event_id"])
    reject_first(
        unknown, path, "event_id", lambda i: f"{df.loc[i, 'event_id']} is not in the record"
    )
    total = df.groupby("event_id")["weight"].transform("sum")
    reject_first(
        (total - 1.0).abs() > 1e-3,
        path,
        "weight",
        lambda i: f"the weights of {df.loc[i, 'event_id']} sum to {total[i]:.4f}, not 1",
    )
    return df.reset_index(drop=True)


@dataclass(frozen=True)
class Dataset:
    """All validated inputs of a run, loaded together so cross-file checks hold."""

    events: pd.DataFrame
    markets: pd.DataFrame
    indicators: pd.DataFrame
    barriers: pd.DataFrame
    finance: pd.DataFrame
    home_policy: pd.DataFrame | None = None
    profile: FirmProfile | None = None
    event_markets: pd.DataFrame | None = None

    @property
    def firm(self) -> FirmProfile:
        """The firm profile (the default firm's when the dataset was built without one)."""
        return self.profile or load_profile()


def load_dataset(
    paths: DataPaths | None = None,
    profile: FirmProfile | None = None,
    years: range | None = None,
) -> Dataset:
    """Load and cross-check every data file of one firm (markets first: the others refer to it).

    Args:
        paths: Files that replace the profile's or the packaged ones.
        profile: The firm; the default firm when ``None``.
        years: Years the indicators must cover (the simulated years); all present when ``None``.
    """
    paths = paths or DataPaths()
    profile = profile or load_profile()
    countries_path = paths.resolve("countries", profile)
    countries = load_countries(countries_path)
    markets = load_markets(profile, countries, countries_path)
    events = load_events(paths.resolve("events", profile), markets, profile)
    em_path = paths.resolve("event_markets", profile)
    return Dataset(
        events=events,
        markets=markets,
        indicators=load_indicators(paths.resolve("indicators", profile), markets, years),
        barriers=load_barriers(paths.resolve("barriers", profile), countries),
        finance=load_finance(paths.resolve("finance", profile)),
        home_policy=load_home_policy(paths.resolve("home_policy", profile), profile.home_iso3),
        profile=profile,
        event_markets=None if em_path is None else load_event_markets(em_path, events, markets),
    )
