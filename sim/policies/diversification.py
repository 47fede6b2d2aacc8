"""Diversification across regions and entry modes (Li & Li 2022, sections 3 and 4).

On top of market attractiveness, a candidate scores by how much it spreads the portfolio: the gain
in Shannon entropy of the firm's deals over regions and over entry modes; and each deal's
industry is chosen by the gain in entropy over industries (the paper's "13 industries").

Greenfield: a fourth entry mode in the mode entropy (a firm that has never built its own operation
gains entropy by doing so), plus a constant ``alpha_greenfield``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import Field

from sim.policies import common
from sim.policies.base import FirmView, MarketView, Policy, PolicyParams, register
from sim.priors import UNARGUED, Prior, prior


def _entropy_weight(default: float, over: str) -> Any:
    """A field for the value of spreading the portfolio ``over`` regions, modes or industries.

    One range for the three, so their fitted values compare: the utility of one unit (nat) of
    entropy gain, from 0 (that spreading is worth nothing) to 10.
    """
    return Field(default, ge=0.0, le=10.0, description=f"value of one unit of {over}-entropy gain")


class DiversificationParams(PolicyParams):
    """Location weights and the value of spreading over regions and modes."""

    beta_size: common.SizeWeight = 1.0
    beta_growth: common.GrowthWeight = 0.5
    beta_distance: common.DistanceWeight = 0.5
    beta_barriers: common.BarriersWeight = 1.0
    beta_region_entropy: float = _entropy_weight(3.0, "region")
    beta_mode_entropy: float = _entropy_weight(1.5, "mode")
    alpha_minority: common.MinorityConstant = 0.5
    alpha_control: common.ControlConstant = -1.0
    alpha_greenfield: common.GreenfieldConstant = -2.0
    beta_industry_entropy: float = _entropy_weight(1.5, "industry")

    #: The paper's diversification (sections 3 and 4): spreading over regions and modes has
    #: value, kept on. Other fields fixed at their defaults.
    priors: ClassVar[dict[str, Prior]] = {
        "beta_region_entropy": prior(0.5, 10.0, "spreading over regions has value (paper 3, 4)"),
        "beta_mode_entropy": prior(0.5, 10.0, "spreading over modes has value (paper 3, 4)"),
        "beta_industry_entropy": UNARGUED,
        "beta_size": UNARGUED,
        "beta_distance": UNARGUED,
    }


@register
class DiversificationPolicy(Policy[DiversificationParams]):
    """Attractiveness plus the portfolio-entropy gain over regions and modes.

    A gain in entropy rather than a count of new regions: a deal is worth what it evens the
    portfolio out, so a further deal in a crowded region weighs less than a first one elsewhere.
    """

    name = "diversification"
    summary = "attractiveness plus the gain in portfolio entropy over regions, modes and industries"

    def utilities(self, market: MarketView, firm: FirmView) -> np.ndarray:
        """Location index + region-entropy gain per market + mode-entropy gain per mode."""
        p = self.params
        location = self.memo(market, "location", lambda: common.attractiveness(market, p))
        region_gain = common.entropy_gain(firm.region_deals)[:, market.region]
        mode_gain = common.entropy_gain(firm.mode_deals)
        modes = (
            common.mode_row(p.alpha_minority, p.alpha_control, p.alpha_greenfield)
            + (p.beta_mode_entropy * mode_gain)[:, None, :]
        )
        return (location + p.beta_region_entropy * region_gain)[:, :, None] + modes

    def industry_utilities(self, firm: FirmView) -> np.ndarray:
        """Industries that spread the portfolio most are preferred."""
        return self.params.beta_industry_entropy * common.entropy_gain(firm.industry_deals)
