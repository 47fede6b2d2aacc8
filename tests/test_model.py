"""Model invariants on the real data: feasibility, commitment ladder, capacity, reproducibility."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

from sim.data import load_dataset
from sim.experiment.runner import run_generator, run_strategies
from sim.model import InternationalizationModel
from sim.modes import CONTROL, COST, MAX_COMMITMENT
from sim.policies import get_policy, policy_names
from sim.scenario import parse_scenario
from sim.world import build_world


@pytest.fixture(scope="module")
def dataset():
    return load_dataset()


def scenario(**extra):
    raw = {
        "name": "t",
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
    ens = run_strategies(world, s.strategies, s.firm, s.seed, 20)
    ev = ens.events
    ind, usa = world.iso3.index("IND"), world.iso3.index("USA")
    assert not ((ev[:, 4] == ind) & (ev[:, 3] >= 2014)).any()
    assert not ((ev[:, 4] == usa) & (ev[:, 3] <= 2015)).any()
    assert ((ev[:, 4] == usa) & (ev[:, 3] > 2015)).any()
    assert ev[:, 4].min() >= 0 and ev[:, 4].max() < world.n_markets


@pytest.mark.parametrize("name", policy_names())
def test_commitment_never_exceeds_control_and_no_market_is_controlled_twice(dataset, name):
    s = scenario()
    world = build_world(dataset, s)
    policy = get_policy(name)(get_policy(name).Params())
    for seed in range(15):
        model = InternationalizationModel(world, policy, s.firm, rng=seed)
        ev = model.run()
        assert model.firm.commitment.max() <= MAX_COMMITMENT
        done_control = ev[(ev[:, 2] == CONTROL) & (ev[:, 3] == 0)]
        assert np.bincount(done_control[:, 1], minlength=world.n_markets).max() <= 1
        assert [m.commitment for m in model.markets] == model.firm.commitment.tolist()


@pytest.mark.parametrize("name", [p for p in policy_names() if p != "random"])
def test_yearly_capacity_is_respected(dataset, name):
    s = scenario()
    world = build_world(dataset, s)
    policy = get_policy(name)(get_policy(name).Params())
    for seed in range(10):
        model = InternationalizationModel(world, policy, s.firm, rng=seed)
        ev = model.run()
        budget = policy.params.aggressiveness * world.capacity * model.firm._budget_noise
        spent = np.bincount(
            ev[:, 0] - world.years[0], weights=COST[ev[:, 2]], minlength=world.n_years
        )
        assert np.all(spent <= budget + 1e-9)
        assert len(ev) > 0


def test_random_draws_the_record_count_each_year(dataset):
    s = scenario()
    world = build_world(dataset, s)
    policy = get_policy("random")(get_policy("random").Params())
    ev = InternationalizationModel(world, policy, s.firm, rng=3).run()
    per_year = np.bincount(ev[:, 0] - 2010, minlength=12)
    # At most the record's count; fewer only when a second control draw in one market was dropped.
    assert np.all(per_year <= world.record_counts)
    assert per_year.sum() >= world.record_counts.sum() - 5


def test_same_seed_same_events_and_different_seeds_differ(dataset):
    s = scenario()
    world = build_world(dataset, s)
    a = run_strategies(world, s.strategies, s.firm, 11, 10).events
    b = run_strategies(world, s.strategies, s.firm, 11, 10).events
    c = run_strategies(world, s.strategies, s.firm, 12, 10).events
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)


def test_run_seeds_depend_only_on_their_indices():
    x = run_generator(5, 1, 0, 3).random(4)
    y = run_generator(5, 1, 0, 3).random(4)
    z = run_generator(5, 0, 0, 3).random(4)
    np.testing.assert_array_equal(x, y)
    assert not np.array_equal(x, z)


def test_market_agents_read_the_current_year(dataset):
    s = scenario()
    world = build_world(dataset, s)
    model = InternationalizationModel(
        world, get_policy("dual_track")(get_policy("dual_track").Params()), s.firm, rng=1
    )
    india = model.market("IND")
    assert india.maturity == pytest.approx(world.maturity[0, world.iso3.index("IND")])
    model.step()
    model.step()
    assert model.year == 2012
    assert india.barriers == pytest.approx(world.barriers[2, world.iso3.index("IND")])
    assert len(model.agents) == world.n_markets + 1


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


def test_no_ipo_lowers_capacity_after_2014(dataset):
    with_ipo = build_world(dataset, scenario())
    without = build_world(dataset, scenario(firm={"ipo_year": None}))
    assert np.allclose(with_ipo.capacity[:4], without.capacity[:4])
    assert np.allclose(with_ipo.capacity[5:] / without.capacity[5:], 1.5)


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
