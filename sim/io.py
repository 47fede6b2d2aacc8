"""Result folders that ``sim`` owns, and atomic file output.

A home folder was once lost to ``--overwrite``. The rules that make that impossible:

* Every result folder carries :data:`MARKER`, a manifest of each file ``sim`` wrote there and each
  folder it created. Replacing results removes only what the manifest lists; nothing else is ever
  removed or overwritten, whatever the flags. An output whose path is held by a file ``sim`` did not
  write stops the command with one line, before anything is written.
* A non-empty folder that is not a result of ``sim`` receives results only with ``--overwrite``,
  and then only beside the files already there.
* Some folders are never an output: filesystem roots and mount points, the home folder, the
  current folder, a repository's root, the ``sim`` checkout, the scenario's folder, and every
  ancestor of these.
* Results are built in a staging folder inside the target (``.sim-staging-*``) and moved into place
  once complete, so a failed command leaves no part of its results. Staging left by a killed
  command, and the chunk cache (``.sim-cache``, kept for resuming an interrupted run), are sim's own
  (each holds a tag file) and are cleaned by the next successful run.
* An analysis spills per-run statistics to a scratch folder (``.stats-*``) beside the chunks, in
  the cache a user may name; its tag names the process that made it, and the next analysis over
  that cache removes those whose process is gone (a killed run's), never another's folder.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Self

from sim.errors import SimInputError

#: Written into every results folder: who wrote it, and the manifest of what is sim's there.
MARKER = ".sim-result.json"
#: Prefix of the staging folder a command builds its results in (inside the target).
STAGING_PREFIX = ".sim-staging-"
#: The chunk cache of an interrupted run, inside the target (removed after a successful run).
CACHE_DIR = ".sim-cache"
#: The tag file inside a staging or cache folder: proof that sim made the folder.
TAG = ".sim-owned"
#: Prefix of the scratch folder an analysis spills per-run statistics to, beside its chunks.
SPILL_PREFIX = ".stats-"


def _resolve(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _repository_root(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def _protected(protect: Iterable[str | Path]) -> dict[Path, str]:
    """Folders never used as an output, each with the reason given in the message."""
    found: dict[Path, str] = {}

    def add(path: str | Path | None, why: str) -> None:
        if not path:
            return
        p = _resolve(Path(path))
        found.setdefault(p, why)
        for parent in p.parents:
            found.setdefault(parent, f"an ancestor of {why}")

    add(os.environ.get("HOME"), "your home folder")
    add(Path.home(), "your home folder")
    try:
        cwd = _resolve(Path.cwd())
    except OSError:  # the current folder was deleted under us
        cwd = None
    if cwd is not None:
        add(cwd, "the current folder")
        add(_repository_root(cwd), "a repository's root")
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file():
        add(checkout, "the sim checkout")
    for scenario_file in protect:
        add(Path(scenario_file).parent, "the scenario's folder")
    return found


def _safe_relative(text: object) -> str | None:
    """A manifest entry as a clean relative path, or None when it could point outside."""
    if not isinstance(text, str) or not text or "\x00" in text:
        return None
    rel = PurePosixPath(text)
    if rel.is_absolute() or ".." in rel.parts or rel.parts[:1] == (".",):
        return None
    return rel.as_posix()


def _is_ours(folder: Path) -> bool:
    """A staging or cache folder that sim made (it holds the tag file)."""
    return folder.is_dir() and not folder.is_symlink() and (folder / TAG).is_file()


def _walk(target: Path) -> tuple[list[str], list[str]]:
    """Every file (symlinks included, never followed) and folder under ``target``, relative.

    sim's own staging and cache folders are left out: they are not results.
    """
    files: list[str] = []
    dirs: list[str] = []
    for root, subdirs, names in os.walk(target, followlinks=False):
        base = Path(root)
        rel = base.relative_to(target)
        keep = []
        for d in subdirs:
            path = base / d
            if path.is_symlink():
                files.append((rel / d).as_posix())
            elif not (rel == Path(".") and _is_internal(d) and _is_ours(path)):
                keep.append(d)
                dirs.append((rel / d).as_posix())
        subdirs[:] = keep
        files.extend((rel / n).as_posix() for n in names)
    return files, dirs


def _holds_only_tag(folder: Path) -> bool:
    return all(p.is_dir() or p.name == TAG for p in folder.rglob("*"))


def _is_internal(name: str) -> bool:
    return name == CACHE_DIR or name.startswith(STAGING_PREFIX)


@dataclass
class Ownership:
    """What in a folder is sim's (from its manifest) and what is not.

    Attributes:
        files: Files sim wrote (relative paths) that are present.
        dirs: Folders sim created that are present.
        foreign: Files that sim did not write; never removed or overwritten.
        marked: The folder carries :data:`MARKER`.
    """

    files: set[str] = field(default_factory=set)
    dirs: set[str] = field(default_factory=set)
    foreign: list[str] = field(default_factory=list)
    marked: bool = False


def _manifest(target: Path) -> dict[str, object] | None:
    try:
        data = json.loads((target / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def ownership(target: Path, known: Collection[str] = ()) -> Ownership:
    """Split the files of an existing folder into sim's and the user's.

    A marked folder's manifest says what is sim's (``pending`` names a command claimed before it
    was interrupted count wholly). A result of an older sim (a marker without a manifest, or no
    marker but only names in ``known``, the command's own outputs) owns the ``known`` names.
    """
    files, dirs = _walk(target)
    top = {p.split("/", 1)[0] for p in files + dirs}
    manifest = _manifest(target)
    if manifest is not None and isinstance(manifest.get("files"), list):
        listed, made, pending = (_entries(manifest, k) for k in ("files", "dirs", "pending"))
    elif manifest is not None or (top and top <= set(known) | {MARKER}):
        listed, made, pending = set(), set(), set(known) | {MARKER}
    else:
        listed, made, pending = set(), set(), set()

    def mine(rel: str) -> bool:
        return rel in listed or rel == MARKER or rel.split("/", 1)[0] in pending

    return Ownership(
        files={f for f in files if mine(f)},
        dirs={d for d in dirs if d in made or d.split("/", 1)[0] in pending},
        foreign=sorted(f for f in files if not mine(f)),
        marked=manifest is not None,
    )


def _entries(manifest: dict[str, object], key: str) -> set[str]:
    """A manifest list as clean relative paths (anything else in it is ignored)."""
    value = manifest.get(key)
    items = value if isinstance(value, list) else []
    return {r for r in map(_safe_relative, items) if r}


def _refuse(target: Path, message: str, flag: str) -> SimInputError:
    return SimInputError(target, message, field=flag)


def _clash(own: Ownership, outputs: Iterable[str]) -> str | None:
    """The first output path held by a file sim did not write (or under one)."""
    foreign = set(own.foreign)
    for rel in outputs:
        parts = PurePosixPath(rel).parts
        for i in range(1, len(parts) + 1):
            if "/".join(parts[:i]) in foreign:
                return "/".join(parts[:i])
    return None


def check_output_dir(
    target: str | Path,
    *,
    overwrite: bool = False,
    known: Collection[str] = (),
    flag: str = "out",
    protect: Iterable[str | Path] = (),
) -> Path:
    """Refuse an output folder that ``sim`` must not write to; return it otherwise.

    Args:
        target: The folder asked for.
        overwrite: Write results beside files that are not sim's (they are kept).
        known: Top-level names the command writes; one held by a user's file is refused.
        flag: The command-line flag named in messages.
        protect: The scenario file (its folder is never an output).

    Raises:
        SimInputError: naming the folder and the flag.
    """
    target = Path(target)
    try:
        resolved = _resolve(target)
        exists = target.exists() or target.is_symlink()
    except (OSError, ValueError, RuntimeError) as exc:
        raise _refuse(target, f"not a usable output path ({exc})", flag) from None
    why = _protected(protect).get(resolved)
    if why is None and (resolved == resolved.parent or os.path.ismount(resolved)):
        why = "a filesystem root"
    if why is not None:
        raise _refuse(target, f"is {why}; sim never writes results there: give a new folder", flag)
    if not exists:
        return target
    if not target.is_dir():
        raise _refuse(target, "exists and is not a folder; give a folder for the results", flag)
    try:
        own = ownership(resolved, known)
    except OSError as exc:
        raise _refuse(target, f"cannot list folder ({exc.strerror})", flag) from None
    held = _clash(own, known)
    if held is not None:
        raise _refuse(
            target,
            f"'{held}' was not written by sim and sim never replaces it: move it away or give "
            "another folder",
            flag,
        )
    if own.foreign and not own.marked and not overwrite:
        raise _refuse(
            target,
            "folder is not empty and is not a previous result of sim; give a new or empty "
            "folder, or pass --overwrite to write the results beside its files (sim never "
            "removes them)",
            flag,
        )
    return target


def _write_manifest(
    folder: Path,
    command: str,
    files: Iterable[str],
    dirs: Iterable[str],
    pending: Iterable[str] = (),
) -> None:
    from sim import __version__

    data = {
        "written_by": f"sim {command}",
        "version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": sorted(set(files) - {MARKER}),
        "dirs": sorted(set(dirs)),
        "pending": sorted(pending),
    }
    write_text_atomic(folder / MARKER, json.dumps(data, indent=2) + "\n")


def _make_tagged(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / TAG).write_text("made by sim; removed by sim\n", encoding="utf-8")
    return folder


def _clean_internal(target: Path, *, cache: bool) -> None:
    """Remove the staging folders (and, with ``cache``, the chunk cache) sim made in ``target``."""
    for entry in target.iterdir() if target.is_dir() else ():
        ours = entry.name.startswith(STAGING_PREFIX) or (cache and entry.name == CACHE_DIR)
        if ours and _is_ours(entry):
            shutil.rmtree(entry, ignore_errors=True)


def _owner() -> str:
    return f"{socket.gethostname()} {os.getpid()}"


def _owner_gone(tag: Path) -> bool:
    """Whether the process a spill folder's tag names has ended (only a local one can be seen).

    Another host's process, or a tag that names none, counts as alive: its folder is left.
    """
    host, _, pid = tag.read_text(encoding="utf-8").splitlines()[-1].partition(" ")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists but is another user's
        return False
    return False


@contextmanager
def spill_folder(parent: Path) -> Iterator[Path]:
    """A scratch folder in ``parent`` for one analysis, removed on exit, even on an error.

    Its tag names this process, so that after a kill (no exit runs) :func:`remove_stale_spills`
    can tell the leftover from a folder a concurrent run is still using.
    """
    folder = Path(tempfile.mkdtemp(prefix=SPILL_PREFIX, dir=parent))
    try:
        (folder / TAG).write_text(f"made by sim; removed by sim\n{_owner()}\n", encoding="utf-8")
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_stale_spills(cache: Path) -> None:
    """Remove the spill folders killed runs left in chunk cache ``cache`` (one per fingerprint).

    Only folders with sim's prefix, holding sim's tag, whose process has ended: a user's
    look-alike, a live run's folder and every other file stay.
    """
    for folder in cache.glob(f"*/{SPILL_PREFIX}*"):
        if _is_ours(folder) and _owner_gone(folder / TAG):
            shutil.rmtree(folder, ignore_errors=True)


class ResultFolder:
    """The output folder of one command, used as a context manager.

    Staged (the default): the body writes into :attr:`staging`; on success the new files move
    into the target, sim's previous files there are removed (only they), and the manifest is
    written last. On failure the staging folder is removed and the target keeps what it had (a
    target this command created is removed again when nothing is left in it).

    In place (``staged=False``, for commands that resume from what they wrote: ``calibrate``,
    ``recover``): the body writes into :attr:`path`. The command's ``known`` names are claimed
    in the manifest before the body runs, so the files of an interrupted run stay sim's to
    resume or replace; the final manifest lists every file the command left there.

    Args:
        target: The folder asked for.
        command: The command's name, recorded in the marker.
        overwrite: Accept a folder holding files that are not sim's (they are kept).
        known: Top-level names the command writes.
        flag: The command-line flag named in messages.
        protect: The scenario file (its folder is never an output).
        staged: Build in a staging folder (see above).
        cache: A chunk cache the user named (kept); default ``<target>/.sim-cache``, removed
            after a successful run.
    """

    def __init__(
        self,
        target: str | Path,
        command: str,
        *,
        overwrite: bool = False,
        known: Collection[str] = (),
        flag: str = "out",
        protect: Iterable[str | Path] = (),
        staged: bool = True,
        cache: str | Path | None = None,
    ) -> None:
        self.path = Path(os.path.abspath(target))
        self.command = command
        self.overwrite = overwrite
        self.known = frozenset(known)
        self.flag = flag
        self.protect = tuple(protect)
        self.staged = staged
        self.user_cache = Path(cache) if cache is not None else None
        self.staging = self.path
        self._created = False
        self._start = Ownership()
        self._dirs_at_start: set[str] = set()

    def __enter__(self) -> Self:
        check_output_dir(
            self.path,
            overwrite=self.overwrite,
            known=self.known,
            flag=self.flag,
            protect=self.protect,
        )
        self._created = not self.path.exists()
        ensure_writable_dir(self.path)
        _clean_internal(self.path, cache=False)
        self._start = ownership(self.path, self.known)
        self._dirs_at_start = set(_walk(self.path)[1])
        if self.staged:
            self.staging = _make_tagged(
                Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.path))
            )
        else:
            _write_manifest(
                self.path, self.command, self._start.files, self._start.dirs, self.known
            )
        return self

    @property
    def cache(self) -> Path:
        """Where chunks are stored: the folder the user named, else sim's own in the target."""
        if self.user_cache is not None:
            return ensure_writable_dir(self.user_cache)
        return _make_tagged(self.path / CACHE_DIR)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self._commit() if self.staged else self._finish()
        finally:
            if self.staged:
                shutil.rmtree(self.staging, ignore_errors=True)
            cache = self.path / CACHE_DIR
            if _is_ours(cache) and (exc_type is None or _holds_only_tag(cache)):
                shutil.rmtree(cache, ignore_errors=True)  # kept only to resume a failed run
            if self._created and self.path.is_dir() and not any(self.path.iterdir()):
                self.path.rmdir()

    def _commit(self) -> None:
        files, dirs = _walk(self.staging)
        files.remove(TAG)
        own = ownership(self.path, self.known)
        held = _clash(own, files) or next(
            (f for f in files if (self.path / f).is_dir() and f not in own.dirs), None
        )
        if held is not None:
            raise _refuse(
                self.path,
                f"'{held}' was not written by sim and sim never replaces it: move it away or "
                "give another folder",
                self.flag,
            )
        # Until the last line, the manifest covers old and new files alike: a crash halfway
        # leaves nothing of sim's that a later run would take for the user's.
        users = {d for d in dirs if (self.path / d).is_dir() and d not in own.dirs}
        made = own.dirs | (set(dirs) - users)
        _write_manifest(self.path, self.command, own.files | set(files), made)
        for rel in own.files - {MARKER}:
            old = self.path / rel
            if old.is_symlink() or old.is_file():
                old.unlink()
        for rel in sorted(own.dirs, key=lambda d: d.count("/"), reverse=True):
            with suppress(OSError):  # a folder sim made that now holds a user's file stays
                (self.path / rel).rmdir()
        for rel in dirs:
            (self.path / rel).mkdir(parents=True, exist_ok=True)
        for rel in files:
            os.replace(self.staging / rel, self.path / rel)
        kept = {d for d in own.dirs if (self.path / d).is_dir()}
        _write_manifest(self.path, self.command, files, kept | (set(dirs) - users))

    def _finish(self) -> None:
        files, dirs = _walk(self.path)
        before = set(self._start.foreign)
        made = {d for d in dirs if d in self._start.dirs or d not in self._dirs_at_start}
        _write_manifest(self.path, self.command, [f for f in files if f not in before], made)


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
