"""The small interface every policy implements, and the registry that finds policies by name.

A policy turns what the firm can see this year (market attributes, its own portfolio) into a
log-utility for every (market, mode) option, for every run of a batch at once (arrays with a
leading run axis). The engine (:mod:`sim.engine`) does the rest the same way for every policy: it
adds the firm-level terms, masks infeasible options, weighs the options against the outside
option (no deal), samples this year's deals from one flat multinomial logit over (market, mode)
and applies them. So a policy is a pure function of arrays, easy to test and to add: subclass
:class:`Policy` in one file and decorate it with :func:`register`.

A parameter is a scalar, or, when a batch's runs have their own values
(:func:`sim.engine.simulate_points`), a column over runs of shape (runs, 1): a policy that
writes its arithmetic to broadcast both ways (the helpers of :mod:`sim.policies.common` do)
supports prior draws batched like replications.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, ClassVar, get_args, get_origin

import numpy as np
from pydantic import BaseModel, ConfigDict

from sim.bounds import float_bounds
from sim.markets import MarketView
from sim.modes import N_MODES


class PolicyParams(BaseModel):
    """Base of every policy's parameters: each field needs a default, a range and a description.

    Calibration searches the numeric fields between their ``ge``/``le`` bounds, so every float
    field must declare both (:meth:`bounds` reads them).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def bounds(cls) -> dict[str, tuple[float, float]]:
        """The searchable float fields and their ``(ge, le)`` bounds, in declaration order."""
        return float_bounds(cls)


class FirmView:
    """What the firm knows of itself when it decides (read-only views of its state).

    Every state array has a leading run axis (one row per run of the batch). Region aggregates
    are computed on demand, so policies that do not use them cost nothing.

    Attributes:
        year: Calendar year being decided.
        step: Years since the first simulated year (0-based).
        commitment: Highest commitment rung reached, (runs, markets) (0 = none, 3 = control).
        experience: Accumulated market-specific experience, (runs, markets).
        deals: Completed deals, (runs, markets).
        mode_deals: Completed deals per mode, (runs, modes).
        industry_deals: Completed deals per industry, (runs, industries).
        region: Region index of each market, (markets,).
        n_regions: Number of regions.
        spillover: Share of market experience that counts for its whole region (a column
            over runs, (runs, 1), when the batch's runs have their own shares).
    """

    __slots__ = (
        "commitment",
        "deals",
        "experience",
        "industry_deals",
        "mode_deals",
        "n_regions",
        "region",
        "spillover",
        "step",
        "year",
    )

    def __init__(
        self,
        *,
        year: int,
        step: int,
        commitment: np.ndarray,
        experience: np.ndarray,
        deals: np.ndarray,
        mode_deals: np.ndarray,
        industry_deals: np.ndarray,
        region: np.ndarray,
        n_regions: int,
        spillover: float | np.ndarray,
    ) -> None:
        self.year = year
        self.step = step
        self.commitment = commitment
        self.experience = experience
        self.deals = deals
        self.mode_deals = mode_deals
        self.industry_deals = industry_deals
        self.region = region
        self.n_regions = n_regions
        self.spillover = spillover

    def _by_region(self, values: np.ndarray) -> np.ndarray:
        # One row-wise sum per region: exact and identical whatever the batch size (a matrix
        # product would let BLAS reorder the additions).
        out = np.zeros((values.shape[0], self.n_regions))
        for g in range(self.n_regions):
            members = self.region == g
            if members.any():
                out[:, g] = values[:, members].sum(axis=1)
        return out

    @property
    def region_deals(self) -> np.ndarray:
        """Completed deals per region, (runs, regions)."""
        return self._by_region(self.deals)

    @property
    def region_experience(self) -> np.ndarray:
        """Experience per region: the spill-over share of its markets' experience (runs, G)."""
        return self.spillover * self._by_region(self.experience)


class Policy[P: PolicyParams]:
    """A strategy of market and mode choice.

    Subclasses set ``name`` and implement :meth:`utilities` (or :meth:`year_utilities`); their
    ``Params`` (a :class:`PolicyParams` subclass) is the class's type argument, as in
    ``class Gravity(Policy[GravityParams])``, unless the class sets ``Params`` itself.
    ``matches_record_counts`` marks an *oracle*: it takes each year exactly as many deals as the
    historical record has (so it sees the validation years) and is never ranked. ``baseline``
    marks a fair baseline (it sees only what a theory sees).
    """

    name: ClassVar[str]
    Params: ClassVar[type[PolicyParams]]
    matches_record_counts: ClassVar[bool] = False
    baseline: ClassVar[bool] = False
    summary: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Take ``Params`` from the type argument, which already names the parameters.

        Declaring them once keeps the class's parameters and the type of ``self.params`` (what
        mypy checks a policy's arithmetic against) from drifting apart.
        """
        super().__init_subclass__(**kwargs)
        if "Params" in cls.__dict__:
            return
        for base in types.get_original_bases(cls):
            args = get_args(base)
            if get_origin(base) is Policy and args and isinstance(args[0], type):
                cls.Params = args[0]

    def __init__(self, params: P) -> None:
        self.params = params
        self._memo: dict[tuple[int, str], tuple[MarketView, np.ndarray]] = {}

    def memo(self, market: MarketView, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """Cache a part of the utilities that depends only on this year's market view.

        A world builds one :class:`MarketView` per year and shares it across replications, so a
        policy computes its year-specific location index once per year, not once per run. The
        cached array must not be modified by the caller.
        """
        slot = (id(market), key)
        hit = self._memo.get(slot)
        if hit is None or hit[0] is not market:
            if len(self._memo) > 4096:
                self._memo.clear()
            value = compute()
            value.setflags(write=False)
            self._memo[slot] = (market, value)
            return value
        return hit[1]

    def utilities(self, market: MarketView, firm: FirmView) -> np.ndarray:
        """Log-utility of each option; ``-inf`` forbids an option.

        The default serves a theory that reads the year alone, not the firm's state: its
        :meth:`year_utilities`, computed once per year and shared by every run (several theories
        are of this kind, so the caching lives here once). A theory that reads the firm's
        portfolio overrides this method instead.

        Returns:
            Shape (runs, markets, modes), or (markets, modes) when the utilities depend neither
            on the firm's state nor on per-run parameter values (the engine broadcasts it).
        """
        step = firm.step
        return self.memo(market, f"year{step}", lambda: self.year_utilities(market, step))

    def year_utilities(self, market: MarketView, step: int) -> np.ndarray:
        """Log-utility of each option from the year alone: its market view and ``step``.

        Only the default :meth:`utilities` calls it; a policy overrides one of the two.

        Returns:
            Shape (markets, modes), or (runs, markets, modes) with per-run parameter values.
        """
        raise NotImplementedError

    def industry_utilities(self, firm: FirmView) -> np.ndarray | None:
        """Extra log-utility of each industry for this year's deals, (runs, industries).

        ``None`` (the default) leaves the second-stage industry choice to the firm-level core
        bonus alone; a policy that values industry spread overrides this.
        """
        return None

    def exit_log_odds(self, market: MarketView, firm: FirmView) -> np.ndarray | None:
        """How this theory retreats: extra log-odds of exiting each market this year.

        Shape (runs, markets) or (markets,); the engine reads it at the held markets only and
        weighs it by the firm's ``exit_theory`` (docs/ODD.md 7.10). ``None`` (the default): the
        theory has no retreat logic of its own, and exits follow the firm-level hazard alone.
        """
        return None

    @staticmethod
    def blank(market: MarketView) -> np.ndarray:
        """A zero utility array of the right shape."""
        return np.zeros((market.distance.shape[0], N_MODES))


_REGISTRY: dict[str, type[Policy]] = {}


def register[P: type[Policy]](cls: P) -> P:
    """Class decorator: make a policy available by its ``name`` in scenario files."""
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"policy name {cls.name!r} is already registered")
    _REGISTRY[cls.name] = cls
    return cls


def policy_names() -> list[str]:
    """Names of all registered policies, sorted."""
    return sorted(_REGISTRY)


def get_policy(name: str) -> type[Policy]:
    """The policy class registered as ``name``.

    Raises:
        KeyError: when no policy of that name is registered (message lists the known ones).
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown policy {name!r}; known: {', '.join(policy_names())}") from None


PolicyFactory = Callable[[PolicyParams], "Policy[PolicyParams]"]
