"""Simulation-based inference: priors, the bank, estimators checked where the truth is known."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.inference import bank as bank_module
from sim.inference.bank import CHUNK, Bank, build_bank, joint
from sim.inference.job import models_of, window_world
from sim.inference.models import (
    abc_votes,
    calibration_table,
    choose_keep,
    ensemble_probabilities,
    fit_classifier,
    mmd_test,
    probabilities,
)
from sim.inference.parameters import LEVELS, posterior
from sim.policies.base import get_policy, policy_names
from sim.priors import PRIOR_CHOICES, Prior, choose
from sim.scenario import Firm, load_scenario

ROOT = Path(__file__).parents[1]
EVENTS = ROOT / "sim" / "data" / "firms" / "alibaba" / "events.csv"
SMALL = (
    "name: small\nseed: 3\nstrategies:\n"
    "  - {label: gravity, policy: gravity}\n  - {label: kojima, policy: kojima}\n"
)


@pytest.mark.parametrize("choice", PRIOR_CHOICES)
def test_every_free_parameter_has_a_prior_inside_its_bounds(choice):
    for name in policy_names():
        params = get_policy(name).Params
        priors = choose(params, choice)  # raises on a prior outside its bounds
        assert len(priors) <= 6, name  # a theory adds only its defining mechanism
        bounds = params.bounds()
        for field, p in priors.items():
            lo, hi = bounds[field]
            assert lo <= p.low < p.high <= hi and p.why, (name, field)
    count_block = choose(Firm, choice)
    assert list(count_block) == [
        "hurdle",
        "resource_elasticity",
        "load_penalty",
        "home_policy_effect",
        "climate_noise",
    ]


def test_the_bank_is_seeded_by_chunk_so_an_extended_bank_equals_a_larger_one(tmp_path):
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    data = scenario.load_data(ROOT / "scenarios" / "baseline.yaml")
    world = window_world(scenario, data, "baseline")
    models = [joint(["b"], [m]) for m in models_of(scenario, "declared")[-2:]]  # gravity, no theory
    small, frames = build_bank(models, [world], CHUNK, 5, "key")
    from sim.inference.bank import store

    for label, frame in frames.items():
        store(frame, tmp_path, label, "key")
    calls = []
    extended, _ = build_bank(models, [world], 2 * CHUNK, 5, "key", [tmp_path], calls.append)
    assert calls == [CHUNK] * len(models)  # only the new chunk of each model is simulated
    direct, _ = build_bank(models, [world], 2 * CHUNK, 5, "key")
    np.testing.assert_array_equal(extended.x, direct.x)
    for label in direct.models:
        pd.testing.assert_frame_equal(extended.params[label], direct.params[label])
    np.testing.assert_array_equal(small.x, direct.x[np.r_[0:CHUNK, 2 * CHUNK : 3 * CHUNK]])
    build_bank(models, [world], CHUNK, 5, "other key", [tmp_path], calls.append)
    assert len(calls) == 2 * len(models)  # a bank made by something else is not reused


def test_an_interrupted_bank_resumes_from_the_draws_it_spilled(tmp_path, monkeypatch):
    """Draws are written every SPILL_CHUNKS chunks and when a model is done; a rerun reuses them."""
    monkeypatch.setattr(bank_module, "SPILL_CHUNKS", 2)
    scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    world = window_world(scenario, scenario.load_data(ROOT / "scenarios" / "baseline.yaml"), "b")
    models = [joint(["b"], [m]) for m in models_of(scenario, "declared")[-2:]]

    seen: list[int] = []

    def interrupt(draws: int) -> None:
        seen.append(draws)
        if len(seen) == 5:  # the first model's 3 chunks and 2 of the second's
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_bank(models, [world], 3 * CHUNK, 5, "key", [tmp_path], interrupt, tmp_path)
    calls: list[int] = []
    resumed, _ = build_bank(
        models, [world], 3 * CHUNK, 5, "key", [tmp_path], calls.append, tmp_path
    )
    assert calls == [CHUNK]  # only the chunk lost to the interruption is simulated again
    direct, _ = build_bank(models, [world], 3 * CHUNK, 5, "key")
    np.testing.assert_array_equal(resumed.x, direct.x)


def test_posterior_coverage_on_a_problem_with_a_known_posterior():
    """theta ~ U(0, 1), summary x ~ N(theta, 0.1) plus two noise summaries."""
    rng = np.random.default_rng(0)
    n = 20_000
    theta = rng.uniform(0, 1, (n, 1))
    x = np.column_stack([theta[:, 0] + rng.normal(0, 0.1, n), rng.normal(0, 1, (n, 2))])
    prior = [Prior(0.0, 1.0, "toy")]
    inside = {lvl: 0 for lvl in LEVELS}
    trials = 300
    for i in range(trials):
        true = rng.uniform(0, 1)
        obs = np.array([true + rng.normal(0, 0.1), *rng.normal(0, 1, 2)])
        post = posterior(theta, x, obs, 400, prior)[:, 0]
        for lvl in LEVELS:
            lo, hi = np.quantile(post, [(1 - lvl) / 2, (1 + lvl) / 2])
            inside[lvl] += lo <= true <= hi
        if i == 0:  # the posterior sd is about the noise sd (truncation makes it a bit less)
            assert 0.05 < post.std() < 0.13
    for lvl in LEVELS:  # within 5 points or conservative, and not vacuously wide
        assert lvl - 0.05 <= inside[lvl] / trials <= lvl + 0.1, (lvl, inside[lvl] / trials)


def test_sbc_ranks_are_unbiased_and_not_overconfident_on_a_known_posterior():
    """The toy above through calibration_check: the true value's rank is centred, and the
    outer fifths hold no more than their share (a U would be an over-confident posterior; the
    regression-adjusted ABC posterior is conservative here, a hump, as its coverage is)."""
    from sim.inference.parameters import calibration_check

    rng = np.random.default_rng(2)
    n = 20_000
    theta = rng.uniform(0, 1, (n, 1))
    x = np.column_stack([theta[:, 0] + rng.normal(0, 0.1, n), rng.normal(0, 1, (n, 2))])
    held = rng.choice(n, 400, replace=False)
    _, contraction, ranks = calibration_check(theta, x, held, 400, {"t": Prior(0, 1, "toy")})
    r = ranks["rank"].to_numpy()
    assert len(r) == 400 and set(ranks["parameter"]) == {"t"}
    assert abs(r.mean() - 0.5) < 3.3 * np.sqrt(1 / 12 / 400), r.mean()  # unbiased
    outer = ((r < 0.2) | (r >= 0.8)).mean()
    assert outer < 0.4 + 3.3 * np.sqrt(0.4 * 0.6 / 400), outer  # not over-confident
    assert contraction["identified"].all()


def test_two_model_toy_probability_of_the_truth_grows_with_the_record():
    """Poisson counts with rate 3 or 4 per year: longer records decide more surely."""
    rng = np.random.default_rng(1)

    def sims(rate: float, years: int, n: int) -> np.ndarray:
        counts = rng.poisson(rate, (n, years))
        return np.column_stack([counts.mean(axis=1), counts.var(axis=1)])

    mean_truth = []
    for years in (3, 12, 48):
        x = np.vstack([sims(3, years, 3000), sims(4, years, 3000)])
        y = np.repeat([0, 1], 3000)
        clf = fit_classifier(x, y, 0, 1_000)
        held = sims(4, years, 1000)
        p = probabilities(clf, held, 2)
        mean_truth.append(p[:, 1].mean())
        if years == 12:
            both = np.vstack([sims(3, years, 1000), held])
            table = calibration_table(
                probabilities(clf, both, 2), np.repeat([0, 1], 1000), ["a", "b"]
            )
            assert (table["ece"] <= 0.05).all(), table
    assert mean_truth[0] < mean_truth[1] < mean_truth[2] and mean_truth[2] > 0.9


def test_independently_trained_estimators_differ_but_agree():
    """Own seeds and own draws: estimators are not copies, yet the forest keeps them close."""
    rng = np.random.default_rng(6)
    x = np.vstack([rng.normal(mu, 1.0, (3000, 4)) for mu in (0.0, 0.5, 1.0)])
    bank = Bank(["a", "b", "c"], list("wxyz"), x, np.repeat([0, 1, 2], 3000), {})
    records = np.array([[0.5, 0.5, 0.5, 0.5], [2.5, 2.5, 2.5, 2.5]])  # inside, at the edge
    runs = ensemble_probabilities(bank, np.arange(9000), records, 5, 1500, 200, 2)  # few trees
    assert runs.shape == (5, 2, 3)
    np.testing.assert_allclose(runs.sum(axis=2), 1.0)
    sd = runs.std(axis=0, ddof=1)
    assert (sd.max(axis=1) > 0).all() and sd.max() <= 0.05, sd
    assert runs[:, 1, 2].mean() > 0.8  # the edge record is far on c's side


def test_the_cross_validated_abc_tolerance_tracks_a_known_posterior():
    """Two unit Gaussians a unit apart in two summaries: P(b | x) = 1 / (1 + exp(1 - x1 - x2))."""
    rng = np.random.default_rng(8)
    n, tune = 20_000, 200
    x = np.vstack([rng.normal(m, 1.0, (k, 2)) for k in (n, tune) for m in (0.0, 1.0)])
    labels = np.concatenate([np.repeat([0, 1], k) for k in (n, tune)])
    bank = Bank(["a", "b"], ["u", "v"], x, labels, {})
    keep = choose_keep(bank, np.arange(2 * n), np.arange(2 * n, 2 * (n + tune)))
    records = rng.normal(0.5, 1.2, (300, 2))
    truth = 1 / (1 + np.exp(1 - records.sum(axis=1)))
    votes = abc_votes(bank, np.arange(2 * n), records, [keep, 5_000])
    error = {k: np.abs(v[:, 1] - truth).mean() for k, v in votes.items()}
    np.testing.assert_allclose(votes[keep].sum(axis=1), 1.0)
    assert 20 < keep < 5_000 and error[keep] <= 0.04 and error[keep] < error[5_000], (keep, error)


def test_the_mmd_quantile_is_uniform_for_the_models_own_records_and_near_one_when_shifted():
    """Skewed, correlated toy draws: the simulated null calibrates the test without a formula."""
    rng = np.random.default_rng(4)

    def draws(n: int) -> np.ndarray:
        z = rng.gamma(2.0, 1.0, (n, 6))
        return np.column_stack([z, z[:, :3] + rng.normal(0, 0.3, (n, 3))])

    own, records = draws(6000), draws(400)
    table = mmd_test(own, records, np.random.default_rng(5))
    counts = np.histogram(table["mmd_quantile"], bins=4, range=(0, 1))[0]
    assert (abs(counts - 100) <= 30).all(), counts  # uniform: 100 per quarter, sd 8.7
    assert table["mmd_p_value"].between(0, 1).all()
    shifted = mmd_test(own, records[:20] + 5.0, np.random.default_rng(5))
    assert (shifted["mmd_quantile"] >= 0.99).all(), shifted
    assert (shifted["mmd_p_value"] <= 0.011).all()


def _quick(tmp_path: Path, scenario: Path, out: str, capsys) -> pd.DataFrame:
    code = main(
        ["infer", str(scenario), "--quick", "--prior", "declared", "--out", str(tmp_path / out)]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    return pd.read_csv(tmp_path / out / "model_probabilities.csv")


def test_quick_inference_writes_every_table_and_never_reads_the_validation_years(tmp_path, capsys):
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    first = _quick(tmp_path, scenario, "a", capsys)
    assert list(first["model"]) == ["gravity", "kojima", "no_theory"]
    assert first["probability"].sum() == pytest.approx(1.0)
    assert (first["sd"] >= 0).all() and first["abc_probability"].sum() == pytest.approx(1.0)
    out = tmp_path / "a"
    for name, columns in {
        "calibration.csv": {"model", "ece", "brier", "accuracy", "n_heldout"},
        "confusion.csv": {"true", "gravity", "kojima", "no_theory"},
        "coverage.csv": {"model", "parameter", "level", "coverage"},
        "contraction.csv": {"model", "parameter", "contraction", "identified"},
        "typicality.csv": {"model", "distance", "quantile", "mmd", "mmd_quantile", "mmd_p_value"},
        "posteriors.csv": {"model", "parameter", "median", "q05", "q95"},
        "sbc_ranks.csv": {"model", "parameter", "rank"},
        "predictive.csv": {"model", "table", "year", "q05", "q50", "q95", "record_count"},
    }.items():
        assert columns <= set(pd.read_csv(out / name).columns), name
    for figure in ("reliability", "confusion", "sbc", "predictive"):
        assert (out / "figures" / f"{figure}_declared.png").is_file(), figure
    fans = pd.read_csv(out / "predictive.csv")
    assert set(fans["table"]) == {"ex_ante", "conditional"}
    assert set(fans["model"]) == {"gravity", "kojima", "no_theory", "model_average"}
    assert (fans["q05"] <= fans["q50"]).all() and (fans["q50"] <= fans["q95"]).all()
    record = pd.read_csv(EVENTS).query("2010 <= year <= 2021").groupby("year").size()
    assert fans.groupby("year")["record_count"].first().sum() <= record.sum()
    assert "Posterior model probabilities" in (out / "report.md").read_text()

    # The validation years (2018 on) rewritten: nothing the inference says may change.
    events = pd.read_csv(EVENTS, dtype=str, keep_default_na=False)
    later = events["year"].astype(int) >= 2018
    events.loc[later, "country_iso3"] = "USA"
    events.loc[later, "region"] = "north_america"
    events.to_csv(tmp_path / "events.csv", index=False)
    shutil.copy(scenario, tmp_path / "rewritten.yaml")
    with (tmp_path / "rewritten.yaml").open("a") as f:
        f.write("data: {events: events.csv}\n")
    again = _quick(tmp_path, tmp_path / "rewritten.yaml", "b", capsys)
    pd.testing.assert_frame_equal(
        first.drop(columns="record"), again.drop(columns="record"), check_exact=True
    )


def test_infer_reports_bad_input_in_one_line(tmp_path, capsys):
    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    code = main(["infer", str(scenario), "--draws", "3"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        "sim: error: argument --draws: must be from 500 to 10000000 (got 3) "
        "(see sim infer --help)\n"
    )
    assert not (tmp_path / "results").exists()


def test_the_host_response_can_be_integrated_over(tmp_path):
    from sim.inference.job import run_inference

    scenario = tmp_path / "small.yaml"
    scenario.write_text(SMALL)
    out = run_inference(
        scenario, tmp_path / "host", quick=True, priors=("declared",), host_response=True
    )
    contraction = pd.read_csv(out / "contraction.csv")
    host = {"host_commitment", "host_deals", "host_sensitive"}
    by_model = contraction.groupby("model")["parameter"].agg(set)
    assert host <= by_model["gravity"] and host <= by_model["kojima"]
    assert not host & by_model["no_theory"]
    assert "screening response: integrated over its priors" in (out / "report.md").read_text()


def test_the_divestment_priors_join_only_when_the_record_compares_exits(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(SMALL)
    exits = set(choose(Firm, "declared", "exit_priors"))
    assert exits == {"exit_propensity", "exit_home_regime", "exit_growth", "exit_theory"}
    plain = models_of(load_scenario(path), "declared")
    assert all(not exits & set(m.priors) for m in plain)
    path.write_text(SMALL + "history:\n  modes: [control, minority, cooperation, other, exit]\n")
    gravity, kojima = models_of(load_scenario(path), "declared")[:2]
    assert exits - {"exit_theory"} <= set(gravity.priors) & set(kojima.priors)
    assert "exit_theory" not in set(gravity.priors) | set(kojima.priors)  # no retreat term
    path.write_text(path.read_text().replace("kojima, policy: kojima", "uppsala, policy: uppsala"))
    assert exits <= set(models_of(load_scenario(path), "declared")[1].priors)


SMALL_JD = SMALL.replace("name: small", "name: small_jd\nfirm: jd")


def _cases(tmp_path: Path, *texts: str):
    from sim.inference.job import load_case

    cases = []
    for i, text in enumerate(texts):
        path = tmp_path / f"s{i}.yaml"
        path.write_text(text)
        cases.append(load_case(load_scenario(path), path))
    return cases


def test_a_pooled_bank_shares_the_theory_and_keeps_each_firms_count_block(tmp_path):
    from sim.inference.job import joint_models

    ali, jd = _cases(tmp_path, SMALL, SMALL_JD)
    alone = joint_models([ali], "declared", False)[0]
    pooled = joint_models([ali, jd], "declared", False)[0]
    assert pooled.label == alone.label == "gravity"
    theory = set(choose(get_policy("gravity").Params, "declared"))
    block = set(alone.priors) - theory
    jd_block = set(pooled.parts[1].priors) - theory  # its window identifies platform regulation
    assert theory and block and "platform_regulation_effect" in jd_block - block
    expected = {f"small.{k}" for k in block} | {f"small_jd.{k}" for k in jd_block}
    assert set(pooled.priors) == theory | expected
    one, _ = build_bank([alone], [ali.world], CHUNK, 5, "key")
    both, _ = build_bank([pooled], [ali.world, jd.world], CHUNK, 5, "key")
    width = one.x.shape[1]
    assert both.names[:width] == [f"small.{n}" for n in one.names]
    assert both.names[width] == "small_jd.log_count_2015"
    # Pooling adds the other firm's block and runs; the first firm's draws are as they were.
    np.testing.assert_array_equal(both.x[:, :width], one.x)
    params = both.params["gravity"]
    for k in theory:
        np.testing.assert_array_equal(params[k], one.params["gravity"][k])
    for k in block:
        np.testing.assert_array_equal(params[f"small.{k}"], one.params["gravity"][k])
    assert not np.allclose(params["small.hurdle"], params["small_jd.hurdle"])
    # Each firm's forecasts read its own columns of the joint posterior, in its model's order.
    names = list(pooled.priors)
    own = [names[j] for j in pooled.columns(1)]
    assert own == [pooled.name("small_jd", k) for k in pooled.parts[1].priors]


def test_quick_pooled_inference_reports_both_firms(tmp_path, capsys):
    (tmp_path / "small.yaml").write_text(SMALL)
    (tmp_path / "jd.yaml").write_text(SMALL_JD)
    out = tmp_path / "pooled"
    argv = ["infer", str(tmp_path / "small.yaml"), "--pool", str(tmp_path / "jd.yaml")]
    code = main([*argv, "--quick", "--draws", "500", "--prior", "declared", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    probs = pd.read_csv(out / "model_probabilities.csv")
    assert set(probs["record"]) == {"small+small_jd"}
    assert probs["probability"].sum() == pytest.approx(1.0)
    forecasts = pd.read_csv(out / "forecast_scores.csv")
    assert set(forecasts["record"]) == {"small", "small_jd"}
    parameters = set(pd.read_csv(out / "contraction.csv")["parameter"])
    assert {"small.hurdle", "small_jd.hurdle"} <= parameters and "hurdle" not in parameters
    assert "Pooled: each theory's own parameters are shared" in (out / "report.md").read_text()


def test_a_pool_of_unlike_scenarios_is_refused_in_one_line(tmp_path, capsys):
    (tmp_path / "small.yaml").write_text(SMALL)
    (tmp_path / "other.yaml").write_text(SMALL_JD.replace("kojima", "uppsala"))
    argv = ["infer", str(tmp_path / "small.yaml"), "--quick", "--out", str(tmp_path / "o")]
    assert main([*argv, "--pool", str(tmp_path / "other.yaml")]) == 2
    assert capsys.readouterr().err == (
        f"sim: error: {tmp_path / 'other.yaml'}: field 'strategies': a pooled study needs the same "
        f"strategies as {tmp_path / 'small.yaml'} (gravity, kojima), in the same order\n"
    )
    assert main([*argv, "--pool", str(tmp_path / "small.yaml")]) == 2
    assert capsys.readouterr().err == (
        f"sim: error: {tmp_path / 'small.yaml'}: field 'name': 'small' is pooled twice "
        "(each firm's scenario needs its own name)\n"
    )
    assert not (tmp_path / "o").exists()
