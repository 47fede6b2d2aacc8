"""The model behind the dashboard (``sim/app.py``): a scenario's world and strategies, by name.

Kept free of UI imports so it can be built and stepped anywhere. The scenario comes from the
environment variable ``SIM_DASHBOARD_SCENARIO`` (set by ``sim dashboard SCENARIO``) or defaults
to ``scenarios/baseline.yaml`` next to the package, else a built-in list of every policy.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from sim.data import Dataset, load_dataset
from sim.data.taxonomy import in_history
from sim.model import InternationalizationModel
from sim.policies import policy_names
from sim.policies.base import Policy, PolicyParams
from sim.scenario import Firm, Scenario, Strategy, load_plugin, load_scenario, parse_scenario
from sim.world import World, build_world

SCENARIO_ENV = "SIM_DASHBOARD_SCENARIO"
#: Comma-separated ``module:Class`` plug-ins the user passed to ``sim dashboard --plugin``.
PLUGINS_ENV = "SIM_DASHBOARD_PLUGINS"
_BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"


@lru_cache(maxsize=4)
def _load(path: str | None) -> tuple[Scenario, Dataset]:
    for spec in filter(None, os.environ.get(PLUGINS_ENV, "").split(",")):
        load_plugin(spec)
    if path:
        scenario = load_scenario(path)
    elif _BASELINE.is_file():
        scenario = load_scenario(_BASELINE)
    else:  # an installed wheel without the repository's scenarios
        scenario = parse_scenario(
            {
                "name": "dashboard",
                "strategies": [{"label": p, "policy": p} for p in policy_names()],
            },
            "dashboard",
        )
    return scenario, load_dataset(scenario.data_paths())


@lru_cache(maxsize=8)
def _world(path: str | None, shocks: bool) -> World:
    scenario, data = _load(path)
    if not shocks:
        scenario = scenario.model_copy(update={"shocks": []})
        data = Dataset(
            data.events,
            data.markets,
            data.indicators,
            data.barriers.iloc[:0],
            data.finance,
            data.home_policy,
        )
    return build_world(data, scenario)


def scenario_path() -> str | None:
    """The scenario file the dashboard shows (None: the default)."""
    return os.environ.get(SCENARIO_ENV) or None


def strategy_labels() -> list[str]:
    """Labels of the scenario's strategies (the policy selector's choices)."""
    return [s.label for s in _load(scenario_path())[0].strategies]


class DashboardModel(InternationalizationModel):
    """The internationalization model, parameterised by plain values a dashboard can set.

    Args:
        strategy: Label of one of the scenario's strategies (its policy and parameters).
        compare: Label of a second strategy shown beside it in the ensemble view.
        hurdle: Overrides the outside option's utility (higher: fewer deals a year).
        beta_size: Overrides the weight on market size (if the policy has one).
        shocks: Whether the dated barrier events and the scenario's shocks apply.
        seed: Seed of the run's random numbers.
    """

    def __init__(
        self,
        strategy: str | None = None,
        compare: str | None = None,
        hurdle: float | None = None,
        beta_size: float = 1.0,
        shocks: bool = True,
        seed: int = 0,
        rng=None,
    ) -> None:
        path = scenario_path()
        scenario, data = _load(path)
        chosen = _strategy(scenario, strategy)
        policy, firm = _configured(scenario, chosen, hurdle, beta_size)
        self.strategy_label = chosen.label
        self.compare_label = _strategy(scenario, compare).label if compare else chosen.label
        self.settings = (chosen.label, self.compare_label, hurdle, beta_size, shocks, seed)
        self.history = in_history(data.events, scenario.history.scope, scenario.history.modes)
        super().__init__(
            _world(path, shocks),
            policy,
            firm,
            rng=np.random.default_rng(seed) if rng is None else rng,
        )

    def deals(self) -> pd.DataFrame:
        """This run's attempted deals so far, readable."""
        from sim.analysis.ensemble import tidy_events
        from sim.events import with_run_ids

        ev = with_run_ids(self.events, 0, 0, np.zeros(self.events.size, dtype=np.int32))
        return tidy_events(ev, (self.strategy_label,), self.world)

    def ensemble_yearly(self, runs: int = 200) -> dict[str, np.ndarray]:
        """Deals per year of ``runs`` batched runs of each shown strategy, (runs, years) each."""
        return _ensemble(scenario_path(), self.settings, runs)


def _configured(
    scenario: Scenario, strategy: Strategy, hurdle: float | None, beta_size: float
) -> tuple[Policy[PolicyParams], Firm]:
    """A strategy's policy and firm with the dashboard's hurdle and size weight applied."""
    cls = strategy.policy_class()
    params = dict(strategy.params)
    if "beta_size" in cls.Params.model_fields:
        params["beta_size"] = beta_size
    firm = strategy.firm_for(scenario.firm)
    if hurdle is not None:
        firm = firm.model_copy(update={"hurdle": hurdle})
    return cls(cls.Params(**params)), firm


def _strategy(scenario: Scenario, label: str | None) -> Strategy:
    labels = [s.label for s in scenario.strategies]
    return scenario.strategies[labels.index(label) if label in labels else 0]


@lru_cache(maxsize=16)
def _ensemble(path: str | None, settings: tuple, runs: int) -> dict[str, np.ndarray]:
    """Batched runs of the chosen and the compared strategy under the dashboard's settings."""
    from sim.experiment.runner import run_block

    label, compare, hurdle, beta_size, shocks, seed = settings
    scenario, _ = _load(path)
    world = _world(path, shocks)
    out = {}
    for name in dict.fromkeys([label, compare]):
        policy, firm = _configured(scenario, _strategy(scenario, name), hurdle, beta_size)
        ev = run_block(world, policy, firm, seed, 0, 0, range(runs), name)
        yearly = np.zeros((runs, world.n_years))
        np.add.at(yearly, (ev["replication"], ev["year"] - world.years[0]), 1)
        out[name] = yearly
    return out


def policy_of(label: str) -> str:
    """The policy name behind a strategy label."""
    scenario, _ = _load(scenario_path())
    return next(s.policy for s in scenario.strategies if s.label == label)


def model_params() -> dict:
    """SolaraViz controls: strategy, compared strategy, hurdle, size weight, shocks, seed."""
    labels = strategy_labels()
    scenario, _ = _load(scenario_path())
    return {
        "strategy": {
            "type": "Select",
            "value": labels[0],
            "values": labels,
            "label": "Strategy (policy)",
        },
        "compare": {
            "type": "Select",
            "value": labels[min(1, len(labels) - 1)],
            "values": labels,
            "label": "Compare with (ensemble view)",
        },
        "hurdle": {
            "type": "SliderFloat",
            "value": float(scenario.firm.hurdle),
            "min": -2.0,
            "max": 8.0,
            "step": 0.25,
            "label": "Hurdle of a deal (higher: fewer deals)",
        },
        "beta_size": {
            "type": "SliderFloat",
            "value": 1.0,
            "min": 0.0,
            "max": 3.0,
            "step": 0.1,
            "label": "Weight on market size",
        },
        "shocks": {"type": "Checkbox", "value": True, "label": "Barrier events and shocks"},
        "seed": {"type": "SliderInt", "value": 0, "min": 0, "max": 999, "step": 1, "label": "Seed"},
    }
