"""Fit measures against values computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.analysis.ensemble import COMPARE_MODES, summarise_runs
from sim.analysis.fit import PATTERN_COLUMNS, pattern_table, quantile_of
from sim.events import EVENT_DTYPE
from tests.toy import toy_world


def test_quantile_is_mid_rank():
    values = np.array([1, 2, 2, 3])
    assert quantile_of(2, values) == pytest.approx(0.25 + 0.5 * 0.5)
    assert quantile_of(0, values) == 0.0
    assert quantile_of(9, values) == 1.0


def test_patterns_get_monte_carlo_p_values_and_a_joint_test():
    rng = np.random.default_rng(0)
    n = 199
    sim = pd.DataFrame(
        {
            "total_events": rng.poisson(150, n).astype(float),
            "peak_year": rng.choice([2014, 2015, 2016], n).astype(float),
            "distinct_countries": rng.poisson(30, n).astype(float),
            "top_market_share": rng.beta(20, 80, n),
            "control_share": rng.beta(10, 90, n),
            "equity_share": rng.beta(50, 50, n),
        }
    )
    typical = sim.median()
    table, joint = pattern_table(typical, sim)
    table = table.set_index("pattern")
    assert list(table.columns) == [c for c in PATTERN_COLUMNS if c != "pattern"]
    assert "hit" not in table.columns  # no hit/miss without a p-value
    assert (table["p_value"] > 0.5).all() and joint > 0.5
    odd = typical.copy()
    odd["total_events"] = 250.0  # far outside the runs
    table, joint = pattern_table(odd, sim)
    assert table.set_index("pattern").loc["total_events", "p_value"] < 0.02
    assert joint < 0.05


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
        "greenfield": 0,
        "exit": 0,
        "other": 1,
    }
    assert stats.countries[0, 5] == 2
    assert stats.blocked.tolist() == [1, 0, 0]
    assert stats.capital[0] == pytest.approx(3.0 + 0.25 + 1.0)
    assert stats.emerging_modes[0].tolist() == [0, 0, 1, 0, 0, 0]
    assert stats.mature_modes[0].tolist() == [1, 0, 0, 0, 0, 1]


def test_record_summary_and_ensemble_statistics_agree_on_the_real_record():
    from sim.analysis.ensemble import encode_record
    from sim.analysis.metrics import record_aggregates
    from sim.data import load_dataset
    from sim.data.taxonomy import DEAL_MODES
    from sim.scenario import parse_scenario
    from sim.world import build_world

    data = load_dataset()
    s = parse_scenario({"name": "x", "strategies": [{"label": "r", "policy": "random"}]}, "x")
    world = build_world(data, s)
    # The whole record encoded; the world's history counts the deal modes only, like the paper.
    deals = data.events[data.events["mode"].isin(DEAL_MODES)]
    assert len(deals) < len(data.events)  # the record has greenfield and exit rows too
    table = record_aggregates(deals, range(2010, 2022))
    encoded = encode_record(data.events, world)
    scalars = summarise_runs(encoded, np.zeros(len(encoded), dtype=int), 1, world).scalars(world)
    for name in (
        "total_events",
        "peak_year",
        "distinct_countries",
        "top_market_share",
        "control_share",
        "equity_share",
    ):
        assert scalars.iloc[0][name] == pytest.approx(table[name]), name
