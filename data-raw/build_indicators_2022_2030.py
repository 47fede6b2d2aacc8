"""Build sim/data/market_indicators_2022_2030.csv: indicators after the record, with their method.

Run from the repository root: ``python data-raw/build_indicators_2022_2030.py``. Same long format
as ``market_indicators.csv`` (``iso3, indicator, year, value, method, source, vintage``), years
2022-2030, for the markets in ``sim/data/markets.csv``. Inputs:

- ``data-raw/inputs/weo_oct2023_extract.csv``: IMF World Economic Outlook, October 2023, values
  transcribed from the public copy named in ``WEO_SOURCE`` (see ``data-raw/inputs/README.md``).
  Gives ``gdp_growth_pct`` (NGDP_RPCH), ``gdp_pc_usd`` (NGDPDPC) and ``population`` (LP, millions,
  written here in persons) for the markets that were read.
- ``sim/data/market_indicators.csv``: the last *observed* internet-use value of each market, because
  no official projection of internet use exists.

Methods, so a reader never mistakes a fill for data:

- ``estimate``: a WEO value for 2022. The October 2023 WEO treats 2022 as history for most
  economies, but for some it is still an IMF staff estimate; the reshaped copy dropped the
  "Estimates Start After" column, so the two cannot be told apart.
- ``projection``: a WEO value for 2023-2028 (after the vintage's last full year of data).
- ``carried_forward``: 2029-2030 for the WEO indicators (the October 2023 WEO ends in 2028), and
  every year of ``internet_users_pct`` (last observed WDI value). The row's source and vintage are
  those of the value carried.

Markets and years with no input get no row (a gap, listed by the script).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
YEARS = list(range(2022, 2031))
WEO_LAST_YEAR = 2028
WEO_SOURCE = (
    "IMF WEO via github:gjm826f8/NUS-CS5346-Group-8-Project/WEOOct2023all.csv"
    "@e9ee32893aac938c3623a92134413f87eae7af75"
)
WEO_VINTAGE = "IMF WEO October 2023"
WEO_SERIES = {"NGDP_RPCH": "gdp_growth_pct", "NGDPDPC": "gdp_pc_usd", "LP": "population"}
COLUMNS = ["iso3", "indicator", "year", "value", "method", "source", "vintage"]


def weo_rows(extract: pd.DataFrame, markets: list[str]) -> list[dict[str, object]]:
    """WEO values as rows, each year's method set, 2029-2030 carried forward from 2028."""
    rows: list[dict[str, object]] = []
    for (iso3, code), part in extract.melt(
        id_vars=["iso3", "year"], value_vars=list(WEO_SERIES), var_name="code"
    ).groupby(["iso3", "code"]):
        if iso3 not in markets:
            continue
        part = part.dropna(subset=["value"]).set_index("year")["value"].sort_index()
        for year, value in part.items():
            if code == "LP":
                value = round(float(value) * 1_000_000)
            rows.append(
                {
                    "iso3": iso3,
                    "indicator": WEO_SERIES[code],
                    "year": int(year),
                    "value": value,
                    "method": "estimate" if year == 2022 else "projection",
                    "source": WEO_SOURCE,
                    "vintage": WEO_VINTAGE,
                }
            )
        if WEO_LAST_YEAR in part.index:
            last = rows[-1]["value"]
            for year in range(WEO_LAST_YEAR + 1, YEARS[-1] + 1):
                rows.append(
                    {
                        "iso3": iso3,
                        "indicator": WEO_SERIES[code],
                        "year": year,
                        "value": last,
                        "method": "carried_forward",
                        "source": WEO_SOURCE,
                        "vintage": WEO_VINTAGE + f" (value of {WEO_LAST_YEAR})",
                    }
                )
    return rows


def internet_rows(indicators: pd.DataFrame, markets: list[str]) -> list[dict[str, object]]:
    """The last observed internet-use value of each market, carried over 2022-2030."""
    obs = indicators[
        (indicators["indicator"] == "internet_users_pct") & (indicators["method"] == "observed")
    ]
    last = obs.sort_values("year").groupby("iso3").tail(1).set_index("iso3")
    rows: list[dict[str, object]] = []
    for iso3 in markets:
        if iso3 not in last.index:
            continue
        ref = last.loc[iso3]
        for year in YEARS:
            rows.append(
                {
                    "iso3": iso3,
                    "indicator": "internet_users_pct",
                    "year": year,
                    "value": ref["value"],
                    "method": "carried_forward",
                    "source": ref["source"],
                    "vintage": f"{ref['vintage']} (value of {int(ref['year'])})",
                }
            )
    return rows


def main() -> int:
    """Write the file and print coverage per indicator and method, then the gaps."""
    markets = pd.read_csv(ROOT / "sim" / "data" / "markets.csv")["iso3"].tolist()
    extract_path = ROOT / "data-raw" / "inputs" / "weo_oct2023_extract.csv"
    extract = pd.read_csv(extract_path)
    missing = {"iso3", "year", *WEO_SERIES} - set(extract.columns)
    if missing:
        print(f"{extract_path}: missing column(s) {sorted(missing)}", file=sys.stderr)
        return 2
    indicators = pd.read_csv(ROOT / "sim" / "data" / "market_indicators.csv")
    out = pd.DataFrame(
        weo_rows(extract, markets) + internet_rows(indicators, markets), columns=COLUMNS
    )
    out = out.sort_values(["iso3", "indicator", "year"]).reset_index(drop=True)
    out.to_csv(ROOT / "sim" / "data" / "market_indicators_2022_2030.csv", index=False)
    counts = out.groupby(["indicator", "method"]).size().unstack(fill_value=0)
    print(f"{len(out)} rows\n{counts.to_string()}")
    have = out.groupby("indicator")["iso3"].nunique()
    print("markets per indicator:\n" + have.to_string())
    for name in [*WEO_SERIES.values(), "internet_users_pct"]:
        got = out[out["indicator"] == name]
        gaps = [m for m in markets if m not in set(got["iso3"])]
        partial = sorted(
            m for m, n in got.groupby("iso3").size().items() if n < len(YEARS)
        )
        print(f"{name}: no rows for {len(gaps)} markets; partial years: {partial}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
