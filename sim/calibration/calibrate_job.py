"""The ``sim calibrate`` command: fit, validate, screen, then write tables, figures and report.

Calibration studies persist in ``<out>/calibration.journal`` (optuna's journal file), so running
the same command again after an interruption continues them. Everything else is written
atomically into ``<out>/report/`` (tables and text: :mod:`sim.calibration.report`). The budget
presets are :class:`~sim.scenario.CalibrateBudget`.
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
from sim.calibration.calibrate import CalibrationOutcome, Fit, calibrate, free_parameters, verdict
from sim.calibration.recovery import optimiser_check
from sim.calibration.report import (
    CalibrationTables,
    ReportInputs,
    calibration_report,
    calibration_tables,
)
from sim.calibration.sensitivity import SensitivityResult
from sim.calibration.sensitivity_job import check_sensitivity, screen_within, sensitivity_figure
from sim.errors import SimInputError
from sim.experiment.executors import default_workers
from sim.experiment.experiment import Options
from sim.experiment.job import RunResult, run_scenario
from sim.io import MARKER, ResultFolder, check_output_dir
from sim.scenario import (
    CALIBRATE_QUICK,
    CalibrateBudget,
    Scenario,
    default_windows,
    load_scenario,
)

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


@dataclass
class CalibrationRun:
    """What ``sim calibrate`` produced."""

    out_dir: Path
    summary: pd.DataFrame
    per_seed: pd.DataFrame
    verdict: str
    calibration: CalibrationOutcome
    seconds: float


def _convergence(result: CalibrationOutcome, target: Path) -> Path:
    """The best loss so far against the trial, one line per strategy and seed."""
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
    sensitivity_figure(sens, figures / "sensitivity.png")


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
    budget = CALIBRATE_QUICK if quick else CalibrateBudget()
    if budget.validation_replications:
        cal = scenario.calibration.model_copy(
            update={"validation_replications": budget.validation_replications}
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
            trials=budget.trials,
            replications=budget.replications,
            source=str(scenario_path),
            workers=1 if quick else default_workers(),
            show_progress=progress,
        )
        log.info("calibration done; screening the sensitivity of %s", scenario.name)
        sens = screen_within(
            scenario,
            data,
            budget,
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
            write_calibrated_run(scenario, result, tables.summary, budget.run_replications, tmp)
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
