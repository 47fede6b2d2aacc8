"""Gravity-only location logit: a fair baseline with no theory of sequence or mode.

Choice probability rises with market size and falls with distance (the gravity model of trade
and FDI, Tinbergen 1962; Head & Mayer 2014), with constant mode preferences. Any theory claiming
to explain *where* the firm went must beat this.

Greenfield: a constant preference (``alpha_greenfield``), like every mode of this baseline.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from sim.policies.base import FirmView, MarketView, Policy, PolicyParams, register
from sim.policies.common import attractiveness, mode_row
from sim.priors import Prior, prior


class GravityParams(PolicyParams):
    """Size and distance weights and two mode constants."""

    beta_size: float = Field(
        1.0, ge=0.0, le=3.0, description="elasticity of choice to GDP (log GDP weight)"
    )
    beta_distance: float = Field(1.0, ge=0.0, le=5.0, description="penalty on geographic distance")
    alpha_minority: float = Field(0.0, ge=-3.0, le=3.0, description="minority stake vs cooperation")
    alpha_control: float = Field(-1.5, ge=-5.0, le=3.0, description="control vs cooperation")
    alpha_greenfield: float = Field(
        -2.0, ge=-5.0, le=3.0, description="greenfield operation vs cooperation"
    )

    #: A gravity baseline: size attracts and distance deters. Mode constants fixed.
    priors: ClassVar[dict[str, Prior]] = {
        "beta_size": prior(0.0, 3.0, "uniform over the declared bounds: no value is argued"),
        "beta_distance": prior(0.0, 5.0, "uniform over the declared bounds: no value is argued"),
    }


@register
class GravityPolicy(Policy[GravityParams]):
    """Size attracts, distance repels; modes by constants."""

    name = "gravity"
    Params = GravityParams
    baseline = True
    summary = "BASELINE: gravity logit on market size and distance, constant mode preferences"

    def utilities(self, market: MarketView, firm: FirmView) -> np.ndarray:
        """Gravity index plus mode constants (independent of the firm's state)."""
        return self.memo(market, "utilities", lambda: self._static(market))

    def _static(self, market: MarketView) -> np.ndarray:
        p = self.params
        location = attractiveness(market, size=p.beta_size, distance=p.beta_distance)
        return location[..., None] + mode_row(p.alpha_minority, p.alpha_control, p.alpha_greenfield)
