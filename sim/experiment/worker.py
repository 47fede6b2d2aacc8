"""What a worker process runs: one chunk of replications of one parameter point.

Everything a chunk needs travels with it (world arrays, policy class and parameters, firm, seed),
so the same function serves the serial, local (loky) and dask executors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.experiment.plan import Task
from sim.experiment.runner import Engine
from sim.experiment.store import ChunkStore
from sim.policies.base import Policy, PolicyParams
from sim.scenario import Firm
from sim.world import World


@dataclass(frozen=True)
class PointJob:
    """Everything needed to run replications of one point, in any process."""

    world: World
    policy: type[Policy]
    params: PolicyParams
    firm: Firm
    seed: int
    label: str
    engine: Engine = "batch"
    #: Point index of the random streams (``None``: the task's own point; see ``Point.stream``).
    stream: int | None = None


def run_task(
    job: PointJob, task: Task, store: ChunkStore | None = None
) -> tuple[Task, np.ndarray | None]:
    """Run the chunk's replications; return the task and its events (columns ENSEMBLE_FIELDS).

    With a ``store`` (workers sharing the machine's disk) the worker saves the chunk itself and
    returns ``None`` for the events, so nothing large travels back to the main process.

    Raises:
        RunFailed: when a run raises, naming the run so it can be reproduced alone.
    """
    from sim.experiment.runner import run_block

    events = run_block(
        job.world,
        job.policy(job.params),
        job.firm,
        job.seed,
        task.strategy,
        task.point if job.stream is None else job.stream,
        range(task.first, task.first + task.count),
        job.label,
        job.engine,
    )
    if job.stream is not None:
        events["point"] = task.point  # the streams are shared; the point column stays its own
    if store is not None:
        store.write(task, events)
        return task, None
    return task, events
