"""Drive ``sim`` from the EMA Workbench as an EMA model: uncertainties, levers, outcomes.

A minimal, self-contained example of exploratory modelling with ``sim`` (``sim project`` does the
same at scale, from the end of the record). Two firm-level mechanisms we cannot pin down are the
uncertainties — how strongly host barriers block deals (``block_slope``) and the level of the
outside option (``hurdle``) — and the strategy is the lever. Each experiment runs the scenario
through the Python API (``sim.api.run``) and returns deals per year, the control share and the
out-of-record count score.

Run it with the ``project`` extra installed (``pip install '.[project]'``)::

    python examples/ema_model.py            # 8 scenarios x 3 strategies, 20 runs each

``tests/test_examples.py`` runs it with a small budget and checks the outcomes.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

import sim.api

#: The scenario every experiment starts from (the reference firm, its record years).
BASE: dict[str, Any] = {
    "name": "ema_example",
    "seed": 7,
    "strategies": [
        {"label": "dual_track", "policy": "dual_track"},
        {"label": "diversification", "policy": "diversification"},
        {"label": "gravity", "policy": "gravity"},
    ],
}


def sim_model(strategy: str, hurdle: float, block_slope: float, replications: int = 20) -> dict:
    """One EMA experiment: ``strategy`` under one draw of the uncertainties.

    Args:
        strategy: The lever (a strategy label of :data:`BASE`).
        hurdle: Utility of "no deal" at the first year's revenue (uncertainty).
        block_slope: Added block probability per unit of barriers (uncertainty).
        replications: Runs per experiment.

    Returns:
        Outcomes: mean deals per year, control share of completed deals, count log score.
    """
    scenario = {
        **BASE,
        "firm": {"hurdle": hurdle, "block_slope": block_slope},
        "strategies": [s for s in BASE["strategies"] if s["label"] == strategy],
    }
    result = sim.api.run(sim.api.load(scenario), replications=replications)
    events = result.events
    done = events[~events["blocked"] & (events["mode"] != "exit")]
    n_years = result.yearly["year"].nunique()
    fit = result.fit.set_index("strategy").loc[strategy]
    return {
        "deals_per_year": len(done) / (replications * n_years),
        "control_share": float((done["mode"] == "control").mean()) if len(done) else 0.0,
        "count_score": float(fit["count_score"]),
    }


def explore(n_scenarios: int = 8, replications: int = 20, seed: int = 1) -> pd.DataFrame:
    """Sample the uncertainties (Latin hypercube) and run every strategy in each sample.

    Returns:
        One row per experiment: the uncertainties, the strategy and the outcomes.
    """
    with warnings.catch_warnings():  # EMA warns on import and from its own pandas calls
        warnings.simplefilter("ignore")
        import ema_workbench as ema

        model = ema.Model("sim", function=lambda **kw: sim_model(replications=replications, **kw))
        model.uncertainties = [
            ema.RealParameter("hurdle", 1.0, 5.0),
            ema.RealParameter("block_slope", 0.1, 0.6),
        ]
        model.levers = [
            ema.CategoricalParameter("strategy", [s["label"] for s in BASE["strategies"]])
        ]
        model.outcomes = [
            ema.ScalarOutcome("deals_per_year"),
            ema.ScalarOutcome("control_share"),
            ema.ScalarOutcome("count_score"),
        ]
        policies = [ema.Sample(s["label"], strategy=s["label"]) for s in BASE["strategies"]]
        with ema.SequentialEvaluator(model) as evaluator:
            experiments, outcomes = evaluator.perform_experiments(
                scenarios=n_scenarios,
                policies=policies,
                uncertainty_sampling_kwargs={"rng": np.random.default_rng(seed)},
            )
    table = experiments[["hurdle", "block_slope", "strategy"]].copy()
    table["strategy"] = table["strategy"].astype(str)
    for name, values in outcomes.items():
        table[name] = np.asarray(values, dtype=float)
    return table.reset_index(drop=True)


if __name__ == "__main__":
    table = explore()
    print(table.groupby("strategy")[["deals_per_year", "control_share", "count_score"]].mean())
    print(f"\n{len(table)} experiments; higher hurdle, fewer deals:")
    print(table[["hurdle", "deals_per_year"]].corr(method="spearman").iloc[0, 1].round(2))
