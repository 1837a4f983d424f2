"""Hexagon tile maps: one equal hexagon per unit, placed from the centroids.

A tile map is what a user sees before any boundaries are installed, and an
option afterwards. It works for any set of sibling units (the communes of a
district or province, the districts of a province, the provinces of the
country), and in fact for any set of registry codes of one vintage.

Grid
----
Pointy-top hexagons of circumradius 1 in "odd-r" offset coordinates, rows
increasing northwards: the tile at (col, row) is centred at
``x = sqrt(3) * (col + 0.5 * (row % 2))``, ``y = 1.5 * row``. Neighbouring
centres are sqrt(3) apart, so tiles touch and never overlap. ``row`` starts at
0 or 1 (shifts are by an even number of rows so that the parity, hence the
shape, is kept) and ``col`` at 0.

Placement
---------
1. Centroids (lon, lat) are projected to a local plane: x = lon * cos(mean
   lat), y = lat.
2. The plane is scaled so that the median distance from a unit to its
   nearest neighbour equals the distance between neighbouring tiles (sqrt 3).
   These scaled points are the units' *targets*.
3. Units are placed greedily, the one whose target lies closest to a cell
   centre first (ties by code), each on the free cell nearest its target.
4. Local improvement: moves to free neighbouring cells and swaps with
   neighbouring tiles that lower the total squared displacement, repeated
   until nothing improves (at most 20 passes).
5. Units with no centroid (NaN, or unknown codes) go last, in code order, on a
   row below the others.

Everything depends only on the sorted set of codes, so the layout is
deterministic and cached by (sorted codes, vintage).

Displacement measure
--------------------
:func:`layout_quality` reports ``mean_displacement``: the mean distance,
in tile radii, between a tile's centre and its unit's target (scaled
centroid, the same plane as the tiles, after the best translation); and
``spearman_x``/``spearman_y``: Spearman rank correlation between the tiles'
x and the centroids' longitude, and the tiles' y and the latitude. The tests
bound both.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import pandas as pd

from .registry import _check_vintage, _index, units

__all__ = ["tile_layout", "tile_polygons", "hexagon_vertices", "layout_quality"]

SQRT3 = math.sqrt(3.0)
_NEIGHBOURS_EVEN = ((1, 0), (-1, 0), (0, 1), (-1, 1), (0, -1), (-1, -1))
_NEIGHBOURS_ODD = ((1, 0), (-1, 0), (1, 1), (0, 1), (1, -1), (0, -1))


def _centre(col: int, row: int) -> tuple[float, float]:
    return SQRT3 * (col + 0.5 * (row & 1)), 1.5 * row


def _nearest_cell(x: float, y: float) -> tuple[int, int]:
    """The cell whose centre is nearest (x, y) (checks the candidate rows)."""
    r0 = int(math.floor(y / 1.5))
    best = None
    for r in (r0 - 1, r0, r0 + 1, r0 + 2):
        c = int(round(x / SQRT3 - 0.5 * (r & 1)))
        for cc in (c - 1, c, c + 1):
            cx, cy = _centre(cc, r)
            d = (cx - x) ** 2 + (cy - y) ** 2
            if best is None or d < best[0]:
                best = (d, cc, r)
    return best[1], best[2]


def _neighbours(col: int, row: int):
    for dc, dr in (_NEIGHBOURS_ODD if row & 1 else _NEIGHBOURS_EVEN):
        yield col + dc, row + dr


def hexagon_vertices(x: float, y: float) -> list[tuple[float, float]]:
    """The six corners of the pointy-top hexagon of radius 1 centred at (x, y),
    counter-clockwise from the upper-right corner (not closed)."""
    out = []
    for k in range(6):
        a = math.radians(30 + 60 * k)
        out.append((x + math.cos(a), y + math.sin(a)))
    return out


def _targets(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Scaled centroid plane (n, 2); rows with NaN stay NaN."""
    ok = np.isfinite(lat) & np.isfinite(lon)
    pts = np.full((len(lat), 2), np.nan)
    if not ok.any():
        return pts
    k = math.cos(math.radians(float(np.mean(lat[ok]))))
    p = np.column_stack([lon[ok] * k, lat[ok]])
    if len(p) >= 2:
        nn = _nearest_distances(p)
        nn = nn[np.isfinite(nn) & (nn > 0)]
        med = float(np.median(nn)) if len(nn) else 0.0
        scale = SQRT3 / med if med > 0 else 1.0
    else:
        scale = 1.0
    p = (p - p.mean(0)) * scale
    pts[ok] = p
    return pts


def _nearest_distances(p: np.ndarray) -> np.ndarray:
    """Distance from each point to its nearest other point (STRtree)."""
    import shapely

    geoms = shapely.points(p)
    tree = shapely.STRtree(geoms)
    idx = tree.query_nearest(geoms, exclusive=True, all_matches=False)
    left, right = idx
    out = np.full(len(p), np.inf)
    d = np.sqrt(((p[left] - p[right]) ** 2).sum(1))
    np.minimum.at(out, left, d)
    return out


def _place(targets: np.ndarray, codes: list[str]) -> dict[int, tuple[int, int]]:
    n = len(codes)
    ok = np.isfinite(targets).all(1)
    occupied: dict[tuple[int, int], int] = {}
    cell_of: dict[int, tuple[int, int]] = {}
    # order: closest to its own nearest cell centre first, ties by code
    order = []
    for i in np.flatnonzero(ok):
        c, r = _nearest_cell(*targets[i])
        cx, cy = _centre(c, r)
        order.append(((targets[i][0] - cx) ** 2 + (targets[i][1] - cy) ** 2, codes[i], i))
    order.sort()
    for _, _, i in order:
        x, y = targets[i]
        c0, r0 = _nearest_cell(x, y)
        if (c0, r0) not in occupied:
            cell = (c0, r0)
        else:
            cell = None
            radius = 1
            while cell is None:
                best = None
                for r in range(r0 - radius - 1, r0 + radius + 2):
                    for c in range(c0 - radius - 1, c0 + radius + 2):
                        if (c, r) in occupied:
                            continue
                        cx, cy = _centre(c, r)
                        d = (cx - x) ** 2 + (cy - y) ** 2
                        key = (d, r, c)
                        if best is None or key < best:
                            best = key
                # accept only if no closer free cell can lie outside the searched box
                if best is not None and math.sqrt(best[0]) <= radius * 1.5:
                    cell = (best[2], best[1])
                radius += 1
        occupied[cell] = i
        cell_of[i] = cell

    _improve(targets, cell_of, occupied)

    # units without a centroid: a row below the others, in code order
    missing = [i for i in range(n) if not ok[i]]
    if missing:
        rows = [r for _, r in cell_of.values()] or [0]
        cols = [c for c, _ in cell_of.values()] or [0]
        row = min(rows) - 2
        c = min(cols)
        for i in sorted(missing, key=lambda j: codes[j]):
            cell_of[i] = (c, row)
            c += 1
    return cell_of


def _cost(t, cell):
    cx, cy = _centre(*cell)
    return (cx - t[0]) ** 2 + (cy - t[1]) ** 2


def _improve(targets, cell_of, occupied, passes: int = 20):
    for _ in range(passes):
        changed = False
        for i in sorted(cell_of):
            cell = cell_of[i]
            ti = targets[i]
            here = _cost(ti, cell)
            best = None
            for nb in _neighbours(*cell):
                j = occupied.get(nb)
                if j is None:
                    gain = here - _cost(ti, nb)
                else:
                    tj = targets[j]
                    gain = here + _cost(tj, nb) - _cost(ti, nb) - _cost(tj, cell)
                if gain > 1e-9 and (best is None or gain > best[0] + 1e-12):
                    best = (gain, nb, j)
            if best is None:
                continue
            _, nb, j = best
            del occupied[cell]
            if j is None:
                occupied[nb] = i
                cell_of[i] = nb
            else:
                occupied[nb] = i
                occupied[cell] = j
                cell_of[i], cell_of[j] = nb, cell
            changed = True
        if not changed:
            break


@lru_cache(maxsize=256)
def _layout_cached(codes: tuple[str, ...], vintage: str) -> pd.DataFrame:
    reg = units(vintage)
    idx = _index(vintage)
    lat = np.full(len(codes), np.nan)
    lon = np.full(len(codes), np.nan)
    rl, ro = reg["lat"].to_numpy(), reg["lon"].to_numpy()
    for k, c in enumerate(codes):
        i = idx.get(c)
        if i is not None:
            lat[k], lon[k] = rl[i], ro[i]
    targets = _targets(lat, lon)
    cells = _place(targets, list(codes))
    col = np.array([cells[i][0] for i in range(len(codes))], dtype=np.int64)
    row = np.array([cells[i][1] for i in range(len(codes))], dtype=np.int64)
    if len(codes):
        shift_r = int(math.floor(row.min() / 2.0)) * 2
        row = row - shift_r
        col = col - col.min()
    x = SQRT3 * (col + 0.5 * (row & 1))
    y = 1.5 * row
    df = pd.DataFrame({"code": pd.Series(codes, dtype=object), "col": col, "row": row,
                       "x": x.astype(float), "y": y.astype(float)})
    # targets in the same frame as the tiles, for layout_quality
    tgt = targets.copy()
    okm = np.isfinite(tgt).all(1)
    if okm.any():
        # best translation: align means of placed units with their targets
        tgt[okm] = tgt[okm] - tgt[okm].mean(0) + np.array([x[okm].mean(), y[okm].mean()])
    df.attrs["target_x"] = tgt[:, 0].tolist()
    df.attrs["target_y"] = tgt[:, 1].tolist()
    df.attrs["lat"] = lat.tolist()
    df.attrs["lon"] = lon.tolist()
    return df


def tile_layout(codes, vintage: str) -> pd.DataFrame:
    """Hexagon tile layout for a set of units of one vintage.

    Returns one row per distinct code, sorted by code, with columns ``code``,
    ``col``, ``row`` (odd-r offset coordinates of pointy-top hexagons, rows
    northwards), ``x``, ``y`` (tile centre; hexagon circumradius 1). Same set
    of codes -> same layout whatever the order. Cached: do not mutate.
    See the module docstring for the method.
    """
    vintage = _check_vintage(vintage)
    key = tuple(sorted({str(c) for c in codes}))
    return _layout_cached(key, vintage)


def layout_quality(layout: pd.DataFrame) -> dict:
    """How faithful a layout is to the centroids (see the module docstring).

    Returns ``mean_displacement`` and ``max_displacement`` (tile radii, over
    units with a centroid), ``spearman_x`` (tile x vs longitude) and
    ``spearman_y`` (tile y vs latitude).
    """
    tx = np.asarray(layout.attrs.get("target_x", []), dtype=float)
    ty = np.asarray(layout.attrs.get("target_y", []), dtype=float)
    ok = np.isfinite(tx) & np.isfinite(ty)
    x, y = layout["x"].to_numpy(), layout["y"].to_numpy()
    if not ok.any():
        return {"mean_displacement": float("nan"), "max_displacement": float("nan"),
                "spearman_x": float("nan"), "spearman_y": float("nan")}
    d = np.hypot(x[ok] - tx[ok], y[ok] - ty[ok])
    lon = np.asarray(layout.attrs["lon"], dtype=float)[ok]
    lat = np.asarray(layout.attrs["lat"], dtype=float)[ok]
    return {"mean_displacement": float(d.mean()), "max_displacement": float(d.max()),
            "spearman_x": _spearman(x[ok], lon), "spearman_y": _spearman(y[ok], lat)}


def _spearman(a, b) -> float:
    if len(a) < 3:
        return float("nan")
    ra = pd.Series(a).rank().to_numpy()
    rb = pd.Series(b).rank().to_numpy()
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def tile_polygons(layout: pd.DataFrame, fit_degrees: float | None = None) -> dict:
    """GeoJSON FeatureCollection of the tiles (feature ``id`` and
    ``properties.code`` = code; properties also col, row).

    Coordinates are the tile plane (x, y) used as lon/lat. With
    ``fit_degrees``, the plane is centred on 0, 0 and scaled so that its
    larger extent spans that many degrees (handy for a plotly choropleth on
    a geo map, whose latitudes must stay within ±90).
    """
    x = layout["x"].to_numpy(dtype=float)
    y = layout["y"].to_numpy(dtype=float)
    sx, sy, s = 0.0, 0.0, 1.0
    if fit_degrees and len(layout):
        sx = (x.min() + x.max()) / 2
        sy = (y.min() + y.max()) / 2
        extent = max(x.max() - x.min() + 2, y.max() - y.min() + 2)
        s = float(fit_degrees) / extent
    feats = []
    for code, col, row, cx, cy in zip(layout["code"], layout["col"], layout["row"], x, y):
        ring = [((vx - sx) * s, (vy - sy) * s) for vx, vy in hexagon_vertices(cx, cy)]
        ring.append(ring[0])
        feats.append({"type": "Feature", "id": code,
                      "properties": {"code": code, "col": int(col), "row": int(row)},
                      "geometry": {"type": "Polygon",
                                   "coordinates": [[[round(a, 6), round(b, 6)] for a, b in ring]]}})
    return {"type": "FeatureCollection", "features": feats}
