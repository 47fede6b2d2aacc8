"""Time one full model run against a bare Mesa model of the same size (speed goal: 1.5x).

Usage: ``python benchmarks/bench_model.py [--policy dual_track] [--runs 2000] [--repeat 5]``.
Both models are built and stepped through every simulated year in the same process; the best of
``--repeat`` timings is kept for each (the minimum is the least noisy estimate on a shared machine).

The bare model has the same agents (markets + firm) and steps; each step activates every agent in
random order, Mesa's canonical ``agents.shuffle_do("step")``, and each agent's step does nothing.
A second, stricter bare model whose step does not touch its agents is printed for reference.
The last line printed is ``ratio: X.XX`` (full / bare).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import mesa
import numpy as np

from sim.data import load_dataset
from sim.model import InternationalizationModel
from sim.scenario import load_scenario
from sim.world import build_world

ROOT = Path(__file__).resolve().parents[1]


class _Idle(mesa.Agent):
    def step(self) -> None:
        pass


class BareModel(mesa.Model):
    """Same number of agents and steps as the full model; every agent's step does nothing."""

    def __init__(self, n_agents: int, rng: int) -> None:
        super().__init__(rng=rng)
        for _ in range(n_agents):
            _Idle(self)

    def step(self) -> None:
        """Activate every agent in random order (each does nothing)."""
        self.agents.shuffle_do("step")


class IdleModel(BareModel):
    """The stricter reference: agents exist, but a step does not activate them."""

    def step(self) -> None:
        """Do nothing."""


def per_run(make, runs: int, steps: int, repeat: int) -> float:
    """Best-of-``repeat`` seconds per run of ``make(seed)`` stepped ``steps`` times."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for seed in range(runs):
            model = make(seed)
            for _ in range(steps):
                model.step()
        best = min(best, (time.perf_counter() - start) / runs)
    return best


def main() -> None:
    """Parse arguments, time both models, print the figures and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "baseline.yaml"))
    parser.add_argument("--policy", default="dual_track", help="strategy label in the scenario")
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    scenario = load_scenario(args.scenario)
    world = build_world(load_dataset(scenario.data_paths()), scenario)
    strategy = next(s for s in scenario.strategies if s.label == args.policy)
    policy = strategy.policy_class()(strategy.make_params())
    steps = world.n_years
    n_agents = world.n_markets + 1

    def full(seed: int) -> InternationalizationModel:
        return InternationalizationModel(world, policy, scenario.firm, rng=seed)

    def bare(seed: int) -> BareModel:
        return BareModel(n_agents, seed)

    per_run(full, 200, steps, 1)  # warm caches (policy memo, imports)
    t_full = per_run(full, args.runs, steps, args.repeat)
    t_bare = per_run(bare, args.runs, steps, args.repeat)
    t_idle = per_run(lambda seed: IdleModel(n_agents, seed), args.runs, steps, args.repeat)
    cpu = platform.processor() or platform.machine()
    print(
        f"machine: {cpu}, {os.cpu_count()} cores, python {platform.python_version()}, "
        f"mesa {mesa.__version__}, numpy {np.__version__}"
    )
    print(
        f"policy: {args.policy}; {n_agents} agents, {steps} steps, "
        f"best of {args.repeat} x {args.runs} runs"
    )
    print(f"full model: {t_full * 1e3:.3f} ms per run")
    print(f"bare model (shuffle_do of idle agents): {t_bare * 1e3:.3f} ms per run")
    print(
        f"stricter bare model (no activation): {t_idle * 1e3:.3f} ms per run "
        f"(full / stricter = {t_full / t_idle:.2f})"
    )
    print(f"ratio: {t_full / t_bare:.2f}")


if __name__ == "__main__":
    main()
