"""Streaming summaries of an ensemble: exact over every run, without holding every run.

A million-run ensemble has about 190 MB of per-run statistics; ``sim run`` needs far less of
them in memory. Its tables need quantiles, means and pooled shares over *all* runs; its scores
and pattern tests need per-run rows of a bounded number of runs. So each chunk, as it is read,
feeds a :class:`PointStats`:

* sums of the count arrays (pooled shares, means per run);
* the per-run values of every statistic whose quantiles are reported, appended to a file per
  statistic (:class:`Column`), from which the quantiles are found *exactly* (the numbers
  ``numpy.percentile`` and ``numpy.median`` give on the whole column) by selection in a few
  passes over the file, holding at most :data:`BLOCK` values at a time;
* the first :data:`SAMPLE_RUNS` runs of the point, in replication order, as per-run rows for
  the scores and pattern tests (see :mod:`sim.analysis.fit`).

Nothing here depends on the chunk size: the results equal those computed on every run at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.analysis.ensemble import RunStats
from sim.world import World

#: Most runs per point kept as per-run rows, the first ones in replication order: what the
#: scores and pattern tests use. Their bootstrap's memory grows with runs x replicates, and the
#: predictive distributions they judge do not change beyond a few thousand runs.
SAMPLE_RUNS = 5_000

#: Values read from a column file at a time, and the most values a selection pass collects.
BLOCK = 65_536
#: Bins of a selection pass that narrows the range holding a wanted order statistic.
BINS = 4_096

#: Percentiles reported of every quantiled statistic (the 5-95 % band and the middle).
PERCENTILES = (5.0, 50.0, 95.0)

#: Count arrays of :class:`RunStats` summed over runs (pooled shares, means per run).
SUMMED = ("yearly", "modes", "regions", "countries")

#: Per-run headline numbers (:meth:`RunStats.scalars`) whose quantiles the summary reports.
QUANTILED = (
    "total_events",
    "distinct_countries",
    "top_market_share",
    "capital_used",
    "blocked",
    "region_entropy",
)


class Column:
    """The per-run values of one statistic, appended chunk by chunk to a raw file.

    Without a ``path`` the values stay in memory (the record: one run). Values keep their own
    dtype, so quantiles are computed exactly as numpy computes them on the whole column.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.n = 0
        self.dtype: np.dtype | None = None
        self._memory: list[np.ndarray] = []
        self.low = self.high = np.nan

    def add(self, values: np.ndarray) -> None:
        """Append values (NaN is not expected: run statistics are always defined)."""
        values = np.ascontiguousarray(values)
        if values.size == 0:
            return
        self.dtype = values.dtype if self.dtype is None else self.dtype
        values = values.astype(self.dtype, copy=False)
        self.low = float(np.fmin(self.low, values.min()))
        self.high = float(np.fmax(self.high, values.max()))
        self.n += values.size
        if self.path is None:
            self._memory.append(values)
            return
        with self.path.open("ab") as f:
            values.tofile(f)

    def blocks(self) -> Iterator[np.ndarray]:
        """The values in order, at most :data:`BLOCK` at a time."""
        if self.path is None:
            yield from self._memory
            return
        with self.path.open("rb") as f:
            while (block := np.fromfile(f, self.dtype, count=BLOCK)).size:
                yield block

    def order_stats(self, ranks: Sequence[int]) -> np.ndarray:
        """The values at 0-based positions ``ranks`` of the sorted column, exactly."""
        found = _select(self, [int(r) for r in ranks])
        return np.array([found[int(r)] for r in ranks]).astype(self.dtype)

    def percentile(self, q: Sequence[float]) -> np.ndarray:
        """``numpy.percentile`` of the whole column (its default, linear interpolation).

        numpy interpolates between the order statistics at floor and ceil of (n - 1) q / 100;
        those two are selected here and interpolated by numpy itself, so the result is the
        same number to the last bit.
        """
        index = (self.n - 1) * (np.asarray(q, dtype=float) / 100)
        low = np.floor(index)
        a = self.order_stats(low.astype(np.int64).tolist())
        b = self.order_stats(np.minimum(low + 1, self.n - 1).astype(np.int64).tolist())
        pairs = zip(a, b, index - low, strict=True)
        return np.array([np.quantile(np.array([x, y]), g) for x, y, g in pairs])

    def median(self) -> float:
        """``numpy.median`` of the whole column (the mean of the middle two when n is even)."""
        return float(np.median(self.order_stats(sorted({(self.n - 1) // 2, self.n // 2}))))


Range = tuple[float, float]


def _histograms(column: Column, ranges: set[Range]) -> dict[Range, tuple[np.ndarray, ...]]:
    """One pass: per range, the count, smallest and largest value of each of its bins.

    A value's bin index never decreases with the value, so every value of a bin lies strictly
    between the values of the bins before and after it.
    """
    out: dict[Range, tuple[np.ndarray, ...]] = {
        r: (np.zeros(BINS, np.int64), np.full(BINS, np.inf), np.full(BINS, -np.inf)) for r in ranges
    }
    for block in column.blocks():
        for (low, high), (counts, smallest, largest) in out.items():
            v = block[(block >= low) & (block <= high)].astype(float)
            idx = np.minimum(((v - low) / (high - low) * BINS).astype(np.int64), BINS - 1)
            counts += np.bincount(idx, minlength=BINS)
            np.minimum.at(smallest, idx, v)
            np.maximum.at(largest, idx, v)
    return out


def _collect(column: Column, ranges: set[Range]) -> dict[Range, np.ndarray]:
    """One pass: per range, its values sorted (each range holds at most :data:`BLOCK`)."""
    kept: dict[Range, list[np.ndarray]] = {r: [] for r in ranges}
    for block in column.blocks():
        for (low, high), parts in kept.items():
            parts.append(block[(block >= low) & (block <= high)])
    return {r: np.sort(np.concatenate(parts)) for r, parts in kept.items()}


def _select(column: Column, ranks: Sequence[int]) -> dict[int, float]:
    """The values at 0-based ``ranks`` of the sorted column, in passes with bounded memory.

    Each wanted rank has a range [low, high] known to hold it, with ``below`` values under the
    range and ``inside`` in it (at first: the whole column). A range of one value is the answer;
    a range of at most :data:`BLOCK` values is read and sorted; a wider one is narrowed to the
    bin holding the rank (:func:`_histograms`, :data:`BINS` bins). Ranks that share a range
    share its passes, so a column usually takes one or two passes whatever the ranks.
    """
    state = {r: (column.low, column.high, 0, column.n) for r in ranks}
    found: dict[int, float] = {}
    while state:
        for r, (low, high, _, _) in list(state.items()):
            if not low < high:
                found[r] = low
                del state[r]
        ready = {s[:2] for s in state.values() if s[3] <= BLOCK}
        values = _collect(column, ready) if ready else {}
        for r, (low, high, below, _) in list(state.items()):
            if (low, high) in values:
                found[r] = float(values[(low, high)][r - below])
                del state[r]
        wide = _histograms(column, {s[:2] for s in state.values()}) if state else {}
        for r, (low, high, below, _) in state.items():
            counts, smallest, largest = wide[(low, high)]
            b = int(np.searchsorted(np.cumsum(counts), r - below, side="right"))
            state[r] = (smallest[b], largest[b], below + int(counts[:b].sum()), int(counts[b]))
    return found


@dataclass
class PointStats:
    """What ``sim run``'s tables and figures need of one point's runs, fed chunk by chunk.

    Attributes:
        spill: Folder for the per-run value files (``None``: kept in memory, for the record).
        name: Prefix of this point's files in ``spill``.
        n_runs: Runs counted so far.
        sums: Per :data:`SUMMED` field, its counts summed over runs (int64).
        columns: Per-run values of each year's events (``year_<t>``) and of each
            :data:`QUANTILED` number, until :meth:`close` reads them.
        percentiles: After :meth:`close`: per column, its :data:`PERCENTILES`.
        medians: After :meth:`close`: per column, its median.
        sample: Per-run rows of the first ``limit`` runs (after :meth:`close`).
        limit: The sample's size.
    """

    spill: Path | None = None
    name: str = "point"
    n_runs: int = 0
    sums: dict[str, np.ndarray] = field(default_factory=dict)
    columns: dict[str, Column] = field(default_factory=dict)
    percentiles: dict[str, np.ndarray] = field(default_factory=dict)
    medians: dict[str, float] = field(default_factory=dict)
    sample: RunStats | None = None
    limit: int = field(default_factory=lambda: SAMPLE_RUNS)
    _parts: list[RunStats] = field(default_factory=list, repr=False)

    @classmethod
    def of(cls, stats: RunStats, world: World) -> PointStats:
        """The summary of runs already in memory (the record: one run)."""
        out = cls()
        out.add(stats, world)
        return out.close()

    def _column(self, key: str) -> Column:
        if key not in self.columns:
            path = None if self.spill is None else self.spill / f"{self.name}-{key}.bin"
            self.columns[key] = Column(path)
        return self.columns[key]

    def add(self, part: RunStats, world: World) -> None:
        """Count the next runs of the point (in replication order)."""
        for name in SUMMED:
            total = getattr(part, name).sum(axis=0, dtype=np.int64)
            self.sums[name] = self.sums[name] + total if name in self.sums else total
        for t in range(part.yearly.shape[1]):
            self._column(f"year_{t}").add(part.yearly[:, t])
        headline = part.scalars(world)
        for name in QUANTILED:
            self._column(name).add(headline[name].to_numpy())
        kept = sum(p.yearly.shape[0] for p in self._parts)
        if kept < self.limit:  # a copy: a view would keep the whole chunk alive
            self._parts.append(part.take(np.arange(min(part.yearly.shape[0], self.limit - kept))))
        self.n_runs += part.yearly.shape[0]

    def close(self) -> PointStats:
        """Compute the quantiles and join the sample (once every chunk has been added).

        The column files are deleted; what stays is a few numbers per statistic and the sample.
        """
        for key, column in self.columns.items():
            self.percentiles[key] = column.percentile(PERCENTILES)
            self.medians[key] = column.median()
            if column.path is not None:
                column.path.unlink(missing_ok=True)
        self.columns = {}
        if self._parts:
            self.sample = RunStats(
                **{
                    k: np.concatenate([getattr(p, k) for p in self._parts])
                    for k in RunStats.__dataclass_fields__
                }
            )
            self._parts = []
        return self

    def mean(self, name: str) -> np.ndarray:
        """Mean per run of a :data:`SUMMED` field (e.g. events per year, per country)."""
        return self.sums[name] / self.n_runs

    def pooled(self, name: str) -> np.ndarray:
        """Shares of a :data:`SUMMED` field pooled over every run (the sums when they are 0)."""
        total = self.sums[name].sum()
        return self.sums[name] / total if total else self.sums[name]

    def band(self, key: str) -> dict[str, float]:
        """A column's median and 5-95 % band (``numpy.percentile`` over every run)."""
        lo, mid, hi = self.percentiles[key]
        return {"median": float(mid), "p05": float(lo), "p95": float(hi)}


@dataclass(frozen=True)
class Comparison:
    """Every point's streamed summary beside the record's statistics, for tables and figures.

    Attributes:
        points: One summary per strategy point, in the order of ``labels``.
        observed: Statistics of the record (one "run").
        labels: Point labels.
        world: The world the runs used.
    """

    points: tuple[PointStats, ...]
    observed: RunStats
    labels: tuple[str, ...]
    world: World

    @property
    def record(self) -> PointStats:
        """The record summarised like a point (one run)."""
        return PointStats.of(self.observed, self.world)

    def subset(self, labels: list[str]) -> Comparison:
        """The same comparison restricted to some points (itself when all are kept)."""
        if list(labels) == list(self.labels):
            return self
        keep = [i for i, label in enumerate(self.labels) if label in labels]
        return Comparison(
            points=tuple(self.points[i] for i in keep),
            observed=self.observed,
            labels=tuple(self.labels[i] for i in keep),
            world=self.world,
        )
