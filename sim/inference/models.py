"""Posterior model probabilities from the bank, and how far they can be trusted.

The estimator is a random forest trained on simulated summaries (and, as Pudlo et al. do, their
linear discriminant axes) to name the model that made them (ABC model choice by random forests,
Pudlo et al. 2016, Bioinformatics 32:859), its vote shares
sharpened by one temperature fitted on draws it did not see: with equal draws per model its class
probabilities estimate the posterior model probabilities under equal prior odds. It is judged on
held-out simulations before it says anything about a real record: expected calibration error per
model, Brier score, the confusion matrix (P(predicted | true)) and the inversion matrix
(P(true | predicted); Wilson & Collins 2019, eLife 8:e49547). Several estimators, each with its
own seed and its own training draws, give the spread of each probability on a real record; ABC
rejection on the same bank, its tolerance chosen by cross-validation on simulations, is the
cross-check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.ensemble import RandomForestClassifier
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import FeatureUnion, Pipeline

from sim.inference.bank import Bank

#: Bins of the reliability diagram and of the expected calibration error.
ECE_BINS = 10
#: The share of an estimator's training draws each tree of its forest sees (at least
#: :data:`TREE_MIN_ROWS`), and the smallest leaf. The number of trees is the budget's: the real
#: records lie at the edge of every prior predictive, where tree-to-tree noise made most of the
#: spread between estimators on one shipped record, and it falls as one over the root of the trees.
#: At a fixed cost, more trees on smaller subsamples are steadier; a twentieth of the draws per
#: tree keeps most of the held-out Brier score a tenth gave (docs/inference.md).
TREE_SHARE = 0.05
TREE_MIN_ROWS = 1_000
LEAF = 10
#: Share of an estimator's training draws (of every model) kept aside to recalibrate its forest.
CALIBRATION_SHARE = 0.1
#: Vote share given to a model no tree votes for before tempering (keeps its logarithm finite).
VOTE_FLOOR = 1e-3


@dataclass
class Split:
    """Training and held-out rows of a bank (the same share of every model held out)."""

    train: np.ndarray
    test: np.ndarray


def split(bank: Bank, heldout: int, rng: np.random.Generator) -> Split:
    """Hold out ``heldout`` draws of every model, chosen at random."""
    test = np.concatenate([rng.choice(bank.rows(m), heldout, replace=False) for m in bank.models])
    train = np.setdiff1d(np.arange(len(bank.model)), test)
    return Split(train, np.sort(test))


def tempered(votes: np.ndarray, temperature: float) -> np.ndarray:
    """Vote shares raised to a power and renormalised: softmax(temperature * log(votes))."""
    z = temperature * np.log(votes + VOTE_FLOOR)
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class Estimator:
    """A random forest of the model behind a summary vector and its recalibrating temperature.

    ``forest`` takes the summaries and appends their linear discriminant axes before the trees.
    """

    forest: Pipeline
    temperature: float

    @property
    def classes_(self) -> np.ndarray:
        """The models the forest was trained on (indices into the bank's models)."""
        return np.asarray(self.forest.classes_)

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """Recalibrated probabilities of the forest's classes for each row of ``x``."""
        return tempered(self.forest.predict_proba(x), self.temperature)


def fit_classifier(x: np.ndarray, y: np.ndarray, seed: int, trees: int) -> Estimator:
    """A random forest of the model behind a summary vector, recalibrated by a temperature.

    ABC model choice by random forests (Pudlo et al. 2016) with many trees on subsamples:
    the forest's vote shares average over ``trees`` trees, so two estimators trained on
    different draws agree on a record far more than boosted classifiers do (which extrapolate
    a record at the edge of the bank each in its own way). As in Pudlo et al. (and their
    ``abcrf`` package), the trees also split on the summaries' linear discriminant axes: one
    split on such an axis separates models that axis-aligned splits separate only by a
    staircase, whose steps at the edge of the bank depend on which draws a forest saw
    (docs/inference.md measures how much steadier the record's probabilities are). Vote shares
    are under-confident, so they are sharpened by one temperature (Guo et al. 2017) that
    minimises the log loss on :data:`CALIBRATION_SHARE` of the draws the forest did not see: a
    single smooth parameter moves the record's probabilities less between estimators than
    isotonic or matrix scaling.
    """
    rng = np.random.default_rng(seed)
    aside = np.zeros(len(y), dtype=bool)
    for k in np.unique(y):
        rows = np.flatnonzero(y == k)
        aside[rng.choice(rows, int(np.ceil(CALIBRATION_SHARE * len(rows))), replace=False)] = True
    fit = ~aside
    trees_on = RandomForestClassifier(
        n_estimators=trees,
        max_samples=min(1.0, max(TREE_SHARE, TREE_MIN_ROWS / fit.sum())),
        min_samples_leaf=LEAF,
        max_features="sqrt",
        n_jobs=-1,
        random_state=seed,
    )
    axes = FeatureUnion([("summaries", "passthrough"), ("lda", LinearDiscriminantAnalysis())])
    forest = Pipeline([("axes", axes), ("forest", trees_on)]).fit(x[fit], y[fit])
    votes = forest.predict_proba(x[aside])
    truth = np.searchsorted(np.asarray(forest.classes_), y[aside])

    def log_loss(t: float) -> float:
        return float(-np.log(tempered(votes, t)[np.arange(len(truth)), truth]).mean())

    best = minimize_scalar(log_loss, bounds=(0.2, 5.0), method="bounded")
    return Estimator(forest, float(best.x))


def probabilities(clf: Estimator, x: np.ndarray, n_models: int) -> np.ndarray:
    """Class probabilities for every model (a model absent from training gets 0)."""
    p = np.zeros((len(x), n_models))
    p[:, clf.classes_] = clf.predict_proba(x)
    return p


def calibration_table(p: np.ndarray, y: np.ndarray, models: list[str]) -> pd.DataFrame:
    """Per model: expected calibration error (one against the rest), Brier score, accuracy."""
    rows = []
    edges = np.linspace(0, 1, ECE_BINS + 1)
    for k, label in enumerate(models):
        q, hit = p[:, k], (y == k).astype(float)
        bins = np.clip(np.digitize(q, edges) - 1, 0, ECE_BINS - 1)
        ece = sum(
            abs(q[bins == b].mean() - hit[bins == b].mean()) * (bins == b).mean()
            for b in range(ECE_BINS)
            if (bins == b).any()
        )
        rows.append(
            {
                "model": label,
                "ece": float(ece),
                "brier": float(np.mean((q - hit) ** 2)),
                "accuracy": float((p[y == k].argmax(axis=1) == k).mean()),
                "n_heldout": int((y == k).sum()),
            }
        )
    return pd.DataFrame(rows)


def confusion(p: np.ndarray, y: np.ndarray, models: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Confusion and inversion matrices of held-out predictions.

    Confusion: rows are the true model, shares of its held-out draws. Inversion: columns are the
    predicted model, shares of the draws predicted so (which model made a history so labelled).
    """
    n = len(models)
    counts = np.zeros((n, n))
    np.add.at(counts, (y, p.argmax(axis=1)), 1)
    conf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    inv = counts / np.maximum(counts.sum(axis=0, keepdims=True), 1)
    frame = lambda m: pd.DataFrame(m, index=pd.Index(models, name="true"), columns=models)  # noqa: E731
    return frame(conf), frame(inv)


def ensemble_probabilities(
    bank: Bank,
    pool: np.ndarray,
    records: np.ndarray,
    n_estimators: int,
    per_model: int,
    trees: int,
    seed: int,
) -> np.ndarray:
    """Probabilities of each record under independently trained estimators.

    Each estimator has its own seed and its own training draws: ``per_model`` draws of every
    model chosen afresh from ``pool`` (without replacement), so the spread covers both the
    estimator's randomness and which simulations it learned from.

    Returns:
        Shape (estimators, records, models).
    """
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_estimators):
        rows = np.concatenate(
            [
                rng.choice(r, min(per_model, len(r)), replace=False)
                for r in (pool[bank.model[pool] == k] for k in range(len(bank.models)))
            ]
        )
        clf = fit_classifier(bank.x[rows], bank.model[rows], seed + 1 + i, trees)
        out.append(probabilities(clf, records, len(bank.models)))
    return np.stack(out)


def scales(x: np.ndarray) -> np.ndarray:
    """Robust scale of each summary (median absolute deviation; 1 where it is 0)."""
    mad = np.median(np.abs(x - np.median(x, axis=0)), axis=0) * 1.4826
    return np.where(mad > 0, mad, np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0))


#: Numbers of nearest draws ABC rejection may keep (its tolerance); one is chosen per study by
#: cross-validation (:func:`choose_keep`).
ABC_KEEP = (20, 50, 100, 200, 500, 1_000, 2_000, 5_000)
#: Held-out draws (of all models, none of the cross-check's) that choose the tolerance.
ABC_TUNING = 200


def abc_votes(
    bank: Bank, rows: np.ndarray, records: np.ndarray, keeps: Sequence[int]
) -> dict[int, np.ndarray]:
    """ABC rejection: each model's share of the ``keep`` draws nearest each record, per ``keep``.

    Distances are Euclidean on summaries scaled by their robust spread over ``rows`` (equal
    draws per model, so the shares estimate the posterior model probabilities); the nearest
    draws come from scikit-learn's brute-force search, which works through the bank in chunks.
    """
    s = scales(bank.x[rows])
    search = NearestNeighbors(n_neighbors=min(max(keeps), len(rows)), algorithm="brute")
    near = search.fit(bank.x[rows] / s).kneighbors(records / s, return_distance=False)
    labels = bank.model[rows][near]
    n = len(bank.models)
    return {
        k: np.stack([np.bincount(r[:k], minlength=n) for r in labels]) / min(k, labels.shape[1])
        for k in keeps
    }


def choose_keep(bank: Bank, rows: np.ndarray, tuning: np.ndarray) -> int:
    """The ABC tolerance (draws kept) with the lowest Brier score on held-out draws ``tuning``.

    A tolerance is a bias-variance choice: the nearest 1 % of a large bank reaches far into
    summary space and pulls every record's probabilities towards the prior. Choosing it by
    cross-validation on simulations whose model is known (as the ``abc`` R package's
    ``cv4postpr`` does, Csilléry et al. 2012, Methods Ecol. Evol. 3:475) uses no real record.
    """
    keeps = [k for k in ABC_KEEP if k < len(rows)] or [len(rows)]
    votes = abc_votes(bank, rows, bank.x[tuning], keeps)
    truth = np.eye(len(bank.models))[bank.model[tuning]]
    return min(keeps, key=lambda k: float(((votes[k] - truth) ** 2).sum(axis=1).mean()))


#: Draws of a model in the MMD reference sample, and held-out draws in its simulated null.
MMD_REFERENCE = 2_000
MMD_NULL = 1_000


def _sq_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between the rows of ``a`` and of ``b``."""
    d = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2 * a @ b.T
    return np.maximum(d, 0.0)


def _kernel(a: np.ndarray, b: np.ndarray, width: float) -> np.ndarray:
    """Gaussian kernel between the rows of ``a`` and of ``b``."""
    return np.exp(-_sq_distances(a, b) / (2 * width**2))


def mmd_test(own: np.ndarray, records: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Kernel two-sample test of each record against a model's draws, with a simulated null.

    The statistic is the squared maximum mean discrepancy (Gretton et al. 2012, JMLR 13:723)
    between a record, taken as a one-point sample, and :data:`MMD_REFERENCE` of the model's
    draws, under a Gaussian kernel whose width is the median distance between reference draws
    (the median heuristic). Its null distribution is not asymptotic: it is the statistic of
    :data:`MMD_NULL` other draws of the same model, each treated as if it were the record, so
    the quantile of a record the model made is uniform.

    Args:
        own: The model's draws, scaled summaries (rows).
        records: Records' scaled summaries (rows).
        rng: Chooses the reference and null draws.

    Returns:
        Per record: ``mmd`` (its statistic), ``mmd_quantile`` (share of null draws below it;
        near 1: atypical) and ``mmd_p_value`` ((1 + null draws at or above it) / (1 + null
        draws)).
    """
    order = rng.permutation(len(own))
    n_ref = min(MMD_REFERENCE, len(own) // 2)
    ref, null = own[order[:n_ref]], own[order[n_ref : n_ref + MMD_NULL]]
    width = float(np.sqrt(np.median(_sq_distances(ref, ref)[np.triu_indices(n_ref, 1)]))) or 1.0
    base = 1.0 + _kernel(ref, ref, width).mean()
    null_stat = np.sort(base - 2 * _kernel(null, ref, width).mean(axis=1))
    stat = base - 2 * _kernel(records, ref, width).mean(axis=1)
    below = np.searchsorted(null_stat, stat, side="left")
    return pd.DataFrame(
        {
            "mmd": stat,
            "mmd_quantile": below / len(null_stat),
            "mmd_p_value": (1 + len(null_stat) - below) / (1 + len(null_stat)),
        }
    )


def typicality(bank: Bank, rows: np.ndarray, record: np.ndarray, seed: int) -> pd.DataFrame:
    """Is the record like each model's prior predictive? Mahalanobis and MMD quantiles.

    For each model, the record's squared Mahalanobis distance (covariance of the model's own
    draws, pseudo-inverse) is compared with the distances of the model's draws themselves, and
    a kernel test (:func:`mmd_test`, summaries scaled by their robust spread over ``rows``, the
    same metric for every model) compares it with the model's draws without assuming they are
    elliptical. A quantile near 1 means the model rarely makes a record like this one.
    """
    rng = np.random.default_rng(seed)
    s = scales(bank.x[rows])
    out = []
    for k, label in enumerate(bank.models):
        own = bank.x[rows][bank.model[rows] == k]
        mean, prec = own.mean(axis=0), np.linalg.pinv(np.cov(own, rowvar=False))
        d = np.einsum("ij,jk,ik->i", own - mean, prec, own - mean)
        r = float((record - mean) @ prec @ (record - mean))
        out.append(
            {"model": label, "distance": r, "quantile": float((d < r).mean())}
            | mmd_test(own / s, record[None, :] / s, rng).iloc[0].to_dict()
        )
    return pd.DataFrame(out)
