"""The figures of ``sim infer``: how far the estimators can be trusted, and what they predict.

Per prior choice: the held-out reliability diagram and confusion heatmap of the model classifier,
the simulation-based calibration ranks of the parameter posteriors (Talts et al. 2018), and the
posterior predictive fan of yearly deals against the record.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.analysis.record_plots import save_figure
from sim.inference.models import ECE_BINS

#: Bins of the SBC rank histograms.
RANK_BINS = 10


def reliability(probs: np.ndarray, y: np.ndarray, models: list[str], title: str, target: Path):
    """Held-out reliability diagram: predicted probability against observed frequency."""
    fig = Figure(figsize=(5.5, 4.5))
    ax = fig.subplots()
    edges = np.linspace(0, 1, ECE_BINS + 1)
    for k, label in enumerate(models):
        q, hit = probs[:, k], y == k
        bins = np.clip(np.digitize(q, edges) - 1, 0, ECE_BINS - 1)
        used = [b for b in range(ECE_BINS) if (bins == b).any()]
        ax.plot(
            [q[bins == b].mean() for b in used],
            [hit[bins == b].mean() for b in used],
            marker="o",
            lw=1,
            label=label,
        )
    ax.plot([0, 1], [0, 1], color="black", lw=0.8, ls="--")
    ax.set_xlabel("predicted probability (held-out simulations)")
    ax.set_ylabel("observed frequency")
    ax.set_title(f"Reliability of the model classifier ({title})", fontsize=9)
    ax.legend(fontsize=6, frameon=False)
    fig.tight_layout()
    return save_figure(fig, target)


def confusion(conf: pd.DataFrame, models: list[str], target: Path) -> Path:
    """Held-out confusion matrix as a heatmap (rows: true model)."""
    shares = conf.set_index("true")[models].to_numpy(dtype=float)
    fig = Figure(figsize=(1.2 + 0.7 * len(models), 1.0 + 0.6 * len(models)))
    ax = fig.subplots()
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(models)), models, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(len(models)), models, fontsize=7)
    for i in range(len(models)):
        for j in range(len(models)):
            ax.text(j, i, f"{shares[i, j]:.2f}", ha="center", va="center", fontsize=6)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    fig.tight_layout()
    return save_figure(fig, target)


def sbc_ranks(ranks: pd.DataFrame, title: str, target: Path) -> Path:
    """Per model, the histogram of SBC ranks over its parameters and held-out draws.

    A calibrated posterior gives flat histograms; the band is the central 99 % of a bin's count
    under uniform ranks (binomial), so a bin outside it is a sign, a U an over-confident
    posterior and a hump an under-confident one (Talts et al. 2018).
    """
    models = list(dict.fromkeys(ranks["model"]))
    cols = min(3, len(models))
    rows = -(-len(models) // cols)
    fig = Figure(figsize=(3.0 * cols, 2.2 * rows))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    edges = np.linspace(0, 1, RANK_BINS + 1)
    for ax, label in zip(axes, models, strict=False):
        r = ranks.loc[ranks["model"] == label, "rank"].to_numpy(float)
        n = len(r) / RANK_BINS
        sd = np.sqrt(n * (1 - 1 / RANK_BINS))
        ax.axhspan(n - 2.58 * sd, n + 2.58 * sd, color="0.85")
        ax.hist(r, bins=edges, color="tab:blue")
        ax.set_title(label, fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in axes[len(models) :]:
        ax.set_visible(False)
    fig.suptitle(f"SBC ranks of the parameter posteriors ({title})", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, target)


def fan(predictive: pd.DataFrame, model: str, title: str, target: Path) -> Path:
    """The posterior predictive fan of yearly deals, each table and record, against the record."""
    panels = predictive.loc[predictive["model"] == model].groupby(["record", "table"], sort=False)
    fig = Figure(figsize=(4.2 * min(2, panels.ngroups), 3.0 * -(-panels.ngroups // 2)))
    axes = np.atleast_1d(fig.subplots(-(-panels.ngroups // 2), min(2, panels.ngroups))).ravel()
    for ax, ((record, table), f) in zip(axes, panels, strict=False):
        ax.fill_between(f["year"], f["q05"], f["q95"], color="tab:blue", alpha=0.2, label="90 %")
        ax.fill_between(f["year"], f["q25"], f["q75"], color="tab:blue", alpha=0.4, label="50 %")
        ax.plot(f["year"], f["q50"], color="tab:blue", lw=1, label="median")
        ax.plot(f["year"], f["record_count"], "ko", ms=3, label="record")
        ax.set_title(f"{record}: {str(table).replace('_', '-')}", fontsize=8)
        ax.set_ylabel("deals a year", fontsize=7)
        ax.tick_params(labelsize=6)
    axes[0].legend(fontsize=6, frameon=False)
    fig.suptitle(f"Posterior predictive of the {model} ({title})", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, target)
