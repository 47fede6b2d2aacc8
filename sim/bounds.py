"""The searchable parameter space of a pydantic model, read from its fields' declared bounds.

Declared once on the field (``Field(..., ge=, le=)``) and read here by calibration, sweeps,
sensitivity screening and the command-line flags that override a field, so no bound is repeated
elsewhere.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


def field_bounds(model: type[BaseModel], name: str) -> tuple[Any, Any]:
    """The ``(ge, le)`` bounds field ``name`` declares (``None`` for a side it leaves open)."""
    info = model.model_fields[name]
    lo = next((m.ge for m in info.metadata if getattr(m, "ge", None) is not None), None)
    hi = next((m.le for m in info.metadata if getattr(m, "le", None) is not None), None)
    return lo, hi


def float_bounds(model: type[BaseModel]) -> dict[str, tuple[float, float]]:
    """Every float field that declares both ``ge`` and ``le``, with its bounds, in order."""
    out: dict[str, tuple[float, float]] = {}
    for name, info in model.model_fields.items():
        if info.annotation is not float:
            continue
        lo, hi = field_bounds(model, name)
        if lo is not None and hi is not None:
            out[name] = (float(lo), float(hi))
    return out
