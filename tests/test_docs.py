"""The documentation site builds in strict mode (no broken link, no missing page or docstring)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


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
    assert "WARNING" not in done.stderr, done.stderr[-3000:]
    api = (site / "api.html").read_text(encoding="utf-8")
    assert "ResultFolder" in api  # the reference is generated from the docstrings
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "fonts.googleapis.com" not in index  # nothing fetched from the network
    data = (site / "data.html").read_text(encoding="utf-8")
    assert "firm profiles, countries and their data" in data  # sim/data/README.md included


def test_readme_is_short():
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 150
