"""``sim run``: scenario file -> validated config -> runs -> tidy tables -> fit -> figures, report.

Everything is written into a temporary directory that replaces the results directory only when
complete, so an interrupted or failed run leaves no half-written results.
"""

from __future__ import annotations

import json
import logging
import platform
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.analysis.ensemble import events_table
from sim.analysis.fit import PATTERN_COLUMNS, compare_strategies
from sim.analysis.report import build_report, p_text, score_text
from sim.analysis.tables import summary_table, yearly_table
from sim.data import load_dataset
from sim.data.taxonomy import in_history
from sim.errors import SimInputError
from sim.events import empty_events
from sim.experiment.experiment import Experiment, Options, compare, plan, run
from sim.experiment.plan import Task
from sim.experiment.store import code_version
from sim.io import MARKER, atomic_dir, check_output_dir, ensure_writable_dir
from sim.scenario import Scenario, load_scenario, parse_scenario

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
PACKAGES = ("sim", "mesa", "numpy", "pandas", "scipy", "pydantic", "matplotlib", "pyarrow")


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


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
            timeout=5,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _fit_long(fit: pd.DataFrame, patterns: pd.DataFrame) -> pd.DataFrame:
    measures = ["count_score", "count_score_se", "mix_score", "mix_score_se", "patterns_joint_p"]
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


def _figure_groups(fit: pd.DataFrame) -> list[str]:
    """The groups drawn in figures: all, or the best by count likelihood when there are many."""
    if len(fit) <= MAX_FIGURE_GROUPS:
        return fit["strategy"].tolist()
    return fit.nlargest(MAX_FIGURE_GROUPS, "count_score")["strategy"].tolist()


def _sweep_table(experiment: Experiment, fit: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """One row per swept point: its parameter values and outcomes."""
    rows = []
    f = fit.set_index("strategy")
    s = summary.set_index("strategy")
    for pt in experiment.points:
        if not pt.swept:
            continue
        row = {
            "strategy": experiment.scenario.strategies[pt.strategy].label,
            "point": pt.point,
            **pt.swept,
            "runs": pt.replications,
        }
        row |= s.loc[
            pt.label,
            [
                "events_median",
                "events_p05",
                "events_p95",
                "distinct_countries_median",
                "top_market_share_median",
                "mode_share_control",
                "mode_share_minority",
                "mode_share_cooperation",
                "mode_share_other",
            ],
        ].to_dict()
        row |= f.loc[
            pt.label,
            ["count_score", "count_score_se", "mix_score", "mix_score_se", "patterns_joint_p"],
        ].to_dict()
        rows.append(row)
    return pd.DataFrame(rows)


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
        overwrite: Replace ``out_dir`` even if it holds files that are not a ``sim`` result.

    Raises:
        SimInputError: bad scenario, data or output folder (checked before any run).
    """
    options = options or Options()
    t0 = time.perf_counter()
    scenario = load_scenario(scenario_path)
    updates = {
        k: v for k, v in {"replications": replications, "seed": seed}.items() if v is not None
    }
    if updates:
        scenario = _override(scenario, updates, scenario_path)
    target = Path(out_dir) if out_dir is not None else Path(results_root) / scenario.name
    check_output_dir(target, overwrite=overwrite, known=RUN_OUTPUTS)
    data = load_dataset(scenario.data_paths())
    chunk_root = ensure_writable_dir(target.parent) / ".chunks"
    experiment = plan(scenario, data, chunk_root, options, source=str(scenario_path))
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
    history = in_history(data.events, scenario.history.scope, scenario.history.modes)
    with atomic_dir(target, overwrite=overwrite, known=RUN_OUTPUTS, command="run") as tmp:
        export = EventExport(experiment, tmp)
        comparison = compare(experiment, history, sink=export.add)
        export.close()
        n_events, wrote_csv = export.total, export.write_csv
        fit, patterns = compare_strategies(comparison, scenario.seed)
        yearly = yearly_table(comparison)
        summary = summary_table(comparison)
        yearly.to_csv(tmp / "yearly.csv", index=False, float_format="%.6g")
        summary.to_csv(tmp / "summary.csv", index=False, float_format="%.6g")
        _fit_long(fit, patterns).to_csv(tmp / "fit.csv", index=False, float_format="%.6g")
        sweep = _sweep_table(experiment, fit, summary) if scenario.sweep else None
        if sweep is not None:
            sweep.to_csv(tmp / "sweep.csv", index=False, float_format="%.6g")
        shown = _figure_groups(fit)
        drawn = comparison.subset(shown)
        # Imported here: matplotlib is only needed once the runs are done.
        from sim.analysis.run_plots import plot_deals_per_year, plot_mix, plot_top_countries

        figures = tmp / "figures"
        names = [
            plot_deals_per_year(yearly, drawn.labels, figures / "deals_per_year.png").name,
            plot_mix("mode", drawn, figures / "mode_mix.png").name,
            plot_mix("region", drawn, figures / "region_mix.png").name,
            plot_top_countries(drawn, figures / "top_countries.png").name,
        ]
        t3 = time.perf_counter()
        timings = {
            "load_and_build_s": t1 - t0,
            "runs_s": t2 - t1,
            "analysis_and_output_s": t3 - t2,
        }
        header = {
            "scenario": f"`{scenario.name}` ({Path(scenario_path).name})",
            "years": f"{scenario.years[0]}-{scenario.years[1]}",
            "runs": f"{sum(p.replications for p in experiment.points)} in "
            f"{len(experiment.points)} strategy points, seed {scenario.seed}",
            "record scope": f"`{scenario.history.scope}` ({len(history)} events)",
            "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        }
        copied = frozenset(
            p.label
            for p in experiment.points
            if scenario.strategies[p.strategy].policy_class().matches_record_counts
        )
        report = build_report(
            f"Scenario `{scenario.name}`",
            scenario.description,
            header,
            fit,
            patterns,
            summary,
            yearly,
            names,
            copied,
        )
        if sweep is not None:
            report += _sweep_markdown(sweep)
        if not wrote_csv:
            report += (
                f"\n`events.csv` was not written: {n_events} events exceed "
                f"{CSV_ROW_LIMIT}; use `events.parquet`.\n"
            )
        (tmp / "report.md").write_text(report, encoding="utf-8")
        manifest = {
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
            "versions": _versions(),
            "code_version": code_version(),
            "git_commit": _git_commit(),
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
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return RunResult(
        out_dir=target,
        fit=fit,
        patterns=patterns,
        summary=summary,
        timings=timings,
        computed=experiment.computed,
        reused=experiment.reused,
    )


def _override(scenario: Scenario, updates: dict[str, int], source: str | Path) -> Scenario:
    """The scenario with command-line overrides, validated like the file (one-line errors)."""
    raw = scenario.model_dump(mode="json", exclude_unset=False) | updates
    try:
        return parse_scenario(raw, Path(source))
    except SimInputError as exc:
        flag = f"--{exc.field}" if exc.field in updates else None
        if flag is None:
            raise
        raise SimInputError(source, f"{flag}: {exc.message}", field=exc.field) from None


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


def terminal_table(result: RunResult) -> str:
    """A short comparison table for the terminal."""
    fit = result.fit.set_index("strategy")
    summary = result.summary.set_index("strategy")

    def pct(value: float) -> str:
        return "no events" if pd.isna(value) else f"{100 * value:.1f}%"

    def num(value: float, spec: str) -> str:
        return "no events" if pd.isna(value) else format(value, spec)

    rec = summary.loc["record"].copy()
    if rec["events_median"] == 0:
        rec[["mode_share_control", "mode_share_minority", "top_market_share_median"]] = float("nan")
    rows = []
    for label in fit.index:
        s = summary.loc[label]
        if s["events_p95"] == 0:  # no run had an event: shares are undefined, not 0 %
            s = s.copy()
            s[["mode_share_control", "mode_share_minority", "top_market_share_median"]] = float(
                "nan"
            )
        f = fit.loc[label]
        rows.append(
            {
                "strategy": label,
                "events [5-95%]": (
                    f"{s['events_median']:.0f} [{s['events_p05']:.0f}-{s['events_p95']:.0f}]"
                ),
                "control": pct(s["mode_share_control"]),
                "equity": pct(s["mode_share_control"] + s["mode_share_minority"]),
                "top market": pct(s["top_market_share_median"]),
                "count score": score_text(f["count_score"], f["count_score_se"]),
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
            "count score": "",
            "mix score": "",
            "joint p": "",
        }
    )
    return pd.DataFrame(rows).to_string(index=False)
