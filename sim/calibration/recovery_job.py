"""The ``sim recover`` command: a model-recovery study, then tables, confusion figure and report.

Finished records are saved under ``<out>/tasks`` as they complete, so running the same command
again after an interruption resumes. The budget presets are :class:`~sim.scenario.RecoverBudget`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure

from sim.analysis.record_plots import save_figure
from sim.calibration.recovery import Recovery, optimiser_text, recover, with_calibrated
from sim.experiment.executors import default_workers
from sim.io import MARKER, ResultFolder, check_output_dir, write_text_atomic
from sim.provenance import markdown_table
from sim.scenario import RECOVER_QUICK, Calibration, RecoverBudget, Scenario, load_scenario

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


@dataclass
class RecoveryRun:
    """What ``sim recover`` produced."""

    out_dir: Path
    recovery: Recovery
    seconds: float


def _confusion_figure(rec: Recovery, target: Path) -> Path:
    """Who wins out of sample for each generator's records (shares shaded, counts written)."""
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
    folder = Path(results_root) / f"{scenario.name}-calibration"
    target = Path(out_dir) if out_dir else folder / "recovery"
    generator_scenario, source = _generators(scenario, calibrated, None if out_dir else folder)
    check_output_dir(target, overwrite=overwrite, known=RECOVERY_OUTPUTS, protect=[scenario_path])
    given = {"records": records, "trials": trials, "replications": replications}
    budget = (RECOVER_QUICK if quick else RecoverBudget()).model_copy(
        update={k: v for k, v in given.items() if v}
    )
    cal = scenario.calibration.model_copy(
        update={
            "trials": budget.trials,
            "replications": budget.replications,
            "validation_replications": budget.validation_replications,
        }
    )
    generator_scenario = generator_scenario.model_copy(update={"calibration": cal})
    n_records = budget.records
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


def _generators(
    scenario: Scenario, calibrated: str | Path | None, folder: Path | None
) -> tuple[Scenario, Path | None]:
    """The scenario at the generators' parameters, and the calibrated.yaml they come from.

    ``calibrated`` when given; else the calibration's own ``calibrated.yaml`` in ``folder`` (the
    calibration folder, when the study is written beside it), if there is one.
    """
    if calibrated:
        return with_calibrated(scenario, Path(calibrated), "--calibrated"), Path(calibrated)
    found = folder / "report" / "calibrated.yaml" if folder else None
    if found is not None and found.is_file():
        return with_calibrated(scenario, found, None), found
    return scenario, None


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
        markdown_table(rec.rates),
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
