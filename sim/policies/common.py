"""Scoring pieces and parameters shared by several policies (location, modes, ladders, entropy).

Kept here so each policy file states only what makes its theory different. A parameter is a
scalar, or a column over runs, shape (runs, 1), when a batch's runs have their own values
(:func:`sim.engine.simulate_points`); every piece here accepts both, and a column makes its
result carry the run axis.

The parameters several theories share are declared once, as annotated types, so that a weight
means the same and ranges over the same values under every theory that has it (a theory's
default is its own): a fitted ``beta_distance`` compares across theories. Where each theory
words the description its own way, a field helper declares the rest once (:func:`preference`,
:func:`softness`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from sim.modes import RANK
from sim.policies.base import MarketView, PolicyParams

_RANK_ABOVE_COOPERATION = (RANK - 1).astype(float)

#: A parameter's value: one for every run, or a column over runs, shape (runs, 1).
Value = float | np.ndarray

SizeWeight = Annotated[
    float, Field(ge=0.0, le=3.0, description="elasticity of choice to GDP (log GDP weight)")
]
GrowthWeight = Annotated[float, Field(ge=0.0, le=5.0, description="weight on GDP growth")]
DistanceWeight = Annotated[
    float, Field(ge=0.0, le=5.0, description="penalty on geographic distance")
]
BarriersWeight = Annotated[float, Field(ge=0.0, le=5.0, description="penalty on entry barriers")]
MinorityConstant = Annotated[
    float, Field(ge=-3.0, le=3.0, description="minority stake vs cooperation")
]
ControlConstant = Annotated[float, Field(ge=-5.0, le=3.0, description="control vs cooperation")]
GreenfieldConstant = Annotated[
    float, Field(ge=-5.0, le=3.0, description="greenfield operation vs cooperation")
]

#: How a preference's description names each entry mode above cooperation (as the constants do).
_MODE_WORDS = {
    "minority": "minority stake",
    "control": "control",
    "greenfield": "greenfield operation",
}


def preference(
    default: float,
    lo: float,
    hi: float,
    mode: Literal["minority", "control", "greenfield"],
    where: str,
) -> Any:
    """A field for one mode preference that a theory holds for some markets only.

    The utility of entering by ``mode`` ("minority", "control" or "greenfield") relative to
    cooperation, which :func:`mode_row` puts at 0, in the markets ``where`` names (a track or a
    market type). Such a theory sets its own bounds, unlike the one-row constants above: they
    carry its restrictions (dual-track lets control be favoured only in emerging markets). The
    description is worded like every other preference's, e.g. "mature track: control vs
    cooperation".
    """
    text = f"{where}: {_MODE_WORDS[mode]} vs cooperation"
    return Field(default, ge=lo, le=hi, description=text)


def softness(default: float, past: str) -> Any:
    """A field for how hard a theory of sequence's moving threshold binds.

    Uppsala's psychic-distance frontier and Kojima's maturity ceiling are soft: a market
    ``past`` the threshold loses this much log-utility per unit beyond it. One meaning and one
    range (1, gentle, to 30, a wall) under both theories, so fitted values compare.
    """
    return Field(default, ge=1.0, le=30.0, description=f"log-utility penalty per unit of {past}")


def attractiveness(market: MarketView, params: PolicyParams) -> np.ndarray:
    """Linear location utility per market (a conditional-logit index, Buckley et al. 2007).

    The location theories differ only in which attributes they weigh, so each declares the
    weight of an attribute as its field ``beta_<attribute>`` and an attribute it does not weigh
    counts 0. Positive weights reward size, growth and maturity; positive ``distance``,
    ``culture`` and ``barriers`` weights penalise those attributes.
    """

    def weight(attribute: str) -> Value:
        return getattr(params, f"beta_{attribute}", 0.0)

    return (
        weight("size") * market.size
        + weight("growth") * market.growth
        + weight("maturity") * market.maturity
        - weight("distance") * market.distance
        - weight("culture") * market.culture
        - weight("barriers") * market.barriers
    )


def over_modes(value: Value) -> Value:
    """A value that broadcasts against (runs, markets, modes): a column gets a trailing axis.

    Needed only where a parameter multiplies an array that already has a mode axis; a scalar
    is returned unchanged, so the arithmetic at one parameter point is what it always was.
    """
    return value[..., None] if isinstance(value, np.ndarray) else value


def mode_row(minority: Value, control: Value, greenfield: Value) -> np.ndarray:
    """One preference per entry mode, cooperation the reference (0).

    Returns:
        Shape (modes,) for scalars; (runs, 1, modes) when any value is a column over runs, so
        it broadcasts against (runs, markets, modes) either way.
    """
    return np.stack(np.broadcast_arrays(0.0, minority, control, greenfield), axis=-1)


def mode_constants(
    mature: np.ndarray, emerging_row: np.ndarray, mature_row: np.ndarray
) -> np.ndarray:
    """Per-option mode preferences, one :func:`mode_row` for emerging and one for mature markets."""
    return np.where(mature[:, None], mature_row, emerging_row)


def barrier_mode_penalty(barriers: np.ndarray, weight: Value) -> np.ndarray:
    """Higher barriers make higher commitment less attractive (Anderson & Gatignon 1986)."""
    return -over_modes(weight) * barriers[:, None] * _RANK_ABOVE_COOPERATION[None, :]


_RANK_INT = RANK.astype(np.int16)


def rungs_skipped(commitment: np.ndarray) -> np.ndarray:
    """How many rungs each option would skip above the next one, shape ``commitment.shape + (M,)``.

    ``max(0, rank - commitment - 1)`` by broadcasting (a fancy-indexed table lookup is several
    times slower on large batches).
    """
    return np.maximum(_RANK_INT - commitment[..., None].astype(np.int16) - 1, 0)


def entropy_gain(counts: np.ndarray) -> np.ndarray:
    """Gain in Shannon entropy of ``counts`` from adding one unit to each category in turn.

    Works along the last axis (one row of counts per run).
    Returns an array like ``counts``: element i is H(counts + e_i) - H(counts), in closed form:
    with S = sum c log c over the counts and N their total,
    H(c + e_i) = log(N + 1) - (S - c_i log c_i + (c_i + 1) log(c_i + 1)) / (N + 1).
    """
    c = counts.astype(float)
    n = c.sum(axis=-1, keepdims=True)
    xlogx = np.where(c > 0, c * np.log(np.where(c > 0, c, 1.0)), 0.0)
    s = xlogx.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        base = np.where(n > 0, np.log(np.where(n > 0, n, 1.0)) - s / np.where(n > 0, n, 1.0), 0.0)
    return np.log(n + 1.0) - (s - xlogx + (c + 1.0) * np.log(c + 1.0)) / (n + 1.0) - base
