"""Every benchmark script runs at its ``--tiny`` size and prints its figures, so none can rot."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NUMBER = r"[\d,]+(?:\.\d+)?"
#: Per script: lines its tiny run must print (regular expressions, matched in order).
EXPECTED = {
    "bench_bank.py": [
        r"^machine: .+, \d+ cores; load average [\d.]+$",
        r"^bank: 4,500 histories \(9 models x 500 draws\), \d+ summaries each$",
        rf"^built in {NUMBER} s \({NUMBER} histories/s, one process\)$",
        rf"^peak RSS: {NUMBER} MB \({NUMBER} MB before the build\)$",
    ],
    "bench_engine.py": [
        r"^machine: .+, \d+ cores$",
        rf"^mesa path: +{NUMBER} ms/run +\({NUMBER} runs/s\)$",
        rf"^batched path: +{NUMBER} ms/run +\({NUMBER} runs/s; batches of <= 1000\)$",
        rf"^speedup: {NUMBER}$",
    ],
    "bench_ensemble.py": [
        r"^machine: .+, \d+ cores, python .+; load average ",
        *(
            rf"^{name:>6}: +{NUMBER} s for 40 runs \({NUMBER} runs/s; ran on {ran}\); "
            rf"CPU {NUMBER} s main \+ {NUMBER} s workers; load "
            for name, ran in (("serial", "serial"), ("local", "serial"), ("dask", "dask"))
        ),
        rf"^speed-up local/serial: {NUMBER}x; dask/serial: {NUMBER}x",
        rf"^dask vs local \(medians\): [+-]{NUMBER} % wall, [+-]{NUMBER} % CPU$",
        rf"^peak RSS of `sim run` main process, 20 runs: {NUMBER} MB",
    ],
    "bench_project.py": [
        r"^machine: \d+ cores; load average [\d.]+; 2 futures x \d+ strategies x 2 runs = \d+$",
        rf"^one task sends {NUMBER} MB \(the model\)$",
        rf"^starting 2 workers, an empty task each: {NUMBER} s, CPU {NUMBER} s$",
        rf"^in process: {NUMBER} s, CPU {NUMBER} s \({NUMBER} ms/run\)$",
        rf"^--workers 2, threshold 10000 runs \(in process\): {NUMBER} s, CPU {NUMBER} s$",
        rf"^--workers 2, always on workers: {NUMBER} s, CPU {NUMBER} s$",
    ],
    "bench_points.py": [
        r"^20 runs, 57 markets, 12 years; best of 1 \(s\): scalar \| per-run",
        rf"^dual_track +{NUMBER} \| {NUMBER} \(\d+ parameters\) \| {NUMBER} \| {NUMBER}$",
        rf"^all policies +{NUMBER} \| {NUMBER} \| {NUMBER} \| {NUMBER}$",
    ],
}


def test_every_benchmark_script_is_checked():
    assert sorted(p.name for p in (ROOT / "benchmarks").glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_benchmark_runs_at_its_tiny_size(script):
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--tiny"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},  # this checkout's sim, not an installed one
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    position = 0
    for pattern in EXPECTED[script]:
        found = next((i for i in range(position, len(lines)) if re.search(pattern, lines[i])), None)
        assert found is not None, f"{script}: no line matching {pattern!r} in:\n{done.stdout}"
        position = found + 1
