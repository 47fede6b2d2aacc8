"""Importing sim never changes a user's matplotlib backend (notebooks keep theirs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_importing_sim_keeps_the_matplotlib_backend():
    code = (
        "import matplotlib; matplotlib.use('svg'); "
        "import sim.api, sim.analysis.run_plots, sim.analysis.record_plots, sim.calibration.job; "
        "print(matplotlib.get_backend())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "svg"


def test_sim_run_does_not_import_scipy_stats(tmp_path):
    # scipy.stats (and the scipy subpackages it pulls in) cost sim run about 37 MB of memory.
    code = (
        "import sys, contextlib, io; from sim.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main(['run', 'scenarios/baseline.yaml', '--replications', '5', '--out', "
        f"{str(tmp_path / 'out')!r}, '--quiet'])\n"
        "print(code, sorted(m for m in sys.modules if m.startswith('scipy.stats')))"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip().splitlines()[-1] == "0 []"
