"""The SolaraViz dashboard: rendered in process, and served and clicked in a real browser."""

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
YEAR_LINE = r"20\d\d: \d+ simulated deals, \d+ in the record"


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


def test_dashboard_steps_and_resets_in_process():
    import sim.app as app

    box, rc = solara.render(solara.AppLayout(children=[app.page]), handle_error=False)
    assert "Press Step to simulate the first year." in texts(box)
    before = images(box)
    assert len(before) == 5  # map, deals per year, ensemble view, mode mix, region mix
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert re.findall(YEAR_LINE, texts(box))[0].startswith("2010: ")
    rc.find(v.Btn, children=["Step"]).widget.click()
    assert re.findall(YEAR_LINE, texts(box))[0].startswith("2011: ")
    after = images(box)
    assert sum(a != b for a, b in zip(before, after, strict=True)) >= 2
    rc.find(v.Btn, children=["Reset"]).widget.click()
    assert "Press Step to simulate the first year." in texts(box)


def test_scenario_preloads_its_strategies(monkeypatch):
    from sim import dashboard

    monkeypatch.setenv(dashboard.SCENARIO_ENV, str(ROOT / "scenarios" / "mature_first.yaml"))
    assert dashboard.strategy_labels() == ["emerging_first", "mature_first", "springboard"]
    params = dashboard.model_params()
    assert params["strategy"]["values"] == ["emerging_first", "mature_first", "springboard"]
    model = dashboard.DashboardModel(strategy="mature_first", seed=4)
    assert model.firm.policy.params.direction == -1
    for _ in range(12):
        model.step()
    assert not model.running and len(model.deals()) > 0


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
            step = page.get_by_role("button", name="Step")
            for _ in range(6):
                step.click()
                page.wait_for_timeout(400)
            page.get_by_text(re.compile(r"2015: \d+ simulated deals")).wait_for(timeout=30_000)
            assert page.get_by_text("Press Step to simulate the first year.").count() == 0
            page.wait_for_timeout(1000)
            shot = tmp_path / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 50_000
            if os.environ.get("SIM_UPDATE_SCREENSHOT"):
                shutil.copyfile(shot, ROOT / "docs" / "dashboard.png")
            browser.close()
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=20)
        log.close()
