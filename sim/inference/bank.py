"""The simulation bank: histories drawn from each model's prior, stored and reused.

A model is a strategy of the scenario (its policy with the priors its parameters declare, and the
firm's shared count block with the priors :class:`sim.scenario.Firm` declares) or the no-theory
generator (:func:`no_theory_events`). Draws come in chunks of :data:`CHUNK`: chunk ``c`` of a model
takes its parameters and its runs' generators from ``SeedSequence(seed, spawn_key=(model stream,
BANK_STREAM, c))``, so a bank extended later holds exactly the draws a larger bank made at once
would hold, and every draw batches with the others through
:func:`sim.engine.simulate_points` (parameters along the run axis).

A pooled bank (several firms' records at once, :class:`Joint`) draws each theory's own parameters
once per draw and each firm's count block apart, simulates every firm in its own world with its
own generators, and keeps the firms' summaries side by side.

Only summaries and parameters are kept (:mod:`sim.inference.summaries`); event tables live for
one chunk. The bank is stored as one Parquet file per model with a fingerprint of what made it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.engine import simulate_points
from sim.events import EVENT_DTYPE
from sim.experiment.evaluator import Evaluator
from sim.experiment.runner import stream_key
from sim.experiment.store import code_version
from sim.inference.summaries import summarise, summary_names
from sim.modes import COMPARE_MODES, EVENT_MODE_NAMES
from sim.policies.base import Policy
from sim.priors import Prior, PriorChoice, choose, draw_table
from sim.scenario import Firm, Scenario
from sim.world import World

#: Draws per chunk: the unit of seeding, simulation and extension.
CHUNK = 500
#: Chunks of a model between two writes of its draws while a bank is built (resuming).
SPILL_CHUNKS = 40
#: Second spawn key of bank draws (runs of `sim run` use their point index there).
BANK_STREAM = 7_000_001
#: Label of the no-theory generator.
NO_THEORY = "no_theory"
#: Priors of the no-theory generator: a yearly count level and dispersion, no mechanism.
NO_THEORY_PRIORS = {
    "mean_per_year": Prior(0.0, 40.0, "up to 40 deals a year (60 opportunities bound a run)"),
    "dispersion": Prior(0.5, 20.0, "negative-binomial size: from very bursty to near Poisson"),
}


#: How a model simulates: (world, parameter table, generators) -> (events, run index).
Simulator = Callable[
    [World, dict[str, np.ndarray], list[np.random.Generator]], tuple[np.ndarray, np.ndarray]
]


@dataclass(frozen=True)
class Model:
    """One generator of histories: its label, its priors, and how it simulates runs.

    ``events`` takes the world to simulate: the calibration window's for the bank, the full
    years' for forecasts. ``unfitted`` holds the priors of home-regime effects the calibration
    window cannot identify (no event of their kinds in it): they are not in the bank (the window's
    histories do not depend on them) and forecasts draw them from these priors.
    """

    label: str
    priors: dict[str, Prior]
    events: Simulator
    unfitted: dict[str, Prior] = field(default_factory=dict)
    theory: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Joint:
    """A model of one firm's record, or of several firms' records at once (a pooled study).

    Pooled, a theory's own parameters (``theory``: its policy's priors) take one value for every
    firm, while each firm keeps its own count block and other firm-level parameters, named
    ``<firm>.<parameter>``: the records then speak jointly about the theory's mechanism, and
    each firm's scale and pace stay its own (issue 21). With one firm the names and draws are its
    model's own, so a one-firm bank is the bank of that model alone.

    Attributes:
        label: The model's label (the same in every firm's scenario).
        firms: The firms' names (their scenarios' names).
        parts: Each firm's model, in the order of ``firms``.
    """

    label: str
    firms: tuple[str, ...]
    parts: tuple[Model, ...]

    def name(self, firm: str, parameter: str) -> str:
        """A firm's parameter's name in the joint table (shared theory parameters unprefixed)."""
        shared = len(self.firms) == 1 or parameter in self.parts[0].theory
        return parameter if shared else f"{firm}.{parameter}"

    @property
    def priors(self) -> dict[str, Prior]:
        """Every parameter's prior: the first firm's (theory ones first), then the others'."""
        out: dict[str, Prior] = {}
        for firm, part in zip(self.firms, self.parts, strict=True):
            for k, p in part.priors.items():
                out.setdefault(self.name(firm, k), p)
        return out

    def columns(self, i: int) -> list[int]:
        """Positions in :attr:`priors` of firm ``i``'s model's parameters, in its own order."""
        names = list(self.priors)
        return [names.index(self.name(self.firms[i], k)) for k in self.parts[i].priors]


def joint(firms: Sequence[str], parts: Sequence[Model]) -> Joint:
    """The joint model of the same model in several firms' scenarios."""
    return Joint(parts[0].label, tuple(firms), tuple(parts))


def theory_model(
    label: str,
    scenario: Scenario,
    choice: PriorChoice,
    host_response: bool = False,
    identified: Collection[str] = (),
) -> Model:
    """A strategy of the scenario as a model: its declared priors over policy and count block.

    With ``host_response`` the host markets' screening response (off by default, ODD 7.12) is
    integrated over too, with the priors ``Firm.host_priors`` declares. When the scenario's
    history compares exits, so is the divestment decision (ODD 7.10, ``Firm.exit_priors``): the
    record's exits then say something about it (the weight of the theory's own retreat term
    only for a theory that has one). The home-regime effects with priors of their own
    (``Firm.regime_priors``) are integrated over when ``identified`` names them (the calibration
    window moves their index, :func:`sim.world.identified_effects`), and otherwise left to the
    forecasts (``unfitted``).
    """
    strategy = next(s for s in scenario.strategies if s.label == label)
    cls = strategy.policy_class()
    policy = cls(strategy.make_params())
    firm = strategy.firm_for(scenario.firm)
    priors = {**choose(cls.Params, choice), **choose(Firm, choice)}
    if host_response:
        priors |= choose(Firm, choice, "host_priors")
    if "exit" in scenario.history.modes:
        exits = choose(Firm, choice, "exit_priors")
        if cls.exit_log_odds is Policy.exit_log_odds:  # no retreat term: its weight does nothing
            del exits["exit_theory"]
        priors |= exits
    regime = choose(Firm, choice, "regime_priors")
    priors |= {k: p for k, p in regime.items() if k in identified}
    unfitted = {k: p for k, p in regime.items() if k not in identified}

    def run(
        world: World, table: dict[str, np.ndarray], gens: list[np.random.Generator]
    ) -> tuple[np.ndarray, np.ndarray]:
        return simulate_points(world, policy, firm, table, gens)

    return Model(label, priors, run, unfitted, frozenset(choose(cls.Params, choice)))


def no_theory_model() -> Model:
    """The no-theory generator as a model (see :func:`no_theory_events`)."""
    return Model(NO_THEORY, dict(NO_THEORY_PRIORS), no_theory_events)


def no_theory_events(
    world: World, table: dict[str, np.ndarray], gens: list[np.random.Generator]
) -> tuple[np.ndarray, np.ndarray]:
    """Histories with no mechanism: negative-binomial yearly counts, markets and modes at random.

    Each run draws its yearly counts (gamma-Poisson with the run's mean and dispersion), market
    weights from a Dirichlet(0.5) over the markets and mode weights from a Dirichlet(1) over the
    compared modes; its events fall on markets and modes by those weights. A persistence-like
    null: whatever level and mix it has, nothing in it depends on a market's attributes.
    """
    modes = np.asarray([COMPARE_MODES.index(m) for m in world.history_modes])
    other = COMPARE_MODES.index("other")
    parts, runs = [], []
    for r, rng in enumerate(gens):
        k, mu = table["dispersion"][r], table["mean_per_year"][r]
        counts = rng.poisson(rng.gamma(k, mu / k, size=world.n_years))
        n = int(counts.sum())
        ev = np.zeros(n, dtype=EVENT_DTYPE)
        ev["year"] = np.repeat(world.years, counts)
        where = rng.dirichlet(np.full(world.n_markets, 0.5))
        ev["market"] = rng.choice(world.n_markets, size=n, p=where)
        code = modes[rng.choice(len(modes), size=n, p=rng.dirichlet(np.ones(len(modes))))]
        ev["blocked"] = code == other
        ev["mode"] = np.where(code == other, EVENT_MODE_NAMES.index("cooperation"), code)
        parts.append(ev)
        runs.append(np.full(n, r, dtype=np.int64))
    if not parts:
        return np.empty(0, EVENT_DTYPE), np.empty(0, np.int64)
    return np.concatenate(parts), np.concatenate(runs)


def simulate_chunk(model: Joint, worlds: Sequence[World], seed: int, chunk: int) -> pd.DataFrame:
    """One chunk of a model's bank: parameter draws and summaries, one row per draw.

    The chunk's generator draws every parameter (module docstring); each firm's runs take their
    own spawned generators, and a draw's summaries are the firms' side by side.
    """
    root = np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(stream_key(model.label), BANK_STREAM, chunk))
    )
    gens = [root.spawn(CHUNK) for _ in worlds]
    table = draw_table(model.priors, root, CHUNK)
    parts = []
    for i, (firm, part, world) in enumerate(zip(model.firms, model.parts, worlds, strict=True)):
        own = {k: table[model.name(firm, k)] for k in part.priors}
        events, run = part.events(world, own, gens[i])
        parts.append(summarise(events, run, CHUNK, world))
    x = np.hstack(parts)
    columns = {f"param.{k}": v for k, v in table.items()}
    columns["draw"] = chunk * CHUNK + np.arange(CHUNK)
    columns |= {str(j): x[:, j] for j in range(x.shape[1])}
    return pd.DataFrame(columns)


@dataclass
class Bank:
    """Summaries of simulated histories, with each one's model and parameters.

    Attributes:
        models: Model labels, in order.
        names: Summary names (the columns of ``x``).
        x: Summaries, shape (draws, summaries).
        model: Index into ``models`` of each draw.
        params: Per model, its parameter draws (rows in the order of that model's rows of ``x``).
    """

    models: list[str]
    names: list[str]
    x: np.ndarray
    model: np.ndarray
    params: dict[str, pd.DataFrame]

    def rows(self, label: str) -> np.ndarray:
        """Row indices of one model's draws."""
        return np.flatnonzero(self.model == self.models.index(label))


def fingerprint(scenarios: Sequence[Scenario], choice: PriorChoice, models: Sequence[Joint]) -> str:
    """What a stored bank must match to be reused: scenarios, priors, models and code."""
    exclude = {"name", "description", "replications"}
    payload = {
        "scenarios": [s.model_dump(mode="json", exclude=exclude) for s in scenarios],
        "choice": choice,
        "priors": {m.label: {k: [p.low, p.high] for k, p in m.priors.items()} for m in models},
        "code": code_version(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[
        :16
    ]


def load_stored(folder: Path, label: str, key: str) -> pd.DataFrame | None:
    """A model's stored draws, or None when absent, unreadable or made by something else."""
    path = folder / f"{label}.parquet"
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid):
        return None
    meta = table.schema.metadata or {}
    if meta.get(b"sim.bank") != key.encode():
        return None
    return table.to_pandas()


def store(frame: pd.DataFrame, folder: Path, label: str, key: str) -> None:
    """Write a model's draws with the bank's fingerprint."""
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(
        table.replace_schema_metadata({b"sim.bank": key.encode()}), folder / f"{label}.parquet"
    )


def assemble(frames: dict[str, pd.DataFrame], names: list[str]) -> Bank:
    """A bank from each model's draws (summary columns ``"0"``..``"k-1"``)."""
    models = list(frames)
    xs, idx, params = [], [], {}
    for i, (label, frame) in enumerate(frames.items()):
        xs.append(frame[[str(j) for j in range(len(names))]].to_numpy(float))
        idx.append(np.full(len(frame), i))
        params[label] = (
            frame[[c for c in frame.columns if c.startswith("param.")]]
            .rename(columns=lambda c: c[len("param.") :])
            .reset_index(drop=True)
        )
    return Bank(models, names, np.vstack(xs), np.concatenate(idx), params)


def bank_names(firms: Sequence[str], worlds: Sequence[World]) -> list[str]:
    """Summary names of a bank: each firm's, prefixed by the firm when there are several."""
    if len(worlds) == 1:
        return summary_names(worlds[0])
    return [f"{f}.{n}" for f, w in zip(firms, worlds, strict=True) for n in summary_names(w)]


def _longest_stored(folders: Sequence[Path], label: str, key: str) -> pd.DataFrame | None:
    """A model's most draws stored in any of ``folders`` (with the bank's fingerprint)."""
    found = [f for f in (load_stored(folder, label, key) for folder in folders) if f is not None]
    return max(found, key=len, default=None)


def build_bank(
    models: Sequence[Joint],
    worlds: Sequence[World],
    draws: int,
    seed: int,
    key: str,
    stored: Sequence[Path] = (),
    progress: Callable[[int], object] | None = None,
    spill: Path | None = None,
) -> tuple[Bank, dict[str, pd.DataFrame]]:
    """Each model's first ``draws`` draws (rounded up to whole chunks), reusing stored chunks.

    Args:
        models: The models to draw from.
        worlds: Each firm's world (one for a one-firm bank).
        draws: Draws per model.
        seed: The scenario's seed (chunks spawn their streams from it).
        key: The bank's fingerprint (:func:`fingerprint`).
        stored: Folders whose stored draws (of this bank's fingerprint) are reused.
        progress: Called with the number of draws each simulated chunk adds.
        spill: Where each model's draws are written every :data:`SPILL_CHUNKS` chunks and when
            complete, so an interrupted build resumes from them (pass it in ``stored`` too).

    Returns:
        The bank and each model's frame of draws (for storing).
    """
    n_chunks = -(-draws // CHUNK)
    parts: dict[str, list[pd.DataFrame]] = {}
    todo: list[tuple[Joint, int]] = []
    for model in models:
        old = _longest_stored(stored, model.label, key)
        have = (
            []
            if old is None
            else [old[old["draw"] // CHUNK == c] for c in range(len(old) // CHUNK)]
        )
        parts[model.label] = have[:n_chunks]
        todo += [(model, c) for c in range(len(parts[model.label]), n_chunks)]
    with Evaluator() as evaluator:
        chunks = evaluator.evaluate(partial(_simulate, tuple(worlds), seed), todo)
        for (model, chunk), frame in zip(todo, chunks, strict=True):
            done = parts[model.label]
            done.append(frame)
            if spill is not None and (chunk + 1 == n_chunks or len(done) % SPILL_CHUNKS == 0):
                store(pd.concat(done, ignore_index=True), spill, model.label, key)
            if progress is not None:
                progress(CHUNK)
    frames = {label: pd.concat(p, ignore_index=True) for label, p in parts.items()}
    return assemble(frames, bank_names(models[0].firms, worlds)), frames


def _simulate(worlds: tuple[World, ...], seed: int, item: tuple[Joint, int]) -> pd.DataFrame:
    """:func:`simulate_chunk` of one ``(model, chunk)`` task of the evaluator."""
    model, chunk = item
    return simulate_chunk(model, worlds, seed, chunk)
