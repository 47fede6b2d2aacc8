"""Atomic file output: results are written to a temporary sibling and renamed into place.

A crash or a full disk must never leave a half-written results file that looks complete, and a
results folder must never replace a folder that holds the user's own files: every result folder
carries a marker file (:data:`MARKER`), and only a folder that is new, empty, marked, or holds
nothing but files ``sim`` itself writes there may be replaced without ``--overwrite``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sim.errors import SimInputError

#: Written into every results folder, so a later run knows the folder is sim's to replace.
MARKER = ".sim-result.json"


def _cwd_and_parents() -> set[Path]:
    try:
        cwd = Path.cwd().resolve()
    except OSError:  # the current folder was deleted under us
        return set()
    return {cwd, *cwd.parents}


def check_output_dir(
    target: str | Path,
    *,
    overwrite: bool = False,
    known: Collection[str] = (),
    flag: str = "out",
) -> Path:
    """Refuse an output folder that ``sim`` must not replace; return it otherwise.

    A folder may be (re)written when it does not exist, is empty, carries :data:`MARKER`, or holds
    only names in ``known`` (what the command itself writes: results of a version of ``sim`` that
    predates the marker). Anything else needs ``overwrite``. A path that is a file, the current
    folder or one of its parents is refused even with ``overwrite``.

    Raises:
        SimInputError: naming the folder and the ``--out`` flag.
    """
    target = Path(target)
    try:
        resolved = target.resolve()
        exists = target.exists() or target.is_symlink()
    except (OSError, ValueError, RuntimeError) as exc:
        raise SimInputError(target, f"not a usable output path ({exc})", field=flag) from None
    if resolved in _cwd_and_parents():
        raise SimInputError(
            target,
            "is the current folder or one of its parents; give a new folder for the results",
            field=flag,
        )
    if not exists:
        return target
    if not target.is_dir():
        raise SimInputError(
            target, "exists and is not a folder; give a folder for the results", field=flag
        )
    if overwrite:
        return target
    try:
        names = set(os.listdir(target))
    except OSError as exc:
        raise SimInputError(target, f"cannot list folder ({exc.strerror})", field=flag) from None
    if not names or MARKER in names or names <= set(known):
        return target
    raise SimInputError(
        target,
        "folder is not empty and is not a previous result of sim; give a new or empty folder, "
        "or pass --overwrite to replace everything in it",
        field=flag,
    )


def marker_text(command: str) -> str:
    """The content of :data:`MARKER`: which command wrote the folder, and when."""
    from sim import __version__

    return json.dumps(
        {
            "written_by": f"sim {command}",
            "version": __version__,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        indent=2,
    )


def write_marker(folder: Path, command: str) -> None:
    """Mark ``folder`` as a result of ``sim <command>``."""
    (Path(folder) / MARKER).write_text(marker_text(command) + "\n", encoding="utf-8")


def ensure_writable_dir(path: Path) -> Path:
    """Create ``path`` if needed and check that files can be written there.

    Raises:
        SimInputError: when the directory cannot be created or written to.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SimInputError(path, f"cannot create output directory ({exc.strerror})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise SimInputError(path, "output directory is not writable")
    return path


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path in the target's directory; rename it onto ``target`` on success.

    The temporary file is removed if the body raises, so no partial output survives.
    """
    target = Path(target)
    ensure_writable_dir(target.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(target: Path, writer: Callable[[Path], object]) -> Path:
    """Call ``writer(tmp_path)`` and move the result onto ``target`` atomically."""
    with atomic_path(target) as tmp:
        writer(tmp)
    return target


def write_text_atomic(target: Path, text: str) -> Path:
    """Write ``text`` to ``target`` atomically (UTF-8)."""
    return write_atomic(target, lambda p: p.write_text(text, encoding="utf-8"))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def atomic_dir(
    target: Path,
    *,
    overwrite: bool = False,
    known: Collection[str] = (),
    command: str = "run",
) -> Iterator[Path]:
    """Yield a fresh temporary directory beside ``target``; on success it replaces ``target``.

    ``target`` is checked with :func:`check_output_dir` before anything is written and again
    just before the swap. An existing ``target`` is swapped out only after the new one is
    complete (and marked with :data:`MARKER`), so readers see either the old results or the new
    ones, never a mixture; on failure the temporary directory is removed and ``target`` is
    untouched. Neither the temporary folder nor the swapped-out old one is left behind.
    """
    target = Path(os.path.abspath(target))
    check_output_dir(target, overwrite=overwrite, known=known)
    ensure_writable_dir(target.parent)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        write_marker(tmp, command)
        check_output_dir(target, overwrite=overwrite, known=known)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if target.exists() or target.is_symlink():
        old = target.parent / f".{target.name}.old-{os.getpid()}"
        _remove(old)
        os.replace(target, old)
    try:
        os.replace(tmp, target)
    except BaseException:
        if old is not None:
            os.replace(old, target)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        _remove(old)
