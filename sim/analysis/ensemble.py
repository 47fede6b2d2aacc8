"""Per-run summaries of simulated (and recorded) events, computed with integer bincounts.

Simulated events come as an integer table (one row per attempted deal); the historical record is
encoded the same way, so one function summarises both. Blocked deals count as mode ``other``, as
the record counts failed and blocked deals. Only the events of the modes the scenario's history
compares (``World.history_modes``; by default the paper's deal modes) are counted, for the
simulated runs and the record alike, so a comparison is always like with like.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.modes import (
    COMPARE_MODES,
    EVENT_AMOUNT_CLASS,
    EVENT_COST,
    EVENT_MODE_NAMES,
    EXIT,
    MODE_NAMES,
)
from sim.world import World, encode_events

#: Column of ``other`` (blocked or failed deals) in :data:`COMPARE_MODES` (the last).
OTHER = COMPARE_MODES.index("other")


def mode_columns(world: World) -> np.ndarray:
    """Columns of :data:`COMPARE_MODES` the world's history compares (its ``history_modes``).

    The mode mix is scored on these columns only: a mode left out of the comparison is not a
    category of it (an always-empty column would still move the add-one-half shares).
    """
    return np.flatnonzero(np.isin(np.asarray(COMPARE_MODES), list(world.history_modes)))


def compared_mask(events: np.ndarray, world: World) -> np.ndarray:
    """Which events a comparison with the record counts.

    An event counts when its compared mode (``other`` when blocked) is one of the world's
    ``history_modes``: one rule for runs, summaries and the dashboard, so simulated and recorded
    events are always like with like.
    """
    compare = np.where(events["blocked"] == 1, OTHER, events["mode"].astype(np.int64))
    return np.isin(compare, mode_columns(world))


#: RunStats fields needed only for held-out patterns, dropped by :meth:`RunStats.compact`.
PER_MARKET_DETAIL = ("done", "first_step")


@dataclass(frozen=True)
class RunStats:
    """Counts per run, each array's first axis indexing runs.

    Attributes:
        yearly: Events per year, shape (runs, T).
        yearly_exits: The exits among them per year, shape (runs, T) (zero unless the history
            compares exits); ``yearly - yearly_exits`` are the entries.
        modes: Events per compared mode, shape (runs, 6), columns :data:`COMPARE_MODES` (the
            columns of modes the history leaves out are zero).
        regions: Events per region, shape (runs, n_regions).
        countries: Events per market, shape (runs, n_markets).
        capital: Capital units committed, shape (runs,).
        blocked: Blocked deals, shape (runs,).
        emerging_modes: Events per compared mode in emerging markets, shape (runs, 6).
        mature_modes: Events per compared mode in mature markets, shape (runs, 6).
        done: Completed (not blocked) deals per market, shape (runs, n_markets).
        first_step: Year index + 1 of the first completed deal per market (0: never),
            shape (runs, n_markets).
    """

    yearly: np.ndarray
    yearly_exits: np.ndarray
    modes: np.ndarray
    regions: np.ndarray
    countries: np.ndarray
    capital: np.ndarray
    blocked: np.ndarray
    emerging_modes: np.ndarray
    mature_modes: np.ndarray
    done: np.ndarray
    first_step: np.ndarray

    def compact(self) -> RunStats:
        """The counts ``sim run`` reports, in 16-bit integers (capital in 32-bit floats).

        A run has at most 40 deals a year over at most 12 years, far below 16-bit limits. The
        per-market ``done`` and ``first_step`` arrays (used only by the held-out validation
        patterns) are dropped to zero width, which keeps large ensembles small.
        """
        out = {}
        for k in self.__dataclass_fields__:
            value = getattr(self, k)
            if k in PER_MARKET_DETAIL:
                value = value[:, :0]
            out[k] = value.astype(np.float32 if k == "capital" else np.int16)
        return RunStats(**out)

    def take(self, rows: np.ndarray | slice) -> RunStats:
        """The runs ``rows`` only (a slice gives views, an index array copies)."""
        return RunStats(**{k: getattr(self, k)[rows] for k in self.__dataclass_fields__})

    @property
    def total(self) -> np.ndarray:
        """Events per run."""
        return self.yearly.sum(axis=1)

    def scalars(self, world: World) -> pd.DataFrame:
        """Headline numbers per run, one row per run."""
        total = self.total.astype(float)
        safe = np.where(total > 0, total, 1.0)
        region_p = self.regions / safe[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy = -np.nansum(np.where(region_p > 0, region_p * np.log(region_p), 0.0), axis=1)
        return pd.DataFrame(
            {
                "total_events": total,
                "peak_year": world.years[self.yearly.argmax(axis=1)],
                "distinct_countries": (self.countries > 0).sum(axis=1),
                "top_market_share": self.countries.max(axis=1) / safe,
                "control_share": self.modes[:, MODE_NAMES.index("control")] / safe,
                "equity_share": (
                    self.modes[:, MODE_NAMES.index("control")]
                    + self.modes[:, MODE_NAMES.index("minority")]
                )
                / safe,
                "cooperation_share": self.modes[:, MODE_NAMES.index("cooperation")] / safe,
                "blocked": self.blocked,
                "capital_used": self.capital,
                "region_entropy": entropy,
            }
        )


def summarise_runs(events: np.ndarray, run: np.ndarray, n_runs: int, world: World) -> RunStats:
    """Count events per run.

    Args:
        events: Event table with (at least) the named columns year, market, mode, blocked.
        run: Dense run index (0 .. n_runs-1) of each event row.
        n_runs: Number of runs (runs without events still get a row of zeros).
        world: Years, regions, development classes and the compared modes (events of other
            modes are dropped before counting).
    """
    modes = events["mode"].astype(np.int64)
    blocked = events["blocked"].astype(np.int64)
    compare = np.where(blocked == 1, OTHER, modes)
    keep = compared_mask(events, world)
    if not keep.all():
        events, run, modes, blocked, compare = (
            events[keep],
            run[keep],
            modes[keep],
            blocked[keep],
            compare[keep],
        )
    years = events["year"].astype(np.int64)
    markets = events["market"].astype(np.int64)
    t = years - world.years[0]
    n_t, n_m, n_r = world.n_years, world.n_markets, len(world.regions)
    n_c = len(COMPARE_MODES)

    def count(key: np.ndarray, width: int, weights: np.ndarray | None = None) -> np.ndarray:
        flat = np.bincount(run * width + key, weights=weights, minlength=n_runs * width)
        return flat.reshape(n_runs, width)

    mature = world.mature[markets]
    ok = (blocked == 0) & (modes != EXIT)
    cell = run[ok] * n_m + markets[ok]
    first = np.full(n_runs * n_m, n_t + 1, dtype=np.int64)
    np.minimum.at(first, cell, t[ok] + 1)
    first[first == n_t + 1] = 0
    return RunStats(
        yearly=count(t, n_t),
        yearly_exits=count(np.where(modes == EXIT, t, n_t), n_t + 1)[:, :n_t],
        modes=count(compare, n_c),
        regions=count(world.region[markets], n_r),
        countries=count(markets, n_m),
        capital=np.bincount(run, weights=EVENT_COST[modes], minlength=n_runs),
        blocked=np.bincount(run, weights=blocked, minlength=n_runs),
        emerging_modes=count(np.where(mature, n_c, compare), n_c + 1)[:, :n_c],
        mature_modes=count(np.where(mature, compare, n_c), n_c + 1)[:, :n_c],
        done=np.bincount(cell, minlength=n_runs * n_m).reshape(n_runs, n_m),
        first_step=first.reshape(n_runs, n_m),
    )


def encode_record(events: pd.DataFrame, world: World) -> np.ndarray:
    """The historical record in the simulated years as a model event table (``EVENT_DTYPE``).

    Rows outside the simulated years are dropped; the coding is :func:`sim.world.encode_events`.
    """
    rows = events[events["year"].between(world.years[0], world.years[-1])]
    return encode_events(rows, world.iso3, world.industries)


def as_record(events: np.ndarray, world: World, entity: str = "synthetic") -> pd.DataFrame:
    """Simulated events written as a record (the columns the record's readers use).

    Blocked attempts become mode ``other``, as the record codes failed and abandoned deals; exits
    are mode ``exit``.
    """
    market = events["market"].astype(np.int64)
    mode = events["mode"].astype(np.int64)
    return pd.DataFrame(
        {
            "year": events["year"].astype(int),
            "country_iso3": np.asarray(world.iso3, dtype=object)[market],
            "region": np.asarray(world.regions, dtype=object)[world.region[market]],
            "mode": np.where(
                events["blocked"] == 1, COMPARE_MODES[OTHER], np.asarray(EVENT_MODE_NAMES)[mode]
            ),
            "industry": np.asarray(world.industries, dtype=object)[events["industry"]],
            "entity": entity,
        }
    )


def _dictionary(codes: np.ndarray, names: tuple[str, ...] | list[str]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(
        codes.astype(np.int32), pa.array(list(names), type=pa.string())
    )


def events_table(events: np.ndarray, labels: tuple[str, ...], world: World) -> pa.Table:
    """Readable event table (Arrow): one row per simulated attempted deal.

    Categorical columns use fixed dictionaries, so tables of different chunks concatenate and
    serialise identically however the runs were chunked.
    """
    strategy, point, rep = events["strategy"], events["point"], events["replication"]
    year, market, mode = events["year"], events["market"].astype(np.int64), events["mode"]
    blocked, industry = events["blocked"], events["industry"]
    mode = mode.astype(np.int64)
    amount_names = tuple(dict.fromkeys(EVENT_AMOUNT_CLASS))
    amount_code = np.array([amount_names.index(a) for a in EVENT_AMOUNT_CLASS])
    return pa.table(
        {
            "strategy": _dictionary(strategy, labels),
            "point": pa.array(point.astype(np.int32)),
            "replication": pa.array(rep.astype(np.int32)),
            "year": pa.array(year.astype(np.int16)),
            "iso3": _dictionary(market, world.iso3),
            "region": _dictionary(world.region[market], world.regions),
            "mode": _dictionary(mode, EVENT_MODE_NAMES),
            "blocked": pa.array(blocked.astype(bool)),
            "record_mode": _dictionary(np.where(blocked == 1, OTHER, mode), COMPARE_MODES),
            "industry": _dictionary(industry, world.industries),
            "amount_class": _dictionary(amount_code[mode], amount_names),
            "cost": pa.array(EVENT_COST[mode]),
        }
    )


def tidy_events(events: np.ndarray, labels: tuple[str, ...], world: World) -> pd.DataFrame:
    """The same table as :func:`events_table`, as a pandas DataFrame."""
    return events_table(events, labels, world).to_pandas()
