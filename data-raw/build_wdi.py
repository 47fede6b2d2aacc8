"""Turn the verbatim WDI extracts in data-raw/sources/wdi_raw/ into data-raw/sources/wdi.csv.

Each file in ``wdi_raw/`` holds, under the source file's own header, the lines of our countries
(the markets in ``country_list.csv`` plus China and Hong Kong, see ``EXTRA_COUNTRIES``) copied
verbatim from a public copy of World Bank WDI data (repository, path and commit in SOURCES). Values
are kept as the exact strings found there; an empty cell is a gap (no row). Years 2010-2022: the
wide files carry 2022 where the release has it; the population extract carries 2022 for every
country (the markets' 2022 lines were copied later, from the same snapshot, to anchor the WEO
splice in ``build_indicators.py``); the growth extract carries 2022 only for China and Hong Kong.
Run from the repository root:
``python data-raw/build_wdi.py`` (then ``build_indicators.py`` and ``build_countries.py``).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data-raw" / "sources" / "wdi_raw"
YEARS = range(2010, 2023)
#: Countries that are not markets of the reference firm but get indicator rows: China is the
#: reference firm's home (a market for firms from elsewhere), Hong Kong its nearest offshore hub.
EXTRA_COUNTRIES = ("CHN", "HKG")
WDI_SNAPSHOT = "datasets/world-development-indicators"
SOURCES = {
    "NY.GDP.PCAP.CD": {
        "fmt": "wide",
        "file": "jaimevalero/world-development-indicators/"
        "files/API_NY.GDP.PCAP.CD_DS2_en_csv_v2_5728786.csv@a5f6460843be64f6c3139c2a195233f10723a322",
        "vintage": "WDI bulk file API_NY.GDP.PCAP.CD_DS2_en_csv_v2_5728786 (data through 2022)",
    },
    "NY.GDP.MKTP.KD.ZG": {
        "fmt": "long",
        "file": f"{WDI_SNAPSHOT}/indicators/ny.gdp.mktp.kd.zg/data.csv"
        "@4ebec5a2273f531ba238a34dbe440394dc5a6c4b",
        "vintage": f"WDI snapshot {WDI_SNAPSHOT}@4ebec5a (data through 2025)",
    },
    "SP.POP.TOTL": {
        "fmt": "long",
        "file": f"{WDI_SNAPSHOT}/indicators/sp.pop.totl/data.csv"
        "@4ebec5a2273f531ba238a34dbe440394dc5a6c4b",
        "vintage": f"WDI snapshot {WDI_SNAPSHOT}@4ebec5a (data through 2025)",
    },
    "IT.NET.USER.ZS": {
        "fmt": "wide",
        "file": "celeste-daleo/global-internet-accessibility/"
        "individuals_using_the_Internet_percentage_of_population.csv"
        "@1a206417d54ebce64b9a77ea3d8f15ebbfe4cb56",
        "vintage": "WDI, Last Updated 2022-12-22",
    },
}


def read_wide(path: Path) -> dict[tuple[str, int], str]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    start = next(i for i, r in enumerate(rows) if r and r[0] == "Country Name")
    header = rows[start]
    out = {}
    for r in rows[start + 1 :]:
        if len(r) < 5:
            continue
        for j, h in enumerate(header):
            if h.isdigit() and j < len(r):
                out[(r[1], int(h))] = r[j].strip()
    return out


def read_long(path: Path) -> dict[tuple[str, int], str]:
    with path.open(newline="", encoding="utf-8") as f:
        return {(r["Country Code"], int(r["Year"])): r["Value"].strip() for r in csv.DictReader(f)}


def main() -> None:
    markets = pd.read_csv(ROOT / "data-raw" / "country_list.csv")["iso3"].tolist()
    markets = list(dict.fromkeys([*markets, *EXTRA_COUNTRIES]))
    rows, gaps = [], []
    for code, spec in SOURCES.items():
        reader = read_wide if spec["fmt"] == "wide" else read_long
        values = reader(RAW / f"{code}.csv")
        for iso3 in markets:
            for year in YEARS:
                value = values.get((iso3, year), "")
                if value == "":
                    gaps.append((iso3, year, code))
                    continue
                rows.append(
                    {
                        "iso3": iso3,
                        "year": year,
                        "indicator": code,
                        "value": value,
                        "source": f"World Bank WDI via github:{spec['file']}",
                        "vintage": spec["vintage"],
                    }
                )
    pd.DataFrame(rows).to_csv(ROOT / "data-raw" / "sources" / "wdi.csv", index=False)
    print(f"{len(rows)} values, {len(gaps)} gaps:")
    for gap in gaps:
        print("  ", *gap)


if __name__ == "__main__":
    main()
