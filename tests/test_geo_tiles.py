"""Hexagon tile layouts (geo.tiles).

Displacement measure (see geo.tiles): mean distance in tile radii between a
tile's centre and its unit's scaled centroid, and Spearman rank agreement of
tile x with longitude and tile y with latitude.
"""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from shapely.geometry import Polygon

from geo import children, units
from geo.tiles import SQRT3, hexagon_vertices, layout_quality, tile_layout, tile_polygons

DT_COMMUNES = sorted(units("2019").query("province_code == '87' and level == 'commune'").code)
DISTRICTS = sorted(units("2019").query("level == 'district'").code)


def _check_geometry(layout, codes):
    assert list(layout.code) == sorted(set(codes))
    assert not layout[["col", "row"]].duplicated().any()  # one cell per unit
    x = SQRT3 * (layout.col + 0.5 * (layout.row % 2))
    assert np.allclose(layout.x, x) and np.allclose(layout.y, 1.5 * layout.row)
    if len(layout) > 1:
        p = layout[["x", "y"]].to_numpy()
        d = np.sqrt(((p[:, None] - p[None]) ** 2).sum(-1))
        np.fill_diagonal(d, np.inf)
        assert d.min() >= SQRT3 - 1e-9  # hexagons of radius 1 touch at most: no overlap
    assert layout.row.min() in (0, 1) and layout.col.min() == 0


def test_all_sibling_sets_are_bounded():
    """Every set of siblings in both vintages (790 sets)."""
    sx, sy = [], []
    for vintage in ("2019", "2025"):
        u = units(vintage)
        for parent, g in u.groupby("parent_code"):
            layout = tile_layout(list(g.code), vintage)
            _check_geometry(layout, list(g.code))
            q = layout_quality(layout)
            assert q["mean_displacement"] <= 1.5, (vintage, parent, q)
            assert q["max_displacement"] <= 4.5, (vintage, parent, q)
            if len(g) >= 5:
                assert q["spearman_x"] >= 0.5 and q["spearman_y"] >= 0.5, (vintage, parent, q)
                sx.append(q["spearman_x"])
                sy.append(q["spearman_y"])
    assert np.mean(sx) >= 0.95 and np.mean(sy) >= 0.95


def test_provinces_of_the_country():
    for vintage, n in (("2019", 63), ("2025", 34)):
        codes = list(children("VN", vintage).code)
        layout = tile_layout(codes, vintage)
        assert len(layout) == n
        q = layout_quality(layout)
        assert q["mean_displacement"] < 1.0
        assert q["spearman_x"] > 0.95 and q["spearman_y"] > 0.98
        # the north (Hà Giang 02 / Cao Bằng 04) is above the south (Cà Mau 96)
        y = dict(zip(layout.code, layout.y))
        assert y["04"] > y["96"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["dt", "districts"]).flatmap(
    lambda k: st.lists(st.sampled_from(DT_COMMUNES if k == "dt" else DISTRICTS),
                       min_size=1, max_size=80, unique=True)),
       st.randoms(use_true_random=False))
def test_any_subset_is_deterministic_and_non_overlapping(codes, rnd):
    layout = tile_layout(codes, "2019")
    _check_geometry(layout, codes)
    shuffled = list(codes)
    rnd.shuffle(shuffled)
    again = tile_layout(shuffled + shuffled[:1], "2019")  # order and repeats do not matter
    assert again is layout or again.equals(layout)


def test_determinism_without_cache():
    from geo import tiles

    a = tile_layout(DT_COMMUNES, "2019").copy()
    tiles._layout_cached.cache_clear()
    b = tile_layout(list(reversed(DT_COMMUNES)), "2019")
    assert a.equals(b)
    assert tile_layout(DT_COMMUNES, "2019") is b  # cached


def test_units_without_centroid_go_last():
    codes = DT_COMMUNES[:20] + ["99998", "99999"]
    layout = tile_layout(codes, "2019")
    _check_geometry(layout, codes)
    lost = layout[layout.code.isin(["99998", "99999"])]
    placed = layout[~layout.code.isin(["99998", "99999"])]
    assert (lost.row < placed.row.min()).all()
    assert list(lost.sort_values("col").code) == ["99998", "99999"]
    only_unknown = tile_layout(["x1", "x2", "x3"], "2019")
    _check_geometry(only_unknown, ["x1", "x2", "x3"])


def test_empty_and_single():
    assert tile_layout([], "2019").empty
    one = tile_layout(["87"], "2019")
    assert list(one.code) == ["87"] and (one.col[0], one.row[0]) == (0, 0)


def test_hexagon_vertices():
    v = hexagon_vertices(2.0, -1.0)
    assert len(v) == 6
    assert all(math.isclose(math.hypot(x - 2, y + 1), 1.0) for x, y in v)
    poly = Polygon(v)
    assert poly.is_valid and math.isclose(poly.area, 3 * math.sqrt(3) / 2)
    # pointy-top: a vertex straight above the centre
    assert any(math.isclose(x, 2.0, abs_tol=1e-12) and math.isclose(y, 0.0) for x, y in v)


@pytest.mark.parametrize("fit", [None, 20.0])
def test_tile_polygons_geojson(fit):
    layout = tile_layout(list(children("87", "2019").code), "2019")
    fc = tile_polygons(layout, fit_degrees=fit)
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 12
    assert [f["id"] for f in fc["features"]] == list(layout.code)
    assert all(f["properties"]["code"] == f["id"] for f in fc["features"])
    polys = [Polygon(f["geometry"]["coordinates"][0]) for f in fc["features"]]
    assert all(p.is_valid for p in polys)
    total = sum(a.intersection(b).area for i, a in enumerate(polys) for b in polys[i + 1:])
    assert total < 1e-6 * sum(p.area for p in polys)
    if fit:
        xy = np.array([c for p in polys for c in p.exterior.coords])
        assert np.abs(xy).max() <= fit / 2 + 1e-6
