"""Springboard internationalization (Luo & Tung 2007): buy strategic assets in mature markets.

The rival hypothesis to dual-track: aggressive acquisitions (control, large stakes) in mature
markets, to catch up on technology and brands, and low commitment in emerging markets.

Greenfield: a springboard firm buys the assets it lacks; it does not build them. Greenfield has
one preference for both market types, ``alpha_greenfield``, bounded above by cooperation (0), so
it never rivals the acquisitions that define the theory.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from sim.policies import common
from sim.policies.base import FirmView, MarketView, Policy, PolicyParams, register
from sim.priors import UNARGUED, Prior, prior


class SpringboardParams(PolicyParams):
    """Preference for mature, large markets and the mode rows of the two market types."""

    beta_maturity: float = Field(2.0, ge=0.0, le=5.0, description="weight on market maturity")
    beta_size: common.SizeWeight = 1.0
    beta_distance: common.DistanceWeight = 0.2
    beta_barriers: common.BarriersWeight = 0.5
    mature_minority: float = common.preference(1.0, -3.0, 5.0, "minority", "mature markets")
    mature_control: float = common.preference(2.0, -3.0, 5.0, "control", "mature markets")
    emerging_minority: float = common.preference(0.0, -3.0, 5.0, "minority", "emerging markets")
    emerging_control: float = common.preference(-2.0, -8.0, 3.0, "control", "emerging markets")
    alpha_greenfield: float = Field(
        -3.0,
        ge=-8.0,
        le=0.0,
        description="both market types: greenfield vs cooperation (at most 0: it buys, not builds)",
    )

    #: Luo & Tung (2007): strategic assets bought in mature markets, the opposite signature of
    #: dual-track, kept on. Other fields are fixed at their defaults.
    priors: ClassVar[dict[str, Prior]] = {
        "mature_control": prior(0.0, 5.0, "acquisitions of strategic assets in mature markets"),
        "mature_minority": prior(-1.0, 5.0, "equity in mature markets at most one unit below"),
        "emerging_control": prior(-8.0, 0.0, "no preference for control in emerging markets"),
        "beta_maturity": prior(0.5, 5.0, "asset-rich, mature markets attract (positive weight)"),
        "beta_size": UNARGUED,
    }


@register
class SpringboardPolicy(Policy[SpringboardParams]):
    """Mature markets first, with control; emerging markets by light modes.

    Its retreat is its own as well (:meth:`exit_log_odds`): a firm that buys assets to absorb
    them has a reason to sell once they are absorbed, which no other theory here gives.
    """

    name = "springboard"
    summary = "aggressive acquisition of strategic assets in mature markets"

    def year_utilities(self, market: MarketView, step: int) -> np.ndarray:
        """Maturity-led location index with the springboard's mode rows.

        The mode rows are those of dual-track with the market types swapped (control where the
        assets are, in mature markets), so the two theories differ in one signature the record
        can tell apart.
        """
        p = self.params
        modes = common.mode_constants(
            market.mature,
            emerging_row=common.mode_row(
                p.emerging_minority, p.emerging_control, p.alpha_greenfield
            ),
            mature_row=common.mode_row(p.mature_minority, p.mature_control, p.alpha_greenfield),
        )
        return common.attractiveness(market, p)[..., None] + modes

    def exit_log_odds(self, market: MarketView, firm: FirmView) -> np.ndarray:
        """Asset-seeking exits: a mature-market holding whose assets are absorbed is sold.

        Experience in a mature market measures what the firm has taken from it; once taken, the
        holding has served its purpose, so there experience raises exit rather than lowering it.
        """
        return np.where(market.mature, np.log1p(firm.experience), 0.0)
