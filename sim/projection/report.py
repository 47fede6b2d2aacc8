"""The projection's ``report.md``: what was run, the results, and how to read them."""

from __future__ import annotations

import pandas as pd

from sim.projection.exploration import Experiments
from sim.projection.robustness import criterion_text
from sim.projection_spec import Projection, Robustness
from sim.scenario import Scenario

_MEANINGS = {
    "revenue_growth": "yearly revenue growth after the record (compounded; lowers the hurdle "
    "through resource_elasticity)",
    "home_regime": "change of the home outbound-regime index per projected year (+1 = one "
    "easing event a year)",
    "climate": "shift of the outside option's utility in projected years (> 0: colder deal "
    "climate, fewer deals)",
}


def _uncertainty_table(spec: Projection) -> str:
    rows = []
    for name, (lo, hi) in spec.uncertainties.ranges().items():
        meaning = _MEANINGS.get(name, "")
        if name.startswith("barrier_"):
            path = next(b for b in spec.uncertainties.barriers if f"barrier_{b.name}" == name)
            meaning = (
                f"factor on the barrier index of {', '.join(path.markets)} from "
                f"{path.from_year} (> 1 escalation, < 1 easing)"
            )
        rows.append({"uncertainty": name, "low": lo, "high": hi, "meaning": meaning})
    return pd.DataFrame(rows).to_markdown(index=False, floatfmt=".3g")


def _weak(*qps: float) -> str:
    """A note on a restriction whose every quasi-p-value is 0.05 or more (may be chance)."""
    valid = [q for q in qps if pd.notna(q)]
    return ", weak: qp >= 0.05" if valid and min(valid) >= 0.05 else ""


def _boxes_text(boxes: pd.DataFrame) -> str:
    lines = []
    for label, rows in boxes.groupby("strategy", sort=False):
        first = rows.iloc[0]
        if first["note"]:
            lines.append(
                f"- **{label}**: {first['note']} ({first['failures']} of {first['futures']})."
            )
            continue
        limits = "; ".join(
            f"{r['uncertainty']} in [{r['low']:.3g}, {r['high']:.3g}] (of [{r['range_low']:.3g}, "
            f"{r['range_high']:.3g}]{_weak(float(r['qp_lower']), float(r['qp_upper']))})"
            for r in rows.to_dict("records")
        )
        lines.append(
            f"- **{label}** fails in {first['failures']} of {first['futures']} futures; PRIM "
            f"box: {limits} — coverage {first['coverage']:.2f}, density {first['density']:.2f}."
        )
    return "\n".join(lines)


def degenerate_years(yearly: pd.DataFrame) -> pd.DataFrame:
    """Strategy-years whose 90 % band is 0-0: every future and nearly every run makes no deal.

    Such a band is not a forecast of "no deals" one can trust by default: it says the strategy's
    fitted mechanism has shut the firm down under every declared future (the report flags it).
    """
    runs = yearly[yearly["strategy"] != "record"]
    return runs[(runs["p5"] == 0) & (runs["p95"] == 0)][["strategy", "year"]]


def _degenerate_text(yearly: pd.DataFrame) -> str:
    zero = degenerate_years(yearly)
    if zero.empty:
        return "No strategy has a 0-0 band (5-95 %) in any projected year."
    lines = [
        f"- **{label}**: {', '.join(str(int(y)) for y in rows['year'])}"
        for label, rows in zero.groupby("strategy", sort=False)
    ]
    return (
        "**Flag: 0-0 bands.** These strategies make no deal in at least 95 % of futures x runs "
        "in the years listed (5-95 % band 0-0):\n\n"
        + "\n".join(lines)
        + "\n\nA 0-0 band comes from the fitted mechanism, not from chance: read it with the "
        "carried-forward drivers (docs/projections.md, 'Zero-deal projections')."
    )


def _robustness_text(
    scenario: Scenario, robust: pd.DataFrame, boxes: pd.DataFrame, rules: Robustness
) -> str:
    """The report's robustness and scenario-discovery sections."""
    return f"""## Robustness across futures

Regret on `{rules.outcome}` ({"more" if rules.direction == "max" else "less"} is better): in each
future, the best strategy's value minus this strategy's; satisficing: the share of futures in
which {criterion_text(rules)} (outcomes are means over a future's runs).

{robust.to_markdown(index=False, floatfmt=".3g")}

**How to read it.** Rows are sorted by maximum regret (minimax regret): the top strategy is the
one whose worst shortfall against the best choice in hindsight is smallest. `best_share` is how
often a strategy is the best; `satisficing_share` is how often it meets the criterion. A
strategy can be best on average and still fail the criterion in many futures; the two columns
answer different questions. Every value is conditional on the declared ranges and on the
calibrated mechanisms holding after {scenario.years[1]}.

## Which futures make a strategy fail (PRIM)

{_boxes_text(boxes)}

A box restricts some uncertainties to a sub-range; *coverage* is the share of the strategy's
failures inside the box, *density* the share of futures inside the box that fail. Of PRIM's
peeling trajectory the densest box covering at least half of the failures is reported
(`prim_boxes.csv`). A restriction marked *weak* has quasi-p-values of 0.05 or more: it may be
chance, and a box restricting most uncertainties a little says the failure has no simple cause
in the declared ranges. With few futures, treat boxes as hypotheses; more futures sharpen them."""


def _regime_text(notes: list[str], scenario: Scenario) -> str:
    """Where a home-regime index leaves the calibration window's range, or that none does."""
    first, last = scenario.calibration.window
    if not notes:
        return f"Home regime: every index stays within its {first}-{last} range."
    lines = "\n".join(f"- {n}." for n in notes)
    return f"**Home regime out of its calibration range** (the effect is extrapolated):\n\n{lines}"


def report_text(
    scenario: Scenario,
    spec: Projection,
    ex: Experiments,
    robust: pd.DataFrame,
    boxes: pd.DataFrame,
    carried: pd.DataFrame,
    rules: Robustness,
    replications: int,
    seconds: float,
    yearly: pd.DataFrame,
    regime: list[str] | None = None,
) -> str:
    """The report's Markdown.

    ``yearly``: the fan chart's quantiles, for the 0-0 flag; ``regime``: notes on home-regime
    indices outside the calibration window's range (:func:`sim.projection.futures.regime_notes`).
    """
    first, last = ex.years[0], ex.years[-1]
    n_futures = int(ex.table["future"].nunique())
    carried_rows = carried[carried["market_years_carried"] > 0]
    carried_list = ", ".join(
        f"{r.indicator} ({r.carried_years}, from {r.from_year})" for r in carried_rows.itertuples()
    )
    source = (
        f"calibrated parameters from `{spec.start_from}`"
        if spec.start_from
        else "the parameters given in the scenario file"
    )
    return f"""# Projection {first}-{last}: {scenario.name}

{scenario.description.strip()}

Each of {len(robust)} strategies ({source}) starts from the firm's state at the end of the
record ({scenario.years[1]}: commitment, experience, deals per market, mode and industry counts
and integration load, rebuilt from the record's completed deals with the engine's own rules) and
runs {last - first + 1} years forward in each of {n_futures} futures sampled by Latin hypercube
(EMA Workbench), {replications} runs per strategy and future ({seconds:.0f} s). Nothing observed
after {scenario.years[1]} tunes the projection: the strategies' parameters are fixed before it
runs, and the futures come from the ranges below.

## Futures (declared uncertainties)

{_uncertainty_table(spec)}

Carried forward beyond the indicator data (flagged): {carried_list or "nothing"}.
`carried_forward.csv` lists the share of market-years carried.

{_regime_text(regime or [], scenario)}

## Deals per year

![fan chart](figures/fan_chart.png)

**How to read the fan chart.** Black: the record's completed deals per year. Blue: the
projection's median across all futures and runs, with the 25-75 % (dark) and 5-95 % (light)
bands. The bands mix two kinds of uncertainty — which future comes (the declared ranges) and
chance within a future (the runs) — so a wide fan says the outcome depends on things the
scenario leaves open, not that the model is broken. Numbers: `yearly.csv`. Mode and region mix
by year: `figures/mode_mix.png`, `figures/region_mix.png` and `mix_by_year.csv`.

{_degenerate_text(yearly)}

{_robustness_text(scenario, robust, boxes, rules)}

## Files

`experiments.csv` (one row per future and strategy: uncertainties, outcomes, `satisfices`),
`yearly.csv`, `mix_by_year.csv`, `robustness.csv`/`.md`, `prim_boxes.csv`,
`carried_forward.csv`, `figures/`, `manifest.json` (seed, ranges, versions, timings).
"""
