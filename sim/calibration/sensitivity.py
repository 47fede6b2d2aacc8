"""``sim sensitivity``: Morris screening (SALib) of a strategy's parameters and the firm's inputs.

Outcomes: total deals, US share and the full-period fit loss, each the mean over replications.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.sample import morris as morris_sample

from sim.analysis.ensemble import summarise_runs
from sim.analysis.record_summary import in_scope
from sim.calibration.calibrate import free_parameters
from sim.calibration.objective import loss, record_window, simulate, window_stats
from sim.data import Dataset
from sim.errors import SimInputError
from sim.scenario import Firm, Scenario
from sim.world import build_world

OUTCOMES = ("total_deals", "us_share", "fit_loss")


@dataclass
class SensitivityResult:
    """Morris indices (one row per input and outcome) and the sampled design."""

    strategy: str
    indices: pd.DataFrame
    design: pd.DataFrame


#: Screening ranges of the firm's inputs: plausible values, narrower than the schema's limits.
FIRM_RANGES = {
    "base_capacity": (2.0, 20.0),
    "finance_elasticity": (0.0, 1.5),
    "ipo_multiplier": (1.0, 3.0),
    "block_base": (0.0, 0.1),
    "block_slope": (0.0, 0.6),
    "budget_noise": (1.0, 20.0),
    "region_spillover": (0.0, 1.0),
}


def _firm_bounds(name: str, source: str) -> tuple[float, float]:
    if name not in FIRM_RANGES:
        raise SimInputError(
            source,
            f"firm input {name!r} cannot be screened (choose from {', '.join(FIRM_RANGES)})",
            field="sensitivity.firm_inputs",
        )
    return FIRM_RANGES[name]


def screen(
    scenario: Scenario,
    data: Dataset,
    trajectories: int | None = None,
    replications: int | None = None,
    source: str = "scenario",
) -> SensitivityResult:
    """Sample the Morris design, run every point, and compute mu*, mu and sigma per outcome."""
    cfg = scenario.sensitivity
    labels = [s.label for s in scenario.strategies]
    label = cfg.strategy or labels[0]
    if label not in labels:
        raise SimInputError(
            source, f"unknown strategy label {label!r}", field="sensitivity.strategy"
        )
    s = labels.index(label)
    strategy = scenario.strategies[s]
    inputs = [(name, lo, hi, "policy") for name, lo, hi in free_parameters(strategy, scenario)]
    inputs += [(name, *_firm_bounds(name, source), "firm") for name in cfg.firm_inputs]
    names = [i[0] for i in inputs]
    bounds = [[i[1], i[2]] for i in inputs]
    kinds = [i[3] for i in inputs]
    problem = {"num_vars": len(names), "names": names, "bounds": bounds}
    design = morris_sample.sample(
        problem, N=trajectories or cfg.trajectories, num_levels=cfg.levels, seed=scenario.seed
    )
    n = replications or cfg.replications
    history = in_scope(data.events, scenario.history.scope)
    worlds: dict[str, object] = {}
    cls = strategy.policy_class()
    outcomes = np.zeros((design.shape[0], len(OUTCOMES)))
    full = (scenario.years[0], scenario.years[1])
    for i, row in enumerate(design):
        params = dict(strategy.params)
        firm = scenario.firm.model_dump()
        for name, kind, value in zip(names, kinds, row, strict=True):
            (params if kind == "policy" else firm)[name] = float(value)
        firm_model = Firm.model_validate(firm)
        key = firm_model.model_dump_json()
        if key not in worlds:
            worlds[key] = build_world(
                data, scenario.model_copy(update={"firm": firm_model}), source
            )
        world = worlds[key]
        events, run = simulate(world, cls(cls.Params(**params)), firm_model, scenario.seed, s, n)
        stats = summarise_runs(events[:, :4], run, n, world)
        total = stats.total.astype(float)
        us = world.iso3.index("USA")
        outcomes[i] = [
            total.mean(),
            float(np.mean(stats.countries[:, us] / np.maximum(total, 1))),
            loss(
                record_window(history, world, full),
                window_stats(events, run, n, world, full),
                scenario.calibration.weights,
            ),
        ]
    rows = []
    for j, outcome in enumerate(OUTCOMES):
        res = morris_analyze.analyze(
            problem, design, outcomes[:, j], num_levels=cfg.levels, seed=scenario.seed
        )
        for k, name in enumerate(names):
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
    design_df = pd.DataFrame(design, columns=names)
    for j, outcome in enumerate(OUTCOMES):
        design_df[outcome] = outcomes[:, j]
    return SensitivityResult(label, pd.DataFrame(rows), design_df)
