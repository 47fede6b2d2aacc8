"""Time ``sim project``'s experiments in one process against local worker processes.

Usage: ``python benchmarks/bench_project.py [--futures 8] [--replications 20] [--workers 2]``.
On ``scenarios/project_2030.yaml``: what one task (one future, every strategy) sends a worker
(the pickled model), what starting the workers costs (an empty task each), and the wall time
of :func:`sim.projection.exploration.explore` in this process, on the workers as chosen by
:data:`~sim.projection.exploration.SMALL_PROJECTION`, and on the workers whatever the size
(the threshold set to 0). Each from cold, as a new command starts: no worker processes (joblib
keeps its pool between calls in one process) and no future's world cached. The tables must be
identical (checked). Best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from joblib.externals.loky import get_reusable_executor

import sim.projection.exploration as exploration
from sim.experiment.evaluator import Evaluator
from sim.projection.job import prepare_projection, projection_of

ROOT = Path(__file__).resolve().parents[1]


def cpu() -> float:
    """CPU seconds of this process and of its ended (reaped) children so far."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Best-of-``repeat`` wall time of ``fn()`` in seconds, its CPU seconds then, its result.

    The CPU time counts the worker processes too (they are stopped, and so counted, after the
    wall time is taken): unlike the wall time, it hardly depends on what else the machine runs.
    """
    wall, used, result = float("inf"), 0.0, None
    for _ in range(repeat):
        get_reusable_executor().shutdown(wait=True)  # as in a new command: no workers yet
        before, start = cpu(), time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
        get_reusable_executor().shutdown(wait=True)
        if seconds < wall:
            wall, used = seconds, cpu() - before
    return wall, used, result


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--futures", type=int, default=8)
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tiny", action="store_true", help="2 futures x 2 runs, once (tests)")
    args = parser.parse_args()
    if args.tiny:
        args.futures, args.replications, args.repeat = 2, 2, 1
    path = ROOT / "scenarios" / "project_2030.yaml"
    scenario, _, source = projection_of(path)
    prep = prepare_projection(scenario, source, replications=args.replications)
    model, labels = prep.model, [s.label for s in prep.strategies]
    runs = args.futures * len(labels) * args.replications
    print(
        f"machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}; "
        f"{args.futures} futures x {len(labels)} strategies x {args.replications} runs = {runs}"
    )
    task = pickle.dumps(partial(exploration._run_future, model))
    print(f"one task sends {len(task) / 1e6:.2f} MB (the model)")

    def start_workers() -> list[int]:
        with Evaluator("local", args.workers) as evaluator:
            return list(evaluator.evaluate(abs, range(args.workers)))

    started, start_cpu, _ = best(start_workers, args.repeat)
    print(
        f"starting {args.workers} workers, an empty task each: {started:.2f} s, "
        f"CPU {start_cpu:.2f} s"
    )

    def explore(workers: int) -> Any:
        model._worlds.clear()  # as in a new command: no future's world cached
        return exploration.explore(model, labels, args.futures, scenario.seed, workers)

    alone, alone_cpu, one = best(partial(explore, 1), args.repeat)
    chosen, chosen_cpu, auto = best(partial(explore, args.workers), args.repeat)
    threshold = exploration.SMALL_PROJECTION
    exploration.SMALL_PROJECTION = 0
    forced, forced_cpu, spread = best(partial(explore, args.workers), args.repeat)
    exploration.SMALL_PROJECTION = threshold
    for other in (auto, spread):
        assert one.table.equals(other.table), "the workers changed the outcomes"
    print(f"in process: {alone:.2f} s, CPU {alone_cpu:.2f} s ({alone_cpu / runs * 1e3:.2f} ms/run)")
    where = "in process" if runs <= threshold else "on workers"
    print(
        f"--workers {args.workers}, threshold {threshold} runs ({where}): {chosen:.2f} s, "
        f"CPU {chosen_cpu:.2f} s"
    )
    print(f"--workers {args.workers}, always on workers: {forced:.2f} s, CPU {forced_cpu:.2f} s")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
