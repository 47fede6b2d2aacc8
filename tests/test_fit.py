"""Fit measures against values computed by hand."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from sim.analysis.ensemble import COMPARE_MODES, mode_columns, summarise_runs
from sim.analysis.fit import PATTERN_COLUMNS, pattern_table, quantile_of
from sim.data.taxonomy import DEAL_MODES
from sim.events import EVENT_DTYPE
from sim.modes import EXIT
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


def test_the_count_score_is_split_into_entries_and_exits_when_exits_are_compared():
    from sim.analysis.fit import fit_summary
    from sim.analysis.scores import count_log_score

    world = dataclasses.replace(toy_world(), history_modes=(*DEAL_MODES, "exit"))
    rng = np.random.default_rng(4)
    n_runs, rows, run = 40, [], []
    for r in range(n_runs):  # a few deals (mode 1) and exits (mode 4) per run, at random years
        for _ in range(rng.integers(3, 12)):
            rows.append((2010 + rng.integers(12), rng.integers(8), rng.choice([1, 4]), 0, 0))
            run.append(r)
    events = np.array(rows, dtype=EVENT_DTYPE)
    sim = summarise_runs(events, np.asarray(run), n_runs, world)
    assert sim.yearly_exits.sum() == (events["mode"] == EXIT).sum()
    record = np.array([(2012, 1, 1, 0, 0), (2012, 1, 4, 0, 0), (2015, 2, 4, 0, 0)], EVENT_DTYPE)
    obs = summarise_runs(record, np.zeros(3, dtype=np.int64), 1, world)
    assert obs.yearly_exits[0, [2, 5]].tolist() == [1, 1] and obs.yearly[0, 2] == 2
    fit = fit_summary(obs, sim, np.random.default_rng(1), mode_columns(world))
    exits = count_log_score(sim.yearly_exits, obs.yearly_exits[0], n_boot=0)
    entries = count_log_score(
        sim.yearly - sim.yearly_exits, obs.yearly[0] - obs.yearly_exits[0], n_boot=0
    )
    assert fit["count_score_exits"] == pytest.approx(exits.value)
    assert fit["count_score_entries"] == pytest.approx(entries.value)
    assert fit["count_score_exits_se"] > 0
    deals_only = dataclasses.replace(world, history_modes=DEAL_MODES)
    plain = fit_summary(
        obs, sim, np.random.default_rng(1), mode_columns(deals_only)
    )  # exits not compared: no split
    assert "count_score_exits" not in plain and "count_score_entries" not in plain
