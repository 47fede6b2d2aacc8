"""Scenario files: shipped ones run end to end; bad ones fail with file, field and exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.experiment.job import run_scenario
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))
OUTPUTS = [
    "events.parquet",
    "events.csv",
    "yearly.csv",
    "summary.csv",
    "fit.csv",
    "report.md",
    "manifest.json",
    "figures/deals_per_year.png",
    "figures/mode_mix.png",
    "figures/region_mix.png",
    "figures/top_countries.png",
]


def test_the_required_scenarios_ship():
    names = {p.stem for p in SHIPPED}
    assert {
        "baseline",
        "all_policies",
        "capital_squeeze_2016",
        "india_barriers_2016",
        "mature_first",
    } <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_scenario_runs(path, tmp_path):
    result = run_scenario(path, out_dir=tmp_path / "out", replications=4)
    for name in OUTPUTS:
        assert (result.out_dir / name).is_file(), name
    scenario = load_scenario(path)
    events = pd.read_parquet(result.out_dir / "events.parquet")
    labels = {str(x).split("#")[0] for x in events["strategy"].unique()}
    assert labels == {s.label for s in scenario.strategies}
    assert events["replication"].nunique() == 4
    manifest = json.loads((result.out_dir / "manifest.json").read_text())
    assert manifest["replications"] == 4 and manifest["seed"] == scenario.seed
    assert "mesa" in manifest["versions"]


def test_baseline_outputs_are_consistent(tmp_path):
    result = run_scenario(
        ROOT / "scenarios" / "baseline.yaml", out_dir=tmp_path / "b", replications=30
    )
    out = result.out_dir
    events = pd.read_csv(out / "events.csv")
    yearly = pd.read_csv(out / "yearly.csv")
    fit = pd.read_csv(out / "fit.csv")
    summary = pd.read_csv(out / "summary.csv").set_index("strategy")
    # yearly means are the events table's per-year counts of the compared modes (by default the
    # deal modes: greenfield and exit events are in the table but not compared) averaged over runs
    compared = events["record_mode"].isin(["control", "minority", "cooperation", "other"])
    assert not compared.all()  # the runs did build greenfield operations or exit markets
    dt = events[(events["strategy"] == "dual_track") & compared]
    counts = dt.groupby(["replication", "year"]).size().unstack(fill_value=0)
    counts = counts.reindex(index=range(30), columns=range(2010, 2022), fill_value=0)
    mean = yearly[yearly["strategy"] == "dual_track"].set_index("year")["mean"]
    pd.testing.assert_series_equal(
        counts.mean(axis=0), mean, check_names=False, check_index_type=False
    )
    record = yearly[yearly["strategy"] == "record"].set_index("year")["median"]
    assert record.loc[2015] == 31 and record.sum() == 154
    assert summary.loc["record", "events_median"] == 154
    assert set(fit["kind"]) == {"fit", "pattern"}
    assert (fit[fit["kind"] == "pattern"].groupby("strategy").size() == 6).all()
    report = (out / "report.md").read_text()
    for label in ("dual_track", "diversification", "random"):
        assert f"**{label}** produces a median" in report


def test_same_seed_gives_identical_events_file_and_other_seed_differs(tmp_path):
    path = ROOT / "scenarios" / "baseline.yaml"
    a = run_scenario(path, out_dir=tmp_path / "a", replications=5)
    b = run_scenario(path, out_dir=tmp_path / "b", replications=5)
    c = run_scenario(path, out_dir=tmp_path / "c", replications=5, seed=99)
    text = (a.out_dir / "events.csv").read_bytes()
    assert text == (b.out_dir / "events.csv").read_bytes()
    assert text != (c.out_dir / "events.csv").read_bytes()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


BASE = "name: t\nreplications: 2\nstrategies:\n  - {label: a, policy: dual_track}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BASE + "seeed: 4\n", "field 'seeed': unknown key (check its spelling)"),
        (
            "name: t\nstrategies:\n  - {label: a, policy: dual_trak}\n",
            "field 'strategies[0]': unknown policy 'dual_trak'; known: diversification, "
            "dual_track, gravity, kojima, oli_logit, random, random_location, springboard, "
            "uppsala",
        ),
        (
            "name: t\nstrategies:\n  - {label: a, policy: kojima, params: {ceiling_rate: 0.9}}\n",
            "field 'strategies[0].ceiling_rate': Input should be less than or equal to 0.2",
        ),
        (
            "name: t\nstrategies:\n  - {label: a, policy: kojima, params: {speed: 1}}\n",
            "field 'strategies[0].speed': unknown key (check its spelling)",
        ),
        (BASE + "replications: 0\n", None),
        (
            BASE.replace("replications: 2", "replications: -3"),
            "field 'replications': Input should be greater than or equal to 1",
        ),
        (
            BASE + "firm: {block_slope: 2}\n",
            "field 'firm.block_slope': Input should be less than or equal to 1",
        ),
        (
            BASE + "shocks:\n  - {type: exclude, market: IND, from_yr: 2016}\n",
            "field 'shocks[0].from_yr': unknown key (check its spelling)",
        ),
        (BASE + "shocks:\n  - {type: earthquake, market: IND}\n", None),
        (
            BASE + "years: [2009, 2021]\n",
            "field 'years': 2009-2021 is outside the years 2010-2025 that the record of alibaba",
        ),
        (BASE + "years: [1800, 2021]\n", "field 'years': 1800-2021 is outside the years"),
        ("name: t\nstrategies: [\n", "line"),
        ("- just\n- a list\n", "a scenario must be a mapping of keys to values"),
    ],
)
def test_bad_scenario_exits_2_naming_file_and_field(tmp_path, capsys, text, message):
    path = write(tmp_path, text)
    out = tmp_path / "results"
    code = main(["run", str(path), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"sim: error: {path}: ")
    assert "Traceback" not in err
    if message:
        assert message in err
    assert not out.exists()


def test_unknown_market_in_shock_names_the_field(tmp_path, capsys):
    path = write(tmp_path, BASE + "shocks:\n  - {type: exclude, market: ATL, from_year: 2016}\n")
    assert main(["run", str(path), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err == (
        f"sim: error: {path}: field 'shocks[0].market': unknown market 'ATL' "
        "(not a market of the firm)\n"
    )


def test_missing_scenario_file(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2
    assert (
        capsys.readouterr().err
        == f"sim: error: {tmp_path / 'nope.yaml'}: scenario file not found\n"
    )


def test_bad_data_path_in_scenario_is_reported(tmp_path, capsys):
    path = write(tmp_path, BASE + "data: {events: missing.csv}\n")
    assert main(["run", str(path), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err == f"sim: error: {tmp_path / 'missing.csv'}: file not found\n"


def test_unwritable_output_leaves_nothing(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(
        [
            "run",
            str(ROOT / "scenarios" / "baseline.yaml"),
            "--replications",
            "2",
            "--out",
            str(blocker / "out"),
        ]
    )
    assert code == 2
    assert "cannot create output directory" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_failed_run_keeps_previous_results(tmp_path, monkeypatch):
    out = tmp_path / "res"
    run_scenario(ROOT / "scenarios" / "baseline.yaml", out_dir=out, replications=2)
    before = (out / "events.csv").read_bytes()

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("sim.experiment.job.build_report", boom)
    with pytest.raises(RuntimeError):
        run_scenario(ROOT / "scenarios" / "baseline.yaml", out_dir=out, replications=3)
    assert (out / "events.csv").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [
        ".sim-cache",  # the chunks of the failed run, kept for resuming it
        ".sim-result.json",
    ]


def test_cli_run_prints_comparison_table(tmp_path, capsys):
    code = main(
        [
            "run",
            str(ROOT / "scenarios" / "baseline.yaml"),
            "--replications",
            "3",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0].split()[:2] == ["strategy", "events"]
    assert "record" in out and "report.md" in out


def test_schema_and_policies_commands(tmp_path, capsys):
    assert main(["scenario", "schema", "--out", str(tmp_path / "schema.json")]) == 0
    schema = json.loads((tmp_path / "schema.json").read_text())
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["name", "strategies"]  # the firm profile fills the rest
    assert "required" not in schema["$defs"]["History"]
    assert main(["policies"]) == 0
    text = capsys.readouterr().out
    assert "dual_track:" in text and "mature_control = -3.0 [-8.0, 3.0]" in text
    assert main(["scenario", "check", str(ROOT / "scenarios" / "baseline.yaml")]) == 0


def test_figures_leave_the_oracle_out():
    from sim.experiment.job import _figure_groups

    fit = pd.DataFrame(
        {"strategy": ["dual_track", "random", "gravity"], "count_score": [-4.0, -1.0, -5.0]}
    )
    assert _figure_groups(fit, {"random"}) == ["dual_track", "gravity"]


def test_runs_score_counts_in_and_out_of_sample(tmp_path):
    """The per-year count score of all years is the year-weighted mean of the two windows'."""
    from sim.experiment.job import run_scenario, terminal_table

    result = run_scenario(
        ROOT / "scenarios" / "fitted.yaml", out_dir=tmp_path / "o", replications=20
    )
    fit = result.fit.set_index("strategy")
    mixed = (8 * fit["count_score_calibration"] + 4 * fit["count_score_validation"]) / 12
    np.testing.assert_allclose(fit["count_score"], mixed, rtol=1e-9)
    assert (fit["count_score_validation_se"] > 0).drop("random").all()
    header = terminal_table(result).splitlines()[0]
    assert "counts in-sample" in header and "counts out-of-sample" in header
    short = tmp_path / "short.yaml"
    short.write_text(
        "name: short\nyears: [2010, 2016]\nreplications: 5\nstrategies:\n"
        "  - {label: g, policy: gravity}\n"
    )
    only = run_scenario(short, out_dir=tmp_path / "s")
    assert "count_score_validation" not in only.fit
    assert "count score" in terminal_table(only).splitlines()[0]
