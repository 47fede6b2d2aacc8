"""Entry modes and the exit event, defined once, with the properties policies and the model read.

The ladder follows Anderson & Gatignon (1986) and Pan & Tse (2000): a non-equity cooperation, a
minority equity stake, a controlling acquisition, and a greenfield operation (own operations
built from scratch: a data centre, a hub, an office, a marketplace launched by the firm).
Commitment and control rise along the ladder and reversibility falls (Kogut 1991 reads a
minority stake as an option on later control). Greenfield is the top rung: the establishment
chain ends in the firm's own operation (Johanson & Wiedersheim-Paul 1975), and an operation built
from scratch is the least reversible commitment (an acquired firm can be resold as a going
concern; a start-up's assets are firm-specific and largely sunk, Dixit 1989).

Exit (divestment or closure, Benito & Welch 1997) is not an option the policies score: it is a
firm-level hazard on every market where the firm holds a commitment (docs/ODD.md, section 7).
Its event code :data:`EXIT` follows the entry modes, so an event's ``mode`` column indexes
:data:`EVENT_MODE_NAMES` and the per-event arrays (:data:`EVENT_COST`, ...).
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
        rank: Commitment rung (1 = cooperation, 2 = minority, 3 = control, 4 = greenfield); a
            market's commitment is the highest rung reached there.
        cost: Capital units a deal of this mode uses from the yearly budget.
        control: Whether the deal gives operating control.
        equity: Whether the deal puts equity into the target.
        reversibility: How easily the commitment can be undone (1 = fully), used by
            uncertainty-averse policies and by the exit hazard (odds of exit scale with it).
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


#: The greenfield row's numbers, and why (the other three rows are unchanged from the
#: three-mode ladder, so their cost, load and learning are what earlier fits used):
#:
#: - cost 2.0: the firm funds the whole operation (more than a minority stake, 1.0) but pays no
#:   acquisition premium and commits in stages as the site is built, so less up front than a
#:   controlling acquisition (3.0). Hennart & Park (1993, Management Science 39:1054-1070) find
#:   Japanese investors in the US chose greenfield when their own firm-specific advantages were
#:   the asset to transfer and acquisitions when they needed the target's assets or speed;
#:   Brouthers & Brouthers (2000, Strategic Management Journal 21:89-97) find the same
#:   transaction-cost logic plus institutional and cultural effects. Kept below control's cost
#:   so :data:`LOAD` (cost relative to the largest) of the three older modes does not change.
#: - full control and equity: a wholly owned operation.
#: - reversibility 0.1: the least reversible commitment (firm-specific, sunk assets with no
#:   buyer as a going concern), below control's 0.2.
#: - learning 2.0: the most experiential knowledge per deal: the firm's own people run the
#:   operation in the market (Johanson & Vahlne 1977), where an acquisition's market knowledge
#:   sits first with the target's staff (Barkema & Vermeulen 1998, Academy of Management
#:   Journal 41:7-26, read acquisitions as buying knowledge the firm lacks).
MODES: tuple[Mode, ...] = (
    Mode("cooperation", 1, 0.25, False, False, 1.0, 0.5, "none"),
    Mode("minority", 2, 1.0, False, True, 0.6, 1.0, "medium"),
    Mode("control", 3, 3.0, True, True, 0.2, 1.5, "large"),
    Mode("greenfield", 4, 2.0, True, True, 0.1, 2.0, "large"),
)
MODE_NAMES: tuple[str, ...] = tuple(m.name for m in MODES)
N_MODES = len(MODES)
COOPERATION, MINORITY, CONTROL, GREENFIELD = range(N_MODES)

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
#: Highest commitment level (greenfield).
MAX_COMMITMENT = int(RANK.max())
#: Commitment at or above which a further controlling acquisition in the market is infeasible
#: (the firm already controls an operation there; it may still build its own).
CONTROLLED = int(RANK[CONTROL])
#: Reversibility of each commitment level (index = rung; 0 = none), read by the exit hazard.
RUNG_REVERSIBILITY = np.concatenate([[1.0], REVERSIBILITY[np.argsort(RANK)]])
#: Mode name used for a deal that was attempted but blocked by the host country.
BLOCKED_MODE = "other"

#: Event code of an exit (divestment or closure) in an event table's ``mode`` column.
EXIT = N_MODES
#: Names of the event codes: the entry modes, then ``exit``.
EVENT_MODE_NAMES: tuple[str, ...] = (*MODE_NAMES, "exit")
#: Capital an event commits, per event code (an exit commits none).
EVENT_COST = np.append(COST, 0.0)
#: Amount class per event code.
EVENT_AMOUNT_CLASS: tuple[str, ...] = (*AMOUNT_CLASS, "none")

#: Modes as compared with the record, in column order: the event codes, then ``other`` (blocked
#: or failed deals). A blocked event has its mode replaced by ``other``.
COMPARE_MODES: tuple[str, ...] = (*EVENT_MODE_NAMES, BLOCKED_MODE)
