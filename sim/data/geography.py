"""Home-relative market attributes, computed when the data are loaded.

The shipped country table (``countries.csv``) holds only attributes that do not depend on where the
firm comes from. A firm profile names its home country; this module turns the table into that
firm's markets: every country except the ones the profile treats as domestic, with the
great-circle distance and the Kogut-Singh cultural distance from the home country. So a firm from
Korea, Singapore or the United States runs on the same files as the reference firm.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Hofstede dimensions, in the order of the 2015 data matrix.
HOFSTEDE_DIMS: tuple[str, ...] = ("pdi", "idv", "mas", "uai", "ltowvs", "ivr")
#: Mean Earth radius (IUGG), km.
EARTH_RADIUS_KM = 6371.0088
#: Fewest shared Hofstede dimensions for a comparable Kogut-Singh index (else a gap).
MIN_HOFSTEDE_DIMS = 4


def haversine_km(lat1: float, lon1: float, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle distance in km between one point and many (haversine formula)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))


def kogut_singh(scores: pd.DataFrame, home: str) -> tuple[pd.Series, pd.Series]:
    """Kogut & Singh (1988) cultural distance of each row from ``home``.

    ``KS_j = (1/n_j) * sum_i (I_ij - I_i,home)^2 / V_i`` over the ``n_j`` dimensions both countries
    have, with ``V_i`` the sample variance (ddof=1) of dimension ``i`` over the rows given (the home
    country and the firm's markets). Blank (NaN) where fewer than :data:`MIN_HOFSTEDE_DIMS`
    dimensions are shared or the home country has no scores.

    Returns:
        ``(distance, dims)``: the index and the number of shared dimensions, indexed like
        ``scores``.
    """
    dims = list(HOFSTEDE_DIMS)
    values = scores[dims].astype(float)
    variance = values.var(ddof=1)
    base = values.loc[home]
    both = values.notna() & base.notna()
    n = both.sum(axis=1)
    terms = ((values - base) ** 2 / variance).where(both)
    ks = terms.sum(axis=1) / n.where(n > 0)
    return ks.where(n >= MIN_HOFSTEDE_DIMS), n.astype(int)


def firm_markets(countries: pd.DataFrame, home: str, domestic: frozenset[str]) -> pd.DataFrame:
    """The firm's markets with home-relative attributes, in the country table's order.

    Args:
        countries: Validated country table (one row per country, ``iso3`` column).
        home: The firm's home country (ISO3); must be a row of ``countries``.
        domestic: Countries treated as domestic (the home country and, e.g., its special
            regions): they are not markets.

    Returns:
        One row per market with the country columns plus ``distance_km`` (rounded to 0.1 km),
        ``cultural_distance`` (4 decimals; blank when not comparable) and ``hofstede_dims``.
    """
    keep = ~countries["iso3"].isin(domestic | {home})
    home_row = countries.loc[countries["iso3"] == home].iloc[0]
    markets = countries[keep].copy()
    markets["distance_km"] = np.round(
        haversine_km(
            float(home_row["capital_lat"]),
            float(home_row["capital_lon"]),
            markets["capital_lat"].to_numpy(dtype=float),
            markets["capital_lon"].to_numpy(dtype=float),
        ),
        1,
    )
    scores = pd.concat([countries.loc[countries["iso3"] == home], markets]).set_index("iso3")
    ks, n = kogut_singh(scores, home)
    markets["cultural_distance"] = ks.drop(index=home).round(4).to_numpy()
    markets["hofstede_dims"] = n.drop(index=home).to_numpy()
    return markets.reset_index(drop=True)
