"""The Mesa model: one firm among country markets, one step per year (ODD in docs/ODD.md).

Each step: market attributes move to the new year (they are read from the world's arrays, so no
per-market Python work is needed), then the firm decides, acts and learns. Every attempted deal is
recorded as an event row; blocked deals are recorded with the mode they attempted and
``blocked = True``.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.agents import FirmAgent, MarketAgent
from sim.events import EVENT_FIELDS
from sim.policies.base import Policy
from sim.scenario import Firm
from sim.world import World


class InternationalizationModel(mesa.Model):
    """A firm internationalizing among country markets under one policy.

    Args:
        world: The shared, read-only arrays built from data and scenario.
        policy: The strategy (policy object with its parameters).
        firm: The firm's configuration.
        rng: Seed or ``numpy.random.Generator``; all randomness flows from it.
    """

    def __init__(
        self,
        world: World,
        policy: Policy,
        firm: Firm,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        super().__init__(rng=rng)
        self.world = world
        self.year_index = 0
        self._events: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
        self._table: np.ndarray | None = None
        self.firm = FirmAgent(self, policy, firm)
        self.markets = [MarketAgent(self, j) for j in range(world.n_markets)]

    @property
    def year(self) -> int:
        """The calendar year the next step simulates (the last year once finished)."""
        return int(self.world.years[min(self.year_index, self.world.n_years - 1)])

    @property
    def finished(self) -> bool:
        """Whether every simulated year has been stepped."""
        return self.year_index >= self.world.n_years

    def market(self, iso3: str) -> MarketAgent:
        """The market agent of a country code."""
        return self.markets[self.world.iso3.index(iso3)]

    def step(self) -> None:
        """Advance one year: the firm decides and acts, then the calendar moves on."""
        if self.finished:
            return
        self.firm.step()
        self.year_index += 1

    def run(self) -> np.ndarray:
        """Step through every simulated year and return the events table."""
        while not self.finished:
            self.step()
        return self.events

    def record(self, markets: np.ndarray, modes: np.ndarray, blocked: np.ndarray) -> None:
        """Append this year's attempted deals (called by the firm)."""
        self._events.append((self.year_index, markets, modes, blocked))
        self._table = None

    @property
    def events(self) -> np.ndarray:
        """All attempted deals so far, shape (n, 5), columns :data:`EVENT_FIELDS`."""
        if self._table is not None:
            return self._table
        n = sum(e[1].shape[0] for e in self._events)
        out = np.empty((n, len(EVENT_FIELDS)), np.int64)
        row = 0
        for t, markets, modes, blocked in self._events:
            end = row + markets.shape[0]
            out[row:end, 0] = self.world.years[t]
            out[row:end, 1] = markets
            out[row:end, 2] = modes
            out[row:end, 3] = blocked
            row = end
        # Industries depend only on the mode, so they are drawn once for the whole run.
        cdf = self.world.industry_cdf[out[:, 2]]
        industry = (self.rng.random(n)[:, None] > cdf).sum(axis=1)
        out[:, 4] = np.minimum(industry, cdf.shape[1] - 1)
        self._table = out
        return out
