"""One future x one strategy -> outcomes: the function the EMA Workbench evaluates.

:class:`ProjectionModel` holds what every experiment shares (the record's world and events, each
strategy's policy and firm) and, called with a strategy label and the future's uncertainty
values, runs ``replications`` runs of that strategy from the end of the record through the
future's world and returns its outcomes. It is a plain picklable object, so EMA's
multiprocessing evaluator can ship it to worker processes.

Random numbers: run ``r`` of strategy ``label`` in a future uses
``SeedSequence(seed, spawn_key=(stream_key(label), point, r))`` as
:func:`sim.experiment.runner.run_generator` derives it, where ``point`` is a 32-bit hash of the
future's uncertainty values (:func:`future_point`). Every future and strategy gets its own
streams — so a fan chart pooled over futures has futures x runs independent histories, not the
same few yearly shocks repeated — and the same scenario and seed give identical outcomes in any
order or process (the futures' values are themselves seeded).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.engine import draw_batch, simulate
from sim.experiment.runner import run_generator
from sim.modes import EVENT_MODE_NAMES, EXIT, MODE_NAMES
from sim.policies.base import Policy
from sim.projection.futures import Future, extend_world
from sim.projection.warm import warm_state
from sim.projection_spec import Uncertainties
from sim.scenario import Firm
from sim.world import World

#: Most futures' worlds kept in memory (experiments visit futures once per strategy).
WORLD_CACHE = 512


@dataclass(frozen=True)
class Lever:
    """One strategy as a lever: its label (keys its random streams), policy and firm."""

    label: str
    policy: Policy
    firm: Firm


def future_point(values: dict[str, float]) -> int:
    """A stable 32-bit number for a future (its uncertainty values, exactly), keying its streams."""
    text = ";".join(f"{k}={float(v).hex()}" for k, v in sorted(values.items()))
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "little")


def outcome_names(world: World) -> list[str]:
    """The scalar outcomes of one experiment, in table order."""
    return [
        "deals_per_year",
        "deals_total",
        "blocked_share",
        "markets_entered",
        "exits_per_year",
        *(f"share_{m}" for m in MODE_NAMES),
        *(f"share_{r}" for r in world.regions),
    ]


class ProjectionModel:
    """Runs one strategy in one future from the end of the record (see the module docstring).

    Args:
        world: The record years' world.
        record: The record's events on that world (``EVENT_DTYPE``).
        levers: The strategies.
        firm: The scenario's firm (blocking parameters of the extended world).
        uncertainties: The declared uncertainties (names and barrier paths).
        horizon: Last projected year.
        seed: The scenario seed.
        replications: Runs per strategy and future.
        indicators: The indicator table (projected years used where present).
    """

    def __init__(
        self,
        world: World,
        record: np.ndarray,
        levers: Sequence[Lever],
        firm: Firm,
        uncertainties: Uncertainties,
        horizon: int,
        seed: int,
        replications: int,
        indicators: pd.DataFrame | None = None,
    ) -> None:
        self.world = world
        self.record = record
        self.levers = {lever.label: lever for lever in levers}
        self.firm = firm
        self.uncertainties = uncertainties
        self.years = list(range(int(world.years[-1]) + 1, horizon + 1))
        self.start = world.n_years
        self.seed = seed
        self.replications = replications
        self.indicators = indicators
        self._worlds: OrderedDict[tuple, World] = OrderedDict()
        done = record[record["blocked"] == 0]
        #: Markets with a completed deal in the record (before any projected year).
        self.entered = np.zeros(world.n_markets, dtype=bool)
        self.entered[done["market"].astype(np.int64)] = True

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_worlds"] = OrderedDict()  # rebuilt in the worker
        return state

    def world_for(self, future: Future) -> World:
        """The record's world extended through the horizon under ``future`` (cached)."""
        key = future.key()
        if key not in self._worlds:
            self._worlds[key] = extend_world(
                self.world, self.years, future, self.firm, self.indicators
            )
            if len(self._worlds) > WORLD_CACHE:
                self._worlds.popitem(last=False)
        return self._worlds[key]

    def run(
        self, label: str, future: Future, point: int = 0
    ) -> tuple[np.ndarray, np.ndarray, World]:
        """The projected events of every run (``EVENT_DTYPE``), their run rows, and the world.

        ``point`` keys the runs' random streams (:func:`future_point` of the future's values).
        """
        lever = self.levers[label]
        world = self.world_for(future)
        firm = lever.firm
        if future.climate:
            firm = firm.model_copy(update={"hurdle": firm.hurdle + future.climate})
        n = self.replications
        state = warm_state(world, firm, self.record, n, self.start)
        generators = [run_generator(self.seed, label, point, r) for r in range(n)]
        draws = draw_batch(generators, world.n_years, firm.opportunities, world.n_markets)
        events, run = simulate(world, lever.policy, firm, draws, state=state, start=self.start)
        return events, run, world

    def __call__(self, strategy: str, **values: float) -> dict[str, object]:
        """EMA's entry point: outcomes of ``strategy`` in the future given by ``values``."""
        future = Future.from_values(self.uncertainties, values)
        events, run, world = self.run(strategy, future, future_point(values))
        return outcomes(events, run, world, self.start, self.replications, self.entered)


def outcomes(
    events: np.ndarray,
    run: np.ndarray,
    world: World,
    start: int,
    n_runs: int,
    entered_before: np.ndarray,
) -> dict[str, object]:
    """Outcomes of one strategy in one future, from its runs' projected events.

    Deals are *completed* entries of the modes the scenario compares with the record (by default
    the paper's deal modes; blocked attempts are counted in ``blocked_share`` only). Scalars are
    means over runs; mode shares and ``markets_entered`` count every completed entry (greenfield
    operations too), region shares the deals (0 when none).

    Returns:
        ``deals_per_year`` (mean over runs and projected years), ``deals_total`` (per run, over
        the projected years), ``blocked_share`` (blocked / attempted), ``exits_per_year`` (exits
        of held markets, mean over runs and projected years), ``markets_entered``
        (markets with no completed deal in the record that get one), mode and region shares,
        and arrays ``deals_by_year``, ``exits_by_year`` and ``greenfield_by_year`` (runs x
        years: the per-run counts ``sim backtest`` scores), ``mode_by_year`` (years x modes,
        mean per run), ``region_by_year`` (years x regions) and ``deals_by_market`` (markets).
    """
    n_years = world.n_years - start
    t = events["year"].astype(np.int64) - int(world.years[start])
    run = run.astype(np.int64)
    market = events["market"].astype(np.int64)
    mode = events["mode"].astype(np.int64)
    left = mode == EXIT  # exits are events, not deals
    entry = (events["blocked"] == 0) & ~left  # completed entries of every mode
    # Deals are the completed entries of the modes the scenario compares with the record (by
    # default the paper's deal modes, so a greenfield operation is an entry but not a deal), as
    # the fan chart's record line counts them.
    counted = np.isin(np.asarray(EVENT_MODE_NAMES)[mode], world.history_modes)
    ok = entry & counted
    attempts = int((~left).sum())
    region = world.region[market]
    n_modes, n_regions, n_markets = len(MODE_NAMES), len(world.regions), world.n_markets
    by_year = (
        np.bincount(run[ok] * n_years + t[ok], minlength=n_runs * n_years)
        .reshape(n_runs, n_years)
        .astype(float)
    )
    mode_year = np.bincount(t[entry] * n_modes + mode[entry], minlength=n_years * n_modes)
    region_year = np.bincount(t[ok] * n_regions + region[ok], minlength=n_years * n_regions)
    per_market = np.bincount(market[ok], minlength=n_markets) / n_runs
    new = np.zeros(n_runs * n_markets, dtype=bool)
    new[run[entry] * n_markets + market[entry]] = True
    new = new.reshape(n_runs, n_markets) & ~entered_before[None, :]
    done = int(ok.sum())
    greenfield = entry & (mode == MODE_NAMES.index("greenfield"))
    out: dict[str, object] = {
        "deals_per_year": float(by_year.mean()),
        "deals_total": float(by_year.sum(axis=1).mean()),
        "blocked_share": float((attempts - entry.sum()) / attempts) if attempts else 0.0,
        "markets_entered": float(new.sum(axis=1).mean()),
        "exits_per_year": float(left.sum() / (n_runs * n_years)) if n_years else 0.0,
    }
    mode_total = np.bincount(mode[entry], minlength=n_modes)
    region_total = np.bincount(region[ok], minlength=n_regions)
    entries = int(entry.sum())
    for i, name in enumerate(MODE_NAMES):
        out[f"share_{name}"] = float(mode_total[i] / entries) if entries else 0.0
    for i, name in enumerate(world.regions):
        out[f"share_{name}"] = float(region_total[i] / done) if done else 0.0
    out["deals_by_year"] = by_year
    out["exits_by_year"] = _per_run_year(run[left], t[left], n_runs, n_years)
    out["greenfield_by_year"] = _per_run_year(run[greenfield], t[greenfield], n_runs, n_years)
    out["mode_by_year"] = mode_year.reshape(n_years, n_modes) / n_runs
    out["region_by_year"] = region_year.reshape(n_years, n_regions) / n_runs
    out["deals_by_market"] = per_market
    return out


def _per_run_year(run: np.ndarray, t: np.ndarray, n_runs: int, n_years: int) -> np.ndarray:
    """Events per run and projected year (runs x years), from the events' run and year index."""
    cells = np.bincount(run * n_years + t, minlength=n_runs * n_years)
    return cells.reshape(n_runs, n_years).astype(float)
