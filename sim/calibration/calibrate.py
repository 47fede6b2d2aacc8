"""``sim calibrate``: fit every strategy with the same budget, score it honestly, say what it shows.

Each strategy's free parameters (every bounded float of its policy plus the firm-level count
machinery, or the subset named in ``calibration.parameters``) are fitted by optuna's TPE sampler
to the record of the calibration window, with the same trials and runs per trial for every
strategy, once per calibration seed. Within a study every trial uses the same runs' random
numbers (common random numbers), so trials differ by their parameters only. Studies live in an
SQLite file, so an interrupted calibration continues where it stopped.

Each fitted strategy is then run afresh (unused seeds) and scored with proper scores and their
Monte Carlo standard errors: counts per year and mixes per event, in sample and out of sample
(:mod:`sim.calibration.objective`), beside the persistence forecast fitted on the calibration
window only (:mod:`sim.analysis.persistence`). Held-out patterns get Monte Carlo p-values and a
joint test calibrated by simulation (:mod:`sim.analysis.pattern_tests`), and the record's values
a bootstrap standard error. The record-copying oracle is never ranked.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from tqdm import tqdm

from sim.analysis.ensemble import COMPARE_MODES, encode_record, mode_columns, summarise_runs
from sim.analysis.pattern_tests import joint_pattern_test, pattern_pvalues
from sim.analysis.persistence import PersistenceForecast
from sim.calibration.heldout import HELD_OUT, held_out_values
from sim.calibration.objective import (
    WindowScores,
    WindowStats,
    record_window,
    score_window,
    simulate,
    window_stats,
)
from sim.data import Dataset
from sim.data.loaders import DATA_FILES
from sim.experiment.evaluator import evaluator_for
from sim.experiment.store import code_version
from sim.scenario import FITTED_FIRM_FIELDS, REGIME_EFFECT_FIELDS, Firm, Scenario, Strategy
from sim.world import World, build_world, identified_effects

log = logging.getLogger(__name__)

#: Seed offset of the validation runs, so they never reuse a calibration run's random numbers.
VALIDATION_SEED_OFFSET = 1_000_003
#: Bootstrap replicates behind every reported standard error.
N_BOOT = 200
#: Label of the persistence forecast in tables.
PERSISTENCE = "persistence"


@dataclass
class Fit:
    """One strategy fitted with one calibration seed."""

    label: str
    seed: int
    free: list[str]
    params: dict[str, Any]
    best_loss: float
    trials: pd.DataFrame = field(repr=False)

    def policy_params(self) -> dict[str, Any]:
        """The fitted policy parameters (without ``firm.`` fields)."""
        return {k: v for k, v in self.params.items() if not k.startswith("firm.")}

    def firm_params(self) -> dict[str, Any]:
        """The fitted firm fields, by field name."""
        return {k[5:]: v for k, v in self.params.items() if k.startswith("firm.")}


def free_parameters(
    strategy: Strategy, scenario: Scenario, identified: Collection[str] | None = None
) -> list[tuple[str, float, float]]:
    """The (name, low, high) of every parameter calibration may move for this strategy.

    By default: every bounded float of the policy plus the firm-level count machinery
    (:data:`~sim.scenario.FITTED_FIRM_FIELDS`, named ``firm.<field>``), the same for every
    strategy, with the record's modes deciding two things (docs/ODD.md 7.10): a policy's greenfield
    preferences (parameters named ``*greenfield*``) move only when the history compares
    greenfield, since otherwise the record says nothing of them and a free greenfield preference
    would only siphon opportunities out of the counted deals; ``firm.exit_propensity`` moves
    only when the history compares exits. ``calibration.parameters`` may list any subset per
    strategy label, and then nothing is left out.

    The home-regime effects (:data:`~sim.scenario.REGIME_EFFECT_FIELDS`) move only when the
    calibration window moves their index: ``identified`` names those
    (:func:`sim.world.identified_effects`; ``None``: the outbound regime's
    ``home_policy_effect`` alone). The others keep the firm's value (by default the centre
    of their declared prior, ``Firm.regime_priors``), even when ``calibration.parameters``
    lists them.
    """
    cls = strategy.policy_class()
    if cls.matches_record_counts:
        return []  # the oracle copies the record's counts; nothing to fit
    wanted = scenario.calibration.parameters.get(strategy.label)
    firm_bounds = Firm.bounds()
    effects = ("home_policy_effect",) if identified is None else tuple(identified)
    firm_fields = [f for f in FITTED_FIRM_FIELDS if f not in REGIME_EFFECT_FIELDS or f in effects]
    firm_fields += [f for f in effects if f not in firm_fields]
    if "exit" in scenario.history.modes or (wanted and "firm.exit_propensity" in wanted):
        firm_fields.append("exit_propensity")
    candidates = [(n, *b) for n, b in cls.Params.bounds().items()] + [
        (f"firm.{n}", *firm_bounds[n]) for n in firm_fields
    ]
    if wanted is not None:
        return [c for c in candidates if c[0] in wanted]
    seen_greenfield = "greenfield" in scenario.history.modes
    return [c for c in candidates if seen_greenfield or "greenfield" not in c[0]]


def split_params(params: dict[str, Any], firm: Firm) -> tuple[dict[str, Any], Firm]:
    """Policy parameters and the firm with its ``firm.<field>`` values applied."""
    firm_values = {k[5:]: v for k, v in params.items() if k.startswith("firm.")}
    policy_values = {k: v for k, v in params.items() if not k.startswith("firm.")}
    return policy_values, firm.model_copy(update=firm_values) if firm_values else firm


def open_storage(spec: str | None) -> optuna.storages.BaseStorage | str | None:
    """Where studies live: in memory, in a journal file, or at an optuna storage URL.

    ``None`` or ``":memory:"``: in memory; a ``*.journal`` path: optuna's journal storage
    (appends, fast, resumable); anything else: an optuna storage URL (e.g. SQLite).

    The journal file is several times faster than SQLite per trial, which matters when a trial
    itself takes a few milliseconds.
    """
    if spec is None or spec in {":memory:", "sqlite:///:memory:"}:
        return None
    if spec.endswith(".journal"):
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        return JournalStorage(JournalFileBackend(spec))
    return spec


def study_key(scenario: Scenario) -> str:
    """A hash of everything a study's losses depend on: scenario, data files and model code.

    Part of every study's name, so a stored study is continued only by the same computation;
    after a change of model code, data or scenario a fresh study starts beside the old one
    (a resumed study must never mix losses of two models). The trial budget is left out, so a
    larger ``trials`` continues a study.
    """
    config = scenario.model_dump(mode="json")
    config["calibration"].pop("trials", None)
    config["calibration"].pop("validation_replications", None)
    config.pop("sensitivity", None)
    profile = scenario.firm_profile()
    paths = scenario.data_paths()
    found = (paths.resolve(n, profile) for n in DATA_FILES)
    files = [profile.path("profile.yaml"), *(f for f in found if f is not None)]
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode())
    for path in files:
        digest.update(Path(path).read_bytes())
    digest.update(code_version().encode())
    return digest.hexdigest()[:12]


def _study(storage: str | None, name: str, seed: int) -> optuna.Study:
    return optuna.create_study(
        study_name=name,
        storage=open_storage(storage),
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        load_if_exists=True,
    )


def fit_strategy(
    scenario: Scenario,
    world: World,
    observed: WindowStats,
    s: int,
    seed: int,
    storage: str | None,
    trials: int,
    replications: int,
) -> Fit:
    """Fit one strategy with one seed (continuing a stored study if there is one)."""
    strategy = scenario.strategies[s]
    cls = strategy.policy_class()
    cal = scenario.calibration
    free = free_parameters(strategy, scenario, identified_effects(world, cal.window))
    base_firm = strategy.firm_for(scenario.firm)

    def evaluate(params: dict[str, Any]) -> float:
        policy_values, firm = split_params(params, base_firm)
        policy = cls(cls.Params(**policy_values))
        events, run = simulate(world, policy, firm, seed, strategy.label, replications)
        simulated = window_stats(events, run, replications, world, cal.window)
        return score_window(observed, simulated).loss(cal.weights)

    if not free:
        value = evaluate(dict(strategy.params))
        table = pd.DataFrame({"trial": [0], "loss": [value]})
        return Fit(strategy.label, seed, [], dict(strategy.params), value, table)

    study = _study(
        storage, f"{scenario.name}:{strategy.label}:seed{seed}:{study_key(scenario)}", seed
    )

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
    best = min(complete, key=_loss)
    return Fit(
        strategy.label,
        seed,
        [n for n, _, _ in free],
        {**strategy.params, **best.params},
        float(_loss(best)),
        table,
    )


def _loss(trial: optuna.trial.FrozenTrial) -> float:
    """A complete trial's loss (optuna types ``value`` as optional: unfinished trials have none)."""
    if trial.value is None:
        raise ValueError(f"trial {trial.number} has no value")
    return trial.value


def near_best(fit: Fit) -> dict[str, tuple[float, float, float]]:
    """Median and 5-95 % of each free parameter over the best tenth of trials (at least 3)."""
    if not fit.free:
        return {}
    top = fit.trials.nsmallest(max(3, len(fit.trials) // 10), "loss")
    return {n: tuple(np.percentile(top[n], [50, 5, 95])) for n in fit.free}


@dataclass
class Validation:
    """A fitted strategy (or the persistence forecast) run afresh and scored.

    Attributes:
        label: Strategy label.
        seed: Calibration seed of the fit.
        in_sample: Scores on the calibration window.
        out_of_sample: Scores on the validation window.
        held_out: Held-out patterns: observed value and its bootstrap SE, ensemble median and
            5-95 %, Monte Carlo p-value (NaN rows for the persistence forecast).
        joint_p: p-value of the joint held-out pattern test (calibrated by simulation).
        baseline: Whether this is a fair baseline (never a theory).
    """

    label: str
    seed: int
    in_sample: WindowScores
    out_of_sample: WindowScores
    held_out: pd.DataFrame
    joint_p: float
    baseline: bool = False


def record_held_out(
    history: pd.DataFrame, world: World, rng: np.random.Generator, n_boot: int
) -> tuple[pd.Series, pd.Series]:
    """The record's held-out pattern values and their bootstrap SEs (events resampled)."""
    record = encode_record(history, world)
    one = np.zeros(record.shape[0], dtype=np.int64)
    observed = held_out_values(summarise_runs(record, one, 1, world), world).iloc[0]
    idx = rng.integers(0, record.shape[0], size=(n_boot, record.shape[0]))
    boot = record[idx.ravel()]
    run = np.repeat(np.arange(n_boot), record.shape[0])
    values = held_out_values(summarise_runs(boot, run, n_boot, world), world)
    return observed, values.std(ddof=1)


def held_out_table(
    observed: pd.Series, se: pd.Series, simulated: pd.DataFrame
) -> tuple[pd.DataFrame, float]:
    """Per held-out pattern: observed (with SE), ensemble median and band, p-value; joint p."""
    names = [p.name for p in HELD_OUT]
    sim = simulated[names].to_numpy(dtype=float)
    obs = observed[names].to_numpy(dtype=float)
    p_each = pattern_pvalues(sim, obs)
    joint = joint_pattern_test(sim, obs)
    rows = []
    for k, pattern in enumerate(HELD_OUT):
        col = sim[:, k][np.isfinite(sim[:, k])]
        band = np.percentile(col, [50, 5, 95]) if col.size else [np.nan] * 3
        rows.append(
            {
                "pattern": pattern.name,
                "meaning": pattern.description,
                "observed": obs[k],
                "observed_se": float(se[pattern.name]),
                "median": band[0],
                "p05": band[1],
                "p95": band[2],
                "p_value": p_each[k],
            }
        )
    return pd.DataFrame(rows), float(joint.p_joint)


def validate(
    scenario: Scenario,
    world: World,
    history: pd.DataFrame,
    fit: Fit,
    s: int,
    record_patterns: tuple[pd.Series, pd.Series],
    n_boot: int = N_BOOT,
) -> Validation:
    """Run a fitted strategy ``validation_replications`` times and score it, with SEs."""
    cal = scenario.calibration
    strategy = scenario.strategies[s]
    cls = strategy.policy_class()
    n = cal.validation_replications
    policy_values, firm = split_params(fit.params, strategy.firm_for(scenario.firm))
    run_seed = scenario.seed + VALIDATION_SEED_OFFSET + fit.seed
    events, run = simulate(world, cls(cls.Params(**policy_values)), firm, run_seed, fit.label, n)
    rng = np.random.default_rng([run_seed, 17])
    ins = score_window(
        record_window(history, world, cal.window),
        window_stats(events, run, n, world, cal.window),
        rng,
        n_boot,
    )
    oos = score_window(
        record_window(history, world, cal.validation),
        window_stats(events, run, n, world, cal.validation),
        rng,
        n_boot,
    )
    full = held_out_values(summarise_runs(events, run, n, world), world)
    table, joint_p = held_out_table(*record_patterns, full)
    return Validation(fit.label, fit.seed, ins, oos, table, joint_p, cls.baseline)


def persistence_validation(
    scenario: Scenario, world: World, history: pd.DataFrame, seed: int, n_boot: int = N_BOOT
) -> Validation:
    """The persistence forecast, fitted on the calibration window only, scored like a model."""
    cal = scenario.calibration
    seen = history[history["year"].between(*cal.window)]
    compared = mode_columns(world)  # the history's modes only, as the models are scored
    categories = {
        "regions": ("region", world.regions),
        "modes": ("mode", tuple(COMPARE_MODES[c] for c in compared)),
        "countries": ("country_iso3", world.iso3),
    }
    forecast = PersistenceForecast.fit(
        seen["year"].to_numpy(),
        {k: seen[col].to_numpy(dtype=object) for k, (col, _) in categories.items()},
        cal.window,
        categories={k: tuple(v) for k, (_, v) in categories.items()},
    )
    rng = np.random.default_rng([scenario.seed, seed, 29])
    n = cal.validation_replications
    scores = []
    for window in (cal.window, cal.validation):
        years = np.arange(window[0], window[1] + 1)
        counts, mixes = forecast.sample(years, n, rng)
        modes = np.zeros((n, len(COMPARE_MODES)), dtype=mixes["modes"].dtype)
        modes[:, compared] = mixes["modes"]
        mixes["modes"] = modes
        observed = record_window(history, world, window)
        simulated = _arrays_as_window(observed, counts, mixes)
        scores.append(score_window(observed, simulated, rng, n_boot))
    empty = pd.DataFrame(
        [{"pattern": p.name, "meaning": p.description, "p_value": np.nan} for p in HELD_OUT]
    )
    return Validation(PERSISTENCE, seed, scores[0], scores[1], empty, float("nan"), True)


def _arrays_as_window(
    like: WindowStats, counts: np.ndarray, mixes: dict[str, np.ndarray]
) -> WindowStats:
    """Wrap sampled count and mix arrays as window statistics (other fields empty)."""
    n = counts.shape[0]
    fields = {}
    for k in like.stats.__dataclass_fields__:
        value = getattr(like.stats, k)
        fields[k] = np.zeros((n, *value.shape[1:]), dtype=value.dtype)
    fields["yearly"] = counts
    fields.update(mixes)
    return WindowStats(type(like.stats)(**fields), like.years, like.mode_columns)


@dataclass
class CalibrationOutcome:
    """Everything a calibration produced."""

    fits: list[Fit]
    validations: list[Validation]
    world: World
    history: pd.DataFrame


def calibrate(
    scenario: Scenario,
    data: Dataset,
    storage: str | None,
    trials: int | None = None,
    replications: int | None = None,
    seeds: list[int] | None = None,
    source: str = "scenario",
    progress: Callable[[Fit], None] | None = None,
    history: pd.DataFrame | None = None,
    n_boot: int = N_BOOT,
    workers: int = 1,
    show_progress: bool = False,
) -> CalibrationOutcome:
    """Fit and validate every strategy of the scenario for every calibration seed.

    Args:
        scenario: The scenario (strategies, calibration section).
        data: Validated inputs.
        storage: where the studies live (see :func:`open_storage`).
        trials: Trials per strategy and seed (default: the scenario's).
        replications: Runs per trial (default: the scenario's).
        seeds: Calibration seeds (default: the scenario's).
        source: Scenario file name for messages.
        progress: Called after each fit.
        history: The record to fit (default: the data's record in the scenario's scope); model
            recovery passes a synthetic record here. Either is cut to the history's modes.
        n_boot: Bootstrap replicates for standard errors (0: point scores only).
        workers: Local processes fitting (strategy, seed) pairs in parallel; the results are
            the same as with one (each fit has its own seeded sampler and random streams).
            Parallel fits need a storage that several processes can share (a journal file or
            a database URL; not memory).
        show_progress: A progress bar over the (strategy, seed) fits on stderr (callers pass
            whether stderr is a terminal, so logs and tests stay clean).
    """
    cal = scenario.calibration
    trials = trials or cal.trials
    replications = replications or cal.replications
    world = build_world(data, scenario, source)
    if history is None:
        history = scenario.record(data)
    else:  # a given (e.g. synthetic) record is compared on the same modes as the data's
        history = history[history["mode"].isin(scenario.history.modes)]
    observed = record_window(history, world, cal.window)  # the only record the fit sees
    patterns = record_held_out(
        history, world, np.random.default_rng([scenario.seed, 5]), max(n_boot, 2)
    )
    jobs = [(seed, s) for seed in seeds or cal.seeds for s in range(len(scenario.strategies))]
    shared = _FitInputs(
        scenario, world, history, observed, patterns, storage, trials, replications, n_boot
    )
    # Workers are fresh processes: they take the caller's optuna log level with them.
    fit_one = partial(_in_worker, optuna.logging.get_verbosity(), shared)
    fits, validations = [], []
    done_seeds: set[int] = set()
    bar = tqdm(
        total=len(jobs), desc=f"calibrate {scenario.name}", unit="fit", disable=not show_progress
    )
    with bar, evaluator_for(workers, len(jobs)) as evaluator:
        results = evaluator.evaluate(fit_one, jobs)
        for (seed, _), (fit, validation) in zip(jobs, results, strict=True):
            if seed not in done_seeds:  # the persistence forecast once per seed, before its fits
                validations.append(persistence_validation(scenario, world, history, seed, n_boot))
                done_seeds.add(seed)
            fits.append(fit)
            validations.append(validation)
            log.info("fitted %s (seed %s): loss %.3f", fit.label, seed, fit.best_loss)
            bar.set_postfix_str(f"{fit.label} seed {seed}: loss {fit.best_loss:.2f}", refresh=False)
            bar.update()
            if progress is not None:
                progress(fit)
    return CalibrationOutcome(fits, validations, world, history)


@dataclass(frozen=True)
class _FitInputs:
    """What every (seed, strategy) job of a calibration shares, handed to each worker with it."""

    scenario: Scenario
    world: World
    history: pd.DataFrame
    observed: WindowStats
    patterns: tuple[pd.Series, pd.Series]
    storage: str | None
    trials: int
    replications: int
    n_boot: int


def _in_worker(level: int, shared: _FitInputs, job: tuple[int, int]) -> tuple[Fit, Validation]:
    """One (seed, strategy index) job at the caller's optuna log level: fit, then validate.

    A worker process starts at optuna's default level; the caller's travels with the task.
    """
    optuna.logging.set_verbosity(level)
    seed, s = job
    fit = fit_strategy(
        shared.scenario,
        shared.world,
        shared.observed,
        s,
        seed,
        shared.storage,
        shared.trials,
        shared.replications,
    )
    return fit, validate(
        shared.scenario, shared.world, shared.history, fit, s, shared.patterns, shared.n_boot
    )


def _score_row(v: Validation) -> dict[str, Any]:
    row: dict[str, Any] = {"strategy": v.label, "seed": v.seed, "baseline": v.baseline}
    for window, scores in (("in", v.in_sample), ("out", v.out_of_sample)):
        row[f"{window}_counts"] = scores.counts.value
        row[f"{window}_counts_se"] = scores.counts.se
        row[f"{window}_mix"] = scores.mix.value
        row[f"{window}_mix_se"] = scores.mix.se
    row["held_out_joint_p"] = v.joint_p
    return row


def ranking(result: CalibrationOutcome) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per strategy and seed, and averaged over seeds: proper scores in and out of sample.

    Scores are log scores (higher is better): counts per year, mixes per event. The summary
    averages over calibration seeds; ``*_se`` there is the mean Monte Carlo SE, and
    ``out_counts_sd`` / ``out_mix_sd`` the spread across seeds (fitting noise). Oracles
    (``matches_record_counts``) are never in a calibration's validations.
    """
    per_seed = pd.DataFrame([_score_row(v) for v in result.validations])
    # An empty validation window has no mix to score (the same for every strategy): the total is
    # then the count score alone.
    per_seed["out_total"] = per_seed["out_counts"] + per_seed["out_mix"].fillna(0.0)
    per_seed["oos_rank"] = per_seed.groupby("seed")["out_total"].rank(ascending=False, method="min")
    agg = {
        c: (c, "mean")
        for c in per_seed.columns
        if c not in {"strategy", "seed", "baseline", "oos_rank"}
    }
    summary = (
        per_seed.groupby("strategy", sort=False)
        .agg(
            baseline=("baseline", "first"),
            **agg,
            out_counts_sd=("out_counts", "std"),
            out_mix_sd=("out_mix", "std"),
            oos_ranks=(
                "oos_rank",
                lambda r: " ".join("-" if pd.isna(x) else str(int(x)) for x in r),
            ),
        )
        .reset_index()
    )
    return summary.sort_values("out_total", ascending=False).reset_index(drop=True), per_seed


def _beats(per_seed: pd.DataFrame, theory: str, baseline: str, kind: str) -> pd.Series:
    """Per seed: whether the theory's out-of-sample score beats the baseline's by > 2 SE."""
    a = per_seed[per_seed["strategy"] == theory].set_index("seed")
    b = per_seed[per_seed["strategy"] == baseline].set_index("seed")
    diff = a[f"out_{kind}"] - b[f"out_{kind}"]
    se = np.sqrt(a[f"out_{kind}_se"] ** 2 + b[f"out_{kind}_se"] ** 2)
    return (diff > 2 * se).fillna(False)


def support_table(per_seed: pd.DataFrame) -> pd.DataFrame:
    """For each theory: in how many seeds it beats every baseline on counts and on mix."""
    baselines = sorted(per_seed.loc[per_seed["baseline"], "strategy"].unique())
    theories = [t for t in per_seed.loc[~per_seed["baseline"], "strategy"].unique()]
    n_seeds = per_seed["seed"].nunique()
    rows = []
    for t in theories:
        row: dict[str, Any] = {"strategy": t, "seeds": n_seeds}
        for kind in ("counts", "mix"):
            ok = pd.concat([_beats(per_seed, t, b, kind) for b in baselines], axis=1).all(axis=1)
            row[f"beats_all_baselines_{kind}"] = int(ok.sum())
        rows.append(row)
    return pd.DataFrame(rows)


#: The optimiser check (docs/calibration.md): on synthetic records, a generator's own fitted
#: family must reach the in-sample score of its true point, within :data:`OPTIMISER_SE` Monte
#: Carlo standard errors of that score, in at least :data:`OPTIMISER_PASS` of the records.
#: Below it, point fits give no verdict.
OPTIMISER_SE = 2.0
OPTIMISER_PASS = 0.9


def optimiser_passes(reached: int, checked: int) -> bool:
    """Whether the optimiser check passes: enough records checked, enough of them reached."""
    return checked > 0 and reached / checked >= OPTIMISER_PASS


def verdict(
    per_seed: pd.DataFrame,
    recovery: dict[str, float] | None = None,
    min_seeds: int = 3,
    optimiser: tuple[int, int] | None = None,
) -> str:
    """What the evidence carries, by the rule in docs/calibration.md.

    A theory is *supported* only when, for each of at least ``min_seeds`` calibration seeds,
    its out-of-sample score beats every fair baseline by more than two Monte Carlo standard
    errors on counts *and* on mix, and model recovery identifies it (recovery rate >= 0.8) --
    and only when the optimiser check passed (``optimiser``: the records where the generator's
    own fit reached its true point's score, and the records checked; see
    :func:`optimiser_passes`): a point fit that does not find a known truth on synthetic
    records cannot carry a verdict on the real one.
    """
    table = support_table(per_seed)
    n_seeds = int(per_seed["seed"].nunique())
    baselines = ", ".join(sorted(per_seed.loc[per_seed["baseline"], "strategy"].unique()))
    supported, lines = [], []
    for row in table.itertuples():
        strategy = str(row.strategy)
        c, m = row.beats_all_baselines_counts, row.beats_all_baselines_mix
        rate = None if recovery is None else recovery.get(strategy)
        ok = n_seeds >= min_seeds and c == n_seeds and m == n_seeds
        recovered = rate is not None and rate >= 0.8
        if ok and recovered:
            supported.append(strategy)
        why = (
            f"beats every baseline by > 2 SE on counts in {c}/{n_seeds} seeds, "
            f"on mix in {m}/{n_seeds}"
        )
        why += (
            "; recovery not run"
            if rate is None
            else f"; recovery rate {rate:.2f}" + ("" if recovered else " (< 0.8)")
        )
        lines.append(f"- **{strategy}**: {why}.")
    if optimiser is None or not optimiser_passes(*optimiser):
        check = (
            "was not run (`sim recover` runs it)"
            if optimiser is None or optimiser[1] == 0
            else f"fails ({optimiser[0]} of {optimiser[1]} records; needed {OPTIMISER_PASS:.0%})"
        )
        head = f"**No verdict from point fits**: the optimiser check {check}."
        return head + "\n\n" + "\n".join(lines)
    head = (
        f"Supported: **{', '.join(supported)}**."
        if supported
        else "No theory is supported by this record: none beats every fair baseline "
        f"({baselines}) by more than two Monte Carlo standard errors on both counts and mix "
        f"in every one of at least {min_seeds} calibration seeds with a recovery rate of at "
        "least 0.8."
    )
    return head + "\n\n" + "\n".join(lines)
