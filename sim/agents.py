"""The model's agents: one firm and one agent per country market (Mesa 3.5).

Market state lives in arrays shared with the firm (one element per market) and market agents are
views onto them. That keeps every year's scoring of markets x modes a few numpy operations, which
is what makes ensembles of thousands of runs cheap, while each market remains an agent a user can
inspect (``model.market("IND").commitment``) and a dashboard can draw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.modes import (
    CONTROL,
    COST,
    LEARNING,
    MAX_COMMITMENT,
    N_MODES,
    RANK,
)
from sim.policies.base import FirmView, Policy
from sim.scenario import Firm

_NONE = np.empty(0, dtype=np.int64)


def _repeats(control: np.ndarray, markets: np.ndarray) -> list[int]:
    """Positions of control draws in a market that already had one earlier in the list."""
    seen: set[int] = set()
    repeats = []
    for i, m in zip(control.tolist(), markets[control].tolist(), strict=True):
        if m in seen:
            repeats.append(i)
        seen.add(m)
    return repeats


if TYPE_CHECKING:
    from sim.model import InternationalizationModel


class MarketAgent(mesa.Agent):
    """A country market: this year's attributes from the data, the firm's position in it."""

    model: InternationalizationModel

    def __init__(self, model: InternationalizationModel, index: int) -> None:
        super().__init__(model)
        self.index = index
        self.iso3 = model.world.iso3[index]

    def _now(self, panel: np.ndarray) -> float:
        return float(panel[min(self.model.year_index, panel.shape[0] - 1), self.index])

    @property
    def maturity(self) -> float:
        """Maturity index this year (0-1)."""
        return self._now(self.model.world.maturity)

    @property
    def barriers(self) -> float:
        """Barrier index this year (regulatory rank plus dated barrier events)."""
        return self._now(self.model.world.barriers)

    @property
    def growth(self) -> float:
        """Scaled GDP growth this year."""
        return self._now(self.model.world.growth)

    @property
    def size(self) -> float:
        """Scaled market size this year."""
        return self._now(self.model.world.size)

    @property
    def distance(self) -> float:
        """Scaled geographic distance from home."""
        return float(self.model.world.distance[self.index])

    @property
    def cultural_distance(self) -> float:
        """Scaled cultural distance from home."""
        return float(self.model.world.culture[self.index])

    @property
    def mature(self) -> bool:
        """Whether the market is classed mature."""
        return bool(self.model.world.mature[self.index])

    @property
    def commitment(self) -> int:
        """The firm's commitment here: 0 none, 1 cooperation, 2 minority, 3 control."""
        return int(self.model.firm.commitment[self.index])

    @property
    def experience(self) -> float:
        """The firm's accumulated experience in this market."""
        return float(self.model.firm.experience[self.index])

    @property
    def deals(self) -> int:
        """Deals the firm has completed here so far."""
        return int(self.model.firm.deals[self.index])

    @property
    def shocked(self) -> bool:
        """Whether a dated barrier event or scenario shock applies this year."""
        world = self.model.world
        return bool(world.shocked[min(self.model.year_index, world.n_years - 1), self.index])


class FirmAgent(mesa.Agent):
    """The internationalizing firm: each year it scores options, draws deals, and learns.

    Attributes:
        policy: The strategy deciding market and mode utilities.
        config: The firm's resources and block parameters (from the scenario).
        commitment: Highest rung reached per market.
        experience: Market-specific experience per market.
        deals: Completed deals per market.
        mode_deals: Completed deals per mode.
        n_controlled: Number of markets under control.
    """

    model: InternationalizationModel

    def __init__(self, model: InternationalizationModel, policy: Policy, config: Firm) -> None:
        super().__init__(model)
        world = model.world
        self.policy = policy
        self.config = config
        n = world.n_markets
        self.commitment = np.zeros(n, dtype=np.int8)
        self.experience = np.zeros(n)
        self.deals = np.zeros(n, dtype=np.int64)
        self.mode_deals = np.zeros(N_MODES, dtype=np.int64)
        self.n_controlled = 0
        self._aggressiveness = getattr(policy.params, "aggressiveness", 1.0)
        # All of a run's random numbers are drawn up front, in three calls on the model's
        # generator: many small draws cost more than a few large ones.
        rng = model.rng
        self._u_draw = rng.random((world.n_years, config.max_deals_per_year))
        self._u_block = rng.random((world.n_years, config.max_deals_per_year))
        k = config.budget_noise
        self._budget_noise = rng.gamma(k, 1.0 / k, size=world.n_years)
        self._p_block = np.minimum(config.block_base + config.block_slope * world.barriers, 0.95)
        self._view = FirmView(
            year=int(world.years[0]),
            step=0,
            commitment=self.commitment,
            experience=self.experience,
            deals=self.deals,
            mode_deals=self.mode_deals,
            region=world.region,
            n_regions=len(world.regions),
            spillover=config.region_spillover,
        )

    def step(self) -> None:
        """Decide this year's deals, attempt them, and learn from those that went through."""
        world, t = self.model.world, self.model.year_index
        market = world.views[t]
        self._view.year = int(world.years[t])
        self._view.step = t
        utilities = self._feasible(self.policy.utilities(market, self._view), t)
        markets, modes = self._draw(utilities, t)
        if markets.size:
            self._act(markets, modes, t)

    def _feasible(self, utilities: np.ndarray, t: int) -> np.ndarray:
        """Forbid closed markets and a second controlling entry into a controlled market."""
        world = self.model.world
        if not (world.any_excluded[t] or self.n_controlled):
            return utilities
        utilities = utilities.copy()
        utilities[world.excluded[t]] = -np.inf
        utilities[self.commitment >= MAX_COMMITMENT, CONTROL] = -np.inf
        return utilities

    def _draw(self, utilities: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Sample this year's deals from the (market, mode) logit, within the year's budget.

        Deals are independent draws, with replacement, from the multinomial logit over all
        feasible options, so a large market can take several deals in one year (the record has up
        to six in the US). Draws are taken in order until the budget is spent. A market takes at
        most one controlling acquisition a year; later control draws there are dropped.
        """
        # Built-in utilities stay far below exp's overflow point, so the usual max-shift is only
        # applied when needed (e.g. a user policy with huge utilities); -inf gives weight 0.
        with np.errstate(over="ignore"):
            weights = np.cumsum(np.exp(utilities).ravel())
        if not np.isfinite(weights[-1]):
            weights = np.cumsum(np.exp(utilities - utilities.max()).ravel())
        if not weights[-1] > 0.0:
            return _NONE, _NONE
        k = self.config.max_deals_per_year
        if self.policy.matches_record_counts:
            k = min(k, int(self.model.world.record_counts[t]))
        # u < 1 strictly, so every pick is a valid option index with positive weight.
        picks = np.searchsorted(weights, self._u_draw[t, :k] * weights[-1], side="right")
        markets, modes = np.divmod(picks, N_MODES)
        # Dropping a repeated control draw never changes whether an earlier draw is kept, so
        # removing every repeat first and then taking the affordable prefix is exact.
        control = np.flatnonzero(modes == CONTROL)
        if control.size > 1:
            repeats = _repeats(control, markets)
            if repeats:
                keep = np.ones(markets.shape[0], dtype=bool)
                keep[repeats] = False
                markets, modes = markets[keep], modes[keep]
        n = self._affordable(modes, t)
        return markets[:n], modes[:n]

    def _affordable(self, modes: np.ndarray, t: int) -> int:
        """How many of the drawn deals, in order, fit this year's budget."""
        if self.policy.matches_record_counts:
            return modes.shape[0]
        budget = self._aggressiveness * self.model.world.capacity[t] * self._budget_noise[t]
        return int(np.searchsorted(np.cumsum(COST[modes]), budget, side="right"))

    def _act(self, markets: np.ndarray, modes: np.ndarray, t: int) -> None:
        """Attempt the deals: some are blocked by the host country; the rest change the firm."""
        blocked = self._u_block[t, : markets.shape[0]] < self._p_block[t, markets]
        ok = ~blocked
        done, done_modes = markets[ok], modes[ok]
        np.maximum.at(self.commitment, done, RANK[done_modes])
        if (done_modes == CONTROL).any():
            self.n_controlled = int((self.commitment == MAX_COMMITMENT).sum())
        np.add.at(self.experience, done, LEARNING[done_modes])
        np.add.at(self.deals, done, 1)
        self.mode_deals += np.bincount(done_modes, minlength=N_MODES)
        self.model.record(markets, modes, blocked)
