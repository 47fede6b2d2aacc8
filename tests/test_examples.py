"""The shipped examples run and return what they say (EMA Workbench driving ``sim``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("ema_workbench", reason="the 'project' extra (EMA Workbench) is not installed")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ema_model.py"


def _module():
    spec = importlib.util.spec_from_file_location("ema_model_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_ema_example_explores_uncertainties_and_levers():
    example = _module()
    table = example.explore(n_scenarios=4, replications=8, seed=3)
    assert len(table) == 4 * 3  # every strategy in every sampled future
    assert set(table["strategy"]) == {"dual_track", "diversification", "gravity"}
    assert table["hurdle"].between(1.0, 5.0).all()
    assert table["block_slope"].between(0.1, 0.6).all()
    assert (table["deals_per_year"] >= 0).all() and table["control_share"].between(0, 1).all()
    # The mechanism shows through EMA: within each strategy, a higher hurdle means fewer deals.
    for _, rows in table.groupby("strategy"):
        rows = rows.sort_values("hurdle")
        assert rows["deals_per_year"].iloc[0] > rows["deals_per_year"].iloc[-1]
    # Same seed, same experiments and outcomes.
    again = example.explore(n_scenarios=4, replications=8, seed=3)
    assert again.equals(table)
