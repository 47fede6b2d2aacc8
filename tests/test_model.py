"""Model invariants on the real data: feasibility, commitment, reproducibility, Mesa idioms."""

from __future__ import annotations

import gc
import weakref
from dataclasses import dataclass

import numpy as np
import pytest

from sim.data import load_dataset
from sim.engine import BatchState, close_year, host_blocking, row_dtype
from sim.experiment.runner import run_block, run_generator, stream_key
from sim.model import FirmAgent, InternationalizationModel, MarketAgent
from sim.modes import CONTROL, COOPERATION, EXIT, GREENFIELD, RANK
from sim.policies import get_policy, policy_names
from sim.scenario import Firm, parse_scenario
from sim.world import build_world
from tests.toy import toy_world


@dataclass(frozen=True)
class Ensemble:
    """Every run of every strategy (``ENSEMBLE_DTYPE``) and the labels of the strategy column."""

    events: np.ndarray
    labels: tuple[str, ...]


def run_strategies(world, strategies, firm, seed: int, replications: int) -> Ensemble:
    """``replications`` batched runs of each strategy, in this process, as the runner steps them."""
    blocks = [
        run_block(
            world,
            strategy.policy_class()(strategy.make_params()),
            firm,
            seed,
            s,
            0,
            range(replications),
            strategy.label,
            "batch",
        )
        for s, strategy in enumerate(strategies)
    ]
    return Ensemble(np.concatenate(blocks), tuple(s.label for s in strategies))


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
    # raises it to its rung, and no market is controlled twice while it is held. Commitment
    # closes control from the next year on (ODD 7.2: the firm's state changes at the year's end,
    # so a greenfield and a control in one market in one year are allowed; two controls are not).
    s = scenario()
    world = build_world(dataset, s)
    exits = 0
    for name in ("dual_track", "springboard", "oli_logit"):
        policy = get_policy(name)(get_policy(name).Params())
        for seed in range(5):
            model = InternationalizationModel(world, policy, s.firm, rng=seed)
            ev = model.run()
            expected = np.zeros(world.n_markets, dtype=int)
            year, at_start, controlled = None, expected.copy(), set()
            for e in ev:
                market, mode = int(e["market"]), int(e["mode"])
                if e["year"] != year:
                    year, at_start = e["year"], expected.copy()
                if mode == EXIT:
                    assert expected[market] > 0, name  # only a held market is exited
                    expected[market] = at_start[market] = 0  # exits come before deals
                    exits += 1
                elif not e["blocked"]:
                    if mode == CONTROL:
                        assert at_start[market] < RANK[CONTROL], name
                        assert (year, market) not in controlled, name
                        controlled.add((year, market))
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
    assert len(model.agents) == 1 + world.n_markets  # the firm and one agent per market


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


def test_the_model_holds_the_firm_and_one_market_agent_per_market_as_live_views(dataset):
    s = scenario(firm={"host_deals": 0.3})
    world = build_world(dataset, s)
    policy = get_policy("dual_track")(get_policy("dual_track").Params())
    model = InternationalizationModel(world, policy, s.firm, rng=3)
    assert list(model.agents_by_type[FirmAgent]) == [model.firm]
    markets = list(model.agents_by_type[MarketAgent])
    assert markets == list(model.markets)
    assert [a.index for a in markets] == list(range(world.n_markets))
    assert tuple(a.iso3 for a in markets) == world.iso3
    for _ in range(4):
        model.step()
    t, state = model.now, model.firm.state
    assert t == 4
    for a in markets:
        j = a.index
        assert (a.distance, a.culture, a.mature) == (
            world.distance[j],
            world.culture[j],
            world.mature[j],
        )
        assert a.region == world.regions[world.region[j]]
        assert (a.maturity, a.barriers, a.growth, a.size) == (
            world.maturity[t, j],
            world.barriers[t, j],
            world.growth[t, j],
            world.size[t, j],
        )
        assert (a.commitment, a.experience, a.deals, a.sensitive_deals) == (
            state.commitment[0, j],
            state.experience[0, j],
            state.deals[0, j],
            state.sensitive_deals[0, j],
        )
        # Only the deals weight is on, and deals never fall: screening = 0.3 log(1 + deals).
        assert a.screening == pytest.approx(0.3 * np.log1p(a.deals))
        assert a.block_probability == pytest.approx(
            min(world.p_block[t, j] + s.firm.block_slope * a.screening, s.firm.max_block)
        )
        assert a.history.tobytes() == model.events[model.events["market"] == j].tobytes()
    assert sum(a.deals for a in markets) > 0
    # Live: the next step moves the views with the year and the firm, no copy is kept.
    entered = next(a for a in markets if a.deals)
    model.step()
    assert entered.maturity == world.maturity[5, entered.index]
    assert entered.deals == state.deals[0, entered.index]


def test_a_known_presence_raises_screening_as_specified():
    world = toy_world(p_block=0.1)
    firm = Firm(host_commitment=0.2, host_deals=0.1, host_sensitive=0.3)
    state = BatchState(world, 2, firm.region_spillover)
    # Run 0 completes ten deals in market 2 in one year: nine cooperations and a greenfield
    # operation; three of them in sensitive industries (payments, social data, media).
    done = np.zeros(10, dtype=row_dtype())
    done["market"] = 2
    done["mode"] = [COOPERATION] * 9 + [GREENFIELD]
    industries = ["fintech", "social", "media_entertainment"] + ["ecommerce"] * 7
    done["industry"] = [world.industries.index(i) for i in industries]
    close_year(firm, state, done)
    expected = 0.2 * 1.0 + 0.1 * np.log(11.0) + 0.3 * np.log(4.0)
    assert state.sensitive_deals[0, 2] == 3
    assert state.screening[0, 2] == pytest.approx(expected)
    assert np.count_nonzero(state.screening) == 1  # no other market, no other run
    # Screening ratchets: exiting the market lowers the target, not the screening in force.
    exit_row = np.zeros(1, dtype=row_dtype())
    exit_row["market"], exit_row["mode"] = 2, EXIT
    close_year(firm, state, exit_row)
    assert state.commitment[0, 2] == 0 and state.screening[0, 2] == pytest.approx(expected)
    # It raises the block probability by block_slope per unit, and the deterrence term with it.
    p_block, success = host_blocking(world, firm, state, 0)
    assert p_block[0, 2] == pytest.approx(0.1 + firm.block_slope * expected)
    assert np.all(np.delete(p_block[0], 2) == 0.1) and np.all(p_block[1] == 0.1)
    assert success[0, 2] == pytest.approx(np.log(1.0 - p_block[0, 2]))


def _in_entered_markets(events):
    """Per event: whether its run completed a deal in its market in an earlier year."""
    out = np.zeros(events.size, dtype=bool)
    for r in np.unique(events["replication"]):
        entered: dict[int, int] = {}
        for i in np.flatnonzero(events["replication"] == r):
            market, year = int(events["market"][i]), int(events["year"][i])
            out[i] = entered.get(market, year) < year
            if not events["blocked"][i] and events["mode"][i] != EXIT:
                entered.setdefault(market, year)
    return out


def test_screening_deters_and_blocks_deals_where_the_firm_is_present():
    world = toy_world(p_block=0.0)  # no host blocks anything by itself
    policy = get_policy("uppsala")(get_policy("uppsala").Params())
    off = run_block(world, policy, Firm(), 5, 0, 0, range(100), "x", "batch")
    on = run_block(world, policy, Firm(host_deals=1.0), 5, 0, 0, range(100), "x", "batch")
    assert not off["blocked"].any()
    # With the response on, hosts block only where the run completed a deal in an earlier year.
    seen_on, seen_off = _in_entered_markets(on), _in_entered_markets(off)
    assert on["blocked"].sum() > 50 and seen_on[on["blocked"] == 1].all()
    # Deterrence: anticipating the screening, the firm attempts fewer deals (the screened
    # markets' utilities fall, and with them the value of taking an opportunity), and a smaller
    # share of them in markets it entered.
    deals_on, deals_off = on["mode"] != EXIT, off["mode"] != EXIT
    assert deals_on.sum() < 0.9 * deals_off.sum()
    assert seen_on[deals_on].mean() < seen_off[deals_off].mean()


def test_the_host_response_priors_are_declared_apart_inside_their_bounds():
    from sim.priors import choose

    host = choose(Firm, "declared", "host_priors")
    assert set(host) == {"host_commitment", "host_deals", "host_sensitive"}
    assert all(0.0 == p.low < p.high <= 2.0 for p in host.values())
    # No theory integrates over them yet: the priors every theory uses do not name them.
    assert not set(host) & set(choose(Firm))
    centred = choose(Firm, "centred", "host_priors")
    assert centred["host_deals"].low == 0.0 and centred["host_deals"].high == 0.3
