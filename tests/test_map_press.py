"""The map's press image (ui/mapfig.py through ui/press.py): SVG shapes fitted to the image, the
legend outside the shapes, the units and the archipelagos named, labels that never overlap."""
import numpy as np
import pandas as pd
import pytest

from ui import deck, figures, mapfig, maps, press


def _cells(codes, names):
    n = len(codes)
    return pd.DataFrame({"code": codes, "name": [names.get(c, c) for c in codes],
                         "value": [55.0 + 40.0 * i / max(n - 1, 1) for i in range(n)],
                         "ci_low": 50.0, "ci_high": 99.0, "n": 100, "rank": range(1, n + 1), "total": n,
                         "suppressed": [i == 1 for i in range(n)], "has_data": [i != 2 for i in range(n)]})


def _provinces():
    import geo
    u = geo.units("2019")
    u = u[u["level"] == "province"]
    return sorted(u["code"]), dict(zip(u["code"], u["name"]))


def _framed(fig):
    return figures.frame_figure(fig, "Chỉ số SIPAS theo tỉnh", "Toàn quốc · 2024", "Nguồn: thử", True, "vi",
                                height=620)


def test_press_map_is_svg_shapes_with_the_legend_outside_them():
    codes, names = _provinces()
    gj = maps.tiles_geojson(codes, "2019")
    fig = _framed(mapfig.choropleth(gj, _cells(codes, names), "sipas", "vi"))
    out = press.press_figure(fig, 1200, 675)
    assert not [tr for tr in out.data if tr.type.endswith("map")]  # no WebGL map left to draw
    fills = [tr for tr in out.data if tr.type == "scatter" and tr.fill == "toself"]
    # one path per colour step: fewer shapes than units (values 55-95 over 63 units), each unit once
    assert 3 <= len(fills) <= mapfig.STEPS * 0.8 + 2 < len(codes)
    # each unit's ring ends in a gap (NaN: plotly starts the next shape there), x and y alike
    assert sum(int(np.isnan(tr.x).sum()) for tr in fills) == len(codes)
    assert all(np.array_equal(np.isnan(tr.x), np.isnan(tr.y)) for tr in fills)
    bar = next(tr for tr in out.data if tr.type == "scatter" and tr.marker.showscale)
    assert bar.marker.colorbar.x >= out.layout.xaxis.domain[1]  # the colour bar beside the shapes
    assert (bar.marker.cmin, bar.marker.cmax) == figures.indicator_range("sipas")
    # the legend names the withheld and the missing classes
    assert {tr.name for tr in fills if tr.showlegend} == {"không công bố", "không có dữ liệu"}
    # the original figure is untouched (shared between viewers)
    assert fig.data[0].type == "choroplethmap"


def test_press_map_colours_match_the_fixed_scale():
    codes, names = _provinces()
    cells = _cells(codes, names)
    out = press.press_figure(_framed(mapfig.choropleth(maps.tiles_geojson(codes, "2019"), cells, "sipas", "vi")),
                             1200, 675)
    fills = [tr for tr in out.data if tr.type == "scatter" and tr.fill == "toself"]
    # the unit with the highest value (95) is in the darkest path drawn, close to the screen's colour
    want = deck.colour(95.0, "sipas")[:3]
    got = [deck._hex_rgb(tr.fillcolor) for tr in fills if tr.fillcolor.startswith("#")]
    assert min(sum(abs(a - b) for a, b in zip(g, want)) for g in got) <= 6
    greys = {tr.fillcolor for tr in fills} & {figures.SUPPRESSED_COLOUR, figures.NO_DATA_COLOUR}
    assert greys == {figures.SUPPRESSED_COLOUR, figures.NO_DATA_COLOUR}
    assert len(cells) == 63


@pytest.mark.parametrize("size", list(press.SIZES.values()))
def test_national_press_map_names_units_and_both_archipelagos_without_overlap(size):
    codes, names = _provinces()
    gj = maps.tiles_geojson(codes, "2019")
    pts = deck.anchors(gj)
    islands = deck.archipelagos("vi", {c: (x, y) for c, (x, y, _) in pts.items()}, 0.5)
    out = press.press_figure(_framed(mapfig.choropleth(gj, _cells(codes, names), "sipas", "vi", islands=islands)),
                             *size)
    texts = [t.replace("\n", " ") for t in mapfig.unit_labels(out)]
    assert "Quần đảo Hoàng Sa (Đà Nẵng)" in texts and "Quần đảo Trường Sa (Khánh Hòa)" in texts
    assert len(texts) > 10
    marks = [tr for tr in out.data if tr.type == "scatter" and tr.mode == "markers" and not tr.marker.showscale]
    assert sum(len(tr.x) for tr in marks) == sum(len(a["points"]) for a in islands)
    # every named point lies inside the drawn area
    xr, yr = out.layout.xaxis.range, out.layout.yaxis.range
    names = next(tr for tr in out.data if tr.name == "map-labels")
    assert len(names.x) == len(texts)
    for x, y in zip(names.x, names.y):
        assert xr[0] <= x <= xr[1] and yr[0] <= y <= yr[1]


def test_province_press_map_names_units_with_values():
    from conftest import SHARED_GEO
    if not (SHARED_GEO / "districts_2019.geojson").exists():
        pytest.skip("needs ../shared/geo")
    import json
    gj = json.loads((SHARED_GEO / "districts_2019.geojson").read_text(encoding="utf-8"))
    feats = [f for f in gj["features"] if str(f["properties"].get("code", f.get("id")))[:3] >= "866"
             and str(f["properties"].get("code", f.get("id"))) <= "877"]
    for f in feats:
        f["id"] = str(f["properties"].get("code", f.get("id")))
    gj = {"type": "FeatureCollection", "features": feats}
    codes = [f["id"] for f in feats]
    cells = _cells(codes, {c: f"Huyện {c}" for c in codes})
    out = press.press_figure(_framed(mapfig.choropleth(gj, cells, "sipas", "vi")), 1200, 675)
    texts = mapfig.unit_labels(out)
    assert texts and any("\n" in t for t in texts)  # a name with its value where it fits


def test_press_map_is_made_once_per_view_and_size():
    codes, names = _provinces()
    fig = _framed(mapfig.choropleth(maps.tiles_geojson(codes, "2019"), _cells(codes, names), "sipas", "vi"))
    a = press.press_figure(fig, 1200, 675)
    assert press.press_figure(fig, 1200, 675) is a
    assert press.press_figure(fig, 1080, 1080) is not a
    assert press.figure_key(a) == press.figure_key(a)


def test_press_paths_are_mercator_rings_simplified_under_the_tolerance():
    # a square ring with a point 0.001 deg off its edge: simplified away at 0.01, kept at 0.0001
    ring = [[105.0, 10.0], [105.5, 10.001], [106.0, 10.0], [106.0, 11.0], [105.0, 11.0], [105.0, 10.0]]
    x, y = mapfig._path([ring, ring[:3]], 0.01)  # a ring of fewer than 4 points is not drawn
    assert list(x[:-1]) == [105.0, 106.0, 106.0, 105.0, 105.0] and np.isnan(x[-1]) and len(x) == 6
    # Mercator y of 10 and 11 degrees north: ln(tan(pi/4 + lat/2)) in degrees
    assert y[0] == pytest.approx(10.0512, abs=1e-4) and y[2] == pytest.approx(11.0682, abs=1e-4)
    x, _ = mapfig._path([ring], 0.0001)
    assert len(x) == len(ring) + 1
    # a ring that simplifying would collapse (under 4 points) is kept as it is
    tri = [[105.0, 10.0], [105.00001, 10.00001], [105.00002, 10.0], [105.0, 10.0]]
    assert len(mapfig._path([tri], 1.0)[0]) == 5


def test_islets_under_a_pixel_are_left_out_but_never_a_whole_unit():
    def square(x, y, d):
        return [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]
    coast = {"type": "MultiPolygon", "coordinates": [square(106.0, 10.0, 1.0), square(108.0, 10.0, 0.001),
                                                     square(108.5, 10.0, 0.02)]}
    kept = mapfig._visible_rings(coast, 0.01)  # one pixel = 0.01 degrees
    assert [r[0] for r in kept] == [[106.0, 10.0], [108.5, 10.0]]  # the 0.001-degree islet is dropped
    islet = {"type": "MultiPolygon", "coordinates": [square(109.0, 16.0, 0.001), square(109.1, 16.0, 0.002)]}
    kept = mapfig._visible_rings(islet, 0.01)  # every ring under a pixel: the largest stays
    assert [r[0] for r in kept] == [[109.1, 16.0]]
    assert mapfig._visible_rings({"type": "Polygon", "coordinates": square(109.0, 16.0, 0.001)}, 0.01)
