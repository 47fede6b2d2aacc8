"""The small interface every policy implements, and the registry that finds policies by name.

A policy turns what the firm can see this year (market attributes, its own portfolio) into a
log-utility for every (market, mode) option. The model does the rest the same way for every
policy: it masks infeasible options, samples this year's deals from the utilities (a nested logit:
market first, then mode) and applies them. So a policy is a pure function of arrays, easy to test
and to add: subclass :class:`Policy` in one file and decorate it with :func:`register`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from sim.modes import N_MODES


class PolicyParams(BaseModel):
    """Base of every policy's parameters: each field needs a default, a range and a description.

    Calibration searches the numeric fields between their ``ge``/``le`` bounds, so every float
    field must declare both.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    aggressiveness: float = Field(
        1.0, ge=0.1, le=3.0, description="multiple of the firm's yearly capital capacity spent"
    )


@dataclass(frozen=True, eq=False)
class MarketView:
    """This year's market attributes, arrays of length n_markets, mostly normalised to [0, 1].

    Attributes:
        distance: Great-circle distance from home, divided by the largest.
        culture: Kogut-Singh cultural distance, divided by the largest (imputed where missing).
        maturity: Economic and digital maturity (income and internet use).
        barriers: Entry barriers (regulatory rank plus dated China-specific barrier events).
        growth: Real GDP growth, scaled.
        size: Log GDP relative to the largest market (<= 0): weight 1 = proportional to GDP.
        mature: Whether the market is classed mature (else emerging).
        region: Region index of each market.
        n_regions: Number of regions.
    """

    distance: np.ndarray
    culture: np.ndarray
    maturity: np.ndarray
    barriers: np.ndarray
    growth: np.ndarray
    size: np.ndarray
    mature: np.ndarray
    region: np.ndarray
    n_regions: int


class FirmView:
    """What the firm knows of itself when it decides (read-only views of its state).

    Region aggregates are computed on demand, so policies that do not use them cost nothing.

    Attributes:
        year: Calendar year being decided.
        step: Years since the first simulated year (0-based).
        commitment: Highest commitment rung reached per market (0 = none, 3 = control).
        experience: Accumulated market-specific experience per market.
        deals: Completed deals per market.
        mode_deals: Completed deals per mode.
        region: Region index of each market.
        n_regions: Number of regions.
        spillover: Share of market experience that counts for its whole region.
    """

    __slots__ = (
        "commitment",
        "deals",
        "experience",
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
        region: np.ndarray,
        n_regions: int,
        spillover: float,
    ) -> None:
        self.year = year
        self.step = step
        self.commitment = commitment
        self.experience = experience
        self.deals = deals
        self.mode_deals = mode_deals
        self.region = region
        self.n_regions = n_regions
        self.spillover = spillover

    @property
    def region_deals(self) -> np.ndarray:
        """Completed deals per region."""
        return np.bincount(self.region, weights=self.deals, minlength=self.n_regions)

    @property
    def region_experience(self) -> np.ndarray:
        """Experience per region: the spill-over share of its markets' experience."""
        return self.spillover * np.bincount(
            self.region, weights=self.experience, minlength=self.n_regions
        )


class Policy:
    """A strategy of market and mode choice.

    Subclasses set ``name``, ``Params`` (a :class:`PolicyParams` subclass) and implement
    :meth:`utilities`. Set ``matches_record_counts`` to draw each year exactly as many deals as the
    historical record has (the null model's convention) instead of spending a budget.
    """

    name: ClassVar[str]
    Params: ClassVar[type[PolicyParams]]
    matches_record_counts: ClassVar[bool] = False
    summary: ClassVar[str] = ""

    def __init__(self, params: PolicyParams) -> None:
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
        """Log-utility of each option, shape (n_markets, n_modes); ``-inf`` forbids an option."""
        raise NotImplementedError

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


PolicyFactory = Callable[[PolicyParams], Policy]
