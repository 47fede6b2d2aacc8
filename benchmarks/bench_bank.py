"""Time and measure the memory of building a simulation bank, as ``sim infer`` builds it.

Usage: ``python benchmarks/bench_bank.py [--draws 111500]``. On ``scenarios/calibrate_all.yaml``
(its calibration window, its models, ``declared`` priors): ``build_bank`` draws ``--draws``
parameter points per model from the priors, simulates one history per point with the batched
engine and keeps only its summaries, in one process as ``sim infer`` does. The default,
111,500 draws x 9 models, is just over 10^6 histories. Prints the wall time, the histories per
second and the process's peak resident memory (``getrusage``; it includes the loaded data and
libraries, printed apart as the peak before the build).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
from pathlib import Path

from sim.inference.bank import build_bank, fingerprint
from sim.inference.job import joint_models, load_case
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "calibrate_all.yaml"


def peak_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    """Build the bank once and print its size, time and peak memory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=111_500, help="draws per model")
    parser.add_argument("--tiny", action="store_true", help="500 draws per model (for the tests)")
    args = parser.parse_args()
    if args.tiny:
        args.draws = 500
    scenario = load_scenario(SCENARIO)
    case = load_case(scenario, SCENARIO)
    models = joint_models([case], "declared", False)
    key = fingerprint([scenario], "declared", models)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    before = peak_mb()
    start = time.perf_counter()
    bank, _ = build_bank(models, [case.world], args.draws, scenario.seed, key)
    wall = time.perf_counter() - start
    n = len(bank.model)
    print(
        f"bank: {n:,} histories ({len(models)} models x {n // len(models):,} draws), "
        f"{bank.x.shape[1]} summaries each"
    )
    print(f"built in {wall:.1f} s ({n / wall:,.0f} histories/s, one process)")
    print(f"peak RSS: {peak_mb():,.0f} MB ({before:,.0f} MB before the build)")


if __name__ == "__main__":
    main()
