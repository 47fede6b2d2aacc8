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
from sim.data.schema import read_table, reject_first
from sim.data.taxonomy import (
    CORE_INDICATORS,
    COUNTRY_GROUPS,
    INDICATORS,
    OUT_OF_SCOPE_ISO3,
    RECORD_YEARS,
)
from sim.errors import SimInputError

#: Fewest Hofstede dimensions for a comparable Kogut-Singh index (else the distance is a gap).
MIN_HOFSTEDE_DIMS = 4
DATA_FILES = ("events", "markets", "indicators", "barriers", "finance", "home_policy")
_FILE_NAMES = {
    "events": specs.EVENTS.name,
    "markets": specs.MARKETS.name,
    "indicators": specs.INDICATOR_ROWS.name,
    "barriers": specs.BARRIER_EVENTS.name,
    "finance": specs.FINANCE.name,
    "home_policy": specs.HOME_POLICY.name,
}


def packaged_path(name: str) -> Path:
    """Path of a data file shipped inside the package (``name`` as in :data:`DATA_FILES`)."""
    return Path(str(resources.files("sim.data").joinpath(_FILE_NAMES[name])))


class DataPaths(BaseModel):
    """Where each input file lives; ``None`` means the packaged copy.

    The one data-path type: the command line's ``--events`` etc. and a scenario's ``data:``
    section both build it, so every file a scenario names (``finance`` included) is the file
    that is loaded. Unknown keys are errors.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    events: Path | None = Field(None, description="historical deal record CSV")
    markets: Path | None = Field(None, description="market attributes CSV")
    indicators: Path | None = Field(None, description="yearly market indicators CSV")
    barriers: Path | None = Field(None, description="dated barrier events CSV")
    finance: Path | None = Field(None, description="firm's yearly financial figures CSV")
    home_policy: Path | None = Field(
        None, description="dated home-country outbound-regime events CSV"
    )

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Path | None) -> Path | None:
        if value is not None and "\x00" in str(value):
            raise ValueError("a file path must not contain a NUL byte")
        return value

    def resolve(self, name: str) -> Path:
        """The concrete path for ``name``, falling back to the packaged file."""
        given = getattr(self, name)
        return Path(given) if given is not None else packaged_path(name)


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
        lambda i: f"unknown country {df.loc[i, column]!r} (not in markets.csv{also})",
    )


def load_markets(path: Path | None = None) -> pd.DataFrame:
    """Load the market attributes, one row per country market, indexed by nothing (iso3 column)."""
    path = Path(path) if path is not None else packaged_path("markets")
    df = read_table(path, specs.MARKETS)
    home = df["iso3"].isin(OUT_OF_SCOPE_ISO3)
    reject_first(
        home,
        path,
        "iso3",
        lambda i: (
            f"{df.loc[i, 'iso3']} is not a "
            "foreign market for this record (home country or its special regions)"
        ),
    )
    no_culture = df["cultural_distance"].isna() & (df["hofstede_dims"] >= MIN_HOFSTEDE_DIMS)
    reject_first(
        no_culture,
        path,
        "cultural_distance",
        lambda i: f"blank although hofstede_dims >= {MIN_HOFSTEDE_DIMS}",
    )
    thin = df["cultural_distance"].notna() & (df["hofstede_dims"] < MIN_HOFSTEDE_DIMS)
    reject_first(
        thin,
        path,
        "cultural_distance",
        lambda i: f"given although fewer than {MIN_HOFSTEDE_DIMS} Hofstede dimensions exist",
    )
    return df.reset_index(drop=True)


def load_events(path: Path | None = None, markets: pd.DataFrame | None = None) -> pd.DataFrame:
    """Load the historical deal record and check it against the market list.

    Args:
        path: The events CSV; the packaged record when ``None``.
        markets: Validated markets table; loaded from the package when ``None``.
    """
    path = Path(path) if path is not None else packaged_path("events")
    markets = load_markets() if markets is None else markets
    df = read_table(path, specs.EVENTS)

    dated = df["date"].notna()
    bad = dated & (df["date"].str.slice(0, 4).astype(float) != df["year"])
    reject_first(
        bad, path, "date", lambda i: f"{df.loc[i, 'date']} is not in year {df.loc[i, 'year']}"
    )

    domestic = df["country_iso3"].isin(OUT_OF_SCOPE_ISO3)
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
            f"{df.loc[i, 'region']!r} disagrees with markets.csv "
            f"({region_of[df.loc[i, 'country_iso3']]!r} for {df.loc[i, 'country_iso3']})"
        ),
    )

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
    return df.reset_index(drop=True)


def load_indicators(path: Path | None = None, markets: pd.DataFrame | None = None) -> pd.DataFrame:
    """Load the long-format yearly market indicators and check ranges and completeness.

    Core indicators (:data:`CORE_INDICATORS`) must exist for every market and record year, because
    the model reads them every step; gaps in the source are filled by documented rules upstream and
    marked in the ``method`` column, never here.
    """
    path = Path(path) if path is not None else packaged_path("indicators")
    markets = load_markets() if markets is None else markets
    df = read_table(path, specs.INDICATOR_ROWS)
    _require_known(df, "iso3", markets, path)
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
    years = range(RECORD_YEARS[0], RECORD_YEARS[1] + 1)
    present = set(zip(df["iso3"], df["year"].astype(int), df["indicator"], strict=True))
    for iso3 in markets["iso3"]:
        for name in CORE_INDICATORS:
            for year in years:
                if (iso3, year, name) not in present:
                    raise SimInputError(
                        path, f"missing core indicator {name} for {iso3} in {year}", field="value"
                    )
    return df.reset_index(drop=True)


def load_barriers(path: Path | None = None, markets: pd.DataFrame | None = None) -> pd.DataFrame:
    """Load the dated China-specific barrier events."""
    path = Path(path) if path is not None else packaged_path("barriers")
    markets = load_markets() if markets is None else markets
    df = read_table(path, specs.BARRIER_EVENTS)
    _require_known(df, "country_iso3", markets, path, groups=tuple(COUNTRY_GROUPS))
    return df.reset_index(drop=True)


def load_finance(path: Path | None = None) -> pd.DataFrame:
    """Load the firm's yearly financial figures (the source of its deal capacity)."""
    path = Path(path) if path is not None else packaged_path("finance")
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


def load_home_policy(path: Path | None = None) -> pd.DataFrame:
    """Load the dated home-country outbound-regime events (easing +1, tightening -1)."""
    path = Path(path) if path is not None else packaged_path("home_policy")
    return read_table(path, specs.HOME_POLICY)


@dataclass(frozen=True)
class Dataset:
    """All validated inputs of a run, loaded together so cross-file checks hold."""

    events: pd.DataFrame
    markets: pd.DataFrame
    indicators: pd.DataFrame
    barriers: pd.DataFrame
    finance: pd.DataFrame
    home_policy: pd.DataFrame | None = None


def load_dataset(paths: DataPaths | None = None) -> Dataset:
    """Load and cross-check every data file (markets first: the others refer to it)."""
    paths = paths or DataPaths()
    markets = load_markets(paths.resolve("markets"))
    return Dataset(
        events=load_events(paths.resolve("events"), markets),
        markets=markets,
        indicators=load_indicators(paths.resolve("indicators"), markets),
        barriers=load_barriers(paths.resolve("barriers"), markets),
        finance=load_finance(paths.resolve("finance")),
        home_policy=load_home_policy(paths.resolve("home_policy")),
    )
