"""Time a batch whose runs have their own parameter values against the same batch at one point.

Usage: ``python benchmarks/bench_points.py [--runs 1000] [--repeat 5]``. For every registered
policy, on the ``baseline.yaml`` world with its firm: ``simulate_points`` with an empty table
(every run at the policy's default parameters, the scalar path) and with a table that gives every
free policy and firm parameter as an array over runs holding the *same* values (the per-run
path). The two must give byte-identical events (checked), so the timings compare equal work: the
difference is the cost of carrying parameters along the run axis. Fresh policy objects in both
(no cached utilities), as a new batch of prior draws would have. Best of ``--repeat``.
Then the same per-run table with values drawn from the middle half of each range (as an
inference layer would draw), for scale (other values, other deal counts, other work).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from sim.data import load_dataset
from sim.engine import FIXED_FIRM_FIELDS, simulate_points
from sim.policies import get_policy, policy_names
from sim.scenario import Firm, load_scenario
from sim.world import build_world

ROOT = Path(__file__).resolve().parents[1]


def best(fn: Callable[[], np.ndarray], repeat: int) -> tuple[float, np.ndarray]:
    """Best-of-``repeat`` wall time of ``fn()`` in seconds, and its (last) result."""
    out, result = float("inf"), np.empty(0)
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        out = min(out, time.perf_counter() - start)
    return out, result


def main() -> None:
    """Run the benchmark and print one line per policy and a total."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--tiny", action="store_true", help="20 runs, once (for the tests)")
    args = parser.parse_args()
    if args.tiny:
        args.runs, args.repeat = 20, 1
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    world = build_world(load_dataset(scenario.data_paths()), scenario)
    firm, seeds = scenario.firm, list(range(args.runs))
    firm_fields = [k for k in Firm.bounds() if k not in FIXED_FIRM_FIELDS]
    rng = np.random.default_rng(0)
    print(
        f"{args.runs} runs, {world.n_markets} markets, {world.n_years} years; best of "
        f"{args.repeat} (s): scalar | per-run, same values | ratio | per-run, drawn values"
    )
    totals = np.zeros(3)
    for name in policy_names():
        cls = get_policy(name)
        bounds = {**cls.Params.bounds(), **{k: Firm.bounds()[k] for k in firm_fields}}
        same = {
            k: np.full(args.runs, getattr(firm if k in firm_fields else cls.Params(), k))
            for k in bounds
        }
        drawn = {
            k: rng.uniform(lo + (hi - lo) / 4, hi - (hi - lo) / 4, args.runs)
            for k, (lo, hi) in bounds.items()
        }

        def run(table: dict[str, np.ndarray], cls: type = cls) -> np.ndarray:
            return simulate_points(world, cls(cls.Params()), firm, table, seeds)[0]

        t_scalar, at_point = best(partial(run, {}), args.repeat)
        t_same, per_run = best(partial(run, same), args.repeat)
        assert per_run.tobytes() == at_point.tobytes(), f"{name}: per-run path disagrees"
        t_drawn, _ = best(partial(run, drawn), args.repeat)
        totals += (t_scalar, t_same, t_drawn)
        print(
            f"{name:16s} {t_scalar:.3f} | {t_same:.3f} ({len(same)} parameters) | "
            f"{t_same / t_scalar:.2f} | {t_drawn:.3f}"
        )
    print(
        f"{'all policies':16s} {totals[0]:.3f} | {totals[1]:.3f} | "
        f"{totals[1] / totals[0]:.2f} | {totals[2]:.3f}"
    )


if __name__ == "__main__":
    main()
