"""The 2010-2030 indicator file: complete for 59 countries, sourced, and unchanged where it existed.

Reads ``sim/data/market_indicators.csv`` directly with pandas: the file covers every country of
``countries.csv`` (so a firm from any listed home country finds its markets' data), not only one
firm's markets.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from sim.data.taxonomy import CORE_INDICATORS, INDICATOR_METHODS, INDICATORS

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "sim" / "data"
YEARS = range(2010, 2031)
EXTRA = ("CHN", "HKG")


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    """The shipped indicator file."""
    return pd.read_csv(DATA / "market_indicators.csv")


@pytest.fixture(scope="module")
def countries() -> list[str]:
    """Every country of the country table (57 markets of the reference firm, China, Hong Kong)."""
    return list(pd.read_csv(DATA / "countries.csv")["iso3"])


def test_every_country_has_every_core_indicator_every_year(table, countries):
    assert len(countries) == 59
    have = set(zip(table["iso3"], table["indicator"], table["year"], strict=True))
    missing = [
        (c, name, y)
        for c in countries
        for name in CORE_INDICATORS
        for y in YEARS
        if (c, name, y) not in have
    ]
    assert missing == []
    assert set(table["iso3"]) == set(countries)
    assert table["year"].between(2010, 2030).all()


def test_rows_are_unique_sorted_and_use_the_method_vocabulary(table):
    assert not table.duplicated(["iso3", "indicator", "year"]).any()
    ordered = table.sort_values(["iso3", "indicator", "year"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(table, ordered)
    assert set(table["method"]) <= set(INDICATOR_METHODS)
    assert table["source"].str.len().gt(0).all()
    assert table["vintage"].str.len().gt(0).all()


def test_after_2022_only_projections_or_carried_values(table):
    late = table[table["year"] >= 2023]
    assert set(late["method"]) <= {"projection", "carried_forward"}
    assert (late["method"] == "projection").sum() > 0


def test_weo_values_before_the_release_year_are_estimates_not_projections(table):
    weo = table[table["source"].str.startswith("IMF WEO")]
    assert set(weo.loc[weo["year"] < 2023, "method"]) == {"estimate"}
    assert set(weo.loc[weo["year"] >= 2023, "method"]) <= {"projection", "carried_forward"}
    estimates = table[table["method"] == "estimate"]
    assert set(estimates["year"]) == {2022}
    # Growth of the 57 markets; the WDI growth lines copied for 2022 are China's and Hong Kong's.
    assert estimates.groupby("indicator").size().to_dict() == {"gdp_growth_pct": 57}


def test_every_projection_names_a_weo_release_and_its_copy(table):
    proj = table[table["method"].isin(["estimate", "projection"])]
    assert proj["vintage"].str.startswith("IMF WEO October 2023").all()
    assert proj["source"].str.contains(r"github:\S+@[0-9a-f]{40}").all()
    assert set(proj["indicator"]) <= {"gdp_pc_usd", "gdp_growth_pct", "population"}


def test_every_row_names_the_year_its_value_comes_from(table):
    own = table["method"].isin(["observed", "estimate", "projection"])
    assert (table.loc[own, "source_year"] == table.loc[own, "year"]).all()
    forward = table[table["method"] == "carried_forward"]
    backward = table[table["method"] == "carried_backward"]
    assert (forward["source_year"] < forward["year"]).all()
    assert (backward["source_year"] > backward["year"]).all()
    # Every filled value equals the value of the row its source year names.
    lookup = table.set_index(["iso3", "indicator", "year"])["value"]
    filled = pd.concat([forward, backward])
    keys = zip(filled["iso3"], filled["indicator"], filled["source_year"], strict=True)
    assert (lookup.loc[list(keys)].to_numpy() == filled["value"].to_numpy()).all()
    record = filled[filled["year"] <= 2021]
    assert (len(record), (record["method"] == "carried_forward").sum()) == (381, 145)


def weo_inputs() -> pd.DataFrame:
    """LP and NGDPDPC of the verbatim WEO rows (one row per country and year)."""
    path = ROOT / "data-raw" / "inputs" / "weo_oct2023_rows.csv"
    rows = pd.read_csv(path, header=None, skiprows=1)
    rows = rows[[0, 1, 12, 29]].set_axis(["year", "country", "gdp_pc_usd", "population"], axis=1)
    return rows.replace("n/a", float("nan"))


def test_levels_after_wdi_follow_weo_growth_without_a_step(table):
    values = table.set_index(["iso3", "indicator", "year"])["value"]
    methods = table.set_index(["iso3", "indicator", "year"])["method"]
    # 2022 population is WDI for every country, so WDI meets WDI at 2021/2022: before the
    # splice WEO's level replaced WDI's there (Ethiopia -14.8 %, Qatar +13.0 %).
    assert (methods.xs(("population", 2022), level=("indicator", "year")) == "observed").all()
    pop = values.xs("population", level="indicator").unstack()
    assert 0 < pop.loc["ETH", 2022] / pop.loc["ETH", 2021] - 1 < 0.03
    # From 2023 every level grows exactly as WEO's own series does (Germany, Ethiopia).
    weo = weo_inputs()
    for iso3, country in (("DEU", "Germany"), ("ETH", "Ethiopia")):
        own = weo[weo["country"] == country].set_index("year")
        for name, digits in (("population", 0), ("gdp_pc_usd", 2)):
            series = values.xs((iso3, name), level=("iso3", "indicator"))
            ours = series.loc[2023:2028].to_numpy() / series.loc[2022:2027].to_numpy()
            theirs = own[name].astype(float)
            theirs = theirs.loc[2023:2028].to_numpy() / theirs.loc[2022:2027].to_numpy()
            assert abs(ours - theirs).max() < 1e-6 + 10.0**-digits / series.min()


def test_carried_rows_repeat_the_value_they_name(table):
    carried = table[(table["method"] == "carried_forward") & (table["year"] >= 2022)]
    ref_year = carried["vintage"].str.extract(r"\(value of (\d{4})\)$")[0]
    assert ref_year.notna().all()
    lookup = table.set_index(["iso3", "indicator", "year"])["value"]
    keys = zip(carried["iso3"], carried["indicator"], ref_year.astype(int), strict=True)
    refs = lookup.loc[list(keys)]
    assert (refs.to_numpy() == carried["value"].to_numpy()).all()


def test_values_lie_in_the_plausible_ranges(table):
    for name, (lo, hi) in INDICATORS.items():
        values = table.loc[table["indicator"] == name, "value"]
        assert values.between(lo, hi).all(), name


#: The last commit whose indicator file held only the record years (2010-2021, 57 markets).
BEFORE_EXTENSION = "e3233e2"


def test_record_rows_of_the_markets_are_unchanged_by_the_extension(table):
    git = shutil.which("git")
    if git is None:
        pytest.skip("git not available")
    shown = subprocess.run(
        [git, "show", f"{BEFORE_EXTENSION}:sim/data/market_indicators.csv"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if shown.returncode != 0:
        pytest.skip(f"commit {BEFORE_EXTENSION} not in this clone")
    before = shown.stdout.splitlines()
    old = pd.read_csv(io.StringIO(shown.stdout))
    old_markets = set(old["iso3"])
    # The source_year column was added after that commit: compare every other field.
    now = [
        line.rsplit(",", 1)[0]
        for line in (DATA / "market_indicators.csv").read_text(encoding="utf-8").splitlines()
    ]
    kept = [
        line
        for line in now[1:]
        if line.split(",")[0] in old_markets and int(line.split(",")[2]) <= 2021
    ]
    assert now[0] == before[0]
    assert kept == before[1:]
