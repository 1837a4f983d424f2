"""Geometry for the map page: installed boundaries or hexagon tiles, trimmed for the browser."""
from __future__ import annotations

from geo.boundaries import layer_geojson
from geo.tiles import tile_layout, tile_polygons

COUNTRY = "VN"


def _slim(features, codes: set[str] | None, decimals: int | None = None) -> dict:
    out = []
    for f in features:
        fid = str(f.get("id") or f.get("properties", {}).get("code"))
        if codes is not None and fid not in codes:
            continue
        geom = f["geometry"]
        if decimals is not None:
            geom = {"type": geom["type"], "coordinates": _round(geom["coordinates"], decimals)}
        out.append({"type": "Feature", "id": fid, "properties": {}, "geometry": geom})
    return {"type": "FeatureCollection", "features": out}


def _round(coords, d):
    if coords and isinstance(coords[0], (int, float)):
        return [round(float(coords[0]), d), round(float(coords[1]), d)]
    return [_round(c, d) for c in coords]


def tiles_geojson(codes: list[str], vintage: str) -> dict:
    """One hexagon per unit, placed from unit centroids (geo.tiles), ids = codes."""
    if not codes:
        return {"type": "FeatureCollection", "features": []}
    layout = tile_layout(list(codes), vintage)
    return _slim(tile_polygons(layout, fit_degrees=20.0)["features"], None, 3)


def boundaries_geojson(vintage: str, level: str, area: str, codes: list[str] | None) -> dict | None:
    """Installed boundaries for the units ``codes`` inside ``area`` (None: not installed)."""
    gj = layer_geojson(vintage, level, None if area == COUNTRY else area, "low")
    if gj is None:
        return None
    return _slim(gj["features"], set(codes) if codes is not None else None)
