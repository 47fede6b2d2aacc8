"""The scenario's ``projection:`` section: declared futures, ensemble size and robustness rules.

A projection is an exploratory experiment in the EMA Workbench vocabulary (Kwakkel 2017):
*uncertainties* are ranges the futures are sampled from (Latin hypercube), *levers* are the
scenario's strategies, *outcomes* are computed from each strategy's runs in each future. Every
range is declared here, as data, so the futures a conclusion rests on are explicit and
reviewable; nothing observed after the record's last year enters a projection.

Kept free of other ``sim`` modules except :mod:`sim.data.taxonomy` so that :mod:`sim.scenario`
can import it without a cycle.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.data.taxonomy import COUNTRY_GROUPS

#: Outcomes a robustness rule may name (all per strategy and future; see ``sim.projection.model``).
SCALAR_OUTCOMES: tuple[str, ...] = (
    "deals_per_year",
    "deals_total",
    "blocked_share",
    "markets_entered",
    "exits_per_year",
)
#: Latest year a projection may reach (indicators are carried forward beyond their data).
MAX_HORIZON = 2100


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(_Strict):
    """A closed interval the futures sample one value from (uniformly, Latin hypercube)."""

    low: float = Field(description="lowest value a future may take")
    high: float = Field(description="highest value a future may take")

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError("low and high must be finite numbers")
        if not self.low < self.high:
            raise ValueError("low must be below high (a fixed value is not an uncertainty)")
        return self


class GrowthRange(Range):
    """Yearly revenue growth (0.05 = +5 % a year), compounded from the record's last year.

    Revenue sets the firm's resources, which lower the outside option's hurdle
    (``resource_elasticity * log revenue``); a future with faster growth makes deals likelier.
    """

    low: float = Field(ge=-0.5, le=1.0)
    high: float = Field(ge=-0.5, le=1.0)


class MultiplierRange(Range):
    """A factor on the barrier index (1 = unchanged, 2 = doubled, 0.5 = halved)."""

    low: float = Field(ge=0.0, le=10.0)
    high: float = Field(ge=0.0, le=10.0)


class BarrierPath(_Strict):
    """Barrier escalation (> 1) or easing (< 1) in some markets from a year on.

    The barrier index of the named markets is multiplied by the sampled factor from
    ``from_year`` to the horizon; the host's blocking probability follows the index through the
    firm's ``block_base + block_slope * barriers`` (capped at ``max_block``), and so does the
    deterrence every strategy applies to blocked markets.
    """

    name: str = Field(
        pattern=r"^[a-z][a-z0-9_]*$", max_length=40, description="names the uncertainty"
    )
    markets: list[str] = Field(
        min_length=1,
        description="ISO3 codes or country groups (" + ", ".join(sorted(COUNTRY_GROUPS)) + ")",
    )
    from_year: int = Field(description="first year the factor applies")
    factor: MultiplierRange = Field(description="range of the factor on the barrier index")

    @model_validator(mode="after")
    def _codes(self) -> BarrierPath:
        for code in self.markets:
            if code not in COUNTRY_GROUPS and not (
                len(code) == 3 and code.isascii() and code.isupper()
            ):
                raise ValueError(f"markets: {code!r} is neither an ISO3 code nor a country group")
        return self


class RegimeRange(Range):
    """Change of the home outbound-regime index per year (+1 = one easing event a year).

    The index (cumulative easing minus tightening events in the record) continues from its
    value at the record's last year by this much each projected year; the hurdle falls by
    ``home_policy_effect`` per unit.
    """

    low: float = Field(ge=-3.0, le=3.0)
    high: float = Field(ge=-3.0, le=3.0)


class ClimateRange(Range):
    """A lasting shift of the outside option's utility (the deal climate) over the projection.

    Added to every strategy's fitted ``hurdle`` in the projected years: > 0 is a colder deal
    climate (fewer deals taken), < 0 a warmer one. The yearly climate shock keeps its fitted sd.
    """

    low: float = Field(ge=-5.0, le=5.0)
    high: float = Field(ge=-5.0, le=5.0)


class Uncertainties(_Strict):
    """The ranges futures are drawn from. Leave one out to hold it at its neutral value."""

    revenue_growth: GrowthRange | None = Field(
        None, description="yearly revenue growth after the record (neutral: 0, flat revenue)"
    )
    barriers: list[BarrierPath] = Field(
        default_factory=list, description="barrier escalation/easing by market group"
    )
    home_regime: RegimeRange | None = Field(
        None, description="home outbound-regime index change per year (neutral: 0)"
    )
    climate: ClimateRange | None = Field(
        None, description="shift of the outside option's utility (neutral: 0)"
    )

    @model_validator(mode="after")
    def _some_and_unique(self) -> Uncertainties:
        names = [b.name for b in self.barriers]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"barriers: duplicate name(s) {', '.join(dup)}")
        if not self.names():
            raise ValueError("declare at least one uncertainty")
        return self

    def names(self) -> list[str]:
        """The uncertainties' names, as the experiments table and PRIM use them."""
        out = [n for n in ("revenue_growth", "home_regime", "climate") if getattr(self, n)]
        return out + [f"barrier_{b.name}" for b in self.barriers]

    def ranges(self) -> dict[str, tuple[float, float]]:
        """Name -> (low, high) of every declared uncertainty."""
        out: dict[str, tuple[float, float]] = {}
        for name in ("revenue_growth", "home_regime", "climate"):
            r = getattr(self, name)
            if r is not None:
                out[name] = (r.low, r.high)
        for b in self.barriers:
            out[f"barrier_{b.name}"] = (b.factor.low, b.factor.high)
        return out


class Bound(_Strict):
    """A threshold on one outcome: at least ``min`` and/or at most ``max``."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _one(self) -> Bound:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


Outcome = Literal[
    "deals_per_year", "deals_total", "blocked_share", "markets_entered", "exits_per_year"
]


def _default_satisficing() -> dict[Outcome, Bound]:
    """A declared default threshold (five deals a year); scenarios set their own."""
    return {"deals_per_year": Bound(min=5.0, max=None)}


class Robustness(_Strict):
    """How strategies are compared across futures.

    Regret of a strategy in a future is how far its ``outcome`` falls short of the best
    strategy's in that future (Savage 1951; the robustness metrics of McPhail et al. 2018);
    the satisficing score is the share of futures in which every bound holds (Simon 1956).
    """

    outcome: Outcome = Field("deals_per_year", description="outcome regret is measured on")
    direction: Literal["max", "min"] = Field("max", description="whether more is better")
    satisficing: dict[Outcome, Bound] = Field(
        default_factory=_default_satisficing,
        description="outcome -> bound; a future satisfices when every bound holds",
    )

    @model_validator(mode="after")
    def _some(self) -> Robustness:
        if not self.satisficing:
            raise ValueError("satisficing: give at least one bound")
        return self


class Projection(_Strict):
    """``sim project``: run every strategy from the end of the record under sampled futures."""

    horizon: int = Field(description="last projected year (the first is the year after the origin)")
    start_from: str | None = Field(
        None,
        description="calibrated scenario (as `sim calibrate` writes it) whose strategies' params "
        "and firm values replace the ones given here, by label; default: the strategies as given",
    )
    origin: int | None = Field(
        None,
        ge=1990,
        le=2100,
        description="last year of data the projection may use (record events, home regime and "
        "barrier events, revenue, and with indicators: carry_forward the market indicators); "
        "default: the scenario's last year. May be any year of the firm's record after its first",
    )
    indicators: Literal["use", "carry_forward"] = Field(
        "use",
        description="market indicators after the origin: 'use' reads the indicator table's "
        "values for projected years (observed, then WEO projections) as the supplied path; "
        "'carry_forward' keeps only what was known at the origin (`sim backtest` always does)",
    )
    futures: int = Field(50, ge=2, le=100_000, description="futures sampled (Latin hypercube)")
    replications: int = Field(
        30, ge=1, le=100_000, description="runs per strategy and future (common random numbers)"
    )
    uncertainties: Uncertainties
    robustness: Robustness = Robustness()

    @model_validator(mode="after")
    def _horizon(self) -> Projection:
        if not self.horizon <= MAX_HORIZON:
            raise ValueError(f"horizon: must be at most {MAX_HORIZON}")
        for i, b in enumerate(self.uncertainties.barriers):
            if b.from_year > self.horizon:
                raise ValueError(
                    f"uncertainties.barriers[{i}].from_year: {b.from_year} is after the horizon "
                    f"{self.horizon} (the path would have no effect)"
                )
        return self
