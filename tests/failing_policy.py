"""A policy that raises in a chosen year: used to test how failed runs are reported."""

from __future__ import annotations

import numpy as np
from pydantic import Field

from sim.policies.base import FirmView, MarketView, Policy, PolicyParams


class FailingParams(PolicyParams):
    fail_year: int = Field(2015, description="year whose decision raises")


class FailingPolicy(Policy):
    name = "failing"
    Params = FailingParams

    def utilities(self, market: MarketView, firm: FirmView) -> np.ndarray:
        if firm.year == self.params.fail_year:
            raise ZeroDivisionError("utility undefined")
        return self.blank(market)
