"""Numbers stated in the text of Li & Li (2022), used as the published reference for the record.

Source: Li, W. J., & Li, C. G. (2022). Analysis of the Internationalization Strategy of
Cross-Border E-Commerce Enterprises: The Case of Alibaba Group. *iBusiness*, 14, 270-283,
https://doi.org/10.4236/ib.2022.144020 (CC BY 4.0). The paper's figures 4-9 are images whose
values are not in the text, so only numbers written in the text appear here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaperClaim:
    """One number from the paper's text.

    Attributes:
        metric: Name of the matching aggregate in :func:`sim.analysis.metrics.record_aggregates`.
        value: The number as stated (shares as fractions).
        where: Section of the paper that states it.
        wording: What exactly the text claims, paraphrased briefly.
    """

    metric: str
    value: float
    where: str
    wording: str


PAPER_CLAIMS: tuple[PaperClaim, ...] = (
    PaperClaim(
        "total_events",
        85,
        "2.3, 3.1",
        "85 overseas M&A, investment and strategic-cooperation events since 2010",
    ),
    PaperClaim("distinct_countries", 26, "3.1, 4", "target markets in 26 countries and regions"),
    PaperClaim("peak_year", 2015, "2.3", "peak in 2015"),
    PaperClaim("peak_year_events", 19, "2.3", "as many as 19 events in 2015"),
    PaperClaim("us_share", 1 / 3, "3.1", "the US accounts for nearly 1/3"),
    PaperClaim("india_share", 0.10, "3.1", "India and Israel also account for about 10 %"),
    PaperClaim("israel_share", 0.10, "3.1", "India and Israel also account for about 10 %"),
    PaperClaim(
        "control_events", 7, "3.2 1)", "only 7 cross-border (controlling) M&A cases to Dec 2021"
    ),
    PaperClaim("equity_share", 0.62, "3.2 2)", "equity investment about 62 % of the expansion"),
    PaperClaim(
        "asia_share_of_equity_since_2013",
        0.5862,
        "3.2 2)",
        "investment regions since 2013: Asia 58.62 %",
    ),
    PaperClaim(
        "north_america_share_of_equity_since_2013",
        0.3448,
        "3.2 2)",
        "investment regions since 2013: North America 34.48 %",
    ),
    PaperClaim(
        "europe_share_of_equity_since_2013",
        0.069,
        "3.2 2)",
        "investment regions since 2013: Europe 6.9 %",
    ),
    PaperClaim(
        "us_ind_sgp_share_of_equity_since_2013",
        0.70,
        "3.2 2)",
        "US, India and Singapore together nearly 70 % of investment projects",
    ),
)
