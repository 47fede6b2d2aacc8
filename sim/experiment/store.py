"""The chunk store: one Parquet file per finished chunk, named by what determines its content.

A chunk's file name carries its strategy, point and replication range; its directory is a
fingerprint of everything else that determines the result (resolved configuration, data file
contents, code version). Re-running the same scenario therefore finds and skips finished chunks,
and any change of data, code or configuration starts a fresh directory. Files are written to a
temporary name and renamed, so a crash never leaves a chunk half-written.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import sim
from sim.events import ENSEMBLE_DTYPE, ENSEMBLE_FIELDS
from sim.experiment.plan import Task
from sim.io import ensure_writable_dir


@lru_cache(maxsize=1)
def code_version() -> str:
    """The package version plus a hash of its source files (changes when the model code does)."""
    digest = hashlib.sha256(sim.__version__.encode())
    root = Path(sim.__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return f"{sim.__version__}+{digest.hexdigest()[:12]}"


def fingerprint(config: dict[str, Any], data_files: list[Path]) -> str:
    """A hash of the resolved configuration (without run counts), data contents and code."""
    config = json.loads(json.dumps(config, default=str))
    for key in ("name", "description", "replications", "calibration", "sensitivity"):
        config.pop(key, None)
    if config.get("sweep"):
        config["sweep"].pop("replications", None)
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    for path in data_files:
        digest.update(Path(path).read_bytes())
    digest.update(code_version().encode())
    return digest.hexdigest()[:20]


class ChunkStore:
    """Finished chunks of one experiment, under ``root/<fingerprint>/``."""

    def __init__(self, root: Path, key: str) -> None:
        self.dir = Path(root) / key

    def path(self, task: Task) -> Path:
        """Where a task's chunk lives."""
        return self.dir / f"s{task.strategy}-p{task.point}-r{task.first}-n{task.count}.parquet"

    def has(self, task: Task) -> bool:
        """Whether the chunk is already finished."""
        return self.path(task).is_file()

    def write(self, task: Task, events: np.ndarray) -> None:
        """Save a finished chunk atomically."""
        ensure_writable_dir(self.dir)
        table = pa.table({name: pa.array(events[name]) for name in ENSEMBLE_FIELDS})
        target = self.path(task)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            pq.write_table(table, tmp)
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def read(self, task: Task) -> np.ndarray:
        """A finished chunk's events (``ENSEMBLE_DTYPE``)."""
        table = pq.read_table(self.path(task))
        out = np.empty(table.num_rows, dtype=ENSEMBLE_DTYPE)
        for name in ENSEMBLE_FIELDS:
            out[name] = table.column(name).to_numpy()
        return out
