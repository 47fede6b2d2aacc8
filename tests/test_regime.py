"""The home regime per kind of event: its index, what is fitted, priors and range notes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.calibration.calibrate import free_parameters
from sim.cli import main
from sim.data.taxonomy import HOME_POLICY_KINDS
from sim.inference.forecast import predictive, sensitivity, sensitivity_markdown, table_worlds
from sim.inference.job import models_of
from sim.priors import Prior, choose
from sim.scenario import HOME_POLICY_EFFECTS, REGIME_EFFECT_FIELDS, Firm, load_scenario
from sim.world import build_world, identified_effects, regime_index, regime_outside
from tests.toy import toy_world

GRAVITY = (
    "name: small\nseed: 3\nyears: [2010, 2021]\n"
    "strategies:\n  - {label: gravity, policy: gravity}\n"
)
TOY_EVENTS = pd.DataFrame(
    {
        "date": ["2011-09-10", "2012-07", "2013", "2013-04-01"],
        "kind": [
            "outbound_easing",
            "outbound_tightening",
            "platform_regulation",
            "capital_controls",
        ],
        "direction": [1, -1, -1, 1],
    }
)


def _toy():
    world = toy_world(n_years=5)  # 2010-2014
    return dataclasses.replace(world, regime=regime_index(TOY_EVENTS, world.years))


def test_every_kind_has_an_effect_with_a_prior():
    assert set(HOME_POLICY_EFFECTS) == set(HOME_POLICY_KINDS)
    declared = choose(Firm) | choose(Firm, group="regime_priors")
    assert set(REGIME_EFFECT_FIELDS) <= set(declared)


def test_the_index_has_one_column_per_kind_and_each_effect_sums_its_kinds():
    world = _toy()
    expected = np.array(
        [  # easing, tightening, platform regulation, capital controls (HOME_POLICY_KINDS)
            [0, 0, 0, 0],
            [4 / 12, 0, 0, 0],  # September: a third of the year left
            [1, -6 / 12, 0, 0],  # month only: counted from the first of July
            [1, -1, -1, 9 / 12],  # year only: the whole year
            [1, -1, -1, 1],
        ]
    )
    assert world.regime_kinds == HOME_POLICY_KINDS
    np.testing.assert_allclose(world.regime, expected)
    outbound = expected[:, [0, 1, 3]].sum(axis=1)
    np.testing.assert_allclose(world.regime_effects, np.column_stack([outbound, expected[:, 2]]))
    np.testing.assert_allclose(world.home_regime, expected.sum(axis=1))


def test_an_effect_whose_kinds_the_window_does_not_move_is_not_fitted(tmp_path):
    world = _toy()
    assert identified_effects(world, (2010, 2012)) == ("home_policy_effect",)
    assert identified_effects(world, (2010, 2014)) == REGIME_EFFECT_FIELDS
    path = tmp_path / "s.yaml"
    path.write_text(GRAVITY)
    scenario = load_scenario(path)
    strategy = scenario.strategies[0]
    real = build_world(scenario.load_data(path), scenario)
    window = scenario.calibration.window
    assert window == (2010, 2017)
    fitted = [n for n, *_ in free_parameters(strategy, scenario, identified_effects(real, window))]
    assert "firm.home_policy_effect" in fitted
    assert "firm.platform_regulation_effect" not in fitted
    whole = [
        n for n, *_ in free_parameters(strategy, scenario, identified_effects(real, (2010, 2021)))
    ]
    assert "firm.platform_regulation_effect" in whole  # once the window holds its events
    model = models_of(scenario, "declared", identified=identified_effects(real, window))[0]
    assert "platform_regulation_effect" not in model.priors
    assert list(model.unfitted) == ["platform_regulation_effect"]


def test_the_unfitted_prior_moves_the_conditional_forecast_and_not_the_ex_ante_one(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(GRAVITY)
    scenario = load_scenario(path)
    data = scenario.load_data(path)
    model = models_of(scenario, "declared")[0]
    centre = np.array([[(p.low + p.high) / 2 for p in model.priors.values()]] * 3)
    posteriors = {"gravity": centre}

    worlds = table_worlds(scenario, data, str(path))

    def forecast(prior: Prior, table: str) -> np.ndarray:
        m = dataclasses.replace(model, unfitted={"platform_regulation_effect": prior})
        rng = np.random.default_rng(5)
        events, _ = predictive(m, worlds[table], centre, list(model.priors), rng, runs=200)
        return events[events["year"] >= 2018]

    weak, strong = Prior(-0.1, 0.0, "weak"), Prior(0.25, 0.3, "strong")
    np.testing.assert_array_equal(forecast(weak, "ex_ante"), forecast(strong, "ex_ante"))
    assert len(forecast(weak, "conditional")) > 1.2 * len(forecast(strong, "conditional"))

    table = sensitivity(scenario, data, [model], posteriors, str(path)).set_index(
        ["table", "level"]
    )
    assert list(table.loc["conditional", "platform_regulation_effect"]) == pytest.approx(
        [-0.06, 0.1, 0.26]  # the 10, 50 and 90 % quantiles of the declared prior -0.1..0.3
    )
    ex_ante, conditional = table.loc["ex_ante"], table.loc["conditional"]
    assert ex_ante["deals_per_year"].nunique() == 1
    low, central, high = conditional["deals_per_year"]
    assert low > central > high  # a stronger deterrent, fewer deals in 2020-21
    text = "\n".join(sensitivity_markdown(table.reset_index()))
    assert "(low -0.06; central 0.1; high 0.26)" in text
    assert "largest spread over the levels 0 deals a year" in text
    row = next(x for x in text.splitlines() if x.startswith("| gravity"))
    assert [c.strip() for c in row.split("|")[2:5]] == [f"{v:.3g}" for v in (low, central, high)]


def test_years_outside_the_window_range_are_named():
    notes = regime_outside(_toy(), (2010, 2012))
    assert notes == [
        "outbound_easing/outbound_tightening/capital_controls index (home_policy_effect) "
        "outside its 2010-2012 range [0.00, 0.50] in 2013-2014 (from 0.75 to 1.00): the "
        "forecast extrapolates this effect",
        "platform_regulation index (platform_regulation_effect) outside its 2010-2012 range "
        "[0.00, 0.00] in 2013-2014 (from -1.00 to -1.00): the forecast extrapolates this effect",
    ]
    assert regime_outside(_toy(), (2010, 2014)) == []


def test_a_run_report_flags_the_regime_out_of_range(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(GRAVITY + "replications: 2\n")
    assert main(["run", str(path), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    report = (tmp_path / "o" / "report.md").read_text()
    line = next(x for x in report.splitlines() if "home regime out of its calibration" in x)
    assert "platform_regulation index (platform_regulation_effect)" in line
    assert "2010-2017 range [0.00, 0.00] in 2020-2021" in line


def test_regime_notes_cover_the_record_and_the_projected_years():
    from sim.projection.futures import regime_notes
    from sim.projection_spec import Uncertainties

    root = Path(__file__).parents[1]
    scenario = load_scenario(root / "scenarios" / "baseline.yaml")
    world = build_world(scenario.load_data(root / "scenarios" / "baseline.yaml"), scenario)
    spec = Uncertainties.model_validate({"home_regime": {"low": -1.0, "high": 1.0}})
    notes = regime_notes(world, [2022, 2023], spec, scenario.firm, (2010, 2017))
    assert notes[0].startswith("platform_regulation index (platform_regulation_effect)")
    assert "in 2020-2023" in notes[0]  # the record's 2020-21 and the projected years
    # the outbound index leaves 1.00-6.92 only when the future keeps tightening (2.0 - 2 = 0)
    assert len(notes) == 2 and notes[1].startswith("with the home_regime future at -1 a year")
    assert "in 2023 (from 0.00 to 0.00)" in notes[1]
