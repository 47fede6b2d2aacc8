"""Streamed ensemble summaries: exactly the in-memory numbers, in memory bounded by the sample."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from sim.analysis import accumulate
from sim.analysis.accumulate import BLOCK, Column, PointStats
from sim.analysis.ensemble import COMPARE_MODES, RunStats, summarise_runs
from sim.analysis.tables import summary_table, yearly_table
from sim.data import load_dataset
from sim.experiment.experiment import Options, compare, plan, run
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(1).integers(0, 90, 3 * BLOCK + 17).astype(np.int16),
        np.random.default_rng(2).random(3 * BLOCK + 4).round(3),  # many ties among floats
        np.random.default_rng(3).normal(size=2 * BLOCK + 1).astype(np.float32),
        # one far outlier: every other value falls in the first bin, so the range narrows twice
        np.append(np.random.default_rng(4).normal(size=3 * BLOCK), 1e12),
        np.full(2 * BLOCK, 7.25),
    ],
    ids=["int16", "rounded", "float32", "outlier", "constant"],
)
def test_column_quantiles_equal_numpy_on_the_whole_column(tmp_path, values):
    column = Column(tmp_path / "x.bin")
    for part in np.array_split(values, 13):  # uneven chunks
        column.add(part)
    q = [5.0, 50.0, 95.0, 0.0, 100.0, 37.5]
    assert np.array_equal(column.percentile(q), np.percentile(values, q))
    assert column.median() == np.median(values)
    assert column.order_stats([0, values.size - 1]).tolist() == [values.min(), values.max()]
    blocks = list(column.blocks())
    assert max(b.size for b in blocks) <= BLOCK  # read back a block at a time
    assert np.array_equal(np.concatenate(blocks), values)  # dtype and order kept on disk


def _experiment(tmp_path: Path, runs: int, chunk_size: int):
    scenario = load_scenario(BASELINE)
    keep = [s for s in scenario.strategies if s.label in ("dual_track", "gravity")]
    scenario = scenario.model_copy(update={"strategies": keep, "replications": runs})
    data = load_dataset(scenario.data_paths())
    options = Options(executor="serial", chunk_size=chunk_size, progress=False)
    experiment = run(plan(scenario, data, tmp_path / "chunks", options), options)
    return experiment, scenario.record(data)


def _in_memory(experiment, point: int) -> RunStats:
    """Every run of one point summarised at once (what ``sim run`` held before streaming)."""
    world = experiment.world
    tasks = [t for t in experiment.tasks if t.strategy == point]
    events = np.concatenate([experiment.store.read(t) for t in tasks])
    n = sum(t.count for t in tasks)
    return summarise_runs(events, events["replication"].astype(np.int64), n, world).compact()


def test_streamed_tables_equal_in_memory_statistics_of_every_run(tmp_path):
    experiment, history = _experiment(tmp_path, runs=230, chunk_size=17)
    comparison = compare(experiment, history)
    yearly_all, summary = yearly_table(comparison), summary_table(comparison)
    world = experiment.world
    for s, label in enumerate(experiment.labels):
        full = _in_memory(experiment, s)
        yearly = yearly_all[yearly_all["strategy"] == label]
        lo, med, hi = np.percentile(full.yearly, [5, 50, 95], axis=0)
        assert np.array_equal(yearly["median"], med) and np.array_equal(yearly["p05"], lo)
        assert np.array_equal(yearly["p95"], hi)
        assert np.array_equal(yearly["mean"], full.yearly.mean(axis=0))
        row = summary.set_index("strategy").loc[label]
        scalars = full.scalars(world)
        total = scalars["total_events"].to_numpy()
        assert row["events_median"] == np.median(total)
        assert [row["events_p05"], row["events_p95"]] == list(np.percentile(total, [5, 95]))
        for name in ("distinct_countries", "top_market_share", "capital_used", "region_entropy"):
            assert row[f"{name}_median"] == scalars[name].median(), name
        pooled = full.modes.sum(axis=0) / full.modes.sum()
        assert [row[f"mode_share_{m}"] for m in COMPARE_MODES] == list(pooled)
        sample = comparison.points[s].sample
        assert sample is not None
        for k in RunStats.__dataclass_fields__:  # the scores' sample: the runs, in order
            assert np.array_equal(getattr(sample, k), getattr(full, k)), k


def _arrays(obj: object, seen: set[int] | None = None) -> list[np.ndarray]:
    """Every numpy array reachable from ``obj`` through dataclass fields and containers."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return []
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return [obj]
    if dataclasses.is_dataclass(obj):
        children = [getattr(obj, f.name) for f in dataclasses.fields(obj)]
    elif isinstance(obj, dict):
        children = list(obj.values())
    elif isinstance(obj, list | tuple):
        children = list(obj)
    elif isinstance(obj, Column):
        children = list(vars(obj).values())
    else:
        return []
    return [a for child in children for a in _arrays(child, seen)]


def test_comparison_holds_the_sample_not_every_run(tmp_path, monkeypatch):
    # A small sample limit stands for SAMPLE_RUNS so that the ensemble can be 6x larger quickly.
    limit = 40
    monkeypatch.setattr(accumulate, "SAMPLE_RUNS", limit)
    experiment, history = _experiment(tmp_path, runs=6 * limit, chunk_size=25)
    held: list[int] = []
    real_add = PointStats.add

    def add(self, part, world):  # what the point holds while the chunks stream in
        real_add(self, part, world)
        held.append(sum(a.nbytes for a in _arrays(self)))

    monkeypatch.setattr(PointStats, "add", add)
    comparison = compare(experiment, history)
    full = _in_memory(experiment, 0)
    per_run = sum(getattr(full, k).nbytes for k in RunStats.__dataclass_fields__) / full.total.size
    for point in comparison.points:
        assert point.n_runs == 6 * limit
        assert point.sample is not None and point.sample.yearly.shape[0] == limit
        assert not point.columns  # the per-run values went to files, now deleted
    # While streaming and after: the sample's rows and a few sums, never the other runs' rows.
    assert max(held) <= limit * per_run + 4096
    assert sum(a.nbytes for a in _arrays(comparison.points)) <= 2 * (limit * per_run + 4096)
    assert not list(experiment.store.dir.glob(".stats-*"))  # the spill folder is gone
