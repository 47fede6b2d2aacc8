"""Scenario files: the validated configuration that is the only door into a run.

A scenario is data (YAML), in the spirit of NetLogo BehaviorSpace experiments and the EMA
workbench vocabulary: *levers* are the strategies (policy and parameters), *uncertainties* are the
firm's inputs and dated shocks, *replications* are seeds. Unknown keys are rejected, so a typo
never silently falls back to a default. Relative data paths are read relative to the scenario file.

A scenario file is data, never code: it names policies registered in :mod:`sim.policies`, by an
installed package's ``sim.policies`` entry point, or by a ``--plugin module:Class`` the user passed
on the command line (:func:`load_plugin`). Duplicate keys are errors.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Literal

import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sim.bounds import float_bounds
from sim.data.loaders import DataPaths, Dataset, first_gap, load_dataset
from sim.data.profile import (
    FirmProfile,
    default_firm,
    firms_root,
    load_profile,
)
from sim.data.record import history as record_history
from sim.data.taxonomy import DEAL_MODES, RecordMode
from sim.data.taxonomy import MODES as RECORD_MODES
from sim.errors import SimInputError
from sim.policies import Policy, PolicyParams
from sim.policies.registry import ENTRY_POINT_GROUP, PluginError, find_policy
from sim.priors import UNARGUED, Prior, prior
from sim.projection_spec import Projection
from sim.yamlfile import read_yaml


class Strict(BaseModel):
    """Base for every scenario section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


#: The scenario's ``data:`` section is the loaders' own path type (one type, no conversion).
DataFiles = DataPaths


class History(Strict):
    """Which part of the record simulated runs are compared with, and how it is coded."""

    scope: str = Field(
        description="entities whose deals count: a scope of the firm profile (default: its own)",
    )
    coding: Literal["headquarters", "operating"] = Field(
        "headquarters",
        description="a multi-country target's market: its headquarters, or its operating "
        "markets with their weights (event_markets.csv)",
    )
    modes: tuple[RecordMode, ...] = Field(
        DEAL_MODES,
        min_length=1,
        description="record modes that count; simulated events are filtered to the same modes "
        "(default: the paper's deal modes; add greenfield and exit to compare them too)",
    )
    warm_start: bool = Field(
        True,
        description="start the firm where its record left it: the record's events (every mode, "
        "in this scope and coding) dated before the first simulated year set its starting "
        "commitment, experience, deal counts and integration load, and its resources are "
        "revenue relative to the record's first year; false starts a firm with no foreign "
        "deals whose resources are relative to the first simulated year",
    )


class Firm(Strict):
    """Firm-level mechanisms shared by every policy: how many deals a year holds, and blocking.

    Each year the firm screens ``opportunities`` deal opportunities; each is taken with the logit
    probability of its options against an outside option (no deal) whose utility, the hurdle, is
    ``hurdle - resource_elasticity * log(revenue / reference-year revenue)
    - home_policy_effect * outbound regime index
    - platform_regulation_effect * platform regulation index + load_penalty * integration load
    + climate_noise * N(0, 1)`` (docs/ODD.md, 7. Submodels; each kind of home-policy event
    counts in the index of its effect, :data:`HOME_POLICY_EFFECTS`). The reference year is the
    record's first year (the first simulated year without the warm start,
    ``history.warm_start``), so a scenario that starts later meets the same hurdle at the same
    revenue. Every default is a prior guess inside a documented range, not a value read off the
    record; ``sim calibrate`` fits them on the calibration window, except an effect whose events
    the window does not hold.
    """

    profile: str | None = Field(
        None,
        description="the firm: a shipped profile's name (sim/data/firms) or a folder with "
        "profile.yaml; the reference firm when blank",
    )
    opportunities: int = Field(
        60,
        ge=1,
        le=1000,
        description="deal opportunities screened per year (deals per year cannot exceed it)",
    )
    hurdle: float = Field(
        3.0,
        ge=-10.0,
        le=15.0,
        description="utility of no deal at the resources of the record's first year (of the "
        "first simulated year when history.warm_start is off)",
    )
    resource_elasticity: float = Field(
        0.5, ge=0.0, le=3.0, description="how much log revenue lowers the hurdle"
    )
    load_penalty: float = Field(
        0.3,
        ge=0.0,
        le=3.0,
        description="hurdle rise per unit of integration load (Penrose effect)",
    )
    load_halflife: float = Field(
        2.0, ge=0.5, le=10.0, description="years for the integration load of a deal to halve"
    )
    home_policy_effect: float = Field(
        0.2,
        ge=0.0,
        le=3.0,
        description="hurdle fall per unit of the home outbound-regime index (outbound "
        "investment rules and capital controls; easing > 0)",
    )
    platform_regulation_effect: float = Field(
        0.1,
        ge=-1.0,
        le=1.0,
        description="hurdle fall per unit of the home platform-regulation index (each "
        "regulatory action against platforms counts -1); not fitted when the calibration "
        "window holds no such event: its prior (regime_priors) stands",
    )
    deterrence: float = Field(
        2.0,
        ge=0.0,
        le=5.0,
        description="weight of log(1 - P(blocked)) in a market's utility (anticipated screening)",
    )
    depletion: float = Field(
        0.1,
        ge=0.0,
        le=2.0,
        description="utility lost per completed deal in a market (finite pool of targets)",
    )
    climate_noise: float = Field(
        0.4, ge=0.0, le=3.0, description="sd of the yearly shock to the hurdle (deal climate)"
    )
    core_industry_bonus: float = Field(
        1.0,
        ge=-3.0,
        le=6.0,
        description="log-odds of a deal being in the core industry (e-commerce) vs each other",
    )
    block_base: float = Field(
        0.02, ge=0.0, le=1.0, description="probability a deal is blocked at zero barriers"
    )
    block_slope: float = Field(
        0.3, ge=0.0, le=1.0, description="added block probability per unit of barriers"
    )
    max_block: float = Field(0.95, ge=0.0, le=1.0, description="ceiling of the block probability")
    region_spillover: float = Field(
        0.5, ge=0.0, le=1.0, description="share of market experience that spills to its region"
    )
    exit_propensity: float = Field(
        -3.0,
        ge=-10.0,
        le=2.0,
        description="log-odds of exiting a held market per year before its barrier, experience "
        "and reversibility terms (docs/ODD.md 7.10; -3 gives a few per cent a year)",
    )
    exit_home_regime: float = Field(
        0.0,
        ge=0.0,
        le=2.0,
        description="divestment (docs/ODD.md 7.10): log-odds of exit added per unit the home "
        "outbound-regime index falls (one tightening event: -1); 0 with the other exit drivers: "
        "off",
    )
    exit_growth: float = Field(
        0.0,
        ge=0.0,
        le=10.0,
        description="divestment: log-odds of exit removed per unit of the year's log revenue "
        "growth (a slowdown raises exits)",
    )
    exit_theory: float = Field(
        0.0,
        ge=0.0,
        le=3.0,
        description="divestment: weight of the policy's own retreat term (Policy.exit_log_odds; "
        "none for a theory without one)",
    )
    host_commitment: float = Field(
        0.0,
        ge=0.0,
        le=2.0,
        description="host response (docs/ODD.md 7.12): screening a host adds per unit of the "
        "firm's commitment there (rung / highest rung); 0 with the other host weights: off",
    )
    host_deals: float = Field(
        0.0,
        ge=0.0,
        le=2.0,
        description="host response: screening added per unit of log(1 + the firm's completed "
        "deals in the market)",
    )
    host_sensitive: float = Field(
        0.0,
        ge=0.0,
        le=2.0,
        description="host response: screening added per unit of log(1 + completed deals in the "
        "market in sensitive industries: payments, data, media, cybersecurity)",
    )
    #: The count machinery shared by every theory, with the same prior in each (so theories
    #: differ only in their own mechanism). The other fields are fixed at their defaults:
    #: deterrence 2, depletion 0.1, load half-life 2 years, core-industry bonus 1, K = 60
    #: opportunities, the block and exit parameters (docs/ODD.md 7).
    priors: ClassVar[dict[str, Prior]] = {
        "hurdle": prior(-10.0, 15.0, "the level of deal activity is left to the data (bounds)"),
        "resource_elasticity": prior(0.0, 3.0, "resources enable growth (Penrose 1959): >= 0"),
        "load_penalty": prior(0.0, 3.0, "integration load slows growth (Penrose effect): >= 0"),
        "home_policy_effect": prior(0.0, 3.0, "an easing home regime lowers the hurdle: >= 0"),
        "climate_noise": UNARGUED,
    }

    #: Priors of the host response (docs/ODD.md 7.12), declared apart from ``priors`` so that no
    #: theory integrates over them until the inference takes them in (``choose(Firm, choice,
    #: "host_priors")``). Screening is in barrier-index units, where one dated investment
    #: screening event aimed at the firm's home adds 0.3 (sim.world.BARRIER_EVENT_WEIGHT).
    host_priors: ClassVar[dict[str, Prior]] = {
        "host_commitment": prior(
            0.0, 0.3, "a controlled or built operation adds up to one dated screening event"
        ),
        "host_deals": prior(
            0.0, 0.3, "ten deals (log 11 = 2.4) add up to 0.72: two dated screening events"
        ),
        "host_sensitive": prior(
            0.0,
            0.5,
            "stronger than all deals: strategic-sector FDI, not total FDI, predicts support "
            "for screening (Chan and Meunier 2021)",
        ),
    }

    #: Priors of the divestment decision (docs/ODD.md 7.10), integrated over only when the
    #: scenario's history compares exits (:func:`sim.inference.bank.theory_model`): without exits
    #: in the record nothing identifies them. The level, ``exit_propensity``, joins them. The
    #: drivers' ranges are argued here, not estimates (none is known for the reference firm).
    exit_priors: ClassVar[dict[str, Prior]] = {
        "exit_propensity": prior(
            -6.0, 0.0, "a cooperation with one deal's experience is left 0.2 % to 45 % a year"
        ),
        "exit_home_regime": prior(
            0.0, 0.3, "one tightening event raises the odds of exit by at most 35 % (e**0.3)"
        ),
        "exit_growth": prior(
            0.0, 5.0, "revenue growth 0.3 log points lower multiplies the odds by up to 4.5"
        ),
        "exit_theory": prior(0.0, 2.0, "a theory's own retreat term at most doubled"),
    }

    #: Priors of the home-regime effects that have a kind of event of their own
    #: (:data:`HOME_POLICY_EFFECTS`), declared apart from ``priors``: a kind whose index does not
    #: move in the calibration window cannot be fitted there (NOTES 3), so its effect stays at
    #: this prior; ``sim infer`` integrates over it only when the window moves its index, and
    #: forecasts otherwise draw it from here and report their sensitivity to it.
    regime_priors: ClassVar[dict[str, Prior]] = {
        "platform_regulation_effect": prior(
            -0.1,
            0.3,
            "a domestic rule on platforms (their listings, acquisitions, data) does not bar "
            "outbound capital as an outbound-investment rule does, but taxes expansion by "
            "acquisition: mostly a deterrent (> 0), per event at most a tenth of the largest "
            "per-event effect home_policy_effect's prior allows (3.0), argued from the kinds "
            "of rule, not from how many came; a small escape response (Witt and Lewin 2007, "
            "JIBS 38:579, outward investment as escape from home institutional constraints) "
            "allows a slightly negative value",
        ),
    }

    @classmethod
    def bounds(cls) -> dict[str, tuple[float, float]]:
        """The searchable float fields and their ``(ge, le)`` bounds, in declaration order."""
        return float_bounds(cls)


#: Firm fields ``sim calibrate`` fits for every strategy unless the scenario lists others: the
#: count machinery (level, resources, Penrose load, home regime, climate noise).
FITTED_FIRM_FIELDS = (
    "hurdle",
    "resource_elasticity",
    "load_penalty",
    "home_policy_effect",
    "climate_noise",
)


#: The firm field that carries each kind of home-policy event's effect on the hurdle (a kind of
#: ``sim.data.taxonomy.HOME_POLICY_KINDS`` counts +1 or -1 per event in the index of its field).
#: Outbound-investment rules and capital controls are one axis, the outbound regime: easing and
#: tightening of the same rules, with one effect. Domestic regulation of platforms acts through
#: another channel (the regulator's scrutiny of the platforms' own expansion), so it has its own.
HOME_POLICY_EFFECTS: MappingProxyType[str, str] = MappingProxyType(
    {
        "outbound_easing": "home_policy_effect",
        "outbound_tightening": "home_policy_effect",
        "capital_controls": "home_policy_effect",
        "platform_regulation": "platform_regulation_effect",
    }
)
#: The effect fields, in the order of the world's effect index columns.
REGIME_EFFECT_FIELDS: tuple[str, ...] = tuple(dict.fromkeys(HOME_POLICY_EFFECTS.values()))


class Strategy(Strict):
    """A lever: a named policy with its parameters."""

    label: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="name used in outputs")
    policy: str = Field(
        description=f"registered policy name (built-in, '{ENTRY_POINT_GROUP}' entry point, "
        "or loaded with --plugin)"
    )
    params: dict[str, Any] = Field(default_factory=dict, description="policy parameters")
    firm: dict[str, Any] = Field(
        default_factory=dict,
        description="this strategy's own values of firm fields (e.g. its fitted hurdle)",
    )

    def firm_for(self, base: Firm) -> Firm:
        """The scenario's firm with this strategy's own firm values applied."""
        return base.model_copy(update=self.firm) if self.firm else base

    def policy_class(self) -> type[Policy]:
        """The policy class this strategy names (see :func:`find_policy`)."""
        return find_policy(self.policy)

    def make_params(self) -> PolicyParams:
        """The policy's validated parameters."""
        return self.policy_class().Params(**self.params)

    @model_validator(mode="after")
    def _known_policy_and_params(self) -> Strategy:
        try:
            cls = self.policy_class()
        except KeyError as exc:
            raise ValueError(exc.args[0]) from None
        except PluginError as exc:
            raise ValueError(str(exc)) from None
        cls.Params(**self.params)
        unknown = sorted(set(self.firm) - set(Firm.model_fields))
        if "profile" in self.firm:
            raise ValueError("firm.profile is the scenario's firm; a strategy cannot change it")
        if unknown:
            raise ValueError(f"unknown firm field(s) {', '.join(unknown)}")
        Firm(**self.firm)
        return self


class BarrierShock(Strict):
    """Raise (or lower) a market's barriers from a year on."""

    type: Literal["barrier"]
    market: str = Field(pattern=r"^[A-Z]{3}$")
    year: int
    delta: float = Field(ge=-2.0, le=2.0, description="change in the barrier index")


class ExcludeShock(Strict):
    """Close a market to the firm for some years."""

    type: Literal["exclude"]
    market: str = Field(pattern=r"^[A-Z]{3}$")
    from_year: int
    to_year: int | None = None


class CapitalShock(Strict):
    """Multiply the firm's resources (its revenue, as the hurdle reads it) for some years."""

    type: Literal["capital"]
    from_year: int
    to_year: int | None = None
    multiplier: float = Field(gt=0.0, le=10.0)


class MoveBarriersShock(Strict):
    """Re-date a market's recorded barrier events of one year to another year."""

    type: Literal["move_barriers"]
    market: str = Field(pattern=r"^[A-Z]{3}$")
    from_year: int
    to_year: int


Shock = Annotated[
    BarrierShock | ExcludeShock | CapitalShock | MoveBarriersShock, Field(discriminator="type")
]


class SweepParameter(Strict):
    """One swept parameter: a policy parameter by name, or ``firm.<field>``."""

    name: str = Field(description="policy parameter name, or firm.<field>")
    values: list[float] | None = Field(None, description="grid: the values to try")
    low: float | None = Field(None, description="Latin hypercube: lower bound")
    high: float | None = Field(None, description="Latin hypercube: upper bound")

    @model_validator(mode="after")
    def _values_or_range(self) -> SweepParameter:
        given = [*(self.values or []), *(v for v in (self.low, self.high) if v is not None)]
        if not all(math.isfinite(v) for v in given):
            raise ValueError(f"sweep values of {self.name!r} must be finite numbers (no nan/inf)")
        if self.values is not None and not self.values:
            raise ValueError(f"sweep parameter {self.name!r}: values must not be empty")
        if self.values is None and (self.low is None or self.high is None):
            raise ValueError("give either values (grid) or low and high (lhs)")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError("low must not exceed high")
        return self


class Sweep(Strict):
    """A parameter sweep: a grid or a Latin hypercube of points, each run ``replications`` times."""

    method: Literal["grid", "lhs"] = Field("grid", description="full grid or Latin hypercube")
    samples: int = Field(10, ge=1, le=1_000_000, description="lhs: number of points")
    replications: int | None = Field(
        None, ge=1, le=10_000_000, description="runs per point (default: the scenario's)"
    )
    strategies: list[str] | None = Field(None, description="labels to sweep (default: all)")
    parameters: list[SweepParameter] = Field(min_length=1)

    @model_validator(mode="after")
    def _method_fits(self) -> Sweep:
        for p in self.parameters:
            if self.method == "grid" and p.values is None:
                raise ValueError(f"grid sweep: parameter {p.name!r} needs values")
            if self.method == "lhs" and (p.low is None or p.high is None):
                raise ValueError(f"lhs sweep: parameter {p.name!r} needs low and high")
        return self


class LossWeights(Strict):
    """Weights of the calibration loss: negative log scores (see docs/calibration.md)."""

    counts: float = Field(
        1.0, ge=0.0, description="weight of -log score of the yearly counts (per year)"
    )
    mix: float = Field(
        1.0,
        ge=0.0,
        description="weight of -log score of the region, mode and country mixes (per event)",
    )


class Calibration(Strict):
    """How ``sim calibrate`` fits every strategy: windows, budget, seeds, loss weights."""

    window: tuple[int, int] = Field(
        description="calibration (in-sample) years (default: the firm profile's)"
    )
    validation: tuple[int, int] = Field(
        description="out-of-sample years (default: the firm profile's)"
    )
    trials: int = Field(80, ge=1, le=100_000, description="optimiser trials per policy and seed")
    replications: int = Field(40, ge=1, le=100_000, description="runs per trial")
    seeds: list[int] = Field([1, 2, 3], min_length=1, description="calibration seeds")
    validation_replications: int = Field(
        200, ge=2, le=1_000_000, description="runs per calibrated policy in validation"
    )
    weights: LossWeights = LossWeights()
    parameters: dict[str, list[str]] = Field(
        default_factory=dict,
        description="free parameters per strategy label (default: every bounded float)",
    )

    @model_validator(mode="after")
    def _windows(self) -> Calibration:
        a, b = self.window
        c, d = self.validation
        if not (a <= b and c <= d):
            raise ValueError("window and validation must each be [first, last]")
        if not (b < c or d < a):
            raise ValueError("the validation window must not overlap the calibration window")
        return self


class Sensitivity(Strict):
    """How ``sim sensitivity`` screens parameters (Morris elementary effects via SALib)."""

    strategy: str | None = Field(None, description="strategy label (default: the first)")
    firm_inputs: list[str] = Field(
        ["hurdle", "resource_elasticity", "load_penalty", "block_slope"],
        description="firm fields screened beside the policy's parameters",
    )
    trajectories: int = Field(10, ge=2, le=10_000, description="Morris trajectories")
    levels: int = Field(4, ge=2, le=20, description="Morris grid levels")
    replications: int = Field(20, ge=1, le=100_000, description="runs per sampled point")


class CalibrateBudget(Strict):
    """``sim calibrate``'s compute budget; a field left ``None`` takes the scenario's section.

    The default budget is the scenario's own ``calibration`` and ``sensitivity`` sections;
    :data:`CALIBRATE_QUICK` is ``--quick``'s, the whole pipeline in well under a minute.
    """

    trials: int | None = Field(None, ge=1, description="optimiser trials per policy and seed")
    replications: int | None = Field(None, ge=1, description="runs per trial")
    validation_replications: int | None = Field(
        None, ge=2, description="runs per calibrated policy in validation"
    )
    trajectories: int | None = Field(None, ge=2, description="Morris trajectories")
    sensitivity_replications: int | None = Field(
        None, ge=1, description="runs per Morris design point"
    )
    run_replications: int = Field(200, ge=1, description="runs of calibrated.yaml's validation")


class RecoverBudget(Strict):
    """``sim recover``'s compute budget (smaller than a calibration's: see docs/performance.md).

    The default fits >= 20 records per generator on two cores; :data:`RECOVER_QUICK` is
    ``--quick``'s (two records per generator, tiny fits).
    """

    records: int = Field(20, ge=1, description="synthetic records per generator")
    trials: int = Field(30, ge=1, description="optimiser trials per candidate and record")
    replications: int = Field(30, ge=1, description="runs per trial")
    validation_replications: int = Field(60, ge=2, description="runs per calibrated candidate")


class InferBudget(Strict):
    """``sim infer``'s compute budget per prior choice (:data:`INFER_QUICK` is ``--quick``'s)."""

    draws: int = Field(100_000, ge=500, description="bank draws per model")
    train: int = Field(40_000, ge=1, description="draws per model each classifier trains on")
    heldout: int = Field(5_000, ge=1, description="held-out draws per model for the checks")
    estimators: int = Field(5, ge=1, description="estimators (own seed and draws)")
    trees: int = Field(3_000, ge=1, description="trees of each estimator's random forest")
    abc_records: int = Field(50, ge=1, description="held-out records of the ABC cross-check")
    sbc: int = Field(100, ge=1, description="held-out draws per model for coverage")


CALIBRATE_QUICK = CalibrateBudget(
    trials=6,
    replications=8,
    validation_replications=40,
    trajectories=3,
    sensitivity_replications=4,
    run_replications=20,
)
RECOVER_QUICK = RecoverBudget(records=2, trials=4, replications=8, validation_replications=20)
INFER_QUICK = InferBudget(
    draws=1_000, train=800, heldout=200, estimators=3, trees=1_000, abc_records=20, sbc=20
)


def _within_record(years: Any, covered: tuple[int, int], firm: str) -> None:
    """Runs are compared with the record, so they simulate only years the record covers.

    Years outside it would be scored against counts nobody observed (an unknown is not a zero);
    ``sim project`` runs the years after the record.
    """
    if not (isinstance(years, list | tuple) and len(years) == 2):
        return  # the field's own validation reports the shape
    first, last = years
    if not (isinstance(first, int) and isinstance(last, int)):
        return
    if first < covered[0] or last > covered[1]:
        raise ValueError(
            f"years: {first}-{last} is outside the years {covered[0]}-{covered[1]} that the "
            f"record of {firm} covers (runs are compared with the record; `sim project` runs "
            "later years)"
        )


def _firm_section(raw: dict[str, Any]) -> dict[str, Any] | None:
    """The scenario's ``firm`` section as a mapping (``None`` when it is not one).

    ``firm: NAME`` is short for ``firm: {profile: NAME}``.
    """
    firm = raw.get("firm")
    if isinstance(firm, str):
        return {"profile": firm}
    if isinstance(firm, BaseModel):
        return firm.model_dump(exclude_unset=True)
    return _as_mapping(firm)


def _profile_reference(raw: dict[str, Any]) -> str:
    """The firm profile a raw scenario names: its ``firm.profile``, else the reference firm.

    A value that is not a name (a number, a list) is left to the field's own validation; the
    reference firm then fills the defaults, so that error is the one reported.
    """
    ref = (_firm_section(raw) or {}).get("profile")
    return ref if isinstance(ref, str) and ref else default_firm()


def _with_profile(raw: dict[str, Any], profile: FirmProfile) -> dict[str, Any]:
    """``raw`` with the firm named as stored and the profile's defaults where it is silent.

    A shipped firm stays named by its name; a user's folder is stored as an absolute path, so
    the scenario means the same firm wherever it is read. Years the scenario gives must lie in
    the record. A section that is not a mapping is left to its field's own validation.
    """
    raw = dict(raw)
    firm = _firm_section(raw)
    if firm is not None and isinstance(firm.get("profile"), str | None):
        folder = profile.folder
        name = folder.name if folder.parent == firms_root() else str(folder)
        raw["firm"] = {**firm, "profile": name}
    if raw.get("years") is None:
        raw["years"] = list(profile.record.years_covered)
    else:
        _within_record(raw["years"], profile.record.years_covered, profile.short_name)
    history = _as_mapping(raw.get("history"))
    if history is not None:
        raw["history"] = {**history, "scope": _scope(history.get("scope"), profile)}
    calibration = _as_mapping(raw.get("calibration"))
    if calibration is not None:
        defaults = dict(zip(("window", "validation"), default_windows(profile), strict=True))
        filled = {k: list(v) for k, v in defaults.items() if calibration.get(k) is None}
        raw["calibration"] = {**calibration, **filled}
    return raw


def _as_mapping(section: Any) -> dict[str, Any] | None:
    """A section as a plain mapping (an absent one is empty; ``None`` when it is not one)."""
    if isinstance(section, BaseModel):
        return section.model_dump()
    return dict(section or {}) if section is None or isinstance(section, dict) else None


def _scope(scope: Any, profile: FirmProfile) -> Any:
    """The scope a scenario compares with: the one it names, else the profile's default."""
    scope = scope or profile.default_scope
    if not isinstance(scope, str):
        return scope  # the field's own validation reports the type
    if scope not in profile.scopes:
        raise ValueError(
            f"history.scope: {scope!r} is not a scope of {profile.short_name} "
            f"({', '.join(profile.scopes)})"
        )
    return scope


class Scenario(Strict):
    """A whole experiment: years, seed, replications, data, firm, strategies and shocks."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9_.-]+$", max_length=200, description="name of the results folder"
    )
    description: str = ""
    years: tuple[int, int] = Field(
        description="first and last simulated year (default: the years the firm's record covers)"
    )
    seed: int = Field(
        0, ge=0, le=2**63 - 1, description="root seed of every random stream (64-bit)"
    )
    replications: int = Field(100, ge=1, le=10_000_000, description="runs per strategy")
    data: DataPaths = DataPaths()
    history: History
    firm: Firm = Firm()
    strategies: list[Strategy] = Field(min_length=1)
    shocks: list[Shock] = Field(default_factory=list)
    sweep: Sweep | None = Field(None, description="optional parameter sweep")
    calibration: Calibration
    sensitivity: Sensitivity = Sensitivity()
    projection: Projection | None = Field(None, description="optional `sim project` futures")

    @model_validator(mode="before")
    @classmethod
    def _profile_defaults(cls, raw: Any, info: ValidationInfo) -> Any:
        """Name the firm and fill what its profile decides (years, scope, windows).

        The profile arrives resolved in the validation context (``profile``: see
        :func:`parse_scenario`), so validating a scenario reads no file. Without it nothing is
        filled, and the fields a profile would give are reported missing.
        """
        profile = (info.context or {}).get("profile")
        if not isinstance(raw, dict) or not isinstance(profile, FirmProfile):
            return raw
        return _with_profile(raw, profile)

    @field_validator("years")
    @classmethod
    def _years_ordered(cls, years: tuple[int, int]) -> tuple[int, int]:
        if not (1990 <= years[0] <= years[1] <= 2100):
            raise ValueError("years must satisfy 1990 <= first <= last <= 2100")
        return years

    @field_validator("name")
    @classmethod
    def _one_folder_name(cls, name: str) -> str:
        if name in {".", ".."} or name.startswith("."):
            raise ValueError(
                "must be a plain folder name (not '.', '..' or a hidden name starting with '.')"
            )
        return name

    @field_validator("strategies")
    @classmethod
    def _unique_labels(cls, strategies: list[Strategy]) -> list[Strategy]:
        labels = [s.label for s in strategies]
        dup = {x for x in labels if labels.count(x) > 1}
        if dup:
            raise ValueError(f"duplicate strategy label(s): {', '.join(sorted(dup))}")
        return strategies

    @model_validator(mode="after")
    def _sweep_names_known(self) -> Scenario:
        if self.sweep is None:
            return self
        labels = [s.label for s in self.strategies]
        for label in self.sweep.strategies or []:
            if label not in labels:
                raise ValueError(f"sweep.strategies: unknown strategy label {label!r}")
        swept = [s for s in self.strategies if label_swept(self.sweep, s.label)]
        for p in self.sweep.parameters:
            if p.name.startswith("firm."):
                if p.name[5:] not in Firm.model_fields or p.name == "firm.profile":
                    raise ValueError(f"sweep: unknown firm field {p.name[5:]!r}")
                continue
            for s in swept:
                if p.name not in s.policy_class().Params.model_fields:
                    raise ValueError(
                        f"sweep: {p.name!r} is not a parameter of policy {s.policy!r} "
                        f"(strategy {s.label!r})"
                    )
        return self

    @model_validator(mode="after")
    def _shocks_in_years(self) -> Scenario:
        first, last = self.years
        for i, shock in enumerate(self.shocks):
            where = f"shocks[{i}]"
            dated: dict[str, int | None]
            if shock.type == "barrier":
                dated = {"year": shock.year}
            elif shock.type == "move_barriers":
                # a re-dating: the recorded year may lie anywhere in the record, the new one
                # must be simulated; earlier or later both make sense, so no order is required.
                dated = {"to_year": shock.to_year}
            else:
                dated = {"from_year": shock.from_year, "to_year": shock.to_year}
                if shock.to_year is not None and shock.from_year > shock.to_year:
                    raise ValueError(f"{where}: from_year must not be after to_year")
            for key, year in dated.items():
                if year is not None and not first <= year <= last:
                    raise ValueError(
                        f"{where}.{key}: {year} is outside the simulated years {first}-{last} "
                        "(the shock would have no effect)"
                    )
        return self

    @model_validator(mode="after")
    def _sections_name_strategies(self) -> Scenario:
        labels = [s.label for s in self.strategies]
        if self.sensitivity.strategy is not None and self.sensitivity.strategy not in labels:
            raise ValueError(
                f"sensitivity.strategy: unknown strategy label {self.sensitivity.strategy!r} "
                f"(labels: {', '.join(labels)})"
            )
        for label in self.calibration.parameters:
            if label not in labels:
                raise ValueError(
                    f"calibration.parameters: unknown strategy label {label!r} "
                    f"(labels: {', '.join(labels)})"
                )
        return self

    @model_validator(mode="after")
    def _projection_after_record(self) -> Scenario:
        if self.projection is None:
            return self
        last = self.projection.origin or self.years[1]
        if self.projection.horizon <= last:
            raise ValueError(
                f"projection.horizon: {self.projection.horizon} must be after the last simulated "
                f"year {last} (the projection starts the year after)"
            )
        for i, b in enumerate(self.projection.uncertainties.barriers):
            if b.from_year <= last:
                raise ValueError(
                    f"projection.uncertainties.barriers[{i}].from_year: {b.from_year} is not "
                    f"after the record's last simulated year {last}"
                )
        return self

    @property
    def year_range(self) -> range:
        """The simulated years as a range."""
        return range(self.years[0], self.years[1] + 1)

    @property
    def scope(self) -> str:
        """The record scope compared with (the profile's default unless the scenario sets one)."""
        return self.history.scope

    def firm_profile(self) -> FirmProfile:
        """The firm this scenario simulates (its profile, loaded and validated)."""
        return load_profile(self.firm.profile)

    def record(self, data: Dataset) -> pd.DataFrame:
        """The record events this scenario compares with (scope, coding, modes and years applied).

        Only the simulated years: a record may run on after them (a scenario may simulate a
        study's period of a longer record), and a run is compared with its own years.
        """
        events = record_history(data, self.scope, self.history.coding, self.history.modes)
        return events[events["year"].between(*self.years)]

    def earlier_record(self, data: Dataset) -> pd.DataFrame:
        """The record events the warm start replays: before the first simulated year, every mode.

        Every mode, greenfield operations and exits too (what the firm holds depends on them,
        whichever modes a comparison counts), in the comparison's scope and coding; none when
        ``history.warm_start`` is off.
        """
        events = record_history(data, self.scope, self.history.coding, RECORD_MODES)
        if not self.history.warm_start:
            return events.iloc[:0]
        return events[events["year"] < self.years[0]]

    def data_paths(self) -> DataPaths:
        """The data files the scenario names (blanks: the firm's own, then the packaged ones)."""
        return self.data

    def load_data(self, source: str | Path = "scenario") -> Dataset:
        """Load and check every input of this scenario (firm profile, record, indicators).

        Raises:
            SimInputError: naming the data file, or the scenario's ``years`` when the
                indicators do not cover them.
        """
        data = load_dataset(self.data, self.firm_profile(), years=range(0))
        gap = first_gap(data.indicators, data.markets, self.year_range)
        if gap is not None:
            iso3, name, year = gap
            raise SimInputError(
                source,
                f"{year} is not covered by the indicator data ({name} missing for {iso3})",
                field="years",
            )
        return data


def label_swept(sweep: Sweep | None, label: str) -> bool:
    """Whether the strategy ``label`` is swept."""
    return sweep is not None and (sweep.strategies is None or label in sweep.strategies)


def _location(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        elif item in {"barrier", "exclude", "capital", "move_barriers"} and parts:
            continue  # discriminator tag pydantic inserts; not a key the user wrote
        else:
            parts.append(str(item))
    return ".".join(parts)


def _resolve_paths(raw: dict[str, Any], base: Path) -> None:
    projection = raw.get("projection")
    if isinstance(projection, dict):
        start = projection.get("start_from")
        usable = isinstance(start, str) and bool(start) and "\x00" not in start
        if usable and isinstance(start, str) and not Path(start).is_absolute():
            projection["start_from"] = str((base / start).resolve())
    data = raw.get("data")
    if isinstance(data, dict):
        for key, value in data.items():
            if (
                isinstance(value, str)
                and value
                and "\x00" not in value  # rejected, with its field, by DataPaths
                and not Path(value).is_absolute()
            ):
                data[key] = str((base / value).resolve())


_FIELD_PREFIX = re.compile(r"^([A-Za-z_][\w.\[\]]*): (.+)$")


def default_windows(profile: FirmProfile) -> tuple[tuple[int, int], tuple[int, int]]:
    """The calibration and validation windows of a scenario of this firm that sets none.

    The profile's own; for a profile that sets none, the record's years with the last third
    (at least one year) held out of sample.
    """
    if profile.calibration is not None:
        return profile.calibration.window, profile.calibration.validation
    first, last = profile.record.years_covered
    held = max(1, (last - first + 1) // 3)
    return (first, last - held), (last - held + 1, last)


def parse_scenario(raw: Any, path: str | Path) -> Scenario:
    """Validate an already-parsed mapping as a scenario, with errors naming file and field."""
    if not isinstance(raw, dict):
        raise SimInputError(path, "a scenario must be a mapping of keys to values")
    _resolve_paths(raw, Path(path).parent)
    profile = load_profile(_profile_reference(raw), Path(path).parent)
    try:
        return Scenario.model_validate(raw, context={"profile": profile})
    except ValidationError as exc:
        errors = exc.errors()
        # A misspelt key also makes the intended key "missing": report the misspelling.
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key (check its spelling)"
        field = _location(err["loc"]) or None
        match = _FIELD_PREFIX.match(message)
        if match:  # a whole-scenario check names the field at the start of its message
            inner, message = match.groups()
            field = f"{field}.{inner}" if field else inner
        raise SimInputError(path, message, field=field) from None
    except RecursionError:
        raise SimInputError(path, "nested too deeply to be a scenario") from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file.

    Raises:
        SimInputError: when the file is missing, not YAML, or not a valid scenario.
    """
    return parse_scenario(read_yaml(path, "scenario"), path)


def override(
    scenario: Scenario, updates: dict[str, int], source: str | Path, flags: bool = True
) -> Scenario:
    """The scenario with top-level values replaced, validated like the file (one-line errors).

    The command line (``--replications``, ``--seed``) and the Python API (``replications=``)
    share it, so both accept and reject the same values. With ``flags``, an error in an
    overridden value names the command-line flag (``--replications: ...``).
    """
    raw = scenario.model_dump(mode="json", exclude_unset=False) | updates
    try:
        return parse_scenario(raw, Path(source))
    except SimInputError as exc:
        if not flags or exc.field not in updates:
            raise
        message = f"--{exc.field}: {exc.message}"
        raise SimInputError(source, message, field=exc.field) from None


#: Fields the firm profile fills when a scenario leaves them out (required after validation,
#: optional in a file): ``(schema definition or None for the top level, field)``.
PROFILE_FILLED = (
    (None, "years"),
    (None, "history"),
    (None, "calibration"),
    ("History", "scope"),
    ("Calibration", "window"),
    ("Calibration", "validation"),
)


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files (for editors and documentation).

    Fields the firm profile fills are optional in a file, so they are not listed as required.
    """
    schema = Scenario.model_json_schema()
    for where, name in PROFILE_FILLED:
        node = schema if where is None else schema["$defs"][where]
        node["required"] = [r for r in node.get("required", []) if r != name]
        if not node["required"]:
            del node["required"]
    return schema
