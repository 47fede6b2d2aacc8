"""Fit measures against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.analysis.ensemble import COMPARE_MODES, summarise_runs
from sim.analysis.fit import count_loglik, jsd, pattern_table, quantile_of
from sim.events import EVENT_DTYPE
from tests.toy import toy_world


def test_poisson_loglik_by_hand_when_ensemble_has_no_spread():
    sim = np.array([[2, 3], [2, 3], [2, 3]])
    nb, pois = count_loglik(np.array([1, 3]), sim)
    by_hand = (math.log(2) - 2) + (3 * math.log(3) - 3 - math.log(6))
    assert pois == pytest.approx(by_hand)
    assert nb == pytest.approx(by_hand)  # no over-dispersion: falls back to Poisson


def test_negative_binomial_matches_moments():
    sim = np.array([[0], [4]])  # mean 2, variance 8 (ddof=1) -> r = 4/6, p = r/(r+2)
    nb, _ = count_loglik(np.array([1]), sim)
    r = 4 / 6
    p = r / (r + 2)
    by_hand = (
        math.lgamma(1 + r) - math.lgamma(r) - math.lgamma(2) + r * math.log(p) + math.log(1 - p)
    )
    assert nb == pytest.approx(by_hand)


def test_empty_year_in_ensemble_gives_finite_loglik():
    nb, pois = count_loglik(np.array([1]), np.zeros((5, 1)))
    assert np.isfinite(nb) and np.isfinite(pois)


def test_jsd_by_hand():
    assert jsd(np.array([1, 0]), np.array([0, 1])) == pytest.approx(1.0)
    assert jsd(np.array([3, 1]), np.array([6, 2])) == pytest.approx(0.0)
    # P = (1/2, 1/2), Q = (1, 0): M = (3/4, 1/4)
    kl_pm = 0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(0.5 / 0.25)
    kl_qm = math.log2(1 / 0.75)
    assert jsd(np.array([1, 1]), np.array([1, 0])) == pytest.approx(0.5 * (kl_pm + kl_qm))


def test_quantile_is_mid_rank():
    values = np.array([1, 2, 2, 3])
    assert quantile_of(2, values) == pytest.approx(0.25 + 0.5 * 0.5)
    assert quantile_of(0, values) == 0.0
    assert quantile_of(9, values) == 1.0


def test_pattern_hit_uses_band_widened_by_sampling_error():
    sim = pd.DataFrame(
        {
            "total_events": np.arange(100, 201),
            "peak_year": 2015,
            "distinct_countries": 30,
            "us_share": 0.10,
            "control_share": 0.1,
            "equity_share": 0.5,
        }
    )
    obs = pd.Series(
        {
            "total_events": 215.0,
            "peak_year": 2016,
            "distinct_countries": 40,
            "us_share": 0.2,
            "control_share": 0.1,
            "equity_share": 0.5,
        }
    )
    table = pattern_table(obs, sim).set_index("pattern")
    # 95th percentile 195 + sqrt(215) = 209.7 < 215: miss
    assert not table.loc["total_events", "hit"]
    assert table.loc["total_events", "tolerance"] == pytest.approx(math.sqrt(215))
    assert table.loc["peak_year", "hit"]  # one year off is within tolerance
    assert not table.loc["distinct_countries", "hit"]  # 30 + sqrt(40) < 40
    se = math.sqrt(0.2 * 0.8 / 215)
    assert table.loc["us_share", "tolerance"] == pytest.approx(se)
    assert not table.loc["us_share", "hit"]


def test_summarise_runs_counts_by_hand():
    world = toy_world()
    # year, market, mode, blocked, industry; two runs
    rows = [(2010, 0, 2, 0, 0), (2010, 5, 0, 0, 0), (2011, 5, 1, 1, 0), (2015, 7, 1, 0, 0)]
    events = np.array(rows, dtype=EVENT_DTYPE)
    run = np.array([0, 0, 0, 1])
    stats = summarise_runs(events, run, 3, world)
    assert stats.yearly[0, :2].tolist() == [2, 1]
    assert stats.yearly[2].sum() == 0
    assert dict(zip(COMPARE_MODES, stats.modes[0], strict=True)) == {
        "cooperation": 1,
        "minority": 0,
        "control": 1,
        "other": 1,
    }
    assert stats.countries[0, 5] == 2
    assert stats.blocked.tolist() == [1, 0, 0]
    assert stats.capital[0] == pytest.approx(3.0 + 0.25 + 1.0)
    assert stats.emerging_modes[0].tolist() == [0, 0, 1, 0]
    assert stats.mature_modes[0].tolist() == [1, 0, 0, 1]


def test_record_summary_and_ensemble_statistics_agree_on_the_real_record():
    from sim.analysis.ensemble import encode_record
    from sim.analysis.metrics import record_aggregates
    from sim.data import load_dataset
    from sim.scenario import parse_scenario
    from sim.world import build_world

    data = load_dataset()
    s = parse_scenario({"name": "x", "strategies": [{"label": "r", "policy": "random"}]}, "x")
    world = build_world(data, s)
    table = record_aggregates(data.events, range(2010, 2022))
    encoded = encode_record(data.events, world)
    scalars = summarise_runs(encoded, np.zeros(len(encoded), dtype=int), 1, world).scalars(world)
    for name in (
        "total_events",
        "peak_year",
        "distinct_countries",
        "us_share",
        "control_share",
        "equity_share",
    ):
        assert scalars.iloc[0][name] == pytest.approx(table[name]), name
