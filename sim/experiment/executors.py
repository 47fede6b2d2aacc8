"""Executors: run tasks serially, on local worker processes (joblib/loky), or on dask.

Each yields ``(task, events)`` as tasks finish, in any order; the caller stores each chunk as it
arrives, so memory holds one chunk at a time. A failing task raises in the caller, which stops
the remaining work; chunks already stored stay on disk for a later resume.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from sim.experiment.plan import Task

EXECUTORS = ("serial", "local", "dask")
Result = tuple[Task, np.ndarray]
TaskFn = Callable[[Any, Task], Result]


def default_workers() -> int:
    """Workers for the local and dask executors: every core."""
    return max(1, os.cpu_count() or 1)


def run_serial(fn: TaskFn, work: Sequence[tuple[Any, Task]]) -> Iterator[Result]:
    """Run tasks one after another in this process."""
    for job, task in work:
        yield fn(job, task)


def run_local(fn: TaskFn, work: Sequence[tuple[Any, Task]], workers: int) -> Iterator[Result]:
    """Run tasks on ``workers`` local processes (joblib's loky backend), results as they finish."""
    from joblib import Parallel, delayed

    parallel = Parallel(n_jobs=workers, backend="loky", return_as="generator_unordered")
    yield from parallel(delayed(fn)(job, task) for job, task in work)


def run_dask(
    fn: TaskFn, work: Sequence[tuple[Any, Task]], workers: int, scheduler: str | None
) -> Iterator[Result]:
    """Run tasks on a dask.distributed cluster: ``scheduler`` address, or a LocalCluster."""
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        futures = client.map(fn, [job for job, _ in work], [task for _, task in work], pure=False)
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            client.cancel(futures)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def execute(
    fn: TaskFn,
    work: Sequence[tuple[Any, Task]],
    executor: str,
    workers: int,
    scheduler: str | None = None,
) -> Iterator[Result]:
    """Dispatch to the named executor."""
    if not work:
        return iter(())
    if executor == "serial" or (executor == "local" and workers == 1):
        return run_serial(fn, work)
    if executor == "local":
        return run_local(fn, work, workers)
    if executor == "dask":
        return run_dask(fn, work, workers, scheduler)
    raise ValueError(f"unknown executor {executor!r}; known: {', '.join(EXECUTORS)}")
