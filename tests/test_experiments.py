"""Experiments at scale: identical results whatever the executor or chunking, resume, failures."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.experiment import store as store_module
from sim.experiment.experiment import Options
from sim.experiment.job import run_scenario
from sim.experiment.plan import plan_points, sweep_values
from sim.experiment.runner import stream_key
from sim.scenario import load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
N_STRATEGIES = len(load_scenario(BASELINE).strategies)
FILES = ("events.csv", "events.parquet", "yearly.csv", "summary.csv", "fit.csv")


def outputs(path: Path) -> dict[str, bytes]:
    return {name: (path / name).read_bytes() for name in FILES}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "out"
    run_scenario(
        BASELINE,
        out_dir=out,
        replications=40,
        options=Options(executor="serial", chunk_size=40, progress=False),
    )
    return outputs(out)


@pytest.mark.parametrize(
    ("executor", "workers", "chunk_size"),
    [("serial", 1, 7), ("serial", 1, 1000), ("local", 2, 9), ("dask", 2, 13)],
)
def test_results_identical_across_executors_and_chunk_sizes(
    reference, tmp_path, monkeypatch, executor, workers, chunk_size
):
    # Force real worker processes even for this small ensemble.
    monkeypatch.setattr("sim.experiment.experiment.SMALL_ENSEMBLE", 0)
    out = tmp_path / "out"
    result = run_scenario(
        BASELINE,
        out_dir=out,
        replications=40,
        options=Options(executor=executor, workers=workers, chunk_size=chunk_size, progress=False),
    )
    assert result.computed == N_STRATEGIES * -(-40 // chunk_size)
    assert outputs(out) == reference


def test_interrupted_run_resumes_to_identical_results(reference, tmp_path, monkeypatch):
    out = tmp_path / "out"
    options = Options(executor="serial", chunk_size=10, progress=False)
    real_write = store_module.ChunkStore.write
    calls = {"n": 0}

    def crash_after_five(self, task, events):
        if calls["n"] == 5:
            raise KeyboardInterrupt("simulated crash")
        calls["n"] += 1
        real_write(self, task, events)

    monkeypatch.setattr(store_module.ChunkStore, "write", crash_after_five)
    with pytest.raises(KeyboardInterrupt):
        run_scenario(BASELINE, out_dir=out, replications=40, options=options)
    assert sorted(p.name for p in out.iterdir()) == [".sim-cache"]  # no results, chunks kept
    chunks = list((out / ".sim-cache").rglob("*"))
    assert len([p for p in chunks if p.suffix == ".parquet"]) == 5
    assert not [p for p in chunks if p.name.endswith(".tmp")]

    monkeypatch.setattr(store_module.ChunkStore, "write", real_write)
    result = run_scenario(BASELINE, out_dir=out, replications=40, options=options)
    assert (result.reused, result.computed) == (5, N_STRATEGIES * 4 - 5)
    assert outputs(out) == reference
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["execution"]["chunks_reused"] == 5
    assert not (out / ".sim-cache").exists()  # the cache goes once the run has succeeded


def test_fresh_recomputes_and_more_replications_reuse_chunks(tmp_path):
    out = tmp_path / "out"
    opts = Options(executor="serial", chunk_size=10, progress=False, cache=tmp_path / "cache")
    run_scenario(BASELINE, out_dir=out, replications=20, options=opts)
    again = run_scenario(BASELINE, out_dir=out, replications=30, options=opts)
    assert (again.reused, again.computed) == (2 * N_STRATEGIES, N_STRATEGIES)
    fresh = run_scenario(
        BASELINE,
        out_dir=out,
        replications=30,
        options=Options(
            executor="serial", chunk_size=10, progress=False, fresh=True, cache=tmp_path / "cache"
        ),
    )
    assert (fresh.reused, fresh.computed) == (0, 3 * N_STRATEGIES)


@pytest.mark.parametrize("engine", [[], ["--engine", "mesa"]])
def test_failing_run_is_reported_with_its_seed_and_keeps_finished_chunks(engine, tmp_path, capsys):
    scenario = tmp_path / "fail.yaml"
    scenario.write_text(
        "name: fail\nseed: 5\nreplications: 6\nstrategies:\n"
        "  - {label: fine, policy: random}\n"
        "  - {label: boom, policy: failing, params: {fail_year: 2013}}\n"
    )
    code = main(
        [
            "run",
            str(scenario),
            "--plugin",
            "tests.failing_policy:FailingPolicy",
            "--out",
            str(tmp_path / "o"),
            "--executor",
            "serial",
            "--chunk-size",
            "3",
            "--quiet",
            *engine,
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    key = stream_key("boom")
    assert err == (
        "sim: error: run failed: strategy 'boom' (index 1), point 0, replication 0, "
        f"seed SeedSequence(5, spawn_key=({key}, 0, <replication>)): ZeroDivisionError: "
        "utility undefined "
        "(finished chunks are kept; fix the cause and run the same command again to resume)\n"
    )
    assert "Traceback" not in err
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [".sim-cache"]
    kept = list((tmp_path / "o" / ".sim-cache").rglob("*.parquet"))
    assert sorted(p.name.split("-")[0] for p in kept) == ["s0", "s0"]


def test_failing_run_on_worker_processes_stops_cleanly(tmp_path, monkeypatch):
    from sim.errors import RunFailed
    from sim.policies.registry import load_plugin

    monkeypatch.setattr("sim.experiment.experiment.SMALL_ENSEMBLE", 0)
    load_plugin("tests.failing_policy:FailingPolicy")  # what `sim run --plugin` does
    scenario = tmp_path / "fail.yaml"
    scenario.write_text(
        "name: fail\nseed: 5\nreplications: 4\nstrategies:\n  - {label: boom, policy: failing}\n"
    )
    with pytest.raises(RunFailed, match=r"strategy 'boom'.*seed SeedSequence\(5, spawn_key="):
        run_scenario(
            scenario,
            out_dir=tmp_path / "o",
            options=Options(executor="local", workers=2, chunk_size=1, progress=False),
        )


def test_sweep_scenario_writes_one_row_per_point(tmp_path):
    result = run_scenario(
        ROOT / "scenarios" / "sweep_dual_track.yaml",
        out_dir=tmp_path / "s",
        replications=5,
        options=Options(progress=False),
    )
    sweep = pd.read_csv(result.out_dir / "sweep.csv")
    assert len(sweep) == 9
    assert set(zip(sweep["emerging_control"], sweep["mature_control"], strict=True)) == {
        (e, m) for e in (0.0, 1.5, 3.0) for m in (-6.0, -3.0, 0.0)
    }
    assert sweep["runs"].eq(5).all()  # --replications overrides the scenario's 100
    fit = pd.read_csv(result.out_dir / "fit.csv")
    assert {"dual_track#0", "dual_track#8", "random"} <= set(fit["strategy"])


def test_latin_hypercube_points_are_seeded_and_in_range():
    raw = {
        "name": "l",
        "seed": 3,
        "strategies": [{"label": "k", "policy": "kojima"}],
        "sweep": {
            "method": "lhs",
            "samples": 12,
            "replications": 7,
            "parameters": [
                {"name": "ceiling_rate", "low": 0.01, "high": 0.1},
                {"name": "firm.hurdle", "low": 2, "high": 5},
            ],
        },
    }
    s = parse_scenario(raw, "l.yaml")
    values = sweep_values(s)
    assert values == sweep_values(s)
    assert len(values) == 12
    rates = sorted(v["ceiling_rate"] for v in values)
    assert rates[0] >= 0.01 and rates[-1] <= 0.1
    # one sample per twelfth of the range (Latin hypercube stratification)
    assert sorted(int((r - 0.01) / 0.09 * 12) for r in rates) == list(range(12))
    points = plan_points(s)
    assert [p.replications for p in points] == [7] * 12
    assert points[3].firm.hurdle == pytest.approx(values[3]["firm.hurdle"])


@pytest.mark.parametrize(
    ("sweep", "message"),
    [
        (
            {"parameters": [{"name": "focux", "values": [1]}]},
            "'focux' is not a parameter of policy 'dual_track'",
        ),
        (
            {"method": "lhs", "parameters": [{"name": "focus", "values": [1]}]},
            "lhs sweep: parameter 'focus' needs low and high",
        ),
        ({"parameters": [{"name": "firm.speed", "values": [1]}]}, "unknown firm field 'speed'"),
        (
            {"strategies": ["nope"], "parameters": [{"name": "focus", "values": [1]}]},
            "unknown strategy label 'nope'",
        ),
    ],
)
def test_bad_sweeps_are_rejected(sweep, message, tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(
        json.dumps(
            {"name": "s", "strategies": [{"label": "dt", "policy": "dual_track"}], "sweep": sweep}
        )
    )
    assert main(["run", str(path), "--out", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err


def test_swept_value_out_of_range_is_reported(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(
        json.dumps(
            {
                "name": "s",
                "strategies": [{"label": "dt", "policy": "dual_track"}],
                "sweep": {"parameters": [{"name": "focus", "values": [1, 99]}]},
            }
        )
    )
    assert main(["run", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"{path}: field 'sweep.parameters': swept value out of range for focus" in err


def test_dask_scheduler_address_path_gives_identical_results(reference, tmp_path, monkeypatch):
    """A cluster named by address: chunks travel back and the main process stores them."""
    from sim.experiment.executors import local_cluster

    monkeypatch.setattr("sim.experiment.experiment.SMALL_ENSEMBLE", 0)
    with local_cluster(2) as cluster:
        result = run_scenario(
            BASELINE,
            out_dir=tmp_path / "out",
            replications=40,
            options=Options(
                executor="dask", scheduler=cluster.scheduler_address, chunk_size=11, progress=False
            ),
        )
    assert result.computed == N_STRATEGIES * 4
    assert outputs(tmp_path / "out") == reference
