"""The one way ``sim`` reads a YAML file (scenarios, firm profiles, the firm index).

PyYAML's safe loader builds data only (no code), but it keeps the last of two equal keys
silently and recurses once per nesting level, so a file edited twice would run with whichever
line came later, and a deeply nested one ends in ``RecursionError``. Every YAML input goes
through :func:`read_yaml`, which rejects both with one line naming the file and the line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sim.errors import SimInputError

#: Deepest nesting of mappings and lists accepted; sim's own files need fewer than ten levels.
MAX_DEPTH = 100


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a repeated key and very deep nesting are errors."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        """Compose one node, refusing to nest deeper than :data:`MAX_DEPTH` levels."""
        if self._depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(
                None,
                None,
                f"nested more than {MAX_DEPTH} levels deep",
                self.peek_event().start_mark,
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)  # type: ignore[no-untyped-call]
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Build a mapping, refusing a key given twice (plain PyYAML keeps the last one)."""
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            try:
                first = seen.setdefault(key, key_node.start_mark.line + 1)
            except TypeError:  # an unhashable key; the base class reports it
                continue
            if first != key_node.start_mark.line + 1:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first given on line {first})",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | Path, what: str) -> Any:
    """Read a YAML file with the safe loader, duplicate keys and deep nesting refused.

    Args:
        path: The file.
        what: What the file is, in words (``"scenario"``, ``"profile"``), for the messages.

    Raises:
        SimInputError: naming the file (and the line, when YAML knows it).
    """
    path = Path(path)
    try:
        if not path.is_file():
            raise SimInputError(path, f"{what} file not found")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SimInputError(path, "file is not valid UTF-8 text") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SimInputError(path, f"cannot read {what} file ({message})") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: no code
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or "syntax error"
        raise SimInputError(path, f"not valid YAML ({problem})", row=line) from None
