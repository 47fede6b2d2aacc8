"""Firms are data: profiles, any home country, a second real firm, and no firm facts in code."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from sim.cli import main
from sim.data import load_dataset, load_profile
from sim.data.geography import firm_markets, haversine_km
from sim.data.profile import FirmProfile, shipped_firms
from sim.data.record import history
from sim.errors import SimInputError
from sim.scenario import parse_scenario
from sim.world import build_world

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC = ROOT / "tests" / "data" / "firms" / "synthetic_kr"
GRAVITY = [{"label": "g", "policy": "gravity"}]


def test_shipped_firms_load_and_check(capsys):
    assert set(shipped_firms()) >= {"alibaba", "jd"}
    for name in shipped_firms():
        assert main(["data", "check", "--firm", name]) == 0
    out = capsys.readouterr().out
    assert "firm: JD.com, Inc., home CHN, record 2015-2025 — ok" in out


def test_a_scenario_names_its_firm_and_inherits_its_years_scope_and_windows():
    s = parse_scenario(
        {"name": "j", "firm": "jd", "strategies": GRAVITY},
        ROOT / "x.yaml",
    )
    assert s.firm.profile == "jd"
    assert s.years == (2015, 2025)
    assert s.scope == "group"
    assert (s.calibration.window, s.calibration.validation) == ((2015, 2020), (2021, 2025))


def test_unknown_firm_and_scope_are_one_line_errors(tmp_path):
    with pytest.raises(SimInputError) as info:
        parse_scenario(
            {
                "name": "x",
                "firm": "nosuchfirm",
                "strategies": [{"label": "g", "policy": "gravity"}],
            },
            tmp_path / "s.yaml",
        )
    assert str(info.value).startswith(
        f"{tmp_path / 'nosuchfirm' / 'profile.yaml'}: no firm profile"
    )
    with pytest.raises(SimInputError) as info:
        parse_scenario(
            {
                "name": "x",
                "firm": "jd",
                "history": {"scope": "group_and_ant"},
                "strategies": [{"label": "g", "policy": "gravity"}],
            },
            tmp_path / "s.yaml",
        )
    assert str(info.value) == (
        f"{tmp_path / 's.yaml'}: field 'history.scope': 'group_and_ant' is not a scope of jd "
        "(group, group_and_affiliates)"
    )


def test_an_entity_outside_the_profile_is_rejected(tmp_path):
    events = tmp_path / "events.csv"
    df = pd.read_csv(load_profile().path("events.csv"), dtype=str, keep_default_na=False)
    df.loc[0, "entity"] = "Tencent"
    df.to_csv(events, index=False)
    assert main(["data", "check", "--events", str(events)]) == 2


def test_distances_follow_the_home_country():
    countries = pd.read_csv(ROOT / "sim" / "data" / "countries.csv")
    seoul = countries.set_index("iso3").loc["KOR"]
    markets = firm_markets(countries, "KOR", frozenset()).set_index("iso3")
    assert "KOR" not in markets.index and "CHN" in markets.index
    tokyo = markets.loc["JPN"]
    expected = haversine_km(
        float(seoul.capital_lat), float(seoul.capital_lon), tokyo.capital_lat, tokyo.capital_lon
    )
    assert markets.loc["JPN", "distance_km"] == pytest.approx(float(expected), abs=0.05)
    assert 1_000 < markets.loc["JPN", "distance_km"] < 1_300
    # Cultural distance is zero from oneself and grows with the Hofstede gaps.
    from sim.data.geography import kogut_singh

    scores = countries.set_index("iso3")
    ks, dims = kogut_singh(scores.loc[["KOR", "JPN", "USA"]], "KOR")
    assert ks["KOR"] == 0 and dims["USA"] == 6


def test_the_reference_firms_markets_reproduce_the_published_distances():
    markets = load_dataset().markets.set_index("iso3")
    assert 16_000 < markets.loc["BRA", "distance_km"] < 17_500
    assert markets.loc["KOR", "distance_km"] < markets.loc["USA", "distance_km"]
    assert markets["cultural_distance"].notna().sum() == 42  # 15 markets lack Hofstede scores


def test_changing_the_finance_file_changes_resources(tmp_path):
    s = parse_scenario({"name": "f", "strategies": GRAVITY}, ROOT / "x.yaml")
    base = build_world(s.load_data(), s)
    finance = tmp_path / "finance.csv"
    df = pd.read_csv(load_profile().path("finance.csv"), dtype={"value": float})
    df.loc[df["fiscal_year"] >= 2018, "value"] *= 0.5
    df.to_csv(finance, index=False)
    s2 = parse_scenario(
        {
            "name": "f",
            "data": {"finance": str(finance)},
            "strategies": s.model_dump()["strategies"],
        },
        ROOT / "x.yaml",
    )
    changed = build_world(s2.load_data(), s2)
    years = base.years
    assert np.allclose(changed.log_resources[years < 2017], base.log_resources[years < 2017])
    assert (changed.log_resources[years >= 2018] < base.log_resources[years >= 2018] - 0.6).all()


def test_operating_market_coding_moves_multi_country_targets_only():
    data = load_dataset()
    hq = history(data)
    op = history(data, coding="operating")
    assert len(hq) == len(op)
    moved = hq["country_iso3"].to_numpy() != op["country_iso3"].to_numpy()
    moved_ids = set(hq.loc[moved, "event_id"])
    assert moved_ids and moved_ids <= set(data.event_markets["event_id"])
    # Every moved event lands on one of its sourced operating markets.
    em = data.event_markets.groupby("event_id")["iso3"].apply(set)
    for eid, iso3 in zip(op.loc[moved, "event_id"], op.loc[moved, "country_iso3"], strict=True):
        assert iso3 in em[eid]


def _firm_strings() -> set[str]:
    """Names that describe a shipped firm (its names and entities)."""
    out: set[str] = set()
    for name in shipped_firms():
        p = load_profile(name)
        out |= {p.name, *p.entity_names}
        out |= {e.date for e in p.corporate_events if len(e.date) == 10}
    return {s for s in out if len(s) >= 4}


def test_no_firm_fact_lives_in_the_code():
    strings = _firm_strings()
    # Also the words the firms are known by (first word of each multi-word name).
    strings |= {s.split()[0].rstrip(".,") for s in strings if " " in s and len(s.split()[0]) >= 5}
    pattern = re.compile("|".join(re.escape(s) for s in sorted(strings)), re.IGNORECASE)
    offenders = []
    for path in sorted((ROOT / "sim").rglob("*.py")):
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert offenders == []


def test_synthetic_fixture_is_marked_and_its_home_is_not_a_market(capsys):
    profile = load_profile(SYNTHETIC)
    assert profile.synthetic and profile.home_iso3 == "KOR"
    assert main(["data", "check", "--firm", str(SYNTHETIC)]) == 0
    assert "(synthetic test firm), home KOR" in capsys.readouterr().out
    data = load_dataset(profile=profile)
    assert "KOR" not in set(data.markets["iso3"])
    assert data.events["source_url"].str.startswith("https://example.invalid/").all()


def test_a_users_firm_folder_runs_from_a_scenario_next_to_it(tmp_path):
    folder = tmp_path / "myfirm"
    shutil.copytree(SYNTHETIC, folder)
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "name: mine\nfirm: myfirm\nreplications: 20\nseed: 3\n"
        "strategies:\n  - {label: g, policy: gravity}\n  - {label: d, policy: dual_track}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out), "--executor", "serial"]) == 0
    events = pd.read_csv(out / "events.csv")
    assert len(events) > 0
    assert "KOR" not in set(events["iso3"])
    assert "CHN" in set(events["iso3"])  # a market for a firm from outside China


def test_every_command_runs_on_the_synthetic_korean_firm(tmp_path, capsys):
    """A user's own firm folder (from outside China) runs every command with no code change."""
    scenario = str(SYNTHETIC / "scenario.yaml")
    out = tmp_path
    assert main(["data", "check", "--firm", str(SYNTHETIC)]) == 0
    assert main(["data", "summary", "--firm", str(SYNTHETIC), "--out", str(out / "sum")]) == 0
    assert main(["scenario", "check", scenario]) == 0
    assert main(["run", scenario, "--out", str(out / "run"), "--executor", "serial"]) == 0
    report = (out / "run" / "report.md").read_text(encoding="utf-8")
    assert "SYNTHETIC TEST FIRM" in report and "home KOR" in report
    assert main(["calibrate", scenario, "--quick", "--out", str(out / "cal")]) == 0
    assert (out / "cal" / "report" / "calibrated.yaml").is_file()
    assert main(["sensitivity", scenario, "--quick", "--out", str(out / "sens")]) == 0
    assert main(["recover", scenario, "--quick", "--out", str(out / "rec")]) == 0
    pytest.importorskip("ema_workbench", reason="the 'project' extra is not installed")
    assert main(["project", scenario, "--out", str(out / "proj")]) == 0
    assert (out / "proj" / "robustness.csv").is_file()
    assert capsys.readouterr().err == ""


def test_years_past_the_indicator_data_are_one_line_errors(tmp_path, capsys):
    folder = tmp_path / "late"
    shutil.copytree(SYNTHETIC, folder)
    profile = folder / "profile.yaml"
    profile.write_text(
        profile.read_text(encoding="utf-8").replace("[2012, 2021]", "[2012, 2031]"),
        encoding="utf-8",
    )
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "name: late\nfirm: late\nstrategies: [{label: g, policy: gravity}]\n", encoding="utf-8"
    )
    assert main(["run", str(scenario), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err == (
        f"sim: error: {scenario}: field 'years': 2031 is not covered by the indicator data "
        "(gdp_pc_usd missing for USA)\n"
    )
    assert not (tmp_path / "o").exists()


def _edited_firm(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the synthetic firm with one edit to its profile.yaml."""
    folder = tmp_path / "firm"
    shutil.copytree(SYNTHETIC, folder)
    profile = folder / "profile.yaml"
    text = profile.read_text(encoding="utf-8")
    assert old in text
    profile.write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "synthetic: true\n",
            "synthetic: true\nname: Second Name\n",
            "line 6: not valid YAML (duplicate key 'name' (first given on line 3))",
        ),
        (
            'fiscal_year_end: "12-31"',
            'fiscal_year_end: "02-30"',
            "field 'fiscal_year_end': '02-30' is not a date that exists",
        ),
        (
            'fiscal_year_end: "12-31"',
            'fiscal_year_end: "04-31"',
            "field 'fiscal_year_end': '04-31' is not a date that exists",
        ),
        (
            "default_scope: group_and_pay\n",
            "default_scope: group_and_pay\ncorporate_events:\n  - {date: '2015-02-29', "
            "kind: other, description: x, source_url: 'https://example.invalid/x'}\n",
            "field 'corporate_events.0.date': '2015-02-29' is not a date that exists",
        ),
        (
            "events: events.csv",
            "events: ../../events.csv",
            "field 'record.events': '../../events.csv' lies outside the profile's folder {folder}",
        ),
        (
            "events: events.csv",
            "events: /etc/hostname",
            "field 'record.events': '/etc/hostname' lies outside the profile's folder {folder}",
        ),
    ],
)
def test_a_bad_profile_is_one_line_naming_file_and_key(tmp_path, capsys, old, new, message):
    folder = _edited_firm(tmp_path, old, new)
    (tmp_path.parent / "events.csv").write_text("event_id\n", encoding="utf-8")
    assert main(["data", "check", "--firm", str(folder)]) == 2
    expected = message.format(folder=folder.resolve())
    assert capsys.readouterr().err == f"sim: error: {folder / 'profile.yaml'}: {expected}\n"


def test_a_leap_day_fiscal_year_end_exists():
    raw = load_profile(SYNTHETIC).model_dump()
    assert FirmProfile.model_validate(raw | {"fiscal_year_end": "02-29"}).fiscal_year_end == "02-29"


def test_a_deeply_nested_profile_is_one_line_not_a_recursion_error(tmp_path, capsys):
    folder = tmp_path / "deep"
    folder.mkdir()
    (folder / "profile.yaml").write_text("name: " + "[" * 3000 + "]" * 3000 + "\n")
    assert main(["data", "check", "--firm", str(folder)]) == 2
    assert capsys.readouterr().err == (
        f"sim: error: {folder / 'profile.yaml'}: line 1: not valid YAML "
        "(nested more than 100 levels deep)\n"
    )


def test_validating_a_scenario_reads_no_file(monkeypatch):
    """The profile is resolved once, before validation, and reaches the validators as context."""
    from sim import scenario as scenario_module
    from sim.data import profile as profile_module

    profile = load_profile("jd")

    def no_reads(*_args, **_kwargs):
        raise AssertionError("a validator read a file")

    monkeypatch.setattr(scenario_module, "load_profile", no_reads)
    monkeypatch.setattr(profile_module, "_read_profile", no_reads)
    raw = {"name": "j", "firm": {"profile": "jd"}, "strategies": GRAVITY}
    s = scenario_module.Scenario.model_validate(raw, context={"profile": profile})
    assert (s.firm.profile, s.years, s.scope) == ("jd", (2015, 2025), "group")
    with pytest.raises(ValidationError) as info:
        scenario_module.Scenario.model_validate(raw)  # no profile: nothing is filled
    assert {e["loc"][0] for e in info.value.errors()} == {"years", "history", "calibration"}


@pytest.mark.parametrize(
    ("firm", "message"),
    [
        ("5", "field 'firm': Input should be a valid dictionary or instance of Firm"),
        ("{profile: 5}", "field 'firm.profile': Input should be a valid string"),
    ],
)
def test_a_malformed_firm_is_reported_at_the_firm_not_at_years(tmp_path, capsys, firm, message):
    path = tmp_path / "s.yaml"
    path.write_text(f"name: x\nfirm: {firm}\nstrategies: [{{label: g, policy: gravity}}]\n")
    assert main(["scenario", "check", str(path)]) == 2
    assert capsys.readouterr().err == f"sim: error: {path}: {message}\n"


def test_a_scope_that_is_not_a_name_is_a_field_error_not_an_internal_one(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("name: x\nhistory: {scope: [a]}\nstrategies: [{label: g, policy: gravity}]\n")
    assert main(["scenario", "check", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"sim: error: {path}: field 'history.scope': Input should be a valid string\n"
    )
