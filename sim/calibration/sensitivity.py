"""``sim sensitivity``: Morris screening (SALib) of a strategy's parameters and the firm's inputs.

Outcomes: total deals, the share of the most-used market and the full-period fit loss, each the
mean over replications.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analyze
from SALib.sample import morris as morris_sample
from tqdm import tqdm

from sim.analysis.ensemble import summarise_runs
from sim.calibration.calibrate import free_parameters
from sim.calibration.objective import record_window, score_window, simulate, window_stats
from sim.data import Dataset
from sim.errors import SimInputError
from sim.scenario import Firm, Scenario
from sim.world import World, build_world

log = logging.getLogger(__name__)

OUTCOMES = ("total_deals", "top_market_share", "fit_loss")


@dataclass
class SensitivityResult:
    """Morris indices (one row per input and outcome) and the sampled design."""

    strategy: str
    indices: pd.DataFrame
    design: pd.DataFrame


def _firm_bounds(name: str, source: str) -> tuple[float, float]:
    bounds = Firm.bounds()
    if name not in bounds:
        raise SimInputError(
            source,
            f"firm input {name!r} cannot be screened (choose from {', '.join(bounds)})",
            field="sensitivity.firm_inputs",
        )
    return bounds[name]


def screen(
    scenario: Scenario,
    data: Dataset,
    trajectories: int | None = None,
    replications: int | None = None,
    source: str = "scenario",
    progress: bool = False,
) -> SensitivityResult:
    """Sample the Morris design, run every point, and compute mu*, mu and sigma per outcome.

    ``progress``: a progress bar over the design points on stderr (callers pass whether
    stderr is a terminal, so logs and tests stay clean).
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
    history = scenario.record(data)
    worlds: dict[str, World] = {}
    cls = strategy.policy_class()
    outcomes = np.zeros((design.shape[0], len(OUTCOMES)))
    full = (scenario.years[0], scenario.years[1])
    log.info("%s: Morris design of %d points x %d runs", label, design.shape[0], n)
    for i, row in enumerate(tqdm(design, desc=f"sensitivity {label}", disable=not progress)):
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
        policy = cls(cls.Params(**params))
        events, run = simulate(world, policy, firm_model, scenario.seed, label, n)
        stats = summarise_runs(events, run, n, world)
        total = stats.total.astype(float)
        outcomes[i] = [
            total.mean(),
            float(np.mean(stats.countries.max(axis=1) / np.maximum(total, 1))),
            score_window(
                record_window(history, world, full), window_stats(events, run, n, world, full)
            ).loss(scenario.calibration.weights),
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
