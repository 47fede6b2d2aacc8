"""The report of ``sim calibrate``: the tables it writes and the Markdown that quotes them.

The report is built from sections (introduction, verdict and scores, held-out patterns, fitted
parameters, figures, sensitivity), each a small function; its fixed prose lives in constants.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from sim.calibration.calibrate import CalibrationOutcome, near_best, ranking, support_table
from sim.calibration.sensitivity import SensitivityResult
from sim.provenance import markdown_table
from sim.scenario import Scenario


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
_HELD_OUT_COLUMNS = [
    *("strategy", "pattern", "observed", "observed_se"),
    *("median", "p05", "p95", "p_value", "joint_p"),
]
_SCORES_EXPLAINED = (
    "(out of sample, never seen by the fit). Scores are proper log scores of the record "
    "under each strategy's predictive distribution (higher is better): `counts` per year "
    "(negative binomial by moments of the runs), `mix` per event (Dirichlet-multinomial of "
    "the region, mode and country counts, summed). `_se` is the Monte Carlo standard error "
    "(bootstrap over runs), `_sd` the spread across calibration seeds. Fair baselines "
    "(`baseline` = True) see only what a theory sees; `persistence` is the calibration "
    "window's level, dispersion and shares carried forward. "
)
_HELD_OUT_EXPLAINED = (
    "`p_value`: two-sided Monte Carlo p-value of the record's value under the calibrated "
    "ensemble; `joint_p`: the joint test over the patterns (min-p, calibrated by "
    "simulation); `observed_se`: bootstrap SE of the record's value (events resampled)."
)
_FIGURES = [
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
]
_FILES = (
    "Files: `ranking.csv`, `ranking_by_seed.csv`, `support.csv`, `parameters.csv`, "
    "`held_out_patterns.csv`, `trials.csv`, `sensitivity.csv`, `calibrated.yaml`."
)


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


def _introduction(inputs: ReportInputs) -> list[str]:
    """Title, what was fitted with which budget, how it is scored; verdict and scores."""
    cal = inputs.scenario.calibration
    summary = inputs.tables.summary
    n_seeds = inputs.tables.per_seed["seed"].nunique()
    return [
        f"# Calibration of `{inputs.scenario.name}`",
        "",
        f"Every strategy was fitted to the record of {cal.window[0]}-{cal.window[1]} with the "
        f"same budget ({'quick mode, ' if inputs.quick else ''}{n_seeds} calibration seeds), "
        f"then run afresh and scored in sample and on {cal.validation[0]}-{cal.validation[1]} "
        + _SCORES_EXPLAINED
        + f"Took {inputs.seconds:.0f} s.",
        "",
        "## Verdict",
        "",
        inputs.verdict,
        "",
        "## Scores (mean over calibration seeds)",
        "",
        markdown_table(summary[[c for c in _SCORE_COLUMNS if c in summary.columns]]),
        "",
    ]


def _fits_of_first_seed(tables: CalibrationTables) -> list[str]:
    """Held-out pattern tests and fitted parameters of the first calibration seed."""
    held, params = tables.held_out, tables.parameters
    first_seed = tables.per_seed["seed"].iloc[0]
    return [
        "## Held-out patterns (never in the loss; seed " + str(first_seed) + ")",
        "",
        _HELD_OUT_EXPLAINED,
        "",
        markdown_table(held[held["seed"] == first_seed][_HELD_OUT_COLUMNS])
        if len(held)
        else "(none)",
        "",
        "## Fitted parameters (best trial; near-best: the best tenth of trials)",
        "",
        markdown_table(params[params["seed"] == first_seed]) if len(params) else "(none)",
        "",
    ]


def _sensitivity(inputs: ReportInputs) -> list[str]:
    """The five most influential inputs per outcome of the screened strategy."""
    top = (
        inputs.tables.sensitivity.sort_values(["outcome", "mu_star"], ascending=[True, False])
        .groupby("outcome")
        .head(5)
    )
    return [
        f"## Sensitivity of `{inputs.sensitivity_strategy}` (Morris, SALib)",
        "",
        markdown_table(top),
        "",
        "![sensitivity](figures/sensitivity.png)",
        "",
        _FILES,
        "",
    ]


def calibration_report(inputs: ReportInputs) -> str:
    """The calibration report (Markdown)."""
    lines = [
        *_introduction(inputs),
        *_fits_of_first_seed(inputs.tables),
        *_FIGURES,
        *_sensitivity(inputs),
    ]
    return "\n".join(lines)
