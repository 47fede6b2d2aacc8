"""The plain-language ``report.md`` of a scenario run: tables, figures, a reading per strategy."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.analysis.tables import RECORD

PERCENT_PATTERNS = {"us_share", "control_share", "equity_share"}


NO_EVENTS = "no events"
NO_RECORD = "no events in this window"


def _num(spec: str):
    """A formatter that says "no events" where a statistic is undefined (nan), never "nan"."""
    return lambda v: NO_EVENTS if pd.isna(v) else format(v, spec)


def _fmt(pattern: str, value: float) -> str:
    if pd.isna(value):
        return NO_EVENTS
    if pattern in PERCENT_PATTERNS:
        return f"{100 * value:.1f} %"
    return f"{value:.0f}"


def _md(df: pd.DataFrame) -> str:
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in df.columns) + " |"
    body = ["| " + " | ".join(map(str, row)) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def fit_markdown(fit: pd.DataFrame, record_empty: bool = False) -> str:
    """The fit table as markdown, best yearly-count likelihood first.

    ``record_empty``: the record has no events in the simulated years, so patterns are not
    scored (every band would "hit" an empty record).
    """
    shown = fit.sort_values("nb_loglik", ascending=False).assign(
        nb_loglik=lambda d: d["nb_loglik"].map(_num(".1f")),
        poisson_loglik=lambda d: d["poisson_loglik"].map(_num(".1f")),
        jsd_region=lambda d: d["jsd_region"].map(_num(".3f")),
        jsd_mode=lambda d: d["jsd_mode"].map(_num(".3f")),
        jsd_country=lambda d: d["jsd_country"].map(_num(".3f")),
        patterns=lambda d: (
            NO_RECORD
            if record_empty
            else d["patterns_hit"].astype(str) + " / " + d["patterns_total"].astype(str)
        ),
    )[
        [
            "strategy",
            "runs",
            "nb_loglik",
            "poisson_loglik",
            "jsd_region",
            "jsd_mode",
            "jsd_country",
            "patterns",
        ]
    ]
    return _md(shown)


def pattern_markdown(patterns: pd.DataFrame) -> str:
    """Patterns as rows, strategies as columns: median [5-95 %], quantile, hit."""
    rows = []
    for name, part in patterns.groupby("pattern", sort=False):
        row = {"pattern": name, "observed": _fmt(name, part["observed"].iloc[0])}
        for r in part.itertuples():
            mark = "hit" if r.hit else "miss"
            if pd.isna(r.observed):
                row[r.strategy] = NO_RECORD
            elif pd.isna(r.median):
                row[r.strategy] = NO_EVENTS
            else:
                row[r.strategy] = (
                    f"{_fmt(name, r.median)} [{_fmt(name, r.p05)}-{_fmt(name, r.p95)}] "
                    f"q={r.quantile:.2f} {mark}"
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
    f = fit.set_index("strategy").loc[label]
    p = patterns[patterns["strategy"] == label].set_index("pattern")
    s = summary.set_index("strategy")
    rec = s.loc[RECORD]
    mine = s.loc[label]
    ranked = fit.sort_values("nb_loglik", ascending=False)["strategy"].tolist()
    series = yearly[yearly["strategy"] == label]
    peak = int(series.loc[series["median"].idxmax(), "year"])
    hits = [n for n in p.index if p.loc[n, "hit"]]
    misses = [n for n in p.index if not p.loc[n, "hit"]]
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
        f"(record: {int(p.loc['peak_year', 'observed'])}). Controlling deals are "
        f"{100 * mine['mode_share_control']:.1f} % of its events (record "
        f"{100 * rec['mode_share_control']:.1f} %), equity deals "
        f"{100 * (mine['mode_share_control'] + mine['mode_share_minority']):.1f} % (record "
        f"{100 * (rec['mode_share_control'] + rec['mode_share_minority']):.1f} %), and the "
        f"United States takes {100 * mine['us_share_median']:.1f} % (record "
        f"{100 * rec['us_share_median']:.1f} %). It ranks {ranked.index(label) + 1} of "
        f"{len(ranked)} on the likelihood of the yearly counts and hits {len(hits)} of "
        f"{len(p)} patterns"
    )
    text += f" (misses: {', '.join(misses)})." if misses else "."
    if np.isfinite(f["jsd_region"]):
        by_region = fit.sort_values("jsd_region")["strategy"].tolist()
        text += (
            f" Its pooled region mix diverges from the record's by JSD {f['jsd_region']:.3f} "
            f"({by_region.index(label) + 1} of {len(by_region)}, closest first)."
        )
    if label in copied:
        text += (
            " Its yearly counts are copied from the record by design, so its count likelihood "
            "and total are not evidence for it."
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
        "Higher log-likelihood of the yearly counts (negative binomial fitted to each year's "
        "ensemble) is better; Jensen-Shannon divergence (JSD, 0-1) of pooled region, mode "
        "and country shares is better when lower.",
        "",
        fit_markdown(
            fit, record_empty=bool(summary.set_index("strategy").loc[RECORD, "events_median"] == 0)
        ),
        "",
        "## Patterns",
        "",
        "Each cell: ensemble median [5-95 %], the observed value's quantile q in the "
        "ensemble, and hit/miss (hit: observed inside the band widened by its own sampling "
        "error).",
        "",
        pattern_markdown(patterns),
        "",
        "## Reading",
        "",
    ]
    if copied:
        lines[lines.index("## Patterns") - 1 : lines.index("## Patterns") - 1] = [
            "",
            f"Strategies whose yearly counts are copied from the record by design "
            f"({', '.join(sorted(copied))}): their count likelihood and total are not evidence.",
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
