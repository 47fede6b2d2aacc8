"""The public Python API: load a scenario, run it in this process, get tidy DataFrames.

For notebooks and scripts (the command line writes files; this returns tables)::

    import sim.api as sim

    scenario = sim.load("scenarios/baseline.yaml")          # or a dict
    result = sim.run(scenario, replications=100)
    result.yearly        # deals per year per strategy (median, 5-95 %) and the record
    result.fit           # proper scores with Monte Carlo SEs, joint pattern p-value
    result.events        # every simulated deal, readable
    cal = sim.calibrate(scenario, trials=20)                # fit, validate, rank, verdict
    cal.scores           # in- and out-of-sample log scores per strategy (mean over seeds)

Runs go through the same planner, executors and analysis as ``sim run`` (in this process by
default; ``executor="local"`` for worker processes; ``engine="mesa"`` for the one-model-per-run
path), so the tables are those ``sim run`` writes for the same scenario and seed, sweeps included.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.ensemble import tidy_events
from sim.calibration.calibrate import CalibrationOutcome, ranking, support_table, verdict
from sim.calibration.calibrate import calibrate as calibrate_scenario
from sim.events import empty_events
from sim.experiment.experiment import Options, analyse, plan
from sim.experiment.experiment import run as run_experiment
from sim.experiment.plan import Task
from sim.experiment.runner import Engine
from sim.scenario import Scenario, load_scenario, override, parse_scenario

__all__ = ["CalibrationResult", "Result", "calibrate", "load", "run"]


@dataclass(frozen=True)
class Result:
    """The tables of one in-process run of a scenario (the tables ``sim run`` writes).

    Attributes:
        events: Every simulated attempted deal (strategy point, replication, year, iso3, mode,
            ...).
        yearly: Deals per year per strategy point (median, 5 %, 95 %, mean) and the record's.
        summary: One row per strategy point and the record: totals, shares, countries.
        fit: Per strategy point: count and mix log scores with Monte Carlo SEs, joint pattern
            p-value.
        patterns: Per strategy point and pattern: observed value, band, quantile, p-value.
        sweep: One row per swept point (its values and outcomes), or ``None`` without a sweep.
    """

    events: pd.DataFrame
    yearly: pd.DataFrame
    summary: pd.DataFrame
    fit: pd.DataFrame
    patterns: pd.DataFrame
    sweep: pd.DataFrame | None = None


def load(scenario: str | Path | dict[str, Any]) -> Scenario:
    """A validated scenario from a YAML file or a mapping (same rules as the command line).

    Raises:
        SimInputError: naming the field when the scenario is not valid.
    """
    if isinstance(scenario, dict):
        return parse_scenario(dict(scenario), Path("<dict>"))
    return load_scenario(scenario)


def run(
    scenario: Scenario | str | Path | dict[str, Any],
    replications: int | None = None,
    engine: Engine = "batch",
    executor: str = "serial",
    workers: int | None = None,
) -> Result:
    """Run every strategy and sweep point of the scenario and return its tables.

    The same planner, executors and analysis as ``sim run`` (chunks go to a temporary store that
    is removed afterwards), so the tables equal the files ``sim run`` writes.

    Args:
        scenario: A scenario, a YAML path or a mapping.
        replications: Runs per strategy (default: the scenario's), overridden and checked like
            ``sim run --replications`` (a sweep's own ``replications`` still applies to its
            points).
        engine: ``batch`` or ``mesa`` (identical events).
        executor: ``serial`` (in this process, the default), ``local`` or ``dask``.
        workers: Worker processes of the ``local`` and ``dask`` executors (default: every core).

    Raises:
        SimInputError: bad scenario, data or ``replications``.
        RunFailed: when a run raises, naming it.
    """
    source = "<scenario>" if isinstance(scenario, Scenario | dict) else str(scenario)
    if not isinstance(scenario, Scenario):
        scenario = load(scenario)
    if replications is not None:
        scenario = override(scenario, {"replications": replications}, source, flags=False)
    data = scenario.load_data(source)
    options = Options(executor=executor, workers=workers, progress=False, engine=engine)
    chunks: list[np.ndarray] = []

    def keep(group: int, _task: Task, events: np.ndarray) -> None:
        events = events.copy()
        events["strategy"] = group  # the point's index: its label in ``experiment.labels``
        chunks.append(events)

    with tempfile.TemporaryDirectory(prefix="sim-api-") as root:
        experiment = plan(scenario, data, Path(root), options, source=source)
        run_experiment(experiment, options)
        tables = analyse(experiment, scenario.record(data), sink=keep)
    events = np.concatenate(chunks) if chunks else empty_events()
    return Result(
        events=tidy_events(events, experiment.labels, experiment.world),
        yearly=tables.yearly,
        summary=tables.summary,
        fit=tables.fit,
        patterns=tables.patterns,
        sweep=tables.sweep,
    )


@dataclass(frozen=True)
class CalibrationResult:
    """The tables of one in-process calibration (the same rule and numbers as ``sim calibrate``).

    Attributes:
        scores: Per strategy (mean over calibration seeds): log scores in and out of sample with
            Monte Carlo SEs and the spread across seeds, and the out-of-sample ranks per seed.
        per_seed: The same per strategy and calibration seed.
        support: Per theory: in how many seeds it beats every fair baseline on counts and mix.
        verdict: The tool's verdict in words (no recovery study: see ``sim recover``).
        parameters: Per strategy and seed: the best fitted value of every free parameter.
        calibration: The full result (fits with every trial, validations, world, record).
    """

    scores: pd.DataFrame
    per_seed: pd.DataFrame
    support: pd.DataFrame
    verdict: str
    parameters: pd.DataFrame
    calibration: CalibrationOutcome


def calibrate(
    scenario: Scenario | str | Path | dict[str, Any],
    trials: int | None = None,
    replications: int | None = None,
    seeds: list[int] | None = None,
    storage: str | None = None,
) -> CalibrationResult:
    """Fit every strategy on the calibration window and score it out of sample, in this process.

    Args:
        scenario: A scenario, a YAML path or a mapping (its ``calibration`` section applies).
        trials: Optimiser trials per strategy and seed (default: the scenario's).
        replications: Runs per trial (default: the scenario's).
        seeds: Calibration seeds (default: the scenario's).
        storage: Where optuna keeps the studies (default: in memory; a ``*.journal`` path
            makes an interrupted calibration resumable).
    """
    if not isinstance(scenario, Scenario):
        scenario = load(scenario)
    data = scenario.load_data()
    result = calibrate_scenario(
        scenario, data, storage, trials=trials, replications=replications, seeds=seeds
    )
    summary, per_seed = ranking(result)
    parameters = pd.DataFrame(
        [
            {"strategy": f.label, "seed": f.seed, "parameter": name, "value": f.params[name]}
            for f in result.fits
            for name in f.free
        ]
    )
    return CalibrationResult(
        scores=summary,
        per_seed=per_seed,
        support=support_table(per_seed),
        verdict=verdict(per_seed),
        parameters=parameters,
        calibration=result,
    )
