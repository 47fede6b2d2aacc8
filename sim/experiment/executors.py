"""Executors: run tasks serially, on local worker processes (joblib/loky), or on dask.

Each is a context manager (like the EMA Workbench's evaluators) whose ``map`` yields ``(task,
events)`` as tasks finish, in any order; the caller stores each chunk as it arrives, so memory
holds one chunk at a time. A failing task raises in the caller, which stops
the remaining work; chunks already stored stay on disk for a later resume.

On dask, a malformed or unreachable scheduler raises :class:`~sim.errors.SchedulerUnavailable`,
and a cluster without workers for ``timeout`` seconds (or a lost scheduler) raises
:class:`~sim.errors.RunFailed`, instead of waiting forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import queue
import re
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Self

import numpy as np

from sim.errors import RunFailed, SchedulerUnavailable, one_line
from sim.experiment.plan import Task
from sim.processes import local_parallel

EXECUTORS = ("serial", "local", "dask")
#: Default seconds to wait for a dask scheduler to answer, or for a worker to (re)appear.
DEFAULT_TIMEOUT = 180.0
_ADDRESS = re.compile(r"^(tcp|tls|ws|wss|ucx|inproc)://[^\s/:]+(:\d{1,5})?/?$")
#: Where a LocalCluster's scheduler serves HTTP (health, metrics): any free port on this host.
SCHEDULER_HTTP = "127.0.0.1:0"
#: dask settings for the workers of a LocalCluster (see :meth:`DaskExecutor.__enter__`).
NANNY_ENVIRON = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
#: The environment setting a dask nanny leaks into the process that started it.
DASK_TRIM = ("MALLOC_TRIM_THRESHOLD_", "65536")
_RESUME = (
    "finished chunks are kept: start workers (or fix the cluster) and run the same command "
    "again to resume"
)
log = logging.getLogger(__name__)


@contextlib.contextmanager
def _without(setting: tuple[str, str]) -> Iterator[None]:
    """Leave an environment variable out while inside, if it holds exactly that value."""
    name, value = setting
    leaked = os.environ.get(name) == value
    if leaked:
        del os.environ[name]
    try:
        yield
    finally:
        if leaked:
            os.environ[name] = value


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


class Executor:
    """Runs tasks in this process; the base of every executor, used in a ``with`` statement.

    For example::

        with make_executor("local", workers=4) as executor:
            for task, events in executor.map(run_task, work):
                ...

    Entering starts what the executor needs (a dask client, a LocalCluster); leaving stops it.

    Attributes:
        name: The executor's name in manifests (``serial``, ``local`` or ``dask``).
        shares_disk: Whether its workers write to this machine's disk (a remote dask cluster's
            do not: their chunks are sent back to be saved here).
    """

    name = "serial"
    shares_disk = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop what :meth:`__enter__` started (nothing here)."""

    def map(self, fn: TaskFn, work: Sequence[tuple[Any, Task]]) -> Generator[Result, None, None]:
        """``fn(job, task)`` of every item, yielded as each finishes (in any order)."""
        for job, task in work:
            yield fn(job, task)


class LocalExecutor(Executor):
    """Tasks on ``workers`` local processes (joblib's loky backend) that die with this process."""

    name = "local"

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def map(self, fn: TaskFn, work: Sequence[tuple[Any, Task]]) -> Generator[Result, None, None]:
        """``fn(job, task)`` of every item on the workers, yielded as each finishes."""
        from joblib import delayed

        yield from local_parallel(self.workers)(delayed(fn)(job, task) for job, task in work)


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


#: dask tasks per worker that :meth:`DaskExecutor.map` aims at. Every dask task costs its worker's
#: event loop and the scheduler some 10-25 ms of CPU (measured), a tenth of a 1,000-run chunk;
#: grouping consecutive chunks into fewer tasks keeps that small and still balances the load.
TASKS_PER_WORKER = 32


def _run_chunks(fn: TaskFn, job: Any, tasks: list[Task]) -> list[Result]:
    """Run several chunks of one job in turn on a worker (each is stored as it finishes)."""
    return [fn(job, task) for task in tasks]


def _batches(work: Sequence[tuple[Any, Task]], workers: int) -> Iterator[tuple[Any, list[Task]]]:
    """Consecutive chunks of the same job, grouped about ``TASKS_PER_WORKER`` tasks a worker."""
    size = max(1, len(work) // (TASKS_PER_WORKER * max(1, workers)))
    for _, items in itertools.groupby(work, key=lambda item: id(item[0])):
        group = list(items)
        for first in range(0, len(group), size):
            part = group[first : first + size]
            yield part[0][0], [task for _, task in part]


def _check_workers(client, since: float | None, timeout: float) -> float | None:
    """When no worker has been connected since ``since`` for ``timeout`` s, raise RunFailed.

    Returns:
        When the cluster was first seen without workers (``None`` while it has some).
    """
    try:
        n_workers = len(client.scheduler_info().get("workers", {}))
    except (OSError, TimeoutError) as exc:
        raise RunFailed(f"lost the dask scheduler ({type(exc).__name__}); {_RESUME}") from exc
    if n_workers:
        return None
    now = time.monotonic()
    since = since or now
    log.info("dask cluster has no workers (%.0f s of %.0f s)", now - since, timeout)
    if now - since >= timeout:
        raise RunFailed(
            f"no dask worker has been connected for {timeout:g} s (see --timeout); {_RESUME}"
        )
    return since


def _results(client, pending: set[Any], timeout: float) -> Iterator[Result]:
    """Results as they finish; fail when no worker is connected for ``timeout`` seconds.

    Finished futures arrive through a queue their done-callbacks fill, so each costs O(1)
    (waiting on every pending future again after each one, as ``distributed.wait`` does, cost
    the main process 37 s of CPU at 1,000 chunks). A future is dropped from ``pending`` once its
    result is read, so the cluster forgets it at once.
    """
    finished: queue.SimpleQueue[Any] = queue.SimpleQueue()
    for future in pending:
        future.add_done_callback(finished.put)
    no_workers_since: float | None = None
    poll = min(1.0, timeout)
    while pending:
        try:
            future = finished.get(timeout=poll)
        except queue.Empty:
            no_workers_since = _check_workers(client, no_workers_since, timeout)
            continue
        pending.discard(future)
        no_workers_since = None
        try:
            yield from future.result()
        except RunFailed:
            raise
        except Exception as exc:
            if type(exc).__name__ in {"KilledWorker", "CancelledError", "FutureCancelledError"}:
                raise RunFailed(
                    f"dask lost the workers running a chunk ({type(exc).__name__}); {_RESUME}"
                ) from exc
            raise


def local_cluster(workers: int) -> Any:
    """A dask LocalCluster on this machine: one single-threaded worker process per ``workers``.

    dask's nannies start workers with MALLOC_TRIM_THRESHOLD_=65536, which also turns off glibc's
    adaptive mmap threshold: every array over 128 KiB is then mapped and unmapped afresh, and the
    batched engine's (runs x markets x modes) arrays page-fault on every step (measured: twice
    the CPU time per chunk). Workers keep glibc's default. A nanny also leaves the variable in
    this process's environment, where every later cluster's workers would inherit it: the value
    dask set is left out while starting.

    The scheduler serves HTTP even without a dashboard, on 8787 when given no address, and warns
    when another cluster holds that port: it gets a free local port (:data:`SCHEDULER_HTTP`)
    and the dashboard stays off (sim offers none).
    """
    import dask
    from distributed import LocalCluster

    with dask.config.set(NANNY_ENVIRON), _without(DASK_TRIM):
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=SCHEDULER_HTTP,
            scheduler_kwargs={"dashboard": False},
        )


class DaskExecutor(Executor):
    """Tasks on a dask.distributed cluster: the one at ``scheduler``, or a LocalCluster.

    ``timeout`` bounds the wait for the scheduler to answer and for a worker to be connected.
    """

    name = "dask"

    def __init__(
        self, workers: int, scheduler: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.workers, self.scheduler, self.timeout = workers, scheduler, timeout
        self.shares_disk = not scheduler
        self.client: Any = None
        self.cluster: Any = None

    def __enter__(self) -> Self:
        from distributed import Client

        if self.scheduler:
            self.client = _connect(self.scheduler, self.timeout)
        else:
            self.cluster = local_cluster(self.workers)
            self.client = Client(self.cluster)
        return self

    def close(self) -> None:
        """Close the client, and the LocalCluster if this executor started one."""
        if self.client is not None:
            self.client.close(timeout=min(self.timeout, 10.0))
            self.client = None
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None

    def map(self, fn: TaskFn, work: Sequence[tuple[Any, Task]]) -> Generator[Result, None, None]:
        """Submit every item, then yield results as they finish (see :func:`_results`)."""
        client = self.client
        if client is None:
            raise RuntimeError("use DaskExecutor in a with statement")
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
        pending = {
            client.submit(_run_chunks, fn, shared[id(job)], tasks, pure=False)
            for job, tasks in _batches(work, self.workers)
        }
        try:
            yield from _results(client, pending, self.timeout)
        finally:
            with contextlib.suppress(OSError, TimeoutError):  # a lost scheduler: nothing to do
                client.cancel(list(pending))


def make_executor(
    name: str, workers: int, scheduler: str | None = None, timeout: float = DEFAULT_TIMEOUT
) -> Executor:
    """The named executor (``local`` with one worker runs serially: no process to start).

    Raises:
        ValueError: for an unknown name.
    """
    if name == "serial" or (name == "local" and workers == 1):
        return Executor()
    if name == "local":
        return LocalExecutor(workers)
    if name == "dask":
        return DaskExecutor(workers, scheduler, timeout)
    raise ValueError(f"unknown executor {name!r}; known: {', '.join(EXECUTORS)}")
