"""The ``sim`` command line: parse arguments, call the library, print results.

The contract (README, "Command-line contract"): exit 0 with complete outputs; or exit 2 with
one line on stderr naming the file and field, no traceback and nothing written (bad input); or
exit 1 with one line when a run fails (finished chunks are kept: the same command resumes).
``--debug`` shows the full traceback, ``--verbose`` the ``sim`` loggers at INFO.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from sim.errors import SchedulerUnavailable, SimInputError, one_line

if TYPE_CHECKING:
    from sim.scenario import Scenario

EXIT_BAD_INPUT = 2
EXIT_RUN_FAILED = 1
#: Bounds of the flags that set no scenario field (a flag that overrides one takes the field's).
WORKERS = (1, 1024)
#: Range of `sim infer --draws` (draws per model in the simulation bank).
DRAWS = (500, 10_000_000)
CHUNK_SIZE = (1, 10_000_000)
RECORDS = (1, 100_000)
PORT = (1, 65_535)
MAX_TIMEOUT = 86_400.0
#: Where ``sim recover``'s budget defaults are declared (its flags' help reads them there).
RECOVER_BUDGET = "sim.scenario:RecoverBudget"
log = logging.getLogger(__name__)


class BadFlag(Exception):
    """A flag argparse refused; :func:`main` reports it like any bad input (one line, exit 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse held to the command line's contract (its default prints usage, then exits)."""

    def error(self, message: str) -> NoReturn:
        """Raise :class:`BadFlag` with ``message`` and where to read the command's help."""
        raise BadFlag(f"{one_line(message)} (see {self.prog} --help)")


def _whole(bounds: Callable[[], tuple[int, int]]) -> Callable[[str], int]:
    """An argparse type: a whole number from ``bounds()[0]`` to ``bounds()[1]``.

    ``bounds`` is called only when the flag is given, so a flag bounded by a scenario field
    imports the scenario schema only then.
    """

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        low, high = bounds()
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high} (got {value})")
        return value

    return parse


def _within(low: int, high: int) -> Callable[[str], int]:
    """An argparse type for a flag that sets no scenario field: a whole number in a range."""
    return _whole(lambda: (low, high))


def _model(model: str) -> Any:
    """The schema class ``model`` names (``module:Class``), imported only when called."""
    from importlib import import_module

    module, _, cls = model.partition(":")
    return getattr(import_module(module), cls)


def _field(model: str, name: str) -> Callable[[str], int]:
    """An argparse type for a flag that overrides field ``name`` of ``model`` (``module:Class``).

    The bounds are the field's own (``Field(ge=, le=)``), so the flag and the scenario file
    accept the same values.
    """

    def bounds() -> tuple[int, int]:
        from sim.bounds import field_bounds

        low, high = field_bounds(_model(model), name)
        return int(low), int(high)  # every overridable field declares both bounds

    return _whole(bounds)


class _Declared:
    """The default field ``name`` of ``model`` declares, as text, read only when printed.

    A help text that states a schema default reads it here, so it cannot drift from the
    declaration, and building the parser still imports no schema (``--help`` imports it).
    """

    def __init__(self, model: str, name: str) -> None:
        self.model, self.name = model, name

    def __str__(self) -> str:
        return str(_model(self.model).model_fields[self.name].default)


class _StoreDeclared(argparse.Action):
    """Store the flag's value; its help's ``%(declared)s`` is a :class:`_Declared` default."""

    def __init__(self, *args: Any, declared: tuple[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.declared = _Declared(*declared)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values)


def _add_field_flag(
    parser: argparse.ArgumentParser,
    name: str,
    model: str,
    help_text: str,
    default_from: str | None = None,
) -> None:
    """Add ``--name``, which overrides field ``name`` of ``model`` within the field's bounds.

    ``default_from`` (``module:Class``): the class whose field ``name`` declares the flag's
    default; the help text shows it as ``%(declared)s``.
    """
    declared: dict[str, Any] = {}
    if default_from is not None:
        declared = {"action": _StoreDeclared, "declared": (default_from, name)}
    parser.add_argument(f"--{name}", type=_field(model, name), help=help_text, **declared)


def _seconds(text: str) -> float:
    """An argparse type: a number of seconds above 0 and at most :data:`MAX_TIMEOUT`."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most {MAX_TIMEOUT:g} seconds")
    return value


def _common(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """--debug and --verbose, accepted before or after the sub-command."""
    default = False if top else argparse.SUPPRESS
    parser.add_argument(
        "--debug", action="store_true", default=default, help="show full tracebacks on errors"
    )
    parser.add_argument(
        "--verbose", action="store_true", default=default, help="log progress of sim's modules"
    )


def _add_overwrite(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="write into --out even if it holds files that are not sim's; they are kept (sim "
        "replaces only its own previous results, and never a file it did not write)",
    )


def _add_plugin(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE:CLASS",
        help="import this Policy class (code you trust) so the scenario can name it; repeatable",
    )


def _add_data_paths(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "data files (default: the firm profile's own files, then the packaged copies)"
    )
    group.add_argument(
        "--firm",
        help="firm profile: a shipped firm's name (see `sim data firms`) or a folder with "
        "profile.yaml (default: the reference firm)",
    )
    group.add_argument("--events", type=Path, help="deal-event record CSV")
    group.add_argument("--finance", type=Path, help="firm's yearly revenue CSV")
    group.add_argument(
        "--event-markets", type=Path, help="operating markets of multi-country targets CSV"
    )
    group.add_argument("--countries", type=Path, help="country attributes CSV")
    group.add_argument("--indicators", type=Path, help="yearly country indicators CSV")
    group.add_argument("--barriers", type=Path, help="dated host barrier events CSV")
    group.add_argument(
        "--home-policy", type=Path, help="dated home-country outbound-regime events CSV"
    )


def _add_execution(parser: argparse.ArgumentParser, what: str) -> None:
    """The execution flags of ``sim run`` and ``sim sensitivity`` (they never change results)."""
    execution = parser.add_argument_group("execution (never changes the results)")
    execution.add_argument(
        "--executor",
        choices=("serial", "local", "dask"),
        default="local",
        help="serial; local worker processes (default); dask cluster",
    )
    execution.add_argument(
        "--workers", type=_within(*WORKERS), help="worker processes (default: all cores)"
    )
    execution.add_argument(
        "--scheduler",
        help="with --executor dask: scheduler address, e.g. tcp://host:8786 "
        "(default: a LocalCluster)",
    )
    execution.add_argument(
        "--timeout",
        type=_seconds,
        default=None,
        help="dask: seconds to wait for the scheduler, or for any worker to be connected, "
        "before failing (default: 180)",
    )
    execution.add_argument(
        "--chunk-size",
        type=_within(*CHUNK_SIZE),
        default=250,
        help="replications per task and stored chunk (default: 250)",
    )
    execution.add_argument("--quiet", action="store_true", help="no progress bar")
    execution.add_argument(
        "--engine",
        choices=("batch", "mesa"),
        default="batch",
        help="batch: step each chunk's runs together (default); mesa: one Mesa model per run "
        "(the reference; identical events, slower)",
    )
    execution.add_argument(
        "--fresh",
        action="store_true",
        help=f"discard stored chunks of this {what} and recompute them (without it, an "
        f"interrupted {what} resumes: the same command reuses every finished chunk)",
    )
    execution.add_argument(
        "--cache",
        type=Path,
        help="keep the chunk store in this folder, for later runs to reuse (default: inside "
        "--out, removed once the command has succeeded)",
    )


def _execution_options(args: argparse.Namespace):
    """Check the execution flags that depend on each other and build the experiment options.

    Raises:
        SimInputError: one line naming the flag, before any work.
    """
    from sim.experiment.executors import DEFAULT_TIMEOUT, check_scheduler_address
    from sim.experiment.experiment import Options

    if args.executor != "dask" and (args.scheduler is not None or args.timeout is not None):
        flag = "--scheduler" if args.scheduler is not None else "--timeout"
        raise SimInputError(
            args.scenario,
            f"{flag} applies only to --executor dask (got --executor {args.executor})",
            field=flag[2:],
        )
    if args.scheduler is not None:
        try:
            check_scheduler_address(args.scheduler)
        except SchedulerUnavailable as exc:
            raise SimInputError(args.scenario, f"--scheduler: {exc}", field="scheduler") from None
    if args.cache is not None:
        from sim.io import check_output_dir

        check_output_dir(args.cache, overwrite=True, flag="cache", protect=[args.scenario])
    return Options(
        cache=args.cache,
        executor=args.executor,
        workers=args.workers,
        scheduler=args.scheduler,
        chunk_size=args.chunk_size,
        progress=not args.quiet,
        fresh=args.fresh,
        engine=args.engine,
        timeout=args.timeout if args.timeout is not None else DEFAULT_TIMEOUT,
    )


def _add_data_commands(commands: argparse._SubParsersAction) -> None:
    """``sim data check | firms | summary``."""
    data = commands.add_parser("data", help="check and summarise the input data")
    data_commands = data.add_subparsers(dest="data_command", required=True)

    check = data_commands.add_parser("check", help="validate the data files")
    _add_data_paths(check)

    data_commands.add_parser("firms", help="list the shipped firm profiles")
    summary = data_commands.add_parser(
        "summary", help="aggregates of a firm's record beside the numbers published about it"
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
        help="which entities' deals count: a scope of the firm profile (default: its own)",
    )
    _add_overwrite(summary)


def _add_recover(commands: argparse._SubParsersAction) -> None:
    """``sim recover``: its budget flags take the calibration section's bounds."""
    rec = commands.add_parser(
        "recover",
        help="model recovery: calibrate every strategy on records simulated from each one",
    )
    rec.add_argument("scenario", type=Path)
    rec.add_argument(
        "--out", type=Path, help="directory (default: results/<name>-calibration/recovery)"
    )
    rec.add_argument(
        "--records",
        type=_within(*RECORDS),
        help="synthetic records per generator (default %(declared)s)",
        action=_StoreDeclared,
        declared=(RECOVER_BUDGET, "records"),
    )
    for name, text in (("trials", "optimiser trials per fit"), ("replications", "runs per trial")):
        _add_field_flag(
            rec, name, "sim.scenario:Calibration", f"{text} (default %(declared)s)", RECOVER_BUDGET
        )
    rec.add_argument(
        "--workers", type=_within(*WORKERS), help="local worker processes (default: all cores)"
    )
    rec.add_argument("--calibrated", type=Path, help="calibrated.yaml with generator parameters")
    rec.add_argument("--quick", action="store_true", help="tiny budget (for tests)")
    _add_overwrite(rec)


def _add_futures_command(
    commands: argparse._SubParsersAction, name: str, help_text: str, default_out: str
) -> argparse.ArgumentParser:
    """A command that runs the strategies under the projection section's futures.

    ``sim project`` and ``sim backtest`` share these flags, each taking the section's bounds.
    """
    parser = commands.add_parser(name, help=help_text)
    parser.add_argument("scenario", type=Path, help="scenario YAML with a projection: section")
    parser.add_argument("--out", type=Path, help=f"directory (default: {default_out})")
    _add_field_flag(
        parser, "futures", "sim.projection_spec:Projection", "futures sampled (overrides the file)"
    )
    _add_field_flag(
        parser,
        "replications",
        "sim.projection_spec:Projection",
        "runs per strategy and future (overrides the file)",
    )
    parser.add_argument(
        "--workers", type=_within(*WORKERS), default=1, help="processes (default: 1)"
    )
    _add_overwrite(parser)
    _add_plugin(parser)
    return parser


def _add_project(commands: argparse._SubParsersAction) -> None:
    """``sim project`` and ``sim backtest``."""
    proj = _add_futures_command(
        commands,
        "project",
        "run every strategy from the end of the record under sampled futures (needs the "
        "'project' extra)",
        "results/<name>-projection",
    )
    _add_field_flag(
        proj,
        "origin",
        "sim.projection_spec:Projection",
        "last year of data the projection may use (default: projection.origin, else the "
        "scenario's last year)",
    )
    _add_futures_command(
        commands,
        "backtest",
        "forecast blind from the calibration and validation windows' ends and score the "
        "forecasts against the record beside persistence (needs the 'project' extra)",
        "results/<name>-backtest",
    )


def _add_infer(commands: argparse._SubParsersAction) -> None:
    """``sim infer``: simulation-based inference on the calibration window."""
    infer = commands.add_parser(
        "infer",
        help="simulation-based inference: posterior model probabilities and parameter "
        "posteriors on the calibration window (needs the 'infer' extra)",
    )
    infer.add_argument("scenario", type=Path)
    infer.add_argument("--out", type=Path, help="directory (default: results/<name>-inference)")
    infer.add_argument("--quick", action="store_true", help="the whole pipeline, small")
    infer.add_argument(
        "--draws",
        type=_within(*DRAWS),
        help="draws per model in the bank (default 100000)",
    )
    infer.add_argument(
        "--prior",
        choices=("declared", "centred", "both"),
        default="both",
        help="prior choice(s): as declared, 30 %% of the bounds around the defaults, or both "
        "side by side (default)",
    )
    infer.add_argument(
        "--host-response",
        action="store_true",
        help="integrate over the host markets' screening response too (off by default)",
    )
    infer.add_argument(
        "--pool",
        type=Path,
        action="append",
        default=[],
        metavar="SCENARIO",
        help="another firm's scenario to pool with this one: each theory's parameters shared, "
        "each firm's count block its own (repeatable; same strategies)",
    )
    _add_overwrite(infer)
    _add_plugin(infer)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every ``sim`` sub-command."""
    parser = _Parser(
        prog="sim",
        description="Agent-based simulator of a cross-border e-commerce firm's "
        "internationalization.",
    )
    from sim import __version__

    parser.add_argument("--version", action="version", version=f"sim {__version__}")
    _common(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True)
    _add_data_commands(commands)
    run = commands.add_parser(
        "run", help="run a scenario file and compare strategies with the record"
    )
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument("--out", type=Path, help="output directory (default: results/<scenario name>)")
    _add_field_flag(
        run, "replications", "sim.scenario:Scenario", "runs per strategy (overrides the file)"
    )
    _add_field_flag(run, "seed", "sim.scenario:Scenario", "root seed (overrides the file)")
    _add_overwrite(run)
    _add_plugin(run)
    _add_execution(run, "run")

    scen = commands.add_parser("scenario", help="scenario files: validate, JSON Schema")
    scen_commands = scen.add_subparsers(dest="scenario_command", required=True)
    scen_check = scen_commands.add_parser(
        "check", help="validate a scenario file as `sim run` does; note what other commands refuse"
    )
    scen_check.add_argument("scenario", type=Path)
    _add_plugin(scen_check)
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
    _add_overwrite(cal)
    _add_plugin(cal)

    _add_recover(commands)
    dash = commands.add_parser("dashboard", help="open the interactive SolaraViz dashboard")
    dash.add_argument(
        "scenario", type=Path, nargs="?", help="scenario whose strategies to pre-load"
    )
    dash.add_argument("--host", default="127.0.0.1", help="address to listen on")
    dash.add_argument("--port", type=_within(*PORT), default=8765, help="port (default: 8765)")
    dash.add_argument("--open", action="store_true", help="open a browser")
    _add_plugin(dash)

    sens = commands.add_parser(
        "sensitivity", help="Morris screening of a strategy's parameters and the firm's inputs"
    )
    sens.add_argument("scenario", type=Path)
    sens.add_argument("--out", type=Path, help="directory (default: results/<name>-sensitivity)")
    sens.add_argument("--quick", action="store_true", help="tiny budget")
    _add_overwrite(sens)
    _add_plugin(sens)
    _add_execution(sens, "design")
    _add_project(commands)
    _add_infer(commands)
    _common_everywhere(parser)
    return parser


def _common_everywhere(parser: argparse.ArgumentParser) -> None:
    """Give every sub-command --debug and --verbose (so they work after the command too)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                _common(sub)
                _common_everywhere(sub)


def _load_plugins(args: argparse.Namespace) -> None:
    """Register the --plugin classes (the user's explicit opt-in to run that code)."""
    from sim.policies.registry import PluginError, load_plugin

    for spec in getattr(args, "plugin", None) or []:
        try:
            load_plugin(spec)
        except PluginError as exc:
            raise SimInputError(
                getattr(args, "scenario", None) or "--plugin", f"--plugin: {exc}", field="plugin"
            ) from None


def _prepare(
    args: argparse.Namespace, outputs: frozenset[str], optimiser: bool = False
) -> dict[str, Any]:
    """What a command that writes a folder does first: plug-ins, then a refused --out.

    ``optimiser``: the command fits (optuna's per-trial log only with --verbose). Returns the
    keyword arguments every such job takes (``out_dir``, ``overwrite``).
    """
    if optimiser:
        _quiet_optimiser(args)
    _load_plugins(args)
    _check_out(args, outputs)
    return {"out_dir": args.out, "overwrite": args.overwrite}


def _print_result(table: Any, digits: str) -> None:
    """Print a command's result table with floats to ``digits`` (a format spec)."""
    print(table.to_string(index=False, float_format=lambda x: f"{x:{digits}}"))


def _print_wrote(out: Path, seconds: float | None = None) -> None:
    """The closing line of a command: where it wrote, how long it took, the report to read."""
    took = f" ({seconds:.0f} s)" if seconds is not None else ""
    print(f"\nWrote {out}{took}; see {out / 'report.md'}")


def _check_out(args: argparse.Namespace, known: frozenset[str] = frozenset()) -> None:
    """Refuse a bad --out before any work (see :func:`sim.io.check_output_dir`)."""
    from sim.io import check_output_dir

    if getattr(args, "out", None) is not None:
        scenario = getattr(args, "scenario", None)
        check_output_dir(
            args.out, overwrite=args.overwrite, known=known, protect=[scenario] if scenario else []
        )


def _data_paths(args: argparse.Namespace):
    from sim.data import DATA_FILES, DataPaths

    for name in DATA_FILES:
        given = getattr(args, name)
        if given is not None and "\x00" in str(given):
            raise SimInputError(given, f"--{name}: a file path must not contain a NUL byte")
    return DataPaths(**{name: getattr(args, name) for name in DATA_FILES})


def _profile(args: argparse.Namespace):
    from sim.data import load_profile

    return load_profile(args.firm, Path.cwd())


def cmd_data_check(args: argparse.Namespace) -> int:
    """Validate every data file and report row counts."""
    from sim.data import load_dataset

    profile = _profile(args)
    data = load_dataset(_data_paths(args), profile)
    synthetic = " (synthetic test firm)" if profile.synthetic else ""
    print(
        f"firm: {profile.name}{synthetic}, home {profile.home_iso3}, "
        f"record {profile.record.years_covered[0]}-{profile.record.years_covered[1]} — ok"
    )
    print(
        f"events: {len(data.events)} events, {data.events['country_iso3'].nunique()} countries — ok"
    )
    if data.event_markets is not None:
        print(f"event markets: {len(data.event_markets)} rows — ok")
    print(f"finance: {len(data.finance)} figures — ok")
    print(f"countries: {len(data.markets)} markets (home and domestic places excluded) — ok")
    years = sorted(data.indicators["year"].unique())
    print(f"indicators: {len(data.indicators)} values, {years[0]}-{years[-1]} — ok")
    print(f"barrier events: {len(data.barriers)} events — ok")
    if data.home_policy is not None:
        print(f"home policy events ({profile.home_iso3}): {len(data.home_policy)} events — ok")
    return 0


def cmd_data_firms(args: argparse.Namespace) -> int:
    """List the shipped firm profiles (name, home country, record years, default)."""
    from sim.data.profile import default_firm, load_profile, shipped_firms

    default = default_firm()
    for name in shipped_firms():
        p = load_profile(name)
        first, last = p.record.years_covered
        mark = "  (default)" if name == default else ""
        print(f"{name:<12} {p.name} — home {p.home_iso3}, record {first}-{last}{mark}")
    return 0


def cmd_data_summary(args: argparse.Namespace) -> int:
    """Print and write the record's aggregates beside the paper's numbers, plus two figures."""
    from sim.analysis.record_report import summarise_record
    from sim.data import load_dataset
    from sim.io import MARKER, ResultFolder

    known = frozenset(
        {
            "record_vs_published.csv",
            "record_yearly.csv",
            "record_countries.csv",
            "figures",
            MARKER,
        }
    )
    profile = _profile(args)
    if args.scope is not None and args.scope not in profile.scopes:
        raise SimInputError(
            "--scope",
            f"{args.scope!r} is not a scope of {profile.short_name} ({', '.join(profile.scopes)})",
            field="scope",
        )
    _check_out(args, known)
    data = load_dataset(_data_paths(args), profile)
    with ResultFolder(args.out, "data summary", overwrite=args.overwrite, known=known) as out:
        text = summarise_record(data, out.staging, args.scope)
    print(f"{text}\n\nWrote tables and figures to {args.out}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run a scenario, write its outputs and print a comparison table."""
    import pyarrow as pa

    # Arrow's default allocator keeps freed chunk buffers for reuse; the system allocator hands
    # them back, which keeps a long run's resident memory flat (measured in docs/performance.md).
    pa.set_memory_pool(pa.system_memory_pool())
    from sim.errors import RunFailed
    from sim.experiment.job import RUN_OUTPUTS, run_scenario, terminal_table

    options = _execution_options(args)
    _load_plugins(args)
    _check_out(args, RUN_OUTPUTS)
    try:
        result = run_scenario(
            args.scenario,
            out_dir=args.out,
            replications=args.replications,
            seed=args.seed,
            options=options,
            overwrite=args.overwrite,
        )
    except SchedulerUnavailable as exc:
        raise SimInputError(args.scenario, f"--scheduler: {exc}", field="scheduler") from exc
    except RunFailed as exc:
        if args.debug:
            _print_traceback(exc)
        message = one_line(str(exc))
        if "resume" not in message:
            message += (
                " (finished chunks are kept; fix the cause and run the same command again "
                "to resume)"
            )
        print(f"sim: error: {message}", file=sys.stderr)
        return EXIT_RUN_FAILED
    print(terminal_table(result))
    reused = f", {result.reused} chunks reused" if result.reused else ""
    print(
        f"\nWrote {result.out_dir} (runs {result.timings['runs_s']:.1f} s{reused}, "
        f"total {sum(result.timings.values()):.1f} s); see {result.out_dir / 'report.md'}"
    )
    return 0


def cmd_scenario_check(args: argparse.Namespace) -> int:
    """Validate a scenario file as ``sim run`` does; note what other commands would refuse.

    The verdict (exit code) is ``sim run``'s: the file, every data file (read and
    cross-checked), the shocks' markets and the sweep points (each value against its
    parameter's range). Sections only other commands read are then checked as those commands
    check them; a problem there is printed as a note, because ``sim run`` accepts the file.
    """
    from sim.experiment.plan import plan_points
    from sim.scenario import load_scenario
    from sim.world import build_world

    _load_plugins(args)
    scenario = load_scenario(args.scenario)
    source = str(args.scenario)
    plan_points(scenario, source)
    world = build_world(scenario.load_data(source), scenario, source=source)
    labels = ", ".join(f"{s.label} ({s.policy})" for s in scenario.strategies)
    print(
        f"{args.scenario}: ok — {scenario.replications} runs x {len(scenario.strategies)} "
        f"strategies: {labels}"
    )
    for note in _other_commands_refusals(scenario, world.iso3, source):
        print(f"note: {note}")
    return 0


def _other_commands_refusals(
    scenario: Scenario, markets: tuple[str, ...], source: str
) -> list[str]:
    """What ``sim calibrate``, ``sim sensitivity`` and ``sim project`` would refuse, in words.

    Each command's own check, run as the command runs it (its first problem, one line each).
    """
    from sim.calibration.calibrate_job import check_calibration
    from sim.calibration.sensitivity_job import check_sensitivity

    checks = [
        ("`sim calibrate`", lambda: check_calibration(scenario, source)),
        ("`sim calibrate` and `sim sensitivity`", lambda: check_sensitivity(scenario, source)),
    ]
    if scenario.projection is not None:
        from sim.projection.job import check_projection
        from sim.projection.origin import check_origin

        spec = scenario.projection
        origin = spec.origin or scenario.years[1]
        checks.append(("`sim project`", lambda: check_projection(scenario, markets, source)))
        checks.append(
            ("`sim project`", lambda: check_origin(scenario, origin, spec.horizon, source))
        )
    refusals = []
    for commands, check in checks:
        try:
            check()
        except SimInputError as exc:
            refusals.append(f"{commands} would refuse it: {exc}")
    return refusals


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
    from sim.calibration.calibrate_job import CALIBRATION_OUTPUTS, run_calibration

    common = _prepare(args, CALIBRATION_OUTPUTS, optimiser=True)
    result = run_calibration(
        args.scenario, quick=args.quick, progress=sys.stderr.isatty(), **common
    )
    _print_result(result.summary, ".3f")
    print()
    print(result.verdict.replace("**", ""))
    _print_wrote(result.out_dir / "report", result.seconds)
    return 0


def cmd_recover(args: argparse.Namespace) -> int:
    """Run (or resume) a model-recovery study and print the recovery rates."""
    from sim.calibration.recovery_job import RECOVERY_OUTPUTS, run_recovery

    common = _prepare(args, RECOVERY_OUTPUTS, optimiser=True)
    result = run_recovery(
        args.scenario,
        records=args.records,
        trials=args.trials,
        replications=args.replications,
        workers=args.workers,
        quick=args.quick,
        calibrated=args.calibrated,
        progress=sys.stderr.isatty(),
        **common,
    )
    _print_result(result.recovery.rates, ".2f")
    _print_wrote(result.out_dir, result.seconds)
    return 0


def serve(cmd: list[str], env: dict[str, str]) -> int:
    """Run the server child; SIGTERM/SIGHUP/SIGINT to this process stop the child too.

    ``sim dashboard`` is often stopped by its PID (a service manager, ``kill``); without
    forwarding, the solara server would keep running on the port as an orphan.
    """
    import signal
    import subprocess
    from functools import partial

    from sim.processes import die_with_parent

    # Linux: the solara child gets SIGTERM if this process dies, even by SIGKILL.
    linux = sys.platform.startswith("linux")
    preexec = partial(die_with_parent, os.getpid(), signal.SIGTERM) if linux else None
    child = subprocess.Popen(cmd, env=env, preexec_fn=preexec)

    def forward(signum: int, _frame: object) -> None:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM if signum != signal.SIGINT else signal.SIGINT)

    handled = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
    previous = {sig: signal.signal(sig, forward) for sig in handled}
    try:
        while True:
            try:
                code = child.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                continue
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
    return 0 if code in (0, -signal.SIGTERM, -signal.SIGINT) else code


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Validate the scenario, then serve sim/app.py with solara (offline assets)."""
    from importlib.util import find_spec

    if find_spec("solara") is None or find_spec("altair") is None:
        print(
            "sim: error: the dashboard needs the 'dashboard' extra: pip install 'sim[dashboard]'",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    from sim.dashboard import PLUGINS_ENV, SCENARIO_ENV

    _load_plugins(args)
    env = dict(os.environ)
    if args.plugin:
        env[PLUGINS_ENV] = ",".join(args.plugin)
    if args.scenario is not None:
        from sim.scenario import load_scenario
        from sim.world import build_world

        scenario = load_scenario(args.scenario)
        build_world(scenario.load_data(args.scenario), scenario, source=str(args.scenario))
        env[SCENARIO_ENV] = str(args.scenario.resolve())
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
    print(f"Serving the dashboard on http://{args.host}:{args.port} (Ctrl-C to stop)", flush=True)
    return serve(cmd, env)


def cmd_sensitivity(args: argparse.Namespace) -> int:
    """Run the Morris screening and write its outputs."""
    from sim.calibration.sensitivity_job import SENSITIVITY_OUTPUTS, run_sensitivity

    options = _execution_options(args)
    common = _prepare(args, SENSITIVITY_OUTPUTS)
    out = run_sensitivity(args.scenario, quick=args.quick, options=options, **common)
    import pandas as pd

    table = pd.read_csv(out / "sensitivity.csv")
    top = table.sort_values(["outcome", "mu_star"], ascending=[True, False]).groupby("outcome")
    _print_result(top.head(5), ".3g")
    print(f"\nWrote {out}")
    return 0


def cmd_project(args: argparse.Namespace) -> int:
    """Run a projection and write its outputs (EMA Workbench: the 'project' extra)."""
    from sim.projection.job import PROJECTION_OUTPUTS, run_projection

    common = _prepare(args, PROJECTION_OUTPUTS)
    result = run_projection(args.scenario, origin=args.origin, **_futures(args), **common)
    _print_result(result.robustness, ".3g")
    _print_wrote(result.out_dir, result.seconds)
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    """Forecast blind from past origins and score the forecasts (the 'project' extra)."""
    from sim.projection.backtest import BACKTEST_OUTPUTS, run_backtest, summary_table

    common = _prepare(args, BACKTEST_OUTPUTS)
    out, table, seconds = run_backtest(args.scenario, **_futures(args), **common)
    _print_result(summary_table(table), ".3g")
    _print_wrote(out, seconds)
    return 0


def _futures(args: argparse.Namespace) -> dict[str, Any]:
    """The futures flags ``sim project`` and ``sim backtest`` share, as their jobs take them."""
    from sim.projection.job import FuturesFlags

    return {"flags": FuturesFlags(args.futures, args.replications, args.workers)}


def cmd_infer(args: argparse.Namespace) -> int:
    """Run simulation-based inference and write its tables, figures, bank and report."""
    try:
        from sim.inference.job import INFER_OUTPUTS, run_inference
        from sim.priors import PriorChoice
    except ImportError:
        raise SimInputError(
            args.scenario,
            "sim infer needs the 'infer' extra: pip install 'sim[infer]' (scikit-learn)",
            field="infer",
        ) from None
    if args.draws is not None and not 500 <= args.draws <= 10_000_000:
        raise SimInputError(
            args.scenario, "--draws must be between 500 and 10000000", field="draws"
        )
    common = _prepare(args, INFER_OUTPUTS)
    choices: tuple[PriorChoice, ...] = (
        ("declared", "centred") if args.prior == "both" else (args.prior,)
    )
    out = run_inference(
        args.scenario,
        quick=args.quick,
        draws=args.draws,
        priors=choices,
        host_response=args.host_response,
        pool=args.pool,
        **common,
    )
    _print_result(_probabilities_table(out / "model_probabilities.csv"), ".3g")
    _print_wrote(out)
    return 0


def _probabilities_table(path: Path):
    """The model probabilities ``sim infer`` wrote, in the columns it prints."""
    import pandas as pd

    return pd.read_csv(path)[["prior", "model", "probability", "sd", "abc_probability"]]


def _print_traceback(exc: BaseException) -> None:
    """--debug: the full traceback, including a cause hidden by ``raise ... from None``."""
    hidden = exc.__context__ if exc.__cause__ is None and exc.__suppress_context__ else None
    if hidden is not None:
        traceback.print_exception(hidden, file=sys.stderr)
        print("\nwhich was reported as:\n", file=sys.stderr)
    traceback.print_exception(exc, file=sys.stderr)


def _quiet_optimiser(args: argparse.Namespace) -> None:
    """The commands that fit show a progress bar; optuna's per-trial log only with --verbose.

    Set here, in the command-line application, not when the library is imported.
    """
    import optuna

    optuna.logging.set_verbosity(
        optuna.logging.INFO if getattr(args, "verbose", False) else optuna.logging.WARNING
    )


def _logging(verbose: bool) -> None:
    """INFO from the ``sim`` loggers on stderr with --verbose (other libraries untouched)."""
    logger = logging.getLogger("sim")
    if verbose and not any(getattr(h, "_sim_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("sim: %(name)s: %(message)s"))
        handler._sim_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sim`` console script."""
    try:
        args = build_parser().parse_args(argv)
    except BadFlag as exc:
        print(f"sim: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    _logging(args.verbose)
    handlers = {
        ("data", "check"): cmd_data_check,
        ("data", "firms"): cmd_data_firms,
        ("data", "summary"): cmd_data_summary,
        ("run", None): cmd_run,
        ("scenario", "check"): cmd_scenario_check,
        ("scenario", "schema"): cmd_scenario_schema,
        ("policies", None): cmd_policies,
        ("calibrate", None): cmd_calibrate,
        ("recover", None): cmd_recover,
        ("sensitivity", None): cmd_sensitivity,
        ("dashboard", None): cmd_dashboard,
        ("project", None): cmd_project,
        ("backtest", None): cmd_backtest,
        ("infer", None): cmd_infer,
    }
    key = (args.command, getattr(args, f"{args.command}_command", None))
    log.info("sim %s", " ".join(key_ for key_ in key if key_))
    try:
        return handlers[key](args)
    except SimInputError as exc:
        if args.debug:
            _print_traceback(exc)
        print(f"sim: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # Output piped into a reader that stopped early (e.g. `| head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("sim: interrupted (finished chunks are kept)", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: one line, the traceback on --debug
        if args.debug:
            raise
        print(
            f"sim: error: internal error, please report it: {type(exc).__name__}: "
            f"{one_line(str(exc))} (run with --debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_RUN_FAILED
