"""Model invariants on the real data: feasibility, commitment, reproducibility, Mesa idioms."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

from sim.data import load_dataset
from sim.experiment.runner import run_generator, run_strategies, stream_key
from sim.model import InternationalizationModel
from sim.modes import CONTROL, EXIT, RANK
from sim.policies import get_policy, policy_names
from sim.scenario import parse_scenario
from sim.world import build_world


@pytest.fixture(scope="module")
def dataset():
    return load_dataset()


def scenario(**extra):
    raw = {
        "name": "t",
        "years": [2010, 2021],  # the paper's period, as the shipped scenarios
        "seed": 7,
        "replications": 20,
        "strategies": [{"label": p, "policy": p} for p in policy_names()],
    }
    raw.update(extra)
    return parse_scenario(raw, "test.yaml")


def test_no_deal_in_excluded_markets_and_every_market_known(dataset):
    s = scenario(
        shocks=[
            {"type": "exclude", "market": "IND", "from_year": 2014},
            {"type": "exclude", "market": "USA", "from_year": 2010, "to_year": 2015},
        ]
    )
    world = build_world(dataset, s)
    ev = run_strategies(world, s.strategies, s.firm, s.seed, 20).events
    ev = ev[ev["mode"] != EXIT]  # deals only: a firm may still exit a market closed to new deals
    ind, usa = world.iso3.index("IND"), world.iso3.index("USA")
    assert ev.size > 1000
    assert not ((ev["market"] == ind) & (ev["year"] >= 2014)).any()
    assert not ((ev["market"] == usa) & (ev["year"] <= 2015)).any()
    assert ((ev["market"] == usa) & (ev["year"] > 2015)).any()
    assert ((ev["market"] == ind) & (ev["year"] < 2014)).any()
    assert set(np.unique(ev["market"])) <= set(range(world.n_markets))


def test_a_market_is_controlled_at_most_once_and_commitment_is_the_highest_rung(dataset):
    # Replaying the events in order: an exit resets the market's commitment, a completed deal
    # raises it to its rung, and no market is controlled twice while it is held.
    s = scenario()
    world = build_world(dataset, s)
    exits = 0
    for name in ("dual_track", "springboard", "oli_logit"):
        policy = get_policy(name)(get_policy(name).Params())
        for seed in range(5):
            model = InternationalizationModel(world, policy, s.firm, rng=seed)
            ev = model.run()
            expected = np.zeros(world.n_markets, dtype=int)
            for e in ev:
                market, mode = int(e["market"]), int(e["mode"])
                if mode == EXIT:
                    assert expected[market] > 0, name  # only a held market is exited
                    expected[market] = 0
                    exits += 1
                elif not e["blocked"]:
                    assert not (mode == CONTROL and expected[market] >= RANK[CONTROL]), name
                    expected[market] = max(expected[market], int(RANK[mode]))
            np.testing.assert_array_equal(model.firm.commitment, expected)
            done = ev[(ev["blocked"] == 0) & (ev["mode"] != EXIT)]
            np.testing.assert_array_equal(
                model.firm.deals, np.bincount(done["market"], minlength=world.n_markets)
            )
    assert exits > 0  # the replay did exercise exits


def test_the_oracle_copies_the_record_counts_and_nothing_else_does(dataset):
    s = scenario()
    world = build_world(dataset, s)
    ens = run_strategies(world, s.strategies, s.firm, s.seed, 10)
    for k, label in enumerate(ens.labels):
        ev = ens.events[(ens.events["strategy"] == k) & (ens.events["mode"] != EXIT)]
        counts = np.stack(
            [
                np.bincount(ev["year"][ev["replication"] == r] - 2010, minlength=12)
                for r in range(10)
            ]
        )
        copies = bool((counts == world.record_counts).all())
        assert copies == (label == "random"), label


def test_same_seed_same_events_and_another_seed_differs(dataset):
    s = scenario()
    world = build_world(dataset, s)
    a = run_strategies(world, s.strategies, s.firm, 11, 10).events
    b = run_strategies(world, s.strategies, s.firm, 11, 10).events
    c = run_strategies(world, s.strategies, s.firm, 12, 10).events
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)


def test_run_streams_are_keyed_by_label_not_position(dataset):
    x = run_generator(5, "dual_track", 0, 3).random(4)
    np.testing.assert_array_equal(x, run_generator(5, "dual_track", 0, 3).random(4))
    assert not np.array_equal(x, run_generator(5, "kojima", 0, 3).random(4))
    assert stream_key("dual_track") != stream_key("dual_track2")
    # Adding a strategy in front leaves another strategy's runs unchanged.
    s1 = scenario(strategies=[{"label": "dt", "policy": "dual_track"}])
    s2 = scenario(
        strategies=[{"label": "k", "policy": "kojima"}, {"label": "dt", "policy": "dual_track"}]
    )
    world = build_world(dataset, s1)
    one = run_strategies(world, s1.strategies, s1.firm, 3, 5).events
    two = run_strategies(world, s2.strategies, s2.firm, 3, 5).events
    mine = two[two["strategy"] == 1]
    for name in ("year", "market", "mode", "blocked", "industry", "replication"):
        np.testing.assert_array_equal(one[name], mine[name])


def test_mesa_steps_and_running_stop_at_the_last_year(dataset):
    s = scenario()
    world = build_world(dataset, s)
    model = InternationalizationModel(
        world, get_policy("dual_track")(get_policy("dual_track").Params()), s.firm, rng=1
    )
    assert model.running and model.year == 2010
    model.step()
    model.step()
    assert model.steps == 2 and model.year == 2012
    first_two = model.events.copy()
    np.testing.assert_array_equal(model.events, first_two)  # reading does not re-draw anything
    while model.running:
        model.step()
    assert model.steps == world.n_years
    n = model.events.size
    model.step()  # stepping past the end adds nothing
    assert model.events.size == n
    np.testing.assert_array_equal(model.events[: first_two.size], first_two)
    assert len(model.agents) == 1  # markets are environment state, not agents


def test_india_barriers_rise_in_2020_and_move_with_the_shock(dataset):
    base = build_world(dataset, scenario())
    moved = build_world(
        dataset,
        scenario(
            shocks=[{"type": "move_barriers", "market": "IND", "from_year": 2020, "to_year": 2016}]
        ),
    )
    i = base.iso3.index("IND")
    assert base.barriers[10, i] > base.barriers[9, i] + 0.5  # 2020 events
    assert moved.barriers[6, i] > base.barriers[6, i] + 0.5  # now from 2016
    assert moved.barriers[11, i] == pytest.approx(base.barriers[11, i])
    assert base.p_block[10, i] > base.p_block[9, i]


def test_capital_shock_lowers_resources_only_in_its_years(dataset):
    base = build_world(dataset, scenario())
    shocked = build_world(
        dataset,
        scenario(
            shocks=[{"type": "capital", "from_year": 2015, "to_year": 2016, "multiplier": 0.5}]
        ),
    )
    diff = shocked.log_resources - base.log_resources
    np.testing.assert_allclose(diff[[5, 6]], np.log(0.5))
    np.testing.assert_allclose(np.delete(diff, [5, 6]), 0.0)


def test_model_is_garbage_collected_after_a_run(dataset):
    s = scenario()
    world = build_world(dataset, s)
    model = InternationalizationModel(
        world, get_policy("kojima")(get_policy("kojima").Params()), s.firm, rng=2
    )
    model.run()
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None
