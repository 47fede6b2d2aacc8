"""Importing sim never changes a user's matplotlib backend (notebooks keep theirs)."""

from __future__ import annotations

import subprocess
import sys


def test_importing_sim_keeps_the_matplotlib_backend():
    code = (
        "import matplotlib; matplotlib.use('svg'); "
        "import sim.api, sim.analysis.run_plots, sim.analysis.record_plots, sim.calibration.job; "
        "print(matplotlib.get_backend())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "svg"
