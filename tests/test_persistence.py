"""Persistence baseline: fitted on the calibration window only, sampled in the scorers' shapes."""

from __future__ import annotations

import numpy as np
import pytest

from sim.analysis.persistence import CATEGORY_PSEUDOCOUNT, PersistenceForecast, _counts, nb_mle
from sim.analysis.scores import count_log_score, mix_log_score

CALIB = (2010, 2017)
VALID = np.arange(2018, 2022)


def _record(rng: np.random.Generator) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    years = np.repeat(np.arange(2010, 2022), rng.poisson(9, 12))
    n = years.size
    cats = {
        "region": rng.choice(np.array(["Asia", "Europe", "Americas", None], dtype=object), n),
        "mode": rng.choice(np.array(["equity", "control", "greenfield"], dtype=object), n),
        "country": rng.choice(np.array(["US", "IN", "SG", "DE", ""], dtype=object), n),
    }
    return years, cats


def test_nb_mle_recovers_parameters_and_falls_back_to_poisson() -> None:
    rng = np.random.default_rng(30)
    mean, size = nb_mle(rng.negative_binomial(3.0, 3.0 / 11.0, size=4000))
    assert mean == pytest.approx(8.0, rel=0.05) and size == pytest.approx(3.0, rel=0.15)
    mean, size = nb_mle(np.array([4, 5, 4, 5, 4]))  # under-dispersed
    assert mean == pytest.approx(4.4) and size >= 1e6


def test_fit_uses_calibration_counts_and_pseudocounts() -> None:
    years = np.array([2010, 2010, 2012, 2013, 2019])
    modes = np.array(["equity", "control", "equity", None, "greenfield"], dtype=object)
    f = PersistenceForecast.fit(years, {"mode": modes}, (2010, 2013))
    assert f.mean == pytest.approx(4 / 4)  # 2011 counts as a zero year
    assert f.categories["mode"] == ("control", "equity")  # greenfield only appears in 2019
    assert f.alpha["mode"] == pytest.approx(np.array([1, 2]) + CATEGORY_PSEUDOCOUNT)
    full = PersistenceForecast.fit(
        years,
        {"mode": modes},
        (2010, 2013),
        categories={"mode": ["control", "equity", "greenfield"]},
    )
    assert full.alpha["mode"] == pytest.approx(np.array([1, 2, 0]) + CATEGORY_PSEUDOCOUNT)


def test_forecast_cannot_see_the_validation_years() -> None:
    rng = np.random.default_rng(31)
    years, cats = _record(rng)
    known = {name: sorted({str(v) for v in c if v not in (None, "")}) for name, c in cats.items()}
    base = PersistenceForecast.fit(years, cats, CALIB, categories=known)
    # rewrite every 2018-2021 event: more of them, all in one category per mix
    keep = years <= CALIB[1]
    extra = 40
    years2 = np.concatenate([years[keep], np.repeat(VALID, extra // 4 + 5)])
    n_new = years2.size - keep.sum()
    cats2 = {
        name: np.concatenate([c[keep], np.full(n_new, known[name][0], dtype=object)])
        for name, c in cats.items()
    }
    other = PersistenceForecast.fit(years2, cats2, CALIB, categories=known)
    assert other.mean == base.mean and other.size == base.size
    for name in cats:
        assert other.categories[name] == base.categories[name]
        np.testing.assert_array_equal(other.alpha[name], base.alpha[name])
    c1, m1 = base.sample(VALID, 100, np.random.default_rng(5))
    c2, m2 = other.sample(VALID, 100, np.random.default_rng(5))
    np.testing.assert_array_equal(c1, c2)
    for name in cats:
        np.testing.assert_array_equal(m1[name], m2[name])


def test_samples_have_scorer_shapes_and_can_be_scored() -> None:
    rng = np.random.default_rng(32)
    years, cats = _record(rng)
    f = PersistenceForecast.fit(years, cats, CALIB)
    counts, mixes = f.sample(VALID, 300, rng)
    assert counts.shape == (300, 4)
    for name, m in mixes.items():
        assert m.shape == (300, len(f.categories[name]))
        np.testing.assert_array_equal(m.sum(axis=1), counts.sum(axis=1))
    assert counts.mean() == pytest.approx(f.mean, rel=0.1)
    valid = years >= 2018
    observed = np.bincount(years[valid] - 2018, minlength=4)
    assert np.isfinite(count_log_score(counts, observed, rng).value)
    obs_mode = _counts(cats["mode"][valid], f.categories["mode"], "mode")
    assert obs_mode.sum() == valid.sum()
    assert np.isfinite(mix_log_score(mixes["mode"], obs_mode, rng).value)


def test_bad_input_is_refused_with_a_clear_message() -> None:
    years = np.array([2010, 2011])
    with pytest.raises(ValueError, match="before first year"):
        PersistenceForecast.fit(years, {}, (2012, 2010))
    with pytest.raises(ValueError, match=r"record_categories\['mode'\] has shape"):
        PersistenceForecast.fit(years, {"mode": np.array(["a"])}, (2010, 2011))
    with pytest.raises(ValueError, match="no labelled event"):
        PersistenceForecast.fit(years, {"mode": np.array([None, None])}, (2010, 2011))
    f = PersistenceForecast.fit(years, {"mode": np.array(["a", "b"])}, (2010, 2011))
    with pytest.raises(ValueError, match=r"labels not in the categories: \['c'\]"):
        _counts(np.array(["a", "c"]), f.categories["mode"], "mode")
