"""Calibration: parameter recovery, no peeking at the validation years, resume, the full command."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.calibration.calibrate import calibrate, free_parameters
from sim.calibration.objective import record_window
from sim.cli import main
from sim.data import load_dataset
from sim.experiment.runner import run_generator, run_once
from sim.modes import MODE_NAMES
from sim.policies import get_policy
from sim.scenario import load_scenario, parse_scenario
from sim.world import build_world

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data():
    return load_dataset()


def scenario(**calibration):
    cal = {
        "trials": 30,
        "replications": 20,
        "seeds": [1],
        "validation_replications": 20,
        "parameters": {"dt": ["aggressiveness", "emerging_control"]},
    }
    cal.update(calibration)
    return parse_scenario(
        {
            "name": "rec",
            "seed": 9,
            "firm": {"budget_noise": 1000, "block_base": 0, "block_slope": 0},
            "strategies": [{"label": "dt", "policy": "dual_track"}],
            "calibration": cal,
        },
        "rec.yaml",
    )


def synthetic_record(data, s, params, seed=1) -> pd.DataFrame:
    """One run of dual-track with known parameters, written as a record."""
    world = build_world(data, s)
    cls = get_policy("dual_track")
    ev = run_once(world, cls(cls.Params(**params)), s.firm, run_generator(seed, 0, 0, 0))
    return pd.DataFrame(
        {
            "year": ev[:, 0],
            "country_iso3": [world.iso3[m] for m in ev[:, 1]],
            "mode": [
                "other" if b else MODE_NAMES[m] for m, b in zip(ev[:, 2], ev[:, 3], strict=True)
            ],
            "entity": "Alibaba Group",
            "industry": "ecommerce",
        }
    )


def test_calibration_recovers_known_parameters(data, tmp_path):
    s = scenario()
    truth = {"aggressiveness": 1.5, "emerging_control": 3.0}
    record = synthetic_record(data, s, truth)
    result = calibrate(s, replace(data, events=record), f"sqlite:///{tmp_path / 'c.db'}")
    fit = result.fits[0]
    assert fit.free == ["aggressiveness", "emerging_control"]
    assert fit.params["aggressiveness"] == pytest.approx(1.5, abs=0.25)
    assert fit.params["emerging_control"] == pytest.approx(3.0, abs=2.0)
    default = get_policy("dual_track").Params().aggressiveness
    assert abs(default - 1.5) > 0.25  # the optimiser had to move it


def test_validation_years_never_reach_the_fit(data, tmp_path):
    s = scenario(trials=8, replications=6)
    record = data.events
    changed = record.copy()
    late = changed["year"] >= 2018
    changed.loc[late, "country_iso3"] = "BRA"  # rewrite every out-of-sample event
    changed.loc[late, "mode"] = "control"
    a = calibrate(s, data, f"sqlite:///{tmp_path / 'a.db'}")
    b = calibrate(s, replace(data, events=changed), f"sqlite:///{tmp_path / 'b.db'}")
    assert a.fits[0].params == b.fits[0].params
    assert a.fits[0].best_loss == b.fits[0].best_loss
    pd.testing.assert_frame_equal(a.fits[0].trials, b.fits[0].trials)
    # ... while the out-of-sample score does see the change
    assert a.validations[0].out_of_sample != b.validations[0].out_of_sample
    world = build_world(data, s)
    in_window = record_window(changed, world, (2010, 2017))
    assert in_window.yearly.shape == (1, 8)
    assert in_window.stats.countries[0, world.iso3.index("BRA")] == int(
        ((record["country_iso3"] == "BRA") & (record["year"] <= 2017)).sum()
    )


def test_interrupted_calibration_resumes(data, tmp_path):
    storage = f"sqlite:///{tmp_path / 'r.db'}"
    first = calibrate(scenario(trials=3, replications=4), data, storage)
    more = calibrate(scenario(trials=6, replications=4), data, storage)
    assert len(first.fits[0].trials) == 3 and len(more.fits[0].trials) == 6
    pd.testing.assert_frame_equal(first.fits[0].trials, more.fits[0].trials.iloc[:3])


def test_null_model_has_nothing_to_fit():
    s = parse_scenario(
        {
            "name": "n",
            "strategies": [{"label": "r", "policy": "random"}, {"label": "k", "policy": "kojima"}],
        },
        "n.yaml",
    )
    assert free_parameters(s.strategies[0], s) == []
    names = [n for n, _, _ in free_parameters(s.strategies[1], s)]
    assert "ceiling_rate" in names and "direction" not in names


def test_quick_calibration_end_to_end(tmp_path, capsys):
    out = tmp_path / "cal"
    assert (
        main(
            [
                "calibrate",
                str(ROOT / "scenarios" / "calibrate_all.yaml"),
                "--quick",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "out_of_sample" in text
    report = out / "report"
    for name in (
        "report.md",
        "ranking.csv",
        "ranking_by_seed.csv",
        "parameters.csv",
        "held_out_patterns.csv",
        "trials.csv",
        "sensitivity.csv",
        "calibrated.yaml",
        "figures/convergence.png",
        "figures/sensitivity.png",
        "validation_run/figures/deals_per_year.png",
    ):
        assert (report / name).is_file(), name
    ranking = pd.read_csv(report / "ranking_by_seed.csv")
    assert sorted(ranking["seed"].unique()) == [1, 2, 3]
    assert len(ranking) == 7 * 3
    held = pd.read_csv(report / "held_out_patterns.csv")
    assert set(held["pattern"]) == {
        "control_log_odds",
        "equity_log_odds",
        "rho_entry_maturity",
        "rho_entry_culture",
        "escalation",
    }
    calibrated = load_scenario(report / "calibrated.yaml")
    assert [s.label for s in calibrated.strategies][:2] == ["dual_track", "diversification"]
    md = (report / "report.md").read_text()
    assert "## Verdict" in md and ("distinguishable" in md or "explains" in md)


def test_sensitivity_command(tmp_path, capsys):
    out = tmp_path / "sens"
    assert (
        main(
            ["sensitivity", str(ROOT / "scenarios" / "baseline.yaml"), "--quick", "--out", str(out)]
        )
        == 0
    )
    table = pd.read_csv(out / "sensitivity.csv")
    assert set(table["outcome"]) == {"total_deals", "us_share", "fit_loss"}
    assert {"base_capacity", "aggressiveness"} <= set(table["input"])
    assert np.isfinite(table["mu_star"]).all()
    assert (out / "sensitivity.png").is_file()


def test_overlapping_windows_are_rejected(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text(
        "name: c\nstrategies: [{label: a, policy: kojima}]\n"
        "calibration: {window: [2010, 2018], validation: [2018, 2021]}\n"
    )
    assert main(["calibrate", str(path), "--quick"]) == 2
    assert "validation window must not overlap" in capsys.readouterr().err
