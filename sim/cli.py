"""The ``sim`` command line: parse arguments, call the library, print results.

Bad input ends in one line on stderr naming the file and field, and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from sim.errors import SimInputError

EXIT_BAD_INPUT = 2


def _add_data_paths(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data files (default: the packaged copies)")
    group.add_argument("--events", type=Path, help="historical deal record CSV")
    group.add_argument("--markets", type=Path, help="market attributes CSV")
    group.add_argument("--indicators", type=Path, help="yearly market indicators CSV")
    group.add_argument("--barriers", type=Path, help="dated barrier events CSV")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every ``sim`` sub-command."""
    from sim.data.taxonomy import DEFAULT_SCOPE, ENTITY_SCOPES

    parser = argparse.ArgumentParser(
        prog="sim",
        description="Agent-based simulator of a cross-border e-commerce firm's "
        "internationalization.",
    )
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
    return parser


def _data_paths(args: argparse.Namespace):
    from sim.data import DataPaths

    return DataPaths(
        events=args.events, markets=args.markets, indicators=args.indicators, barriers=args.barriers
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
    return 0


def cmd_data_summary(args: argparse.Namespace) -> int:
    """Print and write the record's aggregates beside the paper's numbers, plus two figures."""
    from sim.analysis.record_report import summarise_record
    from sim.data import load_dataset

    data = load_dataset(_data_paths(args))
    text = summarise_record(data, args.out, args.scope)
    print(text)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sim`` console script."""
    args = build_parser().parse_args(argv)
    handlers = {
        ("data", "check"): cmd_data_check,
        ("data", "summary"): cmd_data_summary,
    }
    key = (args.command, getattr(args, f"{args.command}_command", None))
    try:
        return handlers[key](args)
    except SimInputError as exc:
        print(f"sim: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
