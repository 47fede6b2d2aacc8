"""A firm profile: who the firm is, where it comes from, and where its record lives.

Everything that describes one firm (its name, home country, the entities whose deals count and how
they group into scopes, its fiscal year-end, dated corporate events, the years its record covers,
its default calibration windows, numbers a publication states about it) is data in a folder with a
``profile.yaml`` beside the firm's event record and finance file. Shipped firms live in
``sim/data/firms/<name>/``; a user's own firm is any folder with the same layout. Nothing in the
code names a firm, so another firm runs by pointing a scenario at another folder.
"""

from __future__ import annotations

import datetime
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.data.taxonomy import INDUSTRIES
from sim.errors import SimInputError
from sim.yamlfile import read_yaml

PROFILE_FILE = "profile.yaml"
#: The packaged index naming the shipped firms and the default one.
INDEX_FILE = "index.yaml"
_DATE = r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Entity(_Strict):
    """One arm of the firm whose deals the record may list (kept apart, never merged silently)."""

    name: str = Field(min_length=1)
    kind: Literal["parent", "subsidiary", "business_unit", "affiliate", "fund", "synthetic"]
    note: str = ""


def _real_date(text: str) -> str:
    """``text`` (``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD`` or ``MM-DD``) names a day that exists.

    The patterns admit a 30 February; a month and day with no year must exist in some year
    (29 February does, in leap years).
    """
    parts = [int(p) for p in text.split("-")]
    if len(text.split("-")[0]) < 4:  # MM-DD: try a leap year
        parts.insert(0, 2000)
    year, month, day = parts + [1] * (3 - len(parts))
    try:
        datetime.date(year, month, day)
    except ValueError:
        raise ValueError(f"{text!r} is not a date that exists") from None
    return text


class CorporateEvent(_Strict):
    """A dated fact about the firm itself (a listing, a reorganisation), with its source."""

    date: Annotated[str, Field(pattern=_DATE), AfterValidator(_real_date)]
    kind: Literal["listing", "reorganisation", "delisting", "other"]
    description: str
    source_url: str = Field(pattern=r"^(https?://|github:|synthetic:)\S+")
    confidence: Literal["high", "medium", "low"] = "medium"
    note: str = ""


class RecordFiles(_Strict):
    """The firm's own data files, relative to the profile's folder."""

    events: str = Field(description="the deal-event record (events.csv layout)")
    finance: str = Field(description="yearly revenue (firm_finance layout)")
    event_markets: str | None = Field(
        None, description="operating markets of multi-country targets (optional)"
    )
    years_covered: tuple[int, int] = Field(description="first and last year the record covers")
    note: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> RecordFiles:
        a, b = self.years_covered
        if not 1900 <= a <= b <= 2100:
            raise ValueError("years_covered must be [first, last] with first <= last")
        return self


class CalibrationWindows(_Strict):
    """The firm's default in-sample and out-of-sample years (a study design choice)."""

    window: tuple[int, int]
    validation: tuple[int, int]
    note: str = ""


class FirmProfile(_Strict):
    """A firm described as data (see the module docstring).

    Attributes:
        folder: The folder the profile was read from (its files are relative to it).
    """

    name: str = Field(min_length=1)
    short_name: str = Field(pattern=r"^[a-z0-9_]+$")
    synthetic: bool = Field(False, description="a made-up test firm, never a real record")
    home_iso3: str = Field(pattern=r"^[A-Z]{3}$")
    out_of_scope_iso3: list[str] = Field(
        default_factory=list,
        description="places whose deals are domestic (the home country is always domestic)",
    )
    fiscal_year_end: Annotated[
        str,
        Field(pattern=r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"),
        AfterValidator(_real_date),
    ]
    fiscal_year_end_source: str | None = None
    core_industry: str = Field(description="the firm's core industry (industry-choice submodel)")
    entities: list[Entity] = Field(min_length=1)
    scopes: dict[str, list[str]] = Field(min_length=1)
    default_scope: str
    corporate_events: list[CorporateEvent] = Field(default_factory=list)
    record: RecordFiles
    calibration: CalibrationWindows | None = None
    published_claims: str | None = Field(
        None, description="CSV of numbers a publication states about the record (optional)"
    )
    folder: Path = Field(Path("."), exclude=True)

    @model_validator(mode="after")
    def _consistent(self) -> FirmProfile:
        names = [e.name for e in self.entities]
        if len(set(names)) != len(names):
            raise ValueError("entities: a name is listed twice")
        for scope, members in self.scopes.items():
            unknown = [m for m in members if m not in names]
            if unknown:
                raise ValueError(f"scopes.{scope}: unknown entity {unknown[0]!r}")
        if self.default_scope not in self.scopes:
            raise ValueError(f"default_scope: {self.default_scope!r} is not one of the scopes")
        if self.core_industry not in INDUSTRIES:
            raise ValueError(
                f"core_industry: {self.core_industry!r} is not an industry "
                f"({', '.join(INDUSTRIES)})"
            )
        for iso3 in self.out_of_scope_iso3:
            if not re.fullmatch(r"[A-Z]{3}", iso3):
                raise ValueError(f"out_of_scope_iso3: {iso3!r} is not an ISO3 code")
        return self

    @property
    def domestic(self) -> frozenset[str]:
        """Countries whose deals are domestic (home plus ``out_of_scope_iso3``)."""
        return frozenset({self.home_iso3, *self.out_of_scope_iso3})

    @property
    def entity_names(self) -> tuple[str, ...]:
        """Every entity the record may name."""
        return tuple(e.name for e in self.entities)

    def scope_entities(self, scope: str | None) -> frozenset[str]:
        """Entities in ``scope`` (the default scope when ``None``)."""
        return frozenset(self.scopes[scope or self.default_scope])

    def path(self, relative: str) -> Path:
        """A file of the profile, relative to its folder."""
        return self.folder / relative


def firms_root() -> Path:
    """The packaged folder of shipped firms."""
    return Path(str(resources.files("sim.data").joinpath("firms")))


def shipped_firms() -> tuple[str, ...]:
    """Names of the shipped firm profiles."""
    root = firms_root()
    return tuple(sorted(p.name for p in root.iterdir() if (p / PROFILE_FILE).is_file()))


def default_firm() -> str:
    """The reference firm named in the packaged index (the default of every scenario)."""
    index = read_yaml(firms_root() / INDEX_FILE, "firm index")
    return str(index["default"])


def profile_folder(ref: str | Path, base: Path | None = None) -> Path:
    """Where a profile reference points: a shipped firm's name, or a folder (or its profile file).

    A relative folder is resolved against ``base`` (the scenario file's folder) first.
    """
    text = str(ref)
    if re.fullmatch(r"[a-z0-9_]+", text) and (firms_root() / text / PROFILE_FILE).is_file():
        return firms_root() / text
    path = Path(text)
    if not path.is_absolute() and base is not None:
        path = base / path
    if path.name == PROFILE_FILE:
        path = path.parent
    return path.resolve()


def _check_files(profile: FirmProfile, folder: Path, file: Path) -> None:
    """Every file the profile names exists inside its folder.

    A profile is data that travels (a user's firm, a colleague's folder); a path leading out of
    its folder (``../../x.csv``, an absolute path, a link) would read a file nobody reviewed as
    part of it.
    """
    named = {
        f"record.{k}": getattr(profile.record, k) for k in ("events", "finance", "event_markets")
    }
    named["published_claims"] = profile.published_claims
    inside = folder.resolve()
    for where, name in named.items():
        if name is None:
            continue
        path = folder / name
        if not path.resolve().is_relative_to(inside):
            raise SimInputError(
                file, f"{name!r} lies outside the profile's folder {inside}", field=where
            )
        if not path.is_file():
            raise SimInputError(file, f"file not found: {path}", field=where)


@lru_cache(maxsize=32)
def _read_profile(folder: Path) -> FirmProfile:
    file = folder / PROFILE_FILE
    if not file.is_file():
        known = ", ".join(shipped_firms())
        raise SimInputError(
            file, f"no firm profile here (a shipped firm is one of: {known}; or a folder)"
        )
    raw = read_yaml(file, "profile")
    if not isinstance(raw, dict):
        raise SimInputError(file, "a profile must be a mapping of keys to values")
    try:
        profile = FirmProfile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or None
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key (check its spelling)"
        match = re.match(r"^([A-Za-z_][\w.]*): (.+)$", message)
        if match:
            where, message = match.groups()
        raise SimInputError(file, message, field=where) from None
    _check_files(profile, folder, file)
    return profile.model_copy(update={"folder": folder})


def load_profile(ref: str | Path | None = None, base: Path | None = None) -> FirmProfile:
    """Load and validate a firm profile.

    Args:
        ref: A shipped firm's name (``sim/data/firms/<name>``), a folder holding
            ``profile.yaml``, or that file; the default firm when ``None``.
        base: Folder that a relative ``ref`` is relative to (the scenario's folder).

    Raises:
        SimInputError: naming the profile file and field when it is missing or invalid.
    """
    return _read_profile(profile_folder(ref if ref is not None else default_firm(), base))
