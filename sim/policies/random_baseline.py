"""Random baseline (the null model): uniform over markets and modes, yearly counts as recorded.

Any policy worth reporting must beat this on the patterns it claims to explain (NOTES section 2).
"""

from __future__ import annotations

import numpy as np

from sim.policies.base import FirmView, MarketView, Policy, PolicyParams, register


class RandomParams(PolicyParams):
    """The null model has no behavioural parameters (its yearly counts come from the record)."""


@register
class RandomPolicy(Policy):
    """Every feasible (market, mode) option is equally likely; attributes are ignored."""

    name = "random"
    Params = RandomParams
    matches_record_counts = True
    summary = "uniform over markets and modes; yearly deal counts copied from the record"

    def utilities(self, market: MarketView, firm: FirmView) -> np.ndarray:
        """All zeros: no option is preferred."""
        return self.memo(market, "zeros", lambda: self.blank(market))
