"""Country outlines for maps: Natural Earth 1:110m, shipped with the package (works offline).

The file ``world_110m.geojson`` is built by ``data-raw/build_world_shapes.py``; its source and
licence are in ``sim/data/README.md``. A market too small for the 1:110m scale (Singapore) has no
outline there; :func:`market_shapes` gives it a small disc at its capital so that every market
has exactly one shape on a map.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib.resources import files

import numpy as np

SHAPES_FILE = "world_110m.geojson"
#: Radius in degrees of the disc drawn for a market without a 1:110m outline.
DISC_RADIUS = 1.5

Rings = list[np.ndarray]


@lru_cache(maxsize=1)
def country_shapes() -> tuple[tuple[str, str, tuple[np.ndarray, ...]], ...]:
    """Every country outline as (iso3, name, rings); rings are (k, 2) lon/lat arrays.

    Exterior rings and holes are both listed; they run in opposite directions, so a filled path
    made of them leaves the holes open.
    """
    data = json.loads(files("sim.data").joinpath(SHAPES_FILE).read_text(encoding="utf-8"))
    out = []
    for feature in data["features"]:
        props = feature["properties"]
        rings = tuple(
            np.asarray(r, dtype=float)
            for polygon in feature["geometry"]["coordinates"]
            for r in polygon
        )
        out.append((props["iso3"], props["name"], rings))
    return tuple(out)


def _disc(lat: float, lon: float, radius: float = DISC_RADIUS) -> np.ndarray:
    angle = np.linspace(0, 2 * np.pi, 25)
    return np.column_stack([lon + radius * np.cos(angle), lat + radius * np.sin(angle)])


def market_shapes(iso3: tuple[str, ...], coords: np.ndarray) -> list[Rings]:
    """One shape (a list of rings) per market, in the order of ``iso3``.

    Args:
        iso3: The markets' codes.
        coords: Capital latitude and longitude per market, shape (N, 2): the disc's centre for a
            market without an outline.
    """
    by_code = {code: list(rings) for code, _, rings in country_shapes() if code}
    return [
        by_code.get(code) or [_disc(float(lat), float(lon))]
        for code, (lat, lon) in zip(iso3, coords, strict=True)
    ]
