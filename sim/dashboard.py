"""The model behind the dashboard (``sim/app.py``): a scenario's world and two strategies, by name.

Kept free of UI imports so it can be built, stepped and tested anywhere. The scenario is a file
path (``scenario_file``); without one it comes from the environment variable
``SIM_DASHBOARD_SCENARIO`` (set by ``sim dashboard SCENARIO``), else ``scenarios/baseline.yaml``
next to the package, else a built-in list of every policy. :func:`shipped_scenarios` lists the
scenario files the dashboard's picker offers.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from sim.analysis.ensemble import compared_mask
from sim.data import Dataset
from sim.model import FirmAgent, InternationalizationModel, MarketAgent
from sim.policies import policy_names
from sim.policies.base import Policy, PolicyParams
from sim.policies.registry import load_plugin
from sim.scenario import Firm, Scenario, Strategy, load_scenario, parse_scenario
from sim.world import World, build_world

SCENARIO_ENV = "SIM_DASHBOARD_SCENARIO"
#: Comma-separated ``module:Class`` plug-ins the user passed to ``sim dashboard --plugin``.
PLUGINS_ENV = "SIM_DASHBOARD_PLUGINS"
SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios"
_BASELINE = SCENARIO_DIR / "baseline.yaml"


def _plugins() -> None:
    for spec in filter(None, os.environ.get(PLUGINS_ENV, "").split(",")):
        load_plugin(spec)


@lru_cache(maxsize=8)
def _load(path: str | None) -> tuple[Scenario, Dataset]:
    _plugins()
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
            Path("dashboard"),
        )
    return scenario, scenario.load_data(path or "dashboard")


@lru_cache(maxsize=16)
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
    """The scenario file named on the command line (None: the default)."""
    return os.environ.get(SCENARIO_ENV) or None


def shipped_scenarios() -> dict[str, str]:
    """The scenario picker's choices: name -> file, the command line's scenario first.

    The repository's ``scenarios/*.yaml`` that load (an installed wheel has none; then only the
    command line's scenario or the built-in default is offered).
    """
    out: dict[str, str] = {}
    given = scenario_path()
    if given:
        out[Path(given).stem] = str(Path(given).resolve())
    for path in sorted(SCENARIO_DIR.glob("*.yaml")) if SCENARIO_DIR.is_dir() else []:
        try:
            _load(str(path))
        except Exception:  # a broken file is not offered; the rest still are
            continue
        out.setdefault(path.stem, str(path))
    return out


def scenario_name(path: str | None = None) -> str:
    """The name of a scenario file (the default's when None)."""
    return _load(path or scenario_path())[0].name


def strategy_labels(path: str | None = None) -> list[str]:
    """Labels of a scenario's strategies (the strategy selectors' choices)."""
    return [s.label for s in _load(path or scenario_path())[0].strategies]


class DashboardModel(InternationalizationModel):
    """The internationalization model for the dashboard: a chosen strategy and a second one.

    The second strategy runs beside the first in a model of its own with the same seed (common
    random numbers), stepped in lockstep, so the two can be compared year by year. A Mesa
    ``DataCollector`` records, after every simulated year, the deals of both strategies and of
    the record in that year (model reporters) and the firm's cumulative deals, markets entered
    and integration load (agent-type reporters for :class:`~sim.model.FirmAgent`).

    Args:
        scenario_file: Path of the scenario (None: :func:`scenario_path` or the default).
        strategy: Label of one of the scenario's strategies (its policy and parameters).
        compare: Label of the strategy shown beside it (None: the scenario's second).
        hurdle: Overrides the outside option's utility (None: the strategy's own).
        beta_size: Overrides the weight on market size if the policy has one (None: its own).
        shocks: Whether the dated barrier events and the scenario's shocks apply.
        seed: Seed of both runs' random numbers.
        rng: A generator to use instead of ``seed`` (Mesa passes one on reset).
    """

    def __init__(
        self,
        scenario_file: str | None = None,
        strategy: str | None = None,
        compare: str | None = None,
        hurdle: float | None = None,
        beta_size: float | None = None,
        shocks: bool = True,
        seed: int = 0,
        rng: np.random.Generator | None = None,
    ) -> None:
        path = scenario_file or scenario_path() or (str(_BASELINE) if _BASELINE.is_file() else None)
        scenario, data = _load(path)
        chosen = _strategy(scenario, strategy)
        other = _strategy(scenario, compare, default=min(1, len(scenario.strategies) - 1))
        policy, firm = _configured(scenario, chosen, hurdle, beta_size)
        self.scenario_file = path
        self.scenario_name = scenario.name
        self.strategy_label = chosen.label
        self.compare_label = other.label
        #: The compared run's name in tables and legends (distinct when both are one strategy).
        self.compare_name = other.label if other.label != chosen.label else f"{other.label} (2nd)"
        self.settings = (chosen.label, other.label, hurdle, beta_size, shocks, seed)
        self.history = scenario.record(data)
        world = _world(path, shocks)
        super().__init__(
            world, policy, firm, rng=np.random.default_rng(seed) if rng is None else rng
        )
        rival_policy, rival_firm = _configured(scenario, other, hurdle, beta_size)
        self.rival = InternationalizationModel(
            world, rival_policy, rival_firm, rng=np.random.default_rng(seed)
        )
        record = self.history["year"].value_counts()
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "year": lambda m: m.last_year,
                chosen.label: lambda m: m.year_deals(m),
                self.compare_name: lambda m: m.year_deals(m.rival),
                "record": lambda m: int(record.get(m.last_year, 0)),
            },
            agenttype_reporters={
                FirmAgent: {
                    "deals so far": lambda a: int(a.deals.sum()),
                    "markets entered": lambda a: int((a.commitment > 0).sum()),
                    "integration load": "load",
                }
            },
        )

    @property
    def last_year(self) -> int:
        """The most recently simulated year (the first year before any step)."""
        return int(self.world.years[min(max(self.steps - 1, 0), self.world.n_years - 1)])

    @property
    def years_done(self) -> int:
        """How many years have been simulated."""
        return min(self.steps, self.world.n_years)

    def step(self) -> None:
        """Advance both strategies one year and record the year; stop after the last year."""
        if not self.running:
            return
        super().step()
        self.rival.step()
        self.datacollector.collect(self)

    @staticmethod
    def year_deals(model: InternationalizationModel) -> int:
        """A model's attempted deals in its most recent step's year."""
        ev = compared_events(model)
        if not model.steps or not ev.size:
            return 0
        year = int(model.world.years[min(model.steps, model.world.n_years) - 1])
        return int((ev["year"] == year).sum())

    def yearly(self) -> pd.DataFrame:
        """Deals per simulated year of both strategies and the record (the collector's rows)."""
        return self.datacollector.get_model_vars_dataframe()

    def market_counts(self, first: int, last: int) -> dict[str, np.ndarray]:
        """Deals per market in years ``first``..``last``: both strategies (so far) and the record.

        Returns:
            Label -> counts in ``world.iso3`` order; the record under ``"record"``.
        """
        n = len(self.world.iso3)
        out: dict[str, np.ndarray] = {}
        for label, model in ((self.strategy_label, self), (self.compare_name, self.rival)):
            ev = compared_events(model)
            keep = (ev["year"] >= first) & (ev["year"] <= last)
            out[label] = np.bincount(ev["market"][keep], minlength=n)
        hist = self.history[(self.history["year"] >= first) & (self.history["year"] <= last)]
        out["record"] = (
            hist["country_iso3"].value_counts().reindex(list(self.world.iso3), fill_value=0)
        ).to_numpy()
        return out

    def deals(self, model: InternationalizationModel | None = None) -> pd.DataFrame:
        """A run's attempted deals so far, readable (this strategy's unless ``model`` is given)."""
        from sim.analysis.ensemble import tidy_events
        from sim.events import with_run_ids

        model = self if model is None else model
        label = self.strategy_label if model is self else self.compare_name
        done = compared_events(model)
        ev = with_run_ids(done, 0, 0, np.zeros(done.size, dtype=np.int32))
        return tidy_events(ev, (label,), self.world)

    def ensemble_yearly(self, runs: int = 200) -> dict[str, np.ndarray]:
        """Deals per year of ``runs`` batched runs of each shown strategy, (runs, years) each."""
        return _ensemble(self.scenario_file, self.settings, runs)


#: What the market view shows of a market agent: its attribute and how it is labelled.
MARKET_ATTRIBUTES = (
    ("region", "region"),
    ("mature", "mature (else emerging)"),
    ("distance", "geographic distance from home (0-1)"),
    ("culture", "cultural distance from home (0-1)"),
    ("maturity", "maturity (0-1)"),
    ("growth", "growth (scaled)"),
    ("size", "size (log GDP / largest)"),
    ("barriers", "barriers (data and dated events)"),
    ("screening", "host screening (response to the firm)"),
    ("block_probability", "P(a deal is blocked)"),
    ("commitment", "firm's commitment (0 none ... 4 greenfield)"),
    ("experience", "firm's experience"),
    ("deals", "firm's completed deals"),
    ("sensitive_deals", "of which in sensitive industries"),
)


def market_agent(model: InternationalizationModel, iso3: str) -> MarketAgent:
    """The market agent of a country, from the model's own agent set of markets."""
    return next(a for a in model.markets if a.iso3 == iso3)


def market_profile(model: InternationalizationModel, iso3: str) -> pd.DataFrame:
    """A market agent's attributes in the model's current year, one row each, as text."""
    agent = market_agent(model, iso3)
    rows = []
    for name, label in MARKET_ATTRIBUTES:
        value = getattr(agent, name)
        rows.append((label, f"{value:.3f}" if isinstance(value, float) else str(value)))
    return pd.DataFrame(rows, columns=["attribute", "value"])


def market_history(model: DashboardModel, iso3: str) -> pd.DataFrame:
    """The firm's events in a market so far (deal attempts and exits), readable."""
    from sim.analysis.ensemble import tidy_events
    from sim.events import with_run_ids

    ev = market_agent(model, iso3).history
    rows = with_run_ids(ev, 0, 0, np.zeros(ev.size, dtype=np.int32))
    return tidy_events(rows, (model.strategy_label,), model.world)


def compared_events(model: InternationalizationModel) -> np.ndarray:
    """A run's events of the modes the scenario compares with the record (as the record is cut)."""
    return model.events[compared_mask(model.events, model.world)]


def _configured(
    scenario: Scenario, strategy: Strategy, hurdle: float | None, beta_size: float | None
) -> tuple[Policy[PolicyParams], Firm]:
    """A strategy's policy and firm with the dashboard's hurdle and size weight applied."""
    cls = strategy.policy_class()
    params = dict(strategy.params)
    if beta_size is not None and "beta_size" in cls.Params.model_fields:
        params["beta_size"] = beta_size
    firm = strategy.firm_for(scenario.firm)
    if hurdle is not None:
        firm = firm.model_copy(update={"hurdle": hurdle})
    return cls(cls.Params(**params)), firm


def has_size_weight(model: InternationalizationModel) -> bool:
    """Whether the model's policy has a weight on market size the dashboard can set."""
    return "beta_size" in type(model.firm.policy.params).model_fields


def _strategy(scenario: Scenario, label: str | None, default: int = 0) -> Strategy:
    labels = [s.label for s in scenario.strategies]
    return scenario.strategies[labels.index(label) if label in labels else default]


@lru_cache(maxsize=16)
def _ensemble(path: str | None, settings: tuple[Any, ...], runs: int) -> dict[str, np.ndarray]:
    """Batched runs of the chosen and the compared strategy under the dashboard's settings."""
    from sim.experiment.runner import run_block

    label, compare, hurdle, beta_size, shocks, seed = settings
    scenario, _ = _load(path)
    world = _world(path, shocks)
    out = {}
    for name in dict.fromkeys([label, compare]):
        policy, firm = _configured(scenario, _strategy(scenario, name), hurdle, beta_size)
        ev = run_block(world, policy, firm, seed, 0, 0, range(runs), name)
        ev = ev[compared_mask(ev, world)]
        yearly = np.zeros((runs, world.n_years))
        np.add.at(yearly, (ev["replication"], ev["year"] - world.years[0]), 1)
        out[name] = yearly
    return out
