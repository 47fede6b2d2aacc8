"""The dashboard: two strategies side by side, year by year, beside the real record.

Launch with ``sim dashboard [SCENARIO]`` (or ``solara run sim/app.py``). The sidebar picks a
scenario (the shipped ones or a file path), the strategy and the one it is compared with, the
hurdle of a deal, the size weight, barrier shocks on/off and the seed; any change starts a new
run at once (so what the selectors show is what runs). Mesa's ``ModelController`` gives Step /
Play / Reset; Play stops after the last year (the model's ``running``). The header shows the
year. Views, for a chosen range of years: a map of countries (Natural Earth 1:110m, shipped)
coloured by each strategy's simulated deals and by the record's; deals per year of both
strategies and the record (from the model's ``DataCollector``); the ensemble view (median and
5-95 % band over N batched runs of both strategies); mode and region mixes; the deals of both
runs and of the record side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import solara
from matplotlib.collections import PatchCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch
from matplotlib.path import Path as MplPath
from mesa.visualization.solara_viz import ModelController
from mesa.visualization.utils import force_update, update_counter

from sim.analysis.ensemble import COMPARE_MODES, mode_columns
from sim.dashboard import (
    MARKET_ATTRIBUTES,
    DashboardModel,
    compared_events,
    has_size_weight,
    market_history,
    market_profile,
    shipped_scenarios,
    strategy_labels,
)
from sim.data.shapes import country_shapes, market_shapes

COLOURS = ("#1b9e77", "#7570b3")  # chosen strategy, compared strategy
RECORD = "record"
#: Below this many record events the page says that shares and scores rest on few events.
SMALL_RECORD = 30
PLAY_INTERVAL_MS = 300
MAP_GID = "markets:"  # gid prefix of each map panel's market shapes (tests read it)
#: Vuetify puts a slider's label on the slider's line, so a long label squeezed the slider to a
#: few pixels; the label goes above it instead and the slider takes the sidebar's width.
CSS = """
.v-input__slider .v-input__slot { flex-wrap: wrap; }
.v-input__slider .v-input__slot > .v-label { flex: 0 0 100%; margin-bottom: 28px; }
.v-input__slider .v-slider { min-width: 200px; }
"""


# ---------------------------------------------------------------------------------------------
# Figures (plain functions of the model, testable without a browser)


@lru_cache(maxsize=4)
def _market_paths(iso3: tuple[str, ...], coords: tuple[tuple[float, float], ...]) -> list[MplPath]:
    """One compound path per market (its 1:110m outline, or a disc for a tiny market)."""
    shapes = market_shapes(iso3, np.asarray(coords))
    return [
        MplPath.make_compound_path(*(MplPath(r, closed=True) for r in rings)) for rings in shapes
    ]


@lru_cache(maxsize=4)
def _background_path(iso3: tuple[str, ...]) -> MplPath:
    """Every other country as one compound path (drawn grey, under the markets)."""
    markets = set(iso3)
    return MplPath.make_compound_path(
        *(
            MplPath(r, closed=True)
            for code, _, rings in country_shapes()
            if code not in markets and code != "ATA"  # Antarctica: below the frame
            for r in rings
        )
    )


def _range(model: DashboardModel, years: tuple[int, int]) -> tuple[int, int]:
    """The chosen year range cut at the last simulated year (empty before the first step).

    The record is cut there too, so every view compares the runs and the record over the same
    years.
    """
    first, last = years
    if not model.years_done:
        return first, first - 1
    return first, min(last, model.last_year)


def map_figure(model: DashboardModel, years: tuple[int, int]) -> Figure:
    """Countries coloured by deals in a range of years: both strategies' runs and the record.

    Each panel has one shape per market (gid ``markets:<label>``) whose colour value is the
    panel's deals in that market; all panels share one colour scale.
    """
    world = model.world
    first, last = _range(model, years)
    counts = model.market_counts(first, last)
    norm = Normalize(vmin=0, vmax=max(1, *(int(v.max()) for v in counts.values())))
    coords = tuple((float(lat), float(lon)) for lat, lon in np.asarray(world.coords))
    paths = _market_paths(world.iso3, coords)
    background = _background_path(world.iso3)
    fig = Figure(figsize=(15, 2.5), layout="constrained")
    axes = fig.subplots(1, 3)
    mappable: PatchCollection | None = None
    for ax, (label, values) in zip(axes, counts.items(), strict=True):
        ax.add_collection(
            PatchCollection(
                [PathPatch(background)], facecolor="#e0e0e0", edgecolor="white", lw=0.3
            ),
            autolim=False,
        )
        shapes = PatchCollection(
            [PathPatch(p) for p in paths], cmap="YlOrRd", norm=norm, edgecolor="#555555", lw=0.3
        )
        shapes.set_array(values.astype(float))
        shapes.set_gid(MAP_GID + label)
        mappable = ax.add_collection(shapes, autolim=False)
        ax.set_xlim(-170, 180)
        ax.set_ylim(-57, 80)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        who = "the record" if label == RECORD else f"{label} (this run)"
        span = f"{first}-{last}" if last >= first else "none yet"
        ax.set_title(f"{who}: {int(values.sum())} deals, {span}", fontsize=9)
    assert mappable is not None
    fig.colorbar(mappable, ax=list(axes), shrink=0.9, label="deals", pad=0.005, aspect=15)
    return fig


def deals_per_year_figure(model: DashboardModel) -> Figure:
    """Both strategies' deals per simulated year (the DataCollector's rows) and the record's."""
    world = model.world
    rows = model.yearly()
    actual = model.history["year"].value_counts().reindex(world.years, fill_value=0).to_numpy()
    fig = Figure(figsize=(6, 3.2))
    ax = fig.subplots()
    labels = [c for c in rows.columns if c not in ("year", RECORD)]
    for k, (label, colour) in enumerate(zip(labels, COLOURS, strict=False)):
        if rows.empty:
            break
        ax.bar(rows["year"] + (k - 0.5) * 0.4, rows[label], 0.4, color=colour, label=label)
    ax.plot(world.years, actual, color="black", marker="o", lw=1.8, label="actual record")
    ax.set_xticks(world.years[::2])
    done = ", ".join(f"{label} {int(rows[label].sum())}" for label in labels)
    ax.set_title(f"Deals per year so far: {done or 'none yet'}", fontsize=9)
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def ensemble_figure(model: DashboardModel, runs: int) -> Figure:
    """Median and 5-95 % band of deals per year over ``runs`` runs of each shown strategy."""
    world = model.world
    actual = model.history["year"].value_counts().reindex(world.years, fill_value=0).to_numpy()
    fig = Figure(figsize=(6, 3.2))
    ax = fig.subplots()
    for (label, yearly), colour in zip(model.ensemble_yearly(runs).items(), COLOURS, strict=False):
        lo, med, hi = np.percentile(yearly, [5, 50, 95], axis=0)
        ax.fill_between(world.years, lo, hi, color=colour, alpha=0.25)
        ax.plot(world.years, med, color=colour, lw=2, label=f"{label} (median, 5-95 %)")
    ax.plot(world.years, actual, color="black", marker="o", lw=1.5, label="actual record")
    ax.set_xticks(world.years[::2])
    ax.set_title(f"Ensemble: {runs} runs per strategy", fontsize=9)
    ax.legend(frameon=False, fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def _codes(model: DashboardModel, ev: np.ndarray, kind: str) -> np.ndarray:
    if kind == "mode":
        return np.where(ev["blocked"] == 1, len(COMPARE_MODES) - 1, ev["mode"])
    return model.world.region[ev["market"]]


def mix_figure(model: DashboardModel, kind: str) -> Figure:
    """Share of deals by mode or region so far: both runs and the record to the same year."""
    world = model.world
    history = (
        model.history[model.history["year"] <= model.last_year]
        if model.years_done
        else (model.history.iloc[:0])
    )
    # Only the modes the scenario compares, for the runs and the record alike.
    columns = mode_columns(world) if kind == "mode" else np.arange(len(world.regions))
    pool = COMPARE_MODES if kind == "mode" else world.regions
    names = [pool[i] for i in columns]
    column = "mode" if kind == "mode" else "region"
    shares = {}
    for label, run in ((model.strategy_label, model), (model.compare_name, model.rival)):
        codes = _codes(model, compared_events(run), kind)
        counts = np.bincount(codes, minlength=len(pool))[columns].astype(float)
        shares[label] = counts / counts.sum() if counts.sum() else counts
    actual = history[column].value_counts().reindex(names, fill_value=0).to_numpy(float)
    shares["record (same years)"] = actual / actual.sum() if actual.sum() else actual
    fig = Figure(figsize=(6, 3.2))
    ax = fig.subplots()
    x = np.arange(len(names))
    for k, ((label, share), colour) in enumerate(
        zip(shares.items(), (*COLOURS, "black"), strict=True)
    ):
        ax.bar(x + (k - 1) * 0.27, share, 0.27, color=colour, label=label)
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("share of deals")
    upto = f"to {model.last_year}" if model.years_done else "(none yet)"
    ax.set_title(f"{kind.capitalize()} mix {upto}", fontsize=9)
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def deal_tables(model: DashboardModel, years: tuple[int, int]) -> dict[str, pd.DataFrame]:
    """The deals of both runs and of the record in a range of years (cut at the last one run)."""
    first, last = _range(model, years)
    out = {}
    for label, run in ((model.strategy_label, model), (model.compare_name, model.rival)):
        deals = model.deals(run)
        keep = (deals["year"] >= first) & (deals["year"] <= last)
        out[label] = deals[keep][["year", "iso3", "mode", "blocked", "industry"]]
    hist = model.history
    out[RECORD] = hist[(hist["year"] >= first) & (hist["year"] <= last)][
        ["year", "target", "country_iso3", "mode"]
    ]
    return {k: v.reset_index(drop=True) for k, v in out.items()}


# ---------------------------------------------------------------------------------------------
# Components


def record_note(model: DashboardModel) -> str | None:
    """A warning when the compared record is small (its shares then move a lot per event)."""
    first, last = (int(y) for y in model.world.years[[0, -1]])
    n = int(model.history["year"].between(first, last).sum())
    if n >= SMALL_RECORD:
        return None
    return (
        f"Small record: {n} events in {first}-{last} (fewer than {SMALL_RECORD}). One deal more or "
        "less moves its shares by several points: read the comparisons as rough."
    )


def year_status(model: DashboardModel) -> str:
    """The header's year: the year just simulated, how far the run is, or that it has ended."""
    n = model.world.n_years
    if not model.years_done:
        return f"Year {model.world.years[0]}: not simulated yet (0 of {n})"
    state = "finished" if not model.running else "simulated"
    return f"Year {model.last_year} {state} ({model.years_done} of {n})"


@solara.component
def YearHeader(model: DashboardModel):
    """The year in the app bar; re-rendered after every step."""
    update_counter.get()
    return solara.Text(year_status(model), style={"font-size": "1.1rem", "font-weight": "bold"})


@solara.component
def EnsembleView(model: DashboardModel, runs: int):
    """The ensemble figure; drawn again only when the settings or ``runs`` change, not per step."""
    fig = solara.use_memo(
        lambda: ensemble_figure(model, runs), [model.scenario_file, model.settings, runs]
    )
    return solara.FigureMatplotlib(fig, format="png")


def market_card(model: DashboardModel, iso3: str) -> None:
    """The selected country's market agent: its attributes and the firm's history there.

    A plain function drawn inside :func:`Views`, so it is redrawn with it after every step. The
    attributes are those of the year the next step simulates (the last once finished).
    """
    with solara.Card(f"Market agent {iso3}, {model.year}"), solara.Columns([1, 2]):
        solara.DataFrame(market_profile(model, iso3), items_per_page=len(MARKET_ATTRIBUTES))
        with solara.Column():
            solara.Text(f"{model.strategy_label} in {iso3} (this run)")
            solara.DataFrame(market_history(model, iso3), items_per_page=10)


@solara.component
def Views(model: DashboardModel, years: tuple[int, int], runs: int, market: str):
    """Every view of the current run, re-rendered after every step."""
    update_counter.get()
    first, last = _range(model, years)
    tables = deal_tables(model, years)
    note = record_note(model)
    with solara.Column(style={"width": "100%"}) as main:
        if note:
            solara.Warning(note)
        solara.FigureMatplotlib(map_figure(model, years), format="png")
        with solara.Columns([1, 1]):
            solara.FigureMatplotlib(deals_per_year_figure(model), format="png")
            EnsembleView(model, runs)
        with solara.Columns([1, 1]):
            solara.FigureMatplotlib(mix_figure(model, "mode"), format="png")
            solara.FigureMatplotlib(mix_figure(model, "region"), format="png")
        if model.years_done:
            a, b = model.strategy_label, model.compare_name
            solara.Markdown(
                f"**{first}-{last}: {len(tables[a])} deals of {a}, {len(tables[b])} of {b}, "
                f"{len(tables[RECORD])} in the record**"
            )
        else:
            solara.Markdown("**Press Step to simulate the first year.**")
        with solara.Columns([1, 1, 1]):
            for label, table in tables.items():
                with solara.Column():
                    solara.Text(label if label == RECORD else f"{label} (this run)")
                    solara.DataFrame(table, items_per_page=10)
        market_card(model, market)
    return main


def _params_of(model: DashboardModel) -> dict[str, Any]:
    """The keyword arguments that rebuild a model like ``model`` (Mesa's Reset uses them)."""
    label, compare, hurdle, beta_size, shocks, seed = model.settings
    return {
        "scenario_file": model.scenario_file,
        "strategy": label,
        "compare": compare,
        "hurdle": hurdle,
        "beta_size": beta_size,
        "shocks": shocks,
        "seed": seed,
    }


def _scenario_controls(
    scenarios: dict[str, str],
    current_file: str | None,
    path_text: solara.Reactive[str],
    pick: Callable[[str], None],
    error: str,
) -> None:
    """A shipped scenario, or any file typed in; a bad file is reported, the run kept."""
    names = {v: k for k, v in scenarios.items()}
    choice = names.get(str(Path(current_file).resolve()) if current_file else "")
    solara.Select(
        "Scenario",
        value=choice,
        values=list(scenarios),
        on_value=lambda name: pick(scenarios[name]),
    )
    solara.InputText(
        "or a scenario file (press Enter)",
        value=path_text,
        on_value=lambda text: pick(text.strip()) if text.strip() else None,
    )
    if error:
        solara.Error(error)


def _strategy_controls(
    m: DashboardModel, labels: list[str], params: dict[str, Any], rebuild: Callable[..., None]
) -> None:
    """The strategy pickers and the run's settings; any change starts a new run."""
    solara.Select(
        "Strategy", value=m.strategy_label, values=labels, on_value=lambda v: rebuild(strategy=v)
    )
    solara.Select(
        "Compared with",
        value=m.compare_label,
        values=labels,
        on_value=lambda v: rebuild(compare=v),
    )
    solara.SliderFloat(
        "Hurdle of a deal (higher: fewer deals)",
        value=float(m.firm.config.hurdle),
        min=-2.0,
        max=8.0,
        step=0.25,
        on_value=lambda v: rebuild(hurdle=v),
        thumb_label="always",
    )
    if has_size_weight(m):
        solara.SliderFloat(
            "Weight on market size",
            value=float(getattr(m.firm.policy.params, "beta_size", 1.0)),
            min=0.0,
            max=3.0,
            step=0.1,
            on_value=lambda v: rebuild(beta_size=v),
            thumb_label="always",
        )
    else:
        solara.Text(f"{m.strategy_label} has no weight on market size.")
    solara.Checkbox(
        label="Barrier events and shocks",
        value=bool(params["shocks"]),
        on_value=lambda v: rebuild(shocks=v),
    )
    solara.SliderInt(
        "Seed",
        value=int(params["seed"]),
        min=0,
        max=999,
        on_value=lambda v: rebuild(seed=v),
        thumb_label="always",
    )


def _view_controls(
    years: solara.Reactive[tuple[int, int]],
    runs: solara.Reactive[int],
    span: tuple[int, int],
    market: solara.Reactive[str],
    markets: list[str],
) -> str:
    """What the views show: years, runs of the ensemble view, and the market agent.

    Returns the market agent shown: the chosen one, or the first when it is not a market here.
    """
    solara.SliderRangeInt(
        "Years on the map and in the tables",
        value=years,
        min=span[0],
        max=span[1],
        thumb_label="always",
    )
    solara.SliderInt(
        "Runs in the ensemble view", value=runs, min=50, max=1000, step=50, thumb_label="always"
    )
    shown = market.value if market.value in markets else markets[0]
    solara.Select("Market agent", value=shown, values=markets, on_value=market.set)
    return shown


@solara.component
def Page(
    model: solara.Reactive[DashboardModel] | None = None,
    play_interval: int = PLAY_INTERVAL_MS,
    show_views: bool = True,
):
    """The dashboard page.

    Args:
        model: A reactive model to show (e.g. from a test); None: a new default model.
        play_interval: Milliseconds between two years when playing.
        show_views: False: the header and the sidebar only (a quick test of the controls).
    """
    initial = solara.use_memo(lambda: model.value if model is not None else DashboardModel(), [])
    own: solara.Reactive[DashboardModel] = solara.use_reactive(initial)
    current = model if model is not None else own
    params = solara.use_reactive(_params_of(current.value))
    generation = solara.use_reactive(0)
    first, last = (int(y) for y in current.value.world.years[[0, -1]])
    years = solara.use_reactive((first, last))
    runs = solara.use_reactive(200)
    market = solara.use_reactive(current.value.world.iso3[0])
    path_text = solara.use_reactive("")
    error = solara.use_reactive("")
    scenarios = solara.use_memo(shipped_scenarios, [])
    # Mesa's ModelController steps the model in its reactive until the model stops running. Each
    # run gets a reactive of its own, so a Play loop still going when the settings change steps
    # only the old run (stopped below), never the new one; Reset in the controller replaces the
    # run's model, and the page follows it.
    run: solara.Reactive[DashboardModel] = solara.use_memo(
        lambda: solara.Reactive(current.value), [generation.value]
    )
    solara.use_effect(lambda: run.subscribe(current.set), [run])

    def rebuild(**changes: Any) -> None:
        """Start a new run with the changed settings at once (the selectors stay honest)."""
        wanted = {**params.value, **changes}
        try:
            built = DashboardModel(**wanted)
        except Exception as exc:  # a bad scenario file: say so, keep the current run
            error.set(f"{wanted['scenario_file']}: {exc}".splitlines()[0])
            return
        error.set("")
        current.value.running = False  # ends a Play loop on the old run
        params.set(_params_of(built))
        current.set(built)
        span = (int(built.world.years[0]), int(built.world.years[-1]))
        new_scenario = "scenario_file" in changes
        if new_scenario or not (span[0] <= years.value[0] <= years.value[1] <= span[1]):
            years.set(span)  # another scenario: its own years, never the previous one's
        generation.set(generation.value + 1)
        force_update()

    def pick_scenario(path: str) -> None:
        rebuild(scenario_file=path, strategy=None, compare=None, hurdle=None, beta_size=None)

    m = current.value
    labels = strategy_labels(m.scenario_file)

    solara.Style(CSS)
    with solara.AppBar():
        solara.AppBarTitle(f"sim: {m.scenario_name}, {m.strategy_label} vs {m.compare_label}")
        YearHeader(m)
    with solara.Sidebar(), solara.Column(style={"min-width": "300px"}):
        with solara.Card("Run"):
            ModelController(
                run,
                model_parameters=params,
                play_interval=solara.use_reactive(play_interval),
                render_interval=solara.use_reactive(1),
                use_threads=solara.use_reactive(False),
            ).key(f"controller-{generation.value}")
            solara.Text("Changing a setting below starts a new run.")
        with solara.Card("Scenario"):
            _scenario_controls(scenarios, m.scenario_file, path_text, pick_scenario, error.value)
        with solara.Card("Strategies"):
            _strategy_controls(m, labels, params.value, rebuild)
        with solara.Card("Views"):
            shown = _view_controls(years, runs, (first, last), market, list(m.world.iso3))
    if show_views:
        Views(m, years.value, runs.value, shown)


page = Page()
