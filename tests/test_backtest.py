"""`sim backtest` and projections from an origin: columns, blindness, refusals, the 0-0 flag."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.cli import main
from sim.data import DataPaths, load_dataset, load_profile
from sim.projection.backtest import (
    COLUMNS,
    PERSISTENCE,
    forecast,
    record_counts,
    summary_table,
)
from sim.projection.report import degenerate_years
from sim.scenario import parse_scenario

UNCERTAINTIES = {
    "revenue_growth": {"low": -0.05, "high": 0.1},
    "barriers": [
        {"name": "usa", "markets": ["USA"], "from_year": 2023, "factor": {"low": 1, "high": 3}}
    ],
}


def raw_scenario(**projection):
    section = {
        "horizon": 2025,
        "futures": 2,
        "replications": 3,
        "uncertainties": copy.deepcopy(UNCERTAINTIES),
        "robustness": {"satisficing": {"deals_per_year": {"min": 3}}},
    }
    section.update(projection)
    return {
        "name": "bt",
        "years": [2010, 2021],
        "seed": 11,
        "strategies": [
            {"label": "grav", "policy": "gravity", "firm": {"hurdle": 1.0}},
            # a hurdle no deal clears: every run of every future makes no deal
            {
                "label": "shut",
                "policy": "gravity",
                "firm": {"hurdle": 15.0, "resource_elasticity": 0.0, "climate_noise": 0.1},
            },
        ],
        "projection": section,
    }


def write(tmp_path, raw):
    path = tmp_path / "bt.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def backtest(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bt")
    out = tmp / "out"
    code = main(["backtest", str(write(tmp, raw_scenario())), "--out", str(out)])
    assert code == 0
    return out, pd.read_csv(out / "backtest.csv", keep_default_na=True)


def test_backtest_csv_has_the_columns_origins_years_and_modes(backtest):
    out, table = backtest
    assert list(table.columns) == COLUMNS
    assert set(table["strategy"]) == {"grav", "shut", PERSISTENCE}
    years = {o: set(rows["year"].astype(str)) for o, rows in table.groupby("origin")}
    assert years == {
        2017: {"2018", "2019", "2020", "2021", "all"},
        2021: {"2022", "2023", "2024", "2025", "all"},
    }
    assert set(table["mode"]) == {"entries", "exits", "greenfield"}
    assert len(table) == 3 * 2 * 3 * 5  # strategies x origins x modes x (years + window)
    assert np.allclose(table["width"], table["band_high"] - table["band_low"])
    held = (table["band_low"] <= table["observed"]) & (table["observed"] <= table["band_high"])
    assert (table["covered"] == held).all()
    assert table.loc[table["strategy"] == PERSISTENCE, "diff_vs_persistence"].isna().all()
    assert table.loc[table["strategy"] != PERSISTENCE, "diff_se"].notna().all()
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## From 2017: 2018-2021" in report and "## From 2021: 2022-2025" in report
    assert json.loads((out / "manifest.json").read_text())["origins"] == [
        [2017, 2021],
        [2021, 2025],
    ]


def test_backtest_scores_the_recorded_counts(backtest):
    _, table = backtest
    data = load_dataset()
    events = data.events[data.events["entity"].isin(load_profile().scope_entities(None))]
    in_2023 = events[events["year"] == 2023]
    rows = table[(table["strategy"] == "grav") & (table["year"].astype(str) == "2023")]
    observed = rows.set_index("mode")["observed"]
    assert observed["exits"] == (in_2023["mode"] == "exit").sum() == 5
    assert observed["greenfield"] == (in_2023["mode"] == "greenfield").sum() == 0
    deals = in_2023["mode"].isin(["control", "minority", "cooperation"]).sum()
    assert observed["entries"] == deals == 7
    # a strategy that makes no deal scores the years with deals far below the baseline
    shut = table[(table["strategy"] == "shut") & (table["mode"] == "entries")]
    assert (shut["band_high"] == 0).all()
    assert (shut.loc[shut["year"] == "all", "diff_vs_persistence"] < -3).all()


def _rewrite_after(tmp_path, origin):
    """Copies of the data files with every row dated after ``origin`` changed or removed."""
    profile = load_profile()
    paths = DataPaths()
    out = {}
    for name in ("events", "indicators", "barriers", "home_policy", "finance"):
        out[name] = tmp_path / f"{name}.csv"
        frame = pd.read_csv(paths.resolve(name, profile), dtype=str, keep_default_na=False)
        if name == "events":
            frame = frame[frame["year"].astype(int) <= origin]
        elif name == "indicators":
            late = (frame["year"].astype(int) > origin) & frame["indicator"].isin(
                ["gdp_pc_usd", "gdp_growth_pct"]
            )
            frame.loc[late, "value"] = (frame.loc[late, "value"].astype(float) * 0.5).astype(str)
        elif name == "finance":
            late = pd.to_datetime(frame["period_end"]) > f"{origin + 1}-06-30"
            frame.loc[late, "value"] = (frame.loc[late, "value"].astype(float) * 3).astype(str)
        else:
            frame = frame[frame["date"].str[:4].astype(int) <= origin]
        frame.to_csv(out[name], index=False)
    out["event_markets"] = tmp_path / "event_markets.csv"
    _keep_event_markets(out)
    return out


def _keep_event_markets(files):
    """The operating-market rows of the events still in the (rewritten) events file."""
    kept = set(pd.read_csv(files["events"])["event_id"])
    rows = pd.read_csv(DataPaths().resolve("event_markets", load_profile()), dtype=str)
    rows[rows["event_id"].isin(kept)].to_csv(files["event_markets"], index=False)


def _forecast(raw, tmp_path, origin, horizon):
    scenario = parse_scenario(raw, tmp_path / "bt.yaml")
    return forecast(scenario, "bt.yaml", origin, horizon, futures=2, replications=3)


def test_rewriting_data_after_the_origin_does_not_change_the_forecast(tmp_path):
    raw = raw_scenario()
    before = _forecast(raw, tmp_path, 2017, 2021)
    files = _rewrite_after(tmp_path, 2017)
    after = _forecast({**raw, "data": {k: str(v) for k, v in files.items()}}, tmp_path, 2017, 2021)
    assert before.years == after.years == [2018, 2019, 2020, 2021]
    assert before.runs.keys() == after.runs.keys()
    for key, runs in before.runs.items():
        assert np.array_equal(runs, after.runs[key]), key
    for mode, runs in before.persistence.items():
        assert np.array_equal(runs, after.persistence[mode]), mode
    # the test has teeth: the same rewrite of the years up to the origin changes the forecast
    dropped = pd.read_csv(files["events"])
    dropped[dropped["year"] != 2016].to_csv(files["events"], index=False)
    _keep_event_markets(files)
    changed = _forecast(
        {**raw, "data": {k: str(v) for k, v in files.items()}}, tmp_path, 2017, 2021
    )
    assert not np.array_equal(before.runs[("grav", "entries")], changed.runs[("grav", "entries")])


def test_record_counts_split_entries_exits_and_greenfield():
    scenario = parse_scenario(raw_scenario(), "bt.yaml")
    record = pd.DataFrame(
        {
            "year": [2022, 2022, 2022, 2023, 2023],
            "mode": ["control", "other", "exit", "exit", "greenfield"],
        }
    )
    counts = record_counts(scenario, record, [2022, 2023])
    assert counts["entries"].tolist() == [1.0, 0.0]  # a blocked attempt is not an entry
    assert counts["exits"].tolist() == [1.0, 1.0]
    assert counts["greenfield"].tolist() == [0.0, 1.0]


def test_projection_report_flags_a_zero_zero_band(tmp_path, capsys):
    out = tmp_path / "proj"
    raw = raw_scenario(horizon=2024)
    assert main(["project", str(write(tmp_path, raw)), "--out", str(out)]) == 0
    yearly = pd.read_csv(out / "yearly.csv")
    flagged = degenerate_years(yearly)
    assert set(flagged["strategy"]) == {"shut"}
    assert flagged["year"].tolist() == [2022, 2023, 2024]
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "**Flag: 0-0 bands.**" in report
    assert "- **shut**: 2022, 2023, 2024" in report
    assert "- **grav**" not in report.split("**Flag: 0-0 bands.**")[1].split("\n\nA 0-0")[0]


def test_project_from_an_earlier_origin_starts_the_year_after_it(tmp_path):
    out = tmp_path / "proj"
    # the file's origin lets barrier paths start after it; --origin overrides it
    raw = raw_scenario(horizon=2020, origin=2017)
    raw["projection"]["uncertainties"]["barriers"][0]["from_year"] = 2019
    path = write(tmp_path, raw)
    assert main(["project", str(path), "--out", str(out)]) == 0
    yearly = pd.read_csv(out / "yearly.csv")
    assert yearly.loc[yearly["strategy"] == "grav", "year"].tolist() == [2018, 2019, 2020]
    assert yearly.loc[yearly["strategy"] == "record", "year"].max() == 2017
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["origin"] == 2017 and manifest["record_years"] == [2010, 2017]
    assert main(["project", str(path), "--out", str(out), "--overwrite", "--origin", "2018"]) == 0
    yearly = pd.read_csv(out / "yearly.csv")
    assert yearly.loc[yearly["strategy"] == "grav", "year"].tolist() == [2019, 2020]


@pytest.mark.parametrize(
    ("origin", "message"),
    [
        (
            "2015",
            "field 'projection.origin': the strategies' values were fitted on a calibration "
            "window ending 2017, after the origin 2015; start from a calibration whose window "
            "ends by 2015",
        ),
        ("2026", "field 'projection.origin': 2026 must be after the first simulated year 2010"),
    ],
)
def test_bad_origin_is_one_line_with_exit_2(tmp_path, capsys, origin, message):
    path = write(tmp_path, raw_scenario(horizon=2027))
    code = main(["project", str(path), "--out", str(tmp_path / "o"), "--origin", origin])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"sim: error: {path}: {message}")


def test_scenario_check_notes_an_origin_before_the_fitted_window_ends(tmp_path, capsys):
    """`sim run` accepts the file, so the check does too and notes what project refuses."""
    raw = raw_scenario(horizon=2020, origin=2016)
    raw["projection"]["uncertainties"]["barriers"][0]["from_year"] = 2018
    code = main(["scenario", "check", str(write(tmp_path, raw))])
    out = capsys.readouterr().out
    assert code == 0
    assert "note: `sim project` would refuse it: " in out
    assert "field 'projection.origin': the strategies' values were fitted on a calibration " in out


def test_a_band_that_covers_by_width_is_counted_as_wide():
    def row(strategy, year, low, high, observed, vs_persistence):
        return {
            "strategy": strategy,
            "origin": 2021,
            "year": year,
            "mode": "entries",
            "score": -2.0,
            "se": 0.1,
            "diff_vs_persistence": 0.0,
            "diff_se": 0.1,
            "band_low": low,
            "band_high": high,
            "width": high - low,
            "covered": low <= observed <= high,
            "observed": observed,
            "width_vs_persistence": vs_persistence,
        }

    table = pd.DataFrame(
        [
            row("narrow", "2022", 2, 5, 3, 0.5),  # covers, narrow: skill
            row("narrow", "2023", 0, 2, 7, 0.5),  # misses
            row("narrow", "all", 0, 9, 10, 0.5),
            row("wide", "2022", 0, 40, 3, 1.2),  # covers with a band 13 times the count
            row("wide", "2023", 0, 40, 7, 3.0),  # covers with twice persistence's width
            row("wide", "all", 0, 80, 10, 1.2),
        ]
    )
    summary = summary_table(table).set_index("strategy")
    assert summary.loc["narrow", "covered"] == "1/2" and summary.loc["narrow", "wide_covers"] == 0
    assert summary.loc["wide", "covered"] == "2/2" and summary.loc["wide", "wide_covers"] == 2
    assert summary.loc["wide", "mean_width"] == 40 and summary.loc["wide", "record_mean"] == 5
