"""The ``sim calibrate`` and ``sim sensitivity`` commands: run, then write tables, figures, report.

Calibration studies persist in ``<out>/calibration.journal`` (optuna's journal file), so running
the same command again after an interruption continues them. Everything else is written
atomically into ``<out>/report/``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml
from matplotlib import colormaps
from matplotlib.figure import Figure

from sim.analysis.record_plots import save_figure
from sim.calibration.calibrate import (
    CalibrationOutcome,
    Fit,
    calibrate,
    free_parameters,
    near_best,
    ranking,
    support_table,
    verdict,
)
from sim.calibration.recovery import (
    Recovery,
    optimiser_check,
    optimiser_text,
    recover,
    with_calibrated,
)
from sim.calibration.sensitivity import SensitivityResult, screen
from sim.data import Dataset
from sim.errors import SimInputError
from sim.experiment.executors import default_workers
from sim.experiment.experiment import Options
from sim.experiment.job import RunResult, run_scenario
from sim.io import MARKER, ResultFolder, check_output_dir, write_text_atomic
from sim.scenario import Calibration, Firm, Scenario, default_windows, load_scenario

log = logging.getLogger(__name__)

#: What ``sim calibrate`` keeps in its folder (studies and the report).
CALIBRATION_OUTPUTS = frozenset(
    {
        "calibration.journal",
        "calibration-quick.journal",
        "calibration.journal.lock",
        "calibration-quick.journal.lock",
        "calibration.db",
        "calibration-quick.db",
        "report",
        "recovery",
        MARKER,
    }
)
#: What ``sim recover`` writes into its folder.
RECOVERY_OUTPUTS = frozenset(
    {
        "tasks",
        "records.csv",
        "recovery.csv",
        "confusion_in_sample.csv",
        "confusion_out_of_sample.csv",
        "confusion.png",
        "report.md",
        MARKER,
    }
)
#: What ``sim sensitivity`` writes into its folder.
SENSITIVITY_OUTPUTS = frozenset({"sensitivity.csv", "design.csv", "sensitivity.png", MARKER})


def check_calibration(scenario: Scenario, source: str | Path) -> None:
    """Reject a calibration section ``sim calibrate`` could only run to a meaningless end.

    Windows must lie inside the simulated years (else the loss is 0 and nothing is fitted);
    every listed parameter must be one calibration can move (a bounded float of the policy).

    Raises:
        SimInputError: naming the scenario file and the field.
    """
    cal = scenario.calibration
    first, last = scenario.years
    profile = scenario.firm_profile()
    defaults = dict(zip(("window", "validation"), default_windows(profile), strict=True))
    for key, (a, b) in (("window", cal.window), ("validation", cal.validation)):
        if not (first <= a and b <= last):
            hint = (
                f" (firm {profile.short_name}'s default; a scenario of other years sets "
                "calibration.window and calibration.validation within them)"
            )
            raise SimInputError(
                source,
                f"{a}-{b} lies outside the simulated years {first}-{last}"
                + (hint if (a, b) == defaults[key] else ""),
                field=f"calibration.{key}",
            )
    everything = scenario.model_copy(
        update={"calibration": cal.model_copy(update={"parameters": {}})}
    )
    for label, names in cal.parameters.items():
        strategy = next(s for s in scenario.strategies if s.label == label)
        free = [name for name, _, _ in free_parameters(strategy, everything)]
        where = f"calibration.parameters.{label}"
        if not names:
            raise SimInputError(
                source, "lists no parameter (leave the strategy out to fit all)", field=where
            )
        unknown = [n for n in names if n not in free]
        if unknown:
            raise SimInputError(
                source,
                f"{unknown[0]!r} cannot be calibrated for policy {strategy.policy!r} "
                f"(bounded float parameters: {', '.join(free) or 'none'})",
                field=where,
            )


def check_sensitivity(scenario: Scenario, source: str | Path) -> None:
    """Reject a sensitivity section ``sim sensitivity`` would reject, before any run.

    Raises:
        SimInputError: naming the scenario file and the field.
    """
    cfg = scenario.sensitivity
    screenable = Firm.bounds()
    for i, name in enumerate(cfg.firm_inputs):
        if name not in screenable:
            raise SimInputError(
                source,
                f"firm input {name!r} cannot be screened (choose from {', '.join(screenable)})",
                field=f"sensitivity.firm_inputs[{i}]",
            )
    label = cfg.strategy or scenario.strategies[0].label
    strategy = next(s for s in scenario.strategies if s.label == label)
    if not cfg.firm_inputs and not free_parameters(strategy, scenario):
        raise SimInputError(
            source,
            f"nothing to screen: strategy {label!r} has no bounded float parameter and "
            "firm_inputs is empty",
            field="sensitivity.firm_inputs",
        )


#: The --quick budget: the whole pipeline in well under a minute (used by the tests).
QUICK = {
    "trials": 6,
    "replications": 8,
    "validation_replications": 40,
    "trajectories": 3,
    "sensitivity_replications": 4,
    "run_replications": 20,
}


@dataclass
class CalibrationRun:
    """What ``sim calibrate`` produced."""

    out_dir: Path
    summary: pd.DataFrame
    per_seed: pd.DataFrame
    verdict: str
    calibration: CalibrationOutcome
    seconds: float


def _md(df: pd.DataFrame, floats: str = ".3f") -> str:
    """A Markdown table (pandas + tabulate); missing values print as a dash, never ``nan``."""
    return df.to_markdown(index=False, floatfmt=floats, missingval="-")


def _convergence(result: CalibrationOutcome, target: Path) -> Path:
    fig = Figure(figsize=(8, 4.2))
    ax = fig.subplots()
    labels = list(dict.fromkeys(f.label for f in result.fits))
    colours = colormaps["tab10"]
    for fit in result.fits:
        if len(fit.trials) < 2:
            continue
        best = fit.trials["loss"].cummin()
        ax.plot(
            range(1, len(best) + 1),
            best,
            color=colours(labels.index(fit.label) % 10),
            alpha=0.8,
            lw=1.5,
            label=fit.label if fit.seed == result.fits[0].seed else None,
        )
    ax.set_xlabel("trial")
    ax.set_ylabel("best calibration loss so far")
    ax.set_title("Calibration convergence (one line per strategy and seed)")
    ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return save_figure(fig, target)


def _sensitivity_figure(result: SensitivityResult, target: Path) -> Path:
    outcomes = list(dict.fromkeys(result.indices["outcome"]))
    fig = Figure(figsize=(4.2 * len(outcomes), 4.5))
    axes = fig.subplots(1, len(outcomes))
    for ax, outcome in zip(axes, outcomes, strict=True):
        part = result.indices[result.indices["outcome"] == outcome].nlargest(10, "mu_star")
        ax.barh(part["input"][::-1], part["mu_star"][::-1], color="#4c72b0")
        ax.set_title(outcome)
        ax.set_xlabel("mu* (Morris)")
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle(f"Sensitivity of {result.strategy}: ten most influential inputs per outcome")
    fig.tight_layout()
    return save_figure(fig, target)


def _calibrated_scenario(
    scenario: Scenario, result: CalibrationOutcome, summary: pd.DataFrame, replications: int
) -> dict:
    """A scenario file with every strategy at its best parameters (best in-sample seed)."""
    raw = json.loads(scenario.model_dump_json(exclude={"sweep"}))
    raw["name"] = f"{scenario.name}_calibrated"
    raw["description"] = (
        f"Strategies of {scenario.name} at parameters fitted by `sim calibrate` "
        f"on {scenario.calibration.window[0]}-{scenario.calibration.window[1]}."
    )
    raw["replications"] = replications
    best: dict[str, Fit] = {}
    for fit in result.fits:
        if fit.label not in best or fit.best_loss < best[fit.label].best_loss:
            best[fit.label] = fit
    for strategy in raw["strategies"]:
        fit = best[strategy["label"]]
        rounded = lambda d: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}  # noqa: E731
        strategy["params"] = rounded(fit.policy_params())
        strategy["firm"] = {**strategy.get("firm", {}), **rounded(fit.firm_params())}
    raw["data"] = {k: v for k, v in raw["data"].items() if v is not None}
    return raw


@dataclass(frozen=True)
class CalibrationTables:
    """The tables ``sim calibrate`` writes into its report folder (and its report quotes).

    Attributes:
        summary: Scores per strategy, averaged over calibration seeds (``ranking.csv``).
        per_seed: Scores per strategy and seed (``ranking_by_seed.csv``).
        parameters: Best value and near-best spread of every fitted parameter.
        held_out: Held-out pattern tests of every fit that has them.
        support: Per strategy: in how many seeds it beats every fair baseline.
        trials: Every trial of every fit.
        sensitivity: Morris indices of the screened strategy.
    """

    summary: pd.DataFrame
    per_seed: pd.DataFrame
    parameters: pd.DataFrame
    held_out: pd.DataFrame
    support: pd.DataFrame
    trials: pd.DataFrame
    sensitivity: pd.DataFrame


def _parameter_table(result: CalibrationOutcome) -> pd.DataFrame:
    """One row per fit and free parameter: its best value and the near-best spread."""
    params = []
    for fit in result.fits:
        spread = near_best(fit)
        for name in fit.free:
            med, lo, hi = spread[name]
            params.append(
                {
                    "strategy": fit.label,
                    "seed": fit.seed,
                    "parameter": name,
                    "best": fit.params[name],
                    "near_best_median": med,
                    "near_best_p05": lo,
                    "near_best_p95": hi,
                }
            )
    return pd.DataFrame(params)


def calibration_tables(result: CalibrationOutcome, sens: SensitivityResult) -> CalibrationTables:
    """Rank the fits and gather every table of the report."""
    summary, per_seed = ranking(result)
    parameters = _parameter_table(result)
    held = pd.concat(
        [
            v.held_out.assign(strategy=v.label, seed=v.seed, joint_p=v.joint_p)
            for v in result.validations
            if not v.held_out["p_value"].isna().all()
        ],
        ignore_index=True,
    )
    trials = pd.concat(
        [f.trials.assign(strategy=f.label, seed=f.seed) for f in result.fits], ignore_index=True
    )
    return CalibrationTables(
        summary=summary,
        per_seed=per_seed,
        parameters=parameters,
        held_out=held,
        support=support_table(per_seed),
        trials=trials,
        sensitivity=sens.indices,
    )


def write_calibration_tables(tables: CalibrationTables, out: Path) -> None:
    """Write the report folder's CSV files."""
    tables.summary.to_csv(out / "ranking.csv", index=False, float_format="%.6g")
    tables.per_seed.to_csv(out / "ranking_by_seed.csv", index=False, float_format="%.6g")
    tables.parameters.to_csv(out / "parameters.csv", index=False, float_format="%.6g")
    tables.support.to_csv(out / "support.csv", index=False)
    tables.held_out.to_csv(out / "held_out_patterns.csv", index=False, float_format="%.6g")
    tables.trials.to_csv(out / "trials.csv", index=False, float_format="%.6g")
    tables.sensitivity.to_csv(out / "sensitivity.csv", index=False, float_format="%.6g")


def draw_calibration_figures(
    result: CalibrationOutcome, sens: SensitivityResult, out: Path
) -> None:
    """Draw the convergence and sensitivity figures into ``out/figures``."""
    figures = out / "figures"
    _convergence(result, figures / "convergence.png")
    _sensitivity_figure(sens, figures / "sensitivity.png")


def write_calibrated_run(
    scenario: Scenario,
    result: CalibrationOutcome,
    summary: pd.DataFrame,
    replications: int,
    out: Path,
) -> RunResult:
    """Write ``calibrated.yaml`` (every strategy at its best fit) and run it.

    The run goes to ``out/validation_run``, so the report can show the calibrated strategies'
    figures.
    """
    calibrated = _calibrated_scenario(scenario, result, summary, replications)
    scenario_file = out / "calibrated.yaml"
    scenario_file.write_text(yaml.safe_dump(calibrated, sort_keys=False), encoding="utf-8")
    return run_scenario(
        scenario_file, out_dir=out / "validation_run", options=Options(progress=False)
    )


def run_calibration(
    scenario_path: str | Path,
    out_dir: str | Path | None = None,
    quick: bool = False,
    results_root: str | Path = "results",
    progress: bool = False,
    overwrite: bool = False,
) -> CalibrationRun:
    """Calibrate, validate, screen sensitivity and write the report (see module docstring).

    ``progress``: show progress bars on stderr (the command line passes whether it is a
    terminal). ``overwrite``: use ``out_dir`` even if it holds files that are not a ``sim``
    result.
    """
    start = time.perf_counter()
    scenario = load_scenario(scenario_path)
    check_calibration(scenario, scenario_path)
    check_sensitivity(scenario, scenario_path)
    target = Path(out_dir) if out_dir else Path(results_root) / f"{scenario.name}-calibration"
    check_output_dir(
        target, overwrite=overwrite, known=CALIBRATION_OUTPUTS, protect=[scenario_path]
    )
    data = scenario.load_data(scenario_path)
    if quick:
        cal = scenario.calibration.model_copy(
            update={"validation_replications": QUICK["validation_replications"]}
        )
        scenario = scenario.model_copy(update={"calibration": cal})
    with ResultFolder(
        target,
        "calibrate",
        overwrite=overwrite,
        known=CALIBRATION_OUTPUTS,
        protect=[scenario_path],
        staged=False,
    ) as folder:
        journal = "calibration-quick.journal" if quick else "calibration.journal"
        result = calibrate(
            scenario,
            data,
            str((target / journal).resolve()),
            trials=QUICK["trials"] if quick else None,
            replications=QUICK["replications"] if quick else None,
            source=str(scenario_path),
            workers=1 if quick else default_workers(),
            show_progress=progress,
        )
        log.info("calibration done; screening the sensitivity of %s", scenario.name)
        sens = _screen(
            scenario,
            data,
            quick,
            str(scenario_path),
            chunk_root=folder.cache,
            options=Options(workers=1 if quick else None, progress=progress),
        )
        tables = calibration_tables(result, sens)
        rates, check = _recovery_rates(target)
        text = verdict(tables.per_seed, rates, optimiser=check)
        with ResultFolder(target / "report", "calibrate", overwrite=True) as report_folder:
            tmp = report_folder.staging
            write_calibration_tables(tables, tmp)
            draw_calibration_figures(result, sens, tmp)
            log.info("running the calibrated strategies (calibrated.yaml)")
            write_calibrated_run(
                scenario, result, tables.summary, QUICK["run_replications"] if quick else 200, tmp
            )
            seconds = time.perf_counter() - start
            report = calibration_report(
                ReportInputs(scenario, tables, text, sens.strategy, quick, seconds)
            )
            (tmp / "report.md").write_text(report, encoding="utf-8")
    return CalibrationRun(target, tables.summary, tables.per_seed, text, result, seconds)


def _recovery_rates(target: Path) -> tuple[dict[str, float] | None, tuple[int, int] | None]:
    """Recovery rates and the optimiser check from a `sim recover` run beside this calibration.

    Both are ``None`` when no study was run; the check is ``(records reached, records checked)``.
    """
    path = target / "recovery" / "recovery.csv"
    if not path.is_file():
        return None, None
    table = pd.read_csv(path)
    rates = dict(zip(table["generator"], table["recovery_rate"], strict=True))
    records = target / "recovery" / "records.csv"
    check = optimiser_check(pd.read_csv(records)) if records.is_file() else None
    return rates, check


_SCORE_COLUMNS = [
    "strategy",
    "baseline",
    "in_counts",
    "in_mix",
    "out_counts",
    "out_counts_se",
    "out_counts_sd",
    "out_mix",
    "out_mix_se",
    "out_mix_sd",
    "oos_ranks",
]


@dataclass(frozen=True)
class ReportInputs:
    """What the calibration report says, gathered once the calibration is done.

    Attributes:
        scenario: The calibrated scenario (its calibration section as run).
        tables: The tables written beside the report.
        verdict: Which theories the record supports, in Markdown.
        sensitivity_strategy: The strategy whose inputs were screened.
        quick: Whether the quick budget was used.
        seconds: Wall time of the calibration so far.
    """

    scenario: Scenario
    tables: CalibrationTables
    verdict: str
    sensitivity_strategy: str
    quick: bool
    seconds: float


def calibration_report(inputs: ReportInputs) -> str:
    """The calibration report (Markdown)."""
    scenario, tables = inputs.scenario, inputs.tables
    summary, per_seed, held = tables.summary, tables.per_seed, tables.held_out
    params_df, sensitivity = tables.parameters, tables.sensitivity
    cal = scenario.calibration
    first_seed = per_seed["seed"].iloc[0]
    n_seeds = per_seed["seed"].nunique()
    lines = [
        f"# Calibration of `{scenario.name}`",
        "",
        f"Every strategy was fitted to the record of {cal.window[0]}-{cal.window[1]} with the "
        f"same budget ({'quick mode, ' if inputs.quick else ''}{n_seeds} calibration seeds), "
        f"then run afresh and scored in sample and on {cal.validation[0]}-{cal.validation[1]} "
        "(out of sample, never seen by the fit). Scores are proper log scores of the record "
        "under each strategy's predictive distribution (higher is better): `counts` per year "
        "(negative binomial by moments of the runs), `mix` per event (Dirichlet-multinomial of "
        "the region, mode and country counts, summed). `_se` is the Monte Carlo standard error "
        "(bootstrap over runs), `_sd` the spread across calibration seeds. Fair baselines "
        "(`baseline` = True) see only what a theory sees; `persistence` is the calibration "
        "window's level, dispersion and shares carried forward. "
        f"Took {inputs.seconds:.0f} s.",
        "",
        "## Verdict",
        "",
        inputs.verdict,
        "",
        "## Scores (mean over calibration seeds)",
        "",
        _md(summary[[c for c in _SCORE_COLUMNS if c in summary.columns]]),
        "",
        "## Held-out patterns (never in the loss; seed " + str(first_seed) + ")",
        "",
        "`p_value`: two-sided Monte Carlo p-value of the record's value under the calibrated "
        "ensemble; `joint_p`: the joint test over the patterns (min-p, calibrated by "
        "simulation); `observed_se`: bootstrap SE of the record's value (events resampled).",
        "",
        _md(
            held[held["seed"] == first_seed][
                [
                    *("strategy", "pattern", "observed", "observed_se"),
                    *("median", "p05", "p95", "p_value", "joint_p"),
                ]
            ]
        )
        if len(held)
        else "(none)",
        "",
        "## Fitted parameters (best trial; near-best: the best tenth of trials)",
        "",
        _md(params_df[params_df["seed"] == first_seed]) if len(params_df) else "(none)",
        "",
        "The ready-to-run `calibrated.yaml` holds each strategy at its best parameters; its "
        "run is in `validation_run/` (report and figures).",
        "",
        "![deals per year](validation_run/figures/deals_per_year.png)",
        "![mode mix](validation_run/figures/mode_mix.png)",
        "![region mix](validation_run/figures/region_mix.png)",
        "![top countries](validation_run/figures/top_countries.png)",
        "",
        "## Convergence",
        "",
        "![convergence](figures/convergence.png)",
        "",
        f"## Sensitivity of `{inputs.sensitivity_strategy}` (Morris, SALib)",
        "",
        _md(
            sensitivity.sort_values(["outcome", "mu_star"], ascending=[True, False])
            .groupby("outcome")
            .head(5)
        ),
        "",
        "![sensitivity](figures/sensitivity.png)",
        "",
        "Files: `ranking.csv`, `ranking_by_seed.csv`, `support.csv`, `parameters.csv`, "
        "`held_out_patterns.csv`, `trials.csv`, `sensitivity.csv`, `calibrated.yaml`.",
        "",
    ]
    return "\n".join(lines)


def _screen(
    scenario: Scenario,
    data: Dataset,
    quick: bool,
    source: str,
    progress: bool = False,
    options: Options | None = None,
    chunk_root: Path | None = None,
) -> SensitivityResult:
    """Morris screening with the scenario's budget, or the quick one."""
    return screen(
        scenario,
        data,
        trajectories=QUICK["trajectories"] if quick else None,
        replications=QUICK["sensitivity_replications"] if quick else None,
        source=source,
        progress=progress,
        options=options,
        chunk_root=chunk_root,
    )


def run_sensitivity(
    scenario_path: str | Path,
    out_dir: str | Path | None = None,
    quick: bool = False,
    results_root: str | Path = "results",
    overwrite: bool = False,
    progress: bool = False,
    options: Options | None = None,
) -> Path:
    """Screen one strategy's parameters and the firm's inputs; write table, figure, design.

    The design points run like ``sim run``'s: chunks are stored under ``<out>/.sim-cache``
    until the command succeeds, so an interrupted screening resumes (``--cache DIR`` keeps them).

    ``overwrite``: write into ``out_dir`` even if it holds files that are not sim's (kept).
    ``progress``: a progress bar on stderr (the command line passes whether it is a terminal);
    used when ``options`` (executor, workers, chunk size, fresh) is not given.
    """
    scenario = load_scenario(scenario_path)
    check_sensitivity(scenario, scenario_path)
    target = Path(out_dir) if out_dir else Path(results_root) / f"{scenario.name}-sensitivity"
    check_output_dir(
        target, overwrite=overwrite, known=SENSITIVITY_OUTPUTS, protect=[scenario_path]
    )
    data = scenario.load_data(scenario_path)
    with ResultFolder(
        target,
        "sensitivity",
        overwrite=overwrite,
        known=SENSITIVITY_OUTPUTS,
        protect=[scenario_path],
        cache=options.cache if options else None,
    ) as folder:
        sens = _screen(scenario, data, quick, str(scenario_path), progress, options, folder.cache)
        tmp = folder.staging
        sens.indices.to_csv(tmp / "sensitivity.csv", index=False, float_format="%.6g")
        sens.design.to_csv(tmp / "design.csv", index=False, float_format="%.6g")
        _sensitivity_figure(sens, tmp / "sensitivity.png")
    return target


#: The --quick budget of `sim recover` (two records per generator, tiny fits).
RECOVER_QUICK = {"records": 2, "trials": 4, "replications": 8, "validation_replications": 20}


@dataclass
class RecoveryRun:
    """What ``sim recover`` produced."""

    out_dir: Path
    recovery: Recovery
    seconds: float


def _confusion_figure(rec: Recovery, target: Path) -> Path:
    table = rec.confusion_out
    share = table.div(table.sum(axis=1).replace(0, 1), axis=0)
    fig = Figure(figsize=(1.0 + 0.75 * len(table), 0.8 + 0.6 * len(table)))
    ax = fig.subplots()
    ax.imshow(share.to_numpy(), cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(table.columns)), table.columns, rotation=45, ha="right")
    ax.set_yticks(range(len(table.index)), table.index)
    for i in range(len(table.index)):
        for j in range(len(table.columns)):
            ax.text(j, i, str(table.iat[i, j]), ha="center", va="center", fontsize=8)
    ax.set_xlabel("winner out of sample")
    ax.set_ylabel("generator")
    ax.set_title("Model recovery: synthetic records per generator and who wins")
    fig.tight_layout()
    return save_figure(fig, target)


def run_recovery(
    scenario_path: str | Path,
    out_dir: str | Path | None = None,
    records: int | None = None,
    trials: int | None = None,
    replications: int | None = None,
    workers: int | None = None,
    quick: bool = False,
    calibrated: str | Path | None = None,
    results_root: str | Path = "results",
    progress: bool = False,
    overwrite: bool = False,
) -> RecoveryRun:
    """Run (or resume) a model-recovery study and write its tables, figure and report.

    Generators use the parameters of ``calibrated`` (a ``calibrated.yaml`` written by
    ``sim calibrate``) when given or found in the calibration folder, else the scenario's.
    Results go to ``<out>`` (default ``results/<name>-calibration/recovery``), where
    ``sim calibrate`` reads the recovery rates for its verdict.
    """
    start = time.perf_counter()
    scenario = load_scenario(scenario_path)
    target = (
        Path(out_dir)
        if out_dir
        else Path(results_root) / f"{scenario.name}-calibration" / "recovery"
    )
    found = Path(results_root) / f"{scenario.name}-calibration" / "report" / "calibrated.yaml"
    source = (
        Path(calibrated) if calibrated else (found if found.is_file() and not out_dir else None)
    )
    generator_scenario = scenario
    if source is not None:
        flag = "--calibrated" if calibrated else None
        generator_scenario = with_calibrated(scenario, source, flag)
    check_output_dir(target, overwrite=overwrite, known=RECOVERY_OUTPUTS, protect=[scenario_path])
    budget = RECOVER_QUICK if quick else {}
    cal = scenario.calibration.model_copy(
        update={
            "trials": trials or budget.get("trials", RECOVER_DEFAULTS["trials"]),
            "replications": replications
            or budget.get("replications", RECOVER_DEFAULTS["replications"]),
            "validation_replications": budget.get(
                "validation_replications", RECOVER_DEFAULTS["validation_replications"]
            ),
        }
    )
    generator_scenario = generator_scenario.model_copy(update={"calibration": cal})
    n_records = records or budget.get("records", RECOVER_DEFAULTS["records"])
    data = scenario.load_data(scenario_path)
    with ResultFolder(
        target,
        "recover",
        overwrite=overwrite,
        known=RECOVERY_OUTPUTS,
        protect=[scenario_path],
        staged=False,
    ):
        rec = recover(
            generator_scenario,
            data,
            target,
            n_records,
            workers=1 if quick else (workers or default_workers()),
            progress=progress,
        )
        seconds = time.perf_counter() - start
        _write_recovery(rec, target, scenario.name, n_records, source, cal, seconds)
    return RecoveryRun(target, rec, seconds)


def _write_recovery(
    rec: Recovery,
    target: Path,
    name: str,
    n_records: int,
    source: Path | None,
    cal: Calibration,
    seconds: float,
) -> None:
    """Write a recovery study's tables, confusion figure and report into ``target``."""
    rec.results.to_csv(target / "records.csv", index=False)
    rec.rates.to_csv(target / "recovery.csv", index=False, float_format="%.4g")
    rec.confusion_in.to_csv(target / "confusion_in_sample.csv")
    rec.confusion_out.to_csv(target / "confusion_out_of_sample.csv")
    _confusion_figure(rec, target / "confusion.png")
    lines = [
        f"# Model recovery for `{name}`",
        "",
        f"{n_records} synthetic records per generator "
        f"({'calibrated parameters from ' + str(source) if source else 'scenario parameters'}), "
        f"each calibrated by every strategy with {cal.trials} trials x {cal.replications} runs "
        f"(one calibration seed; {cal.validation_replications} validation runs). Winner: the "
        "best total log score (counts per year + mix per event). Took "
        f"{seconds:.0f} s.",
        "",
        "## Optimiser check",
        "",
        optimiser_text(rec.results),
        "",
        "## Recovery rate per generator (out of sample; Wilson 95 % interval)",
        "",
        _md(rec.rates),
        "",
        "## Confusion matrix, out of sample (rows: generator; columns: winner)",
        "",
        rec.confusion_out.reset_index()
        .rename(columns={"generator": "generator \\ winner"})
        .to_markdown(index=False),
        "",
        "## Confusion matrix, in sample",
        "",
        rec.confusion_in.reset_index().to_markdown(index=False),
        "",
        "![confusion](confusion.png)",
        "",
    ]
    write_text_atomic(target / "report.md", "\n".join(lines))


#: The default recovery budget: smaller than a calibration's, so that >= 20 records per
#: generator fit on two cores (docs/performance.md gives the time).
RECOVER_DEFAULTS = {"records": 20, "trials": 30, "replications": 30, "validation_replications": 60}
