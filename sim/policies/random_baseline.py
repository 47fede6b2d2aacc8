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
from sim.policies.base import MarketView, Policy, PolicyParams, register


class RandomParams(PolicyParams):
    """The oracle has no behavioural parameters (its yearly counts come from the record)."""


@register
class RandomPolicy(Policy[RandomParams]):
    """Every feasible (market, mode) option is equally likely; attributes are ignored.

    Kept to show what knowing each year's number of deals buys on its own: as it copies those
    numbers, its count score says nothing and it is never ranked.
    """

    name = "random"
    matches_record_counts = True
    summary = "ORACLE: uniform over markets and modes; yearly counts copied from the record"

    def year_utilities(self, market: MarketView, step: int) -> np.ndarray:
        """Zeros on the deal modes (no option preferred); greenfield forbidden."""
        out = self.blank(market)
        out[:, GREENFIELD] = -np.inf
        return out
