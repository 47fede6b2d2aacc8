"""What a worker process runs: one chunk of replications of one parameter point.

Everything a chunk needs travels with it (world arrays, policy class and parameters, firm, seed),
so the same function serves the serial, local (loky) and dask executors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.events import ENSEMBLE_FIELDS
from sim.experiment.plan import Task
from sim.experiment.store import ChunkStore
from sim.policies.base import Policy, PolicyParams
from sim.scenario import Firm
from sim.world import World


class RunFailed(Exception):
    """A model run raised; the message names its strategy, point, replication and seed."""


@dataclass(frozen=True)
class PointJob:
    """Everything needed to run replications of one point, in any process."""

    world: World
    policy: type[Policy]
    params: PolicyParams
    firm: Firm
    seed: int
    label: str


def run_task(
    job: PointJob, task: Task, store: ChunkStore | None = None
) -> tuple[Task, np.ndarray | None]:
    """Run the chunk's replications; return the task and its events (columns ENSEMBLE_FIELDS).

    With a ``store`` (workers sharing the machine's disk) the worker saves the chunk itself and
    returns ``None`` for the events, so nothing large travels back to the main process.

    Raises:
        RunFailed: when a run raises, naming the run so it can be reproduced alone.
    """
    from sim.experiment.runner import run_generator, run_once  # Mesa: only where runs happen

    policy = job.policy(job.params)
    parts = []
    for r in range(task.first, task.first + task.count):
        try:
            events = run_once(
                job.world, policy, job.firm, run_generator(job.seed, task.strategy, task.point, r)
            )
        except Exception as exc:
            raise RunFailed(
                f"run failed: strategy {job.label!r} (index {task.strategy}), point {task.point}, "
                f"replication {r}, seed SeedSequence({job.seed}, spawn_key=({task.strategy}, "
                f"{task.point}, {r})): {type(exc).__name__}: {exc}"
            ) from None
        ids = np.empty((events.shape[0], 3), dtype=np.int64)
        ids[:, 0], ids[:, 1], ids[:, 2] = task.strategy, task.point, r
        parts.append(np.hstack([ids, events]))
    events = np.vstack(parts) if parts else np.empty((0, len(ENSEMBLE_FIELDS)), dtype=np.int64)
    if store is not None:
        store.write(task, events)
        return task, None
    return task, events
