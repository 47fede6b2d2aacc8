"""Projecting from an origin year: only what a user at the end of that year could have known.

A projection from origin ``O`` rebuilds everything it reads from the data dated up to ``O``:
the world (and so the warm start) covers the scenario's first year to ``O``; record events,
home-regime events, barrier events and revenue dated after ``O`` are dropped before the world is
built, so the home-regime index, the barrier index and the firm's resources are carried forward
from ``O`` exactly as for any unknown future (:mod:`.futures`). Market indicators after ``O`` are
dropped too when the projection asks for it (``indicators: carry_forward``, which the backtest
always uses): the table's later values are observations or projections made after ``O``.

Revenue is dated as the world reads it: a fiscal year counts for the calendar year holding most
of its months (:func:`sim.world.calendar_revenue`), so a fiscal year ending in March counts for
the calendar year before. That is the one place a figure published a few months after ``O`` may
enter, and it is the figure the record years themselves use.

Parameters must not have seen the years they forecast: the strategies' fitted values come from a
calibration window (the ``start_from`` file's, else the scenario's own ``calibration.window``),
and a window ending after ``O`` is refused.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from sim.data.loaders import Dataset
from sim.errors import SimInputError
from sim.projection_spec import Projection
from sim.scenario import Scenario, load_scenario


def _year_of(dates: pd.Series) -> np.ndarray:
    """The year of ISO dates (YYYY, YYYY-MM or YYYY-MM-DD)."""
    return dates.astype(str).str[:4].astype(int).to_numpy()


def _revenue_year(finance: pd.DataFrame) -> np.ndarray:
    """Calendar year each finance row counts for (period ends Jan-Jun count for the year before)."""
    end = pd.to_datetime(finance["period_end"])
    return np.where(end.dt.month >= 7, end.dt.year, end.dt.year - 1)


def data_as_of(data: Dataset, origin: int, indicators: str = "use") -> Dataset:
    """The dataset a user at the end of ``origin`` had: every row dated after it dropped.

    Args:
        data: The validated inputs.
        origin: Last year of data kept.
        indicators: "carry_forward" also drops market-indicator rows after ``origin``; "use"
            keeps them as the supplied path of the projected years.

    Returns:
        A copy with events, barrier events, home-policy events and finance rows (and maybe
        indicators) up to ``origin``.
    """
    home = data.home_policy
    if home is not None:
        home = home[_year_of(home["date"]) <= origin]
    keep = data.indicators
    if indicators == "carry_forward":
        keep = keep[keep["year"] <= origin]
    return dataclasses.replace(
        data,
        events=data.events[data.events["year"] <= origin],
        barriers=data.barriers[_year_of(data.barriers["date"]) <= origin],
        finance=data.finance[_revenue_year(data.finance) <= origin],
        home_policy=home,
        indicators=keep,
    )


def fitted_through(scenario: Scenario, spec: Projection, source: str) -> int:
    """Last year of the calibration window the strategies' values were fitted on.

    The ``start_from`` file's window when the projection starts from one, else the scenario's own
    ``calibration.window`` (the window the values given inline are declared to come from).
    """
    if spec.start_from is None:
        return scenario.calibration.window[1]
    try:
        return load_scenario(spec.start_from).calibration.window[1]
    except SimInputError as exc:
        raise SimInputError(source, str(exc), field="projection.start_from") from None


def check_origin(scenario: Scenario, origin: int, horizon: int, source: str) -> None:
    """Refuse an origin the record cannot serve or the fitted values have looked past.

    Raises:
        SimInputError: one line naming the scenario file and ``projection.origin``.
    """
    spec = scenario.projection
    assert spec is not None  # checked by the caller
    first, last = scenario.firm_profile().record.years_covered
    where = "projection.origin"
    if not max(first, scenario.years[0]) < origin <= last:
        raise SimInputError(
            source,
            f"{origin} must be after the first simulated year {scenario.years[0]} and within "
            f"the record's years {first}-{last}",
            field=where,
        )
    if horizon <= origin:
        raise SimInputError(
            source, f"the horizon {horizon} must be after the origin {origin}", field=where
        )
    fitted = fitted_through(scenario, spec, source)
    if fitted > origin:
        raise SimInputError(
            source,
            f"the strategies' values were fitted on a calibration window ending {fitted}, after "
            f"the origin {origin}; start from a calibration whose window ends by {origin}",
            field=where,
        )


def at_origin(scenario: Scenario, origin: int) -> Scenario:
    """The scenario as of ``origin``: its simulated (record) years end there."""
    return scenario.model_copy(update={"years": (scenario.years[0], origin)})
