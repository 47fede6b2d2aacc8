"""The simulated world: market attributes and firm capacity as year x market arrays.

Built once per scenario from the validated data and the scenario's shocks, then shared read-only
by every replication, so a run only indexes arrays. Nothing here is specific to one firm: the home
country is implicit in the data files (distances, cultural distances, the record), and swapping
them runs another firm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.analysis.record_summary import in_scope
from sim.data import Dataset
from sim.data.taxonomy import COUNTRY_GROUPS, INDUSTRIES, REGIONS
from sim.errors import SimInputError
from sim.modes import MODE_NAMES
from sim.policies.base import MarketView
from sim.scenario import Scenario

#: Barrier added to a market by one dated barrier event of each kind (full weight when the event
#: is China-specific, half otherwise). Documented in docs/ODD.md (7. Submodels).
BARRIER_EVENT_WEIGHT = {
    "deal_block": 0.3,
    "investment_screening": 0.3,
    "app_ban": 0.2,
    "sanction_order": 0.3,
    "other": 0.1,
}
NOT_CHINA_SPECIFIC_FACTOR = 0.5
#: Doing Business ranks are divided by this to give the regulatory part of the barrier index.
DB_RANK_SCALE = 190.0


@dataclass(frozen=True)
class World:
    """Everything a run reads, as arrays; index order is ``iso3`` for markets, ``years`` for time.

    Attributes:
        years: Simulated calendar years, shape (T,).
        iso3: Market codes, length N.
        region: Region index per market, shape (N,); names in ``regions``.
        regions: Region names.
        mature: Development class per market (True = mature), shape (N,).
        distance: Geographic distance, 0-1, shape (N,).
        culture: Cultural distance, 0-1, shape (N,); imputed where the data are blank.
        culture_imputed: Whether ``culture`` was imputed, shape (N,).
        maturity: Maturity index, 0-1, shape (T, N).
        barriers: Barrier index (>= 0), shape (T, N).
        growth: Scaled real GDP growth, shape (T, N).
        size: Log of GDP relative to the largest market-year (<= 0), shape (T, N); a size
            weight of 1 makes choice probability proportional to GDP (a gravity model).
        excluded: Markets closed to the firm, shape (T, N).
        shocked: Whether a dated barrier event or shock applies, shape (T, N).
        capacity: Capital units the firm can spend before its policy's aggressiveness, shape (T,).
        record_counts: The record's events per year (in the scenario's scope), shape (T,).
        industry_given_mode: P(industry | mode) from the record, shape (n_modes, n_industries).
        industries: Industry names (columns of ``industry_given_mode``).
        coords: Capital latitude and longitude per market, shape (N, 2) (for maps).
    """

    years: np.ndarray
    iso3: tuple[str, ...]
    region: np.ndarray
    regions: tuple[str, ...]
    mature: np.ndarray
    distance: np.ndarray
    culture: np.ndarray
    culture_imputed: np.ndarray
    maturity: np.ndarray
    barriers: np.ndarray
    growth: np.ndarray
    size: np.ndarray
    excluded: np.ndarray
    shocked: np.ndarray
    capacity: np.ndarray
    record_counts: np.ndarray
    industry_given_mode: np.ndarray
    industries: tuple[str, ...] = field(default=INDUSTRIES)
    coords: np.ndarray | None = None
    views: tuple[MarketView, ...] = field(init=False, repr=False)
    any_excluded: np.ndarray = field(init=False, repr=False)
    industry_cdf: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for name in (
            "distance",
            "culture",
            "maturity",
            "barriers",
            "growth",
            "size",
            "excluded",
            "capacity",
            "mature",
            "region",
            "record_counts",
            "industry_given_mode",
        ):
            getattr(self, name).setflags(write=False)
        views = tuple(
            MarketView(
                distance=self.distance,
                culture=self.culture,
                maturity=self.maturity[t],
                barriers=self.barriers[t],
                growth=self.growth[t],
                size=self.size[t],
                mature=self.mature,
                region=self.region,
                n_regions=len(self.regions),
            )
            for t in range(len(self.years))
        )
        object.__setattr__(self, "views", views)
        object.__setattr__(self, "industry_cdf", np.cumsum(self.industry_given_mode, axis=1))
        object.__setattr__(self, "any_excluded", self.excluded.any(axis=1))

    @property
    def n_markets(self) -> int:
        """Number of markets."""
        return len(self.iso3)

    @property
    def n_years(self) -> int:
        """Number of simulated years."""
        return len(self.years)


def _minmax(x: np.ndarray) -> np.ndarray:
    lo, hi = np.nanmin(x), np.nanmax(x)
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


def _panel(indicators: pd.DataFrame, name: str, iso3: list[str], years: list[int]) -> np.ndarray:
    rows = indicators[indicators["indicator"] == name]
    table = rows.pivot(index="year", columns="iso3", values="value")
    return table.reindex(index=years, columns=iso3).to_numpy(dtype=float)


def _imputed_culture(markets: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Cultural distance with blanks filled by the region mean (else the overall mean)."""
    ks = markets["cultural_distance"].astype(float)
    region_mean = ks.groupby(markets["region"]).transform("mean")
    filled = ks.fillna(region_mean).fillna(ks.mean())
    return _minmax(filled.to_numpy()), ks.isna().to_numpy()


def _markets_index(scenario_path: str, iso3: list[str], code: str, where: str) -> list[int]:
    if code in COUNTRY_GROUPS:
        return [iso3.index(c) for c in sorted(COUNTRY_GROUPS[code]) if c in iso3]
    if code not in iso3:
        raise SimInputError(
            scenario_path, f"unknown market {code!r} (not in markets.csv)", field=where
        )
    return [iso3.index(code)]


def _barriers(
    data: Dataset, scenario: Scenario, iso3: list[str], years: list[int], source: str
) -> tuple[np.ndarray, np.ndarray]:
    rank = _panel(data.indicators, "db_rank", iso3, years) / DB_RANK_SCALE
    rank = np.where(np.isnan(rank), np.nanmean(rank), rank)
    extra = np.zeros_like(rank)
    shocked = np.zeros(rank.shape, dtype=bool)
    moves = {
        (s.market, s.from_year): s.to_year for s in scenario.shocks if s.type == "move_barriers"
    }
    for i, shock in enumerate(scenario.shocks):
        if shock.type == "move_barriers":
            _markets_index(source, iso3, shock.market, f"shocks[{i}].market")
    for ev in data.barriers.itertuples():
        year = int(ev.date[:4])
        year = moves.get((ev.country_iso3, year), year)
        weight = BARRIER_EVENT_WEIGHT[ev.kind] * (
            1.0 if ev.china_specific == "yes" else NOT_CHINA_SPECIFIC_FACTOR
        )
        cols = [
            iso3.index(c)
            for c in sorted(COUNTRY_GROUPS.get(ev.country_iso3, {ev.country_iso3}))
            if c in iso3
        ]
        active = np.asarray(years) >= year
        for c in cols:
            extra[active, c] += weight
            shocked[active, c] = True
    for i, shock in enumerate(scenario.shocks):
        if shock.type == "barrier":
            cols = _markets_index(source, iso3, shock.market, f"shocks[{i}].market")
            active = np.asarray(years) >= shock.year
            for c in cols:
                extra[active, c] += shock.delta
                shocked[active, c] = True
    return np.clip(rank + extra, 0.0, None), shocked


def _excluded(scenario: Scenario, iso3: list[str], years: list[int], source: str) -> np.ndarray:
    out = np.zeros((len(years), len(iso3)), dtype=bool)
    yr = np.asarray(years)
    for i, shock in enumerate(scenario.shocks):
        if shock.type == "exclude":
            cols = _markets_index(source, iso3, shock.market, f"shocks[{i}].market")
            last = shock.to_year if shock.to_year is not None else yr[-1]
            for c in cols:
                out[(yr >= shock.from_year) & (yr <= last), c] = True
    return out


def capacity_series(finance: pd.DataFrame, scenario: Scenario) -> np.ndarray:
    """Yearly capital capacity from group revenue and the firm's dated multipliers.

    Calendar year t is matched with the fiscal year ending in March of t+1 (nine of its twelve
    months fall in t); years beyond the data take the nearest available fiscal year.
    """
    firm = scenario.firm
    years = np.asarray(list(scenario.year_range))
    revenue = finance[finance["measure"] == "total_revenue"].set_index("fiscal_year")["value"]
    fy = np.clip(years + 1, revenue.index.min(), revenue.index.max())
    ref_fy = int(np.clip(firm.finance_reference_year + 1, revenue.index.min(), revenue.index.max()))
    index = revenue.reindex(fy).to_numpy(dtype=float) / float(revenue.loc[ref_fy])
    cap = firm.base_capacity * index**firm.finance_elasticity
    if firm.ipo_year is not None:
        share = np.where(
            years > firm.ipo_year,
            1.0,
            np.where(years == firm.ipo_year, (12 - firm.ipo_month + 1) / 12, 0.0),
        )
        cap = cap * firm.ipo_multiplier**share
    shocks = [s for s in scenario.shocks if s.type == "capital"]
    for m in [*firm.organisation, *firm.home_climate, *shocks]:
        last = m.to_year if m.to_year is not None else years[-1]
        cap = np.where((years >= m.from_year) & (years <= last), cap * m.multiplier, cap)
    return cap


def _industry_given_mode(events: pd.DataFrame) -> np.ndarray:
    """P(industry | mode) from the record with add-one smoothing (so no category is impossible)."""
    table = pd.crosstab(events["mode"], events["industry"]).reindex(
        index=list(MODE_NAMES), columns=list(INDUSTRIES), fill_value=0
    )
    counts = table.to_numpy(dtype=float) + 1.0
    return counts / counts.sum(axis=1, keepdims=True)


def build_world(data: Dataset, scenario: Scenario, source: str = "scenario") -> World:
    """Turn validated data and a scenario into the arrays a run reads.

    Args:
        data: Validated inputs.
        scenario: The scenario (years, firm inputs, shocks, history scope).
        source: Name of the scenario file, used in error messages.

    Raises:
        SimInputError: when a shock names a market that is not in the data.
    """
    markets = data.markets
    iso3 = markets["iso3"].tolist()
    years = list(scenario.year_range)
    gdp_pc = _panel(data.indicators, "gdp_pc_usd", iso3, years)
    internet = _panel(data.indicators, "internet_users_pct", iso3, years)
    population = _panel(data.indicators, "population", iso3, years)
    growth = _panel(data.indicators, "gdp_growth_pct", iso3, years)
    culture, imputed = _imputed_culture(markets)
    barriers, shocked = _barriers(data, scenario, iso3, years, source)
    history = in_scope(data.events, scenario.history.scope)
    counts = history["year"].value_counts().reindex(years, fill_value=0).to_numpy(dtype=int)
    region_names = tuple(REGIONS)
    return World(
        years=np.asarray(years),
        iso3=tuple(iso3),
        region=markets["region"].map({r: i for i, r in enumerate(region_names)}).to_numpy(),
        regions=region_names,
        mature=(markets["development"] == "mature").to_numpy(),
        distance=_minmax(markets["distance_km"].to_numpy(dtype=float)),
        culture=culture,
        culture_imputed=imputed,
        maturity=0.5 * _minmax(np.log(gdp_pc)) + 0.5 * internet / 100.0,
        barriers=barriers,
        growth=np.clip(growth, -10.0, 15.0) / 15.0,
        size=np.log(gdp_pc * population) - np.log(np.nanmax(gdp_pc * population)),
        excluded=_excluded(scenario, iso3, years, source),
        shocked=shocked,
        capacity=capacity_series(data.finance, scenario),
        record_counts=counts,
        industry_given_mode=_industry_given_mode(history),
        coords=markets[["capital_lat", "capital_lon"]].to_numpy(dtype=float),
    )
