"""Each policy's signature behaviour, on a small synthetic world where it can be seen clearly."""

from __future__ import annotations

import numpy as np
import pytest

from sim.modes import CONTROL, EXIT, N_MODES, RANK
from sim.policies import get_policy, policy_names
from sim.policies.base import FirmView
from sim.scenario import Firm
from sim.world import World
from tests.toy import toy_world

FIRM = Firm(block_base=0.0, block_slope=0.0, climate_noise=0.0, hurdle=3.5, depletion=0.0)
EMERGING, MATURE = slice(0, 4), slice(4, 8)


def run_many(world: World, name: str, runs: int = 150, **params) -> list[np.ndarray]:
    from sim.model import InternationalizationModel

    policy = get_policy(name)(get_policy(name).Params(**params))
    return [InternationalizationModel(world, policy, FIRM, rng=seed).run() for seed in range(runs)]


def control_deals(events: list[np.ndarray], world: World) -> tuple[int, int]:
    ev = np.concatenate(events)
    ctrl = ev[ev["mode"] == CONTROL]
    mature = world.mature[ctrl["market"]]
    return int((~mature).sum()), int(mature.sum())


def first_entry_years(events: list[np.ndarray], n_markets: int) -> np.ndarray:
    """Mean first-entry year per market over runs (markets never entered count as 2030)."""
    firsts = np.full((len(events), n_markets), 2030.0)
    for r, ev in enumerate(events):
        for m in range(n_markets):
            years = ev["year"][ev["market"] == m]
            if years.size:
                firsts[r, m] = years.min()
    return firsts.mean(axis=0)


def test_all_policies_and_baselines_are_registered():
    assert policy_names() == sorted(
        [
            "dual_track",
            "diversification",
            "kojima",
            "uppsala",
            "oli_logit",
            "springboard",
            "random",
            "random_location",
            "gravity",
        ]
    )


def test_every_float_parameter_has_a_range_and_description():
    for name in policy_names():
        for field, info in get_policy(name).Params.model_fields.items():
            assert info.description, (name, field)
            if info.annotation is float:
                kinds = {type(m).__name__ for m in info.metadata}
                assert {"Ge", "Le"} <= kinds, (name, field)


def test_dual_track_puts_control_in_emerging_markets():
    world = toy_world()
    emerging, mature = control_deals(run_many(world, "dual_track"), world)
    assert emerging > 5 * max(mature, 1)


def test_springboard_puts_control_in_mature_markets():
    world = toy_world(n_years=4)  # before every mature market is controlled
    emerging, mature = control_deals(run_many(world, "springboard"), world)
    assert mature > 5 * max(emerging, 1)


def test_kojima_enters_low_maturity_markets_first_and_reverses():
    world = toy_world()
    first = first_entry_years(run_many(world, "kojima", ceiling_start=0.2, ceiling_rate=0.07), 8)
    assert first[EMERGING].mean() + 2 < first[MATURE].mean()
    rev = first_entry_years(
        run_many(world, "kojima", ceiling_start=0.2, ceiling_rate=0.07, direction=-1), 8
    )
    assert rev[MATURE].mean() + 2 < rev[EMERGING].mean()


def test_uppsala_never_skips_a_rung():
    world = toy_world()
    for ev in run_many(world, "uppsala", runs=60, climb_threshold=0.5):
        commitment = np.zeros(8, dtype=int)
        for year in np.unique(ev["year"]):
            # A year's exits come first and reset the ladder of the markets left.
            commitment[ev["market"][(ev["year"] == year) & (ev["mode"] == EXIT)]] = 0
            this = ev[(ev["year"] == year) & (ev["blocked"] == 0) & (ev["mode"] != EXIT)]
            ranks = RANK[this["mode"]]
            assert np.all(ranks <= commitment[this["market"]] + 1)
            np.maximum.at(commitment, this["market"], ranks)


def test_uppsala_enters_culturally_close_markets_first():
    world = toy_world()
    first = first_entry_years(run_many(world, "uppsala", frontier_start=0.2), 8)
    assert first[:3].mean() + 2 < first[5:].mean()


def test_random_ignores_attributes():
    a = toy_world(size=np.zeros(8))
    b = toy_world(
        size=np.linspace(-5, 0, 8),
        maturity=np.linspace(0.9, 0.1, 8),
        culture=np.linspace(0.9, 0.1, 8),
    )
    runs_a = run_many(a, "random", runs=20)
    runs_b = run_many(b, "random", runs=20)
    for x, y in zip(runs_a, runs_b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_oli_logit_prefers_larger_markets():
    world = toy_world(size=np.log(np.array([1, 1, 1, 8, 1, 1, 1, 8], dtype=float) / 8))
    ev = np.concatenate(run_many(world, "oli_logit", beta_size=1.0))
    counts = np.bincount(ev["market"], minlength=8)
    assert counts[3] > 3 * counts[[0, 1, 2]].mean()
    assert counts[7] > 3 * counts[[4, 5, 6]].mean()


def test_diversification_spreads_over_regions_more_than_concentrated_logit():
    world = toy_world(size=np.log(np.array([8, 1, 1, 1, 8, 1, 1, 1], dtype=float) / 8))

    def region_entropy(events):
        counts = np.bincount(world.region[np.concatenate(events)["market"]], minlength=4)
        p = counts / counts.sum()
        return -(p[p > 0] * np.log(p[p > 0])).sum()

    spread = region_entropy(run_many(world, "diversification", beta_region_entropy=8.0))
    plain = region_entropy(
        run_many(world, "diversification", beta_region_entropy=0.0, beta_mode_entropy=0.0)
    )
    assert spread > plain + 0.1


@pytest.mark.parametrize(
    "name",
    policy_names(),
)
def test_utilities_have_one_value_per_run_market_and_mode(name):
    world = toy_world()
    policy = get_policy(name)(get_policy(name).Params())
    commitment = np.zeros((2, 8), dtype=np.int8)
    commitment[1, [0, 5]] = [2, 1]  # the second run has entered two markets
    firm = FirmView(
        year=2010,
        step=0,
        commitment=commitment,
        experience=commitment.astype(float),
        deals=commitment.astype(np.int32),
        mode_deals=np.array([[0, 0, 0, 0], [1, 1, 0, 0]], dtype=np.int32),
        industry_deals=np.zeros((2, 14), dtype=np.int32),
        region=world.region,
        n_regions=len(world.regions),
        spillover=0.5,
    )
    u = np.broadcast_to(policy.utilities(world.views[0], firm), (2, 8, N_MODES))
    assert not np.isnan(u).any()
    alone = FirmView(
        year=2010,
        step=0,
        commitment=commitment[1:],
        experience=commitment[1:].astype(float),
        deals=commitment[1:].astype(np.int32),
        mode_deals=np.array([[1, 1, 0, 0]], dtype=np.int32),
        industry_deals=np.zeros((1, 14), dtype=np.int32),
        region=world.region,
        n_regions=len(world.regions),
        spillover=0.5,
    )
    # A run's utilities do not depend on the other runs in its batch.
    one = np.broadcast_to(policy.utilities(world.views[0], alone), (1, 8, N_MODES))
    np.testing.assert_array_equal(u[1], one[0])
