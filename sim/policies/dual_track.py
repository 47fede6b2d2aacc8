"""The "dual-track" strategy Li & Li (2022, sections 3.1 and 4) read in their case firm.

Two tracks run in parallel. Emerging markets are entered aggressively, by controlling M&A or
large equity stakes. Mature markets are entered by gradual penetration: cooperation and minority
stakes first, deepening over time, concentrating on one mature market at a time.

Greenfield: on the emerging track it is one of the aggressive, high-commitment modes (own
operations built where there is little to buy), with its own preference ``emerging_greenfield``;
on the mature track it is the top rung of the gradual ladder, so the skip penalty applies to
it from wherever the firm stands (three rungs skipped from no presence), plus
``mature_greenfield``. The theory's restrictions hold: only the mature track is gradual.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from sim.modes import CONTROLLED
from sim.policies import common
from sim.policies.base import FirmView, MarketView, Policy, PolicyParams, register
from sim.priors import Prior, prior


class DualTrackParams(PolicyParams):
    """Location weights, one row of mode preferences per track, and the mature-track pacing."""

    beta_size: common.SizeWeight = 1.0
    beta_growth: common.GrowthWeight = 1.0
    beta_distance: common.DistanceWeight = 0.5
    beta_barriers: common.BarriersWeight = 1.0
    emerging_minority: float = common.preference(1.0, -3.0, 5.0, "minority", "emerging track")
    emerging_control: float = common.preference(1.5, -3.0, 5.0, "control", "emerging track")
    emerging_greenfield: float = common.preference(0.0, -8.0, 5.0, "greenfield", "emerging track")
    mature_minority: float = common.preference(0.5, -3.0, 5.0, "minority", "mature track")
    mature_control: float = common.preference(-3.0, -8.0, 3.0, "control", "mature track")
    mature_greenfield: float = common.preference(-3.0, -8.0, 3.0, "greenfield", "mature track")
    mature_skip_penalty: float = Field(
        3.0, ge=0.0, le=10.0, description="mature track: penalty per rung skipped (gradualism)"
    )
    beta_presence: float = Field(
        0.5, ge=0.0, le=5.0, description="both tracks: preference for markets already entered"
    )
    focus: float = Field(
        0.5, ge=0.0, le=5.0, description="mature track: bonus for deepening an entered market"
    )
    spread_penalty: float = Field(
        1.0,
        ge=0.0,
        le=5.0,
        description="mature track: penalty on a new mature market while another is being deepened",
    )

    #: The paper's two tracks (sections 3.1 and 4) are kept on: control and equity at least as
    #: attractive as cooperation in emerging markets, control avoided and rungs climbed one at a
    #: time in mature ones. Other fields are fixed at their defaults.
    priors: ClassVar[dict[str, Prior]] = {
        "emerging_control": prior(0.0, 5.0, "emerging track enters by control (paper 3.1, 4)"),
        "emerging_minority": prior(0.0, 5.0, "emerging track: equity over cooperation (paper 4)"),
        "mature_control": prior(-8.0, -1.0, "mature track avoids control (gradual penetration)"),
        "mature_minority": prior(-1.0, 5.0, "mature track deepens by minority stakes (paper 4)"),
        "mature_skip_penalty": prior(1.0, 10.0, "gradualism: a skipped rung costs >= 1 unit"),
        "focus": prior(0.0, 5.0, "one mature market deepened at a time (paper 4); 0 = off"),
    }


@register
class DualTrackPolicy(Policy[DualTrackParams]):
    """Aggressive control in emerging markets; gradual, focused penetration of mature ones.

    Only the mature track reads the firm's state (its rungs and what it is deepening), so the
    emerging markets' utilities are computed once per year and shared by every run.
    """

    name = "dual_track"
    summary = "emerging markets by control/large stakes; mature markets gradually, one at a time"

    def utilities(self, market: MarketView, firm: FirmView) -> np.ndarray:
        """Track-specific mode preferences on a common location index, (runs, markets, modes)."""
        p = self.params
        base = self.memo(market, "unentered", lambda: self._unentered(market))
        entered = firm.commitment > 0
        if not entered.any():
            return base
        out = base + (p.beta_presence * entered)[:, :, None]
        # The mature track, on the mature markets' columns only.
        mature = self.memo(market, "mature", lambda: np.flatnonzero(market.mature))
        rung = firm.commitment[:, mature]
        deep_in = rung > 0
        if deep_in.any():
            # Entered mature markets: focus bonus, and gradualism from their rung.
            deepen = self.memo(market, "deepen", lambda: self._deepen(market))[..., mature, :]
            deep = deepen - common.over_modes(p.mature_skip_penalty) * common.rungs_skipped(rung)
            block = np.where(deep_in[:, :, None], deep, out[:, mature])
            deepening = (deep_in & (rung < CONTROLLED)).any(axis=1)
            block -= (p.spread_penalty * (deepening[:, None] & ~deep_in))[:, :, None]
            out[:, mature] = block
        return out

    def _deepen(self, market: MarketView) -> np.ndarray:
        # Utilities of entered mature markets before the gradualism penalty.
        p = self.params
        location = self.memo(market, "location", lambda: common.attractiveness(market, p))
        return self._modes(market) + (location + p.focus + p.beta_presence)[..., None]

    def _modes(self, market: MarketView) -> np.ndarray:
        p = self.params
        return self.memo(
            market,
            "modes",
            lambda: common.mode_constants(
                market.mature,
                emerging_row=common.mode_row(
                    p.emerging_minority, p.emerging_control, p.emerging_greenfield
                ),
                mature_row=common.mode_row(
                    p.mature_minority, p.mature_control, p.mature_greenfield
                ),
            ),
        )

    def _unentered(self, market: MarketView) -> np.ndarray:
        # Utilities when no mature market has been entered; emerging rows never change.
        p = self.params
        location = self.memo(market, "location", lambda: common.attractiveness(market, p))
        skipped = common.rungs_skipped(np.zeros(market.mature.shape[0], dtype=np.int8))
        gradual = np.where(
            market.mature[:, None], -common.over_modes(p.mature_skip_penalty) * skipped, 0.0
        )
        return location[..., None] + self._modes(market) + gradual
