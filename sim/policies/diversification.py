"""Diversification across regions and entry modes (Li & Li 2022, sections 3 and 4).

On top of market attractiveness, a candidate scores by how much it spreads the portfolio: the gain
in Shannon entropy of the firm's deals over regions and over entry modes; and each deal's
industry is chosen by the gain in entropy over industries (the paper's "13 industries").

Greenfield: a fourth entry mode in the mode entropy (a firm that has never built its own operation
gains entropy by doing so), plus a constant ``alpha_greenfield``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from sim.policies.base import FirmView, MarketView, Policy, PolicyParams, register
from sim.policies.common import attractiveness, entropy_gain, mode_row
from sim.priors import Prior, prior


class DiversificationParams(PolicyParams):
    """Location weights and the value of spreading over regions and modes."""

    beta_size: float = Field(
        1.0, ge=0.0, le=3.0, description="elasticity of choice to GDP (log GDP weight)"
    )
    beta_growth: float = Field(0.5, ge=0.0, le=5.0, description="weight on GDP growth")
    beta_distance: float = Field(0.5, ge=0.0, le=5.0, description="penalty on geographic distance")
    beta_barriers: float = Field(1.0, ge=0.0, le=5.0, description="penalty on entry barriers")
    beta_region_entropy: float = Field(
        3.0, ge=0.0, le=10.0, description="value of one unit of region-entropy gain"
    )
    beta_mode_entropy: float = Field(
        1.5, ge=0.0, le=10.0, description="value of one unit of mode-entropy gain"
    )
    alpha_minority: float = Field(0.5, ge=-3.0, le=3.0, description="minority stake vs cooperation")
    alpha_control: float = Field(-1.0, ge=-5.0, le=3.0, description="control vs cooperation")
    alpha_greenfield: float = Field(
        -2.0, ge=-5.0, le=3.0, description="greenfield operation vs cooperation"
    )
    beta_industry_entropy: float = Field(
        1.5, ge=0.0, le=10.0, description="value of one unit of industry-entropy gain"
    )

    #: The paper's diversification (sections 3 and 4): spreading over regions and modes has
    #: value, kept on. Other fields fixed at their defaults.
    priors: ClassVar[dict[str, Prior]] = {
        "beta_region_entropy": prior(0.5, 10.0, "spreading over regions has value (paper 3, 4)"),
        "beta_mode_entropy": prior(0.5, 10.0, "spreading over modes has value (paper 3, 4)"),
        "beta_industry_entropy": prior(
            0.0, 10.0, "uniform over the declared bounds: no value is argued"
        ),
        "beta_size": prior(0.0, 3.0, "uniform over the declared bounds: no value is argued"),
        "beta_distance": prior(0.0, 5.0, "uniform over the declared bounds: no value is argued"),
    }


@register
class DiversificationPolicy(Policy[DiversificationParams]):
    """Attractiveness plus the portfolio-entropy gain over regions and modes."""

    name = "diversification"
    Params = DiversificationParams
    summary = "attractiveness plus the gain in portfolio entropy over regions, modes and industries"

    def utilities(self, market: MarketView, firm: FirmView) -> np.ndarray:
        """Location index + region-entropy gain per market + mode-entropy gain per mode."""
        p = self.params
        location = self.memo(
            market,
            "location",
            lambda: attractiveness(
                market,
                size=p.beta_size,
                growth=p.beta_growth,
                distance=p.beta_distance,
                barriers=p.beta_barriers,
            ),
        )
        region_gain = entropy_gain(firm.region_deals)[:, market.region]
        mode_gain = entropy_gain(firm.mode_deals)
        modes = (
            mode_row(p.alpha_minority, p.alpha_control, p.alpha_greenfield)
            + (p.beta_mode_entropy * mode_gain)[:, None, :]
        )
        return (location + p.beta_region_entropy * region_gain)[:, :, None] + modes

    def industry_utilities(self, firm: FirmView) -> np.ndarray:
        """Industries that spread the portfolio most are preferred."""
        return self.params.beta_industry_entropy * entropy_gain(firm.industry_deals)
