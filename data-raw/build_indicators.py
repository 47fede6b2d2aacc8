"""Build sim/data/market_indicators.csv (long format) from the sourced tables in data-raw/sources/.

Run from the repository root: ``python data-raw/build_indicators.py``. Inputs:

- ``sources/wdi.csv``: World Bank WDI values (iso3, year, indicator code, value, source, vintage),
  copied from the public WDI file named in each row's ``source``.
- ``sources/doing_business.csv``: World Bank Doing Business DB score / rank by edition.
- ``sources/unctad_b2c.csv``: UNCTAD B2C E-commerce Index ranks by edition (as reported in news).

Fill rule, applied to the WDI indicators and the Doing Business rank only (every filled row says
so in ``method``): within a market's observed span a missing year is linearly interpolated; before
the first observation the first value is carried backward, after the last the last value is carried
forward. A market with no observation of an indicator gets no rows (a documented gap).
Doing Business values are placed at the year their data refer to (an edition DBnnnn measures year
nnnn-1), not the edition's name. The sparse DB2020 scores and UNCTAD ranks are
kept as observed only (no fill). UNCTAD ranks sit at the edition's year.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "data-raw" / "sources"
YEARS = list(range(2010, 2022))
WDI_NAMES = {
    "NY.GDP.PCAP.CD": "gdp_pc_usd",
    "NY.GDP.MKTP.KD.ZG": "gdp_growth_pct",
    "SP.POP.TOTL": "population",
    "IT.NET.USER.ZS": "internet_users_pct",
}


def filled(obs: pd.DataFrame) -> pd.DataFrame:
    """Complete one market's one-indicator series over YEARS by the documented fill rule."""
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
            }
        )
    return pd.DataFrame(rows)


FILLED = {*WDI_NAMES.values(), "db_rank"}


def complete(long: pd.DataFrame, markets: list[str]) -> pd.DataFrame:
    parts = []
    for (iso3, name), obs in long[long["iso3"].isin(markets)].groupby(["iso3", "indicator"]):
        obs = obs[["year", "value", "source", "vintage"]]
        if name in FILLED:
            part = filled(obs)
        else:
            part = obs[obs["year"].isin(YEARS)].assign(method="observed")
        part.insert(0, "indicator", name)
        part.insert(0, "iso3", iso3)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def main() -> None:
    markets = pd.read_csv(ROOT / "data-raw" / "market_list.csv")["iso3"].tolist()
    wdi = pd.read_csv(SRC / "wdi.csv")
    wdi["indicator"] = wdi["indicator"].map(WDI_NAMES)
    wdi = wdi[wdi["year"].isin(YEARS)]

    db = pd.read_csv(SRC / "doing_business.csv")
    edition_year = db["edition"].str.removeprefix("DB").astype(int)
    db = db.assign(
        indicator=db["measure"].map({"score": "db_score", "rank": "db_rank"}),
        year=edition_year - 1,
        vintage="World Bank Doing Business " + db["edition"],
    )
    frames = [wdi, db[["iso3", "year", "indicator", "value", "source", "vintage"]]]
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
    out = complete(long, markets)
    out = out.sort_values(["iso3", "indicator", "year"])
    out.to_csv(ROOT / "sim" / "data" / "market_indicators.csv", index=False)
    counts = out.groupby(["indicator", "method"]).size().unstack(fill_value=0)
    print(counts.to_string())
    have = out.groupby("indicator")["iso3"].nunique()
    print("markets with each indicator:\n" + have.to_string())


if __name__ == "__main__":
    main()
