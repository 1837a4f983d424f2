"""The map's press image (ui/mapfig.py through ui/press.py): SVG shapes fitted to the image, the
legend outside the shapes, the units and the archipelagos named, labels that never overlap."""
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
    assert sum(tr.x.count(None) for tr in fills) == len(codes)
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
