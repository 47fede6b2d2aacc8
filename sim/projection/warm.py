"""The firm's state at the end of the record: the start of every projected run.

The record's completed deals are replayed year by year through the engine's own end-of-year
rules (:func:`sim.engine.replay`, which closes each year with :func:`sim.engine.close_year`: the
integration load decays, then completed deals raise commitment, experience, the per-market,
per-mode and per-industry counts and the load), from the state the simulated years start from
(:func:`sim.engine.start_state`: the record before them, with the warm start). So the projection
starts where the real firm stood — not where one simulated history happened to end — and the
rules are those of the engine, not a copy of them. Blocked attempts (record mode ``other``)
teach nothing, as in the engine.
"""

from __future__ import annotations

import numpy as np

from sim.engine import BatchState, replay, start_state
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
    state = start_state(world, firm, n_runs)
    replay(firm, state, record, [int(y) for y in world.years[:stop]])
    return state
