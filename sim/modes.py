"""Entry modes, defined once, with the properties every policy and the model read.

The ladder follows Anderson & Gatignon (1986) and Pan & Tse (2000): a non-equity cooperation, a
minority equity stake, a controlling acquisition. Commitment, cost and control rise along the
ladder; reversibility falls (Kogut 1991 reads a minority stake as an option on later control).
Arrays are indexed by mode position, so policies can score markets x modes in one numpy step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Mode:
    """One entry mode.

    Attributes:
        name: Identifier used in events and data (matches ``sim.data.taxonomy.MODES``).
        rank: Commitment rung (1 = cooperation, 2 = minority, 3 = control); a market's commitment
            is the highest rung reached there.
        cost: Capital units a deal of this mode uses from the yearly budget.
        control: Whether the deal gives operating control.
        equity: Whether the deal puts equity into the target.
        reversibility: How easily the commitment can be undone (1 = fully), used by
            uncertainty-averse policies.
        learning: Experience gained in the market from one deal (market knowledge grows with
            involvement, Johanson & Vahlne 1977).
        amount_class: Coarse size label of the deal's amount for reporting.
    """

    name: str
    rank: int
    cost: float
    control: bool
    equity: bool
    reversibility: float
    learning: float
    amount_class: str


MODES: tuple[Mode, ...] = (
    Mode("cooperation", 1, 0.25, False, False, 1.0, 0.5, "none"),
    Mode("minority", 2, 1.0, False, True, 0.6, 1.0, "medium"),
    Mode("control", 3, 3.0, True, True, 0.2, 1.5, "large"),
)
MODE_NAMES: tuple[str, ...] = tuple(m.name for m in MODES)
N_MODES = len(MODES)
COOPERATION, MINORITY, CONTROL = range(N_MODES)

RANK = np.array([m.rank for m in MODES], dtype=np.int8)
COST = np.array([m.cost for m in MODES])
LEARNING = np.array([m.learning for m in MODES])
REVERSIBILITY = np.array([m.reversibility for m in MODES])
#: Integration load a completed deal puts on the firm's managerial capacity (Penrose 1959): its
#: capital cost relative to a controlling acquisition, so an acquisition loads the firm fully
#: and a cooperation agreement lightly. Fixed before fitting; only the load's effect is fitted.
LOAD = COST / COST.max()
EQUITY = np.array([m.equity for m in MODES])
AMOUNT_CLASS = tuple(m.amount_class for m in MODES)

#: Commitment level of a market the firm has not entered.
NO_COMMITMENT = 0
#: Highest commitment level (control).
MAX_COMMITMENT = int(RANK.max())
#: Mode name used for a deal that was attempted but blocked by the host country.
BLOCKED_MODE = "other"
