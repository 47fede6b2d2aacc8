"""The public Python API gives the same numbers as `sim run`, as DataFrames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim.api as api
from sim.cli import main
from sim.errors import SimInputError

ROOT = Path(__file__).resolve().parents[1]


def test_api_run_matches_the_command_line(tmp_path):
    scenario = {
        "name": "api",
        "seed": 3,
        "replications": 12,
        "strategies": [
            {"label": "dt", "policy": "dual_track"},
            {"label": "rl", "policy": "random_location"},
        ],
    }
    result = api.run(scenario)
    assert set(result.fit["strategy"]) == {"dt", "rl"}
    assert np.isfinite(result.fit["count_score"]).all()
    assert (result.fit["count_score_se"] > 0).all()
    assert {"median", "p05", "p95"} <= set(result.yearly.columns)
    path = tmp_path / "api.yaml"
    import yaml

    path.write_text(yaml.safe_dump(scenario))
    assert main(["run", str(path), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    cli_events = pd.read_csv(tmp_path / "o" / "events.csv")
    assert len(cli_events) == len(result.events)
    cli_fit = pd.read_csv(tmp_path / "o" / "fit.csv")
    scores = cli_fit[(cli_fit["kind"] == "fit") & (cli_fit["metric"] == "count_score")]
    expected = result.fit.set_index("strategy")["count_score"]
    for row in scores.itertuples():
        assert row.value == pytest.approx(expected[row.strategy], rel=1e-5)  # %.6g in the CSV


SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_api_gives_the_tables_of_sim_run_on_every_shipped_scenario(path, tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(path), "--replications", "2", "--out", str(out), "--quiet"]) == 0
    result = api.run(path, replications=2)
    for name in ("yearly", "summary"):
        table = getattr(result, name).to_csv(index=False, float_format="%.6g")
        assert table == (out / f"{name}.csv").read_text(), name
    if result.sweep is None:
        assert not (out / "sweep.csv").exists()
    else:
        swept = result.sweep.to_csv(index=False, float_format="%.6g")
        assert swept == (out / "sweep.csv").read_text()
    assert result.events.to_csv(index=False) == (out / "events.csv").read_text()
    written = pd.read_csv(out / "fit.csv")
    fit = written[written["kind"] == "fit"].pivot(
        index="strategy", columns="metric", values="value"
    )
    assert list(fit.index) == sorted(result.fit["strategy"])
    np.testing.assert_allclose(
        fit.to_numpy(), result.fit.set_index("strategy").loc[fit.index, fit.columns], rtol=1e-5
    )
    patterns = written[written["kind"] == "pattern"]
    assert list(patterns["metric"]) == list(result.patterns["pattern"])
    numbers = ["observed", "median", "p05", "p95", "quantile", "p_value"]
    np.testing.assert_allclose(patterns[numbers], result.patterns[numbers], rtol=1e-5)


def test_api_runs_every_point_of_a_sweep():
    result = api.run(ROOT / "scenarios" / "sweep_dual_track.yaml", replications=2)
    assert list(result.fit["strategy"]) == [*(f"dual_track#{p}" for p in range(9)), "random"]
    assert list(result.sweep["point"]) == list(range(9))
    assert (result.sweep["runs"] == 2).all()


def test_api_checks_replications_like_the_command_line():
    with pytest.raises(SimInputError) as info:
        api.run(ROOT / "scenarios" / "baseline.yaml", replications=0)
    assert str(info.value) == (
        f"{ROOT / 'scenarios' / 'baseline.yaml'}: field 'replications': "
        "Input should be greater than or equal to 1"
    )


def test_api_mesa_engine_gives_the_same_events():
    scenario = api.load(ROOT / "scenarios" / "mature_first.yaml")
    a = api.run(scenario, replications=3)
    b = api.run(scenario, replications=3, engine="mesa")
    pd.testing.assert_frame_equal(a.events, b.events)


def test_api_rejects_a_bad_scenario_with_the_field():
    with pytest.raises(SimInputError, match="strategies"):
        api.load({"name": "x", "strategies": [{"label": "a", "policy": "nope"}]})


def test_api_calibrate_returns_scores_support_and_verdict():
    scenario = {
        "name": "c",
        "seed": 4,
        "strategies": [
            {"label": "gravity", "policy": "gravity"},
            {"label": "dual_track", "policy": "dual_track"},
        ],
        "calibration": {"trials": 3, "replications": 4, "seeds": [1], "validation_replications": 8},
    }
    cal = api.calibrate(scenario)
    assert set(cal.scores["strategy"]) == {"gravity", "dual_track", "persistence"}
    assert {"out_counts", "out_counts_se", "out_mix"} <= set(cal.scores.columns)
    assert list(cal.support["strategy"]) == ["dual_track"]  # the theory, not the baselines
    assert cal.verdict.startswith("**No verdict from point fits**: the optimiser check was not")
    fitted = cal.parameters[cal.parameters["strategy"] == "dual_track"]["parameter"]
    assert "firm.hurdle" in set(fitted)
    again = api.calibrate(scenario)
    pd.testing.assert_frame_equal(cal.scores, again.scores)
