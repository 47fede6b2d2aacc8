"""Declarative column specifications and the checker that enforces them on a CSV table.

Each data file is described once as a :class:`TableSpec`; :func:`read_table` reads the file as text,
checks every column (presence, blanks, pattern, allowed values, numeric range) and the table's key,
and returns typed columns. The first problem found is raised as a :class:`SimInputError` naming the
file, the line and the field, because one precise message is more useful than a page of them.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from sim.errors import SimInputError

Kind = Literal["str", "int", "float"]


@dataclass(frozen=True)
class Pattern:
    """A regular expression a value must match in full, with the form it stands for.

    The form is said in plain words in the error, because a user who wrote ``T1`` cannot fix
    it from "malformed value" alone.

    Attributes:
        regex: The regular expression (matched against the whole value).
        form: What a valid value looks like, with an example.
    """

    regex: str
    form: str


ISO3 = Pattern(r"[A-Z]{3}", "three capital letters (an ISO 3166 alpha-3 code), like USA")
DATE = Pattern(
    r"\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?",
    "a date YYYY-MM or YYYY-MM-DD, like 2015-06 or 2015-06-30",
)
URL = Pattern(r"https?://[^\s]+", "a web address starting with http:// or https://")


@dataclass(frozen=True)
class Column:
    """One column's contract.

    Attributes:
        name: Header name.
        kind: How to type the column after checking ("int" columns must hold whole numbers).
        required: Whether blanks are an error.
        allowed: The closed set of permitted values, if any.
        lo: Smallest permitted numeric value (inclusive).
        hi: Largest permitted numeric value (inclusive).
        pattern: What every non-blank value must match in full (and the form it stands for).
    """

    name: str
    kind: Kind = "str"
    required: bool = True
    allowed: Collection[str] | None = None
    lo: float | None = None
    hi: float | None = None
    pattern: Pattern | None = None


@dataclass(frozen=True)
class TableSpec:
    """A data file's contract: its columns (all required in the header) and its unique key.

    ``allow_empty``: a header with no data rows is a valid file (e.g. "no barrier events").
    """

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = field(default_factory=tuple)
    allow_empty: bool = False

    @property
    def column_names(self) -> list[str]:
        """Header names in the documented order."""
        return [c.name for c in self.columns]


def line_of(index: int) -> int:
    """The file line of a data row: tables being checked are indexed by their line numbers.

    :func:`read_csv_text` labels every row with the line it starts on (the header is line 1),
    as counted by the ``csv`` module, so blank lines and quoted fields spanning several lines
    do not shift the numbers. The loaders return tables with a plain 0-based index.
    """
    return int(index)


def fail_at(path: Path, index: int | None, column: str | None, message: str) -> SimInputError:
    """Build the error for the data row labelled ``index`` and ``column``."""
    return SimInputError(path, message, row=None if index is None else line_of(index), field=column)


def reject_first(mask: pd.Series, path: Path, column: str, message: Callable[..., str]) -> None:
    """Raise for the first row where ``mask`` holds (nothing when it holds nowhere).

    ``message`` gets that row's index, so it can quote the offending values.
    """
    if mask.any():
        i = first_true(mask)
        raise fail_at(path, i, column, message(i))


def first_true(mask: pd.Series) -> int:
    """The index label of the first row where ``mask`` holds (tables here have integer labels)."""
    return int(mask.index.to_numpy()[mask.to_numpy().argmax()])


def read_csv_text(path: Path) -> pd.DataFrame:
    """Read a CSV file with every cell as text (blank cells become missing).

    Rows are labelled by the line they start on (header: line 1). Blank lines are skipped; a
    row with fewer fields than the header is padded with blanks, one with more is an error.

    Raises:
        SimInputError: when the file is missing, unreadable, empty or not parseable as CSV.
    """
    path = Path(path)
    try:
        if not path.is_file():
            raise SimInputError(path, "file not found" if not path.exists() else "not a file")
        handle = path.open(newline="", encoding="utf-8-sig")
    except (ValueError, OSError) as exc:  # ValueError: a NUL byte in the path
        message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SimInputError(path, f"cannot read file ({message})") from None
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        with handle:
            reader = csv.reader(handle, strict=True)
            header: list[str] | None = None
            start = 1
            for row in reader:
                line, start = start, reader.line_num + 1
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # a blank line
                if header is None:
                    header = row
                    continue
                if len(row) > len(header):
                    raise SimInputError(
                        path,
                        f"{len(row)} fields but the header has {len(header)} "
                        "(an unquoted comma in a value?)",
                        row=line,
                    )
                rows.append(row + [""] * (len(header) - len(row)))
                lines.append(line)
    except UnicodeDecodeError:
        raise SimInputError(path, "file is not valid UTF-8 text") from None
    except csv.Error as exc:
        raise SimInputError(
            path, f"not a well-formed CSV file ({exc})", row=reader.line_num
        ) from None
    except OSError as exc:
        raise SimInputError(path, f"cannot read file ({exc.strerror})") from None
    if header is None:
        raise SimInputError(path, "file is empty (no header row)")
    if "\x00" in "".join(header):
        raise SimInputError(path, "the header holds a NUL byte (not a text file?)", row=1)
    dup = next((h for h in header if header.count(h) > 1), None)
    if dup is not None:
        raise SimInputError(path, "column appears twice in the header", row=1, field=dup)
    df = pd.DataFrame(rows, columns=header, index=pd.Index(lines, dtype="int64"), dtype=str)
    return df.mask(df == "")


def check_table(raw: pd.DataFrame, spec: TableSpec, path: Path) -> pd.DataFrame:
    """Check ``raw`` (all-text cells) against ``spec`` and return it with typed columns.

    Raises:
        SimInputError: at the first violation, naming file, line and field.
    """
    path = Path(path)
    header = list(raw.columns)
    for column_name in spec.column_names:
        if column_name not in header:
            raise SimInputError(
                path, "required column is missing from the header", row=1, field=column_name
            )
    extra = [c for c in header if c not in spec.column_names]
    if extra:
        raise SimInputError(path, "unknown column (check its spelling)", row=1, field=str(extra[0]))
    if raw.empty and not spec.allow_empty:
        raise SimInputError(path, "file has a header but no data rows")

    out = pd.DataFrame(index=raw.index)
    for col in spec.columns:
        values = raw[col.name].str.strip()
        blank = values.isna()
        name = col.name
        if col.required:
            reject_first(blank, path, name, lambda i: "value is required but blank")
        present = values[~blank]
        if col.pattern is not None:
            reject_first(
                ~present.str.fullmatch(col.pattern.regex),
                path,
                name,
                lambda i, p=present, f=col.pattern.form: f"malformed value {p[i]!r} (expected {f})",
            )
        if col.allowed is not None:
            choices = ", ".join(sorted(col.allowed))
            reject_first(
                ~present.isin(list(col.allowed)),
                path,
                name,
                lambda i, p=present, c=choices: f"{p[i]!r} is not one of: {c}",
            )
        if col.kind == "str":
            out[col.name] = values
            continue
        numbers = pd.to_numeric(present, errors="coerce")
        reject_first(numbers.isna(), path, name, lambda i, p=present: f"{p[i]!r} is not a number")
        if col.kind == "int":
            reject_first(
                numbers != numbers.round(),
                path,
                name,
                lambda i, p=present: f"{p[i]!r} is not a whole number",
            )
        if col.lo is not None:
            reject_first(
                numbers < col.lo,
                path,
                name,
                lambda i, p=present, c=col: f"{p[i]} is below the minimum {c.lo:g}",
            )
        if col.hi is not None:
            reject_first(
                numbers > col.hi,
                path,
                name,
                lambda i, p=present, c=col: f"{p[i]} is above the maximum {c.hi:g}",
            )
        typed = pd.Series(numbers, index=present.index).reindex(raw.index)
        out[col.name] = typed.astype("Int64" if col.kind == "int" else "float64")

    if spec.key:
        dup = out.duplicated(subset=list(spec.key), keep="first")
        if dup.any():
            i = first_true(dup)
            first = first_true((out[list(spec.key)] == out.loc[i, list(spec.key)]).all(axis=1))
            key = ", ".join(f"{k}={out.loc[i, k]!s}" for k in spec.key)
            raise fail_at(path, i, spec.key[0], f"duplicate of line {line_of(first)} ({key})")
    return out


def read_table(path: Path, spec: TableSpec) -> pd.DataFrame:
    """Read and check one CSV file against its spec."""
    return check_table(read_csv_text(path), spec, Path(path))


def matches(pattern: str, value: str) -> bool:
    """Whether ``value`` matches ``pattern`` in full (helper for cross-field checks)."""
    return re.fullmatch(pattern, value) is not None
