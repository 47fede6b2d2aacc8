"""Time the Mesa path and the batched path of the same model on the same runs.

Usage: ``python benchmarks/bench_engine.py [--policy dual_track] [--runs 2000] [--mesa-runs 300]
[--repeat 3]``. Both paths run in this process on the ``baseline.yaml`` world; each run's random
stream is the one ``sim run`` gives it, so the two paths produce identical events (checked on the
Mesa runs before timing). Best of ``--repeat`` timings. Also printed: where the batched time goes
(random-number set-up vs stepping) and the cost per run-year-option against a floor made of the
elementwise numpy work the step must do at least (one ``exp`` and one ``cumsum`` over every
option). The last line printed is ``speedup: X`` (batched runs/s over Mesa runs/s).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from sim.data import load_dataset
from sim.engine import draw_batch, simulate
from sim.experiment.runner import run_block, run_generator
from sim.modes import N_MODES
from sim.scenario import load_scenario
from sim.world import build_world

ROOT = Path(__file__).resolve().parents[1]


def best(fn, repeat: int) -> float:
    """Best-of-``repeat`` wall time of ``fn()`` in seconds."""
    out = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - start)
    return out


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", default="dual_track")
    parser.add_argument("--runs", type=int, default=2000, help="runs of the batched path")
    parser.add_argument("--mesa-runs", type=int, default=300, help="runs of the Mesa path")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    strategy = next(s for s in scenario.strategies if s.policy == args.policy)
    world = build_world(load_dataset(scenario.data_paths()), scenario)
    policy = strategy.policy_class()(strategy.make_params())
    firm = scenario.firm
    label = strategy.label

    mesa = run_block(world, policy, firm, 1, 0, 0, range(args.mesa_runs), label, "mesa")
    batch = run_block(world, policy, firm, 1, 0, 0, range(args.mesa_runs), label, "batch")
    assert mesa.tobytes() == batch.tobytes(), "the two paths disagree"

    t_mesa = best(
        lambda: run_block(world, policy, firm, 1, 0, 0, range(args.mesa_runs), label, "mesa"),
        args.repeat,
    )
    t_batch = best(
        lambda: run_block(world, policy, firm, 1, 0, 0, range(args.runs), label, "batch"),
        args.repeat,
    )
    n = min(args.runs, 1000)
    t_gen = best(lambda: [run_generator(1, label, 0, r) for r in range(n)], args.repeat)
    gens = [run_generator(1, label, 0, r) for r in range(n)]
    t_draw = best(
        lambda: draw_batch(
            [run_generator(1, label, 0, r) for r in range(n)],
            world.n_years,
            firm.opportunities,
            world.n_markets,
        ),
        args.repeat,
    )
    draws = draw_batch(gens, world.n_years, firm.opportunities, world.n_markets)
    t_step = best(lambda: simulate(world, policy, firm, draws), args.repeat)
    options = world.n_markets * N_MODES
    u = np.random.default_rng(0).standard_normal((n, options))
    t_floor = best(
        lambda: [np.cumsum(np.exp(u), axis=1) for _ in range(world.n_years)], args.repeat
    )
    run_years = n * world.n_years
    mesa_rate = args.mesa_runs / t_mesa
    batch_rate = args.runs / t_batch
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(
        f"policy: {args.policy}; {world.n_markets} markets x {N_MODES} modes x "
        f"{world.n_years} years; {firm.opportunities} opportunities a year"
    )
    print(f"mesa path:    {1e3 * t_mesa / args.mesa_runs:.3f} ms/run  ({mesa_rate:,.0f} runs/s)")
    print(
        f"batched path: {1e3 * t_batch / args.runs:.4f} ms/run  ({batch_rate:,.0f} runs/s; "
        f"batches of <= 1000)"
    )
    print(
        f"  of which, per run: generators {1e6 * t_gen / n:.1f} us, random draws "
        f"{1e6 * (t_draw - t_gen) / n:.1f} us, stepping {1e6 * t_step / n:.1f} us"
    )
    print(
        f"  stepping per run-year-option: {1e9 * t_step / (run_years * options):.1f} ns; "
        f"floor (exp + cumsum): {1e9 * t_floor / (run_years * options):.1f} ns"
    )
    print(f"speedup: {batch_rate / mesa_rate:.1f}")


if __name__ == "__main__":
    main()
