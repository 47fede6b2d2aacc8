"""One evaluator behind every command: each hands its tasks to sim.experiment.evaluator."""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml

import sim.api
from sim.calibration.calibrate import calibrate
from sim.calibration.recovery import recover
from sim.calibration.sensitivity import screen
from sim.data import load_dataset
from sim.data.record import history as record_history
from sim.experiment.evaluator import Evaluator
from sim.experiment.experiment import Options
from sim.inference.bank import CHUNK, build_bank, joint
from sim.inference.job import models_of, window_world
from sim.projection.exploration import explore
from sim.projection.model import Lever, ProjectionModel
from sim.projection_spec import Uncertainties
from sim.scenario import load_scenario, parse_scenario
from sim.world import build_world

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


def _name(fn: Callable[..., Any]) -> str:
    while isinstance(fn, partial):
        fn = fn.func
    return fn.__name__


@pytest.fixture
def handed(monkeypatch) -> list[tuple[str, int]]:
    """(task function, tasks) of every batch of tasks handed to an evaluator in the test."""
    seen: list[tuple[str, int]] = []
    original = Evaluator.map

    def spy(self: Evaluator, fn: Callable, work: list[tuple[Any, Any]]) -> Iterator[Any]:
        inner = work[0][0] if work and _name(fn) == "_indexed" else fn  # evaluate's own fn
        seen.append((_name(inner), len(work)))
        yield from original(self, fn, work)

    monkeypatch.setattr(Evaluator, "map", spy)
    return seen


@pytest.fixture(scope="module")
def data():
    return load_dataset()


TINY = """
name: tiny
years: [2010, 2021]
seed: 3
strategies: [{label: grav, policy: gravity}, {label: dual, policy: dual_track}]
calibration: {trials: 2, replications: 2, seeds: [1], validation_replications: 2}
"""


def tiny():
    """Two strategies, one calibration seed, two trials of two runs: every command in seconds."""
    return parse_scenario(yaml.safe_load(TINY), "tiny.yaml")


def test_run_and_the_api_hand_chunks_to_the_evaluator(handed):
    sim.api.run(BASELINE, replications=2)
    assert handed and all(name == "run_task" for name, _ in handed)


def test_sensitivity_hands_its_design_points_to_the_evaluator(handed, tmp_path):
    scenario = load_scenario(BASELINE)
    data = scenario.load_data(BASELINE)
    result = screen(
        scenario,
        data,
        trajectories=2,
        replications=2,
        options=Options("serial", progress=False),
        chunk_root=tmp_path,
    )
    assert handed == [("run_task", len(result.design))]


def test_calibrate_hands_each_strategy_and_seed_to_the_evaluator(handed, data):
    calibrate(tiny(), data, None, n_boot=0)
    assert handed == [("_in_worker", 2)]  # two strategies, one seed


def test_recover_hands_each_synthetic_record_to_the_evaluator(handed, data, tmp_path):
    recover(tiny(), data, tmp_path, records=1)
    # One task per generator's record; each calibrates its candidates through an evaluator too.
    assert handed[0] == ("_run_and_save", 2)
    assert sorted(set(handed[1:])) == [("_in_worker", 2)]


def test_project_hands_each_future_to_the_evaluator(handed, data):
    s = tiny()
    world = build_world(data, s)
    from sim.analysis.ensemble import encode_record

    record = encode_record(record_history(data, s.scope), world)
    levers = [
        Lever(x.label, x.policy_class()(x.make_params()), x.firm_for(s.firm)) for x in s.strategies
    ]
    unc = Uncertainties.model_validate({"revenue_growth": {"low": -0.05, "high": 0.1}})
    model = ProjectionModel(world, record, levers, s.firm, unc, 2024, s.seed, 2, data.indicators)
    ex = explore(model, ["grav", "dual"], 3, seed=11)
    assert handed == [("_run_future", 3)]  # one task per future, both strategies in it
    assert len(ex.table) == 6
    for row in ex.table.itertuples():  # each experiment holds its own strategy's outcomes
        alone = model(row.strategy, revenue_growth=row.revenue_growth)
        assert row.deals_total == alone["deals_total"]
    assert ex.table.groupby("future")["deals_total"].nunique().gt(1).all()


def test_infer_hands_its_bank_chunks_to_the_evaluator(handed):
    scenario = load_scenario(BASELINE)
    world = window_world(scenario, scenario.load_data(BASELINE), "baseline")
    models = [joint(["b"], models_of(scenario, "declared")[-1:])]  # no theory: the fastest
    build_bank(models, [world], 2 * CHUNK, 5, "key")
    assert handed == [("_simulate", 2)]


def test_local_workers_give_the_serial_results_in_order():
    items = list(range(12))
    with Evaluator("serial") as serial:
        expected = list(serial.evaluate(partial(operator.mul, 3), items))
    with Evaluator("local", workers=2) as local:
        ordered = list(local.evaluate(partial(operator.mul, 3), items))
        unordered = list(local.evaluate(partial(operator.mul, 3), items, ordered=False))
        assert local.tasks == 2 * len(items)
    assert ordered == expected == [3 * i for i in items]
    assert sorted(unordered) == expected
