"""The ``sim`` command line: parse arguments, call the library, print results.

Bad input ends in one line on stderr naming the file and field, and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from sim.errors import SimInputError

EXIT_BAD_INPUT = 2
EXIT_RUN_FAILED = 1


def _add_data_paths(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data files (default: the packaged copies)")
    group.add_argument("--events", type=Path, help="historical deal record CSV")
    group.add_argument("--markets", type=Path, help="market attributes CSV")
    group.add_argument("--indicators", type=Path, help="yearly market indicators CSV")
    group.add_argument("--barriers", type=Path, help="dated barrier events CSV")
    group.add_argument("--finance", type=Path, help="firm's yearly financial figures CSV")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every ``sim`` sub-command."""
    from sim.data.taxonomy import DEFAULT_SCOPE, ENTITY_SCOPES

    parser = argparse.ArgumentParser(
        prog="sim",
        description="Agent-based simulator of a cross-border e-commerce firm's "
        "internationalization.",
    )
    from sim import __version__

    parser.add_argument("--version", action="version", version=f"sim {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="check and summarise the input data")
    data_commands = data.add_subparsers(dest="data_command", required=True)

    check = data_commands.add_parser("check", help="validate the data files")
    _add_data_paths(check)

    summary = data_commands.add_parser(
        "summary", help="aggregates of the historical record beside the paper's numbers"
    )
    _add_data_paths(summary)
    summary.add_argument(
        "--out",
        type=Path,
        default=Path("results/record"),
        help="directory for tables and figures (default: results/record)",
    )
    summary.add_argument(
        "--scope",
        choices=sorted(ENTITY_SCOPES),
        default=DEFAULT_SCOPE,
        help=f"which entities' deals count (default: {DEFAULT_SCOPE})",
    )
    run = commands.add_parser(
        "run", help="run a scenario file and compare strategies with the record"
    )
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument("--out", type=Path, help="output directory (default: results/<scenario name>)")
    run.add_argument("--replications", type=int, help="runs per strategy (overrides the file)")
    run.add_argument("--seed", type=int, help="root seed (overrides the file)")
    execution = run.add_argument_group("execution (never changes the results)")
    execution.add_argument(
        "--executor",
        choices=("serial", "local", "dask"),
        default="local",
        help="serial; local worker processes (default); dask cluster",
    )
    execution.add_argument("--workers", type=int, help="worker processes (default: all cores)")
    execution.add_argument(
        "--scheduler", help="dask scheduler address, e.g. tcp://host:8786 (default: a LocalCluster)"
    )
    execution.add_argument(
        "--chunk-size",
        type=int,
        default=250,
        help="replications per task and stored chunk (default: 250)",
    )
    execution.add_argument("--quiet", action="store_true", help="no progress bar")
    execution.add_argument(
        "--resume",
        action="store_true",
        help="reuse finished chunks of an interrupted run (the default)",
    )
    execution.add_argument(
        "--fresh", action="store_true", help="discard stored chunks of this run and recompute them"
    )

    scen = commands.add_parser("scenario", help="scenario files: validate, JSON Schema")
    scen_commands = scen.add_subparsers(dest="scenario_command", required=True)
    scen_check = scen_commands.add_parser("check", help="validate a scenario file and its data")
    scen_check.add_argument("scenario", type=Path)
    schema = scen_commands.add_parser("schema", help="print the JSON Schema of scenario files")
    schema.add_argument("--out", type=Path, help="write to this file instead of printing")

    commands.add_parser("policies", help="list policies with their parameters, defaults, ranges")

    cal = commands.add_parser(
        "calibrate",
        help="fit every strategy, validate out of sample, screen sensitivity, write a report",
    )
    cal.add_argument("scenario", type=Path)
    cal.add_argument("--out", type=Path, help="directory (default: results/<name>-calibration)")
    cal.add_argument("--quick", action="store_true", help="tiny budget (under a minute)")

    rec = commands.add_parser(
        "recover",
        help="model recovery: calibrate every strategy on records simulated from each one",
    )
    rec.add_argument("scenario", type=Path)
    rec.add_argument(
        "--out", type=Path, help="directory (default: results/<name>-calibration/recovery)"
    )
    rec.add_argument("--records", type=int, help="synthetic records per generator (default 20)")
    rec.add_argument("--trials", type=int, help="optimiser trials per fit (default 30)")
    rec.add_argument("--replications", type=int, help="runs per trial (default 30)")
    rec.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    rec.add_argument("--calibrated", type=Path, help="calibrated.yaml with generator parameters")
    rec.add_argument("--quick", action="store_true", help="tiny budget (for tests)")

    dash = commands.add_parser("dashboard", help="open the interactive SolaraViz dashboard")
    dash.add_argument(
        "scenario", type=Path, nargs="?", help="scenario whose strategies to pre-load"
    )
    dash.add_argument("--host", default="127.0.0.1", help="address to listen on")
    dash.add_argument("--port", type=int, default=8765, help="port (default: 8765)")
    dash.add_argument("--open", action="store_true", help="open a browser")

    sens = commands.add_parser(
        "sensitivity", help="Morris screening of a strategy's parameters and the firm's inputs"
    )
    sens.add_argument("scenario", type=Path)
    sens.add_argument("--out", type=Path, help="directory (default: results/<name>-sensitivity)")
    sens.add_argument("--quick", action="store_true", help="tiny budget")
    return parser


def _data_paths(args: argparse.Namespace):
    from sim.data import DataPaths

    return DataPaths(
        events=args.events,
        markets=args.markets,
        indicators=args.indicators,
        barriers=args.barriers,
        finance=args.finance,
    )


def cmd_data_check(args: argparse.Namespace) -> int:
    """Validate every data file and report row counts."""
    from sim.data import load_dataset

    data = load_dataset(_data_paths(args))
    print(
        f"events.csv: {len(data.events)} events, "
        f"{data.events['country_iso3'].nunique()} countries — ok"
    )
    print(f"markets.csv: {len(data.markets)} markets — ok")
    print(f"market_indicators.csv: {len(data.indicators)} values — ok")
    print(f"barrier_events.csv: {len(data.barriers)} events — ok")
    print(f"firm_finance.csv: {len(data.finance)} figures — ok")
    return 0


def cmd_data_summary(args: argparse.Namespace) -> int:
    """Print and write the record's aggregates beside the paper's numbers, plus two figures."""
    from sim.analysis.record_report import summarise_record
    from sim.data import load_dataset

    data = load_dataset(_data_paths(args))
    text = summarise_record(data, args.out, args.scope)
    print(text)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run a scenario, write its outputs and print a comparison table."""
    import pyarrow as pa

    # Arrow's default allocator keeps freed chunk buffers for reuse; the system allocator hands
    # them back, which keeps a long run's resident memory flat (measured in docs/performance.md).
    pa.set_memory_pool(pa.system_memory_pool())
    from sim.errors import RunFailed
    from sim.experiment.experiment import Options
    from sim.experiment.job import run_scenario, terminal_table

    for name, low in (("replications", 1), ("seed", 0), ("workers", 1), ("chunk_size", 1)):
        value = getattr(args, name)
        if value is not None and value < low:
            flag = "--" + name.replace("_", "-")
            raise SimInputError(args.scenario, f"{flag} must be at least {low}", field=name)
    if args.resume and args.fresh:
        raise SimInputError(
            args.scenario, "--resume and --fresh contradict each other", field="fresh"
        )
    options = Options(
        executor=args.executor,
        workers=args.workers,
        scheduler=args.scheduler,
        chunk_size=args.chunk_size,
        progress=not args.quiet,
        fresh=args.fresh,
    )
    try:
        result = run_scenario(
            args.scenario,
            out_dir=args.out,
            replications=args.replications,
            seed=args.seed,
            options=options,
        )
    except RunFailed as exc:
        print(
            f"sim: error: {exc}\nFinished chunks are kept; fix the cause and run the same "
            "command again to resume.",
            file=sys.stderr,
        )
        return EXIT_RUN_FAILED
    print(terminal_table(result))
    reused = f", {result.reused} chunks reused" if result.reused else ""
    print(
        f"\nWrote {result.out_dir} (runs {result.timings['runs_s']:.1f} s{reused}, "
        f"total {sum(result.timings.values()):.1f} s); see {result.out_dir / 'report.md'}"
    )
    return 0


def cmd_scenario_check(args: argparse.Namespace) -> int:
    """Validate a scenario file, its data files and its shocks' markets."""
    from sim.data import load_dataset
    from sim.scenario import load_scenario
    from sim.world import build_world

    scenario = load_scenario(args.scenario)
    build_world(load_dataset(scenario.data_paths()), scenario, source=str(args.scenario))
    labels = ", ".join(f"{s.label} ({s.policy})" for s in scenario.strategies)
    print(
        f"{args.scenario}: ok — {scenario.replications} runs x {len(scenario.strategies)} "
        f"strategies: {labels}"
    )
    return 0


def cmd_scenario_schema(args: argparse.Namespace) -> int:
    """Print or write the JSON Schema of scenario files."""
    import json

    from sim.io import write_text_atomic
    from sim.scenario import scenario_json_schema

    text = json.dumps(scenario_json_schema(), indent=2)
    if args.out:
        write_text_atomic(args.out, text + "\n")
        print(f"Wrote {args.out}")
    else:
        print(text)
    return 0


def cmd_policies(args: argparse.Namespace) -> int:
    """List registered policies and their parameters."""
    from sim.policies import get_policy, policy_names

    for name in policy_names():
        cls = get_policy(name)
        print(f"{name}: {cls.summary}")
        for field, info in cls.Params.model_fields.items():
            bounds = {
                m.__class__.__name__: getattr(m, m.__class__.__name__.lower(), None)
                for m in info.metadata
            }
            lo, hi = bounds.get("Ge"), bounds.get("Le")
            rng = f" [{lo}, {hi}]" if lo is not None or hi is not None else ""
            print(f"    {field} = {info.default!r}{rng}  {info.description or ''}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Calibrate every strategy of a scenario and write the report."""
    from sim.calibration.job import run_calibration

    def progress(fit) -> None:
        print(
            f"  fitted {fit.label} (seed {fit.seed}): best loss {fit.best_loss:.2f}",
            file=sys.stderr,
            flush=True,
        )

    result = run_calibration(args.scenario, out_dir=args.out, quick=args.quick, progress=progress)
    print(result.summary.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print()
    print(result.verdict.replace("**", ""))
    print(
        f"\nWrote {result.out_dir / 'report'} ({result.seconds:.0f} s); "
        f"see {result.out_dir / 'report' / 'report.md'}"
    )
    return 0


def cmd_recover(args: argparse.Namespace) -> int:
    """Run (or resume) a model-recovery study and print the recovery rates."""
    from sim.calibration.job import run_recovery

    for name in ("records", "trials", "replications", "workers"):
        value = getattr(args, name)
        if value is not None and not 1 <= value <= 100_000:
            raise SimInputError(f"--{name}", "must be a whole number from 1 to 100000")
    result = run_recovery(
        args.scenario,
        out_dir=args.out,
        records=args.records,
        trials=args.trials,
        replications=args.replications,
        workers=args.workers,
        quick=args.quick,
        calibrated=args.calibrated,
        progress=sys.stderr.isatty(),
    )
    print(result.recovery.rates.to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    print(f"\nWrote {result.out_dir} ({result.seconds:.0f} s); see {result.out_dir / 'report.md'}")
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Validate the scenario, then serve sim/app.py with solara (offline assets)."""
    import subprocess
    from importlib.util import find_spec

    if find_spec("solara") is None or find_spec("altair") is None:
        print(
            "sim: error: the dashboard needs the 'dashboard' extra: pip install 'sim[dashboard]'",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    env = dict(os.environ)
    if args.scenario is not None:
        from sim.data import load_dataset
        from sim.scenario import load_scenario
        from sim.world import build_world

        scenario = load_scenario(args.scenario)
        build_world(load_dataset(scenario.data_paths()), scenario, source=str(args.scenario))
        env["SIM_DASHBOARD_SCENARIO"] = str(args.scenario.resolve())
    app = Path(__file__).with_name("app.py")
    cmd = [
        sys.executable,
        "-m",
        "solara",
        "run",
        str(app),
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--production",
        "--open" if args.open else "--no-open",
    ]
    print(f"Serving the dashboard on http://{args.host}:{args.port} (Ctrl-C to stop)")
    try:
        return subprocess.run(cmd, env=env, check=False).returncode
    except KeyboardInterrupt:
        return 0


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """Run the Morris screening and write its outputs."""
    from sim.calibration.job import run_sensitivity

    out = run_sensitivity(args.scenario, out_dir=args.out, quick=args.quick)
    import pandas as pd

    table = pd.read_csv(out / "sensitivity.csv")
    top = table.sort_values(["outcome", "mu_star"], ascending=[True, False]).groupby("outcome")
    print(top.head(5).to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    print(f"\nWrote {out}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sim`` console script."""
    args = build_parser().parse_args(argv)
    handlers = {
        ("data", "check"): cmd_data_check,
        ("data", "summary"): cmd_data_summary,
        ("run", None): cmd_run,
        ("scenario", "check"): cmd_scenario_check,
        ("scenario", "schema"): cmd_scenario_schema,
        ("policies", None): cmd_policies,
        ("calibrate", None): cmd_calibrate,
        ("recover", None): cmd_recover,
        ("sensitivity", None): cmd_sensitivity,
        ("dashboard", None): cmd_dashboard,
    }
    key = (args.command, getattr(args, f"{args.command}_command", None))
    try:
        return handlers[key](args)
    except SimInputError as exc:
        print(f"sim: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # Output piped into a reader that stopped early (e.g. `| head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
