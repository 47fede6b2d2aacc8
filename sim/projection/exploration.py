"""Sample the futures and run every strategy in each with the EMA Workbench.

The uncertainties become EMA ``RealParameter`` ranges sampled by Latin hypercube (seeded from
the scenario seed), the strategies a ``CategoricalParameter`` lever with one policy per
strategy, the outcomes ``ScalarOutcome``/``ArrayOutcome`` of :mod:`.model`; ``perform_experiments``
runs the full factorial futures x strategies on sim's own evaluator
(:class:`~sim.experiment.evaluator.Evaluator`, local processes when ``workers > 1``), one task per
future. The EMA Workbench is an optional dependency (the ``project`` extra), imported only here
and in :mod:`.discovery`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import SimInputError
from sim.experiment.evaluator import Evaluator, evaluator_for
from sim.modes import MODE_NAMES
from sim.projection.model import ProjectionModel, outcome_names

#: The one line a user sees when the extra is missing.
MISSING_EMA = (
    "sim project needs the EMA Workbench: pip install 'sim[project]' (the 'project' extra)"
)


#: Up to this many runs (futures x strategies x replications), ``explore`` runs in this process
#: whatever ``workers`` asks. Each fresh worker process spends about 0.8 s of CPU starting (it
#: imports sim, numpy and pandas), and a run costs 0.2-0.5 ms: two workers can only save half
#: of the runs' time, which beats their start-up from about 8,000 runs even on an idle machine
#: (figures in docs/performance.md, "Projections on local workers"). The outcomes are the same
#: either way (every run has its own seed).
SMALL_PROJECTION = 10_000

#: Per-run counts by projected year (runs x years) kept for every experiment: deals (the fan
#: chart), exits and greenfield operations (scored by ``sim backtest``).
RUN_ARRAYS: tuple[str, ...] = ("deals_by_year", "exits_by_year", "greenfield_by_year")


@contextmanager
def quiet() -> Iterator[None]:
    """Silence the warnings EMA emits on import and from its pandas calls (not ours)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def require_ema(source: str = "sim project") -> ModuleType:
    """Import ``ema_workbench`` or raise the one-line error naming the extra.

    Raises:
        SimInputError: when the package is not installed.
    """
    try:
        with quiet():
            import ema_workbench
    except ImportError:
        raise SimInputError(source, MISSING_EMA, field="ema_workbench") from None
    return ema_workbench


def _run_future(model: ProjectionModel, calls: list[dict[str, Any]]) -> list[dict[str, object]]:
    """The outcomes of one future's experiments (one call per strategy).

    One task per future: the model's world extended under that future is built once per task,
    not once per strategy. Workers call the model directly and never import the EMA Workbench
    (a fresh worker process would spend seconds importing it); EMA's own processing of the
    outcomes happens in the caller (:func:`_bridge`).
    """
    return [model(**kwargs) for kwargs in calls]


def _bridge(emodel: Any, model: ProjectionModel, evaluator: Evaluator) -> Any:
    """An EMA evaluator that hands EMA's experiments to sim's evaluator, a future per task."""
    from ema_workbench.em_framework.evaluators import BaseEvaluator

    uncertainties = [u.name for u in emodel.uncertainties]

    def call(experiment: Any) -> dict[str, Any]:
        """The keyword arguments EMA's function model would pass ``model`` for it."""
        values = {name: experiment.scenario[name] for name in uncertainties}
        return {**values, "strategy": experiment.policy["strategy"]}

    def processed(raw: dict[str, object]) -> dict[str, object]:
        """EMA's processing of a model's raw outcomes (as its function model does)."""
        return {o.name: o.process([raw[v] for v in o.variable_name]) for o in emodel.outcomes}

    class Bridge(BaseEvaluator):  # type: ignore[misc]
        def initialize(self) -> None:
            """Nothing to start: ``evaluator`` owns the workers."""

        def finalize(self) -> None:
            """Nothing to stop: ``evaluator`` owns the workers."""

        def evaluate_experiments(self, experiments: Any, callback: Any, **_: Any) -> None:
            by_future: dict[str, list] = {}
            for experiment in experiments:
                by_future.setdefault(experiment.scenario.name, []).append(experiment)
            groups = list(by_future.values())
            calls = [[call(e) for e in group] for group in groups]
            run = partial(_run_future, model)
            for group, outcomes in zip(groups, evaluator.evaluate(run, calls), strict=True):
                for experiment, raw in zip(group, outcomes, strict=True):
                    callback(experiment, processed(raw))

    return Bridge(emodel)


@dataclass(frozen=True)
class Experiments:
    """Every strategy's outcomes in every future.

    Attributes:
        table: One row per future and strategy: ``future`` (0-based), ``strategy``, the
            uncertainties' values and the scalar outcomes.
        arrays: Array outcomes, aligned with ``table``'s rows (each of ``RUN_ARRAYS`` has
            shape experiments x runs x years).
        uncertainties: The uncertainties' names (columns of ``table``).
        years: The projected years.
    """

    table: pd.DataFrame
    arrays: dict[str, np.ndarray]
    uncertainties: list[str]
    years: list[int]


def explore(
    model: ProjectionModel, labels: list[str], futures: int, seed: int, workers: int = 1
) -> Experiments:
    """Sample ``futures`` futures (LHS, seeded) and run every strategy in each.

    Args:
        model: The function model (one strategy in one future).
        labels: Strategy labels, the lever's categories.
        futures: Number of futures.
        seed: Seeds the Latin hypercube (the scenario seed).
        workers: Processes; 1 runs in this process (EMA's sequential evaluator), as does a
            projection of at most :data:`SMALL_PROJECTION` runs.
    """
    ema = require_ema()
    ranges = model.uncertainties.ranges()
    n_years = len(model.years)
    world = model.world
    with quiet():
        emodel = ema.Model("sim_projection", function=model)
        emodel.uncertainties = [ema.RealParameter(n, lo, hi) for n, (lo, hi) in ranges.items()]
        emodel.levers = [ema.CategoricalParameter("strategy", labels)]
        emodel.outcomes = [
            *(ema.ScalarOutcome(name) for name in outcome_names(world)),
            *(
                ema.ArrayOutcome(name, shape=(model.replications, n_years), dtype=float)
                for name in RUN_ARRAYS
            ),
            ema.ArrayOutcome("mode_by_year", shape=(n_years, len(MODE_NAMES)), dtype=float),
            ema.ArrayOutcome("region_by_year", shape=(n_years, len(world.regions)), dtype=float),
            ema.ArrayOutcome("deals_by_market", shape=(world.n_markets,), dtype=float),
        ]
        policies = [ema.Sample(label, strategy=label) for label in labels]
        runs = futures * len(labels) * model.replications
        processes = workers if runs > SMALL_PROJECTION else 1
        with evaluator_for(processes, futures) as ours, _bridge(emodel, model, ours) as evaluator:
            experiments, outcomes = evaluator.perform_experiments(
                scenarios=futures,
                policies=policies,
                uncertainty_sampling_kwargs={"rng": np.random.default_rng(seed)},
                log_progress=True,
            )
    names = list(ranges)
    # EMA names scenarios with a process-wide counter: number them 0.. in order of appearance.
    order = {name: i for i, name in enumerate(dict.fromkeys(experiments["scenario"]))}
    table = pd.DataFrame(
        {
            "future": experiments["scenario"].map(order).astype(int).to_numpy(),
            "strategy": experiments["strategy"].astype(str).to_numpy(),
        }
    )
    for name in names:
        table[name] = experiments[name].astype(float).to_numpy()
    for name in outcome_names(world):
        table[name] = np.asarray(outcomes[name], dtype=float)
    arrays = {
        k: np.asarray(outcomes[k], dtype=float)
        for k in (*RUN_ARRAYS, "mode_by_year", "region_by_year", "deals_by_market")
    }
    return Experiments(table=table, arrays=arrays, uncertainties=names, years=model.years)
