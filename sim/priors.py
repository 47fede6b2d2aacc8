"""Priors of the parameters that simulation-based inference integrates over.

A theory is judged by what it predicts over the whole of its prior, not at a fitted point, so the
prior is part of the theory and is declared next to the parameters it describes: each policy's
``Params`` class and the :class:`sim.scenario.Firm` carry a ``priors`` mapping from field name to
:class:`Prior`. A field without a prior is fixed at its default (its value is a modelling choice,
not something the record is asked about). Every prior lies inside its field's declared bounds.

Two prior choices are offered, so that a verdict can be checked against the prior (a verdict that
flips with the prior is prior-driven):

* ``declared``: each prior as declared (uniform over a range argued in its ``why``, or, for a
  field declared :data:`UNARGUED`, over the field's whole declared range);
* ``centred``: uniform over 30 % of the field's bounds around its default, clipped to the declared
  range: what a modeller who trusts the defaults would assume.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel

from sim.bounds import float_bounds

PriorChoice = Literal["declared", "centred"]
PRIOR_CHOICES: tuple[PriorChoice, ...] = ("declared", "centred")
#: Width of the ``centred`` prior as a share of the field's bounds.
CENTRED_SHARE = 0.3


@dataclass(frozen=True)
class Prior:
    """A uniform prior on ``[low, high]`` with the reason for it.

    Attributes:
        low: Lower end.
        high: Upper end.
        why: One line of reason or source.
    """

    low: float
    high: float
    why: str

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` independent draws."""
        return rng.uniform(self.low, self.high, size=n)


def prior(low: float, high: float, why: str) -> Prior:
    """Shorthand used in the ``priors`` mappings of the parameter classes."""
    return Prior(float(low), float(high), why)


#: The prior of a field whose range no argument narrows: uniform over the field's declared bounds,
#: which :func:`choose` reads, so that the range is written once, on the field. Drawn only
#: through :func:`choose` (its own ends are infinite).
UNARGUED = Prior(-math.inf, math.inf, "uniform over the declared bounds: no value is argued")


def declared_priors(model: type[BaseModel], group: str = "priors") -> dict[str, Prior]:
    """The priors a parameter class declares in its ``group`` mapping (empty without one).

    A class may keep a mechanism's priors apart from its ``priors`` until the inference takes
    them in (:class:`sim.scenario.Firm` keeps the host response's in ``host_priors``).
    """
    return dict(getattr(model, group, {}))


def choose(
    model: type[BaseModel], choice: PriorChoice = "declared", group: str = "priors"
) -> dict[str, Prior]:
    """The priors of ``model``'s ``group`` under a prior choice (see the module docstring).

    Raises:
        ValueError: a declared prior outside its field's bounds, or on a field without bounds.
    """
    bounds = float_bounds(model)
    out: dict[str, Prior] = {}
    for name, p in declared_priors(model, group).items():
        if name not in bounds:
            raise ValueError(f"{model.__name__}.{name}: a prior needs a bounded float field")
        lo, hi = bounds[name]
        if p is UNARGUED:
            p = Prior(lo, hi, p.why)
        if not lo <= p.low < p.high <= hi:
            raise ValueError(
                f"{model.__name__}.{name}: prior [{p.low}, {p.high}] is not inside [{lo}, {hi}]"
            )
        if choice == "centred":
            default = float(model.model_fields[name].default)
            half = CENTRED_SHARE * (hi - lo) / 2
            low, high = max(p.low, default - half), min(p.high, default + half)
            p = Prior(low, high, f"30 % of the bounds around the default {default:g}")
        out[name] = p
    return out


def draw_table(
    priors: Mapping[str, Prior], rng: np.random.Generator, n: int
) -> dict[str, np.ndarray]:
    """``n`` joint draws from independent priors, one array per parameter (in mapping order)."""
    return {name: p.draw(rng, n) for name, p in priors.items()}
