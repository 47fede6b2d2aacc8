"""The simulated world: market attributes and the firm's drivers as year (x market) arrays.

Built once per scenario from the validated data and the scenario's shocks, then shared read-only
by every replication, so a run only indexes arrays. Nothing here is specific to one firm: the home
country is implicit in the data files (distances, cultural distances, the record), and swapping
them runs another firm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.data import Dataset
from sim.data.taxonomy import COUNTRY_GROUPS, DEAL_MODES, HOME_POLICY_KINDS, INDUSTRIES, REGIONS
from sim.errors import SimInputError
from sim.events import EVENT_DTYPE
from sim.markets import MarketView
from sim.modes import EVENT_MODE_NAMES
from sim.scenario import HOME_POLICY_EFFECTS, REGIME_EFFECT_FIELDS, Firm, Scenario

#: Barrier added to a market by one dated barrier event of each kind: full weight when the event
#: targets investors from the firm's home country, half when it targets no origin, none when it
#: targets another origin. Documented in docs/ODD.md (7. Submodels).
BARRIER_EVENT_WEIGHT = {
    "deal_block": 0.3,
    "investment_screening": 0.3,
    "app_ban": 0.2,
    "sanction_order": 0.3,
    "other": 0.1,
}
UNTARGETED_FACTOR = 0.5
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
        p_block: Probability that the host blocks an attempted deal, shape (T, N); (T, runs, N)
            in the world of a batch whose runs have their own block parameters
            (:func:`sim.engine.simulate_points`).
        log_resources: Log of the firm's revenue relative to the reference year (the record's
            first year with the warm start, else the first simulated year), plus the log of any
            capital shock in force, shape (T,); it lowers the outside option's hurdle.
        regime: Home-policy index per kind of event (cumulative +1 per easing and -1 per
            tightening event of the kind, month-weighted in the year of the event), shape
            (T, K), kinds in ``regime_kinds`` (:func:`regime_index`).
        record_counts: The record's events per year (in the scenario's scope and compared
            modes), shape (T,); only the record-copying oracle reads it.
        history_modes: The record modes a comparison counts (the scenario's ``history: modes:``);
            simulated events are filtered to the same modes before they are counted.
        industries: Industry names (the second-stage choice).
        core_industry: Index of the firm's core industry in ``industries``.
        coords: Capital latitude and longitude per market, shape (N, 2) (for maps).
        earlier: The record's events dated before the first simulated year (``EVENT_DTYPE``,
            every mode, in record order): the warm start replays them into every run's starting
            state (:func:`sim.engine.start_state`); empty without a warm start.
        regime_kinds: The kinds of home-policy event, the columns of ``regime``.
        regime_effects: The index each effect of the hurdle multiplies (the sum of its kinds'
            columns, :data:`sim.scenario.HOME_POLICY_EFFECTS`), shape (T, F), effects in
            :data:`sim.scenario.REGIME_EFFECT_FIELDS` order.
        home_regime: The total index over every kind, shape (T,) (what one effect for every
            kind would multiply; kept for readers of the regime as a whole).
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
    p_block: np.ndarray
    log_resources: np.ndarray
    regime: np.ndarray
    record_counts: np.ndarray
    history_modes: tuple[str, ...] = DEAL_MODES
    industries: tuple[str, ...] = field(default=INDUSTRIES)
    core_industry: int = 0
    coords: np.ndarray | None = None
    earlier: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=EVENT_DTYPE))
    regime_kinds: tuple[str, ...] = HOME_POLICY_KINDS
    regime_effects: np.ndarray = field(init=False, repr=False)
    home_regime: np.ndarray = field(init=False, repr=False)
    views: tuple[MarketView, ...] = field(init=False, repr=False)
    any_excluded: np.ndarray = field(init=False, repr=False)
    log_success: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for name in (
            "distance",
            "culture",
            "maturity",
            "barriers",
            "growth",
            "size",
            "excluded",
            "p_block",
            "log_resources",
            "regime",
            "mature",
            "region",
            "record_counts",
            "earlier",
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
        object.__setattr__(self, "any_excluded", self.excluded.any(axis=1))
        success = log_success(self.p_block)
        success.setflags(write=False)
        object.__setattr__(self, "log_success", success)
        if self.regime.shape != (self.n_years, len(self.regime_kinds)):
            raise ValueError(
                f"regime has shape {self.regime.shape}, not (years, kinds) = "
                f"({self.n_years}, {len(self.regime_kinds)})"
            )
        effects = np.zeros((self.n_years, len(REGIME_EFFECT_FIELDS)))
        for k, kind in enumerate(self.regime_kinds):
            effects[:, REGIME_EFFECT_FIELDS.index(HOME_POLICY_EFFECTS[kind])] += self.regime[:, k]
        for name, value in (("regime_effects", effects), ("home_regime", self.regime.sum(axis=1))):
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    @property
    def n_markets(self) -> int:
        """Number of markets."""
        return len(self.iso3)

    @property
    def n_years(self) -> int:
        """Number of simulated years."""
        return len(self.years)


def block_probability(
    base: float | np.ndarray,
    slope: float | np.ndarray,
    cap: float | np.ndarray,
    barriers: np.ndarray,
) -> np.ndarray:
    """Probability that a host blocks an attempted deal, rising with its barriers, capped.

    The firm's ``block_base + block_slope * barriers``, at most ``max_block`` (docs/ODD.md, 7.
    Submodels); one definition for the simulated years, the projected ones and a batch whose
    runs have their own block parameters (arrays that broadcast against ``barriers``).
    """
    return np.minimum(base + slope * barriers, cap)


def log_success(p_block: np.ndarray) -> np.ndarray:
    """Log probability that a deal is not blocked (the deterrence term's input), finite at 1."""
    return np.log1p(-np.minimum(p_block, 1.0 - 1e-9))


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
            scenario_path, f"unknown market {code!r} (not a market of the firm)", field=where
        )
    return [iso3.index(code)]


def origin_factor(targets_origin: object, home: str) -> float:
    """Weight of a barrier event for a firm from ``home`` (see :data:`UNTARGETED_FACTOR`)."""
    origin = targets_origin if isinstance(targets_origin, str) else ""
    if not origin:
        return UNTARGETED_FACTOR
    return 1.0 if origin == home else 0.0


def _barriers(
    data: Dataset, scenario: Scenario, iso3: list[str], years: list[int], source: str
) -> tuple[np.ndarray, np.ndarray]:
    home = data.firm.home_iso3
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
        country = str(ev.country_iso3)
        year = int(str(ev.date)[:4])
        year = moves.get((country, year), year)
        weight = BARRIER_EVENT_WEIGHT[str(ev.kind)] * origin_factor(ev.targets_origin, home)
        cols = [iso3.index(c) for c in sorted(COUNTRY_GROUPS.get(country, {country})) if c in iso3]
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


def calendar_revenue(finance: pd.DataFrame, years: np.ndarray) -> np.ndarray:
    """Total revenue per calendar year, from the fiscal year that covers most of it.

    A fiscal year whose period ends between 1 July of year t and 30 June of t+1 has most of its
    months in t (a March year-end FY2016 covers April 2015 - March 2016: nine months of 2015).
    Years beyond the data take the nearest available fiscal year.
    """
    rows = finance[finance["measure"] == "total_revenue"].copy()
    end = pd.to_datetime(rows["period_end"])
    rows["calendar"] = np.where(end.dt.month >= 7, end.dt.year, end.dt.year - 1)
    series = rows.groupby("calendar")["value"].last().sort_index()
    known = series.index.to_numpy()
    nearest = known[np.abs(known[None, :] - years[:, None]).argmin(axis=1)]
    return series.reindex(nearest).to_numpy(dtype=float)


def resource_series(
    finance: pd.DataFrame, scenario: Scenario, reference: int | None = None
) -> np.ndarray:
    """Log revenue relative to a reference year, plus the log of capital shocks.

    The reference is the year the hurdle is stated at: the record's first year with the warm
    start (so a scenario starting later meets the hurdle its firm had grown into), else (and by
    default) the first simulated year.
    """
    years = np.asarray(list(scenario.year_range))
    start = scenario.years[0] if reference is None else reference
    revenue = calendar_revenue(finance, np.concatenate([[start], years]))
    out = np.log(revenue[1:] / revenue[0])
    for shock in scenario.shocks:
        if shock.type == "capital":
            last = shock.to_year if shock.to_year is not None else years[-1]
            active = (years >= shock.from_year) & (years <= last)
            out = np.where(active, out + np.log(shock.multiplier), out)
    return out


def regime_index(
    policy_events: pd.DataFrame | None,
    years: np.ndarray,
    kinds: tuple[str, ...] = HOME_POLICY_KINDS,
) -> np.ndarray:
    """Cumulative home-policy index per kind of event, shape (years, kinds).

    Each event adds its direction (+1 easing, -1 tightening) to its kind's column from its month
    on: in its own calendar year it weighs the share of the year left (an event in September
    counts 4/12 that year), fully in later years. One column per kind, so that a kind the
    calibration window never saw is not read as more of a kind it did (docs/ODD.md 7).
    """
    out = np.zeros((years.shape[0], len(kinds)))
    if policy_events is None or policy_events.empty:
        return out
    columns = (policy_events[c] for c in ("date", "kind", "direction"))
    for date, kind, direction in zip(*columns, strict=True):
        year = int(str(date)[:4])
        month = int(str(date)[5:7]) if len(str(date)) >= 7 else 1
        share = np.where(years > year, 1.0, np.where(years == year, (12 - month + 1) / 12, 0.0))
        out[:, kinds.index(str(kind))] += float(direction) * share
    return out


def regime_pull(world: World, firm: Firm, t: int) -> float | np.ndarray:
    """How far the home regime lowers the hurdle in year index ``t``: each effect times its index.

    The firm's effects may be arrays over runs (a batch whose runs have their own parameters).
    """
    pull: float | np.ndarray = 0.0
    for j, name in enumerate(REGIME_EFFECT_FIELDS):
        pull = pull + getattr(firm, name) * world.regime_effects[t, j]
    return pull


def _window_rows(world: World, window: tuple[int, int]) -> np.ndarray:
    return (world.years >= window[0]) & (world.years <= window[1])


def identified_effects(world: World, window: tuple[int, int]) -> tuple[str, ...]:
    """The regime effects whose index moves within the calibration ``window`` (can be fitted).

    An effect whose index is constant over the window (no event of its kinds in it) cannot be
    told from the hurdle there: it is not fitted, and takes its value from its prior
    (``Firm.regime_priors``). Empty when the world does not hold the window's years.
    """
    rows = _window_rows(world, window)
    if not rows.any():
        return ()
    index = world.regime_effects[rows]
    return tuple(n for j, n in enumerate(REGIME_EFFECT_FIELDS) if np.ptp(index[:, j]) > 0)


def regime_outside(world: World, window: tuple[int, int]) -> list[str]:
    """Notes on effects whose index leaves its calibration-window range, with the years.

    A forecast there extrapolates the effect beyond anything the window held: one short note per
    such effect, naming its kinds, the years and both ranges. Empty when every index stays in
    its range, or when the world does not hold the window's years.
    """
    rows = _window_rows(world, window)
    if not rows.any():
        return []
    notes = []
    for j, name in enumerate(REGIME_EFFECT_FIELDS):
        index = world.regime_effects[:, j]
        lo, hi = index[rows].min(), index[rows].max()
        out = (index < lo - 1e-9) | (index > hi + 1e-9)
        if not out.any():
            continue
        kinds = "/".join(k for k in world.regime_kinds if HOME_POLICY_EFFECTS[k] == name)
        years = world.years[out]
        notes.append(
            f"{kinds} index ({name}) outside its {window[0]}-{window[1]} range "
            f"[{lo:.2f}, {hi:.2f}] in {_years_text(years)} (from {index[out].min():.2f} to "
            f"{index[out].max():.2f}): the forecast extrapolates this effect"
        )
    return notes


def _years_text(years: np.ndarray) -> str:
    """Years as ranges: 2018, 2020-2021."""
    parts, start = [], int(years[0])
    for a, b in zip(years, [*years[1:], None], strict=True):
        if b is None or int(b) != int(a) + 1:
            parts.append(str(start) if start == int(a) else f"{start}-{int(a)}")
            if b is not None:
                start = int(b)
    return ", ".join(parts)


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
    history = scenario.record(data)
    warm = scenario.history.warm_start
    reference = data.firm.record.years_covered[0] if warm else years[0]
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
        p_block=block_probability(
            scenario.firm.block_base, scenario.firm.block_slope, scenario.firm.max_block, barriers
        ),
        log_resources=resource_series(data.finance, scenario, reference),
        regime=regime_index(data.home_policy, np.asarray(years)),
        record_counts=counts,
        history_modes=tuple(scenario.history.modes),
        core_industry=INDUSTRIES.index(data.firm.core_industry),
        coords=markets[["capital_lat", "capital_lon"]].to_numpy(dtype=float),
        earlier=encode_events(scenario.earlier_record(data), iso3, INDUSTRIES),
    )


def encode_events(
    events: pd.DataFrame, iso3: Sequence[str], industries: Sequence[str]
) -> np.ndarray:
    """Record rows as a model event table (``EVENT_DTYPE``), in the rows' order.

    Record rows with mode ``other`` become blocked deals of mode cooperation (the mode is not
    used once blocked); ``greenfield`` and ``exit`` rows get their event codes.
    """
    out = np.empty(len(events), dtype=EVENT_DTYPE)
    out["year"] = events["year"].to_numpy()
    out["market"] = events["country_iso3"].map({c: i for i, c in enumerate(iso3)}).to_numpy()
    codes = {m: i for i, m in enumerate(EVENT_MODE_NAMES)}
    out["mode"] = events["mode"].map(codes).fillna(0).to_numpy()
    out["blocked"] = (events["mode"] == "other").to_numpy()
    out["industry"] = events["industry"].map({n: i for i, n in enumerate(industries)}).to_numpy()
    return out
