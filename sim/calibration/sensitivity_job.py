"""The ``sim sensitivity`` command: Morris screening of one strategy, then table, design, figure.

The design points run like ``sim run``'s (:mod:`sim.calibration.sensitivity`); ``sim calibrate``
screens through :func:`screen_within` too and draws the same figure.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from sim.analysis.record_plots import save_figure
from sim.calibration.calibrate import free_parameters
from sim.calibration.sensitivity import SensitivityResult, screen
from sim.data import Dataset
from sim.errors import SimInputError
from sim.experiment.experiment import Options
from sim.io import MARKER, ResultFolder, check_output_dir
from sim.scenario import CALIBRATE_QUICK, CalibrateBudget, Firm, Scenario, load_scenario

#: What ``sim sensitivity`` writes into its folder.
SENSITIVITY_OUTPUTS = frozenset({"sensitivity.csv", "design.csv", "sensitivity.png", MARKER})


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


def sensitivity_figure(result: SensitivityResult, target: Path) -> Path:
    """Bar charts of mu* of the ten most influential inputs, one panel per outcome."""
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


def screen_within(
    scenario: Scenario,
    data: Dataset,
    budget: CalibrateBudget,
    source: str,
    progress: bool = False,
    options: Options | None = None,
    chunk_root: Path | None = None,
) -> SensitivityResult:
    """Morris screening with ``budget`` (its ``None`` fields: the scenario's section)."""
    return screen(
        scenario,
        data,
        trajectories=budget.trajectories,
        replications=budget.sensitivity_replications,
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
        budget = CALIBRATE_QUICK if quick else CalibrateBudget()
        sens = screen_within(
            scenario, data, budget, str(scenario_path), progress, options, folder.cache
        )
        tmp = folder.staging
        sens.indices.to_csv(tmp / "sensitivity.csv", index=False, float_format="%.6g")
        sens.design.to_csv(tmp / "design.csv", index=False, float_format="%.6g")
        sensitivity_figure(sens, tmp / "sensitivity.png")
    return target
