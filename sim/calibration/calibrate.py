"""``sim calibrate``: fit every strategy with the same budget, validate out of sample, report.

Each strategy's free parameters (every bounded float parameter of its policy, or the subset named
in ``calibration.parameters``) are fitted by optuna's TPE sampler to the record of the calibration
window, with the same number of trials and runs per trial for every strategy, once per
calibration seed. Studies live in an SQLite file, so an interrupted calibration continues where it
stopped. Each fitted strategy is then run afresh and scored on the calibration window (in-sample),
on the validation window (out of sample) and on the held-out patterns.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd

from sim.analysis.ensemble import encode_record, summarise_runs
from sim.data.taxonomy import in_scope
from sim.calibration.heldout import held_out_table, held_out_values
from sim.calibration.objective import loss, record_window, simulate, window_stats
from sim.data import Dataset
from sim.scenario import FITTED_FIRM_FIELDS, Firm, Scenario, Strategy
from sim.world import World, build_world

#: Seed offset of the validation runs, so they never reuse a calibration run's random numbers.
VALIDATION_SEED_OFFSET = 1_000_003


@dataclass
class Fit:
    """One strategy fitted with one calibration seed."""

    label: str
    seed: int
    free: list[str]
    params: dict[str, Any]
    best_loss: float
    trials: pd.DataFrame = field(repr=False)


def free_parameters(strategy: Strategy, scenario: Scenario) -> list[tuple[str, float, float]]:
    """The (name, low, high) of every parameter calibration may move for this strategy.

    By default: every bounded float of the policy plus the firm-level count machinery
    (:data:`~sim.scenario.FITTED_FIRM_FIELDS`, named ``firm.<field>``), the same for every
    strategy. ``calibration.parameters`` may list a subset per strategy label.
    """
    cls = strategy.policy_class()
    if cls.matches_record_counts:
        return []  # the oracle copies the record's counts; nothing to fit
    wanted = scenario.calibration.parameters.get(strategy.label)
    firm_bounds = Firm.bounds()
    candidates = [(n, *b) for n, b in cls.Params.bounds().items()] + [
        (f"firm.{n}", *firm_bounds[n]) for n in FITTED_FIRM_FIELDS
    ]
    return [c for c in candidates if wanted is None or c[0] in wanted]


def split_params(params: dict[str, Any], firm: Firm) -> tuple[dict[str, Any], Firm]:
    """Policy parameters and the firm with its ``firm.<field>`` values applied."""
    firm_values = {k[5:]: v for k, v in params.items() if k.startswith("firm.")}
    policy_values = {k: v for k, v in params.items() if not k.startswith("firm.")}
    return policy_values, firm.model_copy(update=firm_values) if firm_values else firm


def _study(storage: str, name: str, seed: int) -> optuna.Study:
    optuna.logging.set_verbosity(logging.WARNING)
    return optuna.create_study(
        study_name=name,
        storage=storage,
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        load_if_exists=True,
    )


def fit_strategy(
    scenario: Scenario,
    world: World,
    observed,
    s: int,
    seed: int,
    storage: str,
    trials: int,
    replications: int,
) -> Fit:
    """Fit one strategy with one seed (continuing a stored study if there is one)."""
    strategy = scenario.strategies[s]
    cls = strategy.policy_class()
    cal = scenario.calibration
    free = free_parameters(strategy, scenario)

    def evaluate(params: dict[str, Any]) -> float:
        policy_values, firm = split_params(params, scenario.firm)
        policy = cls(cls.Params(**policy_values))
        events, run = simulate(world, policy, firm, seed, strategy.label, replications)
        return loss(
            observed, window_stats(events, run, replications, world, cal.window), cal.weights
        )

    if not free:
        value = evaluate(dict(strategy.params))
        table = pd.DataFrame({"trial": [0], "loss": [value]})
        return Fit(strategy.label, seed, [], dict(strategy.params), value, table)

    study = _study(storage, f"{scenario.name}:{strategy.label}:seed{seed}", seed)

    def objective(trial: optuna.Trial) -> float:
        params = dict(strategy.params)
        for name, lo, hi in free:
            params[name] = trial.suggest_float(name, lo, hi)
        return evaluate(params)

    done = sum(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    if done < trials:
        study.optimize(objective, n_trials=trials - done)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE][:trials]
    table = pd.DataFrame([{"trial": t.number, "loss": t.value, **t.params} for t in complete])
    best = min(complete, key=lambda t: t.value)
    return Fit(
        strategy.label,
        seed,
        [n for n, _, _ in free],
        {**strategy.params, **best.params},
        float(best.value),
        table,
    )


def near_best(fit: Fit) -> dict[str, tuple[float, float, float]]:
    """Median and 5-95 % of each free parameter over the best tenth of trials (at least 3)."""
    if not fit.free:
        return {}
    top = fit.trials.nsmallest(max(3, len(fit.trials) // 10), "loss")
    return {n: tuple(np.percentile(top[n], [50, 5, 95])) for n in fit.free}


@dataclass
class Validation:
    """A fitted strategy run afresh: losses in and out of sample, held-out patterns."""

    label: str
    seed: int
    in_sample: float
    out_of_sample: float
    held_out: pd.DataFrame


def validate(
    scenario: Scenario, world: World, history: pd.DataFrame, fit: Fit, s: int
) -> Validation:
    """Run a fitted strategy ``validation_replications`` times and score it."""
    cal = scenario.calibration
    strategy = scenario.strategies[s]
    cls = strategy.policy_class()
    n = cal.validation_replications
    policy_values, firm = split_params(fit.params, scenario.firm)
    events, run = simulate(
        world,
        cls(cls.Params(**policy_values)),
        firm,
        scenario.seed + VALIDATION_SEED_OFFSET + fit.seed,
        strategy.label,
        n,
    )
    ins = loss(
        record_window(history, world, cal.window),
        window_stats(events, run, n, world, cal.window),
        cal.weights,
    )
    oos = loss(
        record_window(history, world, cal.validation),
        window_stats(events, run, n, world, cal.validation),
        cal.weights,
    )
    full = summarise_runs(events, run, n, world)
    record = encode_record(history, world)
    observed = summarise_runs(record, np.zeros(record.shape[0], dtype=np.int64), 1, world)
    table = held_out_table(held_out_values(observed, world).iloc[0], held_out_values(full, world))
    return Validation(fit.label, fit.seed, ins, oos, table)


@dataclass
class Calibration:
    """Everything a calibration produced."""

    fits: list[Fit]
    validations: list[Validation]
    world: World
    history: pd.DataFrame


def calibrate(
    scenario: Scenario,
    data: Dataset,
    storage: str,
    trials: int | None = None,
    replications: int | None = None,
    seeds: list[int] | None = None,
    source: str = "scenario",
    progress=None,
) -> Calibration:
    """Fit and validate every strategy of the scenario for every calibration seed."""
    cal = scenario.calibration
    trials = trials or cal.trials
    replications = replications or cal.replications
    world = build_world(data, scenario, source)
    history = in_scope(data.events, scenario.history.scope)
    observed = record_window(history, world, cal.window)  # the only record the fit sees
    fits, validations = [], []
    for seed in seeds or cal.seeds:
        for s in range(len(scenario.strategies)):
            fit = fit_strategy(scenario, world, observed, s, seed, storage, trials, replications)
            fits.append(fit)
            validations.append(validate(scenario, world, history, fit, s))
            if progress is not None:
                progress(fit)
    return Calibration(fits, validations, world, history)


def ranking(result: Calibration) -> pd.DataFrame:
    """Per strategy: losses in and out of sample (mean over seeds, with range), held-out hits."""
    rows = []
    for v in result.validations:
        rows.append(
            {
                "strategy": v.label,
                "seed": v.seed,
                "in_sample": v.in_sample,
                "out_of_sample": v.out_of_sample,
                "held_out_hit": int(v.held_out["hit"].sum()),
                "held_out_total": len(v.held_out),
            }
        )
    per_seed = pd.DataFrame(rows)
    per_seed["oos_rank"] = per_seed.groupby("seed")["out_of_sample"].rank(method="min")
    summary = (
        per_seed.groupby("strategy", sort=False)
        .agg(
            in_sample=("in_sample", "mean"),
            out_of_sample=("out_of_sample", "mean"),
            oos_min=("out_of_sample", "min"),
            oos_max=("out_of_sample", "max"),
            oos_ranks=("oos_rank", lambda r: " ".join(str(int(x)) for x in r)),
            held_out_hit=("held_out_hit", "mean"),
            held_out_total=("held_out_total", "first"),
        )
        .reset_index()
    )
    return summary.sort_values("out_of_sample").reset_index(drop=True), per_seed


def verdict(summary: pd.DataFrame, per_seed: pd.DataFrame, copied: frozenset[str]) -> str:
    """A plain statement of how strong the evidence for the best theory is.

    Strategies that copy the record's yearly counts (the null model) are left out of the
    comparison: their count term uses the record, including the validation years.
    """
    theories = summary[~summary["strategy"].isin(copied)].reset_index(drop=True)
    note = ""
    if copied:
        note = (
            f" ({', '.join(sorted(copied))} copies the record's yearly counts, validation "
            "years included, so its losses are not comparable and it is left out.)"
        )
    if len(theories) < 2:
        return "Fewer than two theories were calibrated; there is nothing to rank." + note
    best, second = theories.iloc[0], theories.iloc[1]
    ranks = per_seed[~per_seed["strategy"].isin(copied)].copy()
    ranks["rank"] = ranks.groupby("seed")["out_of_sample"].rank(method="min")
    first_everywhere = bool((ranks[ranks["strategy"] == best["strategy"]]["rank"] == 1).all())
    gap = second["out_of_sample"] - best["out_of_sample"]
    spread = max(best["oos_max"] - best["oos_min"], second["oos_max"] - second["oos_min"])
    if first_everywhere and gap > spread:
        return (
            f"**{best['strategy']}** explains the out-of-sample years best: it ranks first "
            f"among the theories for every calibration seed and its mean out-of-sample loss "
            f"is lower than **{second['strategy']}**'s by {gap:.1f}, more than the spread "
            f"across seeds ({spread:.1f}). The evidence favours it, on this record and these "
            f"patterns." + note
        )
    reasons = []
    if not first_everywhere:
        reasons.append("it does not rank first for every calibration seed")
    if gap <= spread:
        reasons.append(
            f"its lead over **{second['strategy']}** ({gap:.1f}) is within the "
            f"spread across calibration seeds ({spread:.1f})"
        )
    return (
        f"No policy is distinguishable: **{best['strategy']}** has the lowest mean "
        f"out-of-sample loss, but {' and '.join(reasons)}. The record is too short to "
        "separate them on these patterns." + note
    )
