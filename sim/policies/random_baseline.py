"""The record-copying random model: an *oracle*, kept for reference and never ranked.

Uniform over markets and the three deal modes (greenfield is forbidden, so that its copied yearly
counts stay counts of the deals a default comparison counts), it takes each year exactly as many
deals as the record has, validation years included. It therefore knows the answer to the count
question and says nothing about any theory; reports label it as an oracle and rankings leave it
out. The fair null model is :mod:`sim.policies.random_location`.
"""

from __future__ import annotations

import numpy as np

from sim.modes import GREENFIELD
from sim.policies.base import FirmView, MarketView, Policy, PolicyParams, register


class RandomParams(PolicyParams):
    """The oracle has no behavioural parameters (its yearly counts come from the record)."""


@register
class RandomPolicy(Policy[RandomParams]):
    """Every feasible (market, mode) option is equally likely; attributes are ignored."""

    name = "random"
    Params = RandomParams
    matches_record_counts = True
    summary = "ORACLE: uniform over markets and modes; yearly counts copied from the record"

    def utilities(self, market: MarketView, firm: FirmView) -> np.ndarray:
        """Zeros on the deal modes (no option preferred); greenfield forbidden."""
        return self.memo(market, "deal_modes", lambda: self._deal_modes(market))

    def _deal_modes(self, market: MarketView) -> np.ndarray:
        out = self.blank(market)
        out[:, GREENFIELD] = -np.inf
        return out
