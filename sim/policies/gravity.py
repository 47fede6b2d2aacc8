"""Gravity-only location logit: a fair baseline with no theory of sequence or mode.

Choice probability rises with market size and falls with distance (the gravity model of trade
and FDI, Tinbergen 1962; Head & Mayer 2014), with constant mode preferences. Any theory claiming
to explain *where* the firm went must beat this.

Greenfield: a constant preference (``alpha_greenfield``), like every mode of this baseline.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from sim.policies import common
from sim.policies.base import MarketView, Policy, PolicyParams, register
from sim.priors import UNARGUED, Prior


class GravityParams(PolicyParams):
    """Size and distance weights and the mode constants.

    The gravity equation's two terms and nothing else: a further attribute would make the
    baseline a theory of location, which is what it is there to be compared with.
    """

    beta_size: common.SizeWeight = 1.0
    beta_distance: common.DistanceWeight = 1.0
    alpha_minority: common.MinorityConstant = 0.0
    alpha_control: common.ControlConstant = -1.5
    alpha_greenfield: common.GreenfieldConstant = -2.0

    #: A gravity baseline: size attracts and distance deters. Mode constants fixed.
    priors: ClassVar[dict[str, Prior]] = {
        "beta_size": UNARGUED,
        "beta_distance": UNARGUED,
    }


@register
class GravityPolicy(Policy[GravityParams]):
    """Size attracts, distance repels; modes by constants.

    A baseline, not a theory: it sees what every theory sees, so a theory of location that cannot
    beat it has explained nothing beyond the pull of large, near markets.
    """

    name = "gravity"
    baseline = True
    summary = "BASELINE: gravity logit on market size and distance, constant mode preferences"

    def year_utilities(self, market: MarketView, step: int) -> np.ndarray:
        """Gravity index plus mode constants.

        The modes are constants because the baseline has no theory of mode: whatever a theory
        explains about how the firm enters must do better than fixed shares.
        """
        p = self.params
        modes = common.mode_row(p.alpha_minority, p.alpha_control, p.alpha_greenfield)
        return common.attractiveness(market, p)[..., None] + modes
