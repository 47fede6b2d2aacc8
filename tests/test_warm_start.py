"""The warm start: the firm begins the first simulated year where its record before it left it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim.api as api
from sim.analysis.ensemble import encode_record
from sim.cli import main
from sim.data.record import history as record_history
from sim.data.taxonomy import MODES
from sim.engine import draw_batch, simulate, simulate_points, start_state
from sim.events import EVENT_DTYPE
from sim.experiment.runner import run_once
from sim.modes import CONTROL, EXIT, GREENFIELD, LOAD, MINORITY
from sim.policies import get_policy
from sim.projection.futures import Future, extend_world
from sim.projection.warm import warm_state
from sim.scenario import Firm, load_scenario
from sim.world import build_world, calendar_revenue
from tests.toy import toy_world

STATE = ("commitment", "experience", "deals", "mode_deals", "industry_deals", "load")
FITTED = Path(__file__).resolve().parents[1] / "scenarios" / "fitted.yaml"


def _events(rows: list[tuple[int, int, int, int, int]]) -> np.ndarray:
    """An event table from (year, market, mode, blocked, industry) rows."""
    return np.array(rows, dtype=EVENT_DTYPE)


def test_start_state_is_the_hand_calculation_of_a_toy_record():
    # 2009: a minority stake in market 0; 2010: a controlling acquisition in market 1, a
    # greenfield operation in market 0 and a blocked attempt in market 2; 2011: exit from 1.
    earlier = _events(
        [
            (2009, 0, MINORITY, 0, 2),
            (2010, 1, CONTROL, 0, 0),
            (2010, 0, GREENFIELD, 0, 0),
            (2010, 2, 0, 1, 0),
            (2011, 1, EXIT, 0, 0),
        ]
    )
    world = dataclasses.replace(toy_world(3), years=np.arange(2012, 2015), earlier=earlier)
    state = start_state(world, Firm(load_halflife=2.0), 2)
    d = 0.5 ** (1 / 2.0)  # one year's decay of the integration load
    # Loads: 2009's deal decays three times (2010, 2011, 2012's start), 2010's twice.
    load = LOAD[MINORITY] * d**2 + (LOAD[CONTROL] + LOAD[GREENFIELD]) * d
    assert state.load == pytest.approx([load, load], rel=1e-12)
    assert state.commitment[:, :3].tolist() == [[4, 0, 0]] * 2  # greenfield held; 1 exited
    assert state.experience[:, :3].tolist() == [[1.0 + 2.0, 1.5, 0.0]] * 2
    assert state.deals[:, :3].tolist() == [[2, 1, 0]] * 2  # the blocked attempt teaches nothing
    assert state.mode_deals.tolist() == [[0, 1, 1, 1]] * 2
    assert state.industry_deals[0, :3].tolist() == [2, 0, 1]
    assert not state.commitment[:, 3:].any() and state.view.year == 2012


def test_start_state_equals_the_state_the_engine_reaches_and_the_runs_continue_alike():
    # A long run 2010-2017 against the same run split at 2014: its events before 2014 replayed
    # as the record before the first simulated year give the engine's own state at 2014, and
    # the later years' events are byte-identical.
    long = toy_world(8)
    policy = get_policy("dual_track")(get_policy("dual_track").Params())
    firm = Firm(hurdle=0.0, exit_propensity=-1.0)
    gens = [np.random.default_rng(s) for s in range(6)]
    draws = draw_batch(gens, long.n_years, firm.opportunities, long.n_markets)
    early = toy_world(4)
    state = start_state(early, firm, 6)
    head, head_run = simulate(early, policy, firm, draws, state=state)
    full, full_run = simulate(long, policy, firm, draws)
    assert (head["mode"] == EXIT).any() and (head["blocked"] == 0).sum() > 30
    for r in range(6):
        late = dataclasses.replace(
            toy_world(4), years=np.arange(2014, 2018), earlier=head[head_run == r]
        )
        warm = start_state(late, firm, 1)
        for name in STATE:
            assert np.array_equal(getattr(warm, name)[0], getattr(state, name)[r]), name
        uniforms, climate, exits = (x[r : r + 1] for x in draws)
        rest, _ = simulate(late, policy, firm, (uniforms[:, :, 4:], climate[:, 4:], exits[:, 4:]))
        mine = full[full_run == r]
        assert rest.tobytes() == mine[mine["year"] >= 2014].tobytes()


@pytest.fixture(scope="module")
def later():
    """The fitted scenario from 2015 (the record's 2010-2014 deals before it), and its data."""
    scenario = load_scenario(FITTED)
    scenario = scenario.model_copy(update={"years": (2015, 2021)})
    return scenario, scenario.load_data(FITTED)


def test_the_world_holds_the_record_before_the_first_year_and_revenue_since_its_first(later):
    scenario, data = later
    world = build_world(data, scenario)
    before = record_history(data, scenario.scope, modes=MODES)
    before = before[before["year"] < 2015]
    assert world.earlier.size == len(before) > 0
    assert world.earlier["year"].tolist() == before["year"].tolist()
    iso3 = np.asarray(world.iso3)[world.earlier["market"]]
    assert iso3.tolist() == before["country_iso3"].tolist()
    assert world.earlier["blocked"].tolist() == (before["mode"] == "other").astype(int).tolist()
    revenue = calendar_revenue(data.finance, np.array([2010, 2015]))
    assert world.log_resources[0] == pytest.approx(np.log(revenue[1] / revenue[0]))
    assert world.log_resources[0] > 1.0  # the firm of 2015 is several times the firm of 2010
    cold = scenario.model_copy(
        update={"history": scenario.history.model_copy(update={"warm_start": False})}
    )
    cold_world = build_world(data, cold)
    assert cold_world.earlier.size == 0 and cold_world.log_resources[0] == 0.0


def test_a_scenario_from_the_records_first_year_has_nothing_to_replay():
    # The Alibaba record starts in 2010 (sim/data/firms/alibaba/events.csv): no earlier deals.
    scenario = load_scenario(FITTED)
    world = build_world(scenario.load_data(FITTED), scenario)
    assert scenario.years[0] == 2010 and world.earlier.size == 0
    assert world.log_resources[0] == 0.0


def _first_year_check(result: api.Result, scenario, runs: int) -> pd.DataFrame:
    """Per strategy (the oracle left out): first-year median, pooled 95th pct of the next three."""
    first = scenario.years[0]
    years = list(range(first, first + 4))
    events = result.events[result.events["record_mode"].isin(scenario.history.modes)]
    rows = []
    for s in scenario.strategies:
        if s.policy_class().matches_record_counts:
            continue  # the oracle copies the record's yearly counts: its first year is the record's
        mine = events[events["strategy"] == s.label]
        counts = mine.groupby(["replication", "year"]).size().unstack(fill_value=0)
        counts = counts.reindex(index=range(runs), columns=years, fill_value=0).to_numpy()
        p95 = np.percentile(counts[:, 1:].ravel(), 95)
        rows.append({"strategy": s.label, "first": np.median(counts[:, 0]), "p95_next3": p95})
    return pd.DataFrame(rows)


RUNS = 100


@pytest.fixture(scope="module")
def fitted_runs():
    """The shipped fitted scenario through the API from 2010 and from 2015, 100 runs each."""
    out = {}
    for first in (2010, 2015):
        scenario = load_scenario(FITTED).model_copy(update={"years": (first, 2021)})
        out[first] = scenario, api.run(scenario, replications=RUNS)
    return out


@pytest.mark.parametrize("first", [2010, 2015])
def test_no_fitted_strategys_first_year_median_lies_above_the_95th_percentile_of_the_next_three(
    fitted_runs, first
):
    # The test at the shipped fit; from 2015 the warm start replays the record's
    # 2010-2014 deals and revenue. The yearly table's medians are the same counts.
    scenario, result = fitted_runs[first]
    table = _first_year_check(result, scenario, RUNS)
    assert len(table) == 4
    medians = result.yearly[result.yearly["year"] == first].set_index("strategy")["median"]
    assert table.set_index("strategy")["first"].to_dict() == medians[table["strategy"]].to_dict()
    too_high = table[table["first"] > table["p95_next3"]]
    assert too_high.empty, too_high.to_string()


def test_a_later_start_begins_inside_the_full_runs_band_for_that_year(fitted_runs):
    # Started in 2015 from the record's state, every fitted strategy's 2015 median lies inside
    # the 5-95 % band of the same strategy's 2015 when simulated from 2010. Without the warm
    # start (a firm with no deals, resources relative to 2015) random location's median was 3
    # against a band of 7-43 (100 runs), and every strategy's median was below the full run's.
    full = fitted_runs[2010][1].yearly
    later = fitted_runs[2015][1].yearly
    for label in ("dual_track", "diversification", "random_location", "gravity"):
        band = full[(full["strategy"] == label) & (full["year"] == 2015)].iloc[0]
        start = later[(later["strategy"] == label) & (later["year"] == 2015)].iloc[0]
        assert band["p05"] <= start["median"] <= band["p95"], label


def _strategy(later, i: int):
    """The later-start scenario's strategy ``i``: its world, policy and firm settings."""
    scenario, data = later
    label = scenario.strategies[i]
    firm = label.firm_for(scenario.firm)
    world = build_world(data, scenario.model_copy(update={"firm": firm}))
    return world, label.policy_class()(label.make_params()), firm


def test_the_mesa_model_starts_from_the_same_warm_state_as_the_batch(later):
    # Parity on a warm-started world: each Mesa run's events equal its row of a batch.
    world, policy, firm = _strategy(later, 0)
    assert world.earlier.size > 0
    batch, run = simulate_points(world, policy, firm, {}, [11, 12, 13])
    assert batch.size > 30
    for r, seed in enumerate((11, 12, 13)):
        alone = run_once(world, policy, firm, np.random.default_rng(seed))
        assert alone.tobytes() == batch[run == r].tobytes()


def test_runs_with_their_own_half_lives_start_from_their_own_loads_whatever_the_batch(later):
    # The warm start's load decays by each run's own half-life: a batch of three half-lives
    # gives each run the events it has simulated alone at its value.
    world, policy, firm = _strategy(later, 3)
    halflives = np.array([0.5, 2.0, 8.0])
    loads = start_state(world, firm.model_copy(update={"load_halflife": halflives}), 3).load
    assert loads[0] < loads[1] < loads[2]
    batch, run = simulate_points(world, policy, firm, {"load_halflife": halflives}, [5, 6, 7])
    for r, h in enumerate(halflives.tolist()):
        alone, _ = simulate_points(
            world, policy, firm.model_copy(update={"load_halflife": h}), {}, [5 + r]
        )
        assert alone.tobytes() == batch[run == r].tobytes()


def test_a_bad_warm_start_value_exits_2_naming_the_field(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: t\nreplications: 2\nhistory: {warm_start: maybe}\n"
        "strategies:\n  - {label: a, policy: dual_track}\n"
    )
    assert main(["run", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sim: error: {path}: field 'history.warm_start': Input should be a ")
    assert "Traceback" not in err and not (tmp_path / "o").exists()


def test_a_projection_starts_from_the_same_state_whatever_the_scenarios_first_year(later):
    # The state at the end of the record (a projection's start) is the record replayed; with the
    # warm start it does not depend on whether the scenario starts in 2010 or in 2015.
    scenario, data = later
    firm = scenario.strategies[0].firm_for(scenario.firm)
    states = []
    for first in (2010, 2015):
        s = scenario.model_copy(update={"years": (first, 2021), "firm": firm})
        world = build_world(data, s)
        record = encode_record(record_history(data, s.scope, modes=MODES), world)
        states.append(warm_state(world, firm, record, 2, world.n_years))
    for name in STATE:
        assert np.array_equal(getattr(states[0], name), getattr(states[1], name)), name
    assert (
        states[0].deals.sum()
        == 2
        * (
            record_history(data, scenario.scope, modes=MODES)
            .query("year <= 2021 and mode not in ('other', 'exit')")
            .shape[0]
        )
    )


def test_the_projected_world_keeps_the_earlier_record_and_the_compared_modes(later):
    scenario, data = later
    modes = (*scenario.history.modes, "greenfield")
    s = scenario.model_copy(
        update={"history": scenario.history.model_copy(update={"modes": modes})}
    )
    world = build_world(data, s)
    ext = extend_world(world, range(2022, 2025), Future(revenue_growth=0.1), s.firm)
    assert ext.earlier.tobytes() == world.earlier.tobytes() and ext.earlier.size > 0
    assert ext.history_modes == modes
