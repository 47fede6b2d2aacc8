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

from sim.policies.base import FirmView, MarketView, Policy, PolicyParams, register
from sim.policies.common import attractiveness, mode_row
from sim.priors import Prior, prior


class KojimaParams(PolicyParams):
    """The moving maturity ceiling and the location weights inside it."""

    ceiling_start: float = Field(
        0.45, ge=0.0, le=1.0, description="maturity ceiling in the first year (0-1 scale)"
    )
    ceiling_rate: float = Field(
        0.05, ge=0.0, le=0.2, description="yearly rise of the maturity ceiling"
    )
    softness: float = Field(
        10.0, ge=1.0, le=30.0, description="log-utility penalty per unit of maturity above ceiling"
    )
    beta_size: float = Field(
        1.0, ge=0.0, le=3.0, description="elasticity of choice to GDP (log GDP weight)"
    )
    beta_growth: float = Field(1.0, ge=0.0, le=5.0, description="weight on GDP growth")
    beta_distance: float = Field(1.0, ge=0.0, le=5.0, description="penalty on geographic distance")
    alpha_minority: float = Field(0.5, ge=-3.0, le=3.0, description="minority stake vs cooperation")
    alpha_control: float = Field(-0.5, ge=-5.0, le=3.0, description="control vs cooperation")
    alpha_greenfield: float = Field(
        -2.0, ge=-5.0, le=3.0, description="greenfield operation vs cooperation"
    )
    direction: Literal[1, -1] = Field(
        1, description="1: emerging markets first (Kojima); -1: mature markets first"
    )

    #: The moving maturity ceiling is kept on: it starts below the most mature markets and
    #: binds (a soft ceiling would switch the mechanism off). Other fields fixed at defaults.
    priors: ClassVar[dict[str, Prior]] = {
        "ceiling_start": prior(0.0, 0.6, "emerging markets first (paper 3.1): ceiling starts low"),
        "ceiling_rate": prior(0.0, 0.2, "uniform over the declared bounds: no value is argued"),
        "softness": prior(3.0, 30.0, "the ceiling binds: at least 3 units per unit above it"),
        "beta_growth": prior(0.0, 5.0, "uniform over the declared bounds: no value is argued"),
        "beta_distance": prior(0.0, 5.0, "uniform over the declared bounds: no value is argued"),
    }


@register
class KojimaPolicy(Policy[KojimaParams]):
    """Markets above a rising maturity ceiling are penalised; order reversible by ``direction``."""

    name = "kojima"
    Params = KojimaParams
    summary = "emerging (less mature) markets first; a maturity ceiling rises each year"

    def utilities(self, market: MarketView, firm: FirmView) -> np.ndarray:
        """Attractiveness minus a penalty for maturity beyond this year's ceiling."""
        return self.memo(market, f"utilities{firm.step}", lambda: self._static(market, firm.step))

    def _static(self, market: MarketView, step: int) -> np.ndarray:
        # Depends only on the year, not on the firm's portfolio: one computation per year.
        p = self.params
        ceiling = p.ceiling_start + p.ceiling_rate * step
        readiness = np.where(np.equal(p.direction, 1), market.maturity, 1.0 - market.maturity)
        penalty = p.softness * np.maximum(0.0, readiness - ceiling)
        location = attractiveness(
            market, size=p.beta_size, growth=p.beta_growth, distance=p.beta_distance
        )
        modes = mode_row(p.alpha_minority, p.alpha_control, p.alpha_greenfield)
        return (location - penalty)[..., None] + modes
