"""``sim sensitivity``: Morris screening (SALib) of a strategy's parameters and the firm's inputs.

Outcomes: total deals, the share of the most-used market and the full-period fit loss, each the
mean over replications. The design points run as one experiment (executors, chunk store, resume).
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.sample import morris as morris_sample

from sim.analysis.ensemble import summarise_runs
from sim.calibration.calibrate import free_parameters
from sim.calibration.objective import WindowStats, record_window, score_window, window_stats
from sim.data import Dataset
from sim.errors import SimInputError
from sim.experiment.experiment import Experiment, Options, ordered_chunks, plan, run
from sim.experiment.plan import Point
from sim.scenario import Firm, Scenario

log = logging.getLogger(__name__)

OUTCOMES = ("total_deals", "top_market_share", "fit_loss")


@dataclass
class SensitivityResult:
    """Morris indices (one row per input and outcome) and the sampled design.

    ``computed`` and ``reused`` count the chunks run now and those found in the chunk store.
    """

    strategy: str
    indices: pd.DataFrame
    design: pd.DataFrame
    computed: int = 0
    reused: int = 0


def _firm_bounds(name: str, source: str) -> tuple[float, float]:
    bounds = Firm.bounds()
    if name not in bounds:
        raise SimInputError(
            source,
            f"firm input {name!r} cannot be screened (choose from {', '.join(bounds)})",
            field="sensitivity.firm_inputs",
        )
    return bounds[name]


def _design_points(
    scenario: Scenario,
    s: int,
    design: np.ndarray,
    names: list[str],
    kinds: list[str],
    replications: int,
) -> list[Point]:
    """One experiment point per design row: the strategy's parameters and firm with its values."""
    strategy = scenario.strategies[s]
    points = []
    for i, row in enumerate(design):
        params = dict(strategy.params)
        firm = strategy.firm_for(scenario.firm).model_dump()  # its own fitted firm values
        for name, kind, value in zip(names, kinds, row, strict=True):
            (params if kind == "policy" else firm)[name] = float(value)
        points.append(
            Point(
                s,
                i,
                f"{strategy.label}#{i}",
                params,
                Firm.model_validate(firm),
                dict(zip(names, map(float, row), strict=True)),
                replications,
                stream=0,
            )
        )
    return points


def _outcomes(experiment: Experiment, scenario: Scenario, history: pd.DataFrame) -> np.ndarray:
    """Total deals, top-market share and full-period fit loss of every point (mean over runs)."""
    full = (scenario.years[0], scenario.years[1])
    observed: dict[int, WindowStats] = {}  # per world: the record's window statistics
    outcomes = np.zeros((len(experiment.points), len(OUTCOMES)))
    chunks: dict[int, list[np.ndarray]] = {}
    for i, _task, events in ordered_chunks(experiment):
        chunks.setdefault(i, []).append(events)
    for i, pt in enumerate(experiment.points):
        world = experiment.worlds[(pt.strategy, pt.point)]
        n = pt.replications
        events = np.concatenate(chunks[i])
        run_index = events["replication"].astype(np.int64)
        stats = summarise_runs(events, run_index, n, world)
        total = stats.total.astype(float)
        if id(world) not in observed:
            observed[id(world)] = record_window(history, world, full)
        simulated = window_stats(events, run_index, n, world, full)
        outcomes[i] = [
            total.mean(),
            float(np.mean(stats.countries.max(axis=1) / np.maximum(total, 1))),
            score_window(observed[id(world)], simulated).loss(scenario.calibration.weights),
        ]
    return outcomes


def _indices(
    problem: dict,
    design: np.ndarray,
    outcomes: np.ndarray,
    kinds: list[str],
    levels: int,
    seed: int,
) -> list[dict[str, object]]:
    """Morris mu*, mu, sigma and mu*'s confidence per outcome and input (SALib)."""
    rows = []
    for j, outcome in enumerate(OUTCOMES):
        res = morris_analyze.analyze(problem, design, outcomes[:, j], num_levels=levels, seed=seed)
        for k, name in enumerate(problem["names"]):
            rows.append(
                {
                    "outcome": outcome,
                    "input": name,
                    "kind": kinds[k],
                    "mu_star": res["mu_star"][k],
                    "mu": res["mu"][k],
                    "sigma": res["sigma"][k],
                    "mu_star_conf": res["mu_star_conf"][k],
                }
            )
    return rows


def screen(
    scenario: Scenario,
    data: Dataset,
    trajectories: int | None = None,
    replications: int | None = None,
    source: str = "scenario",
    progress: bool = False,
    options: Options | None = None,
    chunk_root: Path | None = None,
) -> SensitivityResult:
    """Sample the Morris design, run every point, and compute mu*, mu and sigma per outcome.

    The design points run through the experiment layer (:mod:`sim.experiment.experiment`):
    the same executors, chunk store and progress bar as ``sim run``. Every point uses the
    random streams of the strategy's point 0 (common random numbers), so a point's runs are
    those ``sim run`` would make with its values, and an elementary effect is not blurred by
    independent noise at its two ends.

    Args:
        scenario: The scenario (its ``sensitivity`` section sets the design).
        data: The firm's data.
        trajectories: Morris trajectories (overrides the scenario).
        replications: Runs per design point (overrides the scenario).
        source: Name of the scenario in error messages.
        progress: A progress bar on stderr when ``options`` is not given (callers pass whether
            stderr is a terminal, so logs and tests stay clean).
        options: How to execute (executor, workers, chunk size, fresh); never changes results.
        chunk_root: Where the chunk store lives (``<out>/.sim-cache`` for the command);
            a re-run of the same design reuses its chunks, an interrupted one resumes. ``None``:
            a temporary store, discarded afterwards.
    """
    cfg = scenario.sensitivity
    labels = [s.label for s in scenario.strategies]
    label = cfg.strategy or labels[0]
    if label not in labels:
        raise SimInputError(
            source, f"unknown strategy label {label!r}", field="sensitivity.strategy"
        )
    s = labels.index(label)
    strategy = scenario.strategies[s]
    inputs = [
        (name, lo, hi, "policy")
        for name, lo, hi in free_parameters(strategy, scenario)
        if not name.startswith("firm.")
    ]
    inputs += [(name, *_firm_bounds(name, source), "firm") for name in cfg.firm_inputs]
    names = [i[0] for i in inputs]
    bounds = [[i[1], i[2]] for i in inputs]
    kinds = [i[3] for i in inputs]
    problem = {"num_vars": len(names), "names": names, "bounds": bounds}
    design = morris_sample.sample(
        problem, N=trajectories or cfg.trajectories, num_levels=cfg.levels, seed=scenario.seed
    )
    n = replications or cfg.replications
    points = _design_points(scenario, s, design, names, kinds, n)
    log.info("%s: Morris design of %d points x %d runs", label, design.shape[0], n)
    options = options or Options(progress=progress)
    # The bar and log lines name the screening, not the scenario (names are not fingerprinted).
    named = scenario.model_copy(update={"name": f"sensitivity {label}"})
    with contextlib.ExitStack() as stack:
        root = chunk_root or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        experiment = run(plan(named, data, root, options, source, points=points), options)
        log.info(
            "sensitivity %s: %d chunks computed, %d reused on %s",
            label,
            experiment.computed,
            experiment.reused,
            experiment.executor,
        )
        outcomes = _outcomes(experiment, scenario, scenario.record(data))
    rows = _indices(problem, design, outcomes, kinds, cfg.levels, scenario.seed)
    design_df = pd.DataFrame(design, columns=names)
    for j, outcome in enumerate(OUTCOMES):
        design_df[outcome] = outcomes[:, j]
    return SensitivityResult(
        label, pd.DataFrame(rows), design_df, experiment.computed, experiment.reused
    )
