"""Importing sim never changes a user's matplotlib backend (notebooks keep theirs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_importing_sim_keeps_the_matplotlib_backend():
    code = (
        "import matplotlib; matplotlib.use('svg'); "
        "import sim.api, sim.analysis.run_plots, sim.analysis.record_plots; "
        "import sim.calibration.calibrate_job; "
        "print(matplotlib.get_backend())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "svg"


def _unit(module: str) -> str:
    """The package-level node of a module: ``sim.x`` for a top-level module or subpackage."""
    return ".".join(module.split(".")[:2])


def test_no_import_cycle_between_packages():
    # Module-level imports only (imports inside functions are deliberate lazy imports), read
    # from the source, so that a cycle such as sim.scenario -> sim.projection -> sim.scenario
    # fails here whether or not Python happens to resolve it.
    import ast
    from pathlib import Path

    import networkx as nx

    root = Path(__file__).resolve().parents[1] / "sim"
    graph = nx.DiGraph()
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                a, b = _unit(module), _unit(name)
                if name.startswith("sim.") and a != b:
                    graph.add_edge(a, b)
    assert graph.number_of_edges() > 20  # the graph was read
    assert list(nx.simple_cycles(graph)) == []


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
