"""Child processes never outlive the command that started them.

The kernel does not end children with their parent: a ``sim recover`` killed with ``kill -9``
left its joblib workers computing 15 minutes later, and idle pool workers wait for work forever.
On Linux each child therefore asks the kernel for a signal when its parent dies
(``prctl(PR_SET_PDEATHSIG)``) as it starts: the joblib (loky) workers of ``sim run``, ``sim
calibrate`` and ``sim recover`` through :func:`local_parallel`'s initializer, and the dashboard's
server. dask's LocalCluster workers and the EMA Workbench's pool workers (``sim project
--workers``) were measured to end within 5 s of a SIGKILL to the command without help.
Elsewhere than Linux nothing changes.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from joblib import Parallel

#: ``prctl`` option: the signal this process gets when its parent dies (linux/prctl.h).
PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int | None = None, sig: int = signal.SIGKILL) -> None:
    """Ask the kernel to send this process ``sig`` when its parent dies (Linux; else nothing).

    Runs in the child. Strictly the signal comes when the parent *thread* that started this
    process ends: a pool must be started from a thread that outlives it (``sim``'s commands
    start theirs from the main thread).

    Args:
        parent: The parent's process id, as the parent saw it. A different parent now means
            the parent died before the request could be made: this process exits at once.
        sig: The signal (SIGKILL for workers: nothing they hold needs cleaning up, since chunks
            are written to a temporary name and renamed).
    """
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(sig))
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def local_parallel(
    workers: int, return_as: Literal["generator", "generator_unordered"] = "generator_unordered"
) -> Parallel:
    """A joblib pool of ``workers`` local (loky) processes that die with this process."""
    from joblib import Parallel

    return Parallel(
        n_jobs=workers,
        backend="loky",
        return_as=return_as,
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    )
