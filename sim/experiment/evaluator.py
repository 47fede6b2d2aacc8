"""The one evaluator behind every command: it owns the workers; commands hand it tasks.

Modelled on the EMA Workbench's evaluators: a context manager that starts what its executor
needs on entry (worker processes, a dask client) and stops it on exit, so no worker outlives the
command that started it. ``sim run``, ``sim sensitivity`` and the Python API hand it chunks of
replications (:func:`sim.experiment.experiment.run`); ``sim calibrate`` its (strategy, seed) fits,
``sim recover`` its synthetic records, ``sim project`` and ``sim backtest`` their (future,
strategy) experiments, ``sim infer`` its bank's chunks. Which executor runs a task never changes
its result: every task carries its own seeds.

For example::

    with Evaluator("local", workers=4) as evaluator:
        for result in evaluator.evaluate(fit_one, jobs):
            ...
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Sequence
from typing import Any, Self, TypeVar

from sim.experiment.executors import DEFAULT_TIMEOUT, default_workers, make_executor

T = TypeVar("T")
R = TypeVar("R")


def _indexed(fn: Callable[[Any], Any], item: tuple[int, Any]) -> tuple[int, Any]:
    """``(i, fn(x))`` of an ``(i, x)`` item: results carry their place back from any worker."""
    i, x = item
    return i, fn(x)


class Evaluator:
    """Runs a command's tasks on an executor (serial, local processes or dask) it owns.

    Attributes:
        tasks: Tasks this evaluator has finished.
    """

    def __init__(
        self,
        executor: str = "serial",
        workers: int | None = None,
        scheduler: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.executor = make_executor(executor, workers or default_workers(), scheduler, timeout)
        self.tasks = 0

    @property
    def name(self) -> str:
        """The executor that runs the tasks (``serial``, ``local`` or ``dask``)."""
        return self.executor.name

    @property
    def shares_disk(self) -> bool:
        """Whether the workers write to this machine's disk (see :class:`~.executors.Executor`)."""
        return self.executor.shares_disk

    def __enter__(self) -> Self:
        self.executor.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.executor.__exit__(*exc_info)

    def map(
        self, fn: Callable[[Any, Any], R], work: Sequence[tuple[Any, Any]]
    ) -> Generator[R, None, None]:
        """``fn(job, task)`` of every ``(job, task)`` item, yielded as each finishes.

        A ``job`` shared by many tasks travels to each worker once (dask scatters it).
        Closing the generator cancels what is still pending.
        """
        run: Callable[..., Generator[Any, None, None]] = self.executor.map
        with contextlib.closing(run(fn, work)) as results:
            for result in results:
                self.tasks += 1
                yield result

    def evaluate(
        self, fn: Callable[[T], R], items: Sequence[T], ordered: bool = True
    ) -> Generator[R, None, None]:
        """``fn(item)`` of every item, in the items' order (or as each finishes, unordered)."""
        work = [(fn, (i, item)) for i, item in enumerate(items)]
        waiting: dict[int, R] = {}
        following = 0
        with contextlib.closing(self.map(_indexed, work)) as results:
            for i, result in results:
                if not ordered:
                    yield result
                    continue
                waiting[i] = result
                while following in waiting:
                    yield waiting.pop(following)
                    following += 1


def evaluator_for(workers: int, tasks: int) -> Evaluator:
    """Local processes when there are several workers and tasks, else this process."""
    return Evaluator("local" if workers > 1 and tasks > 1 else "serial", workers)
