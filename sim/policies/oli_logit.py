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

from sim.policies import common
from sim.policies.base import MarketView, Policy, PolicyParams, register
from sim.priors import UNARGUED, Prior


class OliParams(PolicyParams):
    """Logit weights of the location and mode choice."""

    beta_size: common.SizeWeight = 1.0
    beta_growth: common.GrowthWeight = 0.5
    beta_maturity: float = Field(0.5, ge=-3.0, le=3.0, description="weight on market maturity")
    beta_distance: common.DistanceWeight = 1.0
    beta_culture: float = Field(0.5, ge=0.0, le=5.0, description="penalty on cultural distance")
    beta_barriers: common.BarriersWeight = 1.0
    alpha_minority: common.MinorityConstant = 0.0
    alpha_control: common.ControlConstant = -1.5
    alpha_greenfield: common.GreenfieldConstant = -2.0
    gamma_barrier_mode: float = Field(
        1.0, ge=0.0, le=5.0, description="how much barriers deter each extra rung of commitment"
    )

    #: A conditional location logit: its weights are the mechanism, no sign imposed beyond the
    #: declared bounds. Mode constants fixed at their defaults.
    priors: ClassVar[dict[str, Prior]] = {
        "beta_size": UNARGUED,
        "beta_growth": UNARGUED,
        "beta_maturity": UNARGUED,
        "beta_distance": UNARGUED,
        "beta_culture": UNARGUED,
        "beta_barriers": UNARGUED,
    }


@register
class OliLogitPolicy(Policy[OliParams]):
    """Location logit on market attributes with barrier-sensitive mode constants.

    Its utilities ignore the firm's own history: OLI explains where and how by what the markets
    offer, which is what sets it apart from the theories of sequence.
    """

    name = "oli_logit"
    summary = "conditional logit on size, growth, maturity, distance, culture and barriers"

    def year_utilities(self, market: MarketView, step: int) -> np.ndarray:
        """Location index plus mode constants and the barrier penalty on commitment.

        Barriers act on each rung above cooperation, not only on the market: in the
        transaction-cost logic a barrier raises the cost of every extra unit of control the
        firm takes on (Anderson & Gatignon 1986), so it shifts the mode as well as the place.
        """
        p = self.params
        return (
            common.attractiveness(market, p)[..., None]
            + common.mode_row(p.alpha_minority, p.alpha_control, p.alpha_greenfield)
            + common.barrier_mode_penalty(market.barriers, p.gamma_barrier_mode)
        )
