"""One runner behind ``sim run`` and the Python API: points x replications, chunked and resumable.

Plans every (strategy, parameter point) and splits its replications into chunks; skips chunks the
store already holds; runs the rest on the chosen executor, storing each chunk as it arrives (with
a progress bar on a terminal); then reads the chunks back in a fixed order, so the results do not
depend on executor, worker count, chunk size or completion order.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from sim.analysis.accumulate import Comparison, PointStats
from sim.analysis.ensemble import encode_record, summarise_runs
from sim.analysis.fit import compare_strategies
from sim.analysis.tables import summary_table, yearly_table
from sim.data import Dataset
from sim.data.loaders import DATA_FILES
from sim.experiment.evaluator import Evaluator
from sim.experiment.executors import DEFAULT_TIMEOUT
from sim.experiment.plan import Point, Task, plan_points, plan_tasks
from sim.experiment.runner import Engine
from sim.experiment.store import ChunkStore, fingerprint
from sim.experiment.worker import PointJob, run_task
from sim.io import remove_stale_spills, spill_folder
from sim.scenario import Scenario
from sim.world import World, build_world

log = logging.getLogger(__name__)

#: Below this many runs to compute, the local executor runs in process: starting worker
#: processes would cost more than it saves.
SMALL_ENSEMBLE = 1000


@dataclass(frozen=True)
class Options:
    """How to execute an experiment (never changes its results).

    Attributes:
        executor: ``serial``, ``local`` (joblib/loky processes) or ``dask``.
        workers: Worker processes (default: every core).
        scheduler: dask scheduler address (``tcp://host:port``); a LocalCluster when blank.
        chunk_size: Replications per task and per stored chunk.
        progress: Show a progress bar (only on a terminal).
        fresh: Discard stored chunks of this experiment and recompute them.
        engine: ``batch`` (chunks stepped as one batch) or ``mesa`` (one Mesa model per run);
            the events are identical.
        timeout: dask: seconds to wait for the scheduler, or for a worker to be connected.
        cache: A folder for the chunk store that outlives the run (reused by later runs);
            by default chunks live in the output folder and go once the run has succeeded.
    """

    executor: str = "local"
    workers: int | None = None
    scheduler: str | None = None
    chunk_size: int = 250
    progress: bool = True
    fresh: bool = False
    engine: Engine = "batch"
    timeout: float = DEFAULT_TIMEOUT
    cache: Path | None = None


@dataclass
class Experiment:
    """A planned (and, after :func:`run`, finished) experiment."""

    scenario: Scenario
    points: list[Point]
    tasks: list[Task]
    worlds: dict[tuple[int, int], World]
    store: ChunkStore
    computed: int = 0
    reused: int = 0
    executor: str = "none"
    jobs: dict[tuple[int, int], PointJob] = field(default_factory=dict)

    @property
    def labels(self) -> tuple[str, ...]:
        """Output label of every point, in order."""
        return tuple(p.label for p in self.points)

    @property
    def world(self) -> World:
        """The world of the first point (markets and years are the same for every point)."""
        return next(iter(self.worlds.values()))


def plan(
    scenario: Scenario,
    data: Dataset,
    chunk_root: Path,
    options: Options,
    source: str = "scenario",
    points: list[Point] | None = None,
) -> Experiment:
    """Plan points, worlds, jobs and tasks; locate the chunk store.

    ``points``: run these instead of the scenario's strategies and sweep (``sim sensitivity``
    passes its Morris design). They enter the store's fingerprint, so chunks of one design are
    never read back as another's.
    """
    given = points is not None
    points = plan_points(scenario, source) if points is None else points
    worlds: dict[tuple[int, int], World] = {}
    by_firm: dict[str, World] = {}
    jobs: dict[tuple[int, int], PointJob] = {}
    for pt in points:
        key = pt.firm.model_dump_json()
        if key not in by_firm:
            by_firm[key] = build_world(data, scenario.model_copy(update={"firm": pt.firm}), source)
        world = by_firm[key]
        worlds[(pt.strategy, pt.point)] = world
        strategy = scenario.strategies[pt.strategy]
        cls = strategy.policy_class()
        jobs[(pt.strategy, pt.point)] = PointJob(
            world,
            cls,
            cls.Params(**pt.params),
            pt.firm,
            scenario.seed,
            strategy.label,
            options.engine,
            pt.stream,
        )
    paths, profile = scenario.data_paths(), scenario.firm_profile()
    found = (paths.resolve(n, profile) for n in DATA_FILES)
    files = [profile.path("profile.yaml"), *(f for f in found if f is not None)]
    config = scenario.model_dump(mode="json")
    if given:
        config["points"] = [_describe_point(pt) for pt in points]
    key = fingerprint(config, files)
    store = ChunkStore(chunk_root, key)
    return Experiment(
        scenario, points, plan_tasks(points, options.chunk_size), worlds, store, jobs=jobs
    )


def _describe_point(pt: Point) -> dict[str, object]:
    """What determines a given point's chunks (its replication count only sets how many)."""
    return {
        "strategy": pt.strategy,
        "point": pt.point,
        "label": pt.label,
        "params": pt.params,
        "firm": pt.firm.model_dump(mode="json"),
        "swept": pt.swept,
        "stream": pt.stream,
    }


def run(experiment: Experiment, options: Options) -> Experiment:
    """Compute every chunk the store does not hold yet."""
    store = experiment.store
    if options.fresh and store.dir.exists():
        shutil.rmtree(store.dir)
    todo = [t for t in experiment.tasks if not store.has(t)]
    experiment.reused = len(experiment.tasks) - len(todo)
    total = sum(t.count for t in experiment.tasks)
    pending = sum(t.count for t in todo)
    name = options.executor
    if name == "local" and pending <= SMALL_ENSEMBLE:
        name = "serial"
    evaluator = Evaluator(name, options.workers, options.scheduler, options.timeout)
    experiment.executor = evaluator.name if todo else "none"
    work = [(experiment.jobs[(t.strategy, t.point)], t) for t in todo]
    log.info(
        "%d of %d chunks to compute (%d runs) on %s",
        len(todo),
        len(experiment.tasks),
        pending,
        experiment.executor,
    )
    if not todo:
        return experiment
    show = options.progress and sys.stderr.isatty()
    # Workers on this machine save their chunks themselves; a remote dask cluster sends them
    # back to be saved here.
    fn = partial(run_task, store=store) if evaluator.shares_disk else run_task
    bar = tqdm(
        total=total,
        initial=total - pending,
        unit="run",
        disable=not show,
        desc=experiment.scenario.name,
        smoothing=0.1,
    )
    # Left in reverse order: the results (cancelling what is pending), the workers, the bar.
    with bar, evaluator, contextlib.closing(evaluator.map(fn, work)) as results:
        for task, events in results:
            if events is not None:
                store.write(task, events)
            experiment.computed += 1
            bar.update(task.count)
    return experiment


def ordered_chunks(experiment: Experiment) -> Iterator[tuple[int, Task, np.ndarray]]:
    """Yield ``(point index, task, events)`` for every chunk in point and replication order."""
    index = {(p.strategy, p.point): i for i, p in enumerate(experiment.points)}
    for task in sorted(experiment.tasks, key=lambda t: (index[(t.strategy, t.point)], t.first)):
        yield index[(task.strategy, task.point)], task, experiment.store.read(task)


def compare(
    experiment: Experiment,
    history: pd.DataFrame,
    sink: Callable[[int, Task, np.ndarray], None] | None = None,
) -> Comparison:
    """Every point's runs summarised chunk by chunk (:class:`PointStats`) beside the record's.

    Only one chunk's per-run statistics are in memory at a time, plus each point's bounded
    sample of runs: the per-run values behind the quantiles are streamed to files and read
    back in blocks, so memory does not grow with the number of runs. ``sink``, if given, receives
    every chunk as it is read (point index, task, events), so other outputs can be written in
    the same single pass over the store.
    """
    world = experiment.world
    # The per-run values go to files beside the chunks (inside --out, or the named cache) and
    # are deleted once their quantiles are known.
    remove_stale_spills(experiment.store.dir.parent)
    with spill_folder(experiment.store.dir) as spill:
        points = [PointStats(spill, f"p{i}") for i in range(len(experiment.points))]
        for group, task, events in ordered_chunks(experiment):
            if sink is not None:
                sink(group, task, events)
            run_index = events["replication"].astype(np.int64) - task.first
            part = summarise_runs(events, run_index, task.count, world).compact()
            points[group].add(part, world)
        closed = tuple(p.close() for p in points)
    assert [p.n_runs for p in closed] == [pt.replications for pt in experiment.points]
    record = encode_record(history, world)
    return Comparison(
        points=closed,
        observed=summarise_runs(record, np.zeros(record.shape[0], dtype=np.int64), 1, world),
        labels=experiment.labels,
        world=world,
    )


@dataclass(frozen=True)
class Tables:
    """The tables of a finished experiment: what ``sim run`` writes and ``sim.api.run`` returns.

    Attributes:
        comparison: Every point's streamed summary beside the record's (for the figures).
        fit: One row per strategy point: proper scores and the joint pattern p-value.
        patterns: One row per strategy point and pattern.
        yearly: Deals per year per strategy point (quantiles) and the record's counts.
        summary: One row per strategy point and the record.
        sweep: One row per swept point, or ``None`` when the scenario has no sweep.
    """

    comparison: Comparison
    fit: pd.DataFrame
    patterns: pd.DataFrame
    yearly: pd.DataFrame
    summary: pd.DataFrame
    sweep: pd.DataFrame | None


def score_windows(scenario: Scenario, world: World) -> dict[str, np.ndarray]:
    """The calibration and validation windows' year columns, when both lie in the run's years.

    Scored apart in the fit table so that a run shows in- and out-of-sample counts side by side
    (empty when the scenario's years do not hold both windows).
    """
    cal = scenario.calibration
    windows = {"calibration": cal.window, "validation": cal.validation}
    cols = {
        name: np.flatnonzero((world.years >= a) & (world.years <= b))
        for name, (a, b) in windows.items()
    }
    inside = all(world.years[0] <= a and b <= world.years[-1] for a, b in windows.values())
    return cols if inside else {}


def analyse(
    experiment: Experiment,
    history: pd.DataFrame,
    sink: Callable[[int, Task, np.ndarray], None] | None = None,
) -> Tables:
    """Compare every point with the record and build its tables (one pass over the store).

    The one analysis behind the command line and the Python API, so both give the same numbers.
    ``sink`` receives every chunk as it is read (see :func:`compare`).
    """
    comparison = compare(experiment, history, sink)
    fit, patterns = compare_strategies(
        comparison, experiment.scenario.seed, score_windows(experiment.scenario, comparison.world)
    )
    summary = summary_table(comparison)
    return Tables(
        comparison=comparison,
        fit=fit,
        patterns=patterns,
        yearly=yearly_table(comparison),
        summary=summary,
        sweep=sweep_table(experiment, fit, summary) if experiment.scenario.sweep else None,
    )


#: Outcome columns of ``summary`` and score columns of ``fit`` that ``sweep.csv`` repeats.
SWEEP_OUTCOMES = (
    "events_median",
    "events_p05",
    "events_p95",
    "distinct_countries_median",
    "top_market_share_median",
    "mode_share_control",
    "mode_share_minority",
    "mode_share_cooperation",
    "mode_share_other",
)
SWEEP_SCORES = ("count_score", "count_score_se", "mix_score", "mix_score_se", "patterns_joint_p")


def sweep_table(experiment: Experiment, fit: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """One row per swept point: its parameter values and outcomes."""
    rows = []
    f = fit.set_index("strategy")
    s = summary.set_index("strategy")
    for pt in experiment.points:
        if not pt.swept:
            continue
        row: dict[str, Any] = {
            "strategy": experiment.scenario.strategies[pt.strategy].label,
            "point": pt.point,
            **pt.swept,
            "runs": pt.replications,
        }
        row |= {str(k): v for k, v in s.loc[pt.label, list(SWEEP_OUTCOMES)].items()}
        row |= {str(k): v for k, v in f.loc[pt.label, list(SWEEP_SCORES)].items()}
        rows.append(row)
    return pd.DataFrame(rows)
