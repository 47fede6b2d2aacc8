"""Robustness of each strategy across futures: regret and a satisficing criterion.

Regret (Savage 1951): in each future, how far a strategy's outcome falls short of the best
strategy's in that same future; a strategy with small *maximum* regret is robust in the
minimax-regret sense. Satisficing (Simon 1956; McPhail et al. 2018): the share of futures in
which the strategy meets every declared bound. Both read only the experiments table, so they do
not need the EMA Workbench.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.projection_spec import Robustness


def regret(table: pd.DataFrame, outcome: str, direction: str = "max") -> pd.DataFrame:
    """Regret of every strategy in every future (futures x strategies).

    A strategy that is best in a future has regret 0 there; regret is never negative.
    """
    values = table.pivot(index="future", columns="strategy", values=outcome)
    if direction == "max":
        return values.rsub(values.max(axis=1), axis=0)
    return values.sub(values.min(axis=1), axis=0)


def satisfices(table: pd.DataFrame, rules: Robustness) -> pd.Series:
    """Per row of the experiments table: whether every satisficing bound holds."""
    ok = pd.Series(True, index=table.index)
    for name, bound in rules.satisficing.items():
        if bound.min is not None:
            ok &= table[name] >= bound.min
        if bound.max is not None:
            ok &= table[name] <= bound.max
    return ok


def criterion_text(rules: Robustness) -> str:
    """The satisficing criterion in words, e.g. ``deals_per_year >= 5 and blocked_share <= 0.2``."""
    parts = []
    for name, bound in rules.satisficing.items():
        if bound.min is not None:
            parts.append(f"{name} >= {bound.min:g}")
        if bound.max is not None:
            parts.append(f"{name} <= {bound.max:g}")
    return " and ".join(parts)


def robustness_table(table: pd.DataFrame, rules: Robustness) -> pd.DataFrame:
    """One row per strategy, most robust (smallest maximum regret) first.

    Columns: the outcome's median and 5-95 % range across futures, mean, 90th-percentile and
    maximum regret, the share of futures where the strategy is best, and the satisficing share.
    """
    r = regret(table, rules.outcome, rules.direction)
    values = table.pivot(index="future", columns="strategy", values=rules.outcome)
    ok = table.assign(ok=satisfices(table, rules)).pivot(
        index="future", columns="strategy", values="ok"
    )
    out = pd.DataFrame(
        {
            "strategy": r.columns,
            f"{rules.outcome}_median": values.median().to_numpy(),
            f"{rules.outcome}_p5": values.quantile(0.05).to_numpy(),
            f"{rules.outcome}_p95": values.quantile(0.95).to_numpy(),
            "regret_mean": r.mean().to_numpy(),
            "regret_p90": r.quantile(0.9).to_numpy(),
            "regret_max": r.max().to_numpy(),
            "best_share": (r <= 1e-12).mean().to_numpy(),
            "satisficing_share": ok.astype(float).mean().to_numpy(),
        }
    )
    out = out.sort_values(["regret_max", "regret_mean"], kind="stable").reset_index(drop=True)
    out.insert(1, "rank_minimax_regret", np.arange(1, len(out) + 1))
    return out
