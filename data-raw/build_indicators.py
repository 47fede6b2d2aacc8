"""Build sim/data/market_indicators.csv (long format, 2010-2030) from the sourced inputs.

Run from the repository root: ``python data-raw/build_indicators.py`` (after ``build_wdi.py``).
The output is deterministic: rows sorted by ``iso3, indicator, year``.

Countries: the markets in ``data-raw/country_list.csv`` plus China and Hong Kong
(``EXTRA_COUNTRIES`` of ``build_wdi.py``), so that a firm from another home country can count them
as markets.

Inputs:

- ``sources/wdi.csv``: World Bank WDI values (iso3, year, indicator code, value, source, vintage),
  copied from the public WDI file named in each row's ``source`` (years 2010-2022).
- ``sources/doing_business.csv``: World Bank Doing Business DB score / rank by edition.
- ``sources/unctad_b2c.csv``: UNCTAD B2C E-commerce Index ranks by edition (as reported in news).
- ``inputs/weo_oct2023_rows.csv``: rows of the IMF World Economic Outlook, October 2023, copied
  verbatim from the public reshaped copy named in ``WEO_SOURCE`` (one row per country and year,
  2022-2028); ``inputs/weo_oct2023_extract.csv``: earlier value-by-value transcriptions from the
  same copy for countries whose rows were not copied again (checked against the rows where both
  exist).

Record years 2010-2021 (unchanged rule). Fill rule, applied to the WDI indicators and the Doing
Business rank only (every filled row says so in ``method``): within a country's observed span a
missing year is linearly interpolated; before the first observation the first value is carried
backward, after the last the last value is carried forward. Doing Business values sit at the year
their data refer to (edition DBnnnn measures year nnnn-1). DB2020 scores and UNCTAD ranks are kept
as observed only (no fill). These rows are computed from inputs up to 2021 only, so adding later
data never changes them.

Years 2022-2030, the four core indicators and the Doing Business rank, for every country:

- ``observed``: a WDI value (2022 GDP per capita and population for every country; 2022 growth
  for China and Hong Kong only, the only countries whose 2022 growth lines were copied).
- ``estimate`` (2022) and ``projection`` (2023-2028): a value from the WEO October 2023 release
  (``NGDPDPC`` current US$, ``NGDP_RPCH`` %, ``LP`` millions written in persons). WEO's own
  convention: years before the release year (2023) are history or staff estimates, later years
  projections; the copy read dropped the per-country "Estimates Start After" column, so a 2022
  value is labelled ``estimate`` whether IMF history or a staff estimate.
  Growth is a rate and taken as published. **Levels are spliced** (one level per series):
  GDP per capita and population keep the last WDI level and take only WEO's growth,
  ``level_t = WDI_level_Y * WEO_t / WEO_Y`` with Y the last WDI year (2022 for both), so the
  WDI-to-WEO switch makes no step. GDP per capita is rounded to 0.01 US$, population to one
  person.
- ``carried_forward``: the last available value carried flat; the vintage says which year's value
  (``(value of YYYY)``). Used for 2029-2030 of the WEO series (the release ends in 2028), for every
  year of internet use (no official projection exists) and of the Doing Business rank (the series
  ended with DB2020), and for any country or series with no WEO value (a listed gap).

Every row names in ``source_year`` the year of the value it holds: its own year for observed,
estimate and projection rows, the year of the carried value for carried rows (and the earlier
neighbour for an interpolated one).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "data-raw" / "sources"
INPUTS = ROOT / "data-raw" / "inputs"
sys.path.insert(0, str(ROOT / "data-raw"))
from build_wdi import EXTRA_COUNTRIES  # noqa: E402

YEARS = list(range(2010, 2022))
FUTURE = list(range(2022, 2031))
WDI_NAMES = {
    "NY.GDP.PCAP.CD": "gdp_pc_usd",
    "NY.GDP.MKTP.KD.ZG": "gdp_growth_pct",
    "SP.POP.TOTL": "population",
    "IT.NET.USER.ZS": "internet_users_pct",
}
WEO_SOURCE = (
    "IMF WEO via github:gjm826f8/NUS-CS5346-Group-8-Project/WEOOct2023all.csv"
    "@e9ee32893aac938c3623a92134413f87eae7af75"
)
WEO_VINTAGE = "IMF WEO October 2023"
WEO_LAST_YEAR = 2028
#: Years before the release year are IMF history or staff estimates, not projections.
WEO_RELEASE_YEAR = 2023
#: Column positions (0-based) in a row of the reshaped WEO copy: the second "GDP, constant prices"
#: column is NGDP_RPCH (percent change), the second "GDP per capita, current prices" column is
#: NGDPDPC (U.S. dollars), "Population" is LP (millions).
WEO_COLUMNS = {"gdp_growth_pct": 4, "gdp_pc_usd": 12, "population": 29}
WEO_EXTRACT_CODES = {"gdp_growth_pct": "NGDP_RPCH", "gdp_pc_usd": "NGDPDPC", "population": "LP"}
#: Country names as spelled in the WEO copy, for the countries we read.
WEO_NAMES = {
    "Argentina": "ARG",
    "Australia": "AUS",
    "Austria": "AUT",
    "Bangladesh": "BGD",
    "Belgium": "BEL",
    "Brazil": "BRA",
    "Cambodia": "KHM",
    "Canada": "CAN",
    "Chile": "CHL",
    "China": "CHN",
    "Colombia": "COL",
    "Czech Republic": "CZE",
    "Denmark": "DNK",
    "Egypt": "EGY",
    "Ethiopia": "ETH",
    "Finland": "FIN",
    "France": "FRA",
    "Germany": "DEU",
    "Ghana": "GHA",
    "Hong Kong SAR": "HKG",
    "Ireland": "IRL",
    "Israel": "ISR",
    "Italy": "ITA",
    "Japan": "JPN",
    "Kazakhstan": "KAZ",
    "Korea": "KOR",
    "Luxembourg": "LUX",
    "Malaysia": "MYS",
    "Mexico": "MEX",
    "Morocco": "MAR",
    "Myanmar": "MMR",
    "Nepal": "NPL",
    "Netherlands": "NLD",
    "New Zealand": "NZL",
    "Nigeria": "NGA",
    "Norway": "NOR",
    "Pakistan": "PAK",
    "Peru": "PER",
    "Philippines": "PHL",
    "Poland": "POL",
    "Qatar": "QAT",
    "Russia": "RUS",
    "Rwanda": "RWA",
    "Saudi Arabia": "SAU",
    "Singapore": "SGP",
    "South Africa": "ZAF",
    "Spain": "ESP",
    "Sri Lanka": "LKA",
    "Sweden": "SWE",
    "Switzerland": "CHE",
    "Thailand": "THA",
    "Türkiye": "TUR",
    "United Arab Emirates": "ARE",
    "Vietnam": "VNM",
}
CORE = ("gdp_pc_usd", "gdp_growth_pct", "population", "internet_users_pct")
COLUMNS = ["iso3", "indicator", "year", "value", "method", "source", "vintage", "source_year"]


def filled(obs: pd.DataFrame) -> pd.DataFrame:
    """Complete one country's one-indicator series over YEARS by the documented fill rule."""
    obs = obs.drop_duplicates("year").set_index("year").sort_index()
    if obs.empty:
        return obs.reset_index()
    first, last = obs.index.min(), obs.index.max()
    rows = []
    series = obs["value"].reindex(range(min(first, YEARS[0]), max(last, YEARS[-1]) + 1))
    inner = series.loc[first:last].interpolate(method="linear")
    for year in YEARS:
        if year in obs.index:
            rows.append(
                {
                    "year": year,
                    "value": obs.loc[year, "value"],
                    "method": "observed",
                    "source": obs.loc[year, "source"],
                    "vintage": obs.loc[year, "vintage"],
                    "source_year": year,
                }
            )
            continue
        if year < first:
            value, method, ref = obs.loc[first, "value"], "carried_backward", first
        elif year > last:
            value, method, ref = obs.loc[last, "value"], "carried_forward", last
        else:
            value, method = round(float(inner.loc[year]), 4), "interpolated"
            ref = obs.index[obs.index < year].max()
        rows.append(
            {
                "year": year,
                "value": value,
                "method": method,
                "source": obs.loc[ref, "source"],
                "vintage": obs.loc[ref, "vintage"],
                "source_year": ref,
            }
        )
    return pd.DataFrame(rows)


FILLED = {*WDI_NAMES.values(), "db_rank"}


def complete(long: pd.DataFrame, countries: list[str]) -> pd.DataFrame:
    """The 2010-2021 rows: observed values and the documented fills, per country and indicator."""
    parts = []
    for (iso3, name), obs in long[long["iso3"].isin(countries)].groupby(["iso3", "indicator"]):
        obs = obs[["year", "value", "source", "vintage"]]
        if name in FILLED:
            part = filled(obs)
        else:
            part = obs[obs["year"].isin(YEARS)].assign(method="observed")
            part = part.assign(source_year=part["year"])
        part.insert(0, "indicator", name)
        part.insert(0, "iso3", iso3)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def read_weo() -> pd.DataFrame:
    """WEO October 2023 values (iso3, indicator, year, value) from the verbatim rows and extract.

    Raises SystemExit(2) naming the file when a row is malformed or the two inputs disagree.
    """
    path = INPUTS / "weo_oct2023_rows.csv"
    out: dict[tuple[str, str, int], float] = {}
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        if header[:3] != ["year", "country", "country_code"] or len(header) != 47:
            sys.exit(f"{path}: unexpected header (field: header)")
        for row in reader:
            if len(row) != len(header) or row[1] not in WEO_NAMES:
                sys.exit(f"{path}: bad row {row[:3]} (field: country)")
            iso3, year = WEO_NAMES[row[1]], int(row[0])
            for name, col in WEO_COLUMNS.items():
                if row[col] in ("", "n/a", "--"):
                    continue
                value = float(row[col])
                out[(iso3, name, year)] = round(value * 1e6) if name == "population" else value
    extract_path = INPUTS / "weo_oct2023_extract.csv"
    extract = pd.read_csv(extract_path)
    for rec in extract.itertuples(index=False):
        for name, code in WEO_EXTRACT_CODES.items():
            value = getattr(rec, code)
            if pd.isna(value):
                continue
            value = round(float(value) * 1e6) if name == "population" else float(value)
            key = (rec.iso3, name, int(rec.year))
            if key in out and out[key] != value:
                sys.exit(f"{extract_path}: {key} is {value}, the verbatim row says {out[key]}")
            out[key] = value
    return pd.DataFrame(
        [(k[0], k[1], k[2], v) for k, v in out.items()],
        columns=["iso3", "indicator", "year", "value"],
    )


def row(
    iso3: str,
    name: str,
    year: int,
    value: object,
    method: str,
    source: object,
    vintage: str,
    source_year: int,
) -> dict[str, object]:
    """One output row; ``source_year`` is the year of the value the row repeats or rests on."""
    return {
        "iso3": iso3,
        "indicator": name,
        "year": year,
        "value": value,
        "method": method,
        "source": source,
        "vintage": vintage,
        "source_year": source_year,
    }


#: Series whose WEO values are levels: spliced onto the last WDI level (module docstring).
LEVELS = {"gdp_pc_usd": 2, "population": 0}


def weo_row(
    iso3: str, name: str, year: int, proj: dict[tuple[str, str, int], float], anchor: dict[str, Any]
) -> dict[str, object] | None:
    """The WEO-based row for ``year``, or ``None`` when the release has no usable value.

    A rate is taken as published. A level is the anchor (the last WDI level) times WEO's own
    growth since the anchor year, so the series keeps the WDI level and takes only WEO's growth:
    switching source then makes no step. Without a WEO value for the anchor year there is no
    growth to apply, and the caller carries the last value instead.
    """
    if (iso3, name, year) not in proj:
        return None
    method = "estimate" if year < WEO_RELEASE_YEAR else "projection"
    if name not in LEVELS:
        value = proj[(iso3, name, year)]
        return row(iso3, name, year, value, method, WEO_SOURCE, WEO_VINTAGE, year)
    base = anchor["year"]
    if (iso3, name, base) not in proj:
        return None
    level = anchor["value"] * proj[(iso3, name, year)] / proj[(iso3, name, base)]
    value = round(level, LEVELS[name] or None)  # population: whole persons
    source = f"{WEO_SOURCE} (growth) on {anchor['source']} (level)"
    how = f"{WEO_VINTAGE}, growth since {base} on the WDI {base} level"
    return row(iso3, name, year, value, method, source, how, year)


def extend(
    hist: pd.DataFrame, wdi: pd.DataFrame, weo: pd.DataFrame, countries: list[str]
) -> pd.DataFrame:
    """The 2022-2030 rows of the core indicators and the Doing Business rank (module docstring)."""
    obs = {(r.iso3, r.indicator, int(r.year)): r for r in wdi.itertuples(index=False)}
    proj = {(r.iso3, r.indicator, int(r.year)): r.value for r in weo.itertuples(index=False)}
    rows: list[dict[str, object]] = []
    for iso3 in countries:
        for name in (*CORE, "db_rank"):
            own = hist[(hist["iso3"] == iso3) & (hist["indicator"] == name)]
            if own.empty:
                continue
            last = own[own["method"] == "observed"].sort_values("year").iloc[-1]
            year0 = int(last["year"])
            anchor = {"value": float(last["value"]), "year": year0, "source": last["source"]}
            prev = row(
                iso3, name, year0, last["value"], "observed", last["source"], last["vintage"], year0
            )
            for year in FUTURE:
                if (iso3, name, year) in obs:
                    r = obs[(iso3, name, year)]
                    new = row(iso3, name, year, r.value, "observed", r.source, r.vintage, year)
                    anchor = {"value": float(r.value), "year": year, "source": r.source}
                else:
                    new = weo_row(iso3, name, year, proj, anchor)
                if new is None:
                    new = {
                        **prev,
                        "year": year,
                        "method": "carried_forward",
                        "vintage": f"{prev['vintage']} (value of {prev['year']})",
                    }
                else:
                    prev = new
                rows.append(new)
    return pd.DataFrame(rows, columns=COLUMNS)


def main() -> None:
    """Write the file and print counts by method and the carried (not projected) series."""
    markets = pd.read_csv(ROOT / "data-raw" / "country_list.csv")["iso3"].tolist()
    countries = list(dict.fromkeys([*markets, *EXTRA_COUNTRIES]))
    wdi = pd.read_csv(SRC / "wdi.csv")
    wdi["indicator"] = wdi["indicator"].map(WDI_NAMES)
    wdi_hist = wdi[wdi["year"].isin(YEARS)]
    wdi_future = wdi[wdi["year"].isin(FUTURE)]

    db = pd.read_csv(SRC / "doing_business.csv")
    edition_year = db["edition"].str.removeprefix("DB").astype(int)
    db = db.assign(
        indicator=db["measure"].map({"score": "db_score", "rank": "db_rank"}),
        year=edition_year - 1,
        vintage="World Bank Doing Business " + db["edition"],
    )
    frames = [wdi_hist, db[["iso3", "year", "indicator", "value", "source", "vintage"]]]
    b2c_path = SRC / "unctad_b2c.csv"
    if b2c_path.exists():
        b2c = pd.read_csv(b2c_path)
        b2c = b2c[b2c["measure"] == "rank"]
        b2c = b2c.assign(
            indicator="unctad_b2c_rank",
            year=b2c["edition"],
            vintage="UNCTAD B2C E-commerce Index " + b2c["edition"].astype(str),
        )
        frames.append(b2c[["iso3", "year", "indicator", "value", "source", "vintage"]])
    long = pd.concat(frames, ignore_index=True).dropna(subset=["value"])
    hist = complete(long, countries)
    future = extend(hist, wdi_future, read_weo(), countries)
    out = pd.concat([hist[COLUMNS], future], ignore_index=True)
    out = out.sort_values(["iso3", "indicator", "year"]).reset_index(drop=True)
    out.to_csv(ROOT / "sim" / "data" / "market_indicators.csv", index=False)

    print(f"{len(out)} rows, {out['iso3'].nunique()} countries")
    span = pd.cut(
        out["year"],
        [2009, 2021, 2022, 2028, 2030],
        labels=["2010-21", "2022", "2023-28", "2029-30"],
    )
    print(out.groupby([span, "method"], observed=True).size().unstack(fill_value=0).to_string())
    projected = set(future.loc[future["method"].isin(["estimate", "projection"]), "iso3"])
    print("no WEO projection (gdp_pc_usd, gdp_growth_pct, population carried forward):")
    print("  ", " ".join(c for c in countries if c not in projected) or "none")
    with_db = set(out.loc[out["indicator"] == "db_rank", "iso3"])
    print("no Doing Business rank:", " ".join(c for c in countries if c not in with_db) or "none")


if __name__ == "__main__":
    main()
