"""The one exception type that the command line turns into a clean message and exit code 2.

Bad input (a malformed data file, scenario or output path) is the user's to fix, so it must say
*where* the problem is (file, row, field) rather than show a traceback.
"""

from __future__ import annotations

from pathlib import Path


def one_line(text: str) -> str:
    """Collapse ``text`` to one line: the contract is one line on stderr per error."""
    return " ".join(str(text).split())


def shown_path(path: str | Path) -> str:
    """A path as printed in messages: escaped when it holds control characters (NUL, newline)."""
    text = str(path)
    return text if text.isprintable() else repr(text)[1:-1]


class SimInputError(Exception):
    """A problem with something the user supplied: a data file, a scenario, an output location.

    Args:
        path: The file (or directory) at fault.
        message: What is wrong, in plain words.
        row: The 1-based line number in the file, counting the header as line 1, if known.
        field: The column or key at fault, if known.
    """

    def __init__(
        self,
        path: str | Path,
        message: str,
        *,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = str(path)
        self.row = row
        self.field = field
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"line {self.row}")
        if self.field is not None:
            where.append(f"field '{shown_path(self.field)}'")
        location = f"{', '.join(where)}: " if where else ""
        return f"{shown_path(self.path)}: {location}{one_line(self.message)}"


class RunFailed(Exception):
    """A model run raised (or the cluster running it went away); the message says which and how.

    The original exception stays chained as ``__cause__``, so ``sim --debug`` can show it.
    """


class SchedulerUnavailable(Exception):
    """The dask scheduler address is malformed or nothing answers there.

    Raised by the executor, which does not know which scenario is running; the command line
    turns it into the one-line message for the ``--scheduler`` flag (exit code 2).
    """
