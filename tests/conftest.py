"""Shared fixtures: copies of the packaged data files that tests may break on purpose."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from sim.data import DATA_FILES, DataPaths


@pytest.fixture
def data_copy(tmp_path: Path) -> dict[str, Path]:
    """Fresh copies of every data file of the default firm in a temporary directory."""
    out = {}
    for name in DATA_FILES:
        src = DataPaths().resolve(name)
        assert src is not None
        dst = tmp_path / src.name
        shutil.copyfile(src, dst)
        out[name] = dst
    return out


def edit_csv(path: Path, row: int, column: str, value: str | None) -> None:
    """Set one cell (0-based data row) of a CSV file, keeping every other cell's text as is."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[row, column] = "" if value is None else value
    df.to_csv(path, index=False)


@pytest.fixture(autouse=True)
def _policy_registry():
    """Plug-ins registered by a test (--plugin, entry points) do not leak into other tests."""
    from sim.policies import base

    saved = dict(base._REGISTRY)
    yield
    base._REGISTRY.clear()
    base._REGISTRY.update(saved)
