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

A home-regime effect the calibration window cannot identify (no event of its kinds in the window,
e.g. platform regulation before 2020) is not in the posterior: each forecast run draws it from its
declared prior (``Firm.regime_priors``), and :func:`sensitivity` repeats the forecasts with it at
its prior's 10, 50 and 90 % quantiles, so that the reader sees how much of a conditional forecast
is that prior. :func:`regime_notes` names the years whose regime index leaves the window's range.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np
import pandas as pd

from sim.analysis.scores import count_log_score
from sim.calibration.calibrate import persistence_validation
from sim.calibration.objective import WindowScores, record_window, score_window, window_stats
from sim.data.loaders import Dataset
from sim.inference.bank import Model
from sim.scenario import Scenario
from sim.world import World, build_world, regime_outside

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
    fixed: Mapping[str, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``runs`` histories over the world's years, parameters resampled from a posterior sample.

    The model's unfitted effects are drawn from their priors, or held at ``fixed`` values (the
    draws are made either way, so that the runs are otherwise the same: common random numbers).
    """
    rows = rng.integers(0, len(posterior), size=runs)
    table = {name: posterior[rows, j] for j, name in enumerate(names)}
    for name, p in model.unfitted.items():
        table[name] = p.draw(rng, runs)
        if fixed is not None and name in fixed:
            table[name] = np.full(runs, fixed[name])
    return model.events(world, table, rng.spawn(runs))


def table_worlds(scenario: Scenario, data: Dataset, source: str) -> dict[str, World]:
    """The world of each forecast table: covariates as known at the window's end, and realised."""
    last = scenario.calibration.window[1]
    return {
        table: build_world(covariates, scenario, source=source)
        for table, covariates in zip(TABLES, (ex_ante(data, last), data), strict=True)
    }


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


#: Quantiles of the posterior predictive fan (``predictive.csv``, the fan figure).
FAN = (0.05, 0.25, 0.5, 0.75, 0.95)


def fan(
    label: str, table: str, events: np.ndarray, run: np.ndarray, n_runs: int, world: World
) -> pd.DataFrame:
    """Quantiles over runs of the yearly deal counts of every simulated year (one row a year)."""
    years = (int(world.years[0]), int(world.years[-1]))
    yearly = window_stats(events, run, n_runs, world, years).yearly
    q = np.quantile(yearly, FAN, axis=0)
    return pd.DataFrame(
        {"model": label, "table": table, "year": world.years}
        | {f"q{round(100 * f):02d}": q[i] for i, f in enumerate(FAN)}
    )


def forecast_scores(
    scenario: Scenario,
    data: Dataset,
    models: list[Model],
    posteriors: dict[str, np.ndarray],
    probabilities: dict[str, float],
    source: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scores of every model's (and the model average's) forecast of the validation years.

    Args:
        scenario: The scenario (its years and calibration windows).
        data: The data as loaded (the conditional table's covariates).
        models: The models compared.
        posteriors: Per model, posterior draws for the record, columns in prior order.
        probabilities: Per model, its posterior probability (weights of the model average).
        source: The scenario file, for messages.

    Returns:
        The scores, and the posterior predictive fans of every simulated year (:func:`fan`)
        beside the record's yearly counts (``record_count``).
    """
    validation = scenario.calibration.validation
    history = scenario.record(data)
    rows, fans = [], []
    for table, world in table_worlds(scenario, data, source).items():
        observed = record_window(history, world, validation)
        base = persistence_validation(scenario, world, history, 0, N_BOOT).out_of_sample
        rng = np.random.default_rng([scenario.seed, 31, TABLES.index(table)])
        pooled, pooled_runs, offset = [], [], 0
        for model in models:
            events, run = predictive(model, world, posteriors[model.label], list(model.priors), rng)
            sim = window_stats(events, run, PREDICTIVE_RUNS, world, validation)
            rows.append(_row(model.label, table, score_window(observed, sim, rng, N_BOOT), base))
            fans.append(fan(model.label, table, events, run, PREDICTIVE_RUNS, world))
            take = run < round(probabilities[model.label] * PREDICTIVE_RUNS)
            pooled.append(events[take])
            pooled_runs.append(run[take] + offset)
            offset += round(probabilities[model.label] * PREDICTIVE_RUNS)
        mixed = np.concatenate(pooled), np.concatenate(pooled_runs)
        scores = score_window(
            observed, window_stats(*mixed, offset, world, validation), rng, N_BOOT
        )
        rows.append(_row(MIXTURE, table, scores, base))
        rows.append(_row("persistence", table, base, base))
        fans.append(fan(MIXTURE, table, *mixed, offset, world))
    years = fans[0]["year"]
    actual = record_window(history, world, (int(years.min()), int(years.max()))).yearly[0]
    record = dict(zip(years, actual, strict=True))
    return pd.DataFrame(rows), pd.concat(fans).assign(record_count=lambda f: f["year"].map(record))


#: Quantiles of an unfitted effect's prior at which :func:`sensitivity` repeats the forecasts.
SENSITIVITY_LEVELS = {"low": 0.1, "central": 0.5, "high": 0.9}


def sensitivity(
    scenario: Scenario,
    data: Dataset,
    models: list[Model],
    posteriors: dict[str, np.ndarray],
    source: str,
) -> pd.DataFrame:
    """Each model's forecast of the validation years with its unfitted effects at prior quantiles.

    For every table and every model with unfitted effects (:class:`~sim.inference.bank.Model`),
    the posterior predictive is run again with those effects held at the 10, 50 and 90 %
    quantiles of their priors (all at the same quantile), on common random numbers, so the rows
    differ only by that prior. The ex-ante table holds no event after the window, so its rows
    should not move; the conditional table's spread is the forecast's dependence on the prior.

    Returns:
        One row per model, table and level: the effects' values, the simulated deals per
        validation year (mean over runs), the record's, and the count score with its SE.
    """
    validation = scenario.calibration.validation
    history = scenario.record(data)
    rows: list[dict[str, object]] = []
    for table, world in table_worlds(scenario, data, source).items():
        observed = record_window(history, world, validation)
        for model in (m for m in models if m.unfitted):
            for level, q in SENSITIVITY_LEVELS.items():
                fixed = {k: p.low + q * (p.high - p.low) for k, p in model.unfitted.items()}
                rng = np.random.default_rng([scenario.seed, 37, TABLES.index(table)])
                post = posteriors[model.label]
                events, run = predictive(model, world, post, list(model.priors), rng, fixed=fixed)
                sim = window_stats(events, run, PREDICTIVE_RUNS, world, validation)
                score = count_log_score(sim.yearly, observed.yearly[0], rng, n_boot=N_BOOT)
                rows.append(
                    {"model": model.label, "table": table, "level": level, "quantile": q}
                    | fixed
                    | {
                        "deals_per_year": float(sim.yearly.mean()),
                        "record_per_year": float(observed.yearly.mean()),
                        "count_score": score.value,
                        "count_se": score.se,
                    }
                )
    return pd.DataFrame(rows)


def sensitivity_markdown(frame: pd.DataFrame) -> list[str]:
    """The report's sensitivity section: the conditional forecasts at low, central and high.

    One row per model (deals per validation year and count score at each level); the ex-ante
    rows are summarised by their largest spread, which must be 0 (no event after the window).
    Nothing when no model has an unfitted effect.
    """
    if frame.empty:
        return []
    effects = [c for c in frame.columns if c.endswith("_effect")]
    levels = list(SENSITIVITY_LEVELS)
    cond = frame[frame["table"] == "conditional"]
    values = cond[cond["model"] == cond["model"].iloc[0]].set_index("level")[effects]
    wide = [
        cond.pivot(index="model", columns="level", values=column)[levels].add_prefix(prefix)
        for column, prefix in (("deals_per_year", "deals "), ("count_score", "score "))
    ]
    table = pd.concat(wide, axis=1).reindex(cond["model"].unique()).reset_index()
    spread = frame[frame["table"] == "ex_ante"].groupby("model")["deals_per_year"].agg(np.ptp)
    at = "; ".join(
        f"{level} {', '.join(f'{values.loc[level, e]:.3g}' for e in effects)}" for level in levels
    )
    return [
        "### Sensitivity of the conditional forecast to the prior of unidentified effects",
        "",
        f"Effects the calibration window cannot identify ({', '.join(effects)}) held at their "
        f"prior's 10, 50 and 90 % quantiles ({at}), common random numbers; deals per "
        f"validation year (record: {cond['record_per_year'].iloc[0]:.3g}) and count score. "
        f"Ex-ante forecasts: largest spread over the levels {spread.max():.3g} deals a year "
        "(0: they cannot depend on it). All rows: `forecast_sensitivity.csv`.",
        "",
        table.to_markdown(index=False, floatfmt=".3g"),
        "",
    ]


def regime_notes(scenario: Scenario, data: Dataset, source: str) -> list[str]:
    """Years where a regime index of the conditional forecast leaves the window's range."""
    world = build_world(data, scenario, source=source)
    return regime_outside(world, scenario.calibration.window)
