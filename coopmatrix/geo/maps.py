"""World map outlines as SVG paths, drawn offline from Natural Earth (world-atlas TopoJSON).

No tiles, no network: the TopoJSON shipped in geo/data is decoded once per process and projected
(equirectangular) into a 1000 × 500 box. States too small for the 1:110m outlines (Comoros,
Mauritius …) are drawn as dots from their latitude and longitude, so none is left off the map.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

WIDTH, HEIGHT = 1000, 500
TOPOJSON = Path(__file__).parent / "data" / "countries-110m.json"


def project(longitude: float, latitude: float) -> tuple[float, float]:
    """Equirectangular: longitude −180…180 → 0…WIDTH, latitude 90…−90 → 0…HEIGHT."""
    return (longitude + 180) / 360 * WIDTH, (90 - latitude) / 180 * HEIGHT


def _decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    scale_x, scale_y = topology["transform"]["scale"]
    shift_x, shift_y = topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:  # quantized and delta-encoded, as the TopoJSON specification says
            x, y = x + dx, y + dy
            points.append(project(x * scale_x + shift_x, y * scale_y + shift_y))
        arcs.append(points)
    return arcs


def _ring(arcs: list[list[tuple[float, float]]], indexes: list[int]) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else list(reversed(arcs[~index]))
        points.extend(arc[1:] if points else arc)
    return points


def _path(rings: list[list[tuple[float, float]]]) -> str:
    parts = []
    for ring in rings:
        # A ring that crosses the antimeridian would streak across the map: split it there.
        segment = []
        for point in ring:
            if segment and abs(point[0] - segment[-1][0]) > WIDTH / 2:
                parts.append(_polyline(segment))
                segment = []
            segment.append(point)
        parts.append(_polyline(segment, close=True))
    return " ".join(p for p in parts if p)


def _polyline(points: list[tuple[float, float]], close: bool = False) -> str:
    if len(points) < 2:
        return ""
    text = "M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return text + ("Z" if close else "")


@lru_cache(maxsize=1)
def outlines() -> dict[int, str]:
    """SVG path data of each country outline, keyed by M49 code."""
    topology = json.loads(TOPOJSON.read_text(encoding="utf-8"))
    arcs = _decode_arcs(topology)
    shapes: dict[int, str] = {}
    for geometry in topology["objects"]["countries"]["geometries"]:
        code = geometry.get("id")
        if code is None or not str(code).isdigit():
            continue
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        rings = [_ring(arcs, ring) for polygon in polygons for ring in polygon]
        shapes[int(code)] = _path(rings)
    return shapes


def choropleth(
    counts: dict[int, int], bins: tuple[int, ...], href: Callable[[Any], str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every current State coloured by its count (keyed by State id): outlines, and dots for the
    States too small for the outlines (those only when they count something)."""
    from .models import State

    shapes = outlines()
    states, dots = [], []
    for state in State.objects.exclude(status=State.Status.HISTORIC).exclude(m49__isnull=True):
        n = counts.get(state.pk, 0)
        entry = {"state": state, "n": n, "level": sum(1 for t in bins if n >= t), "href": href(state)}
        if state.m49 in shapes:
            states.append({**entry, "path": shapes[state.m49]})
        elif state.latitude is not None and state.longitude is not None and n:
            x, y = project(state.longitude, state.latitude)
            dots.append({**entry, "x": f"{x:.1f}", "y": f"{y:.1f}"})
    return states, dots
