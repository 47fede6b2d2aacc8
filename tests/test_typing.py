"""The package type-checks: ``mypy`` (pydantic plugin, settings in pyproject.toml) finds nothing.

Skipped, with the reason, when mypy or the stubs it needs are not installed (they come with the
``test`` and ``dev`` extras, which CI installs), so a user of the plain package is not blocked.
"""

from __future__ import annotations

import tempfile
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Packages whose absence would make mypy report missing stubs rather than errors in ``sim``.
STUBS = ("pandas-stubs", "scipy-stubs", "pyarrow-stubs", "types-PyYAML", "types-tqdm")


def _missing() -> list[str]:
    missing = []
    for name in ("mypy", *STUBS):
        try:
            metadata.version(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    return missing


@pytest.mark.skipif(
    bool(_missing()),
    reason=f"type check needs the test extra (pip install -e '.[test]'); missing: {_missing()}",
)
def test_mypy_reports_no_errors():
    from mypy import api

    # A cache outside the repository, shared between runs: a warm check takes seconds.
    cache = Path(tempfile.gettempdir()) / "sim-mypy-cache"
    stdout, stderr, status = api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(cache),
            "--no-error-summary",
            str(ROOT / "sim"),
        ]
    )
    assert status == 0, f"mypy found errors:\n{stdout}{stderr}"
    assert stdout == ""
