"""Morris screening through the experiment layer: executors, chunk store, resume, CLI flags."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim.experiment.experiment as experiment_module
from sim.analysis.ensemble import summarise_runs
from sim.calibration.objective import simulate
from sim.calibration.sensitivity import screen
from sim.cli import main
from sim.experiment.experiment import Options
from sim.scenario import Firm, load_scenario
from sim.world import build_world

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
#: A tiny design: 2 trajectories of (inputs + 1) points, 3 runs each.
BUDGET = {"trajectories": 2, "replications": 3}


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(BASELINE)


@pytest.fixture(scope="module")
def data(scenario):
    return scenario.load_data(BASELINE)


@pytest.fixture(scope="module")
def serial(scenario, data, tmp_path_factory):
    root = tmp_path_factory.mktemp("chunks")
    result = screen(
        scenario, data, **BUDGET, options=Options("serial", progress=False), chunk_root=root
    )
    return root, result


def test_local_workers_give_the_serial_indices(scenario, data, serial, tmp_path, monkeypatch):
    _, first = serial
    monkeypatch.setattr(experiment_module, "SMALL_ENSEMBLE", 0)  # really start worker processes
    local = screen(
        scenario,
        data,
        **BUDGET,
        options=Options("local", workers=2, chunk_size=2, progress=False),
        chunk_root=tmp_path,
    )
    assert local.computed > 0 and local.reused == 0
    pd.testing.assert_frame_equal(local.indices, first.indices)
    pd.testing.assert_frame_equal(local.design, first.design)


def test_second_run_reuses_every_chunk(scenario, data, serial):
    root, first = serial
    assert first.computed == len(first.design) and first.reused == 0  # one chunk per point
    again = screen(
        scenario, data, **BUDGET, options=Options("serial", progress=False), chunk_root=root
    )
    assert again.computed == 0 and again.reused == len(first.design)
    pd.testing.assert_frame_equal(again.indices, first.indices)
    pd.testing.assert_frame_equal(again.design, first.design)


@pytest.mark.parametrize("change", ["seed", "trajectories"])
def test_another_design_does_not_reuse_chunks(scenario, data, serial, change):
    root, first = serial
    stores = {p.name for p in root.iterdir()}
    other, budget = scenario, dict(BUDGET)
    if change == "seed":
        other = scenario.model_copy(update={"seed": scenario.seed + 1})
    else:
        budget["trajectories"] = 3
    result = screen(
        other, data, **budget, options=Options("serial", progress=False), chunk_root=root
    )
    assert result.reused == 0 and result.computed == len(result.design)
    assert {p.name for p in root.iterdir()} - stores  # a store of its own
    assert not result.design.equals(first.design)


def test_points_share_the_streams_of_sim_run(scenario, data, serial):
    """Every design point runs with point 0's random numbers, as screening always did."""
    _, first = serial
    strategy = scenario.strategies[0]
    row = first.design.iloc[1]
    params, firm = dict(strategy.params), scenario.firm.model_dump()
    for name in first.indices["input"].unique():
        kind = first.indices.loc[first.indices["input"] == name, "kind"].iloc[0]
        (params if kind == "policy" else firm)[name] = float(row[name])
    firm_model = Firm.model_validate(firm)
    world = build_world(data, scenario.model_copy(update={"firm": firm_model}))
    cls = strategy.policy_class()
    n = BUDGET["replications"]
    events, run = simulate(
        world, cls(cls.Params(**params)), firm_model, scenario.seed, strategy.label, n
    )
    total = summarise_runs(events, run, n, world).total.mean()
    assert first.design.loc[1, "total_deals"] == pytest.approx(total)


def test_command_takes_execution_flags_and_resumes(tmp_path, capsys):
    out = tmp_path / "sens"
    args = ["sensitivity", str(BASELINE), "--quick", "--out", str(out), "--quiet"]
    cache = ["--cache", str(tmp_path / "cache")]
    assert main([*args, "--executor", "serial", "--chunk-size", "2", *cache]) == 0
    first = pd.read_csv(out / "sensitivity.csv")
    stores = list((tmp_path / "cache").iterdir())
    assert len(stores) == 1 and len(list(stores[0].glob("*.parquet"))) > 0
    assert main([*args, "--overwrite"]) == 0  # default chunk size: a new chunk layout, same numbers
    pd.testing.assert_frame_equal(pd.read_csv(out / "sensitivity.csv"), first)
    capsys.readouterr()
    assert main([*args, "--overwrite", "--workers", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "sim: error: argument --workers: must be from 1 to 1024 (got 0) "
        "(see sim sensitivity --help)"
    ]
    assert np.isfinite(first["mu_star"]).all()


def test_an_interrupted_screening_computes_only_the_missing_chunks(scenario, data, tmp_path):
    options = Options("serial", progress=False)
    first = screen(scenario, data, **BUDGET, options=options, chunk_root=tmp_path)
    (store,) = tmp_path.iterdir()
    lost = sorted(store.glob("*.parquet"))[:2]  # as if the run had stopped before these
    for path in lost:
        path.unlink()
    again = screen(scenario, data, **BUDGET, options=options, chunk_root=tmp_path)
    assert again.computed == 2 and again.reused == len(first.design) - 2
    assert all(path.is_file() for path in lost)
    pd.testing.assert_frame_equal(again.indices, first.indices)


def test_screening_starts_from_the_strategys_own_firm_values():
    """A calibrated strategy's own firm fields (here depletion) are the base of every point."""
    import numpy as np

    from sim.calibration.sensitivity import _design_points
    from sim.scenario import parse_scenario

    s = parse_scenario(
        {
            "name": "own",
            "strategies": [{"label": "g", "policy": "gravity", "firm": {"depletion": 0.7}}],
        },
        "own.yaml",
    )
    points = _design_points(s, 0, np.array([[2.0], [4.0]]), ["hurdle"], ["firm"], 3)
    assert [p.firm.hurdle for p in points] == [2.0, 4.0]
    assert all(p.firm.depletion == 0.7 for p in points)
