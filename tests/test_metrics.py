"""Record aggregates against values computed by hand on a small table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.analysis.metrics import events_per_year, hhi, record_aggregates, shares_by
from sim.analysis.published import claim_value, load_claims, published_comparison
from sim.analysis.record_summary import yearly_by_mode
from sim.data import load_profile
from sim.data.record import in_scope

# 8 events: USA x4, IND x2, SGP x1, DEU x1.
TOY = pd.DataFrame(
    {
        "year": [2013, 2014, 2015, 2015, 2015, 2016, 2018, 2018],
        "country_iso3": ["USA", "USA", "IND", "USA", "SGP", "USA", "IND", "DEU"],
        "region": [
            "north_america",
            "north_america",
            "south_asia",
            "north_america",
            "southeast_asia",
            "north_america",
            "south_asia",
            "europe",
        ],
        "continent": ["NA", "NA", "AS", "NA", "AS", "NA", "AS", "EU"],
        "mode": [
            "minority",
            "cooperation",
            "minority",
            "minority",
            "control",
            "other",
            "minority",
            "control",
        ],
        "entity": [
            "Alibaba Group",
            "Alibaba Group",
            "Ant Financial",
            "Alibaba Group",
            "Alibaba Group",
            "Ant Financial",
            "Alibaba Group",
            "Alibaba Group",
        ],
    }
)
YEARS = range(2010, 2022)


def test_events_per_year_includes_empty_years():
    per = events_per_year(TOY, YEARS)
    assert per.loc[2010] == 0
    assert per.loc[2015] == 3
    assert per.sum() == 8
    assert list(per.index) == list(YEARS)


def test_shares_and_hhi_by_hand():
    shares = shares_by(TOY, "country_iso3")
    assert shares["USA"] == pytest.approx(0.5)
    # HHI = 0.5^2 + 0.25^2 + 0.125^2 + 0.125^2 = 0.34375
    assert hhi(shares) == pytest.approx(0.34375)


def test_record_aggregates_by_hand():
    agg = record_aggregates(TOY, YEARS)
    assert agg["total_events"] == 8
    assert agg["distinct_countries"] == 4
    assert agg["peak_year"] == 2015
    assert agg["peak_year_events"] == 3
    assert agg["control_events"] == 2
    assert agg["control_share"] == pytest.approx(2 / 8)
    assert agg["equity_share"] == pytest.approx(6 / 8)
    assert agg["cooperation_share"] == pytest.approx(1 / 8)
    assert agg["top_market_share"] == pytest.approx(0.5)
    assert agg["top3_country_share"] == pytest.approx(7 / 8)


def test_claim_metrics_by_hand():
    assert claim_value(TOY, "country_share:USA", YEARS) == pytest.approx(0.5)
    # Equity since 2013: 6 events (minority 2013, IND 2015, USA 2015, SGP 2015, IND 2018, DEU 2018).
    assert claim_value(TOY, "equity_since:2013:country:USA+IND+SGP", YEARS) == pytest.approx(5 / 6)
    assert claim_value(TOY, "equity_since:2013:continent:AS", YEARS) == pytest.approx(3 / 6)
    assert claim_value(TOY, "equity_since:2013:continent:NA", YEARS) == pytest.approx(2 / 6)
    assert claim_value(TOY, "equity_since:2013:continent:EU", YEARS) == pytest.approx(1 / 6)
    assert np.isnan(claim_value(TOY, "no_such_metric", YEARS))


def test_peak_year_ties_go_to_the_earliest_year():
    tie = TOY[TOY["year"] != 2015]  # 2014, 2016: 1 each; 2018: 2; 2013: 1
    assert record_aggregates(tie, YEARS)["peak_year"] == 2018
    two = pd.concat([tie, tie[tie["year"] == 2013]])
    assert record_aggregates(two, YEARS)["peak_year"] == 2013


def test_scope_filters_entities():
    profile = load_profile("alibaba")
    assert len(in_scope(TOY, profile.scope_entities("group"))) == 6
    assert len(in_scope(TOY, profile.scope_entities("ant_only"))) == 2
    assert len(in_scope(TOY, profile.scope_entities("group_and_ant"))) == 8


def test_yearly_by_mode_has_every_year_and_mode():
    table = yearly_by_mode(TOY, YEARS)
    assert table.shape == (12, 6)  # the four deal modes, then greenfield and exit
    assert table.loc[2015, "minority"] == 2
    assert table.loc[2015, "control"] == 1
    assert table.to_numpy().sum() == 8


def test_paper_comparison_difference():
    claims = load_claims(load_profile("alibaba"))
    table = published_comparison(TOY, claims, YEARS).set_index("metric")
    assert table.loc["total_events", "record"] == 8
    assert table.loc["total_events", "published"] == 85
    assert table.loc["total_events", "difference"] == -77
    assert table.loc["peak_year", "difference"] == 0
