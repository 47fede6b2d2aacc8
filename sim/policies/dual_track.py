"""The "dual-track" strategy Li & Li (2022, sections 3.1 and 4) read in Alibaba's expansion.

Two tracks run in parallel. Emerging markets are entered aggressively, by controlling M&A or
large equity stakes. Mature markets are entered by gradual penetration: cooperation and minority
stakes first, deepening over time, concentrating on one mature market at a time.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from sim.policies.base import FirmView, MarketView, Policy, PolicyParams, register
from sim.policies.common import attractiveness, mode_constants, rungs_skipped


class DualTrackParams(PolicyParams):
    """Location weights, one row of mode preferences per track, and the mature-track pacing."""

    beta_size: float = Field(1.0, ge=0.0, le=5.0, description="weight on market size")
    beta_growth: float = Field(1.0, ge=0.0, le=5.0, description="weight on GDP growth")
    beta_distance: float = Field(0.5, ge=0.0, le=5.0, description="penalty on geographic distance")
    beta_barriers: float = Field(1.0, ge=0.0, le=5.0, description="penalty on entry barriers")
    emerging_minority: float = Field(
        1.0, ge=-3.0, le=5.0, description="emerging track: minority stake vs cooperation"
    )
    emerging_control: float = Field(
        1.5, ge=-3.0, le=5.0, description="emerging track: control vs cooperation"
    )
    mature_minority: float = Field(
        0.5, ge=-3.0, le=5.0, description="mature track: minority stake vs cooperation"
    )
    mature_control: float = Field(
        -3.0, ge=-8.0, le=3.0, description="mature track: control vs cooperation"
    )
    mature_skip_penalty: float = Field(
        3.0, ge=0.0, le=10.0, description="mature track: penalty per rung skipped (gradualism)"
    )
    focus: float = Field(
        1.5, ge=0.0, le=5.0, description="mature track: bonus for deepening an entered market"
    )
    spread_penalty: float = Field(
        1.0, ge=0.0, le=5.0, description="mature track: penalty on a new mature market while "
        "another is being deepened",
    )


@register
class DualTrackPolicy(Policy):
    """Aggressive control in emerging markets; gradual, focused penetration of mature ones."""

    name = "dual_track"
    Params = DualTrackParams
    summary = "emerging markets by control/large stakes; mature markets gradually, one at a time"

    def utilities(self, market: MarketView, firm: FirmView) -> np.ndarray:
        """Track-specific mode preferences on a common location index."""
        p = self.params
        location = attractiveness(
            market,
            size=p.beta_size,
            growth=p.beta_growth,
            distance=p.beta_distance,
            barriers=p.beta_barriers,
        )
        mature = market.mature
        entered = firm.commitment > 0
        deepening = mature & entered & (firm.commitment < 3)
        track = np.where(mature & entered, p.focus, 0.0)
        if deepening.any():
            track = track - np.where(mature & ~entered, p.spread_penalty, 0.0)
        modes = mode_constants(
            mature,
            emerging_row=(0.0, p.emerging_minority, p.emerging_control),
            mature_row=(0.0, p.mature_minority, p.mature_control),
        )
        gradual = np.where(mature[:, None], -p.mature_skip_penalty * rungs_skipped(firm.commitment), 0.0)
        return (location + track)[:, None] + modes + gradual
