"""The documentation site builds in strict mode (no broken link, no missing page or docstring)."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd

ROOT = Path(__file__).parents[1]
TUTORIALS = sorted((ROOT / "docs" / "tutorials").glob("*.ipynb"))


def test_docs_build_strict_and_offline(tmp_path):
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # mkdocs's own warnings (the executed notebooks' kernels log theirs, which are not the build's)
    assert not re.search(r"^WARNING\b", done.stderr, re.MULTILINE), done.stderr[-3000:]
    api = (site / "api.html").read_text(encoding="utf-8")
    assert "ResultFolder" in api  # the reference is generated from the docstrings
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "fonts.googleapis.com" not in index  # nothing fetched from the network
    data = (site / "data.html").read_text(encoding="utf-8")
    assert "firm profiles, countries and their data" in data  # sim/data/README.md included
    _check_tutorials(site)


def _check_tutorials(site: Path) -> None:
    """Every tutorial was executed by the build: its cells show outputs, no warning, no CDN."""
    assert len(TUTORIALS) >= 2
    for notebook in TUTORIALS:
        page = (site / "tutorials" / f"{notebook.stem}.html").read_text(encoding="utf-8")
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        code = sum(cell["cell_type"] == "code" for cell in cells)
        shown = len(re.findall(r'<div class="jp-Cell jp-CodeCell jp-Notebook-cell" id=', page))
        silent = len(re.findall(r'jp-Notebook-cell jp-mod-noOutputs" id=', page))
        assert shown + silent == code, notebook.name
        assert shown >= code - 2, notebook.name  # only set-up cells print nothing
        assert not re.search(r'<div[^>]*data-mime-type="application/vnd.jupyter.stderr"', page)
        for host in ("cdn.jsdelivr.net", "cdnjs.cloudflare.com"):  # no MathJax from a CDN
            assert host not in page, (notebook.name, host)


def test_tutorials_are_stored_without_outputs():
    """The docs build executes them; stored outputs would be stale numbers in the repository."""
    for notebook in TUTORIALS:
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                assert cell["outputs"] == [] and cell["execution_count"] is None, notebook.name


def test_readme_is_short():
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 150


def _results_pages() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "results_pages", ROOT / "scripts" / "results_pages.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_results_tables_match_their_result_files():
    """Every number the pages include comes from a table regenerated from the result files."""
    pages = _results_pages()
    assert pages.stale() == [], "run python scripts/results_pages.py"
    included = {
        Path(m)
        for page in (ROOT / "docs").glob("*.md")
        for m in re.findall(r'^--8<-- "(docs/results/tables/[^"]+)"', page.read_text("utf-8"), re.M)
    }
    assert included == {p.relative_to(ROOT) for p in pages.generated()}  # each used, none missing


def test_a_changed_result_file_makes_exactly_its_tables_stale(tmp_path):
    pages = _results_pages()
    results = tmp_path / "results"
    shutil.copytree(ROOT / "docs" / "results", results, ignore=shutil.ignore_patterns("*.png"))
    assert pages.stale(results) == []
    summary = results / "fitted" / "summary.csv"
    table = pd.read_csv(summary)
    table.loc[table["strategy"] == "record", "events_median"] += 1
    table.to_csv(summary, index=False)
    calibration = results / "inference-jd" / "calibration.csv"
    table = pd.read_csv(calibration)
    table.loc[0, "ece"] = 0.5
    table.to_csv(calibration, index=False)
    assert {p.name for p in pages.stale(results)} == {
        "quickstart.md",
        "quickstart-totals.md",
        "inference-checks.md",
    }
    assert (
        "0.500 (missed: ≤ 0.03)"
        in pages.generated(results)[results / "tables" / "inference-checks.md"]
    )
