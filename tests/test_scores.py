"""Proper scores: values, propriety in practice, finiteness, normalisation and their MC errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, special, stats

from sim.analysis.scores import (
    MIN_RATE,
    Score,
    _nb_logpmf,
    count_log_score,
    dirichlet_multinomial_fit,
    mix_log_score,
    score_difference,
)


def _dm_runs(rng: np.random.Generator, alpha: np.ndarray, n_runs: int) -> np.ndarray:
    totals = rng.integers(20, 60, n_runs)
    return rng.multinomial(totals, rng.dirichlet(alpha, n_runs))


# ---------------------------------------------------------------------------- counts


def test_count_score_matches_moment_negative_binomial_per_year() -> None:
    sim = np.array([[2, 0], [6, 1], [4, 0], [8, 3]])
    obs = np.array([5, 0])
    s = count_log_score(sim, obs, np.random.default_rng(0))
    mu, var = sim.mean(axis=0), sim.var(axis=0, ddof=1)
    r = mu[0] ** 2 / (var[0] - mu[0])
    year0 = stats.nbinom.logpmf(5, r, r / (r + mu[0]))
    year1 = stats.nbinom.logpmf(0, mu[1] ** 2 / (var[1] - mu[1]), mu[1] / var[1])
    assert s.per_unit == pytest.approx([year0, year1])
    assert s.value == pytest.approx((year0 + year1) / 2)  # per year, not summed
    assert s.unit == "year" and s.n_units == 2 and s.n_runs == 4 and not s.empty


def test_count_log_pmf_is_scipy_stats_to_the_last_bit() -> None:
    # sim writes the two log pmfs with scipy.special (scipy.stats costs 37 MB to import).
    rng = np.random.default_rng(7)
    mean = np.concatenate([rng.gamma(2.0, 3.0, 400), [0.0, 0.01, 50.0]])
    var = mean * rng.choice([0.5, 1.0, 1.5, 8.0], mean.size) + rng.random(mean.size)
    observed = rng.integers(0, 40, mean.size).astype(float)
    mu = np.maximum(mean, MIN_RATE)
    over = var > mu * (1.0 + 1e-9)
    r = np.where(over, mu**2 / np.where(over, var - mu, 1.0), 1.0)
    expected = np.where(
        over, stats.nbinom.logpmf(observed, r, r / (r + mu)), stats.poisson.logpmf(observed, mu)
    )
    assert over.any() and not over.all()
    assert np.array_equal(_nb_logpmf(observed, mean, var), expected)


def test_count_score_poisson_fallback_and_never_infinite() -> None:
    # every run identical (variance 0) -> Poisson; a year no run fills -> floored rate, finite
    sim = np.tile([3, 0], (50, 1))
    s = count_log_score(sim, np.array([3, 4]), np.random.default_rng(0))
    assert s.per_unit[0] == pytest.approx(stats.poisson.logpmf(3, 3.0))
    assert np.isfinite(s.per_unit[1]) and s.per_unit[1] < -10
    assert np.isfinite(s.value) and s.se == pytest.approx(0.0)


def test_count_score_is_per_year_so_window_length_does_not_change_scale() -> None:
    rng = np.random.default_rng(1)
    sim = rng.negative_binomial(4, 0.4, size=(300, 4))
    obs = np.array([5, 7, 6, 4])
    short = count_log_score(sim, obs, np.random.default_rng(2))
    long = count_log_score(np.hstack([sim, sim]), np.hstack([obs, obs]), np.random.default_rng(2))
    assert long.value == pytest.approx(short.value)


def test_count_score_prefers_the_true_generator_on_average() -> None:
    # propriety in practice: records from Poisson(6) score higher under the Poisson(6) ensemble
    # than under a too-wide ensemble with the right mean or one with the wrong mean
    rng = np.random.default_rng(3)
    true = rng.poisson(6.0, size=(400, 12))
    wide = rng.negative_binomial(1.5, 1.5 / 7.5, size=(400, 12))  # mean 6, var 30
    off = rng.poisson(9.0, size=(400, 12))
    records = rng.poisson(6.0, size=(200, 12))
    means = {
        name: np.mean([count_log_score(ens, y, rng, n_boot=2).value for y in records])
        for name, ens in (("true", true), ("wide", wide), ("off", off))
    }
    assert means["true"] > means["wide"] + 0.1
    assert means["true"] > means["off"] + 0.1


def test_count_score_bootstrap_se_matches_spread_across_ensembles() -> None:
    rng = np.random.default_rng(4)
    obs = np.array([3, 9, 5, 12, 6, 4])
    draws = [rng.negative_binomial(3, 3 / 9, size=(100, 6)) for _ in range(150)]
    values = np.array([count_log_score(d, obs, rng, n_boot=2).value for d in draws])
    ses = np.array([count_log_score(d, obs, rng, n_boot=200).se for d in draws[:20]])
    assert 0.7 < ses.mean() / values.std(ddof=1) < 1.4


def test_count_score_rejects_bad_shapes_and_values() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="observed must have shape"):
        count_log_score(np.zeros((3, 4)), np.zeros(5), rng)
    with pytest.raises(ValueError, match="non-negative integers"):
        count_log_score(np.full((3, 2), 1.5), np.zeros(2), rng)
    with pytest.raises(ValueError, match="Generator"):
        count_log_score(np.zeros((3, 2)), np.zeros(2))


# ---------------------------------------------------------------------------- mixes


def test_dm_fit_is_the_likelihood_maximum_and_recovers_alpha() -> None:
    rng = np.random.default_rng(5)
    alpha = np.array([5.0, 3.0, 1.0, 0.5, 0.5])
    runs = _dm_runs(rng, alpha, 600)
    fitted = dirichlet_multinomial_fit(runs)
    p = (runs.sum(axis=0) + 0.5) / (runs.sum() + 2.5)
    n = runs.sum(axis=1)

    def nll(u: float) -> float:
        a = np.exp(u) * p
        ll = special.gammaln(a.sum()) - special.gammaln(n + a.sum())
        return -float((ll + (special.gammaln(runs + a) - special.gammaln(a)).sum(axis=1)).sum())

    best = optimize.minimize_scalar(nll, bounds=(-5, 14), method="bounded").x
    assert fitted.sum() == pytest.approx(np.exp(best), rel=1e-3)
    assert fitted.sum() == pytest.approx(alpha.sum(), rel=0.25)
    assert fitted / fitted.sum() == pytest.approx(alpha / alpha.sum(), abs=0.02)


def test_dm_fit_of_multinomial_runs_has_high_precision() -> None:
    runs = np.random.default_rng(6).multinomial(40, [0.5, 0.3, 0.2], size=400)
    assert dirichlet_multinomial_fit(runs).sum() > 200


def test_mix_score_per_event_value_and_category_split() -> None:
    rng = np.random.default_rng(7)
    runs = _dm_runs(rng, np.array([4.0, 2.0, 1.0]), 200)
    obs = np.array([10, 3, 2])
    s = mix_log_score(runs, obs, rng)
    a = dirichlet_multinomial_fit(runs)
    seq = special.gammaln(a.sum()) - special.gammaln(15 + a.sum())
    seq += (special.gammaln(obs + a) - special.gammaln(a)).sum()
    assert s.value == pytest.approx(seq / 15)
    assert s.per_unit.sum() == pytest.approx(s.value)
    assert s.unit == "event" and s.n_units == 15
    assert 0 < s.se < 0.05


def test_mix_score_is_on_one_scale_for_windows_of_different_size() -> None:
    # with nearly multinomial runs the per-event score is about the per-event entropy term,
    # whatever the number of events
    rng = np.random.default_rng(8)
    runs = rng.multinomial(200, [0.6, 0.3, 0.1], size=400)
    small = mix_log_score(runs, np.array([6, 3, 1]), rng).value
    large = mix_log_score(runs, np.array([60, 30, 10]), rng).value
    expected = float(np.dot([0.6, 0.3, 0.1], np.log([0.6, 0.3, 0.1])))
    assert small == pytest.approx(expected, abs=0.03)
    assert large == pytest.approx(expected, abs=0.03)


def test_mix_score_unseen_category_is_finite_and_empty_record_is_flagged() -> None:
    rng = np.random.default_rng(9)
    runs = np.column_stack([rng.multinomial(30, [0.7, 0.3], size=100), np.zeros(100, int)])
    s = mix_log_score(runs, np.array([3, 1, 1]), rng)
    assert np.isfinite(s.value) and s.per_unit[2] < s.per_unit[0]
    empty = mix_log_score(runs, np.zeros(3, int), rng)
    assert empty.empty and np.isnan(empty.value)
    assert empty.to_dict()["value"] is None and empty.to_dict()["empty"] is True


def test_mix_score_prefers_the_true_model_over_a_smeared_one() -> None:
    # the improper JSD-to-pooled-shares rewarded a smeared average; a proper score must not:
    # records from a concentrated world score better under its own ensemble than under an
    # ensemble with the same mean shares but wildly varying runs
    rng = np.random.default_rng(10)
    p = np.array([0.5, 0.3, 0.2])
    true = rng.multinomial(50, p, size=300)
    smeared = rng.multinomial(50, rng.dirichlet(1.0 * p, 300))
    records = rng.multinomial(50, p, size=100)
    t = np.mean([mix_log_score(true, y, rng, n_boot=2).value for y in records])
    s = np.mean([mix_log_score(smeared, y, rng, n_boot=2).value for y in records])
    assert t > s + 0.05


# ---------------------------------------------------------------------------- differences


def test_paired_difference_uses_common_random_numbers() -> None:
    # runs of A and B share their noise (common random numbers): B = A + 1 event every year
    rng = np.random.default_rng(12)
    a = rng.negative_binomial(3, 3 / 9, size=(200, 8))
    b = a + 1
    obs = rng.negative_binomial(3, 3 / 9, size=8)
    paired = score_difference("count", a, b, obs, np.random.default_rng(13), paired=True)
    indep = score_difference("count", a, b, obs, np.random.default_rng(13), paired=False)
    direct = count_log_score(a, obs, rng).value - count_log_score(b, obs, rng).value
    assert paired.value == pytest.approx(direct) and indep.value == pytest.approx(direct)
    assert paired.se < 0.5 * indep.se
    assert paired.per_unit.shape == (8,)


def test_difference_of_mix_scores() -> None:
    rng = np.random.default_rng(14)
    a = _dm_runs(rng, np.array([4.0, 2.0, 1.0]), 150)
    b = _dm_runs(rng, np.array([1.0, 2.0, 4.0]), 100)
    obs = np.array([9, 4, 2])
    d = score_difference("mix", a, b, obs, rng, paired=False)
    assert d.value == pytest.approx(
        mix_log_score(a, obs, rng).value - mix_log_score(b, obs, rng).value
    )
    assert d.value > 3 * d.se > 0
    with pytest.raises(ValueError, match="equal run counts"):
        score_difference("mix", a, b, obs, rng, paired=True)


def test_score_to_dict_round_trip() -> None:
    s = Score(1.5, 0.1, np.array([1.0, np.nan]), 10, unit="year", n_units=2)
    assert s.to_dict() == {
        "value": 1.5,
        "se": 0.1,
        "per_unit": [1.0, None],
        "n_runs": 10,
        "empty": False,
        "unit": "year",
        "n_units": 2,
    }


def test_single_run_has_no_standard_error_and_no_events_gives_uniform_mix() -> None:
    rng = np.random.default_rng(15)
    assert np.isnan(count_log_score(np.array([[5, 1]]), np.array([4, 1]), rng).se)
    assert np.isnan(mix_log_score(np.array([[5, 1]]), np.array([4, 1]), rng).se)
    silent = mix_log_score(np.zeros((10, 3), int), np.array([2, 1, 0]), rng)
    assert silent.value == pytest.approx(np.log(1 / 3), abs=1e-6)
