"""Build sim/data/world_110m.geojson: country outlines for the dashboard's map.

Input: ``sources/world_atlas/countries-110m.json``, copied verbatim from the npm package
``world-atlas`` 2.0.2 (ISC licence, file ``LICENSE`` beside it), a TopoJSON redistribution of
Natural Earth 4.1.0 Admin 0 country boundaries at 1:110m (public domain). Its ids are ISO 3166-1
numeric codes; they are turned into alpha-3 codes with Debian's ``iso-codes`` package
(``/usr/share/iso-codes/json/iso_3166-1.json``, version 4.15.0 when this file was built).

The TopoJSON arcs are decoded (delta-encoded, quantized) into plain GeoJSON polygons with
coordinates rounded to 0.01 degree, which is finer than the 1:110m source (a ring cut at the
antimeridian is unwrapped into one plane polygon), and each feature keeps
only ``iso3`` and ``name``. Shapes without an ISO code (Kosovo, Northern Cyprus, Somaliland) keep
an empty ``iso3`` and are drawn as background.

Run: ``python data-raw/build_world_shapes.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "sources" / "world_atlas" / "countries-110m.json"
ISO = Path("/usr/share/iso-codes/json/iso_3166-1.json")
OUT = HERE.parent / "sim" / "data" / "world_110m.geojson"


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    """Absolute lon/lat points of every arc (TopoJSON 2.1.5: quantized, delta-encoded)."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((round(x * sx + tx, 2), round(y * sy + ty, 2)))
        arcs.append(points)
    return arcs


def ring(indices: list[int], arcs: list[list[tuple[float, float]]]) -> list[list[float]]:
    """One closed ring from arc indices (a negative index ~i means arc i reversed)."""
    points: list[tuple[float, float]] = []
    for index in indices:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        points.extend(arc[1:] if points else arc)
    deduped = [p for i, p in enumerate(points) if i == 0 or p != points[i - 1]]
    # A ring cut at the antimeridian (Russia, Fiji) jumps from 180 to -180: unwrap its longitudes
    # so that it stays one plane polygon (the part past 180 falls outside the map's frame).
    out, shift = [], 0.0
    for i, (lon, lat) in enumerate(deduped):
        if i:
            step = lon + shift - out[-1][0]
            if step > 180:
                shift -= 360
            elif step < -180:
                shift += 360
        out.append([round(lon + shift, 2), lat])
    return out


def main() -> None:
    """Write the GeoJSON feature collection."""
    topology = json.loads(SOURCE.read_text())
    numeric = {c["numeric"]: c["alpha_3"] for c in json.loads(ISO.read_text())["3166-1"]}
    arcs = decode_arcs(topology)
    features = []
    for geom in topology["objects"]["countries"]["geometries"]:
        polygons = geom["arcs"] if geom["type"] == "MultiPolygon" else [geom["arcs"]]
        coords = [[ring(r, arcs) for r in polygon] for polygon in polygons]
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "iso3": numeric.get(geom.get("id", ""), ""),
                    "name": geom["properties"]["name"],
                },
                "geometry": {"type": "MultiPolygon", "coordinates": coords},
            }
        )
    collection = {
        "type": "FeatureCollection",
        "source": "Natural Earth 4.1.0 Admin 0 countries 1:110m (public domain), "
        "via npm world-atlas 2.0.2 countries-110m.json; iso3 from Debian iso-codes",
        "features": features,
    }
    OUT.write_text(json.dumps(collection, separators=(",", ":")) + "\n")
    print(f"{OUT}: {len(features)} shapes, {OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
