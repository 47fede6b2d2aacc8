"""Forecasts of the validation years from each model's posterior predictive, and their scores.

Each model's posterior for the record (ABC, calibration window only) is run forward over every
simulated year; the validation years are then scored with the proper scores of
:mod:`sim.calibration.objective` (counts per year, mix per event, with Monte Carlo standard
errors), beside the persistence forecast fitted on the calibration window, as paired differences.
The model-averaged forecast mixes the models' runs in proportion to their posterior probabilities.

Two tables (NOTES 3): **ex-ante** — covariates as known at the end of the calibration window: no
home-policy or host-barrier event dated later, no revenue of a fiscal year that ended later (the
model carries the last known revenue forward) — and **conditional** — the realised covariates.
Market indicators (GDP, population, internet use) are the realised series in both: older vintages of
them are not in the data, a limit the report states.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from sim.calibration.calibrate import persistence_validation
from sim.calibration.objective import WindowScores, record_window, score_window, window_stats
from sim.data.loaders import Dataset
from sim.inference.bank import Model
from sim.scenario import Scenario
from sim.world import World, build_world

TABLES = ("ex_ante", "conditional")
#: Runs of each model's posterior predictive.
PREDICTIVE_RUNS = 400
#: Bootstrap replicates of the Monte Carlo standard errors.
N_BOOT = 200
MIXTURE = "model_average"


def ex_ante(data: Dataset, last: int) -> Dataset:
    """The data as known at the end of year ``last`` (later events and revenue removed)."""
    end = f"{last}-12-31"
    home = data.home_policy
    return replace(
        data,
        home_policy=None if home is None else home[home["date"].astype(str) <= end],
        barriers=data.barriers[data.barriers["date"].astype(str) <= end],
        finance=data.finance[data.finance["period_end"].astype(str) <= end],
    )


def predictive(
    model: Model,
    world: World,
    posterior: np.ndarray,
    names: list[str],
    rng: np.random.Generator,
    runs: int = PREDICTIVE_RUNS,
) -> tuple[np.ndarray, np.ndarray]:
    """``runs`` histories over the world's years, parameters resampled from a posterior sample."""
    rows = rng.integers(0, len(posterior), size=runs)
    table = {name: posterior[rows, j] for j, name in enumerate(names)}
    return model.events(world, table, rng.spawn(runs))


def _row(label: str, table: str, s: WindowScores, base: WindowScores) -> dict[str, object]:
    def diff_se(a: float, b: float) -> float:
        return 0.0 if s is base else float(np.hypot(a, b))  # independent ensembles

    return {
        "model": label,
        "table": table,
        "count_score": s.counts.value,
        "count_se": s.counts.se,
        "mix_score": s.mix.value,
        "mix_se": s.mix.se,
        "count_diff_vs_persistence": s.counts.value - base.counts.value,
        "count_diff_se": diff_se(s.counts.se, base.counts.se),
        "mix_diff_vs_persistence": s.mix.value - base.mix.value,
        "mix_diff_se": diff_se(s.mix.se, base.mix.se),
    }


def forecast_scores(
    scenario: Scenario,
    data: Dataset,
    models: list[Model],
    posteriors: dict[str, np.ndarray],
    probabilities: dict[str, float],
    source: str,
) -> pd.DataFrame:
    """Scores of every model's (and the model average's) forecast of the validation years.

    Args:
        scenario: The scenario (its years and calibration windows).
        data: The data as loaded (the conditional table's covariates).
        models: The models compared.
        posteriors: Per model, posterior draws for the record, columns in prior order.
        probabilities: Per model, its posterior probability (weights of the model average).
        source: The scenario file, for messages.
    """
    window, validation = scenario.calibration.window, scenario.calibration.validation
    history = scenario.record(data)
    rows = []
    for table, covariates in zip(TABLES, (ex_ante(data, window[1]), data), strict=True):
        world = build_world(covariates, scenario, source=source)
        observed = record_window(history, world, validation)
        base = persistence_validation(scenario, world, history, 0, N_BOOT).out_of_sample
        rng = np.random.default_rng([scenario.seed, 31, TABLES.index(table)])
        pooled, pooled_runs, offset = [], [], 0
        for model in models:
            events, run = predictive(model, world, posteriors[model.label], list(model.priors), rng)
            sim = window_stats(events, run, PREDICTIVE_RUNS, world, validation)
            rows.append(_row(model.label, table, score_window(observed, sim, rng, N_BOOT), base))
            take = run < round(probabilities[model.label] * PREDICTIVE_RUNS)
            pooled.append(events[take])
            pooled_runs.append(run[take] + offset)
            offset += round(probabilities[model.label] * PREDICTIVE_RUNS)
        mixed = window_stats(
            np.concatenate(pooled), np.concatenate(pooled_runs), offset, world, validation
        )
        rows.append(_row(MIXTURE, table, score_window(observed, mixed, rng, N_BOOT), base))
        rows.append(_row("persistence", table, base, base))
    return pd.DataFrame(rows)
