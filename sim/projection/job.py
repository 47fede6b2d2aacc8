"""The ``sim project`` command: futures x strategies, then tables, figures and a report.

Everything is written into a staging folder and moved into the target when complete
(:class:`sim.io.ResultFolder`): only sim's previous results are replaced, a user's files are never
touched, and a failed run leaves the previous results as they were.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.ensemble import encode_record
from sim.data.loaders import Dataset
from sim.data.record import history as record_history
from sim.data.taxonomy import MODES
from sim.errors import SimInputError
from sim.io import MARKER, ResultFolder, check_output_dir
from sim.modes import MODE_NAMES
from sim.projection.discovery import discover
from sim.projection.exploration import Experiments, explore, require_ema
from sim.projection.futures import carried_forward, regime_notes, unknown_markets
from sim.projection.model import Lever, ProjectionModel
from sim.projection.origin import at_origin, check_origin, data_as_of
from sim.projection.plots import fan_chart, mix_chart
from sim.projection.report import report_text
from sim.projection.robustness import criterion_text, robustness_table, satisfices
from sim.projection_spec import Projection
from sim.provenance import versions, write_manifest
from sim.scenario import Scenario, Strategy, load_scenario
from sim.world import World, build_world

#: What ``sim project`` writes into its folder.
PROJECTION_OUTPUTS = frozenset(
    {
        "experiments.csv",
        "yearly.csv",
        "mix_by_year.csv",
        "robustness.csv",
        "robustness.md",
        "prim_boxes.csv",
        "carried_forward.csv",
        "figures",
        "report.md",
        "manifest.json",
        MARKER,
    }
)
#: Most strategies one projection compares (figure panels stay readable).
MAX_STRATEGIES = 12


@dataclass(frozen=True)
class ProjectionRun:
    """What ``sim project`` produced."""

    out_dir: Path
    robustness: pd.DataFrame
    boxes: pd.DataFrame
    experiments: Experiments
    seconds: float


def _strategies(scenario: Scenario, spec: Projection, source: str) -> list[Strategy]:
    """The scenario's strategies, with calibrated params and firm values from ``start_from``."""
    if spec.start_from is None:
        return list(scenario.strategies)
    try:
        calibrated = load_scenario(spec.start_from)
    except SimInputError as exc:
        raise SimInputError(source, str(exc), field="projection.start_from") from None
    fitted = {s.label: s for s in calibrated.strategies}
    out = []
    for strategy in scenario.strategies:
        fit = fitted.get(strategy.label)
        if fit is None or fit.policy != strategy.policy:
            raise SimInputError(
                source,
                f"{spec.start_from} has no strategy {strategy.label!r} with policy "
                f"{strategy.policy!r} to start from",
                field="projection.start_from",
            )
        base = calibrated.firm.model_dump(exclude_defaults=True, exclude={"profile"})
        firm = {**base, **fit.firm}
        out.append(strategy.model_copy(update={"params": fit.params, "firm": firm}))
    return out


def check_projection(
    scenario: Scenario, iso3: tuple[str, ...], source: str, strategies: list[Strategy] | None = None
) -> None:
    """Reject a projection ``sim project`` could not run, before any run.

    Checks the ``start_from`` file and its labels, record-copying strategies, and the markets
    the barrier paths name (``sim scenario check`` calls it too).

    Raises:
        SimInputError: naming the scenario file and the field.
    """
    spec = scenario.projection
    if spec is None:
        raise SimInputError(
            source, "has no projection: section (see README, Projections)", field="projection"
        )
    if strategies is None:
        strategies = _strategies(scenario, spec, source)
    if len(strategies) > MAX_STRATEGIES:
        raise SimInputError(
            source, f"at most {MAX_STRATEGIES} strategies in a projection", field="strategies"
        )
    for i, s in enumerate(strategies):
        if s.policy_class().matches_record_counts:
            raise SimInputError(
                source,
                f"strategy {s.label!r} copies the record's yearly counts, and there is no record "
                "after its last year; leave it out of a projection",
                field=f"strategies[{i}].policy",
            )
    for i, b in enumerate(spec.uncertainties.barriers):
        bad = unknown_markets(iso3, b.markets)
        if bad:
            raise SimInputError(
                source,
                f"{bad[0]!r} names no market in markets.csv",
                field=f"projection.uncertainties.barriers[{i}].markets",
            )


def _yearly(ex: Experiments, record: pd.Series) -> pd.DataFrame:
    """Deals per year per strategy: quantiles over futures x runs, plus the record's years."""
    rows = []
    for year, count in zip(record.index, record.to_numpy(), strict=True):
        rows.append({"strategy": "record", "year": int(year), "median": float(count)})
    labels = list(dict.fromkeys(ex.table["strategy"]))
    for label in labels:
        runs = ex.arrays["deals_by_year"][(ex.table["strategy"] == label).to_numpy()]
        runs = runs.reshape(-1, len(ex.years))
        q = np.quantile(runs, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
        for j, year in enumerate(ex.years):
            rows.append(
                {
                    "strategy": label,
                    "year": year,
                    "p5": q[0, j],
                    "p25": q[1, j],
                    "median": q[2, j],
                    "p75": q[3, j],
                    "p95": q[4, j],
                    "mean": float(runs[:, j].mean()),
                }
            )
    return pd.DataFrame(
        rows, columns=["strategy", "year", "p5", "p25", "median", "p75", "p95", "mean"]
    )


def _mix(ex: Experiments, regions: tuple[str, ...]) -> pd.DataFrame:
    """Mean completed deals per run by mode and by region, per strategy and year (over futures)."""
    rows = []
    for label in dict.fromkeys(ex.table["strategy"]):
        mine = (ex.table["strategy"] == label).to_numpy()
        for kind, key, names in (
            ("mode", "mode_by_year", MODE_NAMES),
            ("region", "region_by_year", regions),
        ):
            mean = ex.arrays[key][mine].mean(axis=0)
            for j, year in enumerate(ex.years):
                for k, name in enumerate(names):
                    rows.append(
                        {
                            "strategy": label,
                            "year": year,
                            "kind": kind,
                            "category": name,
                            "deals": float(mean[j, k]),
                        }
                    )
    return pd.DataFrame(rows)


#: Packages whose versions the projection's manifest records.
PROJECT_PACKAGES = ("sim", "ema_workbench", "numpy", "pandas", "scipy")


@dataclass(frozen=True)
class Prepared:
    """A projection ready to explore: the scenario and data as of its origin, world and model."""

    scenario: Scenario
    data: Dataset
    world: World
    strategies: list[Strategy]
    model: ProjectionModel
    origin: int
    projection: Projection


def prepare_projection(
    scenario: Scenario,
    source: str,
    origin: int | None = None,
    replications: int | None = None,
    spec: Projection | None = None,
) -> Prepared:
    """Build the world and model of a projection from ``origin`` (see :mod:`.origin`).

    Args:
        scenario: The loaded scenario (with a projection section).
        source: The scenario file, for messages.
        origin: Last year of data used (default: the section's ``origin``, else the scenario's
            last year).
        replications: Runs per strategy and future (default: the section's).
        spec: A projection section replacing the scenario's (the backtest shifts it).

    Raises:
        SimInputError: bad origin, start_from, strategies or barrier markets.
    """
    spec = spec or scenario.projection
    if spec is None:
        raise SimInputError(
            source, "has no projection: section (see README, Projections)", field="projection"
        )
    origin = origin or spec.origin or scenario.years[1]
    check_origin(scenario.model_copy(update={"projection": spec}), origin, spec.horizon, source)
    scenario = at_origin(scenario, origin)
    data = data_as_of(scenario.load_data(source), origin, spec.indicators)
    world = build_world(data, scenario, source=source)
    strategies = _strategies(scenario, spec, source)
    check_projection(scenario, world.iso3, source, strategies)
    # The warm start replays everything the firm did (greenfield operations and exits too).
    everything = record_history(data, scenario.scope, scenario.history.coding, modes=MODES)
    levers = [
        Lever(s.label, s.policy_class()(s.make_params()), s.firm_for(scenario.firm))
        for s in strategies
    ]
    model = ProjectionModel(
        world,
        encode_record(everything, world),
        levers,
        scenario.firm,
        spec.uncertainties,
        spec.horizon,
        scenario.seed,
        replications or spec.replications,
        data.indicators,
    )
    return Prepared(scenario, data, world, strategies, model, origin, spec)


def _manifest(
    prep: Prepared,
    scenario_path: str | Path,
    ex: Experiments,
    n_futures: int,
    n_reps: int,
    timings: dict[str, float],
) -> dict[str, object]:
    """manifest.json of a projection: what was run, from which origin, with which versions."""
    spec = prep.projection
    rules = spec.robustness
    return {
        "command": "sim project",
        "scenario": prep.scenario.name,
        "scenario_file": str(Path(scenario_path).resolve()),
        "seed": prep.scenario.seed,
        "record_years": [int(prep.world.years[0]), int(prep.world.years[-1])],
        "origin": prep.origin,
        "indicators_after_origin": spec.indicators,
        "projected_years": [ex.years[0], ex.years[-1]],
        "futures": n_futures,
        "replications": n_reps,
        "strategies": {
            s.label: {"policy": s.policy, "params": s.params, "firm": s.firm}
            for s in prep.strategies
        },
        "start_from": spec.start_from,
        "uncertainties": spec.uncertainties.ranges(),
        "robustness": {
            "outcome": rules.outcome,
            "direction": rules.direction,
            "satisficing": criterion_text(rules),
        },
        "random_numbers": "run r of strategy L in a future: SeedSequence(seed, spawn_key="
        "(stream_key(L), future_point(values), r)); futures: EMA LHS seeded with seed",
        "versions": versions(PROJECT_PACKAGES),
        "timings_s": {k: round(v, 2) for k, v in timings.items()},
    }


def _write_outputs(
    tmp: Path, tables: dict[str, pd.DataFrame], labels: list[str], name: str
) -> None:
    """The projection's tables (CSV, the robustness table also as Markdown) and figures."""
    for stem, frame in tables.items():
        frame.to_csv(tmp / f"{stem}.csv", index=False)
    (tmp / "robustness.md").write_text(
        tables["robustness"].to_markdown(index=False, floatfmt=".3g") + "\n", encoding="utf-8"
    )
    figures = tmp / "figures"
    figures.mkdir()
    fan_chart(tables["yearly"], labels, figures / "fan_chart.png", name)
    mix_chart(tables["mix_by_year"], labels, "mode", figures / "mode_mix.png")
    mix_chart(tables["mix_by_year"], labels, "region", figures / "region_mix.png")


@dataclass(frozen=True)
class FuturesFlags:
    """The flags ``sim project`` and ``sim backtest`` share (``None``: the section's value).

    Attributes:
        futures: Futures sampled.
        replications: Runs per strategy and future.
        workers: Processes of the evaluator (1: in this process; a small projection runs in
            this process whatever it says, see :data:`~.exploration.SMALL_PROJECTION`).
    """

    futures: int | None = None
    replications: int | None = None
    workers: int = 1

    def budget(self, spec: Projection) -> tuple[int, int]:
        """Futures and runs per strategy and future: the flags', else the section's."""
        return self.futures or spec.futures, self.replications or spec.replications


#: Every futures flag left to the projection section (one worker).
DEFAULT_FLAGS = FuturesFlags()


def projection_of(scenario_path: str | Path) -> tuple[Scenario, Projection, str]:
    """The scenario, its projection section and its name in messages; the extra checked.

    Raises:
        SimInputError: a bad scenario, no projection section, or the 'project' extra missing.
    """
    source = str(scenario_path)
    scenario = load_scenario(scenario_path)
    spec = scenario.projection
    if spec is None:
        raise SimInputError(
            source, "has no projection: section (see README, Projections)", field="projection"
        )
    require_ema(source)
    return scenario, spec, source


def run_projection(
    scenario_path: str | Path,
    out_dir: str | Path | None = None,
    flags: FuturesFlags = DEFAULT_FLAGS,
    overwrite: bool = False,
    results_root: str | Path = "results",
    origin: int | None = None,
) -> ProjectionRun:
    """Run ``sim project`` (see the module docstring); returns the tables it wrote.

    Raises:
        SimInputError: bad scenario, projection section, origin, output folder, or a missing
            extra.
    """
    start = time.perf_counter()
    scenario, spec, source = projection_of(scenario_path)
    n_futures, n_reps = flags.budget(spec)
    target = Path(out_dir) if out_dir else Path(results_root) / f"{scenario.name}-projection"
    check_output_dir(target, overwrite=overwrite, known=PROJECTION_OUTPUTS, protect=[scenario_path])
    prep = prepare_projection(scenario, source, origin, n_reps)
    scenario, data, world, strategies, model = (
        prep.scenario,
        prep.data,
        prep.world,
        prep.strategies,
        prep.model,
    )
    # The record line of the fan chart counts the compared modes, as the projected deals do.
    compared = encode_record(scenario.record(data), world)
    labels = [s.label for s in strategies]
    t0 = time.perf_counter()
    ex = explore(model, labels, n_futures, scenario.seed, flags.workers)
    runs_s = time.perf_counter() - t0
    rules = spec.robustness
    ok = satisfices(ex.table, rules)
    table = ex.table.assign(satisfices=ok)
    robust = robustness_table(table, rules)
    boxes = discover(table, ok, ex.uncertainties, spec.uncertainties.ranges())
    done = compared[compared["blocked"] == 0]
    record_years = pd.Series(done["year"]).value_counts().reindex(world.years, fill_value=0)
    yearly = _yearly(ex, record_years)
    mix = _mix(ex, world.regions)
    carried = carried_forward(world, ex.years, data.indicators)
    regime = regime_notes(
        world, ex.years, spec.uncertainties, scenario.firm, scenario.calibration.window
    )
    with ResultFolder(
        target,
        "project",
        overwrite=overwrite,
        known=PROJECTION_OUTPUTS,
        protect=[scenario_path],
    ) as folder:
        tmp = folder.staging
        tables = {
            "experiments": table,
            "yearly": yearly,
            "mix_by_year": mix,
            "robustness": robust,
            "prim_boxes": boxes,
            "carried_forward": carried,
        }
        _write_outputs(tmp, tables, labels, scenario.name)
        seconds = time.perf_counter() - start
        manifest = _manifest(
            prep, scenario_path, ex, n_futures, n_reps, {"runs": runs_s, "total": seconds}
        )
        write_manifest(tmp, manifest)
        (tmp / "report.md").write_text(
            report_text(
                scenario, spec, ex, robust, boxes, carried, rules, n_reps, seconds, yearly, regime
            ),
            encoding="utf-8",
        )
    return ProjectionRun(target, robust, boxes, ex, seconds)
