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
6. The host markets respond (:func:`respond`, after the firm: :func:`step` is :func:`act` then
   :func:`respond`): each raises its screening to what the firm now holds there, which adds to
   its barriers, and so to the block probability the firm meets from the next year on
   (:func:`host_blocking`). Off by default (every host-response weight 0): then it does nothing.

Before the year's deals, every market where the firm holds a commitment from earlier years may be
exited (divested or closed) with a yearly hazard, logistic in the host's blocking probability,
the firm's experience there and the reversibility of what it holds (:func:`_exits`, ODD 7.10),
and, when their weights are on (off by default), in the divestment drivers: the home outbound
regime, the firm's revenue growth and the policy's own retreat term (:func:`_exit_drivers`). An
exit resets the market's commitment to none and is an event of mode ``exit``; it is not a deal
(no load, no learning, no deal count).

Reproducibility: all of a run's random numbers are drawn up front from its own generator
(:func:`draw_batch`), and every operation is elementwise per row or a reduction along a row, so a
run's events are bit-for-bit the same whether it is stepped alone or in a batch of any size.
Draws of a discrete option use a 2**-32 grid on integer keys (:func:`_pick`), which keeps the
batched inverse-CDF search exact whatever the run's row.

Parameters along the run axis: a batch's runs may each have their own values of any free
parameter of the policy and of the firm-level machinery (:func:`simulate_points`, the entry point
of simulation-based inference, whose prior draws then batch as replications do). A varied
parameter is an array over runs in place of the scalar: shape (runs,) in the firm (the hurdle's
terms are per run already), a column (runs, 1) in the policy's parameters (it broadcasts against
runs x markets, and :func:`sim.policies.common.over_modes` against runs x markets x modes). The
arithmetic is the same elementwise operations in the same order, so a run's events are
byte-identical to the run stepped alone at its own scalar values; at scalar values nothing
changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Literal, get_args, get_origin

import numpy as np
from numpy.typing import ArrayLike
from pydantic.fields import FieldInfo

from sim.data.taxonomy import SENSITIVE_INDUSTRIES
from sim.events import EVENT_DTYPE
from sim.modes import (
    CONTROL,
    CONTROLLED,
    EXIT,
    LEARNING,
    LOAD,
    MAX_COMMITMENT,
    N_MODES,
    RANK,
    RUNG_REVERSIBILITY,
)
from sim.policies.base import FirmView, Policy
from sim.scenario import Firm
from sim.world import World, block_probability, log_success, regime_pull

_GRID = float(2**32)
_ROW = np.int64(2**33)
#: Most runs stepped together (bounds the memory of one batch's random numbers, ~23 MB).
MAX_BATCH = 1000

#: Exit hazard (ODD 7.10): log-odds added per unit of the host's blocking probability. A market
#: whose host blocks half of all deals multiplies the odds of exit by e**2 (about 7): hostile hosts
#: push firms out (an assumption, fixed before fitting; docs/ODD.md 7.10 names a case in the
#: reference record). Experience lowers the odds as 1 / (1 + experience): Li (1995,
#: Strategic Management Journal 16:333-351) finds experience improves foreign subsidiaries'
#: survival, and greenfield subsidiaries exit less than acquisitions and joint ventures.
EXIT_BARRIER_WEIGHT = 4.0
#: Log-odds of exit per rung held: the log of the rung's reversibility, so a cooperation
#: agreement (1.0) is exited at the base odds and a greenfield operation (0.1) at a tenth of them:
#: sunk, firm-specific assets deter exit (Dixit 1989).
_LOG_RUNG_REVERSIBILITY = np.log(RUNG_REVERSIBILITY)

#: A run's random numbers: uniforms (runs, 4, years, opportunities), hurdle shocks (runs, years)
#: and exit uniforms (runs, years, markets).
Draws = tuple[np.ndarray, np.ndarray, np.ndarray]


def draw_batch(
    generators: Sequence[np.random.Generator], n_years: int, opportunities: int, n_markets: int
) -> Draws:
    """Draw every random number of each run, up front, from the run's own generator.

    The one place a run's numbers are drawn, for a batch of one (the Mesa model) or of
    thousands: per run, the uniforms (take-or-leave, option, block and industry for each
    opportunity of each year) in one call, then the hurdle shocks in a second, then one exit
    uniform per year and market in a third (drawn last, so the first two are what they were
    before exits existed).

    Returns:
        ``uniforms`` of shape (runs, 4, years, opportunities), ``climate`` of shape
        (runs, years) and ``exits`` of shape (runs, years, markets).
    """
    uniforms = np.empty((len(generators), 4, n_years, opportunities))
    climate = np.empty((len(generators), n_years))
    exits = np.empty((len(generators), n_years, n_markets))
    for r, rng in enumerate(generators):
        rng.random(out=uniforms[r])
        rng.standard_normal(out=climate[r])
        rng.random(out=exits[r])
    return uniforms, climate, exits


class BatchState:
    """The state of every run of a batch (rows are runs): the firm's, then the host markets'.

    Attributes:
        commitment: Highest rung held per run and market (0 none ... 4 greenfield); an exit
            resets it to 0.
        experience: Market-specific experience per run and market.
        deals: Completed deals per run and market.
        mode_deals: Completed deals per run and mode.
        industry_deals: Completed deals per run and industry.
        load: Integration load per run (decays each year; see :func:`step`).
        sensitive_deals: Completed deals per run and market in a sensitive industry
            (:data:`sim.data.taxonomy.SENSITIVE_INDUSTRIES`), what the hosts respond to.
        screening: Each host market's endogenous screening per run (:func:`respond`), in
            barrier-index units on top of the world's barriers; 0 while the response is off.
        screened: Whether any host has screened yet (until then the world's block
            probabilities are used as they are).
        sensitive: Which of the world's industries are sensitive, shape (industries,).
    """

    def __init__(self, world: World, n_runs: int, spillover: float | np.ndarray) -> None:
        n, i = world.n_markets, len(world.industries)
        self.commitment = np.zeros((n_runs, n), dtype=np.int8)
        self.experience = np.zeros((n_runs, n))
        self.deals = np.zeros((n_runs, n), dtype=np.int32)
        self.mode_deals = np.zeros((n_runs, N_MODES), dtype=np.int32)
        self.industry_deals = np.zeros((n_runs, i), dtype=np.int32)
        self.load = np.zeros(n_runs)
        self.sensitive_deals = np.zeros((n_runs, n), dtype=np.int32)
        self.screening = np.zeros((n_runs, n))
        self.screened = False
        self.sensitive = np.isin(world.industries, SENSITIVE_INDUSTRIES)
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
            spillover=_column(spillover),
        )

    @property
    def n_runs(self) -> int:
        """Rows in the batch."""
        return int(self.commitment.shape[0])


def _column(value: float | np.ndarray) -> float | np.ndarray:
    """A per-run value (runs,) as a column (runs, 1) against runs x markets; a scalar unchanged."""
    return value[:, None] if isinstance(value, np.ndarray) else value


def _cells(value: float | np.ndarray, runs: np.ndarray) -> float | np.ndarray:
    """A per-run value at the run of each of some (run, market) cells; a scalar unchanged."""
    return value[runs] if isinstance(value, np.ndarray) else value


def _blocking(p_block: np.ndarray, runs: np.ndarray, markets: np.ndarray) -> np.ndarray:
    """A year's block probability at some (run, market) cells, shared (N,) or per run (runs, N)."""
    return p_block[runs, markets] if p_block.ndim == 2 else p_block[markets]


def host_blocking(
    world: World, firm: Firm, state: BatchState, t: int
) -> tuple[np.ndarray, np.ndarray]:
    """Year ``t``'s block probability and log success probability, after the hosts' screening.

    A host's screening adds to its barrier index, so it adds ``block_slope * screening`` to the
    block probability the world holds, up to ``max_block`` (:func:`sim.world.block_probability`
    on the raised barriers). Until any host has screened, the world's own arrays are returned
    unchanged (shape (N,), or (runs, N) in a batch with per-run block parameters); after, the
    arrays are per run, (runs, N), and a cell with no screening keeps the world's value exactly
    (the cap is never below it), so a run's block probabilities do not depend on its batch.
    """
    if not state.screened:
        return world.p_block[t], world.log_success[t]
    p_world = world.p_block[t]
    cap = np.maximum(_column(firm.max_block), p_world)
    p_block = np.minimum(p_world + _column(firm.block_slope) * state.screening, cap)
    return p_block, log_success(p_block)


def _pick(weights: np.ndarray, rows: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse-CDF draws from rows' categorical distributions, exact under batching.

    Args:
        weights: Non-negative weights, shape (runs, options); every row used sums to > 0.
        rows: The row each draw belongs to, shape (draws,).
        u: One uniform in [0, 1) per draw, shape (draws,).

    Returns:
        ``(option, residual)``: the option index per draw, and a fresh uniform per draw (where
        ``u`` fell within its option's interval), for a second-stage draw. Cumulative shares and
        uniforms are put on a 2**-32 grid as integers and offset by row, so one ``searchsorted``
        serves the whole batch and gives each row exactly what it would give alone.
    """
    n_runs, n_opt = weights.shape
    cum = _row_cumsum(weights)
    keys = np.floor(cum / cum[:, -1:] * _GRID).astype(np.int64)
    keys += np.arange(n_runs, dtype=np.int64)[:, None] * _ROW
    flat_keys = keys.ravel()
    offset = rows.astype(np.int64) * _ROW
    query = np.floor(u * _GRID).astype(np.int64) + offset
    flat = np.searchsorted(flat_keys, query, "right")
    option = flat - rows.astype(np.int64) * n_opt
    low = np.where(option > 0, flat_keys[np.maximum(flat - 1, 0)], offset)
    residual = (query - low) / (flat_keys[flat] - low)
    return option, residual


def _pick_small(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw of one option per row from a few options (the mode within a market).

    The same 2**-32 grid as :func:`_pick`: the option is the number of cumulative keys at or
    below the uniform's key, which is what ``searchsorted(..., side="right")`` returns.
    """
    cum = _row_cumsum(weights)
    keys = np.floor(cum / cum[:, -1:] * _GRID).astype(np.int64)
    q = np.floor(u * _GRID).astype(np.int64)
    return (keys <= q[:, None]).sum(axis=1)


def _mode_sum(weights: np.ndarray) -> np.ndarray:
    """Sum over the last (mode) axis in a fixed order: w[..., 0] + w[..., 1] + ...

    A reduction over a 3-wide axis is slow in numpy (per-row overhead); adding the mode slices
    is fast and gives the same result for every row whatever the batch.
    """
    out = weights[..., 0].copy()
    for m in range(1, weights.shape[-1]):
        out += weights[..., m]
    return out


def _row_cumsum(x: np.ndarray) -> np.ndarray:
    """Cumulative sums along each row, computed column by column (fast for many short rows).

    The additions are the same, in the same order, as ``np.cumsum(x, axis=1)``: results are
    bit-identical, and independent of how many rows there are.
    """
    return np.cumsum(x.T, axis=0).T


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
    world: World, policy: Policy, firm: Firm, state: BatchState, t: int, success: np.ndarray
) -> np.ndarray:
    """This year's log-utilities of every option with the firm-level terms, (runs, N, M).

    ``success`` is the year's log probability that a deal is not blocked (:func:`host_blocking`).
    """
    base = policy.utilities(world.views[t], state.view)
    u = np.broadcast_to(base, (state.n_runs, world.n_markets, N_MODES))
    # Deterrence: the firm anticipates blocking (log of the success probability, scaled);
    # depletion: each completed deal in a market uses up part of its pool of targets.
    market_terms = _column(firm.deterrence) * success - _column(firm.depletion) * state.deals
    u = u + market_terms[:, :, None]
    if world.any_excluded[t]:
        u[:, world.excluded[t], :] = -np.inf
    controlled = state.commitment >= CONTROLLED
    if controlled.any():
        u[:, :, CONTROL] = np.where(controlled, -np.inf, u[:, :, CONTROL])
    return u


def step(
    world: World, policy: Policy, firm: Firm, state: BatchState, t: int, draws: Draws
) -> np.ndarray:
    """Advance every run of the batch by year index ``t``: the firm acts, then the hosts respond.

    The order of ODD section 3: the firm's exits and deals of the year (:func:`act`), then every
    host market's screening responds to what the firm now holds there (:func:`respond`), which
    the firm meets from the next year on. Arguments and rows as :func:`act`.
    """
    rows = act(world, policy, firm, state, t, draws)
    respond(firm, state)
    return rows


def act(
    world: World, policy: Policy, firm: Firm, state: BatchState, t: int, draws: Draws
) -> np.ndarray:
    """The firm's part of year index ``t`` in every run: exits, then deals; the year's event rows.

    Args:
        world: The shared year x market arrays.
        policy: The strategy scoring the options.
        firm: Firm-level mechanism parameters.
        state: The batch's state, changed in place.
        t: Year index (0-based).
        draws: The batch's random numbers (:func:`draw_batch`): its uniforms, shape (runs, 4,
            years, opportunities), hurdle shocks, (runs, years), and exit uniforms, (runs,
            years, markets).

    Returns:
        Event rows (``EVENT_DTYPE``) plus a leading ``run`` row index, in run order; within a
        run, the year's exits (market order) then its deals (opportunity order): a structured
        array with fields ``run`` and the event fields.
    """
    uniforms, climate, exits = draws
    state.view.year = int(world.years[t])
    state.view.step = t
    p_block, success = host_blocking(world, firm, state, t)
    left = _exits(world, policy, firm, state, t, exits, p_block)
    deals = _deals(world, policy, firm, state, t, uniforms, climate, (p_block, success))
    if left.size == 0:
        return deals
    if deals.size == 0:
        return left
    rows = np.concatenate([left, deals])
    return rows[np.argsort(rows["run"], kind="stable")]


def _exits(
    world: World,
    policy: Policy,
    firm: Firm,
    state: BatchState,
    t: int,
    exits: np.ndarray,
    p_block: np.ndarray,
) -> np.ndarray:
    """This year's exits: each held market is left with the hazard of ODD 7.10.

    The hazard's log-odds are ``exit_propensity + EXIT_BARRIER_WEIGHT * p_block
    - log(1 + experience) + log(reversibility of the rung held)``, plus the divestment drivers
    when any of their weights is on (:func:`_exit_drivers`), computed only on held cells and
    elementwise, so a run's exits do not depend on its batch. An exit resets the market's
    commitment (re-entry starts again from the bottom of the ladder); experience is kept (what
    the firm learnt of the market stays with it) and so are the deal counts.
    """
    runs, markets = np.nonzero(state.commitment)
    if runs.size == 0:
        return np.empty(0, dtype=_ROW_DTYPE)
    held = state.commitment[runs, markets]
    log_odds = (
        _cells(firm.exit_propensity, runs)
        + EXIT_BARRIER_WEIGHT * _blocking(p_block, runs, markets)
        - np.log1p(state.experience[runs, markets])
        + _LOG_RUNG_REVERSIBILITY[held]
    )
    if exit_drivers_on(firm):
        log_odds = log_odds + _exit_drivers(world, policy, firm, state, t, runs, markets)
    with np.errstate(over="ignore"):
        hazard = 1.0 / (1.0 + np.exp(-log_odds))
    leave = exits[runs, t, markets] < hazard
    if not leave.any():
        return np.empty(0, dtype=_ROW_DTYPE)
    runs, markets = runs[leave], markets[leave]
    state.commitment[runs, markets] = 0
    out = np.empty(runs.size, dtype=_ROW_DTYPE)
    out["run"] = runs
    out["year"] = world.years[t]
    out["market"] = markets
    out["mode"] = EXIT
    out["blocked"] = 0
    out["industry"] = world.core_industry
    return out


#: Firm fields of the divestment drivers (ODD 7.10); all zero, the drivers are off.
EXIT_DRIVER_FIELDS = ("exit_home_regime", "exit_growth", "exit_theory")


def exit_drivers_on(firm: Firm) -> bool:
    """Whether any divestment-driver weight is nonzero (in any run, for per-run weights)."""
    return _any_on(firm, EXIT_DRIVER_FIELDS)


def exit_pressure(world: World, t: int) -> tuple[float, float]:
    """Year ``t``'s firm-wide divestment drivers: the home regime index and revenue growth.

    The one place the exit hazard reads the world's dated series: the home-regime index H_t
    over every kind of event (easing > 0, so a tightening year of any kind lowers it: home
    pressure to sell abroad need not come from outbound rules alone, ODD 7.10) and the year's log
    revenue growth g_t = ln R_t - ln R_{t-1} (capital shocks included). The world holds no year
    before its first, so the first simulated year's growth is 0: its log resources are
    measured from the record's first year under the warm start, not from the year before.
    """
    growth = world.log_resources[t] - world.log_resources[t - 1] if t > 0 else 0.0
    return float(world.home_regime[t]), float(growth)


def _exit_drivers(
    world: World,
    policy: Policy,
    firm: Firm,
    state: BatchState,
    t: int,
    runs: np.ndarray,
    markets: np.ndarray,
) -> np.ndarray | float:
    """The drivers' log-odds at some held (run, market) cells (ODD 7.10).

    ``- exit_home_regime * H_t - exit_growth * g_t + exit_theory * s_jt``, where s is the
    policy's retreat term (:meth:`sim.policies.base.Policy.exit_log_odds`; none when it has
    none), evaluated only when its weight is on in some run.
    """
    regime, growth = exit_pressure(world, t)
    out = -_cells(firm.exit_home_regime, runs) * regime - _cells(firm.exit_growth, runs) * growth
    if _any_on(firm, ("exit_theory",)):
        shift = policy.exit_log_odds(world.views[t], state.view)
        if shift is not None:
            shift = np.broadcast_to(shift, state.commitment.shape)
            out = out + _cells(firm.exit_theory, runs) * shift[runs, markets]
    return out


def _deals(
    world: World,
    policy: Policy,
    firm: Firm,
    state: BatchState,
    t: int,
    uniforms: np.ndarray,
    climate: np.ndarray,
    blocking: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """This year's deal attempts (steps 1-5 of the module docstring), run then opportunity order.

    ``blocking`` is the year's block probability and log success probability
    (:func:`host_blocking`).
    """
    n_runs = state.n_runs
    p_block, success = blocking
    u = _utilities(world, policy, firm, state, t, success)
    with np.errstate(over="ignore"):
        weights = np.exp(u)
    market_weights = _mode_sum(weights)
    total = _row_cumsum(market_weights)[:, -1]
    shift = np.zeros(n_runs)
    overflow = ~np.isfinite(total)
    if overflow.any():  # only a user policy with huge utilities: shift those rows by their max
        shift[overflow] = u[overflow].reshape(int(overflow.sum()), -1).max(axis=1)
        weights[overflow] = np.exp(u[overflow] - shift[overflow][:, None, None])
        market_weights[overflow] = _mode_sum(weights[overflow])
        total[overflow] = _row_cumsum(market_weights[overflow])[:, -1]
    feasible = total > 0.0
    with np.errstate(divide="ignore"):
        log_inclusive = np.log(total) + shift
    hurdle = (
        firm.hurdle
        - firm.resource_elasticity * world.log_resources[t]
        - regime_pull(world, firm, t)
        + firm.load_penalty * state.load
        + firm.climate_noise * climate[:, t]
    )
    with np.errstate(over="ignore"):
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
    # Market first (its weight: the sum over its modes), then the mode within it, drawn with
    # the part of the same uniform left inside the market's interval: one flat logit over
    # (market, mode) in distribution, on arrays a third the size.
    markets, residual = _pick(market_weights, rows, uniforms[rows, 1, t, cols])
    modes = _pick_small(weights[rows, markets], residual)
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
    out["blocked"] = uniforms[rows, 2, t, cols] < _blocking(p_block, rows, markets)
    industry_weights = _industry_weights(policy, firm, state, world)
    out["industry"], _ = _pick(industry_weights, rows, uniforms[rows, 3, t, cols])
    _decay(firm, state)
    _learn(state, out[out["blocked"] == 0])
    return out


_ROW_DTYPE = np.dtype([("run", np.int32), *EVENT_DTYPE.descr])


def row_dtype() -> np.dtype:
    """The layout of :func:`step`'s rows: a ``run`` index, then the event fields."""
    return _ROW_DTYPE


def _industry_weights(policy: Policy, firm: Firm, state: BatchState, world: World) -> np.ndarray:
    """Second-stage logit weights over industries, per run (the core industry gets a bonus)."""
    v = np.zeros((state.n_runs, len(world.industries)))
    v[:, world.core_industry] += firm.core_industry_bonus
    extra = policy.industry_utilities(state.view)
    if extra is not None:
        v = v + extra
    return np.exp(v - v.max(axis=1, keepdims=True))


def _decay(firm: Firm, state: BatchState) -> None:
    """Integration load carried into next year: halves every ``load_halflife`` years.

    Per-run half-lives take the same Python power run by run as a scalar does, so a run's load
    does not depend on whether its half-life was given alone or in an array.
    """
    halflife = firm.load_halflife
    if isinstance(halflife, np.ndarray):
        state.load *= np.array([0.5 ** (1.0 / h) for h in halflife.tolist()])
    else:
        state.load *= 0.5 ** (1.0 / halflife)


def _learn(state: BatchState, done: np.ndarray) -> None:
    """Completed deals change the firm: commitment, experience, counts and integration load.

    Sums use ``bincount`` (each run's deals are added in opportunity order whatever the batch,
    so a run's state does not depend on its batch).
    """
    if done.size == 0:
        return
    run = done["run"].astype(np.int64)
    market, mode = done["market"].astype(np.int64), done["mode"].astype(np.int64)
    n_runs, n = state.commitment.shape
    cell = run * n + market
    np.maximum.at(state.commitment.reshape(-1), cell, RANK[mode])
    state.experience.reshape(-1)[:] += np.bincount(
        cell, weights=LEARNING[mode], minlength=n_runs * n
    )
    state.deals.reshape(-1)[:] += np.bincount(cell, minlength=n_runs * n).astype(np.int32)
    state.mode_deals.reshape(-1)[:] += np.bincount(
        run * N_MODES + mode, minlength=n_runs * N_MODES
    ).astype(np.int32)
    n_ind = state.industry_deals.shape[1]
    state.industry_deals.reshape(-1)[:] += np.bincount(
        run * n_ind + done["industry"].astype(np.int64), minlength=n_runs * n_ind
    ).astype(np.int32)
    state.load += np.bincount(run, weights=LOAD[mode], minlength=n_runs)
    sensitive = state.sensitive[done["industry"]]
    if sensitive.any():
        state.sensitive_deals.reshape(-1)[:] += np.bincount(
            cell[sensitive], minlength=n_runs * n
        ).astype(np.int32)


def close_year(firm: Firm, state: BatchState, done: np.ndarray) -> None:
    """End a year in which the runs completed ``done`` (rows with a ``run`` field).

    The same two rules :func:`step` applies after its choices — the integration load decays,
    then completed deals teach the firm — for a year whose deals are given rather than chosen
    (the warm start replays the record through it, :func:`replay`).
    Exit rows reset their market's commitment first, as :func:`_exits` does at the start of
    :func:`step`; only the entry deals teach; then the hosts respond, as at the end of
    :func:`step`.
    """
    left = done[done["mode"] == EXIT]
    if left.size:
        state.commitment[left["run"].astype(np.int64), left["market"].astype(np.int64)] = 0
    _decay(firm, state)
    _learn(state, done[done["mode"] != EXIT])
    respond(firm, state)


def replay(firm: Firm, state: BatchState, record: np.ndarray, years: Sequence[int]) -> None:
    """Step every run of ``state`` through given years of the record (the same deals in each run).

    Each year is closed by :func:`close_year` with the year's completed record events (blocked
    attempts teach nothing, as in the engine), so the state after is the one the engine's own
    rules give after those deals; a year with no events still decays the integration load.

    Args:
        firm: The firm (its ``load_halflife`` and host-response weights matter here).
        state: The batch's state, changed in place.
        record: Record events (``EVENT_DTYPE``), in the record's order.
        years: The calendar years to step, in order.
    """
    done = record[record["blocked"] == 0]
    runs = np.arange(state.n_runs, dtype=np.int32)
    for year in years:
        deals = done[done["year"] == year]
        rows = np.empty(deals.size * runs.size, dtype=_ROW_DTYPE)
        rows["run"] = np.repeat(runs, deals.size)
        for name in EVENT_DTYPE.names or ():
            rows[name] = np.tile(deals[name], runs.size)
        close_year(firm, state, rows)


def start_state(world: World, firm: Firm, n_runs: int) -> BatchState:
    """Every run's state at the start of the first simulated year: the warm start (ODD 5).

    The record's events before the first simulated year (``world.earlier``) are replayed from
    the first of their years to the year before the first simulated one (:func:`replay`), so a
    firm starts holding what it held, with the experience, deal counts, depletion and decayed
    integration load the model's own rules give those deals, not as a firm with no foreign
    deals. The same state in every run (no random numbers); replayed per batch rather than
    stored, because the load's decay depends on the firm's half-life, which may vary by run.
    With no earlier events, a firm with no foreign deals.
    """
    state = BatchState(world, n_runs, firm.region_spillover)
    if world.earlier.size:
        first = int(world.earlier["year"].min())
        replay(firm, state, world.earlier, range(first, int(world.years[0])))
    return state


#: Firm fields of the host response (:func:`respond`); all zero, the response is off.
HOST_FIELDS = ("host_commitment", "host_deals", "host_sensitive")


def host_response_on(firm: Firm) -> bool:
    """Whether any host-response weight is nonzero (in any run, for per-run weights).

    Checked every year by :func:`respond`, so a scalar weight is tested without numpy.
    """
    return _any_on(firm, HOST_FIELDS)


def _any_on(firm: Firm, names: Sequence[str]) -> bool:
    """Whether any of the firm's weights ``names`` is nonzero (in any run, for per-run ones)."""
    for name in names:
        weight = getattr(firm, name)
        if weight.any() if isinstance(weight, np.ndarray) else weight:
            return True
    return False


def respond(firm: Firm, state: BatchState) -> None:
    """The host markets' yearly step: each market's screening responds to the firm there.

    A host's screening target is what the firm now holds there (ODD 7.12), in barrier-index
    units: ``host_commitment * commitment / highest rung + host_deals * log(1 + deals) +
    host_sensitive * log(1 + deals in sensitive industries)``. Screening ratchets: it rises to
    the target and never falls (an exit lowers the target, not the screening in force), as
    restrictive screening reforms have rarely been reversed. Every market and run at once, with
    per-run weights as columns; with every weight zero it does nothing, so the model is then
    exactly the model without a host response.
    """
    if not host_response_on(firm):
        return
    target = (
        _column(firm.host_commitment) * (state.commitment / MAX_COMMITMENT)
        + _column(firm.host_deals) * np.log1p(state.deals)
        + _column(firm.host_sensitive) * np.log1p(state.sensitive_deals)
    )
    np.maximum(state.screening, target, out=state.screening)
    state.screened = state.screened or bool(state.screening.any())


def simulate(
    world: World,
    policy: Policy,
    firm: Firm,
    draws: Draws,
    state: BatchState | None = None,
    start: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Run a batch of runs from year index ``start`` (default the first) to the last year.

    Args:
        world: The shared arrays.
        policy: The strategy.
        firm: Firm-level mechanism parameters.
        draws: The batch's random numbers, as from :func:`draw_batch` (indexed by the world's
            year index, so the years before ``start`` are drawn but not used).
        state: The firm's state at the start of year ``start`` (changed in place); default the
            warm start (:func:`start_state`). A projection passes the state at the end of the
            record.
        start: Index of the first year to step.

    Returns:
        ``(events, run)``: the events (``EVENT_DTYPE``) of every run, in run then year then
        opportunity order, and the batch row of each event.
    """
    if state is None:
        state = start_state(world, firm, draws[0].shape[0])
    years = [step(world, policy, firm, state, t, draws) for t in range(start, world.n_years)]
    rows = np.concatenate(years) if years else np.empty(0, dtype=_ROW_DTYPE)
    order = np.argsort(rows["run"], kind="stable")
    rows = rows[order]
    events = np.empty(rows.size, dtype=EVENT_DTYPE)
    for name in EVENT_DTYPE.names or ():
        events[name] = rows[name]
    return events, rows["run"].astype(np.int64)


#: Firm fields that one batch cannot vary, and why (:func:`simulate_points` refuses them).
FIXED_FIRM_FIELDS = {
    "profile": "it names the firm whose data built the world",
    "opportunities": "it sets the shape of every run's random numbers",
}
#: Firm fields that set the world's block probabilities rather than a term of the engine.
BLOCK_FIELDS = ("block_base", "block_slope", "max_block")


def simulate_points(
    world: World,
    policy: Policy,
    firm: Firm,
    table: Mapping[str, ArrayLike],
    generators: Sequence[np.random.Generator | int],
    batch_size: int = MAX_BATCH,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulate runs whose parameter values differ, batched: the API of simulation-based inference.

    Prior draws batch as replications do: run r takes ``table[name][r]`` for every parameter the
    table names (a field of the policy's parameters or of the firm) and the policy's and firm's
    own values for the rest, and its events are byte-identical to the run simulated alone at
    those scalar values with the same generator. The ensemble runner calls this with an empty
    table (every run at one point), so there is one path from generators to events.

    Args:
        world: The shared arrays.
        policy: The strategy; its parameters are the values the table does not name.
        firm: Firm-level mechanism parameters; likewise the base point.
        table: Parameter name -> one value per run, shape (runs,). Firm fields in
            :data:`FIXED_FIRM_FIELDS` cannot vary within a batch; the block fields can, and
            then set the runs' block probabilities from the world's barriers.
        generators: One generator (or integer seed) per run.
        batch_size: Most runs stepped together (bounds memory); results do not depend on it.

    Returns:
        ``(events, run)`` as :func:`simulate`, ``run`` indexing ``generators``.

    Raises:
        ValueError: a name that is not a parameter (or that cannot vary), a value array of the
            wrong shape, or a value its field does not allow; the message names the parameter.
    """
    rngs = [
        g if isinstance(g, np.random.Generator) else np.random.default_rng(g) for g in generators
    ]
    values = {name: _run_values(policy, name, raw, len(rngs)) for name, raw in table.items()}
    events, runs = [], []
    for first in range(0, len(rngs), batch_size):
        chunk = slice(first, first + batch_size)
        draws = draw_batch(rngs[chunk], world.n_years, firm.opportunities, world.n_markets)
        at_points = _at_points(world, policy, firm, {k: v[chunk] for k, v in values.items()})
        part, run = simulate(*at_points, draws)
        events.append(part)
        runs.append(run + first)
    if not events:
        return np.empty(0, dtype=EVENT_DTYPE), np.empty(0, dtype=np.int64)
    return np.concatenate(events), np.concatenate(runs)


def _at_points(
    world: World, policy: Policy, firm: Firm, values: Mapping[str, np.ndarray]
) -> tuple[World, Policy, Firm]:
    """The world, policy and firm of a batch whose runs take ``values`` (checked, one per run).

    Arrays replace the scalars without validation (each value was checked against its field):
    policy parameters as columns (runs, 1), firm fields as (runs,), the shapes the engine and
    the policies broadcast (module docstring). Block parameters act through the world: its
    block probabilities are recomputed per run, (years, runs, markets), from its barriers and
    the firm's block fields, those the table does not name at the firm's own values. With no
    values, the objects themselves.
    """
    of_policy = {k: v[:, None] for k, v in values.items() if k in policy.Params.model_fields}
    of_firm = {k: v for k, v in values.items() if k not in of_policy}
    if of_policy:
        policy = type(policy)(policy.params.model_copy(update=of_policy))
    if of_firm:
        firm = firm.model_copy(update=of_firm)
    if any(k in of_firm for k in BLOCK_FIELDS):
        base, slope, cap = (_column(getattr(firm, k)) for k in BLOCK_FIELDS)
        p_block = block_probability(base, slope, cap, world.barriers[:, None, :])
        world = dataclasses.replace(world, p_block=p_block)
    return world, policy, firm


def _run_values(policy: Policy, name: str, raw: ArrayLike, n_runs: int) -> np.ndarray:
    """One parameter's values over runs, checked against its field's type and bounds."""
    owners = [m for m in (policy.Params, Firm) if name in m.model_fields]
    if len(owners) != 1:
        known = sorted({*policy.Params.model_fields, *Firm.model_fields} - set(FIXED_FIRM_FIELDS))
        why = "names both a policy and a firm parameter" if owners else "is not a parameter"
        raise ValueError(f"params_table: {name!r} {why}; known: {', '.join(known)}")
    if owners[0] is Firm and name in FIXED_FIRM_FIELDS:
        reason = FIXED_FIRM_FIELDS[name]
        raise ValueError(f"params_table: {name!r} cannot vary within a batch: {reason}")
    values = np.asarray(raw)
    if values.shape != (n_runs,):
        raise ValueError(
            f"params_table: {name!r} needs one value per run, shape ({n_runs},), not {values.shape}"
        )
    info = owners[0].model_fields[name]
    bad, rule = _outside(info, name, values)
    if bad.any():
        r = int(np.flatnonzero(bad)[0])
        shown = values[r].item()
        raise ValueError(f"params_table: {name!r} of run {r} is {shown!r}; it must be {rule}")
    return values.astype(float) if info.annotation is float else values


_BOUNDS = (
    ("ge", np.less, ">="),
    ("gt", np.less_equal, ">"),
    ("le", np.greater, "<="),
    ("lt", np.greater_equal, "<"),
)


def _outside(info: FieldInfo, name: str, values: np.ndarray) -> tuple[np.ndarray, str]:
    """Which values the field does not allow, and its rule in words (for the message).

    The rules are the field's own (its ``Literal`` choices or its float bounds), read here so
    that a table of 10**5 draws is checked in a few array operations rather than run by run.
    """
    if get_origin(info.annotation) is Literal:
        choices = get_args(info.annotation)
        return ~np.isin(values, choices), f"one of {', '.join(map(str, choices))}"
    if info.annotation is not float:
        raise ValueError(f"params_table: {name!r} is not a float or a choice; it cannot vary")
    if values.dtype.kind not in "iuf":
        return np.ones(values.shape, dtype=bool), "a number"
    x = values.astype(float)
    bad, rules = ~np.isfinite(x), ["finite"]
    for meta in info.metadata:
        for attr, outside, word in _BOUNDS:
            bound = getattr(meta, attr, None)
            if bound is not None:
                bad |= outside(x, bound)
                rules.append(f"{word} {bound}")
    return bad, " and ".join(rules)
