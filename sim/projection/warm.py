"""The firm's state at the end of the record: the start of every projected run.

The record's completed deals are replayed year by year through the engine's own end-of-year
rules (:func:`sim.engine.close_year`: the integration load decays, then completed deals raise
commitment, experience, the per-market, per-mode and per-industry counts and the load). So the
projection starts where the real firm stood — not where one simulated history happened to end —
and the rules are those of the engine, not a copy of them. Blocked attempts (record mode
``other``) teach nothing, as in the engine.
"""

from __future__ import annotations

import numpy as np

from sim.engine import BatchState, close_year, row_dtype
from sim.scenario import Firm
from sim.world import World


def warm_state(world: World, firm: Firm, record: np.ndarray, n_runs: int, stop: int) -> BatchState:
    """A batch of ``n_runs`` identical states: the record replayed up to year index ``stop``.

    Args:
        world: The world (its first ``stop`` years are the record's).
        firm: The strategy's firm (its ``load_halflife`` and ``region_spillover`` matter here).
        record: The record's events (``EVENT_DTYPE``, as from
            :func:`sim.analysis.ensemble.encode_record`), in the record's order.
        n_runs: Rows of the batch.
        stop: Year index to stop before: the number of record years replayed.

    Returns:
        The state at the start of year index ``stop``.
    """
    state = BatchState(world, n_runs, firm.region_spillover)
    done = record[record["blocked"] == 0]
    for t in range(stop):
        year = done[done["year"] == world.years[t]]
        rows = np.empty(year.size * n_runs, dtype=row_dtype())
        rows["run"] = np.repeat(np.arange(n_runs, dtype=np.int32), year.size)
        for name in year.dtype.names or ():
            rows[name] = np.tile(year[name], n_runs)
        close_year(firm, state, rows)
    return state
