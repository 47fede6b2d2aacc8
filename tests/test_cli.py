"""The command line on real data and on bad input: exit codes, messages, files written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from tests.conftest import edit_csv

ROOT = Path(__file__).resolve().parents[1]


def test_data_check_passes_on_shipped_data(capsys):
    assert main(["data", "check"]) == 0
    out = capsys.readouterr().out
    assert "events: 230 events" in out and "— ok" in out


def test_data_check_reports_broken_file_with_exit_2(data_copy, capsys):
    edit_csv(data_copy["events"], 0, "mode", "merger")
    code = main(["data", "check", "--events", str(data_copy["events"])])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        f"sim: error: {data_copy['events']}: line 2, field 'mode': 'merger' is not one of: "
        "control, cooperation, exit, greenfield, minority, other\n"
    )


def test_console_script_has_no_traceback(data_copy):
    edit_csv(data_copy["countries"], 0, "capital_lon", "200")
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "data", "check", "--countries", str(data_copy["countries"])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().endswith("line 2, field 'capital_lon': 200 is above the maximum 180")


def test_summary_writes_tables_and_figures(tmp_path, capsys):
    out = tmp_path / "record"
    assert main(["data", "summary", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Record 2010-2021 vs the published numbers" in printed
    yearly = pd.read_csv(out / "record_yearly.csv", index_col=0)
    events = pd.read_csv(
        Path(__file__).parents[1] / "sim" / "data" / "firms" / "alibaba" / "events.csv"
    )
    assert yearly["total"].sum() == len(events)
    assert list(yearly.index) == list(range(2010, 2026))  # the record runs to 2025
    comparison = pd.read_csv(out / "record_vs_published.csv").set_index("metric")
    # Published counts are of deals: greenfield operations and exits are in the yearly table only.
    deals = events[events["mode"].isin(["control", "minority", "cooperation", "other"])]
    assert len(deals) < len(events)
    # the published claims speak of the paper's 2010-2021: later deals are not compared
    assert comparison.loc["total_events", "record"] == (deals["year"] <= 2021).sum() == 154
    assert comparison.loc["total_events", "published"] == 85
    for name in ("record_events_per_year.png", "record_events_by_country.png"):
        data = (out / "figures" / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    assert not list(out.rglob("*.tmp"))


def test_summary_scope_group_excludes_ant(tmp_path):
    out = tmp_path / "group"
    assert main(["data", "summary", "--out", str(out), "--scope", "group"]) == 0
    events = pd.read_csv(
        Path(__file__).parents[1] / "sim" / "data" / "firms" / "alibaba" / "events.csv"
    )
    deals = events["mode"].isin(["control", "minority", "cooperation", "other"])
    studied = events["year"] <= 2021  # the claims speak of the paper's 2010-2021
    expected = int(((events["entity"] != "Ant Financial") & deals & studied).sum())
    comparison = pd.read_csv(out / "record_vs_published.csv").set_index("metric")
    assert comparison.loc["total_events", "record"] == expected


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_output_is_a_clean_error(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    code = main(["data", "summary", "--out", str(locked / "sub")])
    assert code == 2
    assert "cannot create output directory" in capsys.readouterr().err


def test_output_path_that_is_a_file_is_a_clean_error(tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    code = main(["data", "summary", "--out", str(blocker / "sub")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sim: error: {blocker / 'sub'}: cannot create output directory")


def test_data_check_reports_the_home_regime_file(capsys):
    assert main(["data", "check"]) == 0
    assert "home policy events (CHN): 23 events — ok" in capsys.readouterr().out


def test_project_futures_below_the_files_minimum_is_refused(tmp_path, capsys):
    """Issue 22: --futures 1 ran although a scenario file needs at least 2 futures."""
    out = tmp_path / "o"
    argv = ["project", str(ROOT / "scenarios" / "project_2030.yaml"), "--out", str(out)]
    assert main([*argv, "--futures", "1"]) == 2
    assert capsys.readouterr().err == (
        "sim: error: argument --futures: must be from 2 to 100000 (got 1) "
        "(see sim project --help)\n"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("command", "flag", "model", "field"),
    [
        ("run", "--replications", "Scenario", "replications"),
        ("run", "--seed", "Scenario", "seed"),
        ("recover", "--trials", "Calibration", "trials"),
        ("recover", "--replications", "Calibration", "replications"),
        ("project", "--futures", "Projection", "futures"),
        ("project", "--replications", "Projection", "replications"),
    ],
)
def test_a_flag_that_overrides_a_field_takes_the_fields_bounds(capsys, command, flag, model, field):
    from sim.bounds import field_bounds
    from sim.cli import build_parser
    from sim.projection_spec import Projection
    from sim.scenario import Calibration, Scenario

    models = {"Scenario": Scenario, "Calibration": Calibration, "Projection": Projection}
    low, high = field_bounds(models[model], field)
    parser = build_parser()
    for value in (low, high):
        args = parser.parse_args([command, "s.yaml", flag, str(value)])
        assert getattr(args, flag[2:]) == value
    for value in (low - 1, high + 1):
        assert main([command, "s.yaml", flag, str(value)]) == 2
        assert capsys.readouterr().err == (
            f"sim: error: argument {flag}: must be from {low} to {high} (got {value}) "
            f"(see sim {command} --help)\n"
        )


@pytest.mark.parametrize("changed", [False, True])
def test_recover_help_shows_the_budget_defaults_as_declared(monkeypatch, capsys, changed):
    """The defaults in `sim recover --help` are RecoverBudget's, and follow a change to it."""
    from sim.scenario import RecoverBudget

    fields = RecoverBudget.model_fields
    if changed:
        for offset, name in enumerate(("records", "trials", "replications"), start=1):
            monkeypatch.setattr(fields[name], "default", 1000 + offset)
    with pytest.raises(SystemExit):
        main(["recover", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for flag, what in (
        ("--records RECORDS", "synthetic records per generator"),
        ("--trials TRIALS", "optimiser trials per fit"),
        ("--replications REPLICATIONS", "runs per trial"),
    ):
        assert f"{flag} {what} (default {fields[flag.split()[1].lower()].default})" in text
    assert ("(default 1001)" in text) == changed


RECOVER = "name: rk\nreplications: 2\nstrategies:\n  - {label: k, policy: kojima}\n"
FITTED = "  - {label: k, policy: kojima, params: {softness: 2.5}, firm: {hurdle: 2.0}}\n"


@pytest.mark.parametrize(
    ("calibrated", "problem"),
    [
        (
            "name: other\nfirm: jd\nstrategies:\n" + FITTED,
            "calibrated for firm 'jd', but the scenario simulates 'alibaba'",
        ),
        (
            RECOVER,
            "strategy 'k' is at the scenario's own parameters, not calibrated ones "
            "(pass the calibrated.yaml that `sim calibrate` writes)",
        ),
        (
            "name: other\nstrategies:\n  - {label: k, policy: gravity, firm: {hurdle: 2.0}}\n",
            "has no strategy 'k' with policy 'kojima' to generate from",
        ),
    ],
)
def test_recover_refuses_a_calibrated_file_that_is_not_this_scenarios(
    tmp_path, capsys, calibrated, problem
):
    """Issue 22: another firm's or an uncalibrated file ran with exit 0, reported as calibrated."""
    scenario, fitted, out = tmp_path / "rk.yaml", tmp_path / "fitted.yaml", tmp_path / "rec"
    scenario.write_text(RECOVER)
    fitted.write_text(calibrated)
    argv = ["recover", str(scenario), "--quick", "--out", str(out), "--calibrated", str(fitted)]
    assert main(argv) == 2
    assert capsys.readouterr().err == f"sim: error: {fitted}: --calibrated: {problem}\n"
    assert not out.exists()


def test_recover_runs_from_a_calibration_of_the_scenario(tmp_path, capsys):
    scenario, fitted, out = tmp_path / "rk.yaml", tmp_path / "fitted.yaml", tmp_path / "rec"
    scenario.write_text(RECOVER)
    fitted.write_text("name: rk_calibrated\nstrategies:\n" + FITTED)
    argv = ["recover", str(scenario), "--quick", "--out", str(out), "--calibrated", str(fitted)]
    assert main(argv) == 0
    assert f"calibrated parameters from {fitted}" in (out / "report.md").read_text()
    capsys.readouterr()
