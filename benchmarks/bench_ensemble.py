"""Ensemble throughput and memory: serial vs local workers vs dask (not a test; prints figures).

Usage: ``python benchmarks/bench_ensemble.py [--runs 10000] [--workers 2] [--chunk-size 250]
[--rounds 1] [--executors serial,local,dask] [--memory-runs 100000] [--tiny]`` (``--tiny``: 40
runs in chunks of 10 on 1 worker and a 20-run ``sim run``; a smoke test, not a measurement).

1. Wall time of ``--runs`` runs of baseline.yaml's dual-track strategy (execution and storing the
   chunks, as ``sim run`` does) with the serial, local (joblib/loky) and dask (LocalCluster)
   executors, and the speed-ups over serial; with ``--rounds N`` the executors run N times in
   turn (A/B/A/B), so a machine shared with other jobs slows them alike. Each line also gives the
   CPU time of the main process and of its worker processes (sampled every 0.25 s, so the last
   fraction of a second of a worker may be missed) and the load average before and after: on a
   shared machine CPU time is the steadier measure. Each line names the executor that actually
   ran: ``sim run`` runs a small ensemble (<= 1000 runs) of the local executor in process.
2. Peak resident memory (VmHWM) of the main process of a whole ``sim run`` (the command, in a
   fresh subprocess) of ``--memory-runs`` runs with the local executor (workers are separate
   processes).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil  # a dependency of dask.distributed
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


def load() -> str:
    """The 1-minute load average (how many processes wanted the cores)."""
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"


class ChildCPU:
    """CPU seconds this process's children (worker processes) use, sampled in a thread.

    Children alive at the start (joblib keeps its loky workers for reuse) count only the CPU
    they use from then on.
    """

    def __init__(self) -> None:
        self.seen: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def _sample(self) -> dict[int, float]:
        out = {}
        for child in psutil.Process().children(recursive=True):
            try:
                times = child.cpu_times()
            except psutil.Error:
                continue
            out[child.pid] = times.user + times.system
        return out

    def _watch(self) -> None:
        while not self.stop.is_set():
            self.seen |= self._sample()
            self.stop.wait(0.25)

    def __enter__(self) -> ChildCPU:
        self.before = self._sample()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    @property
    def seconds(self) -> float:
        """CPU seconds of every child seen, less what the ones alive at the start had used."""
        return sum(cpu - self.before.get(pid, 0.0) for pid, cpu in self.seen.items())


@dataclass(frozen=True)
class Timing:
    """One executor's run: wall and CPU seconds, load before/after, the executor that ran."""

    wall: float
    cpu_main: float
    cpu_workers: float
    load: str
    ran: str


def time_executor(path: Path, executor: str, workers: int, chunk_size: int) -> Timing:
    """Plan, run and store every chunk (fresh chunk store); wall and CPU seconds."""
    from sim.data import load_dataset
    from sim.experiment.experiment import Options, plan, run
    from sim.scenario import load_scenario

    scenario = load_scenario(path)
    data = load_dataset(scenario.data_paths())
    with tempfile.TemporaryDirectory() as chunks:
        options = Options(executor=executor, workers=workers, chunk_size=chunk_size, progress=False)
        before, cpu = load(), time.process_time()
        start = time.perf_counter()
        with ChildCPU() as children:
            experiment = run(plan(scenario, data, Path(chunks), options), options)
        wall = time.perf_counter() - start
        return Timing(
            wall,
            time.process_time() - cpu,
            children.seconds,
            f"{before}->{load()}",
            experiment.executor,
        )


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


def _ratio(a: list[Timing], b: list[Timing]) -> str:
    """Median of b over a, in wall and in CPU time, as percentages (b vs a)."""
    wall = statistics.median(x.wall for x in b) / statistics.median(x.wall for x in a)
    cpu = statistics.median(x.cpu_main + x.cpu_workers for x in b) / statistics.median(
        x.cpu_main + x.cpu_workers for x in a
    )
    return f"{100 * (wall - 1):+.1f} % wall, {100 * (cpu - 1):+.1f} % CPU"


def main() -> None:
    """Time the executors (in turn, ``--rounds`` times), then measure memory; print everything."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=250)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--executors", default="serial,local,dask")
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
        f"; load average {load()}"
    )
    names = args.executors.split(",")
    timed: dict[str, list[Timing]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        path = scenario_file(Path(tmp), args.runs)
        for _ in range(args.rounds):
            for name in names:
                t = time_executor(path, name, args.workers, args.chunk_size)
                timed[name].append(t)
                print(
                    f"{name:>6}: {t.wall:6.2f} s for {args.runs} runs ({args.runs / t.wall:,.0f} "
                    f"runs/s; ran on {t.ran}); CPU {t.cpu_main:.1f} s main + {t.cpu_workers:.1f} s "
                    f"workers; load {t.load}",
                    flush=True,
                )
    if "serial" in timed and "local" in timed and "dask" in timed:
        best = {name: min(x.wall for x in runs) for name, runs in timed.items()}
        print(
            f"speed-up local/serial: {best['serial'] / best['local']:.2f}x; "
            f"dask/serial: {best['serial'] / best['dask']:.2f}x (best walls)"
        )
    if "local" in timed and "dask" in timed:
        print(f"dask vs local (medians): {_ratio(timed['local'], timed['dask'])}")
    if args.memory_runs:
        mb, seconds = peak_memory_mb(args.memory_runs, args.workers)
        print(
            f"peak RSS of `sim run` main process, {args.memory_runs} runs: {mb:.0f} MB "
            f"({seconds:.0f} s wall, all outputs written; load average {load()})"
        )


if __name__ == "__main__":
    main()
