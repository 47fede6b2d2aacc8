"""What the firm sees of the markets in one year: the world's attributes, shared by every run.

The markets' attributes are year x market arrays (:class:`sim.world.World`) and each year's slice
is one :class:`MarketView` that every run and every policy reads (the array-backed style of Mesa's
fast examples). The Mesa model's market agents (:class:`sim.model.MarketAgent`) are live views of
the same arrays; what a host does in response to the firm (its screening, ODD 7.12) is run state
(:class:`sim.engine.BatchState`), not part of this shared view.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class MarketView:
    """This year's market attributes, arrays of length n_markets, mostly normalised to [0, 1].

    Attributes:
        distance: Great-circle distance from home, divided by the largest.
        culture: Kogut-Singh cultural distance, divided by the largest (imputed where missing).
        maturity: Economic and digital maturity (income and internet use).
        barriers: Entry barriers (regulatory rank plus dated China-specific barrier events).
        growth: Real GDP growth, scaled.
        size: Log GDP relative to the largest market (<= 0): weight 1 = proportional to GDP.
        mature: Whether the market is classed mature (else emerging).
        region: Region index of each market.
        n_regions: Number of regions.
    """

    distance: np.ndarray
    culture: np.ndarray
    maturity: np.ndarray
    barriers: np.ndarray
    growth: np.ndarray
    size: np.ndarray
    mature: np.ndarray
    region: np.ndarray
    n_regions: int
