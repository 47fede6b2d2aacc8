"""Provenance shared by every command's outputs: versions, git commit, manifest and tables.

One place for what a result folder records about how it was made (``manifest.json``), and for
the Markdown tables every report prints, so the commands' job modules hold only what is theirs.
"""

from __future__ import annotations

import json
import platform
import subprocess
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

#: Packages whose versions ``sim run``'s manifest records.
RUN_PACKAGES = ("sim", "mesa", "numpy", "pandas", "scipy", "pydantic", "matplotlib", "pyarrow")


def git_commit() -> str | None:
    """The commit of the checkout sim runs from, or ``None`` outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
            timeout=5,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def versions(packages: Iterable[str] = RUN_PACKAGES) -> dict[str, str]:
    """Python's and each package's version (``not installed`` when absent)."""
    out = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def write_manifest(folder: Path, manifest: dict[str, Any], final_newline: bool = True) -> None:
    """Write ``manifest.json`` into ``folder`` (indented; a final newline unless told not to)."""
    text = json.dumps(manifest, indent=2) + ("\n" if final_newline else "")
    (folder / "manifest.json").write_text(text, encoding="utf-8")


def markdown_table(df: pd.DataFrame, floats: str = ".3f") -> str:
    """A Markdown table (pandas + tabulate); missing values print as a dash, never ``nan``."""
    return df.to_markdown(index=False, floatfmt=floats, missingval="-")
