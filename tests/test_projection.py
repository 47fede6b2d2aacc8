"""`sim project`: warm start, extended world, futures, robustness, PRIM and the command."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.analysis.ensemble import encode_record
from sim.cli import main
from sim.data import load_dataset
from sim.data.record import history as record_history
from sim.engine import BatchState, draw_batch, simulate
from sim.errors import SimInputError
from sim.experiment.runner import run_generator
from sim.policies import get_policy
from sim.projection.discovery import discover
from sim.projection.exploration import MISSING_EMA, explore, require_ema
from sim.projection.futures import Future, carried_forward, extend_world
from sim.projection.model import Lever, ProjectionModel
from sim.projection.robustness import regret, robustness_table, satisfices
from sim.projection.warm import warm_state
from sim.projection_spec import Robustness, Uncertainties
from sim.scenario import parse_scenario
from sim.world import build_world

STATE = ("commitment", "experience", "deals", "mode_deals", "industry_deals", "load")
UNCERTAINTIES = {
    "revenue_growth": {"low": -0.05, "high": 0.1},
    "barriers": [
        {
            "name": "west",
            "markets": ["USA", "EUU"],
            "from_year": 2022,
            "factor": {"low": 1, "high": 4},
        }
    ],
}


@pytest.fixture(scope="module")
def dataset():
    return load_dataset()


def scenario(**extra):
    raw = {
        "name": "p",
        "years": [2010, 2021],  # the projections below start after 2021
        "seed": 5,
        "strategies": [
            {"label": "grav", "policy": "gravity", "firm": {"hurdle": 1.0}},
            {"label": "dual", "policy": "dual_track"},
        ],
    }
    raw.update(extra)
    return parse_scenario(raw, "p.yaml")


@pytest.fixture(scope="module")
def setup(dataset):
    s = scenario()
    world = build_world(dataset, s)
    record = encode_record(record_history(dataset, s.scope), world)
    return s, world, record


def model(setup, dataset, replications=4):
    s, world, record = setup
    levers = [
        Lever(x.label, x.policy_class()(x.make_params()), x.firm_for(s.firm)) for x in s.strategies
    ]
    unc = Uncertainties.model_validate(UNCERTAINTIES)
    return ProjectionModel(
        world, record, levers, s.firm, unc, 2026, s.seed, replications, dataset.indicators
    )


def test_warm_state_rebuilds_the_engines_own_state_from_its_events(setup):
    # Invariant: replaying a run's completed deals through close_year gives exactly the state
    # the engine reached choosing them; and continuing from that state gives the same events.
    s, world, _ = setup
    policy = get_policy("dual_track")(get_policy("dual_track").Params())
    gens = [run_generator(1, "x", 0, r) for r in range(5)]
    draws = draw_batch(gens, world.n_years, s.firm.opportunities, world.n_markets)
    state = BatchState(world, 5, s.firm.region_spillover)
    events, run = simulate(world, policy, s.firm, draws, state=state)
    assert events.size > 20
    k = 7
    for r in range(5):
        mine = events[run == r]
        warm = warm_state(world, s.firm, mine, 1, world.n_years)
        for name in STATE:
            assert np.array_equal(getattr(warm, name)[0], getattr(state, name)[r]), name
        half = warm_state(world, s.firm, mine, 1, k)
        one = tuple(d[r : r + 1] for d in draws)
        rest, _ = simulate(world, policy, s.firm, one, state=half, start=k)
        assert rest.tobytes() == mine[mine["year"] >= world.years[k]].tobytes()


def test_extended_world_keeps_the_record_and_carries_forward(setup, dataset):
    s, world, _ = setup
    future = Future(revenue_growth=0.1, home_regime=0.5, barriers=((("USA",), 2024, 3.0),))
    record_only = dataset.indicators[dataset.indicators["year"] <= 2021]
    ext = extend_world(world, range(2022, 2027), future, s.firm, record_only)
    n = world.n_years
    for name in ("maturity", "barriers", "growth", "size", "p_block", "log_resources"):
        assert np.array_equal(getattr(ext, name)[:n], getattr(world, name)), name
    usa, chn_free = world.iso3.index("USA"), world.iso3.index("DEU")
    # indicators end in 2021: carried forward on the record's scale
    np.testing.assert_allclose(ext.maturity[n:], np.tile(world.maturity[-1], (5, 1)))
    assert ext.barriers[n + 1, usa] == world.barriers[-1, usa]  # 2023: before from_year
    assert ext.barriers[n + 2, usa] == pytest.approx(3 * world.barriers[-1, usa])
    assert ext.barriers[n + 2, chn_free] == world.barriers[-1, chn_free]
    assert ext.p_block[n + 2, usa] > ext.p_block[n + 1, usa]
    np.testing.assert_allclose(np.diff(ext.log_resources[n - 1 :]), np.log(1.1))
    np.testing.assert_allclose(np.diff(ext.home_regime[n - 1 :]), 0.5)
    assert ext.record_counts[n:].sum() == 0


def test_same_seed_gives_identical_experiments(setup, dataset):
    m = model(setup, dataset, replications=2)
    a = explore(m, ["grav", "dual"], 3, seed=11)
    b = explore(model(setup, dataset, replications=2), ["grav", "dual"], 3, seed=11)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.arrays["deals_by_year"].tobytes() == b.arrays["deals_by_year"].tobytes()
    assert sorted(a.table["future"].unique()) == [0, 1, 2]
    assert a.arrays["deals_by_year"].shape == (6, 2, 5)


@pytest.mark.parametrize(("small", "runs_on"), [(10_000, "serial"), (0, "local")])
def test_workers_give_the_same_experiments_and_a_small_projection_runs_in_process(
    setup, dataset, monkeypatch, small, runs_on
):
    """Worker start-up outweighs a small projection's runs (SMALL_PROJECTION): it stays here."""
    import sim.projection.exploration as exploration

    one = explore(model(setup, dataset, replications=2), ["grav", "dual"], 3, seed=11)
    used: list[str] = []
    original = exploration.evaluator_for

    def spy(workers: int, tasks: int):
        evaluator = original(workers, tasks)
        used.append(evaluator.name)
        return evaluator

    monkeypatch.setattr(exploration, "evaluator_for", spy)
    monkeypatch.setattr(exploration, "SMALL_PROJECTION", small)
    two = explore(model(setup, dataset, replications=2), ["grav", "dual"], 3, seed=11, workers=2)
    assert used == [runs_on]  # 3 futures x 2 strategies x 2 runs = 12 runs
    pd.testing.assert_frame_equal(one.table, two.table)
    for name, values in one.arrays.items():
        assert values.tobytes() == two.arrays[name].tobytes()


def test_barrier_escalation_gives_fewer_deals_in_the_affected_markets(setup, dataset):
    m = model(setup, dataset, replications=150)
    _, world, _ = setup
    cols = [world.iso3.index("USA"), *(world.iso3.index(c) for c in ("DEU", "FRA", "ITA"))]
    open_ = m("grav", revenue_growth=0.0, barrier_west=1.0)
    closed = m("grav", revenue_growth=0.0, barrier_west=4.0)
    low = open_["deals_by_market"][cols].sum()
    high = closed["deals_by_market"][cols].sum()
    assert low > 0.5
    assert high < 0.7 * low
    assert closed["blocked_share"] > open_["blocked_share"]


def test_regret_is_zero_for_the_best_strategy_in_each_future():
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "future": np.repeat(np.arange(6), 3),
            "strategy": np.tile(["a", "b", "c"], 6),
            "deals_per_year": rng.random(18) * 10,
            "blocked_share": rng.random(18) * 0.3,
        }
    )
    r = regret(table, "deals_per_year")
    assert (r >= 0).all().all()
    assert (r.min(axis=1) == 0).all()
    best = table.loc[table.groupby("future")["deals_per_year"].idxmax(), "strategy"].to_numpy()
    assert (r.idxmin(axis=1).to_numpy() == best).all()
    rules = Robustness(satisficing={"deals_per_year": {"min": 5}, "blocked_share": {"max": 0.2}})
    ok = satisfices(table, rules)
    assert (
        ok.tolist() == ((table["deals_per_year"] >= 5) & (table["blocked_share"] <= 0.2)).tolist()
    )
    robust = robustness_table(table, rules)
    assert robust["regret_max"].is_monotonic_increasing
    assert robust["best_share"].sum() == pytest.approx(1.0)
    low = regret(table, "blocked_share", "min")
    assert (low.min(axis=1) == 0).all()


def test_prim_finds_the_one_uncertainty_that_drives_failure():
    rng = np.random.default_rng(3)
    n = 200
    table = pd.DataFrame(
        {
            "future": np.arange(n),
            "strategy": "s",
            "barrier_us": rng.uniform(1, 3, n),
            "revenue_growth": rng.uniform(-0.1, 0.2, n),
        }
    )
    ok = pd.Series(table["barrier_us"] < 2.2)
    boxes = discover(
        table,
        ok,
        ["barrier_us", "revenue_growth"],
        {"barrier_us": (1, 3), "revenue_growth": (-0.1, 0.2)},
    )
    assert boxes["uncertainty"].tolist() == ["barrier_us"]
    row = boxes.iloc[0]
    assert row["low"] == pytest.approx(2.2, abs=0.1)
    assert row["coverage"] > 0.8 and row["density"] > 0.8
    never = discover(
        table, pd.Series(True, index=table.index), ["barrier_us"], {"barrier_us": (1, 3)}
    )
    assert never["note"].iloc[0].startswith("never fails")


BAD = [
    ({"horizon": 2020}, "projection.horizon"),
    ({"horizon": 2030, "typo": 1}, "projection.typo"),
    (
        {"uncertainties": {"revenue_growth": {"low": 0.2, "high": 0.1}}},
        "projection.uncertainties.revenue_growth",
    ),
    (
        {
            "uncertainties": {
                "barriers": [
                    {
                        "name": "x",
                        "markets": ["USA"],
                        "from_year": 2019,
                        "factor": {"low": 1, "high": 2},
                    }
                ]
            }
        },
        "projection.uncertainties.barriers[0].from_year",
    ),
    ({"uncertainties": {}}, "projection.uncertainties"),
    ({"futures": 1}, "projection.futures"),
]


@pytest.mark.parametrize(("patch", "field"), BAD)
def test_bad_projection_sections_name_file_and_field(patch, field):
    section = {"horizon": 2030, "uncertainties": {"climate": {"low": -1, "high": 1}}}
    section.update(patch)
    with pytest.raises(SimInputError) as err:
        scenario(projection=section)
    assert "p.yaml" in str(err.value)
    assert field in str(err.value)


def _write(tmp_path, **projection):
    section = {
        "horizon": 2024,
        "futures": 3,
        "replications": 2,
        "uncertainties": UNCERTAINTIES,
        "robustness": {"satisficing": {"deals_per_year": {"min": 3}}},
    }
    section.update(projection)
    raw = {
        "name": "tiny",
        "years": [2010, 2021],
        "seed": 2,
        "strategies": [
            {"label": "grav", "policy": "gravity", "firm": {"hurdle": 1.0}},
            {"label": "uppsala", "policy": "uppsala"},
        ],
        "projection": section,
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_cli_writes_every_output_and_refuses_a_foreign_folder(tmp_path, capsys):
    path = _write(tmp_path)
    out = tmp_path / "o"
    assert main(["project", str(path), "--out", str(out)]) == 0
    for name in (
        "experiments.csv",
        "yearly.csv",
        "mix_by_year.csv",
        "robustness.csv",
        "robustness.md",
        "prim_boxes.csv",
        "carried_forward.csv",
        "figures/fan_chart.png",
        "figures/mode_mix.png",
        "figures/region_mix.png",
        "report.md",
        "manifest.json",
        ".sim-result.json",
    ):
        assert (out / name).is_file(), name
    experiments = pd.read_csv(out / "experiments.csv")
    assert len(experiments) == 6 and set(experiments["strategy"]) == {"grav", "uppsala"}
    yearly = pd.read_csv(out / "yearly.csv")
    assert set(yearly.loc[yearly["strategy"] == "record", "year"]) == set(range(2010, 2022))
    assert set(yearly.loc[yearly["strategy"] == "grav", "year"]) == {2022, 2023, 2024}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["projected_years"] == [2022, 2024] and manifest["futures"] == 3
    assert "How to read the fan chart" in (out / "report.md").read_text()
    # the same command again replaces its own result; a folder of the user's is refused
    assert main(["project", str(path), "--out", str(out), "--futures", "2"]) == 0
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    capsys.readouterr()
    assert main(["project", str(path), "--out", str(mine)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "out" in err[0]
    assert (mine / "notes.txt").read_text() == "keep"


@pytest.mark.parametrize(
    ("projection", "strategies", "field"),
    [
        (
            {
                "uncertainties": {
                    "barriers": [
                        {
                            "name": "x",
                            "markets": ["ZZZ"],
                            "from_year": 2023,
                            "factor": {"low": 1, "high": 2},
                        }
                    ]
                }
            },
            None,
            "projection.uncertainties.barriers[0].markets",
        ),
        ({}, [{"label": "oracle", "policy": "random"}], "strategies[0].policy"),
        ({"start_from": "missing.yaml"}, None, "projection.start_from"),
    ],
)
def test_cli_bad_input_is_one_line_with_exit_2(tmp_path, capsys, projection, strategies, field):
    path = _write(tmp_path, **projection)
    if strategies is not None:
        raw = yaml.safe_load(path.read_text())
        raw["strategies"] = strategies
        path.write_text(yaml.safe_dump(raw))
    assert main(["project", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "tiny.yaml" in err[0]
    assert field in err[0]
    assert not (tmp_path / "o").exists()


def test_missing_extra_is_one_clear_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "ema_workbench", None)
    with pytest.raises(SimInputError) as err:
        require_ema("s.yaml")
    assert MISSING_EMA in str(err.value) and "project" in str(err.value)


def test_the_run_path_never_imports_the_ema_workbench():
    import subprocess

    code = (
        "import sys, sim.cli, sim.api, sim.scenario, sim.experiment.job; "
        "sim.scenario.load_scenario('scenarios/project_2030.yaml'); "
        "print(any(m.startswith('ema_workbench') for m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == "False"


def test_extended_world_uses_indicator_years_when_present(setup, dataset):
    s, world, _ = setup
    ind = dataset.indicators[dataset.indicators["year"] <= 2021]
    last = ind[ind["year"] == 2021].copy()
    given = last[last["iso3"] == "USA"].assign(year=2022)
    given.loc[given["indicator"] == "gdp_pc_usd", "value"] *= 1.5
    table = pd.concat([ind, given], ignore_index=True)
    ext = extend_world(world, [2022, 2023], Future(), s.firm, table)
    usa, n = world.iso3.index("USA"), world.n_years
    assert ext.maturity[n, usa] > world.maturity[-1, usa]  # 2022 read from the table
    assert ext.maturity[n + 1, usa] == ext.maturity[n, usa]  # 2023 carried from 2022
    assert ext.size[n, usa] == pytest.approx(world.size[-1, usa] + np.log(1.5))
    other = world.iso3.index("DEU")
    assert ext.maturity[n, other] == world.maturity[-1, other]
    flags = carried_forward(world, [2022, 2023], table).set_index("indicator")
    assert flags.loc["gdp_pc_usd", "market_years_carried"] == 2 * world.n_markets - 1


def test_cli_without_projection_section_or_with_bad_flags_is_exit_2(tmp_path, capsys):
    plain = tmp_path / "plain.yaml"
    plain.write_text(
        yaml.safe_dump({"name": "x", "strategies": [{"label": "g", "policy": "gravity"}]})
    )
    assert main(["project", str(plain), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "plain.yaml" in err[0] and "projection" in err[0]
    path = _write(tmp_path)
    assert main(["project", str(path), "--futures", "0", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--futures" in err[0]
    assert not (tmp_path / "o").exists()


def test_scenario_check_notes_what_sim_project_would_refuse(tmp_path, capsys):
    path = _write(tmp_path)
    raw = yaml.safe_load(path.read_text())
    raw["projection"]["uncertainties"]["barriers"][0]["markets"] = ["QQQ"]
    path.write_text(yaml.safe_dump(raw))
    assert main(["scenario", "check", str(path)]) == 0  # `sim run` accepts it
    out, err = capsys.readouterr()
    note = out.splitlines()[-1]
    assert err == "" and note.startswith(f"note: `sim project` would refuse it: {path}: ")
    assert "field 'projection.uncertainties.barriers[0].markets'" in note
    assert main(["project", str(path), "--out", str(tmp_path / "o")]) == 2
    assert "projection.uncertainties.barriers[0].markets" in capsys.readouterr().err


def test_start_from_takes_calibrated_params_and_firm_by_label(tmp_path):
    from sim.projection.job import _strategies

    calibrated = {
        "name": "c_calibrated",
        "strategies": [
            {"label": "uppsala", "policy": "uppsala", "params": {"softness": 3.0}},
            {
                "label": "grav",
                "policy": "gravity",
                "params": {"beta_size": 0.5},
                "firm": {"hurdle": 2.5},
            },
        ],
    }
    (tmp_path / "cal.yaml").write_text(yaml.safe_dump(calibrated))
    path = _write(tmp_path, start_from="cal.yaml")
    s = parse_scenario(yaml.safe_load(path.read_text()), path)
    got = {x.label: x for x in _strategies(s, s.projection, str(path))}
    assert got["grav"].params == {"beta_size": 0.5} and got["grav"].firm == {"hurdle": 2.5}
    assert got["uppsala"].params == {"softness": 3.0}
    assert got["grav"].firm_for(s.firm).hurdle == 2.5


def test_outcomes_count_deals_of_the_compared_modes_and_entries_of_all(setup):
    """A greenfield entry is an entry (mode mix, markets entered) but, by default, not a deal."""
    from sim.events import EVENT_DTYPE
    from sim.modes import GREENFIELD, MINORITY, MODE_NAMES
    from sim.projection.model import outcomes

    _, world, _ = setup
    start = world.n_years - 1
    events = np.zeros(2, dtype=EVENT_DTYPE)
    events["year"] = world.years[start]
    events["market"] = [0, 1]
    events["mode"] = [MINORITY, GREENFIELD]
    out = outcomes(events, np.zeros(2), world, start, 1, np.zeros(world.n_markets, dtype=bool))
    assert out["deals_total"] == 1.0  # the minority stake; greenfield is not a compared mode
    assert out["markets_entered"] == 2.0
    assert out[f"share_{MODE_NAMES[GREENFIELD]}"] == 0.5
