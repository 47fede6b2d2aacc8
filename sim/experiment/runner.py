"""Run replications of each strategy and collect their events as one table with named columns.

Every run gets its own generator from ``numpy.random.SeedSequence(seed, spawn_key=(stream,
point, replication))``, where ``stream`` is a stable number derived from the strategy's *label*
(:func:`stream_key`): a run's result depends only on the scenario seed, its strategy's label and
its own indices — the same whatever order, process, batch or engine runs it in, and unchanged
when other strategies are added to or removed from the scenario.

Two engines run the same model: ``batch`` (default) steps a whole chunk of runs at once through
:mod:`sim.engine`; ``mesa`` builds one :class:`~sim.model.InternationalizationModel` per run
(the reference in tests, and what the dashboard shows). Their events are identical.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal

import numpy as np

from sim.engine import MAX_BATCH, simulate_points
from sim.errors import RunFailed
from sim.events import empty_events, with_run_ids
from sim.policies.base import Policy, PolicyParams
from sim.scenario import Firm
from sim.world import World

Engine = Literal["batch", "mesa"]
ENGINES: tuple[str, ...] = ("batch", "mesa")


def stream_key(label: str) -> int:
    """A stable 32-bit number for a strategy label (the first spawn key of its runs)."""
    return int.from_bytes(hashlib.sha256(label.encode("utf-8")).digest()[:4], "little")


def run_generator(seed: int, label: str, point: int, replication: int) -> np.random.Generator:
    """The generator of one run, derived from the scenario seed, strategy label and indices."""
    return np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(stream_key(label), point, replication))
    )


def run_once(
    world: World, policy: Policy[PolicyParams], firm: Firm, rng: np.random.Generator
) -> np.ndarray:
    """One Mesa model run from the first to the last year; its events (``EVENT_DTYPE``)."""
    from sim.model import InternationalizationModel  # Mesa only where Mesa runs

    return InternationalizationModel(world, policy, firm, rng=rng).run()


def _describe(seed: int, label: str, strategy: int, point: int, reps: str) -> str:
    return (
        f"strategy {label!r} (index {strategy}), point {point}, replication {reps}, seed "
        f"SeedSequence({seed}, spawn_key=({stream_key(label)}, {point}, <replication>))"
    )


def run_block(
    world: World,
    policy: Policy[PolicyParams],
    firm: Firm,
    seed: int,
    strategy: int,
    point: int,
    replications: Sequence[int],
    label: str,
    engine: Engine = "batch",
) -> np.ndarray:
    """Run several replications of one strategy and parameter point; their events stacked.

    The one loop over replications that ``sim run``, its workers and calibration all use.

    Args:
        world: The shared arrays.
        policy: The strategy's policy object.
        firm: Firm-level mechanism parameters.
        seed: The scenario seed.
        strategy: The strategy's index (written in the ``strategy`` column).
        point: The sweep point's index.
        replications: Replication indices to run.
        label: The strategy's label (keys the random streams).
        engine: ``batch`` (all runs at once) or ``mesa`` (one model per run); identical events.

    Returns:
        Events of every run (``ENSEMBLE_DTYPE``), in replication order.

    Raises:
        RunFailed: when a run raises, naming the run so it can be reproduced alone.
    """
    reps = list(replications)
    if not reps:
        return empty_events()

    def one(r: int, how: Engine) -> np.ndarray:
        # A single run, its failure raised as RunFailed naming it so it can be rerun alone.
        rng = run_generator(seed, label, point, r)
        try:
            if how == "mesa":
                events = run_once(world, policy, firm, rng)
            else:
                events = simulate_points(world, policy, firm, {}, [rng])[0]
        except Exception as exc:
            where = _describe(seed, label, strategy, point, str(r))
            raise RunFailed(f"run failed: {where}: {type(exc).__name__}: {exc}") from exc
        return with_run_ids(events, strategy, point, np.full(events.size, r))

    if engine == "mesa":
        return np.concatenate([one(r, "mesa") for r in reps])
    parts = []
    for first in range(0, len(reps), MAX_BATCH):
        batch = reps[first : first + MAX_BATCH]
        try:
            generators = [run_generator(seed, label, point, r) for r in batch]
            events, row = simulate_points(world, policy, firm, {}, generators)
        except Exception:
            for r in batch:  # step the failed batch's runs alone to name the first that fails
                one(r, "batch")
            raise
        parts.append(with_run_ids(events, strategy, point, np.asarray(batch)[row]))
    return np.concatenate(parts)
