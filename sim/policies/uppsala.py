"""The Uppsala model of incremental internationalization (Johanson & Vahlne 1977, 2009).

Markets enter the firm's view as a psychic-distance frontier widens with accumulated experience;
within a market commitment climbs one rung at a time (cooperation, then minority, then control),
and only once experience in that market passes a threshold. Learning spills over within a region.

Greenfield: the top rung of the ladder (the end of the establishment chain, Johanson &
Wiedersheim-Paul 1975), open only once the firm controls an operation in the market and has
earned the experience for a fourth rung; no parameter of its own. After an exit the ladder
starts again from the bottom, but the experience earned is kept.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from pydantic import Field

from sim.modes import RANK
from sim.policies import common
from sim.policies.base import FirmView, MarketView, Policy, PolicyParams, register
from sim.priors import UNARGUED, Prior, prior


class UppsalaParams(PolicyParams):
    """Frontier, learning and ladder parameters."""

    frontier_start: float = Field(
        0.3, ge=0.0, le=1.0, description="cultural-distance frontier before any experience"
    )
    frontier_rate: float = Field(
        0.02, ge=0.0, le=0.5, description="frontier widening per unit of total experience"
    )
    softness: float = common.softness(10.0, "distance past frontier")
    beta_experience: float = Field(
        1.0, ge=0.0, le=3.0, description="preference for markets already known (log experience)"
    )
    beta_region: float = Field(
        0.5, ge=0.0, le=3.0, description="preference for regions already known (log experience)"
    )
    beta_size: common.SizeWeight = 0.5
    climb_threshold: float = Field(
        1.5, ge=0.0, le=5.0, description="market experience needed per rung before climbing"
    )

    #: Johanson & Vahlne (1977): the psychic-distance frontier starts near home and commitment
    #: climbs with experience; both kept on. Other fields fixed at their defaults.
    priors: ClassVar[dict[str, Prior]] = {
        "frontier_start": prior(0.0, 0.5, "the frontier starts near home (close markets first)"),
        "frontier_rate": UNARGUED,
        "beta_experience": UNARGUED,
        "beta_region": UNARGUED,
        "climb_threshold": prior(0.5, 5.0, "a rung needs experience (the ladder is on)"),
    }


@register
class UppsalaPolicy(Policy[UppsalaParams]):
    """Psychic-distance frontier plus a one-rung-at-a-time commitment ladder.

    Both are driven by the firm's own experience, never by the calendar: a firm that stops
    dealing stops widening its view and stops climbing.
    """

    name = "uppsala"
    summary = "psychic-distance frontier widening with experience; one rung of commitment at a time"

    def utilities(self, market: MarketView, firm: FirmView) -> np.ndarray:
        """Known, close markets first; options above the next earned rung are forbidden."""
        p = self.params
        frontier = p.frontier_start + p.frontier_rate * firm.experience.sum(axis=1)[:, None]
        beyond = p.softness * np.maximum(0.0, market.culture[None, :] - frontier)
        known = p.beta_experience * np.log1p(firm.experience) + p.beta_region * np.log1p(
            firm.region_experience[:, market.region]
        )
        size = self.memo(market, "size", lambda: p.beta_size * market.size)
        location = known + size - beyond
        commitment = firm.commitment.astype(int)
        earned = (firm.experience >= p.climb_threshold * commitment) | (commitment == 0)
        top = np.where(earned, commitment + 1, commitment)
        allowed = RANK[None, None, :] <= np.maximum(top, 1)[:, :, None]
        return np.where(allowed, location[:, :, None], -np.inf)

    def exit_log_odds(self, market: MarketView, firm: FirmView) -> np.ndarray:
        """De-internationalisation: the most psychically distant markets are left first.

        The shift is the market's cultural distance (0-1): the establishment chain unwinds from
        its far end, where the firm's knowledge is thinnest (low commitment already raises exit
        through the rung's reversibility).
        """
        return market.culture
