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


def test_data_check_passes_on_shipped_data(capsys):
    assert main(["data", "check"]) == 0
    out = capsys.readouterr().out
    assert "events: 220 events" in out and "— ok" in out


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
    assert comparison.loc["total_events", "record"] == (deals["year"] <= 2021).sum() == 147
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
