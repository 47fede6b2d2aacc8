"""The dashboard: rendered in process, and served and clicked in a real browser."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

solara = pytest.importorskip("solara")
import ipyvuetify as v  # noqa: E402
import ipywidgets as w  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def texts(root: w.Widget) -> str:
    """Every string in a widget tree (grid layouts keep children in traits other than children)."""
    out, seen = [], set()

    def walk(x: w.Widget) -> None:
        if id(x) in seen:
            return
        seen.add(id(x))
        for key in x.keys:
            value = getattr(x, key, None)
            items = (
                list(value.values())
                if isinstance(value, dict)
                else (value if isinstance(value, list | tuple) else [value])
            )
            for item in items:
                if isinstance(item, w.Widget):
                    walk(item)
                elif isinstance(item, str):
                    out.append(item)

    walk(root)
    return "\n".join(out)


def images(root: w.Widget) -> list[bytes]:
    found = []

    def walk(x, seen=set()):  # noqa: B006
        if id(x) in seen:
            return
        seen.add(id(x))
        if isinstance(x, w.Image):
            found.append(bytes(x.value))
        for key in x.keys:
            value = getattr(x, key, None)
            for item in value if isinstance(value, list | tuple) else [value]:
                if isinstance(item, w.Widget):
                    walk(item)

    walk(root)
    return found


BASELINE = ROOT / "scenarios" / "baseline.yaml"
RANGE_LINE = r"(20\d\d)-(20\d\d): (\d+) deals of (\w+), (\d+) of (\w+), (\d+) in the record"


@pytest.fixture
def render_page():
    """Renders the whole page in process, showing a model the test holds; closed afterwards.

    Closing matters: a page left open still redraws on Mesa's global update counter, so every
    later step would redraw every earlier test's page too.
    """
    import sim.app as app
    from sim.dashboard import DashboardModel

    contexts = []

    def render(**kwargs):
        model = solara.reactive(DashboardModel(scenario_file=str(BASELINE)))
        box, rc = solara.render(
            solara.AppLayout(children=[app.Page(model=model, **kwargs)]), handle_error=False
        )
        contexts.append(rc)
        return model, box, rc

    yield render
    for rc in contexts:
        rc.close()


def test_dashboard_steps_and_resets_in_process(render_page):
    from sim.app import year_status
    from sim.dashboard import compared_events

    model, box, rc = render_page()
    assert "Press Step to simulate the first year." in texts(box)
    assert year_status(model.value) == "Year 2010: not simulated yet (0 of 12)"
    before = images(box)
    assert len(before) == 5  # map, deals per year, ensemble view, mode mix, region mix
    rc.find(v.Btn, children=["Step"]).widget.click()
    (line,) = re.findall(RANGE_LINE, texts(box))
    assert line[:2] == ("2010", "2010") and line[3] == "dual_track" and line[5] == "diversification"
    # The deals the record is compared with: its modes only (no greenfield, no exits here).
    assert int(line[2]) == int((compared_events(model.value)["year"] == 2010).sum())
    assert int(line[4]) == int((compared_events(model.value.rival)["year"] == 2010).sum())
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert re.findall(RANGE_LINE, texts(box))[0][:2] == ("2010", "2011")
    assert year_status(model.value) == "Year 2011 simulated (2 of 12)"
    after = images(box)
    assert sum(a != b for a, b in zip(before, after, strict=True)) >= 2
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert "Press Step to simulate the first year." in texts(box)
    assert model.value.steps == 0


def test_changing_the_strategy_starts_a_run_of_that_strategy(render_page):
    """The selector never shows one strategy while another runs (it used to wait for Reset)."""
    model, _box, rc = render_page(show_views=False)
    rc.find(v.Btn, children=["Step"]).widget.click()
    rc.find(v.Select, label="Strategy").widget.v_model = "gravity"
    assert model.value.strategy_label == "gravity" and model.value.steps == 0
    assert model.value.firm.policy.name == "gravity"
    assert rc.find(v.Select, label="Strategy").widget.v_model == "gravity"
    rc.find(v.Slider, label="Seed").widget.v_model = 7
    assert model.value.settings[-1] == 7 and model.value.strategy_label == "gravity"
    rc.find(v.Slider, label="Weight on market size").widget.v_model = 2.5
    assert model.value.firm.policy.params.beta_size == 2.5
    rc.find(v.Btn, children=["Reset"]).widget.click()  # Reset keeps the chosen settings
    assert model.value.strategy_label == "gravity" and model.value.settings[-1] == 7


def test_a_change_while_playing_does_not_play_the_new_run(render_page):
    model, _box, rc = render_page(play_interval=200, show_views=False)
    rc.find(v.Btn, children=["▶"]).widget.click()
    deadline = time.monotonic() + 20
    while model.value.steps < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    old = model.value
    assert old.steps >= 2
    rc.find(v.Select, label="Strategy").widget.v_model = "gravity"
    time.sleep(1.0)  # five play intervals
    assert model.value is not old and model.value.steps == 0 and not old.running
    assert rc.find(v.Btn, children=["Step"]).widget.disabled is False


def test_picking_another_scenario_changes_the_strategies_offered(render_page):
    model, box, rc = render_page(show_views=False)
    strategies = rc.find(v.Select, label="Strategy").widget
    assert strategies.items == [
        "dual_track",
        "diversification",
        "random_location",
        "gravity",
        "random",
    ]
    scenario = rc.find(v.Select, label="Scenario").widget
    assert scenario.v_model == "baseline" and "mature_first" in scenario.items
    scenario.v_model = "mature_first"
    assert model.value.scenario_name == "mature_first"
    offered = ["emerging_first", "mature_first", "springboard"]
    assert rc.find(v.Select, label="Strategy").widget.items == offered
    assert rc.find(v.Select, label="Compared with").widget.v_model == "mature_first"
    assert model.value.firm.policy.params.direction == 1  # emerging_first
    # A path typed in: a bad one is reported and the current run is kept.
    rc.find(v.TextField, label="or a scenario file (press Enter)").widget.v_model = "/no/such.yaml"
    text = texts(box)
    assert "/no/such.yaml" in text and model.value.scenario_name == "mature_first"


def test_play_stops_at_the_last_year(render_page):
    # The controls alone (the views are drawn in the other tests and in the browser test).
    model, _box, rc = render_page(play_interval=1, show_views=False)
    rc.find(v.Btn, children=["▶"]).widget.click()
    deadline = time.monotonic() + 60
    while model.value.running and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    assert not model.value.running and model.value.steps == 12
    assert model.value.last_year == 2021 and model.value.rival.steps == 12
    assert rc.find(v.Btn, children=["Step"]).widget.disabled
    assert rc.find(v.Btn, children=["❚❚"]).widget.disabled  # still "playing", but nothing to play
    assert len(model.value.yearly()) == 12


def test_the_map_has_one_shape_per_market_with_the_models_counts():
    from sim.app import MAP_GID, map_figure
    from sim.dashboard import DashboardModel, compared_events

    model = DashboardModel(scenario_file=str(BASELINE), seed=5)
    for _ in range(7):
        model.step()
    world = model.world
    fig = map_figure(model, (2012, 2020))  # cut at the last simulated year, 2016
    panels = {
        c.get_gid()[len(MAP_GID) :]: c
        for ax in fig.axes
        for c in ax.collections
        if (c.get_gid() or "").startswith(MAP_GID)
    }
    assert list(panels) == ["dual_track", "diversification", "record"]
    for label, run in (("dual_track", model), ("diversification", model.rival)):
        ev = compared_events(run)
        keep = (ev["year"] >= 2012) & (ev["year"] <= 2016)
        expected = [int(((ev["market"] == i) & keep).sum()) for i in range(len(world.iso3))]
        assert len(panels[label].get_paths()) == len(world.iso3) == 57
        assert panels[label].get_array().tolist() == expected
        assert sum(expected) > 0
    hist = model.history[model.history["year"].between(2012, 2016)]
    record = [int((hist["country_iso3"] == code).sum()) for code in world.iso3]
    assert panels["record"].get_array().tolist() == record and sum(record) == len(hist)
    # Each shape is its own market's: the capital lies in (or, for a coastal capital on the
    # coarse 1:110m outline, within 1.5 degrees of) the shape.
    inside = 0
    for path, (lat, lon) in zip(panels["record"].get_paths(), world.coords, strict=True):
        inside += path.contains_point((lon, lat))
        (x0, y0), (x1, y1) = path.get_extents().get_points()
        assert x0 - 1.5 <= lon <= x1 + 1.5 and y0 - 1.5 <= lat <= y1 + 1.5
    assert inside >= 50


def test_the_shipped_shapes_are_small_and_named():
    import json

    from sim.dashboard import DashboardModel
    from sim.data.shapes import SHAPES_FILE, country_shapes, market_shapes

    path = ROOT / "sim" / "data" / SHAPES_FILE
    assert path.stat().st_size < 1_000_000
    data = json.loads(path.read_text())
    assert {k for f in data["features"] for k in f["properties"]} == {"iso3", "name"}
    codes = {code for code, _, _ in country_shapes()}
    world = DashboardModel(scenario_file=str(BASELINE)).world
    assert [c for c in world.iso3 if c not in codes] == ["SGP"]  # a disc at its capital
    shapes = market_shapes(world.iso3, world.coords)
    assert len(shapes) == 57 and all(len(rings) >= 1 for rings in shapes)


def test_the_datacollector_records_each_year_of_both_runs():
    from sim.dashboard import DashboardModel, compared_events
    from sim.model import FirmAgent

    model = DashboardModel(scenario_file=str(BASELINE), strategy="gravity", compare="random")
    while model.running:
        model.step()
    model.step()  # after the end: nothing more is recorded
    rows = model.yearly()
    assert rows["year"].tolist() == list(range(2010, 2022))
    for label, run in (("gravity", model), ("random", model.rival)):
        ev = compared_events(run)
        per_year = [int((ev["year"] == y).sum()) for y in range(2010, 2022)]
        assert rows[label].tolist() == per_year
    assert rows["record"].sum() == len(model.history) == 154
    firm = model.datacollector.get_agenttype_vars_dataframe(FirmAgent)
    assert len(firm) == 12
    assert firm["deals so far"].iloc[-1] == int(model.firm.deals.sum())
    assert firm["markets entered"].is_monotonic_increasing


def test_scenario_preloads_its_strategies(monkeypatch):
    from sim import dashboard

    monkeypatch.setenv(dashboard.SCENARIO_ENV, str(ROOT / "scenarios" / "mature_first.yaml"))
    assert dashboard.strategy_labels() == ["emerging_first", "mature_first", "springboard"]
    assert next(iter(dashboard.shipped_scenarios())) == "mature_first"
    model = dashboard.DashboardModel(strategy="mature_first", seed=4)
    assert model.firm.policy.params.direction == -1
    assert model.compare_label == "mature_first" and model.compare_name == "mature_first (2nd)"
    for _ in range(12):
        model.step()
    assert not model.running and len(model.deals()) > 0


def _boxes(locator) -> list[dict]:
    return [locator.nth(i).bounding_box() for i in range(locator.count())]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(
    shutil.which("chromium") is None and not os.environ.get("SIM_REQUIRE_BROWSER"),
    reason="needs Debian's chromium (CI installs it and sets SIM_REQUIRE_BROWSER)",
)
def test_dashboard_in_a_real_browser(tmp_path):
    from playwright.sync_api import sync_playwright

    port = _free_port()
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim",
            "dashboard",
            str(ROOT / "scenarios" / "baseline.yaml"),
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.5)
        else:
            pytest.fail("dashboard server did not start: " + (tmp_path / "server.log").read_text())
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=shutil.which("chromium"),
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--no-first-run",
                    "--disable-sync",
                ],
            )
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.goto(f"http://127.0.0.1:{port}/", timeout=60_000)
            page.get_by_text("Press Step to simulate the first year.").wait_for(timeout=60_000)
            page.get_by_text("Year 2010: not simulated yet (0 of 12)").wait_for(timeout=30_000)
            # Every slider is usable: as wide as the sidebar, not a few pixels.
            widths = [box["width"] for box in _boxes(page.locator(".v-slider"))]
            assert len(widths) >= 5 and min(widths) > 150, widths
            step = page.get_by_role("button", name="Step")
            for _ in range(6):
                step.click()
                page.wait_for_timeout(400)
            page.get_by_text("Year 2015 simulated (6 of 12)").wait_for(timeout=60_000)
            page.get_by_text(
                re.compile(r"2010-2015: \d+ deals of dual_track, \d+ of diversification")
            ).wait_for(timeout=30_000)
            assert page.get_by_text("Press Step to simulate the first year.").count() == 0
            page.wait_for_timeout(1500)
            shot = tmp_path / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 50_000
            if os.environ.get("SIM_UPDATE_SCREENSHOT"):
                shutil.copyfile(shot, ROOT / "docs" / "dashboard.png")
            # Play runs the remaining years and stops at the last one.
            page.get_by_role("button", name="▶").click()
            page.get_by_text("Year 2021 finished (12 of 12)").wait_for(timeout=120_000)
            assert step.is_disabled()
            browser.close()
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=20)
        log.close()


def test_another_scenario_brings_its_own_years(render_page):
    model, _box, rc = render_page(show_views=False)
    years = rc.find(v.RangeSlider).widget
    years.v_model = [2015, 2021]  # inside JD.com's years too: must not be carried over
    rc.find(v.Select, label="Scenario").widget.v_model = "jd_baseline"
    first, last = (int(y) for y in model.value.world.years[[0, -1]])
    assert (first, last) == (2015, 2025)
    assert list(rc.find(v.RangeSlider).widget.v_model) == [first, last]


def test_mode_mix_compares_the_records_modes_only():
    from sim.analysis.ensemble import compared_mask
    from sim.app import mix_figure
    from sim.dashboard import DashboardModel

    model = DashboardModel(scenario_file=str(BASELINE))
    for _ in range(model.world.n_years):
        model.step()
    events = model.events
    assert (~compared_mask(events, model.world)).any()  # greenfield or exits were simulated
    ax = mix_figure(model, "mode").axes[0]
    shown = [t.get_text() for t in ax.get_xticklabels()]
    assert shown == ["cooperation", "minority", "control", "other"]
    assert set(shown) == set(model.world.history_modes)
    for container in ax.containers:  # each group of bars (both runs, the record) sums to one
        assert sum(bar.get_height() for bar in container) == pytest.approx(1.0)


def test_a_small_record_is_flagged(tmp_path):
    from sim.app import record_note
    from sim.dashboard import DashboardModel

    firm = ROOT / "tests" / "data" / "firms" / "synthetic_kr"
    scenario = tmp_path / "short.yaml"
    scenario.write_text(
        f"name: short\nfirm: {firm}\nyears: [2012, 2015]\n"
        "strategies:\n  - {label: g, policy: gravity}\n"
    )
    small = DashboardModel(scenario_file=str(scenario))
    n = int(small.history["year"].between(2012, 2015).sum())
    assert 0 < n < 30
    note = record_note(small)
    assert note is not None
    assert note.startswith(f"Small record: {n} events in 2012-2015 (fewer than 30)")
    assert record_note(DashboardModel(scenario_file=str(BASELINE))) is None


def test_the_selected_countrys_market_agent_and_the_firms_history_there(render_page):
    from solara.components.datatable import DataTableWidget

    from sim.dashboard import market_agent

    model, box, rc = render_page()
    rc.find(v.Select, label="Market agent").widget.v_model = "USA"
    for _ in range(3):
        rc.find(v.Btn, children=["Step"]).widget.click()
    text = texts(box)
    assert "Market agent USA, 2013" in text and "dual_track in USA (this run)" in text
    agent = market_agent(model.value, "USA")
    assert agent.maturity == model.value.world.maturity[3, model.value.world.iso3.index("USA")]
    tables = rc.find(DataTableWidget).widgets
    profile = next(t for t in tables if t.items and "attribute" in t.items[0])
    shown = {row["attribute"]: row["value"] for row in profile.items}
    assert shown["maturity (0-1)"] == f"{agent.maturity:.3f}"
    assert shown["barriers (data and dated events)"] == f"{agent.barriers:.3f}"
    assert shown["firm's completed deals"] == str(agent.deals)
    assert shown["host screening (response to the firm)"] == "0.000"  # off in baseline.yaml
    # The history table: every one of the firm's events in the USA so far, and nothing else.
    assert agent.history.size > 0
    (history,) = [t for t in tables if t.items and {r.get("iso3") for r in t.items} == {"USA"}]
    assert history.total_length == agent.history.size
    assert [int(r["year"]) for r in history.items] == agent.history["year"][:10].tolist()
    # Another country: its own agent.
    rc.find(v.Select, label="Market agent").widget.v_model = "DEU"
    assert "Market agent DEU, 2013" in texts(box)
