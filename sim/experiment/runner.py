"""Run replications of each strategy and collect their events as one compact integer table.

Every run gets its own generator from ``numpy.random.SeedSequence(seed, spawn_key=(strategy,
point, replication))``, so a run's result depends only on the scenario seed and its own indices:
the same whatever order, process or batch runs it in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.errors import RunFailed
from sim.events import ENSEMBLE_FIELDS
from sim.model import InternationalizationModel
from sim.policies.base import Policy
from sim.scenario import Firm, Strategy
from sim.world import World


def run_generator(seed: int, strategy: int, point: int, replication: int) -> np.random.Generator:
    """The generator of one run, derived from the scenario seed and the run's indices."""
    return np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(strategy, point, replication))
    )


def run_once(world: World, policy: Policy, firm: Firm, rng: np.random.Generator) -> np.ndarray:
    """One model run from the first to the last year; its events, columns ``EVENT_FIELDS``."""
    return InternationalizationModel(world, policy, firm, rng=rng).run()


def run_block(
    world: World,
    policy: Policy,
    firm: Firm,
    seed: int,
    strategy: int,
    point: int,
    replications: Sequence[int],
    label: str = "",
) -> np.ndarray:
    """Run several replications of one strategy and parameter point; stacked event rows.

    The one loop over replications that ``sim run``, its workers and calibration all use.

    Returns:
        Integer array with columns :data:`ENSEMBLE_FIELDS`.

    Raises:
        RunFailed: when a run raises, naming the run so it can be reproduced alone.
    """
    parts = []
    for r in replications:
        try:
            events = run_once(world, policy, firm, run_generator(seed, strategy, point, r))
        except Exception as exc:
            raise RunFailed(
                f"run failed: strategy {label!r} (index {strategy}), point {point}, "
                f"replication {r}, seed SeedSequence({seed}, spawn_key=({strategy}, "
                f"{point}, {r})): {type(exc).__name__}: {exc}"
            ) from None
        ids = np.empty((events.shape[0], 3), dtype=np.int64)
        ids[:, 0], ids[:, 1], ids[:, 2] = strategy, point, r
        parts.append(np.hstack([ids, events]))
    if not parts:
        return np.empty((0, len(ENSEMBLE_FIELDS)), dtype=np.int64)
    return np.vstack(parts)


@dataclass(frozen=True)
class Ensemble:
    """The events of every run of every strategy, plus what is needed to read them.

    Attributes:
        events: Integer table, columns :data:`ENSEMBLE_FIELDS`.
        labels: Strategy labels, indexed by the ``strategy`` column.
        replications: Runs per strategy.
        world: The world the runs used (market names, years, record counts).
    """

    events: np.ndarray
    labels: tuple[str, ...]
    replications: int
    world: World


def run_strategies(
    world: World, strategies: Sequence[Strategy], firm: Firm, seed: int, replications: int
) -> Ensemble:
    """Run ``replications`` runs of each strategy in this process."""
    blocks = []
    for s, strategy in enumerate(strategies):
        policy = strategy.policy_class()(strategy.make_params())
        blocks.append(
            run_block(world, policy, firm, seed, s, 0, range(replications), strategy.label)
        )
    return Ensemble(
        events=np.vstack(blocks),
        labels=tuple(s.label for s in strategies),
        replications=replications,
        world=world,
    )
