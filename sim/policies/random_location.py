"""The fair null model: random location and mode, with the theories' own count machinery.

Every feasible (market, mode) option is equally likely, but how many deals a year sees comes from
the same outside-option hurdle, resources, integration load and home regime as every theory, with
the firm-level parameters fitted the same way. It sees only what a theory sees, so a theory that
cannot beat it on *where and how* has explained nothing about location or mode.

Greenfield: one of the four equally likely entry modes (a constant, zero preference).
"""

from __future__ import annotations

import numpy as np

from sim.policies.base import MarketView, Policy, PolicyParams, register


class RandomLocationParams(PolicyParams):
    """No behavioural parameters: only the firm-level (count) parameters are fitted."""


@register
class RandomLocationPolicy(Policy[RandomLocationParams]):
    """Uniform over feasible options; deal counts from the shared hurdle machinery.

    The counts are the theories' own so that only *where and how* separate a theory from it.
    """

    name = "random_location"
    baseline = True
    summary = "BASELINE: uniform over markets and modes; counts from the shared firm machinery"

    def year_utilities(self, market: MarketView, step: int) -> np.ndarray:
        """All zeros: no option is preferred."""
        return self.blank(market)
