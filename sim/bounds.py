"""The searchable parameter space of a pydantic model, read from its fields' declared bounds.

Declared once on the field (``Field(..., ge=, le=)``) and read here by calibration, sweeps and
sensitivity screening, so no bound is repeated elsewhere.
"""

from __future__ import annotations

from pydantic import BaseModel


def float_bounds(model: type[BaseModel]) -> dict[str, tuple[float, float]]:
    """Every float field that declares both ``ge`` and ``le``, with its bounds, in order."""
    out: dict[str, tuple[float, float]] = {}
    for name, info in model.model_fields.items():
        if info.annotation is not float:
            continue
        lo = next((m.ge for m in info.metadata if getattr(m, "ge", None) is not None), None)
        hi = next((m.le for m in info.metadata if getattr(m, "le", None) is not None), None)
        if lo is not None and hi is not None:
            out[name] = (float(lo), float(hi))
    return out
