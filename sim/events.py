"""The event tables that runs produce: named columns, defined once, import-light.

A run's events are a numpy structured array (one record per attempted deal), so every consumer
reads columns by name (``events["year"]``) and adding a column never shifts another. Kept apart
from the model so that processes which only store or read events (the main process of a
parallel run) never import Mesa.
"""

from __future__ import annotations

import numpy as np

#: Columns of one run's event table (integer codes), as the engine writes them.
EVENT_DTYPE = np.dtype(
    [
        ("year", np.int16),
        ("market", np.int16),
        ("mode", np.int8),
        ("blocked", np.int8),
        ("industry", np.int8),
    ]
)
EVENT_FIELDS: tuple[str, ...] = tuple(EVENT_DTYPE.names or ())

#: Columns of an ensemble's event table: run identity, then the run's event fields.
ENSEMBLE_DTYPE = np.dtype(
    [("strategy", np.int32), ("point", np.int32), ("replication", np.int32), *EVENT_DTYPE.descr]
)
ENSEMBLE_FIELDS: tuple[str, ...] = tuple(ENSEMBLE_DTYPE.names or ())


def empty_events(ensemble: bool = True) -> np.ndarray:
    """A table with no rows (ensemble or single-run layout)."""
    return np.empty(0, dtype=ENSEMBLE_DTYPE if ensemble else EVENT_DTYPE)


def with_run_ids(
    events: np.ndarray, strategy: int, point: int, replication: np.ndarray
) -> np.ndarray:
    """An ensemble table from single-run rows plus their run identity."""
    out = np.empty(events.shape[0], dtype=ENSEMBLE_DTYPE)
    out["strategy"] = strategy
    out["point"] = point
    out["replication"] = replication
    for name in EVENT_FIELDS:
        out[name] = events[name]
    return out
