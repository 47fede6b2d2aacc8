"""The Mesa model: one firm among country markets, one step per year (ODD in docs/ODD.md).

The model is a thin Mesa shell around the batched engine (:mod:`sim.engine`): its firm agent
holds a batch of one run and steps it with the same function that steps thousands of runs in an
ensemble, so there is one definition of the model's dynamics. Markets are environment state
(year x market arrays in :class:`sim.world.World`), not agents: they do not act. Mesa's
``steps`` and ``running`` drive the calendar, so SolaraViz's Play stops at the last year.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.engine import BatchState, Draws, draw_batch, step
from sim.events import EVENT_DTYPE
from sim.policies.base import Policy, PolicyParams
from sim.scenario import Firm
from sim.world import World


class FirmAgent(mesa.Agent):
    """The internationalizing firm: each year it scores options, takes deals and learns.

    Attributes:
        policy: The strategy deciding market and mode utilities.
        config: The firm-level mechanism parameters (from the scenario).
        state: The firm's state as a batch of one run (see :class:`sim.engine.BatchState`).
    """

    model: InternationalizationModel

    def __init__(
        self,
        model: InternationalizationModel,
        policy: Policy[PolicyParams],
        config: Firm,
        draws: Draws,
    ) -> None:
        super().__init__(model)
        self.policy = policy
        self.config = config
        self.state = BatchState(model.world, 1, config.region_spillover)
        self._uniforms, self._climate, self._exits = draws

    @property
    def commitment(self) -> np.ndarray:
        """Highest commitment rung held per market (0 none ... 4 greenfield)."""
        return self.state.commitment[0]

    @property
    def experience(self) -> np.ndarray:
        """Accumulated experience per market."""
        return self.state.experience[0]

    @property
    def deals(self) -> np.ndarray:
        """Completed deals per market."""
        return self.state.deals[0]

    @property
    def load(self) -> float:
        """Current integration load (the Penrose effect's state)."""
        return float(self.state.load[0])

    def act(self, t: int) -> np.ndarray:
        """Decide, attempt and learn in year index ``t``; the year's event rows."""
        rows = step(
            self.model.world,
            self.policy,
            self.config,
            self.state,
            t,
            self._uniforms,
            self._climate,
            self._exits,
        )
        out = np.empty(rows.size, dtype=EVENT_DTYPE)
        for name in EVENT_DTYPE.names or ():
            out[name] = rows[name]
        return out


class InternationalizationModel(mesa.Model):
    """A firm internationalizing among country markets under one policy.

    Args:
        world: The shared, read-only arrays built from data and scenario.
        policy: The strategy (policy object with its parameters).
        firm: The firm-level mechanism parameters.
        rng: The run's generator (or a seed). The run's random numbers are drawn from it first,
            before Mesa takes its own seed from it, so a run is identical here and in a batch.
    """

    def __init__(
        self,
        world: World,
        policy: Policy[PolicyParams],
        firm: Firm,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        draws = draw_batch([generator], world.n_years, firm.opportunities, world.n_markets)
        super().__init__(rng=generator)
        self.world = world
        self._years: list[np.ndarray] = []
        self.firm = FirmAgent(self, policy, firm, draws)

    @property
    def year_index(self) -> int:
        """Index of the year the next step simulates (the number of steps taken)."""
        return self.steps

    @property
    def year(self) -> int:
        """The calendar year the next step simulates (the last year once finished)."""
        return int(self.world.years[min(self.steps, self.world.n_years - 1)])

    def step(self) -> None:
        """Advance one year: the firm decides and acts; stop after the last year."""
        t = self.steps - 1  # Mesa counts this step before calling it
        if t >= self.world.n_years:
            self.running = False
            return
        self._years.append(self.firm.act(t))
        if t + 1 >= self.world.n_years:
            self.running = False

    def run(self) -> np.ndarray:
        """Step through every simulated year and return the events table."""
        while self.running:
            self.step()
        return self.events

    @property
    def events(self) -> np.ndarray:
        """All events so far (``EVENT_DTYPE``): per year, exits then attempted deals."""
        if not self._years:
            return np.empty(0, dtype=EVENT_DTYPE)
        return np.concatenate(self._years)
