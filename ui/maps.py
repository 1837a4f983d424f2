"""Geometry for the map page: installed boundaries or hexagon tiles, trimmed for the browser."""
from __future__ import annotations

from geo.boundaries import layer_geojson
from geo.tiles import tile_layout, tile_polygons

COUNTRY = "VN"


#: extra simplification (degrees) of a nationwide view for the browser: about a pixel of the
#: national map on a phone, where the web layers keep detail for a province seen up close
NATIONAL_TOLERANCE = {"province": 0.01, "district": 0.006}


def _simplify(geom: dict, tolerance: float) -> dict:
    import shapely
    from shapely.geometry import mapping, shape
    g = shapely.simplify(shape(geom), tolerance, preserve_topology=True)
    if g.is_empty:
        return geom
    m = mapping(g)
    return {"type": m["type"], "coordinates": m["coordinates"]}


def _slim(features, codes: set[str] | None, decimals: int | None = None, tolerance: float | None = None) -> dict:
    out = []
    for f in features:
        fid = str(f.get("id") or f.get("properties", {}).get("code"))
        if codes is not None and fid not in codes:
            continue
        geom = f["geometry"]
        if tolerance:
            geom = _simplify(geom, tolerance)
        coords = geom["coordinates"]
        if decimals is not None:
            coords = _round(coords, decimals)
        geom = {"type": geom["type"], "coordinates": _clockwise(geom["type"], coords)}
        out.append({"type": "Feature", "id": fid, "properties": {}, "geometry": geom})
    return {"type": "FeatureCollection", "features": out}


def _signed_area(ring) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:]))


def _orient(ring, clockwise: bool):
    ccw = _signed_area(ring) > 0
    return list(reversed(ring)) if ccw == clockwise else ring


def _clockwise(kind: str, coords):
    """Exterior rings clockwise, holes counter-clockwise: the winding d3-geo (plotly) expects;
    the other winding would paint the whole globe except the unit."""
    def poly(rings):
        return [_orient(r, i == 0) for i, r in enumerate(rings)]
    if kind == "Polygon":
        return poly(coords)
    if kind == "MultiPolygon":
        return [poly(p) for p in coords]
    return coords


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
    if area == COUNTRY and level in NATIONAL_TOLERANCE:
        return _slim(gj["features"], set(codes) if codes is not None else None, 3, NATIONAL_TOLERANCE[level])
    return _slim(gj["features"], set(codes) if codes is not None else None)
