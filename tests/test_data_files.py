"""The shipped data files load, validate and hold what the data README promises."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from sim.data import load_dataset, load_indicators, load_profile
from sim.data.taxonomy import CORE_INDICATORS, DEAL_MODES, MODES
from sim.errors import SimInputError

PROFILE = load_profile()
RECORD_YEARS = PROFILE.record.years_covered
#: The years the calibration compares with (in and out of sample): WDI observes them.
FITTED_YEARS = (PROFILE.calibration.window[0], PROFILE.calibration.validation[1])


def test_shipped_data_loads_and_cross_checks():
    data = load_dataset()
    assert len(data.events) >= 90
    assert len(data.markets) >= 40
    assert set(data.events["mode"]) <= set(MODES)
    assert data.events["country_iso3"].isin(data.markets["iso3"]).all()


DATA_DIR = Path(__file__).resolve().parents[1] / "sim" / "data"


def test_data_readme_states_the_reference_record_counts_of_events_csv():
    """The README's row counts and scope table follow the file, so a search that adds rows
    cannot leave them stale (issue 18 found stale counts)."""
    readme = (DATA_DIR / "README.md").read_text(encoding="utf-8")
    events = pd.read_csv(DATA_DIR / "firms" / "alibaba" / "events.csv")
    window = events[events["year"] <= 2021]
    deals = window[window["mode"].isin(DEAL_MODES)]
    row = re.search(
        r"\| `firms/alibaba/events\.csv` \| (\d+) \| .*?period, (\d+) rows\): (\d+) deals, "
        r"(\d+) greenfield operations .*?, (\d+) exits;",
        readme,
    )
    assert row is not None
    stated = [int(n) for n in row.groups()]
    modes = window["mode"].value_counts()
    assert stated == [len(events), len(window), len(deals), modes["greenfield"], modes["exit"]]
    ant = int((deals["entity"] == "Ant Financial").sum())
    for scope, n in (
        ("`group_and_ant` (default) | all", len(deals)),
        ("`group` | all but Ant Financial", len(deals) - ant),
        ("`ant_only` | Ant Financial", ant),
    ):
        assert f"| {scope} | {n} |" in readme


def test_every_event_has_a_source_and_is_foreign():
    events = load_dataset().events
    assert events["source_url"].str.match(r"https?://").all()
    assert not events["country_iso3"].isin(PROFILE.domestic).any()
    assert events["year"].between(*RECORD_YEARS).all()


def test_every_entity_belongs_to_the_widest_scope():
    events = load_dataset().events
    assert events["entity"].isin(PROFILE.scope_entities("group_and_ant")).all()


def test_markets_cover_every_country_in_the_record_and_some_never_entered():
    data = load_dataset()
    entered = set(data.events["country_iso3"])
    never = set(data.markets["iso3"]) - entered
    assert entered <= set(data.markets["iso3"])
    assert len(never) >= 10


def test_core_indicators_complete_for_every_market_and_year():
    data = load_dataset()
    core = data.indicators[data.indicators["indicator"].isin(CORE_INDICATORS)]
    per = core.groupby(["iso3", "indicator"])["year"].nunique()
    assert (per == 2030 - 2010 + 1).all()  # the record years and the projection years
    assert len(per) == len(data.markets) * len(CORE_INDICATORS)


def test_filled_indicator_values_are_marked_and_observed_values_dominate():
    ind = load_dataset().indicators
    core = ind[ind["indicator"].isin(CORE_INDICATORS) & ind["year"].between(*FITTED_YEARS)]
    share_observed = (core["method"] == "observed").mean()
    assert share_observed > 0.9
    future = ind[ind["year"] > 2022]
    assert set(future["method"]) <= {"projection", "carried_forward"}
    assert ind["source_year"].notna().all()


@pytest.mark.parametrize(
    ("method", "shift", "must"),
    [
        ("carried_backward", -1, "a later year"),
        ("carried_forward", 0, "an earlier year"),
        ("projection", 1, "its own year"),
    ],
)
def test_a_source_year_on_the_wrong_side_is_one_clear_error(data_copy, method, shift, must):
    path = data_copy["indicators"]
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    i = int(df.index[df["method"] == method][0])
    year = int(df.loc[i, "year"])
    df.loc[i, "source_year"] = str(year + shift)
    df.to_csv(path, index=False)
    with pytest.raises(SimInputError) as err:
        load_indicators(path)
    assert str(err.value) == (
        f"{path}: line {i + 2}, field 'source_year': {year + shift} for a {method} value "
        f"of {year}; it must be {must}"
    )


def test_an_indicator_file_without_source_years_is_refused(data_copy):
    path = data_copy["indicators"]
    pd.read_csv(path).drop(columns="source_year").to_csv(path, index=False)
    with pytest.raises(SimInputError, match="field 'source_year': required column is missing"):
        load_indicators(path)


def test_distances_are_great_circle_from_beijing():
    markets = load_dataset().markets.set_index("iso3")
    # Independent check with the haversine formula on the file's own coordinates.
    import numpy as np

    lat0, lon0 = np.radians(39.9075), np.radians(116.39723)
    lat, lon = np.radians(markets["capital_lat"]), np.radians(markets["capital_lon"])
    a = np.sin((lat - lat0) / 2) ** 2 + np.cos(lat0) * np.cos(lat) * np.sin((lon - lon0) / 2) ** 2
    km = 2 * 6371.0088 * np.arcsin(np.sqrt(a))
    assert np.allclose(km, markets["distance_km"], atol=0.1)
    assert 16_000 < markets.loc["BRA", "distance_km"] < 17_500  # Brasilia, not the country centre
    assert markets.loc["KOR", "distance_km"] < markets.loc["USA", "distance_km"]


def test_development_class_follows_the_documented_rule():
    data = load_dataset()
    ind = data.indicators
    rows = ind[(ind["indicator"] == "gdp_pc_usd") & ind["year"].between(2010, 2021)]
    gdp = rows.groupby("iso3")["value"].mean()
    expected = (gdp >= 20_000).map({True: "mature", False: "emerging"})
    got = data.markets.set_index("iso3")["development"]
    pd.testing.assert_series_equal(
        got.sort_index(), expected.reindex(got.index).sort_index(), check_names=False
    )
