"""``sim run``: scenario file -> validated config -> runs -> tidy tables -> fit -> figures, report.

Everything is written into a temporary directory that replaces the results directory only when
complete, so an interrupted or failed run leaves no half-written results.
"""

from __future__ import annotations

import json
import platform
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from sim.analysis.ensemble import Comparison, encode_record, summarise_runs, tidy_events
from sim.analysis.fit import compare_strategies
from sim.analysis.record_summary import in_scope
from sim.analysis.report import build_report
from sim.analysis.run_plots import plot_deals_per_year, plot_mix, plot_top_countries
from sim.analysis.tables import summary_table, yearly_table
from sim.data import load_dataset
from sim.experiment.runner import Ensemble, run_strategies
from sim.io import atomic_dir
from sim.scenario import Scenario, load_scenario
from sim.world import World, build_world

PACKAGES = ("sim", "mesa", "numpy", "pandas", "scipy", "pydantic", "matplotlib", "pyarrow")


@dataclass(frozen=True)
class RunResult:
    """What a finished ``sim run`` produced."""

    out_dir: Path
    fit: pd.DataFrame
    patterns: pd.DataFrame
    summary: pd.DataFrame
    timings: dict[str, float]


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
    measures = ["nb_loglik", "poisson_loglik", "jsd_region", "jsd_mode", "jsd_country"]
    fit_rows = fit.melt(id_vars="strategy", value_vars=measures, var_name="metric")
    fit_rows.insert(1, "kind", "fit")
    pat = patterns.rename(columns={"pattern": "metric"}).drop(columns="description")
    pat.insert(1, "kind", "pattern")
    cols = [
        "strategy",
        "kind",
        "metric",
        "value",
        "observed",
        "median",
        "p05",
        "p95",
        "tolerance",
        "quantile",
        "hit",
    ]
    return pd.concat([fit_rows, pat], ignore_index=True).reindex(columns=cols)


def compare(ensemble: Ensemble, history: pd.DataFrame, world: World) -> Comparison:
    """Per-run statistics of the ensemble beside those of the record."""
    events = ensemble.events
    n_runs = len(ensemble.labels) * ensemble.replications
    run = events[:, 0] * ensemble.replications + events[:, 2]
    record = encode_record(history, world)
    return Comparison(
        simulated=summarise_runs(events[:, 3:7], run, n_runs, world),
        observed=summarise_runs(record, np.zeros(record.shape[0], dtype=np.int64), 1, world),
        strategy_of_run=np.repeat(np.arange(len(ensemble.labels)), ensemble.replications),
        labels=ensemble.labels,
        world=world,
    )


def run_scenario(
    scenario_path: str | Path,
    out_dir: str | Path | None = None,
    replications: int | None = None,
    seed: int | None = None,
    results_root: str | Path = "results",
) -> RunResult:
    """Run every strategy of a scenario and write all outputs (see the README for the files).

    Args:
        scenario_path: The scenario YAML file.
        out_dir: Output directory; default ``results/<scenario name>``.
        replications: Overrides the scenario's replications.
        seed: Overrides the scenario's seed.
        results_root: Parent of the default output directory.
    """
    t0 = time.perf_counter()
    scenario = load_scenario(scenario_path)
    updates = {
        k: v for k, v in {"replications": replications, "seed": seed}.items() if v is not None
    }
    if updates:
        scenario = Scenario.model_validate(scenario.model_dump() | updates)
    target = Path(out_dir) if out_dir is not None else Path(results_root) / scenario.name
    data = load_dataset(scenario.data_paths())
    world = build_world(data, scenario, source=str(scenario_path))
    t1 = time.perf_counter()
    ensemble = run_strategies(
        world, scenario.strategies, scenario.firm, scenario.seed, scenario.replications
    )
    t2 = time.perf_counter()
    history = in_scope(data.events, scenario.history.scope)
    comparison = compare(ensemble, history, world)
    fit, patterns = compare_strategies(comparison)
    yearly = yearly_table(comparison)
    summary = summary_table(comparison)
    with atomic_dir(target) as tmp:
        tidy = tidy_events(ensemble.events, ensemble.labels, world)
        tidy.to_parquet(tmp / "events.parquet", index=False)
        tidy.to_csv(tmp / "events.csv", index=False)
        yearly.to_csv(tmp / "yearly.csv", index=False, float_format="%.6g")
        summary.to_csv(tmp / "summary.csv", index=False, float_format="%.6g")
        _fit_long(fit, patterns).to_csv(tmp / "fit.csv", index=False, float_format="%.6g")
        figures = tmp / "figures"
        names = [
            plot_deals_per_year(yearly, ensemble.labels, figures / "deals_per_year.png").name,
            plot_mix("mode", comparison, figures / "mode_mix.png").name,
            plot_mix("region", comparison, figures / "region_mix.png").name,
            plot_top_countries(comparison, figures / "top_countries.png").name,
        ]
        t3 = time.perf_counter()
        timings = {"load_and_build_s": t1 - t0, "runs_s": t2 - t1, "analysis_and_output_s": t3 - t2}
        header = {
            "scenario": f"`{scenario.name}` ({Path(scenario_path).name})",
            "years": f"{scenario.years[0]}-{scenario.years[1]}",
            "runs": f"{scenario.replications} per strategy, seed {scenario.seed}",
            "record scope": f"`{scenario.history.scope}` ({len(history)} events)",
            "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        }
        copied = frozenset(
            s.label for s in scenario.strategies if s.policy_class().matches_record_counts
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
        (tmp / "report.md").write_text(report, encoding="utf-8")
        manifest = {
            "scenario_file": str(Path(scenario_path).resolve()),
            "config": scenario.model_dump(mode="json"),
            "seed": scenario.seed,
            "replications": scenario.replications,
            "versions": _versions(),
            "git_commit": _git_commit(),
            "platform": platform.platform(),
            "timings_s": timings,
            "events": int(ensemble.events.shape[0]),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return RunResult(out_dir=target, fit=fit, patterns=patterns, summary=summary, timings=timings)


def terminal_table(result: RunResult) -> str:
    """A short comparison table for the terminal."""
    fit = result.fit.set_index("strategy")
    summary = result.summary.set_index("strategy")
    rows = []
    for label in fit.index:
        s = summary.loc[label]
        rows.append(
            {
                "strategy": label,
                "events [5-95%]": (
                    f"{s['events_median']:.0f} [{s['events_p05']:.0f}-{s['events_p95']:.0f}]"
                ),
                "control": f"{100 * s['mode_share_control']:.1f}%",
                "equity": f"{100 * (s['mode_share_control'] + s['mode_share_minority']):.1f}%",
                "US": f"{100 * s['us_share_median']:.1f}%",
                "NB loglik": f"{fit.loc[label, 'nb_loglik']:.1f}",
                "JSD region": f"{fit.loc[label, 'jsd_region']:.3f}",
                "patterns": f"{fit.loc[label, 'patterns_hit']}/{fit.loc[label, 'patterns_total']}",
            }
        )
    rec = summary.loc["record"]
    rows.append(
        {
            "strategy": "record",
            "events [5-95%]": f"{rec['events_median']:.0f}",
            "control": f"{100 * rec['mode_share_control']:.1f}%",
            "equity": f"{100 * (rec['mode_share_control'] + rec['mode_share_minority']):.1f}%",
            "US": f"{100 * rec['us_share_median']:.1f}%",
            "NB loglik": "",
            "JSD region": "",
            "patterns": "",
        }
    )
    return pd.DataFrame(rows).to_string(index=False)
