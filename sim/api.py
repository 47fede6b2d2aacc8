"""The public Python API: load a scenario, run it in this process, get tidy DataFrames.

For notebooks and scripts (the command line writes files; this returns tables)::

    import sim.api as sim

    scenario = sim.load("scenarios/baseline.yaml")          # or a dict
    result = sim.run(scenario, replications=100)
    result.yearly        # deals per year per strategy (median, 5-95 %) and the record
    result.fit           # proper scores with Monte Carlo SEs, joint pattern p-value
    result.events        # every simulated deal, readable

Runs use the batched engine in this process (``engine="mesa"`` for the one-model-per-run path);
results are identical to ``sim run`` with the same scenario and seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.ensemble import Comparison, encode_record, summarise_runs, tidy_events
from sim.analysis.fit import compare_strategies
from sim.analysis.tables import summary_table, yearly_table
from sim.experiment.runner import Engine, run_block
from sim.scenario import Scenario, load_scenario, parse_scenario
from sim.world import build_world

__all__ = ["Result", "load", "run"]


@dataclass(frozen=True)
class Result:
    """The tables of one in-process run of a scenario.

    Attributes:
        events: Every simulated attempted deal (strategy, replication, year, iso3, mode, ...).
        yearly: Deals per year per strategy (median, 5 %, 95 %, mean) and the record's counts.
        summary: One row per strategy and the record: totals, shares, countries.
        fit: Per strategy: count and mix log scores with Monte Carlo SEs, joint pattern p-value.
        patterns: Per strategy and pattern: observed value, band, quantile, p-value.
    """

    events: pd.DataFrame
    yearly: pd.DataFrame
    summary: pd.DataFrame
    fit: pd.DataFrame
    patterns: pd.DataFrame


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
) -> Result:
    """Run every strategy of the scenario in this process and return its tables.

    Args:
        scenario: A scenario, a YAML path or a mapping.
        replications: Runs per strategy (default: the scenario's).
        engine: ``batch`` or ``mesa`` (identical events).
    """
    if not isinstance(scenario, Scenario):
        scenario = load(scenario)
    n = replications or scenario.replications
    data = scenario.load_data()
    world = build_world(data, scenario)
    blocks = []
    for s, strategy in enumerate(scenario.strategies):
        policy = strategy.policy_class()(strategy.make_params())
        firm = strategy.firm_for(scenario.firm)
        blocks.append(
            run_block(world, policy, firm, scenario.seed, s, 0, range(n), strategy.label, engine)
        )
    events = np.concatenate(blocks)
    labels = tuple(s.label for s in scenario.strategies)
    run_index = events["strategy"].astype(np.int64) * n + events["replication"]
    stats = summarise_runs(events, run_index, n * len(labels), world)
    history = scenario.record(data)
    record = encode_record(history, world)
    observed = summarise_runs(record, np.zeros(record.shape[0], dtype=np.int64), 1, world)

    comparison = Comparison(
        simulated=stats,
        observed=observed,
        strategy_of_run=np.repeat(np.arange(len(labels)), n),
        labels=labels,
        world=world,
    )
    fit, patterns = compare_strategies(comparison, scenario.seed)
    return Result(
        events=tidy_events(events, labels, world),
        yearly=yearly_table(comparison),
        summary=summary_table(comparison),
        fit=fit,
        patterns=patterns,
    )
