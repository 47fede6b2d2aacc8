"""Every validation path of the loaders, exercised on broken copies of the real data files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.data import DataPaths, load_dataset, load_profile
from sim.errors import SimInputError
from tests.conftest import edit_csv


def load(copies: dict[str, Path]):
    return load_dataset(DataPaths(**copies))


def expect_error(copies: dict[str, Path], name: str, message: str) -> None:
    with pytest.raises(SimInputError) as info:
        load(copies)
    assert str(info.value) == f"{copies[name]}: {message}"


def test_untouched_copies_load(data_copy):
    data = load(data_copy)
    assert len(data.events) == len(pd.read_csv(data_copy["events"]))


# --- file-level problems -------------------------------------------------------------------


def test_missing_file(data_copy):
    data_copy["events"].unlink()
    expect_error(data_copy, "events", "file not found")


def test_empty_file(data_copy):
    data_copy["countries"].write_text("")
    expect_error(data_copy, "countries", "file is empty (no header row)")


def test_header_only(data_copy):
    # Barrier events may be empty ("no barriers", tests/test_hardening.py); deals may not.
    header = data_copy["events"].read_text().splitlines()[0]
    data_copy["events"].write_text(header + "\n")
    expect_error(data_copy, "events", "file has a header but no data rows")


def test_not_utf8(data_copy):
    data_copy["events"].write_bytes(b"event_id,year\n\xff\xfe,2015\n")
    expect_error(data_copy, "events", "file is not valid UTF-8 text")


def test_ragged_csv(data_copy):
    lines = data_copy["indicators"].read_text().splitlines()
    lines[3] = lines[3] + ",extra,cells"
    data_copy["indicators"].write_text("\n".join(lines) + "\n")
    with pytest.raises(SimInputError, match=r"line 4: 10 fields but the header has 8"):
        load(data_copy)


def test_missing_column(data_copy):
    df = pd.read_csv(data_copy["events"], dtype=str, keep_default_na=False)
    df.drop(columns="source_url").to_csv(data_copy["events"], index=False)
    expect_error(
        data_copy,
        "events",
        "line 1, field 'source_url': required column is missing from the header",
    )


def test_unknown_column(data_copy):
    df = pd.read_csv(data_copy["countries"], dtype=str, keep_default_na=False)
    df.assign(gdp_guess="1").to_csv(data_copy["countries"], index=False)
    expect_error(
        data_copy, "countries", "line 1, field 'gdp_guess': unknown column (check its spelling)"
    )


# --- cell-level problems -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("source_url", None, "value is required but blank"),
        (
            "source_url",
            "www.example.org/deal",
            "malformed value 'www.example.org/deal' "
            "(expected a web address starting with http:// or https://)",
        ),
        (
            "date",
            "2015/03/01",
            "malformed value '2015/03/01' "
            "(expected a date YYYY-MM or YYYY-MM-DD, like 2015-06 or 2015-06-30)",
        ),
        (
            "date",
            "2015-13",
            "malformed value '2015-13' "
            "(expected a date YYYY-MM or YYYY-MM-DD, like 2015-06 or 2015-06-30)",
        ),
        (
            "mode",
            "joint_venture",
            "'joint_venture' is not one of: "
            "control, cooperation, exit, greenfield, minority, other",
        ),
        ("confidence", "low", "'low' is not one of: high, medium"),
        ("year", "twenty", "'twenty' is not a number"),
        ("year", "2015.5", "'2015.5' is not a whole number"),
        ("year", "2009", "2009 is outside the record's years 2010-2025 (profile)"),
        ("year", "2026", "2026 is outside the record's years 2010-2025 (profile)"),
        ("amount_usd_m", "-5", "-5 is below the minimum 0"),
        ("stake_pct", "140", "140 is above the maximum 100"),
        (
            "event_id",
            "T1",
            "malformed value 'T1' (expected 1-3 capital letters followed by 3-4 digits, "
            "like E001 or J012)",
        ),
    ],
)
def test_bad_event_cell(data_copy, column, value, message):
    edit_csv(data_copy["events"], 4, column, value)
    expect_error(data_copy, "events", f"line 6, field '{column}': {message}")


def test_duplicate_event_id(data_copy):
    first = pd.read_csv(data_copy["events"], dtype=str).loc[0, "event_id"]
    edit_csv(data_copy["events"], 9, "event_id", first)
    expect_error(
        data_copy, "events", f"line 11, field 'event_id': duplicate of line 2 (event_id={first})"
    )


def test_duplicate_event_content(data_copy):
    df = pd.read_csv(data_copy["events"], dtype=str, keep_default_na=False)
    copy = df.iloc[[3]].assign(event_id="E999")
    pd.concat([df, copy]).to_csv(data_copy["events"], index=False)
    row = df.iloc[3]
    expect_error(
        data_copy,
        "events",
        f"line {len(df) + 2}, field 'target': same target, date, mode and entity as an earlier "
        f"row ({row['target']}, {row['date']})",
    )


# --- cross-field and cross-file checks -----------------------------------------------------


def events_row(data_copy, i):
    return pd.read_csv(data_copy["events"], dtype=str, keep_default_na=False).iloc[i]


def test_date_outside_its_year(data_copy):
    row = events_row(data_copy, 2)
    edit_csv(data_copy["events"], 2, "date", f"{int(row['year']) + 1}-01")
    expect_error(
        data_copy,
        "events",
        f"line 4, field 'date': {int(row['year']) + 1}-01 is not in year {row['year']}",
    )


def test_domestic_deal_rejected(data_copy):
    edit_csv(data_copy["events"], 0, "country_iso3", "HKG")
    expect_error(
        data_copy, "events", "line 2, field 'country_iso3': HKG deals are domestic and out of scope"
    )


def test_unknown_country_in_events(data_copy):
    edit_csv(data_copy["events"], 0, "country_iso3", "ATL")
    expect_error(
        data_copy,
        "events",
        "line 2, field 'country_iso3': unknown country 'ATL' (not a market)",
    )


def test_region_must_agree_with_markets(data_copy):
    row = events_row(data_copy, 0)
    wrong = "oceania" if row["region"] != "oceania" else "europe"
    edit_csv(data_copy["events"], 0, "region", wrong)
    markets = pd.read_csv(data_copy["countries"]).set_index("iso3")
    expect_error(
        data_copy,
        "events",
        f"line 2, field 'region': '{wrong}' disagrees with the country table "
        f"('{markets.loc[row['country_iso3'], 'region']}' for {row['country_iso3']})",
    )


def first_row_with(data_copy, mode):
    df = pd.read_csv(data_copy["events"], dtype=str, keep_default_na=False)
    return int(df.index[df["mode"] == mode][0])


def test_control_needs_majority_stake(data_copy):
    i = first_row_with(data_copy, "control")
    edit_csv(data_copy["events"], i, "stake_pct", "30")
    expect_error(
        data_copy,
        "events",
        f"line {i + 2}, field 'stake_pct': a control deal needs a stake above 50 % (got 30)",
    )


def test_minority_needs_minority_stake(data_copy):
    i = first_row_with(data_copy, "minority")
    edit_csv(data_copy["events"], i, "stake_pct", "75")
    expect_error(
        data_copy,
        "events",
        f"line {i + 2}, field 'stake_pct': a minority deal needs a stake of at most 50 % (got 75)",
    )


def test_amount_cannot_exceed_round(data_copy):
    edit_csv(data_copy["events"], 0, "amount_usd_m", "500")
    edit_csv(data_copy["events"], 0, "round_size_usd_m", "100")
    expect_error(
        data_copy,
        "events",
        "line 2, field 'amount_usd_m': the firm's amount exceeds the round size",
    )


def test_home_country_must_be_in_the_country_table(data_copy):
    df = pd.read_csv(data_copy["countries"], dtype=str, keep_default_na=False)
    df[df["iso3"] != "CHN"].to_csv(data_copy["countries"], index=False)
    with pytest.raises(SimInputError) as info:
        load(data_copy)
    profile = load_profile()
    assert str(info.value) == (
        f"{profile.folder / 'profile.yaml'}: field 'home_iso3': CHN is not in countries.csv "
        "(its capital and culture are needed for distances)"
    )


def test_home_and_domestic_places_are_never_markets(data_copy):
    markets = load(data_copy).markets
    assert not markets["iso3"].isin(["CHN", "HKG", "MAC"]).any()


def test_market_latitude_range(data_copy):
    edit_csv(data_copy["countries"], 1, "capital_lat", "95")
    expect_error(data_copy, "countries", "line 3, field 'capital_lat': 95 is above the maximum 90")


def test_a_market_needs_its_development_class(data_copy):
    edit_csv(data_copy["countries"], 0, "development", None)
    expect_error(
        data_copy, "countries", "line 2, field 'development': blank for USA, a market of alibaba"
    )


def test_indicator_plausible_range(data_copy):
    df = pd.read_csv(data_copy["indicators"], dtype=str, keep_default_na=False)
    i = int(df.index[df["indicator"] == "internet_users_pct"][0])
    edit_csv(data_copy["indicators"], i, "value", "130")
    expect_error(
        data_copy,
        "indicators",
        f"line {i + 2}, field 'value': 130 is outside the plausible range [0, 100] "
        "for internet_users_pct",
    )


def test_indicator_duplicate_key(data_copy):
    df = pd.read_csv(data_copy["indicators"], dtype=str, keep_default_na=False)
    df = pd.concat([df, df.iloc[[0]]])
    df.to_csv(data_copy["indicators"], index=False)
    r = df.iloc[0]
    expect_error(
        data_copy,
        "indicators",
        f"line {len(df) + 1}, field 'iso3': duplicate of line 2 "
        f"(iso3={r['iso3']}, year={r['year']}, indicator={r['indicator']})",
    )


def test_core_indicator_gap(data_copy):
    df = pd.read_csv(data_copy["indicators"], dtype=str, keep_default_na=False)
    gone = (df["iso3"] == "IND") & (df["indicator"] == "population") & (df["year"] == "2016")
    df[~gone].to_csv(data_copy["indicators"], index=False)
    expect_error(
        data_copy, "indicators", "field 'value': missing core indicator population for IND in 2016"
    )


def test_unknown_country_in_barriers(data_copy):
    edit_csv(data_copy["barriers"], 0, "country_iso3", "XYZ")
    expect_error(
        data_copy,
        "barriers",
        "line 2, field 'country_iso3': unknown country 'XYZ' (not a market nor a "
        "country group: EUU)",
    )
