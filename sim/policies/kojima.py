"""Kojima's marginal expansion, "encircling the cities from the countryside" (Li & Li 2022, 3.1).

The firm first invests where the gap to home is small (emerging, less mature markets) and moves
to mature markets later: an eligibility ceiling on maturity rises every year. With
``direction = -1`` the order flips (mature markets first), the counterfactual of
``scenarios/mature_first.yaml``.

Greenfield: the theory is about *where and when*, not how; every mode, greenfield included, has a
constant preference (``alpha_greenfield``) that does not depend on the market or the year.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from sim.policies import common
from sim.policies.base import MarketView, Policy, PolicyParams, register
from sim.priors import UNARGUED, Prior, prior


class KojimaParams(PolicyParams):
    """The moving maturity ceiling and the location weights inside it."""

    ceiling_start: float = Field(
        0.45, ge=0.0, le=1.0, description="maturity ceiling in the first year (0-1 scale)"
    )
    ceiling_rate: float = Field(
        0.05, ge=0.0, le=0.2, description="yearly rise of the maturity ceiling"
    )
    softness: float = common.softness(10.0, "maturity above ceiling")
    beta_size: common.SizeWeight = 1.0
    beta_growth: common.GrowthWeight = 1.0
    beta_distance: common.DistanceWeight = 1.0
    alpha_minority: common.MinorityConstant = 0.5
    alpha_control: common.ControlConstant = -0.5
    alpha_greenfield: common.GreenfieldConstant = -2.0
    direction: Literal[1, -1] = Field(
        1, description="1: emerging markets first (Kojima); -1: mature markets first"
    )

    #: The moving maturity ceiling is kept on: it starts below the most mature markets and
    #: binds (a soft ceiling would switch the mechanism off). Other fields fixed at defaults.
    priors: ClassVar[dict[str, Prior]] = {
        "ceiling_start": prior(0.0, 0.6, "emerging markets first (paper 3.1): ceiling starts low"),
        "ceiling_rate": UNARGUED,
        "softness": prior(3.0, 30.0, "the ceiling binds: at least 3 units per unit above it"),
        "beta_growth": UNARGUED,
        "beta_distance": UNARGUED,
    }


@register
class KojimaPolicy(Policy[KojimaParams]):
    """Markets above a rising maturity ceiling are penalised; order reversible by ``direction``.

    The ceiling rises with the calendar, not with the firm's experience (that is Uppsala's
    frontier), so the two theories of sequence disagree about a firm that stops deciding.
    """

    name = "kojima"
    summary = "emerging (less mature) markets first; a maturity ceiling rises each year"

    def year_utilities(self, market: MarketView, step: int) -> np.ndarray:
        """Attractiveness minus a penalty for maturity beyond this year's ceiling.

        The ceiling is soft (``softness`` units per unit above it) so that the record can say
        how strictly the order holds; the prior keeps it steep enough to bind.
        """
        p = self.params
        ceiling = p.ceiling_start + p.ceiling_rate * step
        readiness = np.where(np.equal(p.direction, 1), market.maturity, 1.0 - market.maturity)
        penalty = p.softness * np.maximum(0.0, readiness - ceiling)
        modes = common.mode_row(p.alpha_minority, p.alpha_control, p.alpha_greenfield)
        return (common.attractiveness(market, p) - penalty)[..., None] + modes
