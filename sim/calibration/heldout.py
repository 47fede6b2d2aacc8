"""Patterns held out of calibration, which separate the theories.

- mode by market type: log odds ratio of a controlling (or equity) deal in emerging vs mature
  markets (dual-track predicts > 0, springboard < 0, random about 0);
- sequencing: Spearman correlation, across entered markets, between the year of first entry and
  the market's maturity, and its cultural distance (Kojima and Uppsala predict > 0);
- escalation: share of entered markets with a repeat deal (a second deal or a mode upgrade).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from sim.analysis.ensemble import COMPARE_MODES, RunStats
from sim.analysis.fit import Pattern
from sim.world import World

_CONTROL = COMPARE_MODES.index("control")
_MINORITY = COMPARE_MODES.index("minority")
_COOP = COMPARE_MODES.index("cooperation")

HELD_OUT = (
    Pattern("control_log_odds", "log odds ratio of control, emerging vs mature markets"),
    Pattern("equity_log_odds", "log odds ratio of equity, emerging vs mature markets"),
    Pattern("rho_entry_maturity", "Spearman rho: first-entry year vs maturity"),
    Pattern("rho_entry_culture", "Spearman rho: first-entry year vs cultural distance"),
    Pattern("escalation", "share of entered markets with a repeat deal"),
)


def _log_odds(em: np.ndarray, ma: np.ndarray, cols: list[int]) -> np.ndarray:
    done = [_COOP, _MINORITY, _CONTROL]
    e_yes, m_yes = em[:, cols].sum(axis=1), ma[:, cols].sum(axis=1)
    e_all, m_all = em[:, done].sum(axis=1), ma[:, done].sum(axis=1)
    return np.log((e_yes + 0.5) / (e_all - e_yes + 0.5)) - np.log(
        (m_yes + 0.5) / (m_all - m_yes + 0.5)
    )


def _rho(first_step: np.ndarray, attribute: np.ndarray) -> np.ndarray:
    out = np.full(first_step.shape[0], np.nan)
    for i, row in enumerate(first_step):
        entered = row > 0
        if entered.sum() >= 3 and np.unique(row[entered]).size > 1:
            out[i] = spearmanr(row[entered], attribute[entered]).statistic
    return out


def held_out_values(stats: RunStats, world: World) -> pd.DataFrame:
    """The held-out patterns of every run (one row per run)."""
    entered = (stats.done > 0).sum(axis=1)
    repeat = (stats.done > 1).sum(axis=1)
    return pd.DataFrame(
        {
            "control_log_odds": _log_odds(stats.emerging_modes, stats.mature_modes, [_CONTROL]),
            "equity_log_odds": _log_odds(
                stats.emerging_modes, stats.mature_modes, [_CONTROL, _MINORITY]
            ),
            "rho_entry_maturity": _rho(stats.first_step, world.maturity[0]),
            "rho_entry_culture": _rho(stats.first_step, world.culture),
            "escalation": repeat / np.maximum(entered, 1),
        }
    )
