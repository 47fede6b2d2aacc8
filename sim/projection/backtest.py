"""``sim backtest``: the forecast a user at an origin year could have made, scored on what came.

For each origin (by default the end of the calibration window and the end of the validation
window: 2017 and 2021 for the reference firm) the scenario's projection is rerun *blind*: data
dated after the origin are dropped (:mod:`.origin`, market indicators included), the declared
futures are shifted so each barrier path starts as many years after the origin as it does in the
scenario, and every strategy runs ``k`` years forward (``k`` = the validation window's length).
The forecast of each year and mode (completed entries of the compared modes, exits, greenfield
operations) is the pooled ensemble over futures x runs.

Each forecast is scored against the record with the count log score of
:func:`sim.analysis.scores.count_log_score` (per year, nats, higher is better), beside the
persistence baseline of :mod:`sim.analysis.persistence` fitted on the record up to the origin
(the yearly counts of the same mode) as in ``sim calibrate``'s out-of-sample table: the
difference model - persistence with its Monte Carlo SE (an unpaired bootstrap: the two
ensembles share no random numbers). The 90 % band (5-95 %) is reported with its width beside
coverage, and beside the persistence band's width, so a band that covers by being wide says so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.persistence import PersistenceForecast
from sim.analysis.scores import count_log_score, score_difference
from sim.data.record import history as record_history
from sim.data.taxonomy import MODES
from sim.errors import SimInputError
from sim.io import MARKER, ResultFolder, check_output_dir
from sim.projection.exploration import explore
from sim.projection.job import (
    DEFAULT_FLAGS,
    FuturesFlags,
    prepare_projection,
    projection_of,
)
from sim.projection_spec import Projection
from sim.provenance import write_manifest
from sim.scenario import Scenario

#: What ``sim backtest`` writes into its folder.
BACKTEST_OUTPUTS = frozenset({"backtest.csv", "report.md", "manifest.json", MARKER})
#: The scored modes and the per-run array of the projection each is read from.
BACKTEST_MODES: dict[str, str] = {
    "entries": "deals_by_year",
    "exits": "exits_by_year",
    "greenfield": "greenfield_by_year",
}
#: Columns of backtest.csv (the first twelve are the contract; ``observed`` and the width ratio
#: to persistence's band follow).
COLUMNS = [
    "strategy",
    "origin",
    "year",
    "mode",
    "score",
    "se",
    "diff_vs_persistence",
    "diff_se",
    "band_low",
    "band_high",
    "width",
    "covered",
    "observed",
    "width_vs_persistence",
]
#: Label of the baseline's rows.
PERSISTENCE = "persistence"
#: Band quantiles (the projection's 90 % band).
BAND = (0.05, 0.95)
#: A covering band is "wide" when it is this many times as wide as persistence's band ...
WIDE_VS_PERSISTENCE = 2.0
#: ... or this many times the record's count that year (at least 1): a band of 0-12 around a
#: count of 3 says little, whatever the baseline does (persistence's own band can be that wide).
WIDE_VS_RECORD = 4.0


@dataclass(frozen=True)
class Forecast:
    """Everything forecast from one origin, before the record after it is looked at.

    Attributes:
        origin: Last year of data used.
        years: Forecast years.
        runs: (strategy label, mode) -> counts per pooled run and year (runs x years).
        persistence: mode -> the baseline's sampled counts (runs x years).
    """

    origin: int
    years: list[int]
    runs: dict[tuple[str, str], np.ndarray]
    persistence: dict[str, np.ndarray]


def default_origins(scenario: Scenario) -> list[tuple[int, int]]:
    """(origin, horizon) pairs: the calibration window's end and the validation window's end.

    Each forecasts as many years as the validation window has (2017 -> 2018-2021 and
    2021 -> 2022-2025 for the reference firm).
    """
    cal = scenario.calibration
    k = cal.validation[1] - cal.validation[0] + 1
    return [(cal.window[1], cal.window[1] + k), (cal.validation[1], cal.validation[1] + k)]


def shifted_spec(spec: Projection, scenario_origin: int, origin: int, horizon: int) -> Projection:
    """The projection section moved to ``origin``: barrier paths keep their lag after it."""
    delta = origin - scenario_origin
    paths = [
        b.model_copy(update={"from_year": b.from_year + delta}) for b in spec.uncertainties.barriers
    ]
    futures = spec.uncertainties.model_copy(update={"barriers": paths})
    return spec.model_copy(
        update={
            "origin": origin,
            "horizon": horizon,
            "indicators": "carry_forward",
            "uncertainties": futures,
        }
    )


def record_counts(
    scenario: Scenario, record: pd.DataFrame, years: list[int]
) -> dict[str, np.ndarray]:
    """The record's count per year of each scored mode (``record``: every mode, in scope)."""
    compared = set(scenario.history.modes) - {"other"}  # completed deals, as projected
    kinds = {
        "entries": record["mode"].isin(compared),
        "exits": record["mode"] == "exit",
        "greenfield": record["mode"] == "greenfield",
    }
    out = {}
    for mode, mask in kinds.items():
        counts = record.loc[mask, "year"].value_counts()
        out[mode] = counts.reindex(years, fill_value=0).to_numpy(dtype=float)
    return out


def forecast(
    scenario: Scenario,
    source: str,
    origin: int,
    horizon: int,
    futures: int,
    replications: int,
    workers: int = 1,
) -> Forecast:
    """Run every strategy blind from ``origin`` and sample the persistence baseline.

    Nothing dated after ``origin`` is read (tested by rewriting those rows).
    """
    spec = scenario.projection
    assert spec is not None  # checked by run_backtest
    moved = shifted_spec(spec, spec.origin or scenario.years[1], origin, horizon)
    prep = prepare_projection(scenario, source, origin, replications, spec=moved)
    labels = [s.label for s in prep.strategies]
    ex = explore(prep.model, labels, futures, scenario.seed, workers)
    t = len(ex.years)
    runs = {}
    for label in labels:
        mine = (ex.table["strategy"] == label).to_numpy()
        for mode, key in BACKTEST_MODES.items():
            runs[(label, mode)] = ex.arrays[key][mine].reshape(-1, t)
    known = record_history(prep.data, scenario.scope, scenario.history.coding, modes=MODES)
    seen = record_counts(scenario, known, list(range(scenario.years[0], origin + 1)))
    n = next(iter(runs.values())).shape[0]
    rng = np.random.default_rng([scenario.seed, origin, 31])
    baseline = {}
    for mode, per_year in seen.items():
        years = np.repeat(np.arange(scenario.years[0], origin + 1), per_year.astype(int))
        fit = PersistenceForecast.fit(years, {}, (scenario.years[0], origin))
        baseline[mode] = fit.sample(ex.years, n, rng)[0].astype(float)
    return Forecast(origin, list(ex.years), runs, baseline)


def _band(runs: np.ndarray) -> tuple[float, float]:
    low, high = np.quantile(runs, BAND)
    return float(low), float(high)


def _row(
    label: str,
    fc: Forecast,
    year: str,
    mode: str,
    runs: np.ndarray,
    base: np.ndarray,
    observed: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, object]:
    """One scored cell: a strategy's (or the baseline's) forecast of one year or the window."""
    score = count_log_score(runs, observed, rng)
    low, high = _band(runs.sum(axis=1))
    base_low, base_high = _band(base.sum(axis=1))
    total = float(observed.sum())
    diff = None
    if label != PERSISTENCE:
        diff = score_difference("count", runs, base, observed, rng, paired=False)
    width = high - low
    base_width = base_high - base_low
    return {
        "strategy": label,
        "origin": fc.origin,
        "year": year,
        "mode": mode,
        "score": score.value,
        "se": score.se,
        "diff_vs_persistence": np.nan if diff is None else diff.value,
        "diff_se": np.nan if diff is None else diff.se,
        "band_low": low,
        "band_high": high,
        "width": width,
        "covered": bool(low <= total <= high),
        "observed": total,
        "width_vs_persistence": width / base_width if base_width > 0 else np.nan,
    }


def score_forecast(fc: Forecast, observed: dict[str, np.ndarray], seed: int) -> pd.DataFrame:
    """backtest.csv's rows for one origin: every strategy and the baseline, per year and window.

    A year row scores that year alone; the ``all`` row scores the window (mean log score per
    year; its band is of the window's total).
    """
    rng = np.random.default_rng([seed, fc.origin, 37])
    labels = list(dict.fromkeys(label for label, _ in fc.runs))
    rows = []
    for label in [*labels, PERSISTENCE]:
        for mode in BACKTEST_MODES:
            base = fc.persistence[mode]
            runs = base if label == PERSISTENCE else fc.runs[(label, mode)]
            for j, year in enumerate(fc.years):
                cols = slice(j, j + 1)
                obs = observed[mode][cols]
                rows.append(
                    _row(label, fc, str(year), mode, runs[:, cols], base[:, cols], obs, rng)
                )
            rows.append(_row(label, fc, "all", mode, runs, base, observed[mode], rng))
    return pd.DataFrame(rows, columns=COLUMNS)


def summary_table(table: pd.DataFrame) -> pd.DataFrame:
    """One row per origin, strategy and mode: window score, difference, coverage and width.

    ``covered`` counts the years whose band holds the record; ``wide_covers`` the covered years
    whose band is at least ``WIDE_VS_PERSISTENCE`` times as wide as persistence's or at least
    ``WIDE_VS_RECORD`` times the record's count (at least 1): coverage bought by width.
    """
    years = table[table["year"] != "all"]
    wide = (years["width_vs_persistence"] >= WIDE_VS_PERSISTENCE) | (
        years["width"] >= WIDE_VS_RECORD * np.maximum(years["observed"], 1.0)
    )
    years = years.assign(wide=years["covered"] & wide)
    window = table[table["year"] == "all"].set_index(["origin", "strategy", "mode"])
    grouped = years.groupby(["origin", "strategy", "mode"], sort=False)
    out = pd.DataFrame(
        {
            "score": window["score"],
            "se": window["se"],
            "diff_vs_persistence": window["diff_vs_persistence"],
            "diff_se": window["diff_se"],
            "covered": grouped["covered"].sum().astype(int).astype(str)
            + "/"
            + grouped["covered"].size().astype(str),
            "mean_width": grouped["width"].mean(),
            "record_mean": grouped["observed"].mean(),
            "wide_covers": grouped["wide"].sum().astype(int),
        }
    )
    return out.reset_index()


def _width_note(rows: pd.DataFrame) -> str:
    """The sentence naming the forecasts whose coverage is bought by width."""
    wide = rows[rows["wide_covers"] > 0]
    if wide.empty:
        return "No covered year is covered by a wide band."
    items = ", ".join(
        f"{strategy} {mode} ({n} of {str(covered).split('/')[0]})"
        for strategy, mode, n, covered in zip(
            wide["strategy"], wide["mode"], wide["wide_covers"], wide["covered"], strict=True
        )
    )
    return f"**Covered by width** (wide covered years of all covered years): {items}."


def report_text(scenario: Scenario, table: pd.DataFrame, meta: dict[str, object]) -> str:
    """The backtest's Markdown report."""
    parts = [
        f"# Backtest: {scenario.name}",
        "",
        f"Forecasts made blind from each origin ({meta['futures']} futures x "
        f"{meta['replications']} runs per strategy, {meta['seconds']:.0f} s), scored against the "
        "record. Scores are count log scores per year (nats, higher is better); "
        "`diff` is model - persistence (> 0: the model beats more-of-the-same) with its Monte "
        "Carlo SE; `covered` counts the years whose 90 % band holds the record; `mean_width` is "
        "the band's mean width (events), `record_mean` the record's mean count per year; "
        "`wide_covers` counts covered years whose band is at "
        "least twice persistence's or four times the record's count (at least 1): coverage "
        "bought by width, not skill.",
    ]
    summary = summary_table(table)
    for origin, rows in summary.groupby("origin", sort=True):
        years = sorted({y for y in table.loc[table["origin"] == origin, "year"] if y != "all"})
        parts += [
            "",
            f"## From {origin}: {years[0]}-{years[-1]}",
            "",
            rows.drop(columns="origin").to_markdown(index=False, floatfmt=".3g"),
            "",
            _width_note(rows),
        ]
    parts += [
        "",
        "Per year: `backtest.csv` (columns: " + ", ".join(COLUMNS) + ").",
        "",
        "What the forecast could not know: data dated after the origin are dropped (record "
        "events, home-regime and barrier events, revenue, market indicators: carried forward "
        "from the origin), and the strategies' values come from a calibration window ending by "
        "the origin. The model has no divestment decision yet (issue 19, item 2): its exits are "
        "the fixed exit hazard.",
        "",
    ]
    return "\n".join(parts)


def _checked(scenario_path: str | Path) -> tuple[Scenario, Projection, str]:
    """The scenario and its projection section, when its record reaches every horizon."""
    scenario, spec, source = projection_of(scenario_path)
    last = scenario.firm_profile().record.years_covered[1]
    for origin, horizon in default_origins(scenario):
        if horizon > last:
            raise SimInputError(
                source,
                f"a backtest from {origin} needs the record through {horizon}; it ends {last}",
                field="calibration.validation",
            )
    return scenario, spec, source


def run_backtest(
    scenario_path: str | Path,
    out_dir: str | Path | None = None,
    flags: FuturesFlags = DEFAULT_FLAGS,
    overwrite: bool = False,
    results_root: str | Path = "results",
) -> tuple[Path, pd.DataFrame, float]:
    """Run ``sim backtest`` (module docstring); returns the folder, backtest.csv and seconds.

    Raises:
        SimInputError: bad scenario, projection section, origin or output folder; missing extra.
    """
    start = time.perf_counter()
    scenario, spec, source = _checked(scenario_path)
    n_futures, n_reps = flags.budget(spec)
    target = Path(out_dir) if out_dir else Path(results_root) / f"{scenario.name}-backtest"
    check_output_dir(target, overwrite=overwrite, known=BACKTEST_OUTPUTS, protect=[scenario_path])
    data = scenario.load_data(source)
    record = record_history(data, scenario.scope, scenario.history.coding, modes=MODES)
    tables = []
    for origin, horizon in default_origins(scenario):
        fc = forecast(scenario, source, origin, horizon, n_futures, n_reps, flags.workers)
        tables.append(score_forecast(fc, record_counts(scenario, record, fc.years), scenario.seed))
    table = pd.concat(tables, ignore_index=True)
    seconds = time.perf_counter() - start
    meta: dict[str, object] = {
        "command": "sim backtest",
        "scenario": scenario.name,
        "seed": scenario.seed,
        "origins": default_origins(scenario),
        "futures": n_futures,
        "replications": n_reps,
        "seconds": round(seconds, 1),
    }
    with ResultFolder(
        target, "backtest", overwrite=overwrite, known=BACKTEST_OUTPUTS, protect=[scenario_path]
    ) as folder:
        table.to_csv(folder.staging / "backtest.csv", index=False, float_format="%.6g")
        (folder.staging / "report.md").write_text(report_text(scenario, table, meta), "utf-8")
        write_manifest(folder.staging, meta)
    return target, table, seconds
