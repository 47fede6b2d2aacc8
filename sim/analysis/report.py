"""The plain-language ``report.md`` of a scenario run: tables, figures, a reading per strategy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.tables import RECORD

PERCENT_PATTERNS = {"top_market_share", "control_share", "equity_share"}


NO_EVENTS = "no events"
NO_RECORD = "no events in this window"


def row_of(table: pd.DataFrame, label: str) -> dict[str, Any]:
    """The row of ``table`` whose ``strategy`` is ``label``, as a dict of column -> value."""
    return {str(k): v for k, v in table.set_index("strategy").loc[label].items()}


def _fmt(pattern: str, value: float) -> str:
    if pd.isna(value):
        return NO_EVENTS
    if pattern in PERCENT_PATTERNS:
        return f"{100 * value:.1f} %"
    return f"{value:.0f}"


def _md(df: pd.DataFrame) -> str:
    return df.to_markdown(index=False)


#: What a standard error or a Monte Carlo p-value reads as when one run cannot show any spread.
ONE_RUN = "needs 2+ runs"


def score_text(value: float, se: float) -> str:
    """A score with its Monte Carlo SE, saying so when there are no events or one run."""
    if pd.isna(value):
        return NO_EVENTS
    return f"{value:.2f} ({ONE_RUN} for an SE)" if pd.isna(se) else f"{value:.2f} ± {se:.2f}"


def p_text(value: float, spec: str = ".3f") -> str:
    """A p-value, or why there is none (one run cannot give a Monte Carlo p-value)."""
    return ONE_RUN if pd.isna(value) else format(value, spec)


def _scores(fit: pd.DataFrame, column: str) -> list[str]:
    return [score_text(v, e) for v, e in zip(fit[column], fit[f"{column}_se"], strict=True)]


def fit_markdown(fit: pd.DataFrame, record_empty: bool = False) -> str:
    """The fit table as markdown, best count score first.

    ``record_empty``: the record has no events in the simulated years, so the mix and the
    patterns are not scored.
    """
    shown = pd.DataFrame(
        {
            "strategy": fit["strategy"],
            "runs": fit["runs"],
            "count score (per year) ± MC SE": _scores(fit, "count_score"),
            **{
                f"counts {name} ± MC SE": _scores(fit, f"count_score_{key}")
                for key, name in (
                    ("calibration", "in-sample"),
                    ("validation", "out-of-sample"),
                    ("entries", "of entries"),
                    ("exits", "of exits"),
                )
                if f"count_score_{key}" in fit
            },
            "mix score (per event) ± MC SE": [
                NO_RECORD if record_empty else score_text(v, e)
                for v, e in zip(fit["mix_score"], fit["mix_score_se"], strict=True)
            ],
            "patterns: joint p": [
                NO_RECORD if record_empty else p_text(v) for v in fit["patterns_joint_p"]
            ],
            "_order": fit["count_score"],
        }
    ).sort_values("_order", ascending=False)
    return _md(shown.drop(columns="_order"))


def pattern_markdown(patterns: pd.DataFrame) -> str:
    """Patterns as rows, strategies as columns: median [5-95 %] and the p-value."""
    rows = []
    for key, part in patterns.groupby("pattern", sort=False):
        name = str(key)
        records = part.to_dict("records")
        row = {"pattern": name, "observed": _fmt(name, records[0]["observed"])}
        for r in records:
            if pd.isna(r["observed"]):
                row[r["strategy"]] = NO_RECORD
            elif pd.isna(r["median"]):
                row[r["strategy"]] = NO_EVENTS
            else:
                row[r["strategy"]] = (
                    f"{_fmt(name, r['median'])} [{_fmt(name, r['p05'])}-{_fmt(name, r['p95'])}] "
                    f"p={p_text(r['p_value'], '.2f')}"
                )
        rows.append(row)
    return _md(pd.DataFrame(rows))


def reading(
    label: str,
    fit: pd.DataFrame,
    patterns: pd.DataFrame,
    summary: pd.DataFrame,
    yearly: pd.DataFrame,
    copied: frozenset[str] = frozenset(),
) -> str:
    """One paragraph that says in plain words how a strategy compares with the record."""
    f = row_of(fit, label)
    p = patterns[patterns["strategy"] == label].set_index("pattern")
    rec = row_of(summary, RECORD)
    mine = row_of(summary, label)
    ranked = fit.sort_values("count_score", ascending=False)["strategy"].tolist()
    series = yearly[yearly["strategy"] == label]
    peak = int(series["year"].to_numpy()[np.nanargmax(series["median"].to_numpy())])
    rejected = [str(n) for n, v in p["p_value"].items() if v < 0.05]
    observed = p["observed"].to_dict()
    if rec["events_median"] == 0 or mine["events_p95"] == 0:
        # Shares and patterns are undefined without events: say so instead of 0 % or "hits".
        whose = "The record has" if rec["events_median"] == 0 else f"**{label}** produces"
        text = (
            f"{whose} no deal events in this window ({series['year'].min()}-"
            f"{series['year'].max()}), so shares and patterns cannot be compared: "
            f"{NO_RECORD if rec['events_median'] == 0 else NO_EVENTS}."
        )
        return text
    text = (
        f"**{label}** produces a median of {mine['events_median']:.0f} deal events "
        f"(5-95 %: {mine['events_p05']:.0f}-{mine['events_p95']:.0f}) against "
        f"{rec['events_median']:.0f} in the record; its median yearly series peaks in {peak} "
        f"(record: {int(observed['peak_year'])}). Controlling deals are "
        f"{100 * mine['mode_share_control']:.1f} % of its events (record "
        f"{100 * rec['mode_share_control']:.1f} %), equity deals "
        f"{100 * (mine['mode_share_control'] + mine['mode_share_minority']):.1f} % (record "
        f"{100 * (rec['mode_share_control'] + rec['mode_share_minority']):.1f} %), and the "
        f"most-used market takes {100 * mine['top_market_share_median']:.1f} % (record "
        f"{100 * rec['top_market_share_median']:.1f} %). It ranks {ranked.index(label) + 1} of "
        f"{len(ranked)} on the count score ({score_text(f['count_score'], f['count_score_se'])} "
        f"per year); its mix score is {score_text(f['mix_score'], f['mix_score_se'])} per event. "
        f"The joint pattern test gives p = {p_text(f['patterns_joint_p'])}"
    )
    text += (
        f"; single patterns with p < 0.05: {', '.join(rejected)}."
        if rejected
        else "; no single pattern has p < 0.05."
    )
    if label in copied:
        text += (
            " It is an oracle: its yearly counts are copied from the record (validation years "
            "included), so its count score and total are not evidence for it."
        )
    return text


def build_report(
    title: str,
    description: str,
    header: dict[str, str],
    fit: pd.DataFrame,
    patterns: pd.DataFrame,
    summary: pd.DataFrame,
    yearly: pd.DataFrame,
    figures: list[str],
    copied: frozenset[str] = frozenset(),
) -> str:
    """The whole report as markdown text (``copied``: strategies whose counts copy the record)."""
    lines = [f"# {title}", "", description.strip(), ""]
    lines += [f"- **{k}**: {v}" for k, v in header.items()]
    lines += [
        "",
        "## Fit to the record",
        "",
        "Proper log scores of the record under each strategy's predictive distribution "
        "(higher is better): the yearly counts per year (negative binomial matched to each "
        "year's runs), the region, mode and country mixes per event (Dirichlet-multinomial "
        "fitted to the runs), each with its Monte Carlo standard error (bootstrap over runs). "
        "The joint pattern test's p-value is calibrated by simulation (small: the record is "
        "unlike the runs on some pattern). Differences within about two SEs are noise.",
        "",
        fit_markdown(
            fit, record_empty=bool(summary.set_index("strategy").loc[RECORD, "events_median"] == 0)
        ),
        "",
        "## Patterns",
        "",
        "Each cell: ensemble median [5-95 %] and the two-sided Monte Carlo p-value of the "
        "record's value (no hit/miss: a band is descriptive, the p-value is the test).",
        "",
        pattern_markdown(patterns),
        "",
        "## Reading",
        "",
    ]
    if copied:
        lines[lines.index("## Patterns") - 1 : lines.index("## Patterns") - 1] = [
            "",
            f"Oracles whose yearly counts are copied from the record by design "
            f"({', '.join(sorted(copied))}): their count score and total are not evidence.",
        ]
    for label in fit["strategy"]:
        lines += [reading(label, fit, patterns, summary, yearly, copied), ""]
    lines += ["## Figures", ""]
    lines += [f"![{name}](figures/{name})" for name in figures]
    lines += [
        "",
        "Files: `events.parquet`/`events.csv` (every simulated deal), `yearly.csv`, "
        "`summary.csv`, `fit.csv`, `manifest.json`.",
        "",
    ]
    return "\n".join(lines)
