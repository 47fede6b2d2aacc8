"""Greenfield entry and exit: the mode, the exit hazard, and like-with-like comparison."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.ensemble import COMPARE_MODES, encode_record, summarise_runs
from sim.data import load_dataset, load_events
from sim.data.taxonomy import DEAL_MODES, MODES
from sim.engine import EXIT_BARRIER_WEIGHT, BatchState, draw_batch, step
from sim.errors import SimInputError
from sim.experiment.runner import run_block
from sim.model import InternationalizationModel
from sim.modes import (
    CONTROL,
    COST,
    EXIT,
    GREENFIELD,
    LOAD,
    MODE_NAMES,
    N_MODES,
    RANK,
    REVERSIBILITY,
    RUNG_REVERSIBILITY,
)
from sim.policies import get_policy
from sim.policies.base import FirmView, MarketView, Policy, PolicyParams
from sim.scenario import Firm, parse_scenario
from sim.world import build_world
from tests.toy import toy_world

FIRM = Firm(block_base=0.0, block_slope=0.0, climate_noise=0.0, hurdle=3.5, depletion=0.0)
ALL_MODES = ["control", "minority", "cooperation", "other", "greenfield", "exit"]


@pytest.fixture(scope="module")
def dataset():
    return load_dataset()


class _NoDeal(Policy[PolicyParams]):
    """Every option infeasible: a year is exits only."""

    name = "no_deal_test"
    Params = PolicyParams

    def utilities(self, market: MarketView, firm: FirmView) -> np.ndarray:
        return np.full((market.distance.shape[0], N_MODES), -np.inf)


def test_greenfield_is_the_least_reversible_top_rung_and_leaves_older_loads_alone():
    assert MODE_NAMES[GREENFIELD] == "greenfield" and RANK[GREENFIELD] == RANK.max()
    assert REVERSIBILITY[GREENFIELD] == REVERSIBILITY.min()
    # Control stays the costliest, so the integration load of the older modes is unchanged.
    assert COST.argmax() == CONTROL
    np.testing.assert_allclose(LOAD[:GREENFIELD], [0.25 / 3.0, 1.0 / 3.0, 1.0])
    assert RUNG_REVERSIBILITY.tolist() == [1.0, 1.0, 0.6, 0.2, 0.1]
    assert COMPARE_MODES == ("cooperation", "minority", "control", "greenfield", "exit", "other")
    assert set(MODES) == set(COMPARE_MODES)


def _greenfield_share(alpha: float, runs: int = 40) -> float:
    world = toy_world()
    cls = get_policy("gravity")
    policy = cls(cls.Params(alpha_greenfield=alpha))
    ev = np.concatenate(
        [InternationalizationModel(world, policy, FIRM, rng=s).run() for s in range(runs)]
    )
    deals = ev[ev["mode"] != EXIT]
    return float((deals["mode"] == GREENFIELD).mean())


def test_greenfield_is_chosen_more_when_its_utility_is_raised():
    low, high = _greenfield_share(-3.0), _greenfield_share(1.0)
    assert 0.0 < low < 0.1
    assert high > 3 * low


def test_uppsala_builds_greenfield_only_on_a_controlled_market():
    world = toy_world()
    cls = get_policy("uppsala")
    policy = cls(cls.Params(climb_threshold=0.3))
    greenfield = 0
    for seed in range(40):
        ev = InternationalizationModel(world, policy, FIRM, rng=seed).run()
        held = np.zeros(world.n_markets, dtype=int)
        for e in ev:
            m, mode = int(e["market"]), int(e["mode"])
            if mode == EXIT:
                held[m] = 0
            elif not e["blocked"]:
                if mode == GREENFIELD:
                    assert held[m] >= RANK[CONTROL]
                    greenfield += 1
                held[m] = max(held[m], int(RANK[mode]))
    assert greenfield > 0


def test_springboard_cannot_prefer_greenfield_to_cooperation():
    cls = get_policy("springboard")
    assert cls.Params.model_fields["alpha_greenfield"].metadata[-1].le == 0.0
    with pytest.raises(ValueError):
        cls.Params(alpha_greenfield=0.5)


def _exit_year(world, firm, commitment, experience, seed=0):
    """One year of a batch that holds ``commitment`` (runs x markets) and makes no deal."""
    n_runs = commitment.shape[0]
    state = BatchState(world, n_runs, firm.region_spillover)
    state.commitment[:] = commitment
    state.experience[:] = experience
    gens = [np.random.default_rng([seed, r]) for r in range(n_runs)]
    draws = draw_batch(gens, world.n_years, firm.opportunities, world.n_markets)
    rows = step(world, _NoDeal(PolicyParams()), firm, state, 0, draws)
    return state, rows


def _hazard(firm, p_block, experience, rung):
    eta = (
        firm.exit_propensity
        + EXIT_BARRIER_WEIGHT * p_block
        - np.log1p(experience)
        + np.log(RUNG_REVERSIBILITY[rung])
    )
    return 1.0 / (1.0 + np.exp(-eta))


@pytest.mark.parametrize("rung", [1, 3, 4])
def test_exits_happen_at_the_hazard_rate(rung):
    world = toy_world(p_block=0.2)
    firm = FIRM.model_copy(update={"exit_propensity": -1.0})
    n_runs = 3000
    commitment = np.full((n_runs, world.n_markets), rung, dtype=np.int8)
    experience = 1.5
    _, rows = _exit_year(world, firm, commitment, experience)
    trials = commitment.size
    p = _hazard(firm, 0.2, experience, rung)
    se = np.sqrt(p * (1 - p) / trials)
    rate = rows.size / trials
    assert abs(rate - p) < 4 * se, (rate, p, se)
    assert (rows["mode"] == EXIT).all() and (rows["blocked"] == 0).all()


def test_an_exit_resets_commitment_and_nothing_else():
    world = toy_world(p_block=0.3)
    firm = FIRM.model_copy(update={"exit_propensity": 0.0})
    rng = np.random.default_rng(5)
    commitment = rng.integers(0, 5, size=(200, world.n_markets)).astype(np.int8)
    experience = rng.uniform(0, 3, size=commitment.shape)
    state, rows = _exit_year(world, firm, commitment, experience)
    left = np.zeros(commitment.shape, dtype=bool)
    left[rows["run"], rows["market"]] = True
    assert rows.size > 50
    assert (commitment[left] > 0).all()  # only held markets are exited
    assert (state.commitment[left] == 0).all()
    np.testing.assert_array_equal(state.commitment[~left], commitment[~left])
    np.testing.assert_array_equal(state.experience, experience)  # knowledge is kept
    assert state.deals.sum() == 0 and state.mode_deals.sum() == 0 and state.load.sum() == 0
    assert np.all(np.diff(rows["run"]) >= 0)  # run order


def test_batch_equals_mesa_byte_for_byte_with_many_exits(dataset):
    s = parse_scenario(
        {
            "name": "t",
            "seed": 3,
            "firm": {"exit_propensity": 0.5},
            "strategies": [{"label": "x", "policy": "dual_track"}],
        },
        "t.yaml",
    )
    world = build_world(dataset, s)
    policy = get_policy("dual_track")(get_policy("dual_track").Params())
    mesa = run_block(world, policy, s.firm, 9, 0, 0, range(6), "x", "mesa")
    whole = run_block(world, policy, s.firm, 9, 0, 0, range(6), "x", "batch")
    parts = np.concatenate(
        [
            run_block(world, policy, s.firm, 9, 0, 0, range(0, 2), "x", "batch"),
            run_block(world, policy, s.firm, 9, 0, 0, range(2, 6), "x", "batch"),
        ]
    )
    assert (mesa["mode"] == EXIT).sum() > 20
    assert mesa.tobytes() == whole.tobytes() == parts.tobytes()


def test_exit_propensity_moves_the_number_of_exits(dataset):
    def exits(value):
        s = parse_scenario(
            {
                "name": "t",
                "seed": 3,
                "firm": {"exit_propensity": value},
                "strategies": [{"label": "x", "policy": "gravity"}],
            },
            "t.yaml",
        )
        world = build_world(dataset, s)
        policy = get_policy("gravity")(get_policy("gravity").Params())
        ev = run_block(world, policy, s.firm, 9, 0, 0, range(20), "x", "batch")
        return int((ev["mode"] == EXIT).sum())

    assert exits(-8.0) < exits(-3.0) < exits(0.0)


def _world(dataset, modes=None):
    history = {"scope": "group_and_ant"} | ({"modes": modes} if modes else {})
    s = parse_scenario(
        {"name": "t", "history": history, "strategies": [{"label": "r", "policy": "random"}]},
        "t.yaml",
    )
    return build_world(dataset, s)


def test_the_history_modes_select_the_record_counts_and_the_simulated_events(dataset):
    default, every = _world(dataset), _world(dataset, ALL_MODES)
    assert default.history_modes == DEAL_MODES
    extra = dataset.events["mode"].isin(["greenfield", "exit"])
    assert extra.sum() > 0
    assert every.record_counts.sum() - default.record_counts.sum() == extra.sum()
    record = encode_record(dataset.events, default)
    zero = np.zeros(record.size, dtype=int)
    narrow = summarise_runs(record, zero, 1, default)
    wide = summarise_runs(record, zero, 1, every)
    assert narrow.total[0] == (~extra).sum() and wide.total[0] == len(dataset.events)
    col = COMPARE_MODES.index("greenfield")
    assert narrow.modes[0, col] == 0
    assert wide.modes[0, col] == (dataset.events["mode"] == "greenfield").sum()
    # Simulated events: a greenfield deal and an exit count only when the history lists them.
    sim = np.array(
        [(2015, 0, GREENFIELD, 0, 0), (2016, 0, EXIT, 0, 0), (2016, 1, 0, 0, 0)],
        dtype=record.dtype,
    )
    run = np.zeros(3, dtype=int)
    assert summarise_runs(sim, run, 1, default).total[0] == 1
    assert summarise_runs(sim, run, 1, every).total[0] == 3
    assert summarise_runs(sim, run, 1, every).done[0, 0] == 1  # an exit is not a deal


def test_only_greenfield_keeps_the_rest_out():
    world = dataclasses.replace(toy_world(), history_modes=("greenfield",))
    sim = np.array(
        [(2015, 0, GREENFIELD, 0, 0), (2015, 1, GREENFIELD, 1, 0), (2016, 1, 0, 0, 0)],
        dtype=[
            ("year", "i2"),
            ("market", "i2"),
            ("mode", "i1"),
            ("blocked", "i1"),
            ("industry", "i1"),
        ],
    )
    stats = summarise_runs(sim, np.zeros(3, dtype=int), 1, world)
    assert stats.total[0] == 1  # the blocked attempt counts as "other", not greenfield


def test_history_modes_reject_an_unknown_mode():
    with pytest.raises(SimInputError, match="history"):
        parse_scenario(
            {
                "name": "t",
                "history": {"modes": ["acquisition"]},
                "strategies": [{"label": "r", "policy": "random"}],
            },
            "t.yaml",
        )


def _events_file(tmp_path: Path, mode: str) -> Path:
    src = Path(__file__).parents[1] / "sim" / "data" / "firms" / "alibaba" / "events.csv"
    df = pd.read_csv(src, dtype=str, keep_default_na=False).head(3)
    df.loc[0, "mode"] = mode
    path = tmp_path / "events.csv"
    df.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("mode", ["greenfield", "exit"])
def test_the_loader_accepts_greenfield_and_exit(tmp_path, mode):
    events = load_events(_events_file(tmp_path, mode))
    assert events.loc[0, "mode"] == mode


def test_the_loader_rejects_an_unknown_mode(tmp_path):
    with pytest.raises(SimInputError, match="mode"):
        load_events(_events_file(tmp_path, "acquisition"))


def test_the_shipped_records_code_greenfield_and_exit(dataset):
    counts = dataset.events["mode"].value_counts()
    paper = dataset.events[dataset.events["year"] <= 2021]["mode"].value_counts()
    assert paper["greenfield"] == 21 and paper["exit"] == 5  # 2010-2021
    assert counts["greenfield"] == 21 + 14 and counts["exit"] == 5 + 21  # with 2022-2025
    assert dataset.events["event_id"].is_unique
    jd = pd.read_csv(Path(__file__).parents[1] / "sim" / "data" / "firms" / "jd" / "events.csv")
    flagged = jd["notes"].str.startswith("GREENFIELD")
    assert (jd.loc[flagged, "mode"] == "greenfield").all() and flagged.sum() == 14
    assert ((jd["mode"] == "greenfield") == flagged).all()  # only where the note says so
    assert (jd.loc[jd["notes"].str.startswith("EXIT:"), "mode"] == "exit").sum() == 5


def test_calibration_moves_greenfield_and_exit_parameters_only_when_the_history_has_them():
    from sim.calibration.calibrate import free_parameters

    def free(history, parameters=None):
        raw = {
            "name": "t",
            "history": history,
            "strategies": [{"label": "g", "policy": "gravity"}],
        }
        if parameters:
            raw["calibration"] = {"parameters": {"g": parameters}}
        s = parse_scenario(raw, "t.yaml")
        return [n for n, _, _ in free_parameters(s.strategies[0], s)]

    default = free({})
    assert "alpha_greenfield" not in default and "firm.exit_propensity" not in default
    assert "alpha_control" in default and "firm.hurdle" in default
    every = free({"modes": ALL_MODES})
    assert "alpha_greenfield" in every and "firm.exit_propensity" in every
    named = free({}, ["alpha_greenfield", "firm.exit_propensity"])
    assert named == ["alpha_greenfield", "firm.exit_propensity"]
