"""Executors: run tasks serially, on local worker processes (joblib/loky), or on dask.

Each yields ``(task, events)`` as tasks finish, in any order; the caller stores each chunk as it
arrives, so memory holds one chunk at a time. A failing task raises in the caller, which stops
the remaining work; chunks already stored stay on disk for a later resume.

On dask, a malformed or unreachable scheduler raises :class:`~sim.errors.SchedulerUnavailable`,
and a cluster without workers for ``timeout`` seconds (or a lost scheduler) raises
:class:`~sim.errors.RunFailed`, instead of waiting forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from sim.errors import RunFailed, SchedulerUnavailable, one_line
from sim.experiment.plan import Task
from sim.processes import local_parallel

EXECUTORS = ("serial", "local", "dask")
#: Default seconds to wait for a dask scheduler to answer, or for a worker to (re)appear.
DEFAULT_TIMEOUT = 180.0
_ADDRESS = re.compile(r"^(tcp|tls|ws|wss|ucx|inproc)://[^\s/:]+(:\d{1,5})?/?$")
_RESUME = (
    "finished chunks are kept: start workers (or fix the cluster) and run the same command "
    "again to resume"
)
log = logging.getLogger(__name__)


def check_scheduler_address(address: str) -> str:
    """Return ``address`` if it looks like a dask scheduler address (``tcp://host:port``).

    Raises:
        SchedulerUnavailable: when it does not.
    """
    text = address.strip()
    if not _ADDRESS.match(text):
        raise SchedulerUnavailable(
            f"{address!r} is not a scheduler address (expected e.g. tcp://host:8786)"
        )
    port = text.rstrip("/").rpartition(":")[2]
    if ":" in text.split("://", 1)[1] and not 0 < int(port) < 65536:
        raise SchedulerUnavailable(f"{address!r}: port must be between 1 and 65535")
    return text


#: A finished chunk: its task and events, or ``None`` when the worker saved the chunk itself.
Result = tuple[Task, np.ndarray | None]
TaskFn = Callable[[Any, Task], Result]


def default_workers() -> int:
    """Workers for the local and dask executors: every core."""
    return max(1, os.cpu_count() or 1)


def run_serial(fn: TaskFn, work: Sequence[tuple[Any, Task]]) -> Iterator[Result]:
    """Run tasks one after another in this process."""
    for job, task in work:
        yield fn(job, task)


def run_local(fn: TaskFn, work: Sequence[tuple[Any, Task]], workers: int) -> Iterator[Result]:
    """Run tasks on ``workers`` local processes (joblib's loky backend), results as they finish.

    The workers die with this process (:mod:`sim.processes`).
    """
    from joblib import delayed

    yield from local_parallel(workers)(delayed(fn)(job, task) for job, task in work)


def _ask_identity(address: str, timeout: float) -> object:
    """What the server at ``address`` answers to dask's ``identity`` request (``timeout`` s)."""
    from distributed.comm import connect
    from distributed.security import Security

    async def identity() -> object:
        args = Security().get_connection_args("client")
        comm = await connect(address, timeout=timeout, **args)
        try:
            await comm.write({"op": "identity"})
            return await comm.read()
        finally:
            comm.abort()

    return asyncio.run(asyncio.wait_for(identity(), timeout))


def check_scheduler(address: str, timeout: float) -> None:
    """Check, within ``timeout`` seconds, that a dask scheduler answers at ``address``.

    distributed's ``Client`` waits forever when a server that is not a dask scheduler (an HTTP
    server) accepts the connection and never answers, and fails with an unrelated error (a
    3 EiB allocation) when one answers with other bytes; a bounded handshake first turns both
    into one message.

    Raises:
        SchedulerUnavailable: when nothing, or something other than a dask scheduler, answers.
    """
    # A thread of its own: the caller may already run an event loop (a notebook).
    with ThreadPoolExecutor(1, thread_name_prefix="sim-scheduler-check") as pool:
        try:
            reply = pool.submit(_ask_identity, address, timeout).result()
        except (OSError, TimeoutError) as exc:
            detail = f": {one_line(str(exc))}" if str(exc) else ""
            raise SchedulerUnavailable(
                f"cannot connect to the dask scheduler at {address} within {timeout:g} s "
                f"({type(exc).__name__}{detail}); check that it runs and listens there"
            ) from exc
        except Exception as exc:  # garbage bytes make distributed raise anything at all
            raise SchedulerUnavailable(
                f"{address} answered, but not as a dask scheduler ({type(exc).__name__})"
            ) from exc
    if not (isinstance(reply, dict) and reply.get("type") == "Scheduler"):
        raise SchedulerUnavailable(f"{address} answered, but not as a dask scheduler")


def _connect(scheduler: str, timeout: float):
    from distributed import Client

    address = check_scheduler_address(scheduler)
    start = time.monotonic()
    check_scheduler(address, timeout)
    left = max(1.0, timeout - (time.monotonic() - start))
    try:
        return Client(address, timeout=left)
    except (OSError, TimeoutError) as exc:
        raise SchedulerUnavailable(
            f"cannot connect to the dask scheduler at {address} within {timeout:g} s "
            f"({type(exc).__name__}: {exc})"
        ) from exc


def _results(client, futures, timeout: float) -> Iterator[Result]:
    """Results as they finish; fail when no worker is connected for ``timeout`` seconds."""
    from distributed import wait
    from distributed.client import FIRST_COMPLETED

    pending = set(futures)
    no_workers_since: float | None = None
    poll = min(1.0, timeout)
    while pending:
        try:
            done, pending = wait(pending, timeout=poll, return_when=FIRST_COMPLETED)
        except TimeoutError:
            done = set()
        for future in done:
            try:
                yield future.result()
            except RunFailed:
                raise
            except Exception as exc:
                if type(exc).__name__ in {"KilledWorker", "CancelledError", "FutureCancelledError"}:
                    raise RunFailed(
                        f"dask lost the workers running a chunk ({type(exc).__name__}); {_RESUME}"
                    ) from exc
                raise
        if done:
            no_workers_since = None
            continue
        try:
            n_workers = len(client.scheduler_info().get("workers", {}))
        except (OSError, TimeoutError) as exc:
            raise RunFailed(f"lost the dask scheduler ({type(exc).__name__}); {_RESUME}") from exc
        if n_workers:
            no_workers_since = None
            continue
        now = time.monotonic()
        no_workers_since = no_workers_since or now
        log.info("dask cluster has no workers (%.0f s of %.0f s)", now - no_workers_since, timeout)
        if now - no_workers_since >= timeout:
            raise RunFailed(
                f"no dask worker has been connected for {timeout:g} s (see --timeout); {_RESUME}"
            )


def run_dask(
    fn: TaskFn,
    work: Sequence[tuple[Any, Task]],
    workers: int,
    scheduler: str | None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Iterator[Result]:
    """Run tasks on a dask.distributed cluster: ``scheduler`` address, or a LocalCluster.

    ``timeout`` bounds the wait for the scheduler to answer and for a worker to be connected.
    """
    from distributed import Client, LocalCluster

    cluster = None
    if scheduler:
        client = _connect(scheduler, timeout)
    else:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        # Each point's job (the world's arrays, the policy) goes to every worker once, not
        # once per task: with thousands of chunks, re-sending it dominated the run.
        shared: dict[int, Any] = {}
        for job, _ in work:
            if id(job) not in shared:
                try:
                    shared[id(job)] = client.scatter(job, broadcast=True, hash=False)
                except (TimeoutError, OSError):
                    # No worker yet: send the job with each task; the wait below reports a
                    # cluster that stays without workers.
                    shared[id(job)] = job
        futures = [client.submit(fn, shared[id(job)], task, pure=False) for job, task in work]
        try:
            yield from _results(client, futures, timeout)
        finally:
            with contextlib.suppress(OSError, TimeoutError):  # a lost scheduler: nothing to do
                client.cancel(futures)
    finally:
        client.close(timeout=min(timeout, 10.0))
        if cluster is not None:
            cluster.close()


def effective_executor(executor: str, workers: int) -> str:
    """The executor that actually runs: ``local`` with one worker runs serially."""
    return "serial" if executor == "local" and workers == 1 else executor


def execute(
    fn: TaskFn,
    work: Sequence[tuple[Any, Task]],
    executor: str,
    workers: int,
    scheduler: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Iterator[Result]:
    """Dispatch to the named executor."""
    if not work:
        return iter(())
    executor = effective_executor(executor, workers)
    if executor == "serial":
        return run_serial(fn, work)
    if executor == "local":
        return run_local(fn, work, workers)
    if executor == "dask":
        return run_dask(fn, work, workers, scheduler, timeout)
    raise ValueError(f"unknown executor {executor!r}; known: {', '.join(EXECUTORS)}")
