"""``sim run``: scenario file -> validated config -> runs -> tidy tables -> fit -> figures, report.

Everything is written into a temporary directory that replaces the results directory only when
complete, so an interrupted or failed run leaves no half-written results.
"""

from __future__ import annotations

import logging
import platform
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.analysis.ensemble import events_table
from sim.analysis.fit import PATTERN_COLUMNS
from sim.analysis.report import build_report, p_text, row_of, score_text
from sim.events import empty_events
from sim.experiment.experiment import Experiment, Options, Tables, analyse, plan, run
from sim.experiment.plan import Task
from sim.experiment.store import code_version
from sim.io import MARKER, ResultFolder, check_output_dir
from sim.provenance import git_commit, versions, write_manifest
from sim.scenario import Scenario, load_scenario, override
from sim.world import regime_outside

#: What ``sim run`` writes into its folder: a folder holding only these (a result of a ``sim``
#: older than the marker file) is replaced like a marked one.
RUN_OUTPUTS = frozenset(
    {
        "events.parquet",
        "events.csv",
        "yearly.csv",
        "summary.csv",
        "fit.csv",
        "sweep.csv",
        "figures",
        "report.md",
        "manifest.json",
        MARKER,
    }
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunResult:
    """What a finished ``sim run`` produced."""

    out_dir: Path
    fit: pd.DataFrame
    patterns: pd.DataFrame
    summary: pd.DataFrame
    timings: dict[str, float]
    computed: int = 0
    reused: int = 0


def data_firm_name(scenario: Scenario) -> str:
    """The simulated firm as the report names it (synthetic firms say so)."""
    profile = scenario.firm_profile()
    mark = " (SYNTHETIC TEST FIRM)" if profile.synthetic else ""
    return f"{profile.name}{mark}, home {profile.home_iso3}"


def _fit_long(fit: pd.DataFrame, patterns: pd.DataFrame) -> pd.DataFrame:
    measures = [
        c
        for c in fit.columns
        if c.startswith(("count_score", "mix_score")) or c == "patterns_joint_p"
    ]
    fit_rows = fit.melt(id_vars="strategy", value_vars=measures, var_name="metric")
    fit_rows.insert(1, "kind", "fit")
    pat = patterns.rename(columns={"pattern": "metric"}).drop(columns="description")
    pat.insert(1, "kind", "pattern")
    cols = ["strategy", "kind", "metric", "value", *PATTERN_COLUMNS[2:]]
    return pd.concat([fit_rows, pat], ignore_index=True).reindex(columns=cols)


CSV_ROW_LIMIT = 2_000_000
ROW_GROUP = 131_072
MAX_FIGURE_GROUPS = 8


class EventExport:
    """Streams chunks, in order, into events.parquet (fixed row groups) and events.csv.

    Row groups have a fixed size whatever the chunking, so the files are byte-identical across
    executors and chunk sizes. The CSV copy is skipped above ``CSV_ROW_LIMIT`` rows. Fed by
    :func:`compare` as it reads each chunk, so every chunk is read from disk once.
    """

    def __init__(self, experiment: Experiment, out: Path) -> None:
        self.total = sum(
            pq.ParquetFile(experiment.store.path(t)).metadata.num_rows for t in experiment.tasks
        )
        self.write_csv = self.total <= CSV_ROW_LIMIT
        self.out = out
        self.world, self.labels = experiment.world, experiment.labels
        self.writer: pq.ParquetWriter | None = None
        self.buffer: list[pa.Table] = []
        self.buffered = 0
        self.csv_header = True

    def _flush(self, n_rows: int) -> None:
        table = pa.concat_tables(self.buffer)
        head, rest = table.slice(0, n_rows), table.slice(n_rows)
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.out / "events.parquet", head.schema)
        self.writer.write_table(head, row_group_size=ROW_GROUP)
        self.buffer, self.buffered = ([rest] if rest.num_rows else []), rest.num_rows

    def add(self, group: int, _task: Task, events: np.ndarray) -> None:
        """Append one chunk's events, labelled with its group (strategy point)."""
        events = events.copy()
        events["strategy"] = group
        table = events_table(events, self.labels, self.world)
        self.buffer.append(table)
        self.buffered += table.num_rows
        while self.buffered >= ROW_GROUP:
            self._flush(ROW_GROUP)
        if self.write_csv:
            table.to_pandas().to_csv(
                self.out / "events.csv", mode="a", header=self.csv_header, index=False
            )
            self.csv_header = False

    def close(self) -> None:
        """Write what is buffered (an empty table when there were no events) and close."""
        if self.buffered or self.writer is None:
            if not self.buffer:
                self.buffer = [events_table(empty_events(), self.labels, self.world)]
            self._flush(sum(t.num_rows for t in self.buffer))
        if self.writer is not None:
            self.writer.close()


def _figure_groups(fit: pd.DataFrame, oracles: set[str]) -> list[str]:
    """The groups drawn in figures: all but the oracles, or the best by count likelihood.

    An oracle copies the record's yearly counts, so drawn beside the record it hides it and
    says nothing; it stays in the tables, labelled.
    """
    fit = fit[~fit["strategy"].isin(oracles)]
    if len(fit) <= MAX_FIGURE_GROUPS:
        return fit["strategy"].tolist()
    return fit.nlargest(MAX_FIGURE_GROUPS, "count_score")["strategy"].tolist()


@dataclass(frozen=True)
class RunTables(Tables):
    """Every table ``sim run`` writes, and what its event export wrote.

    Attributes:
        n_events: Simulated events written to ``events.parquet``.
        wrote_csv: Whether ``events.csv`` was written (it is skipped above ``CSV_ROW_LIMIT``).
    """

    n_events: int
    wrote_csv: bool


def analyse_and_export_events(
    experiment: Experiment, history: pd.DataFrame, out: Path
) -> RunTables:
    """Read every stored chunk once: write the event files while comparing with the record."""
    export = EventExport(experiment, out)
    tables = analyse(experiment, history, sink=export.add)
    export.close()
    return RunTables(**vars(tables), n_events=export.total, wrote_csv=export.write_csv)


def write_tables(tables: RunTables, out: Path) -> None:
    """Write ``yearly.csv``, ``summary.csv``, ``fit.csv`` and (for a sweep) ``sweep.csv``."""
    tables.yearly.to_csv(out / "yearly.csv", index=False, float_format="%.6g")
    tables.summary.to_csv(out / "summary.csv", index=False, float_format="%.6g")
    _fit_long(tables.fit, tables.patterns).to_csv(out / "fit.csv", index=False, float_format="%.6g")
    if tables.sweep is not None:
        tables.sweep.to_csv(out / "sweep.csv", index=False, float_format="%.6g")


def draw_figures(tables: RunTables, out: Path, scenario: Scenario) -> list[str]:
    """Draw the four figures into ``out/figures`` (at most ``MAX_FIGURE_GROUPS`` strategies).

    The deals-per-year figure marks the scenario's calibration and validation windows, so a
    reader sees which years a fitted strategy was fitted on and which it forecasts.

    Returns:
        The figure file names, in the order the report shows them.
    """
    oracles = {s.label for s in scenario.strategies if s.policy_class().matches_record_counts}
    drawn = tables.comparison.subset(_figure_groups(tables.fit, oracles))
    # Imported here: matplotlib is only needed once the runs are done.
    from sim.analysis.run_plots import plot_deals_per_year, plot_mix, plot_top_countries

    figures = out / "figures"
    return [
        plot_deals_per_year(
            tables.yearly,
            drawn.labels,
            figures / "deals_per_year.png",
            (scenario.calibration.window, scenario.calibration.validation),
        ).name,
        plot_mix("mode", drawn, figures / "mode_mix.png").name,
        plot_mix("region", drawn, figures / "region_mix.png").name,
        plot_top_countries(drawn, figures / "top_countries.png").name,
    ]


def build_run_report(
    experiment: Experiment,
    scenario_path: str | Path,
    history: pd.DataFrame,
    tables: RunTables,
    figures: list[str],
) -> str:
    """The text of ``report.md``: header, fit, patterns, readings, figures (and the sweep)."""
    scenario = experiment.scenario
    header = {
        "scenario": f"`{scenario.name}` ({Path(scenario_path).name})",
        "years": f"{scenario.years[0]}-{scenario.years[1]}",
        "runs": f"{sum(p.replications for p in experiment.points)} in "
        f"{len(experiment.points)} strategy points, seed {scenario.seed}",
        "firm": f"{data_firm_name(scenario)}",
        "record scope": f"`{scenario.scope}` ({len(history)} events), "
        f"markets coded by {scenario.history.coding}",
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    outside = regime_outside(experiment.world, scenario.calibration.window)
    if outside:
        header["home regime out of its calibration range"] = "; ".join(outside)
    copied = frozenset(
        p.label
        for p in experiment.points
        if scenario.strategies[p.strategy].policy_class().matches_record_counts
    )
    report = build_report(
        f"Scenario `{scenario.name}`",
        scenario.description,
        header,
        tables.fit,
        tables.patterns,
        tables.summary,
        tables.yearly,
        figures,
        copied,
    )
    if tables.sweep is not None:
        report += _sweep_markdown(tables.sweep)
    if not tables.wrote_csv:
        report += (
            f"\n`events.csv` was not written: {tables.n_events} events exceed "
            f"{CSV_ROW_LIMIT}; use `events.parquet`.\n"
        )
    return report


def build_manifest(
    experiment: Experiment,
    scenario_path: str | Path,
    options: Options,
    timings: dict[str, float],
    n_events: int,
) -> dict[str, Any]:
    """What ``manifest.json`` records: the resolved config, points, versions and execution."""
    scenario = experiment.scenario
    return {
        "scenario_file": str(Path(scenario_path).resolve()),
        "config": scenario.model_dump(mode="json"),
        "seed": scenario.seed,
        "replications": scenario.replications,
        "points": [
            {
                "label": p.label,
                "params": p.params,
                "swept": p.swept,
                "replications": p.replications,
            }
            for p in experiment.points
        ],
        "versions": versions(),
        "code_version": code_version(),
        "git_commit": git_commit(),
        "platform": platform.platform(),
        "execution": {
            "executor": experiment.executor,
            "executor_requested": options.executor,
            "workers": options.workers,
            "chunk_size": options.chunk_size,
            "chunks": len(experiment.tasks),
            "chunks_computed": experiment.computed,
            "chunks_reused": experiment.reused,
            "chunk_store": str(experiment.store.dir),
        },
        "timings_s": timings,
        "events": n_events,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def load_with_overrides(
    scenario_path: str | Path, replications: int | None, seed: int | None
) -> Scenario:
    """The scenario file, with the command line's replications and seed if given."""
    scenario = load_scenario(scenario_path)
    updates = {
        k: v for k, v in {"replications": replications, "seed": seed}.items() if v is not None
    }
    return override(scenario, updates, scenario_path) if updates else scenario


def run_scenario(
    scenario_path: str | Path,
    out_dir: str | Path | None = None,
    replications: int | None = None,
    seed: int | None = None,
    results_root: str | Path = "results",
    options: Options | None = None,
    overwrite: bool = False,
) -> RunResult:
    """Run every strategy (and sweep point) of a scenario and write all outputs.

    Args:
        scenario_path: The scenario YAML file.
        out_dir: Output directory; default ``results/<scenario name>``.
        replications: Overrides the scenario's replications.
        seed: Overrides the scenario's seed.
        results_root: Parent of the default output directory.
        options: How to execute (executor, workers, chunk size, progress); results do not
            depend on them.
        overwrite: Write into ``out_dir`` even if it holds files that are not a ``sim`` result
            (they are kept: only sim's previous results there are replaced).

    Raises:
        SimInputError: bad scenario, data or output folder (checked before any run).
    """
    options = options or Options()
    t0 = time.perf_counter()
    scenario = load_with_overrides(scenario_path, replications, seed)
    target = Path(out_dir) if out_dir is not None else Path(results_root) / scenario.name
    check_output_dir(target, overwrite=overwrite, known=RUN_OUTPUTS, protect=[scenario_path])
    data = scenario.load_data(scenario_path)
    folder = ResultFolder(
        target,
        "run",
        overwrite=overwrite,
        known=RUN_OUTPUTS,
        protect=[scenario_path],
        cache=options.cache,
    )
    with folder:
        experiment = plan(scenario, data, folder.cache, options, source=str(scenario_path))
        t1 = time.perf_counter()
        log.info(
            "%s: %d points, %d chunks, output %s",
            scenario.name,
            len(experiment.points),
            len(experiment.tasks),
            target,
        )
        run(experiment, options)
        t2 = time.perf_counter()
        log.info(
            "runs done on %s: %d chunks computed, %d reused (%.1f s)",
            experiment.executor,
            experiment.computed,
            experiment.reused,
            t2 - t1,
        )
        timings = {"load_and_build_s": t1 - t0, "runs_s": t2 - t1}
        tables = _write_run(
            experiment, scenario_path, scenario.record(data), folder, options, timings
        )
    return RunResult(
        out_dir=target,
        fit=tables.fit,
        patterns=tables.patterns,
        summary=tables.summary,
        timings=timings,
        computed=experiment.computed,
        reused=experiment.reused,
    )


def _write_run(
    experiment: Experiment,
    scenario_path: str | Path,
    history: pd.DataFrame,
    folder: ResultFolder,
    options: Options,
    timings: dict[str, float],
) -> RunTables:
    """Analyse a finished experiment and write every output into the folder's staging area."""
    t2 = time.perf_counter()
    tmp = folder.staging
    tables = analyse_and_export_events(experiment, history, tmp)
    write_tables(tables, tmp)
    figures = draw_figures(tables, tmp, experiment.scenario)
    timings["analysis_and_output_s"] = time.perf_counter() - t2
    report = build_run_report(experiment, scenario_path, history, tables, figures)
    (tmp / "report.md").write_text(report, encoding="utf-8")
    manifest = build_manifest(experiment, scenario_path, options, timings, tables.n_events)
    write_manifest(tmp, manifest, final_newline=False)
    return tables


def _sweep_markdown(sweep: pd.DataFrame) -> str:
    top = sweep.sort_values("count_score", ascending=False).head(10)
    shown = top.copy()
    for col in shown.columns:
        if shown[col].dtype.kind == "f":
            shown[col] = shown[col].map("{:.3g}".format)
    lines = [
        "",
        "## Sweep",
        "",
        f"{len(sweep)} points; the ten with the highest count score (all in `sweep.csv`):",
        "",
        "| " + " | ".join(shown.columns) + " |",
        "| " + " | ".join("---" for _ in shown.columns) + " |",
    ]
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in shown.itertuples(index=False)]
    return "\n".join(lines) + "\n"


def _count_columns(f: dict[str, Any]) -> dict[str, str]:
    """Count scores in and out of sample when the run holds both windows, else over all years."""
    if "count_score_calibration" in f and pd.notna(f["count_score_calibration"]):
        return {
            "counts in-sample": score_text(
                f["count_score_calibration"], f["count_score_calibration_se"]
            ),
            "counts out-of-sample": score_text(
                f["count_score_validation"], f["count_score_validation_se"]
            ),
        }
    return {"count score": score_text(f["count_score"], f["count_score_se"])}


def terminal_table(result: RunResult) -> str:
    """A short comparison table for the terminal."""

    def pct(value: float) -> str:
        return "no events" if pd.isna(value) else f"{100 * value:.1f}%"

    def num(value: float, spec: str) -> str:
        return "no events" if pd.isna(value) else format(value, spec)

    shares = ("mode_share_control", "mode_share_minority", "top_market_share_median")
    rec = row_of(result.summary, "record")
    if rec["events_median"] == 0:
        rec |= dict.fromkeys(shares, float("nan"))
    rows = []
    for label in result.fit["strategy"]:
        s = row_of(result.summary, label)
        if s["events_p95"] == 0:  # no run had an event: shares are undefined, not 0 %
            s |= dict.fromkeys(shares, float("nan"))
        f = row_of(result.fit, label)
        rows.append(
            {
                "strategy": label,
                "events [5-95%]": (
                    f"{s['events_median']:.0f} [{s['events_p05']:.0f}-{s['events_p95']:.0f}]"
                ),
                "control": pct(s["mode_share_control"]),
                "equity": pct(s["mode_share_control"] + s["mode_share_minority"]),
                "top market": pct(s["top_market_share_median"]),
                **_count_columns(f),
                "mix score": score_text(f["mix_score"], f["mix_score_se"]),
                "joint p": (
                    "no events in this window"
                    if rec["events_median"] == 0
                    else p_text(f["patterns_joint_p"])
                ),
            }
        )
    rows.append(
        {
            "strategy": "record",
            "events [5-95%]": f"{rec['events_median']:.0f}",
            "control": pct(rec["mode_share_control"]),
            "equity": pct(rec["mode_share_control"] + rec["mode_share_minority"]),
            "top market": pct(rec["top_market_share_median"]),
            **{k: "" for k in (rows[0] if rows else {"count score": ""}) if k.startswith("count")},
            "mix score": "",
            "joint p": "",
        }
    )
    return pd.DataFrame(rows).to_string(index=False)
