"""The one exception type that the command line turns into a clean message and exit code 2.

Bad input (a malformed data file, scenario or output path) is the user's to fix, so it must say
*where* the problem is (file, row, field) rather than show a traceback.
"""

from __future__ import annotations

from pathlib import Path


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
            where.append(f"field '{self.field}'")
        location = f"{', '.join(where)}: " if where else ""
        return f"{self.path}: {location}{self.message}"


class RunFailed(Exception):
    """A model run raised; the message names its strategy, point, replication and seed."""
