"""OLI location choice as a conditional logit (Dunning 1988; Buckley et al. 2007 for Chinese OFDI).

Markets attract in proportion to size, growth and maturity and repel with distance, cultural
distance and barriers; the mode follows a transaction-cost logic where barriers raise the cost of
commitment (Anderson & Gatignon 1986).

Greenfield: the internalisation choice at its fullest, the firm transferring its own advantages
into an operation it builds (Hennart & Park 1993); a constant ``alpha_greenfield`` plus the barrier
penalty per rung of commitment, which is largest for greenfield (three rungs above cooperation).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from sim.policies.base import FirmView, MarketView, Policy, PolicyParams, register
from sim.policies.common import attractiveness, barrier_mode_penalty, mode_row
from sim.priors import Prior, prior


class OliParams(PolicyParams):
    """Logit weights of the location and mode choice."""

    beta_size: float = Field(
        1.0, ge=0.0, le=3.0, description="elasticity of choice to GDP (log GDP weight)"
    )
    beta_growth: float = Field(0.5, ge=0.0, le=5.0, description="weight on GDP growth")
    beta_maturity: float = Field(0.5, ge=-3.0, le=3.0, description="weight on market maturity")
    beta_distance: float = Field(1.0, ge=0.0, le=5.0, description="penalty on geographic distance")
    beta_culture: float = Field(0.5, ge=0.0, le=5.0, description="penalty on cultural distance")
    beta_barriers: float = Field(1.0, ge=0.0, le=5.0, description="penalty on entry barriers")
    alpha_minority: float = Field(0.0, ge=-3.0, le=3.0, description="minority stake vs cooperation")
    alpha_control: float = Field(-1.5, ge=-5.0, le=3.0, description="control vs cooperation")
    alpha_greenfield: float = Field(
        -2.0, ge=-5.0, le=3.0, description="greenfield operation vs cooperation"
    )
    gamma_barrier_mode: float = Field(
        1.0, ge=0.0, le=5.0, description="how much barriers deter each extra rung of commitment"
    )

    #: A conditional location logit: its weights are the mechanism, no sign imposed beyond the
    #: declared bounds. Mode constants fixed at their defaults.
    priors: ClassVar[dict[str, Prior]] = {
        name: prior(*bounds, "uniform over the declared bounds: no value is argued")
        for name, bounds in {
            "beta_size": (0.0, 3.0),
            "beta_growth": (0.0, 5.0),
            "beta_maturity": (-3.0, 3.0),
            "beta_distance": (0.0, 5.0),
            "beta_culture": (0.0, 5.0),
            "beta_barriers": (0.0, 5.0),
        }.items()
    }


@register
class OliLogitPolicy(Policy[OliParams]):
    """Location logit on market attributes with barrier-sensitive mode constants."""

    name = "oli_logit"
    Params = OliParams
    summary = "conditional logit on size, growth, maturity, distance, culture and barriers"

    def utilities(self, market: MarketView, firm: FirmView) -> np.ndarray:
        """Location index plus mode constants and the barrier penalty on commitment."""
        return self.memo(market, "utilities", lambda: self._static(market))

    def _static(self, market: MarketView) -> np.ndarray:
        # Independent of the firm's state: computed once per year for all runs.
        p = self.params
        location = attractiveness(
            market,
            size=p.beta_size,
            growth=p.beta_growth,
            maturity=p.beta_maturity,
            distance=p.beta_distance,
            culture=p.beta_culture,
            barriers=p.beta_barriers,
        )
        return (
            location[..., None]
            + mode_row(p.alpha_minority, p.alpha_control, p.alpha_greenfield)
            + barrier_mode_penalty(market.barriers, p.gamma_barrier_mode)
        )
