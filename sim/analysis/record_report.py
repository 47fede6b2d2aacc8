"""The ``sim data summary`` job: the record's aggregates, published numbers and two figures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sim.analysis.published import load_claims, published_comparison
from sim.analysis.record_plots import plot_events_by_country, plot_events_per_year
from sim.analysis.record_summary import country_counts, with_continent, yearly_by_mode
from sim.data import Dataset
from sim.data.record import history
from sim.data.taxonomy import DEAL_MODES, MODES
from sim.io import ensure_writable_dir, write_atomic


def _fmt(metric: str, value: float) -> str:
    if pd.isna(value):
        return "n/a"
    if "share" in metric or "hhi" in metric or metric.startswith("equity_since"):
        return f"{100 * value:.1f} %"
    return f"{value:.0f}"


def _csv(df: pd.DataFrame, target: Path, index: bool) -> None:
    write_atomic(target, lambda p: df.to_csv(p, index=index, float_format="%.6g"))


def summarise_record(data: Dataset, out_dir: Path, scope: str | None = None) -> str:
    """Write the record's tables and figures to ``out_dir`` and return a printable summary.

    Args:
        data: The validated inputs.
        out_dir: Where tables (CSV) and figures (PNG) go; created if needed.
        scope: Entity scope of the firm profile deciding which deals count (its default when
            ``None``).
    """
    out_dir = ensure_writable_dir(Path(out_dir))
    profile = data.firm
    scope = scope or profile.default_scope
    first, last = profile.record.years_covered
    years = range(first, last + 1)
    every = with_continent(history(data, scope, modes=MODES), data.markets)
    # Published counts are of deals (M&A, investment, cooperation, failed deals); greenfield
    # operations and exits appear in the yearly table and the figures, not in the comparison.
    events = every[every["mode"].isin(DEAL_MODES)]
    yearly = yearly_by_mode(every, years)
    claims = load_claims(profile)
    # A published claim speaks of the study's period: the years the calibration compares with
    # (the paper's 2010-2021 for the reference firm, whose record runs on to 2025).
    cal = profile.calibration
    studied = range(cal.window[0], cal.validation[1] + 1) if cal is not None else years
    studied_events = events[events["year"].between(studied[0], studied[-1])]
    comparison = None if claims is None else published_comparison(studied_events, claims, studied)
    countries = country_counts(events)

    if comparison is not None:
        _csv(comparison, out_dir / "record_vs_published.csv", index=False)
    _csv(yearly.assign(total=yearly.sum(axis=1)), out_dir / "record_yearly.csv", index=True)
    _csv(countries, out_dir / "record_countries.csv", index=True)
    figures = out_dir / "figures"
    label = (
        f"{profile.name}: record {first}-{last} (scope: {scope}, n={len(events)} deals, "
        f"{len(every) - len(events)} greenfield or exit events)"
        + (" [SYNTHETIC TEST FIRM]" if profile.synthetic else "")
    )
    plot_events_per_year(every, years, figures / "record_events_per_year.png", label)
    plot_events_by_country(every, figures / "record_events_by_country.png", label)

    lines = [label, "", "Events per year by entry mode:"]
    lines.append(yearly.assign(total=yearly.sum(axis=1)).to_string())
    if comparison is not None:
        lines += [
            "",
            f"Record {studied[0]}-{studied[-1]} vs the published numbers (source per row in the "
            "claims file):",
        ]
        shown = pd.DataFrame(
            {
                "metric": comparison["metric"],
                "record": [
                    _fmt(m, v)
                    for m, v in zip(comparison["metric"], comparison["record"], strict=True)
                ],
                "published": [
                    _fmt(m, v)
                    for m, v in zip(comparison["metric"], comparison["published"], strict=True)
                ],
                "section": comparison["section"],
            }
        )
        lines.append(shown.to_string(index=False))
    top = countries.head(10)
    lines += ["", "Top countries:"]
    lines.append(top.assign(share=[f"{100 * s:.1f} %" for s in top["share"]]).to_string())
    return "\n".join(lines)
