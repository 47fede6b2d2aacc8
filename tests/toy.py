"""A small synthetic world for testing policies' signature behaviour in isolation."""

from __future__ import annotations

import numpy as np

from sim.data.taxonomy import HOME_POLICY_KINDS, REGIONS
from sim.world import World


def toy_world(
    n_years: int = 12,
    p_block: float = 0.0,
    excluded: np.ndarray | None = None,
    size: np.ndarray | None = None,
    maturity: np.ndarray | None = None,
    culture: np.ndarray | None = None,
) -> World:
    """Eight markets: four emerging (low maturity), four mature; equal sizes unless given.

    Markets 0-3 are emerging with maturity 0.1-0.4, markets 4-7 mature with maturity 0.6-0.9;
    cultural distance rises with the index; regions alternate so spreading is possible.
    """
    n = 8
    maturity = np.linspace(0.1, 0.9, n) if maturity is None else maturity
    culture = np.linspace(0.05, 0.95, n) if culture is None else culture
    size = np.zeros(n) if size is None else size
    years = np.arange(2010, 2010 + n_years)
    tile = lambda row: np.tile(np.asarray(row, dtype=float), (n_years, 1))  # noqa: E731
    return World(
        years=years,
        iso3=tuple(f"M{i:02d}" for i in range(n)),
        region=np.arange(n) % 4,
        regions=tuple(REGIONS),
        mature=np.arange(n) >= 4,
        distance=np.linspace(0.1, 0.8, n),
        culture=np.asarray(culture, dtype=float),
        culture_imputed=np.zeros(n, dtype=bool),
        maturity=tile(maturity),
        barriers=tile(np.full(n, 0.1)),
        growth=tile(np.full(n, 0.3)),
        size=tile(size),
        excluded=np.zeros((n_years, n), dtype=bool) if excluded is None else excluded,
        shocked=np.zeros((n_years, n), dtype=bool),
        p_block=np.full((n_years, n), p_block),
        log_resources=np.zeros(n_years),
        regime=np.zeros((n_years, len(HOME_POLICY_KINDS))),
        record_counts=np.full(n_years, 5),
    )
