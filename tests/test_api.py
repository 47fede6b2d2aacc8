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
        assert row.value == pytest.approx(expected[row.strategy])


def test_api_mesa_engine_gives_the_same_events():
    scenario = api.load(ROOT / "scenarios" / "mature_first.yaml")
    a = api.run(scenario, replications=3)
    b = api.run(scenario, replications=3, engine="mesa")
    pd.testing.assert_frame_equal(a.events, b.events)


def test_api_rejects_a_bad_scenario_with_the_field():
    with pytest.raises(SimInputError, match="strategies"):
        api.load({"name": "x", "strategies": [{"label": "a", "policy": "nope"}]})
