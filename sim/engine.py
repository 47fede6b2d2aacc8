"""The model's yearly step, written once with a leading run axis (ODD section 7).

Every run of an ensemble is a row of the same arrays: ``commitment[r, j]`` is run r's commitment
in market j. One call of :func:`step` advances all rows by one year with a few dozen numpy
operations, so a batch of a thousand runs costs little more than one run. The Mesa model
(:mod:`sim.model`) steps a batch of one through the same function: there is a single definition
of the model.

A year, for every run at once:

1. The policy scores every (market, mode) option (log-utilities, shape runs x markets x modes).
2. Firm-level terms common to every theory are added: deterrence by the anticipated blocking
   probability, depletion of a market's pool of targets, and the feasibility masks (closed
   markets, a second control of a controlled market).
3. The firm screens ``opportunities`` deal opportunities. Each is taken with the logit
   probability of the best option against an *outside option* (no deal), whose utility — the
   hurdle — falls with the firm's resources and rises with its integration load (the Penrose
   effect) and a restrictive home outbound regime. So how many deals a year sees is an outcome
   of the utilities and the firm's state, not a budget that is always spent.
4. A taken opportunity becomes the option drawn from the (market, mode) logit, then an industry
   from a second-stage logit; the host may block it (blocked attempts are recorded, as the
   record counts failed and abandoned deals).
5. Completed deals raise commitment, experience, the integration load and the per-market and
   per-industry deal counts.

Reproducibility: all of a run's random numbers are drawn up front from its own generator
(:class:`RunDraws`), and every operation is elementwise per row or a reduction along a row, so a
run's events are bit-for-bit the same whether it is stepped alone or in a batch of any size.
Draws of a discrete option use a 2**-32 grid on integer keys (:func:`_pick`), which keeps the
batched inverse-CDF search exact whatever the run's row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.events import EVENT_DTYPE
from sim.modes import CONTROL, LEARNING, LOAD, MAX_COMMITMENT, N_MODES, RANK
from sim.policies.base import FirmView, Policy
from sim.scenario import Firm
from sim.world import World

_GRID = float(2**32)
_ROW = np.int64(2**33)


@dataclass(frozen=True)
class RunDraws:
    """Every random number one run uses, drawn up front from the run's own generator.

    Attributes:
        uniforms: Shape (4, years, opportunities): take-or-leave, option, block and industry
            uniforms for each opportunity of each year.
        climate: Standard normal shock to the hurdle per year, shape (years,).
    """

    uniforms: np.ndarray
    climate: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, n_years: int, opportunities: int) -> RunDraws:
        """Draw a run's numbers (two calls on its generator, always in this order)."""
        return cls(rng.random((4, n_years, opportunities)), rng.standard_normal(n_years))


def draw_batch(
    generators: Sequence[np.random.Generator], n_years: int, opportunities: int
) -> tuple[np.ndarray, np.ndarray]:
    """Draw many runs' numbers straight into batch arrays (same numbers as :meth:`RunDraws.draw`).

    Returns:
        ``uniforms`` of shape (runs, 4, years, opportunities) and ``climate`` of shape
        (runs, years).
    """
    uniforms = np.empty((len(generators), 4, n_years, opportunities))
    climate = np.empty((len(generators), n_years))
    for r, rng in enumerate(generators):
        rng.random(out=uniforms[r])
        rng.standard_normal(out=climate[r])
    return uniforms, climate


def stack_draws(draws: Sequence[RunDraws]) -> tuple[np.ndarray, np.ndarray]:
    """Batch arrays from per-run draws (uniforms (runs, 4, years, K); climate (runs, years))."""
    return np.stack([d.uniforms for d in draws]), np.stack([d.climate for d in draws])


class BatchState:
    """The firm's state in every run of a batch (rows are runs).

    Attributes:
        commitment: Highest rung reached per run and market (0 none ... 3 control).
        experience: Market-specific experience per run and market.
        deals: Completed deals per run and market.
        mode_deals: Completed deals per run and mode.
        industry_deals: Completed deals per run and industry.
        load: Integration load per run (decays each year; see :func:`step`).
    """

    def __init__(self, world: World, n_runs: int, spillover: float) -> None:
        n, i = world.n_markets, len(world.industries)
        self.commitment = np.zeros((n_runs, n), dtype=np.int8)
        self.experience = np.zeros((n_runs, n))
        self.deals = np.zeros((n_runs, n), dtype=np.int32)
        self.mode_deals = np.zeros((n_runs, N_MODES), dtype=np.int32)
        self.industry_deals = np.zeros((n_runs, i), dtype=np.int32)
        self.load = np.zeros(n_runs)
        self.view = FirmView(
            year=int(world.years[0]),
            step=0,
            commitment=self.commitment,
            experience=self.experience,
            deals=self.deals,
            mode_deals=self.mode_deals,
            industry_deals=self.industry_deals,
            region=world.region,
            n_regions=len(world.regions),
            spillover=spillover,
        )

    @property
    def n_runs(self) -> int:
        """Rows in the batch."""
        return int(self.commitment.shape[0])


def _pick(weights: np.ndarray, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draws from rows' categorical distributions, exact under batching.

    Args:
        weights: Non-negative weights, shape (runs, options); every row used sums to > 0.
        rows: The row each draw belongs to, shape (draws,).
        u: One uniform in [0, 1) per draw, shape (draws,).

    Returns:
        Option index per draw. Cumulative shares and uniforms are put on a 2**-32 grid as
        integers and offset by row, so one ``searchsorted`` serves the whole batch and gives each
        row exactly what it would give alone.
    """
    n_runs, n_opt = weights.shape
    cum = np.cumsum(weights, axis=1)
    keys = np.floor(cum / cum[:, -1:] * _GRID).astype(np.int64)
    keys += np.arange(n_runs, dtype=np.int64)[:, None] * _ROW
    offset = rows.astype(np.int64) * _ROW
    flat = np.searchsorted(keys.ravel(), np.floor(u * _GRID).astype(np.int64) + offset, "right")
    return flat - rows.astype(np.int64) * n_opt


def _first_controls(rows: np.ndarray, markets: np.ndarray, modes: np.ndarray) -> np.ndarray:
    """Keep-mask dropping every control draw in a market after the run's first that year."""
    keep = np.ones(rows.size, dtype=bool)
    control = np.flatnonzero(modes == CONTROL)
    if control.size < 2:
        return keep
    key = rows[control].astype(np.int64) * 100_000 + markets[control]
    _, first = np.unique(key, return_index=True)
    if first.size < control.size:
        keep[control] = False
        keep[control[first]] = True
    return keep


def _utilities(
    world: World, policy: Policy, firm: Firm, state: BatchState, t: int
) -> np.ndarray:
    """This year's log-utilities of every option with the firm-level terms, (runs, N, M)."""
    base = policy.utilities(world.views[t], state.view)
    u = np.broadcast_to(base, (state.n_runs, world.n_markets, N_MODES))
    # Deterrence: the firm anticipates blocking (log of the success probability, scaled);
    # depletion: each completed deal in a market uses up part of its pool of targets.
    market_terms = firm.deterrence * world.log_success[t] - firm.depletion * state.deals
    u = u + market_terms[:, :, None]
    if world.any_excluded[t]:
        u[:, world.excluded[t], :] = -np.inf
    controlled = state.commitment >= MAX_COMMITMENT
    if controlled.any():
        u[:, :, CONTROL] = np.where(controlled, -np.inf, u[:, :, CONTROL])
    return u


def step(
    world: World,
    policy: Policy,
    firm: Firm,
    state: BatchState,
    t: int,
    uniforms: np.ndarray,
    climate: np.ndarray,
) -> np.ndarray:
    """Advance every run of the batch by year index ``t``; return the year's event rows.

    Args:
        world: The shared year x market arrays.
        policy: The strategy scoring the options.
        firm: Firm-level mechanism parameters.
        state: The batch's state, changed in place.
        t: Year index (0-based).
        uniforms: The batch's uniforms, shape (runs, 4, years, opportunities).
        climate: The batch's hurdle shocks, shape (runs, years).

    Returns:
        Event rows (``EVENT_DTYPE``) plus a leading ``run`` row index, in run then opportunity
        order: a structured array with fields ``run`` and the event fields.
    """
    state.view.year = int(world.years[t])
    state.view.step = t
    n_runs = state.n_runs
    u = _utilities(world, policy, firm, state, t).reshape(n_runs, -1)
    with np.errstate(over="ignore"):
        top = u.max(axis=1)
    feasible = np.isfinite(top)
    if not feasible.all():
        top = np.where(feasible, top, 0.0)
    weights = np.exp(u - top[:, None])
    log_inclusive = np.log(weights.sum(axis=1)) + top
    hurdle = (
        firm.hurdle
        - firm.resource_elasticity * world.log_resources[t]
        - firm.home_policy_effect * world.home_regime[t]
        + firm.load_penalty * state.load
        + firm.climate_noise * climate[:, t]
    )
    p_take = np.where(feasible, 1.0 / (1.0 + np.exp(hurdle - log_inclusive)), 0.0)
    u_take = uniforms[:, 0, t, :]
    if policy.matches_record_counts:  # the oracle: every opportunity, cut to the record below
        take = np.broadcast_to(feasible[:, None], u_take.shape)
    else:
        take = u_take < p_take[:, None]
    rows, cols = np.nonzero(take)
    if rows.size == 0:
        _decay(firm, state)
        return np.empty(0, dtype=_ROW_DTYPE)
    weights[~feasible] = 1.0  # rows with nothing feasible take nothing; keep _pick defined
    option = _pick(weights, rows, uniforms[rows, 1, t, cols])
    markets, modes = np.divmod(option, N_MODES)
    keep = _first_controls(rows, markets, modes)
    if policy.matches_record_counts:
        kept_before = np.cumsum(keep) - keep  # kept draws earlier in the batch
        row_start = np.searchsorted(rows, rows)  # rows are sorted: first entry of each row
        keep &= (kept_before - kept_before[row_start]) < int(world.record_counts[t])
    if not keep.all():
        rows, cols, markets, modes = rows[keep], cols[keep], markets[keep], modes[keep]
    out = np.empty(rows.size, dtype=_ROW_DTYPE)
    out["run"] = rows
    out["year"] = world.years[t]
    out["market"] = markets
    out["mode"] = modes
    out["blocked"] = uniforms[rows, 2, t, cols] < world.p_block[t][markets]
    industry_weights = _industry_weights(policy, firm, state, world)
    out["industry"] = _pick(industry_weights, rows, uniforms[rows, 3, t, cols])
    _decay(firm, state)
    _learn(state, out[out["blocked"] == 0])
    return out


_ROW_DTYPE = np.dtype([("run", np.int32), *EVENT_DTYPE.descr])


def _industry_weights(policy: Policy, firm: Firm, state: BatchState, world: World) -> np.ndarray:
    """Second-stage logit weights over industries, per run (the core industry gets a bonus)."""
    v = np.zeros((state.n_runs, len(world.industries)))
    v[:, world.core_industry] += firm.core_industry_bonus
    extra = policy.industry_utilities(state.view)
    if extra is not None:
        v = v + extra
    return np.exp(v - v.max(axis=1, keepdims=True))


def _decay(firm: Firm, state: BatchState) -> None:
    """Integration load carried into next year: halves every ``load_halflife`` years."""
    state.load *= 0.5 ** (1.0 / firm.load_halflife)


def _learn(state: BatchState, done: np.ndarray) -> None:
    """Completed deals change the firm: commitment, experience, counts and integration load."""
    if done.size == 0:
        return
    run, market, mode = done["run"], done["market"].astype(np.int64), done["mode"]
    n = state.commitment.shape[1]
    cell = run.astype(np.int64) * n + market
    np.maximum.at(state.commitment.reshape(-1), cell, RANK[mode])
    np.add.at(state.experience.reshape(-1), cell, LEARNING[mode])
    np.add.at(state.deals.reshape(-1), cell, 1)
    np.add.at(state.mode_deals.reshape(-1), run.astype(np.int64) * N_MODES + mode, 1)
    n_ind = state.industry_deals.shape[1]
    np.add.at(state.industry_deals.reshape(-1), run.astype(np.int64) * n_ind + done["industry"], 1)
    np.add.at(state.load, run, LOAD[mode])


def simulate(
    world: World, policy: Policy, firm: Firm, draws: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Run a batch of runs from the first to the last year.

    Args:
        world: The shared arrays.
        policy: The strategy.
        firm: Firm-level mechanism parameters.
        draws: The batch's random numbers, as from :func:`draw_batch`.

    Returns:
        ``(events, run)``: the events (``EVENT_DTYPE``) of every run, in run then year then
        opportunity order, and the batch row of each event.
    """
    uniforms, climate = draws
    state = BatchState(world, uniforms.shape[0], firm.region_spillover)
    years = [step(world, policy, firm, state, t, uniforms, climate) for t in range(world.n_years)]
    rows = np.concatenate(years) if years else np.empty(0, dtype=_ROW_DTYPE)
    order = np.argsort(rows["run"], kind="stable")
    rows = rows[order]
    events = np.empty(rows.size, dtype=EVENT_DTYPE)
    for name in EVENT_DTYPE.names or ():
        events[name] = rows[name]
    return events, rows["run"].astype(np.int64)
