"""What an experiment runs: parameter points of each strategy, and the chunks of replications.

A *point* is one strategy with one set of parameters (one per strategy without a sweep; one per
grid cell or Latin-hypercube sample with a sweep). A *task* is a chunk of consecutive replications
of one point, the unit that executors run and that the chunk store saves.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import ValidationError

from sim.errors import SimInputError
from sim.scenario import Firm, Scenario, label_swept


@dataclass(frozen=True)
class Point:
    """One strategy at one parameter point.

    Attributes:
        strategy: Index of the strategy in the scenario.
        point: Index of the point within the strategy (0 without a sweep).
        label: Name in outputs: the strategy label, or ``label#point`` in a sweep.
        params: The policy parameters (the strategy's, with swept values applied).
        firm: The firm configuration (the scenario's, with swept ``firm.*`` values applied).
        swept: The swept values of this point (empty without a sweep).
        replications: Runs of this point.
        stream: Point index that keys the random streams of its runs; ``None`` (the default)
            uses ``point``. ``sim sensitivity`` gives every design point stream 0, so all points
            share common random numbers and an elementary effect measures the parameter change,
            not the difference between two independent sets of draws.
    """

    strategy: int
    point: int
    label: str
    params: dict[str, Any]
    firm: Firm
    swept: dict[str, float] = field(default_factory=dict)
    replications: int = 1
    stream: int | None = None


@dataclass(frozen=True)
class Task:
    """A chunk of consecutive replications of one point."""

    strategy: int
    point: int
    first: int
    count: int


def sweep_values(scenario: Scenario) -> list[dict[str, float]]:
    """The swept values of every point, in order (grid: row-major; lhs: seeded by the scenario)."""
    sweep = scenario.sweep
    if sweep is None:
        return [{}]
    names = [p.name for p in sweep.parameters]
    if sweep.method == "grid":
        grids = [p.values or [] for p in sweep.parameters]
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*grids)]
    from scipy.stats import qmc  # imported here: worker processes never need scipy.stats

    unit = qmc.LatinHypercube(d=len(names), seed=np.random.default_rng(scenario.seed)).random(
        sweep.samples
    )
    low = np.array([p.low for p in sweep.parameters], dtype=float)
    high = np.array([p.high for p in sweep.parameters], dtype=float)
    values = low + unit * (high - low)
    return [dict(zip(names, map(float, row), strict=True)) for row in values]


def _cast(model_fields: dict[str, Any], name: str, value: float) -> Any:
    """Give integer-typed parameters (counts, Literal choices) whole numbers."""
    if model_fields[name].annotation is float:
        return value
    return (
        round(value) if float(value).is_integer() or model_fields[name].annotation is int else value
    )


def plan_points(scenario: Scenario, source: str = "scenario") -> list[Point]:
    """Every point of every strategy, validating swept values against the parameters' ranges."""
    points: list[Point] = []
    grid = sweep_values(scenario)
    per_point = (
        scenario.sweep.replications
        if scenario.sweep and scenario.sweep.replications
        else scenario.replications
    )
    for s, strategy in enumerate(scenario.strategies):
        if not label_swept(scenario.sweep, strategy.label):
            points.append(
                Point(
                    s,
                    0,
                    strategy.label,
                    dict(strategy.params),
                    strategy.firm_for(scenario.firm),
                    replications=scenario.replications,
                )
            )
            continue
        params_model = strategy.policy_class().Params
        for p, values in enumerate(grid):
            params = dict(strategy.params)
            firm = strategy.firm_for(scenario.firm).model_dump()
            for name, value in values.items():
                if name.startswith("firm."):
                    firm[name[5:]] = _cast(Firm.model_fields, name[5:], value)
                else:
                    params[name] = _cast(params_model.model_fields, name, value)
            try:
                params_model(**params)
                firm_model = Firm.model_validate(firm)
            except ValidationError as exc:
                err = exc.errors()[0]
                where = ".".join(str(x) for x in err["loc"])
                raise SimInputError(
                    source,
                    f"swept value out of range for {where}: {err['msg']}",
                    field="sweep.parameters",
                ) from None
            points.append(
                Point(s, p, f"{strategy.label}#{p}", params, firm_model, values, per_point)
            )
    return points


def plan_tasks(points: list[Point], chunk_size: int) -> list[Task]:
    """Split every point's replications into chunks of at most ``chunk_size`` runs."""
    return [
        Task(pt.strategy, pt.point, first, min(chunk_size, pt.replications - first))
        for pt in points
        for first in range(0, pt.replications, chunk_size)
    ]
