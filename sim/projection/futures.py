"""Futures as data, and the world a future implies for the years after the record.

A :class:`Future` is one point sampled from the declared uncertainties (:mod:`sim.projection_spec`).
:func:`extend_world` appends the projected years to the record's :class:`~sim.world.World`:

* market indicators (GDP per head, internet use, population, GDP growth) are read from the
  indicator table where it has the projected year, and otherwise **carried forward** from the
  last year present (flagged by :func:`carried_forward`); transformed with the record years'
  normalising constants, so a projected year is on the same scale as the record;
* the barrier index (Doing Business rank plus dated barrier events) is carried forward from the
  record's last year and multiplied by the future's barrier factors from their first year; the
  blocking probability follows it through the firm's blocking parameters;
* revenue grows at the future's rate from the record's last year (the hurdle reads its log);
* the home outbound-regime index moves by the future's change per year;
* closed markets stay closed; the record's yearly counts are zero (no record after it).

Nothing observed after the record enters: the projected years depend only on the record, the
future and indicator values the user supplies for those years.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from sim.data.taxonomy import COUNTRY_GROUPS
from sim.projection_spec import Uncertainties
from sim.scenario import Firm
from sim.world import World, block_probability, regime_outside

#: Indicators the world is built from (raw panels; see :func:`sim.world.build_world`).
WORLD_INDICATORS: tuple[str, ...] = (
    "gdp_pc_usd",
    "internet_users_pct",
    "population",
    "gdp_growth_pct",
)


@dataclass(frozen=True)
class Future:
    """One sampled future: a value for every declared uncertainty (neutral when undeclared).

    Attributes:
        revenue_growth: Yearly revenue growth after the record (0.05 = +5 %).
        home_regime: Change of the home outbound-regime index per projected year.
        climate: Shift added to the outside option's utility (the hurdle) in projected years.
        barriers: Per barrier path: (markets it names, first year, factor on the barrier index).
    """

    revenue_growth: float = 0.0
    home_regime: float = 0.0
    climate: float = 0.0
    barriers: tuple[tuple[tuple[str, ...], int, float], ...] = field(default_factory=tuple)

    @classmethod
    def from_values(cls, spec: Uncertainties, values: Mapping[str, float]) -> Future:
        """The future whose uncertainties take ``values`` (names as in ``spec.names()``)."""
        return cls(
            revenue_growth=float(values.get("revenue_growth", 0.0)),
            home_regime=float(values.get("home_regime", 0.0)),
            climate=float(values.get("climate", 0.0)),
            barriers=tuple(
                (tuple(b.markets), b.from_year, float(values.get(f"barrier_{b.name}", 1.0)))
                for b in spec.barriers
            ),
        )

    def key(self) -> tuple:
        """A hashable identity (for caching the world of a future)."""
        return (self.revenue_growth, self.home_regime, self.climate, self.barriers)


def market_columns(iso3: Sequence[str], codes: Sequence[str]) -> list[int]:
    """Column indices of the markets named by ISO3 codes or country groups (unknown: skipped)."""
    names: set[str] = set()
    for code in codes:
        names |= set(COUNTRY_GROUPS.get(code, {code}))
    return [i for i, c in enumerate(iso3) if c in names]


def unknown_markets(iso3: Sequence[str], codes: Sequence[str]) -> list[str]:
    """The codes that name no market of the world (neither a market nor a group with one)."""
    return [c for c in codes if not market_columns(iso3, [c])]


def _raw_panels(
    indicators: pd.DataFrame | None, iso3: Sequence[str], years: Sequence[int]
) -> dict[str, np.ndarray]:
    out = {}
    for name in WORLD_INDICATORS:
        if indicators is None:
            out[name] = np.full((len(years), len(iso3)), np.nan)
            continue
        rows = indicators[indicators["indicator"] == name]
        table = rows.pivot_table(index="year", columns="iso3", values="value", aggfunc="last")
        out[name] = table.reindex(index=list(years), columns=list(iso3)).to_numpy(dtype=float)
    return out


def _filled(record: np.ndarray, future: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Projected rows with gaps carried forward from the last row present; and the gap mask."""
    both = np.vstack([record, future])
    gaps = np.isnan(future)
    idx = np.where(np.isnan(both), 0, np.arange(both.shape[0])[:, None])
    np.maximum.accumulate(idx, axis=0, out=idx)
    filled = both[idx, np.arange(both.shape[1])[None, :]]
    return filled[record.shape[0] :], gaps


def carried_forward(
    world: World, years: Sequence[int], indicators: pd.DataFrame | None
) -> pd.DataFrame:
    """Which projected values are not in the indicator table and were carried forward.

    Returns:
        One row per indicator: the projected years with any carried value, the number of
        market-years carried and the share of all projected market-years. The barrier index and
        closed markets are always carried (rows ``barrier_index`` and ``excluded``).
    """
    rows = []
    raw = _raw_panels(indicators, world.iso3, years)
    for name in WORLD_INDICATORS:
        gaps = np.isnan(raw[name])
        carried_years = [int(y) for y, g in zip(years, gaps.any(axis=1), strict=True) if g]
        rows.append(
            {
                "indicator": name,
                "carried_years": _span(carried_years),
                "market_years_carried": int(gaps.sum()),
                "share_carried": float(gaps.mean()) if gaps.size else 0.0,
                "from_year": int(world.years[-1]) if carried_years else None,
            }
        )
    for name in ("barrier_index", "excluded"):
        rows.append(
            {
                "indicator": name,
                "carried_years": _span([int(y) for y in years]),
                "market_years_carried": len(years) * world.n_markets,
                "share_carried": 1.0,
                "from_year": int(world.years[-1]),
            }
        )
    return pd.DataFrame(rows)


def _span(years: list[int]) -> str:
    if not years:
        return ""
    return f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0])


def _future_barriers(
    world: World, years: np.ndarray, future: Future
) -> tuple[np.ndarray, np.ndarray]:
    """Barrier index and shocked flags of the projected years.

    The last record year's, times each future barrier factor from its first year on.
    """
    barriers = np.tile(world.barriers[-1], (len(years), 1))
    shocked = np.tile(world.shocked[-1], (len(years), 1))
    for codes, first, factor in future.barriers:
        active = years >= first
        for c in market_columns(world.iso3, codes):
            barriers[active, c] *= factor
            if factor != 1.0:
                shocked[active, c] = True
    return barriers, shocked


def _projected_markets(
    world: World, years: list[int], indicators: pd.DataFrame | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maturity, size and growth of every market in the projected years (shape (k, N) each).

    Indicator values the table holds for those years are used, the others carried forward
    (:func:`_filled`), on the record years' scale.
    """
    iso3, k = world.iso3, len(years)
    record_years = [int(y) for y in world.years]
    record = _raw_panels(indicators, iso3, record_years)
    ahead = _raw_panels(indicators, iso3, years)
    panel = {name: _filled(record[name], ahead[name])[0] for name in WORLD_INDICATORS}
    # The record years' normalising constants keep projected years on the record's scale (and
    # a carried-forward year equal to the last record year). Without indicator data for the
    # record years, the last record row of each transformed array is carried instead.
    if np.isfinite(record["gdp_pc_usd"]).any():
        log_pc = np.log(record["gdp_pc_usd"])
        lo, hi = np.nanmin(log_pc), np.nanmax(log_pc)
        span = hi - lo if hi > lo else np.inf  # a constant panel scales to 0, as _minmax does
        scaled = (np.log(panel["gdp_pc_usd"]) - lo) / span
        maturity = 0.5 * scaled + 0.5 * panel["internet_users_pct"] / 100.0
        top = np.nanmax(record["gdp_pc_usd"] * record["population"])
        size = np.log(panel["gdp_pc_usd"] * panel["population"]) - np.log(top)
        growth = np.clip(panel["gdp_growth_pct"], -10.0, 15.0) / 15.0
    else:
        maturity = np.tile(world.maturity[-1], (k, 1))
        size = np.tile(world.size[-1], (k, 1))
        growth = np.tile(world.growth[-1], (k, 1))
    return maturity, size, growth


def extend_world(
    world: World,
    years: Sequence[int],
    future: Future,
    firm: Firm,
    indicators: pd.DataFrame | None = None,
) -> World:
    """The record's world followed by ``years`` under ``future`` (see the module docstring).

    Args:
        world: The world of the record years (as :func:`sim.world.build_world` makes it).
        years: The projected years, consecutive and after the world's last year.
        future: The future's values.
        firm: The scenario's firm (its blocking parameters turn barriers into P(blocked)).
        indicators: The indicator table (``iso3, indicator, year, value``); projected years it
            holds are used, the others carried forward. ``None`` carries everything forward.

    Returns:
        A world over the record years and ``years``; its record rows equal ``world``'s.
    """
    years = [int(y) for y in years]
    k = len(years)
    if k == 0:
        return world
    if years[0] != int(world.years[-1]) + 1 or years != list(range(years[0], years[0] + k)):
        raise ValueError("projected years must follow the world's last year without gaps")
    maturity, size, growth = _projected_markets(world, years, indicators)
    yr = np.asarray(years)
    barriers, shocked = _future_barriers(world, yr, future)
    p_block = block_probability(firm.block_base, firm.block_slope, firm.max_block, barriers)
    steps = np.arange(1, k + 1, dtype=float)
    log_resources = world.log_resources[-1] + np.log1p(future.revenue_growth) * steps
    regime = world.regime[-1] + np.zeros((k, 1))  # every kind's index carried forward
    # The future's change is one of the outbound regime (home_policy_effect's kinds): easing
    # when it rises, tightening when it falls.
    kind = "outbound_easing" if future.home_regime >= 0 else "outbound_tightening"
    regime[:, world.regime_kinds.index(kind)] += future.home_regime * steps

    # Only the year-indexed fields grow; every per-market field is the record's own.
    appended = {
        "years": yr,
        "maturity": maturity,
        "barriers": barriers,
        "growth": growth,
        "size": size,
        "excluded": np.tile(world.excluded[-1], (k, 1)),
        "shocked": shocked,
        "p_block": p_block,
        "log_resources": log_resources,
        "regime": regime,
        "record_counts": np.zeros(k, dtype=world.record_counts.dtype),
    }
    # Any: replace() is typed field by field, and these are only the array fields.
    grown: dict[str, Any] = {
        name: np.concatenate([getattr(world, name), rows]) for name, rows in appended.items()
    }
    return replace(world, **grown)


def regime_notes(
    world: World,
    years: Sequence[int],
    spec: Uncertainties,
    firm: Firm,
    window: tuple[int, int],
) -> list[str]:
    """Notes on years where a home-regime index leaves the calibration window's range.

    Over the record and the projected years, with the outbound regime's future change at each
    end of its declared range (neutral when it is not declared): a projection there extrapolates
    the effect (:func:`sim.world.regime_outside`).
    """
    ends = (spec.home_regime.low, spec.home_regime.high) if spec.home_regime else (0.0,)
    found = {
        change: regime_outside(extend_world(world, years, Future(home_regime=change), firm), window)
        for change in ends
    }
    common = [n for n in found[ends[0]] if all(n in f for f in found.values())]
    return common + [
        f"with the home_regime future at {change:+g} a year, {n}"
        for change, notes in found.items()
        for n in notes
        if n not in common
    ]
