"""The Mesa model: one firm among country markets, one step per year (ODD in docs/ODD.md).

The model is a thin Mesa shell around the batched engine (:mod:`sim.engine`): its firm agent
holds a batch of one run and steps it with the same function that steps thousands of runs in an
ensemble, so there is one definition of the model's dynamics. Each country market is a
:class:`MarketAgent` whose attributes are live views of the world's year x market arrays and of
the run's state (no copies); the market agents act after the firm each year, all at once,
through the engine's host step (:func:`sim.engine.respond`), the same function that steps the
market side of a batch. Mesa's ``steps`` and ``running`` drive the calendar, so SolaraViz's Play
stops at the last year.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.engine import Draws, act, draw_batch, host_blocking, respond, start_state
from sim.events import EVENT_DTYPE
from sim.policies.base import Policy, PolicyParams
from sim.scenario import Firm
from sim.world import World


class FirmAgent(mesa.Agent):
    """The internationalizing firm: each year it scores options, takes deals and learns.

    Attributes:
        policy: The strategy deciding market and mode utilities.
        config: The firm-level mechanism parameters (from the scenario).
        state: The firm's state as a batch of one run (see :class:`sim.engine.BatchState`),
            from the warm start (:func:`sim.engine.start_state`).
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
        self.state = start_state(model.world, config, 1)
        self._draws = draws

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
        """Decide, attempt and learn in year index ``t``.

        Returns:
            The year's rows as the engine gives them (:func:`sim.engine.row_dtype`: a ``run``
            index, always 0 here, then the event fields); the model turns them into events once,
            when they are read (:attr:`InternationalizationModel.events`).
        """
        return act(self.model.world, self.policy, self.config, self.state, t, self._draws)


class MarketAgent(mesa.Agent):
    """A host country market: its attributes this year and the firm's standing and history there.

    Every attribute is a live view: it reads the world's arrays at the model's current year (the
    year the next step simulates, the last once finished) and the run's state (row 0 of the
    firm's batch of one), so it is always what the engine reads, with no second definition. The
    market's behaviour is its screening: after the firm acts each year, every market responds at
    once through :func:`sim.engine.respond` (called by :meth:`InternationalizationModel.step`).

    Attributes:
        index: The market's column in the world's arrays.
    """

    model: InternationalizationModel

    def __init__(self, model: InternationalizationModel, index: int) -> None:
        super().__init__(model)
        self.index = index

    @property
    def iso3(self) -> str:
        """The country's ISO 3166-1 alpha-3 code."""
        return self.model.world.iso3[self.index]

    @property
    def region(self) -> str:
        """The market's region."""
        world = self.model.world
        return world.regions[int(world.region[self.index])]

    @property
    def mature(self) -> bool:
        """Whether the market is classed mature (else emerging)."""
        return bool(self.model.world.mature[self.index])

    @property
    def distance(self) -> float:
        """Geographic distance from the firm's home, 0-1."""
        return float(self.model.world.distance[self.index])

    @property
    def culture(self) -> float:
        """Cultural distance from the firm's home, 0-1."""
        return float(self.model.world.culture[self.index])

    def _now(self, name: str) -> float:
        return float(getattr(self.model.world, name)[self.model.now, self.index])

    @property
    def maturity(self) -> float:
        """Economic and digital maturity this year, 0-1."""
        return self._now("maturity")

    @property
    def barriers(self) -> float:
        """Barrier index this year from data and dated events (before the host's screening)."""
        return self._now("barriers")

    @property
    def growth(self) -> float:
        """Scaled real GDP growth this year."""
        return self._now("growth")

    @property
    def size(self) -> float:
        """Log GDP relative to the largest market-year (<= 0) this year."""
        return self._now("size")

    @property
    def screening(self) -> float:
        """The host's endogenous screening so far, in barrier-index units (ODD 7.12)."""
        return float(self.model.firm.state.screening[0, self.index])

    @property
    def block_probability(self) -> float:
        """Probability that the host blocks a deal this year, after its screening."""
        firm = self.model.firm
        p_block, _ = host_blocking(self.model.world, firm.config, firm.state, self.model.now)
        return float(p_block[..., self.index].ravel()[0])

    @property
    def commitment(self) -> int:
        """The firm's highest commitment rung held here (0 none ... 4 greenfield)."""
        return int(self.model.firm.commitment[self.index])

    @property
    def experience(self) -> float:
        """The firm's accumulated experience here."""
        return float(self.model.firm.experience[self.index])

    @property
    def deals(self) -> int:
        """The firm's completed deals here."""
        return int(self.model.firm.deals[self.index])

    @property
    def sensitive_deals(self) -> int:
        """The firm's completed deals here in sensitive industries."""
        return int(self.model.firm.state.sensitive_deals[0, self.index])

    @property
    def history(self) -> np.ndarray:
        """The firm's events here so far (``EVENT_DTYPE``): exits and attempted deals."""
        events = self.model.events
        return events[events["market"] == self.index]


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
        for j in range(world.n_markets):
            MarketAgent(self, j)

    @property
    def year(self) -> int:
        """The calendar year the next step simulates (the last year once finished)."""
        return int(self.world.years[self.now])

    @property
    def now(self) -> int:
        """Year index of :attr:`year`: the next year to simulate, the last once finished."""
        return min(self.steps, self.world.n_years - 1)

    @property
    def markets(self) -> mesa.agent.AbstractAgentSet:
        """The market agents, one per market in the world's order (Mesa's own agent set)."""
        return self.agents_by_type[MarketAgent]

    def step(self) -> None:
        """Advance one year: the firm acts, then the markets respond; stop after the last year.

        The markets respond all at once through :func:`sim.engine.respond`, as every market of
        every run does in a batch (:func:`sim.engine.step`), so the two paths are one model.
        """
        t = self.steps - 1  # Mesa counts this step before calling it
        if t >= self.world.n_years:
            self.running = False
            return
        self._years.append(self.firm.act(t))
        respond(self.firm.config, self.firm.state)
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
        rows = np.concatenate(self._years)
        out = np.empty(rows.size, dtype=EVENT_DTYPE)
        for name in EVENT_DTYPE.names or ():
            out[name] = rows[name]
        return out
