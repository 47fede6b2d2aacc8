"""Pattern p-values and the joint test: hand values, uniformity, measured size and power."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.analysis.pattern_tests import _combine, joint_pattern_test, pattern_pvalues, rejection_rate

COV = 0.6 * np.ones((3, 3)) + 0.4 * np.eye(3)
N_RUNS = 199


def _draw(rng: np.random.Generator, n: int, shift: float = 0.0, rate: float = 4.0) -> np.ndarray:
    """Toy pattern vectors: three correlated normals, a Poisson count, a share with NaNs."""
    z = rng.multivariate_normal(np.zeros(3), COV, size=n)
    z[:, 0] += shift
    count = rng.poisson(rate * np.exp(0.3 * z[:, 1]))
    k = rng.poisson(3.0, n)
    share = np.where(k > 0, rng.binomial(k, 0.4) / np.maximum(k, 1), np.nan)
    return np.column_stack([z, count, share])


def _same(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = _draw(rng, N_RUNS + 1)
    return x[1:], x[0]


def _different(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return _draw(rng, N_RUNS), _draw(rng, 1, shift=3.5, rate=10.0)[0]


def test_pvalues_by_hand() -> None:
    sim = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, np.nan], [4.0, 1.0]])
    p = pattern_pvalues(sim, np.array([2.0, 5.0]))
    # pattern 0: 1 below, 1 tie of 4 -> lower = (1 + 0.5 + 0.5) / 5 = 0.4 -> p = 0.8
    # pattern 1: NaN run ignored, 3 below of 3 -> lower = 3.5 / 4 -> p = 2 * 0.125 = 0.25
    assert p == pytest.approx([0.8, 0.25])
    assert np.isnan(pattern_pvalues(sim, np.array([np.nan, 0.0]))[0])
    assert np.isnan(pattern_pvalues(np.full((3, 1), np.nan), np.array([1.0]))[0])


def test_pvalues_are_uniform_under_the_null() -> None:
    rng = np.random.default_rng(20)
    p = np.array([pattern_pvalues(*_same(rng)) for _ in range(400)])
    for j in range(3):  # the continuous patterns
        assert stats.kstest(p[:, j], "uniform").pvalue > 0.01
    for j in range(3, 5):  # discrete ones (ties, NaNs): mid-ranks keep them centred, not liberal
        pj = p[:, j][~np.isnan(p[:, j])]
        assert abs(pj.mean() - 0.5) < 0.05
        assert np.mean(pj <= 0.10) <= 0.10 + 0.03


def test_joint_test_finds_a_record_far_outside() -> None:
    rng = np.random.default_rng(21)
    sim = _draw(rng, N_RUNS)
    obs = sim.mean(axis=0)
    obs[0] = 10.0
    res = joint_pattern_test(sim, obs)
    assert res.p_each[0] == pytest.approx(1.0 / (N_RUNS + 1))
    assert res.stat == pytest.approx(res.p_each[0])
    assert res.p_joint < 0.02 and res.n_null == N_RUNS
    assert joint_pattern_test(sim, np.full(5, np.nan)).to_dict()["p_joint"] is None


def test_fisher_combination_is_the_chi_square_tail_of_scipy_stats() -> None:
    p = np.random.default_rng(25).random((50, 4))
    p[::7, 1:] = np.nan  # rows with fewer patterns get fewer degrees of freedom
    k = (~np.isnan(p)).sum(axis=1)
    x = -2.0 * np.nansum(np.log(p), axis=1)
    assert np.array_equal(_combine(p, "fisher"), stats.chi2.sf(x, 2 * k))


@pytest.mark.parametrize("combine", ["min", "fisher"])
def test_joint_test_size_is_nominal_and_power_is_high(combine: str) -> None:
    size = rejection_rate(_same, 1500, 0.10, np.random.default_rng(22), combine=combine)
    assert size.n_records == 1500
    assert abs(size.rate - 0.10) <= 0.02, size.rate
    power = rejection_rate(_different, 200, 0.10, np.random.default_rng(23), combine=combine)
    assert power.rate > 0.6, power.rate
    # the shifted pattern and the count separate the generators, the untouched share does not
    assert power.per_pattern[0] > 0.5 and power.per_pattern[4] < 0.2


def test_naive_per_pattern_testing_is_not_calibrated_but_the_joint_test_is() -> None:
    rng = np.random.default_rng(24)
    p = np.array([pattern_pvalues(*_same(rng))[:3] for _ in range(300)])
    any_reject = np.mean((p <= 0.10).any(axis=1))
    assert any_reject > 0.15  # three correlated tests at 0.10 reject a true model too often


def test_rejection_rate_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="level"):
        rejection_rate(_same, 10, 1.5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="shape"):
        joint_pattern_test(np.zeros((4, 2)), np.zeros(3))
