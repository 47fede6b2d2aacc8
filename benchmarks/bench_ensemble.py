"""Ensemble throughput and memory: serial vs local workers vs dask (not a test; prints figures).

Usage: ``python benchmarks/bench_ensemble.py [--runs 10000] [--workers 2] [--memory-runs 100000]
[--tiny]`` (``--tiny``: 40 runs in chunks of 10 on 1 worker and a 20-run ``sim run``; a smoke
test, not a measurement).

1. Wall time of ``--runs`` runs of baseline.yaml's dual-track strategy (execution and storing the
   chunks, as ``sim run`` does) with the serial, local (joblib/loky) and dask (LocalCluster)
   executors, and the speed-ups over serial. Each line names the executor that actually ran:
   ``sim run`` runs a small ensemble (<= 1000 runs) of the local executor in process.
2. Peak resident memory (VmHWM) of the main process of a whole ``sim run`` (the command, in a
   fresh subprocess) of ``--memory-runs`` runs with the local executor (workers are separate
   processes).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def scenario_file(directory: Path, runs: int) -> Path:
    """baseline.yaml with only its dual-track strategy and ``runs`` replications."""
    raw = yaml.safe_load((ROOT / "scenarios" / "baseline.yaml").read_text())
    raw["strategies"] = [s for s in raw["strategies"] if s["label"] == "dual_track"]
    raw["replications"] = runs
    path = directory / "bench.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def time_executor(path: Path, executor: str, workers: int, chunk_size: int) -> tuple[float, str]:
    """Seconds to plan, run and store every chunk (fresh chunk store), and the executor used."""
    from sim.data import load_dataset
    from sim.experiment.experiment import Options, plan, run
    from sim.scenario import load_scenario

    scenario = load_scenario(path)
    data = load_dataset(scenario.data_paths())
    with tempfile.TemporaryDirectory() as chunks:
        options = Options(executor=executor, workers=workers, chunk_size=chunk_size, progress=False)
        start = time.perf_counter()
        experiment = run(plan(scenario, data, Path(chunks), options), options)
        return time.perf_counter() - start, experiment.executor


MEMORY_PROBE = """
import contextlib, io, sys
from sim.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(["run", sys.argv[1], "--out", sys.argv[2], "--workers", sys.argv[3], "--quiet"])
assert code == 0
for line in open("/proc/self/status"):
    if line.startswith("VmHWM"):
        print(line.split()[1])
"""


def peak_memory_mb(runs: int, workers: int) -> tuple[float, float]:
    """(peak RSS in MB of a whole `sim run` main process, wall seconds) for ``runs`` runs."""
    with tempfile.TemporaryDirectory() as tmp:
        path = scenario_file(Path(tmp), runs)
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", MEMORY_PROBE, str(path), str(Path(tmp) / "out"), str(workers)],
            capture_output=True,
            text=True,
            check=True,
        )
        return int(out.stdout.split()[-1]) / 1024, time.perf_counter() - start


def main() -> None:
    """Time the three executors, then measure memory; print everything."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=250)
    parser.add_argument("--memory-runs", type=int, default=100_000)
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="40 runs, chunks of 10, 1 worker, a 20-run sim run (a smoke test)",
    )
    args = parser.parse_args()
    if args.tiny:
        args.runs, args.chunk_size, args.memory_runs, args.workers = 40, 10, 20, 1
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = scenario_file(Path(tmp), args.runs)
        timed = {
            name: time_executor(path, name, args.workers, args.chunk_size)
            for name in ("serial", "local", "dask")
        }
    times = {name: seconds for name, (seconds, _) in timed.items()}
    for name, (seconds, ran) in timed.items():
        print(
            f"{name:>6}: {seconds:6.2f} s for {args.runs} runs ({args.runs / seconds:,.0f} runs/s; "
            f"ran on {ran})"
        )
    print(
        f"speed-up local/serial: {times['serial'] / times['local']:.2f}x; "
        f"dask/serial: {times['serial'] / times['dask']:.2f}x; "
        f"dask vs local: {100 * (times['dask'] / times['local'] - 1):+.1f} %"
    )
    if args.memory_runs:
        mb, seconds = peak_memory_mb(args.memory_runs, args.workers)
        print(
            f"peak RSS of `sim run` main process, {args.memory_runs} runs: {mb:.0f} MB "
            f"({seconds:.0f} s wall, all outputs written)"
        )


if __name__ == "__main__":
    main()
