"""Issue 14, case by case: never lose a user's files, no traceback for bad input, never hang."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest

from sim.cli import main
from sim.data import DataPaths, load_dataset
from sim.io import MARKER
from sim.policies.base import Policy
from sim.scenario import parse_scenario
from sim.world import resource_series

ROOT = Path(__file__).parents[1]
TINY = "name: tiny\nreplications: 2\nstrategies:\n  - {label: k, policy: kojima}\n"


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def bad(capsys, *argv: str, contains: str = "") -> str:
    """Assert the exit-2 contract: one line on stderr, no traceback; return the line."""
    code, _, err = run_cli(capsys, *argv)
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("sim: error: "), err
    assert "Traceback" not in err
    assert contains in err, err
    return err


def tree(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


def run_tiny(capsys, scenario: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    return run_cli(capsys, "run", scenario, "--out", out, "--executor", "serial", "--quiet", *extra)


# --- 1. output folders ---------------------------------------------------------------------


def test_out_folder_with_user_files_is_refused_and_kept(tiny, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_text("years of work")
    bad(capsys, "run", tiny, "--out", out, "--quiet", contains="--overwrite")
    assert (out / "thesis.docx").read_text() == "years of work"
    assert tree(tmp_path) == {"tiny.yaml", "mine", "mine/thesis.docx"}


def test_overwrite_writes_beside_user_files_and_leaves_no_temporary_folders(tiny, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "old.txt").write_text("x")
    code, _, err = run_tiny(capsys, tiny, out, "--overwrite")
    assert code == 0, err
    assert (out / "old.txt").read_text() == "x"
    assert json.loads((out / MARKER).read_text())["written_by"] == "sim run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "tiny.yaml"]
    assert not [p for p in out.iterdir() if p.name.startswith(".sim-") and p.name != MARKER]


def test_previous_result_is_replaced_without_overwrite(tiny, tmp_path, capsys):
    out = tmp_path / "o"
    assert run_tiny(capsys, tiny, out)[0] == 0
    first = (out / "manifest.json").read_text()
    assert run_tiny(capsys, tiny, out, "--seed", "3")[0] == 0
    assert (out / "manifest.json").read_text() != first
    assert not [p for p in tmp_path.iterdir() if ".old-" in p.name or p.suffix == ".tmp"]


def test_result_of_an_older_sim_without_marker_is_replaced(tiny, tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / "report.md").write_text("old report")
    (out / "manifest.json").write_text("{}")
    assert run_tiny(capsys, tiny, out)[0] == 0
    assert (out / MARKER).is_file()


def test_out_that_is_a_file_is_refused_and_untouched(tiny, tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("keep")
    bad(capsys, "run", tiny, "--out", target, "--overwrite", contains="is not a folder")
    assert target.read_text() == "keep"
    assert tree(tmp_path) == {"tiny.yaml", "notes.txt"}


@pytest.mark.parametrize("out", [".", ".."])
def test_out_current_folder_or_parent_is_refused(tiny, tmp_path, capsys, monkeypatch, out):
    work = tmp_path / "w"
    work.mkdir()
    monkeypatch.chdir(work)
    bad(capsys, "run", tiny, "--out", out, "--overwrite", contains="current folder")
    assert tree(tmp_path) == {"tiny.yaml", "w"}


@pytest.mark.parametrize("name", [".", "..", "a/b", "../up", ".hidden"])
def test_scenario_name_must_be_one_folder_name(tmp_path, capsys, name):
    path = tmp_path / "s.yaml"
    path.write_text(TINY.replace("name: tiny", f"name: '{name}'"))
    bad(capsys, "scenario", "check", path, contains="field 'name'")


@pytest.mark.parametrize(
    "command",
    [["sensitivity", "--quick"], ["calibrate", "--quick"], ["data", "summary"]],
)
def test_every_folder_writing_command_refuses_foreign_folders(tiny, tmp_path, capsys, command):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "a.txt").write_text("x")
    if command[0] == "data":
        args = [*command, "--out", out]
    else:
        args = [command[0], tiny, *command[1:], "--out", out]
    bad(capsys, *args, contains="not a previous result of sim")
    assert tree(out) == {"a.txt"}


def test_data_summary_marks_its_folder(tmp_path, capsys):
    out = tmp_path / "rec"
    assert run_cli(capsys, "data", "summary", "--out", out)[0] == 0
    assert run_cli(capsys, "data", "summary", "--out", out)[0] == 0
    assert (out / MARKER).is_file()


# --- 2. tracebacks become one line ----------------------------------------------------------


@pytest.mark.parametrize("policy", ["os:getcwd", "pathlib:Path", ".x:Y", "tests.failing_policy:X"])
def test_scenario_naming_code_is_refused_with_both_routes(tmp_path, capsys, policy):
    path = tmp_path / "s.yaml"
    path.write_text(TINY.replace("policy: kojima", f"policy: '{policy}'"))
    err = bad(capsys, "scenario", "check", path, contains="field 'strategies[0]'")
    assert "sim.policies" in err and "--plugin" in err


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("os:getcwd", "is not a Policy class"),
        ("pathlib:Path", "is not a Policy class"),
        (".x:Y", "absolute import"),
        ("no_such_module_xyz:Y", "cannot import"),
        ("justaname", "package.module:Class"),
    ],
)
def test_bad_plugin_flag_is_one_line(tiny, capsys, spec, message):
    bad(capsys, "scenario", "check", tiny, "--plugin", spec, contains=message)


def test_plugin_flag_lets_a_scenario_name_the_policy(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(TINY.replace("policy: kojima", "policy: failing"))
    code, out, _ = run_cli(
        capsys, "scenario", "check", path, "--plugin", "tests.failing_policy:FailingPolicy"
    )
    assert code == 0 and "k (failing)" in out


class PlugPolicy(Policy):
    """A do-nothing policy offered through a (faked) installed entry point."""

    name = "plugdemo"
    Params = __import__("sim.policies", fromlist=["PolicyParams"]).PolicyParams

    def utilities(self, market, firm):
        return self.blank(market)


def test_entry_point_policy_is_found_by_name(tmp_path, capsys, monkeypatch):
    ep = EntryPoint("plugdemo", "tests.test_hardening:PlugPolicy", "sim.policies")
    monkeypatch.setattr(
        "sim.policies.registry.metadata.entry_points",
        lambda group, name: [ep] if (group, name) == ("sim.policies", "plugdemo") else [],
    )
    path = tmp_path / "s.yaml"
    path.write_text(TINY.replace("policy: kojima", "policy: plugdemo"))
    code, out, err = run_cli(capsys, "scenario", "check", path)
    assert code == 0, err
    assert "k (plugdemo)" in out


def test_deeply_nested_yaml(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("name: " + "[" * 20000 + "]" * 20000 + "\n")
    bad(capsys, "scenario", "check", path, contains=str(path))


def test_duplicate_yaml_key_is_an_error_with_its_line(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(TINY + "replications: 5\n")
    bad(capsys, "scenario", "check", path, contains="line 5: not valid YAML (duplicate key")


def test_nul_byte_in_data_paths(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(TINY + 'data: {events: "ev\\0ents.csv"}\n')
    bad(capsys, "scenario", "check", path, contains="field 'data.events'")
    bad(capsys, "data", "check", "--events", "a\x00b.csv", contains="NUL")


def test_csv_row_with_more_fields_than_header(data_copy, capsys):
    lines = data_copy["barriers"].read_text().splitlines()
    lines[1] += ",one,too,many"
    data_copy["barriers"].write_text("\n".join(lines) + "\n")
    bad(
        capsys,
        "data",
        "check",
        "--barriers",
        data_copy["barriers"],
        contains="line 2: 12 fields but the header has 9",
    )


def test_csv_line_numbers_survive_blank_lines_and_multiline_fields(data_copy, capsys):
    path = data_copy["barriers"]
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    rows[1][-1] = "a note\nspanning\nthree lines"
    rows[4][3] = "not_a_kind"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(rows[0])
        fh.write("\n")  # a blank line after the header
        writer.writerows(rows[1:])
    # header 1, blank 2, rows[1] on 3-5, rows[2] 6, rows[3] 7, rows[4] on line 8
    bad(capsys, "data", "check", "--barriers", path, contains="line 8, field 'kind'")


def test_replications_too_large_has_a_clear_bound(tiny, capsys):
    bad(
        capsys,
        "run",
        tiny,
        "--replications",
        "20000000",
        contains="argument --replications: must be from 1 to 10000000 (got 20000000)",
    )


@pytest.mark.parametrize("address", ["not an address", "tcp://", "tcp://h:99999", "http://h:1"])
def test_malformed_scheduler(tiny, capsys, address):
    bad(capsys, "run", tiny, "--executor", "dask", "--scheduler", address, contains="scheduler")


def test_scheduler_without_dask_is_an_error(tiny, capsys):
    bad(capsys, "run", tiny, "--scheduler", "tcp://127.0.0.1:8786", contains="--executor dask")


def test_unreachable_scheduler_is_one_line_within_the_timeout(tiny, tmp_path, capsys):
    start = time.monotonic()
    out = tmp_path / "o"
    bad(
        capsys,
        "run",
        tiny,
        "--out",
        out,
        "--executor",
        "dask",
        "--scheduler",
        "tcp://127.0.0.1:9",
        "--timeout",
        "2",
        contains="cannot connect to the dask scheduler",
    )
    assert time.monotonic() - start < 30
    assert not out.exists()


def test_run_without_workers_fails_in_bounded_time_saying_how_to_resume(tiny, tmp_path, capsys):
    from sim.experiment.executors import local_cluster

    out = tmp_path / "o"
    with local_cluster(0) as cluster:
        start = time.monotonic()
        code, _, err = run_tiny(
            capsys,
            tiny,
            out,
            "--executor",
            "dask",
            "--scheduler",
            cluster.scheduler_address,
            "--timeout",
            "2",
        )
        elapsed = time.monotonic() - start
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "no dask worker has been connected for 2 s" in err
    assert "run the same command again to resume" in err
    assert elapsed < 30
    assert not out.exists()


# --- 3. scenario check accepts what `sim run` accepts, and notes what later commands reject ---


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("sweep: {parameters: [{name: ceiling_rate, values: [0.05, 99]}]}", "sweep.parameters"),
        ("sweep: {parameters: [{name: ceiling_rate, values: [.nan]}]}", "sweep.parameters[0]"),
        ("sweep: {parameters: [{name: ceiling_rate, values: [.inf]}]}", "sweep.parameters[0]"),
        ("calibration: {parameters: {ghost: [ceiling_rate]}}", "calibration.parameters"),
        ("sensitivity: {strategy: ghost}", "sensitivity.strategy"),
        ("shocks: [{type: barrier, market: USA, year: 2030, delta: 1}]", "shocks[0].year"),
        ("shocks: [{type: exclude, market: USA, from_year: 2018, to_year: 2015}]", "shocks[0]"),
        ("shocks: [{type: capital, from_year: 2005, multiplier: 2}]", "shocks[0].from_year"),
        ("data: {finance: missing.csv}", ""),
    ],
)
def test_scenario_check_rejects_what_run_rejects(tmp_path, capsys, extra, field):
    path = tmp_path / "s.yaml"
    path.write_text(TINY + extra + "\n")
    err = bad(capsys, "scenario", "check", path)
    assert f"field '{field}'" in err if field else "missing.csv: file not found" in err
    assert run_tiny(capsys, path, tmp_path / "o")[0] == 2


@pytest.mark.parametrize(
    ("extra", "note"),
    [
        (
            "calibration: {window: [2005, 2012], validation: [2018, 2021]}",
            "`sim calibrate` would refuse it: {path}: field 'calibration.window': 2005-2012 lies "
            "outside the simulated years 2010-2025",
        ),
        (
            "calibration: {parameters: {k: [no_such]}}",
            "`sim calibrate` would refuse it: {path}: field 'calibration.parameters.k': "
            "'no_such' cannot be calibrated for policy 'kojima'",
        ),
        (
            "sensitivity: {firm_inputs: [opportunities]}",
            "`sim calibrate` and `sim sensitivity` would refuse it: {path}: field "
            "'sensitivity.firm_inputs[0]': firm input 'opportunities' cannot be screened",
        ),
    ],
)
def test_scenario_check_notes_what_only_later_commands_reject(tmp_path, capsys, extra, note):
    path = tmp_path / "s.yaml"
    path.write_text(TINY + extra + "\n")
    code, out, err = run_cli(capsys, "scenario", "check", path)
    assert (code, err) == (0, "")
    assert f"{path}: ok — 2 runs x 1 strategies: k (kojima)\nnote: " in out
    assert note.format(path=path) in out
    assert run_tiny(capsys, path, tmp_path / "o")[0] == 0


def test_scenario_check_accepts_a_sub_period_like_run(tmp_path, capsys):
    """Issue 22: the profile's default windows are not the user's field; run accepts the file."""
    path = tmp_path / "s.yaml"
    path.write_text(TINY + "years: [2012, 2016]\n")
    code, out, err = run_cli(capsys, "scenario", "check", path)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"{path}: ok — 2 runs x 1 strategies: k (kojima)",
        f"note: `sim calibrate` would refuse it: {path}: field 'calibration.window': 2010-2017 "
        "lies outside the simulated years 2012-2016 (firm alibaba's default; a scenario of "
        "other years sets calibration.window and calibration.validation within them)",
    ]
    assert run_tiny(capsys, path, tmp_path / "o")[0] == 0


def test_scenario_data_finance_is_used_for_resources(data_copy, tmp_path):
    rows = data_copy["finance"].read_text().splitlines()
    i = next(k for k, r in enumerate(rows) if r.startswith("2017,"))
    cells = rows[i].split(",")
    cells[3] = str(float(cells[3]) * 4)
    rows[i] = ",".join(cells)
    data_copy["finance"].write_text("\n".join(rows) + "\n")
    scenario = parse_scenario(
        {
            "name": "f",
            "data": {"finance": str(data_copy["finance"])},
            "strategies": [{"label": "k", "policy": "kojima"}],
        },
        tmp_path / "f.yaml",
    )
    assert scenario.data_paths().finance == data_copy["finance"]
    mine = resource_series(load_dataset(scenario.data_paths()).finance, scenario)
    packaged = resource_series(load_dataset(DataPaths()).finance, scenario)
    changed = np.flatnonzero(~np.isclose(mine, packaged))
    assert list(scenario.year_range[j] for j in changed) == [2016]  # fiscal 2017 = calendar 2016


# --- 7. degenerate results ------------------------------------------------------------------


def test_header_only_barrier_file_means_no_barriers(data_copy, capsys):
    header = data_copy["barriers"].read_text().splitlines()[0]
    data_copy["barriers"].write_text(header + "\n")
    code, out, _ = run_cli(capsys, "data", "check", "--barriers", data_copy["barriers"])
    assert code == 0
    assert "barrier events: 0 events — ok" in out


def test_zero_event_runs_say_no_events_instead_of_nan(tmp_path, capsys):
    path = tmp_path / "z.yaml"
    path.write_text(
        "name: z\nreplications: 2\nfirm: {hurdle: 15.0, resource_elasticity: 0.0, "
        "home_policy_effect: 0.0}\nstrategies:\n  - {label: u, policy: uppsala}\n"
    )
    code, out, err = run_tiny(capsys, path, tmp_path / "o")
    assert code == 0, err
    report = (tmp_path / "o" / "report.md").read_text()
    assert "nan" not in out and "nan" not in report
    assert "no events" in out and "produces no deal events" in report


def test_empty_record_window_is_not_reported_as_hits(tmp_path, capsys):
    path = tmp_path / "e.yaml"
    path.write_text(
        "name: e\nreplications: 2\nyears: [2010, 2010]\nhistory: {scope: ant_only}\n"
        "strategies:\n  - {label: k, policy: kojima}\n"
    )
    code, out, err = run_tiny(capsys, path, tmp_path / "o")
    assert code == 0, err
    report = (tmp_path / "o" / "report.md").read_text()
    assert "no events in this window" in out and "no events in this window" in report
    assert "nan" not in report and "6 / 6" not in report


# --- issue 13 items living in the CLI --------------------------------------------------------


def test_resume_flag_is_gone_resuming_is_automatic(tiny, capsys):
    bad(capsys, "run", tiny, "--resume", contains="unrecognized arguments: --resume")


def test_manifest_records_the_executor_that_ran(tiny, tmp_path, capsys):
    assert run_cli(capsys, "run", tiny, "--out", tmp_path / "o", "--quiet")[0] == 0
    execution = json.loads((tmp_path / "o" / "manifest.json").read_text())["execution"]
    assert execution["executor"] == "serial"  # 2 runs: local falls back to serial
    assert execution["executor_requested"] == "local"


def test_debug_shows_the_models_traceback_and_verbose_logs(tmp_path, capsys):
    path = tmp_path / "f.yaml"
    path.write_text(TINY.replace("policy: kojima", "policy: failing"))
    argv = ["--debug", "--verbose", "run", path, "--out", tmp_path / "o", "--quiet"]
    code, _, err = run_cli(capsys, *argv, "--plugin", "tests.failing_policy:FailingPolicy")
    assert code == 1
    assert "Traceback" in err and "ZeroDivisionError: utility undefined" in err
    assert "in utilities" in err  # the model's own frame, not only the wrapper's
    assert "sim: sim.experiment.job:" in err


# --- 8. dashboard stops its server -----------------------------------------------------------


def test_sigterm_to_the_dashboard_stops_its_server_child(tmp_path):
    pid_file = tmp_path / "child.pid"
    child = f"import os,time; open({str(pid_file)!r},'w').write(str(os.getpid())); time.sleep(60)"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, sys; from sim.cli import serve; "
            f"sys.exit(serve([sys.executable, '-c', {child!r}], dict(os.environ)))",
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 20
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "child did not start"
        time.sleep(0.05)
    child_pid = int(pid_file.read_text())
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=15) == 0
    deadline = time.monotonic() + 10
    while True:
        try:
            os.kill(child_pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "server child still running"
        time.sleep(0.05)


def test_a_single_run_says_why_it_has_no_standard_error_or_p_value(tmp_path, capsys):
    path = tmp_path / "one.yaml"
    path.write_text("name: one\nreplications: 1\nstrategies:\n  - {label: u, policy: uppsala}\n")
    code, out, err = run_tiny(capsys, path, tmp_path / "o")
    assert code == 0, err
    report = (tmp_path / "o" / "report.md").read_text()
    assert "nan" not in out and "nan" not in report
    assert "needs 2+ runs" in out and "needs 2+ runs" in report


def test_every_yaml_file_is_read_through_the_one_strict_reader():
    """Issue 22: duplicate keys and deep nesting are refused in every YAML file sim reads."""
    readers = []
    for path in sorted((ROOT / "sim").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "yaml.safe_load(" in text or "yaml.load(" in text:
            readers.append(path.relative_to(ROOT).as_posix())
    assert readers == ["sim/yamlfile.py"]
