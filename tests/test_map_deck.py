"""The pydeck map spec (ui/deck.py): layers, colours, escaped tooltips, no base map by default,
labels that never overlap, the archipelagos on national maps."""
import json

import pandas as pd
import pytest

from ui import deck, figures, maps


def _square(code, x, y, side=1.0):
    ring = [[x, y], [x + side, y], [x + side, y + side], [x, y + side], [x, y]]
    return {"type": "Feature", "id": code, "properties": {}, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def _cells(rows):
    df = pd.DataFrame(rows, columns=["code", "name", "value", "n", "suppressed", "has_data"])
    df["ci_low"] = df["value"] - 1
    df["ci_high"] = df["value"] + 1
    df["rank"] = df["value"].rank(ascending=False)
    df.loc[df["suppressed"] | ~df["has_data"], "rank"] = float("nan")
    df["total"] = 3
    return df


CELLS = _cells([("a", "Xã <b>A</b> & Co", 90.0, 120, False, True),
                ("b", "Xã B", 60.0, 80, False, True),
                ("c", "Xã C", float("nan"), float("nan"), True, True),
                ("d", "Xã D", float("nan"), float("nan"), False, False)])
GEO = {"type": "FeatureCollection", "features": [_square("a", 0, 0), _square("b", 1, 0), _square("c", 0, 1),
                                                  _square("d", 1, 1)]}


def _spec(**kw):
    d = deck.deck(GEO, CELLS, "sipas", "vi", view=(1.0, 1.0, 6.5), points=deck.anchors(GEO), **kw)
    # the tooltip travels beside the JSON spec (Streamlit reads it from the Deck object)
    return {**json.loads(d.to_json()), "tooltip": d._tooltip}


def _layer(spec, layer_id):
    return next(layer for layer in spec["layers"] if layer["id"] == layer_id)


def test_no_base_map_and_no_third_party_host_by_default(monkeypatch):
    monkeypatch.delenv(deck.BASEMAP_ENV, raising=False)
    spec = _spec(basemap=deck.basemap_setting())
    # pydeck's sentinel: Streamlit's frontend draws no base map (None or "" would make it pick Carto)
    assert spec["mapStyle"] == deck.NO_BASEMAP
    text = json.dumps(spec)
    assert "http" not in text and "carto" not in text.lower() and "mapbox" not in text.lower()


@pytest.mark.parametrize("value,expected", [
    ("", None), ("off", None), ("nonsense", None),
    ("light", {"kind": "style", "url": deck.LIGHT_STYLE}),
    ("https://tiles.agency.gov.vn/{z}/{x}/{y}.png", {"kind": "raster", "url": "https://tiles.agency.gov.vn/{z}/{x}/{y}.png"}),
    ("https://maps.agency.gov.vn/style.json", {"kind": "style", "url": "https://maps.agency.gov.vn/style.json"}),
])
def test_base_map_setting(value, expected):
    assert deck.basemap_setting({deck.BASEMAP_ENV: value}) == expected


def test_agency_raster_tiles_become_a_style_with_one_source():
    spec = _spec(basemap=deck.basemap_setting({deck.BASEMAP_ENV: "https://t.example.vn/{z}/{x}/{y}.png"}))
    assert spec["mapStyle"]["sources"]["agency"]["tiles"] == ["https://t.example.vn/{z}/{x}/{y}.png"]


def test_units_layer_colours_on_the_fixed_scale_and_greys_withheld_and_missing():
    units = _layer(_spec(), deck.UNITS_LAYER)
    assert units["pickable"] is True
    fills = {f["properties"]["code"]: f["properties"]["fill"] for f in units["data"]["features"]}
    assert fills["a"][:3] == deck.colour(90.0, "sipas")[:3]
    assert fills["c"][:3] == [0x9E, 0x9E, 0x9E]  # SUPPRESSED_COLOUR
    assert fills["d"][:3] == [0xEC, 0xEC, 0xEC]  # NO_DATA_COLOUR
    # the scale's ends: 50 is the lightest colour, 100 and above the darkest
    assert deck.colour(50, "sipas")[:3] == [0xFF, 0xFF, 0xD9]
    assert deck.colour(120, "sipas")[:3] == [0x08, 0x1D, 0x58]
    # 75 is half-way: SCALE's 0.5 stop, #41b6c4
    assert deck.colour(75, "sipas")[:3] == [0x41, 0xB6, 0xC4]
    assert deck.colour(50, "expectation:x")[:3] == [0x41, 0xB6, 0xC4]


def test_tooltip_is_plain_text_with_value_interval_n_and_rank():
    spec = _spec(parents={"a": "Huyện <i>X</i>"})
    assert set(spec["tooltip"]) == {"text", "style"}  # never "html": names cannot become markup
    tips = {f["properties"]["code"]: f["properties"]["tip"] for f in _layer(spec, "units")["data"]["features"]}
    assert tips["a"].splitlines() == ["Xã <b>A</b> & Co · Huyện <i>X</i>", "Giá trị: 90,00%",
                                      "Khoảng tin cậy 95%: 89,00–91,00", "n = 120", "Hạng: 1/3"]
    assert "không công bố" in tips["c"] and "%" not in tips["c"].splitlines()[0]
    en = deck.tooltip_text(next(CELLS.itertuples(index=False)), "en", 30)
    assert "Value: 90.00%" in en and "95% interval" in en


def test_highlight_outlines_the_unit():
    spec = _spec(highlight="b")
    hl = _layer(spec, "highlight")
    assert hl["filled"] is False and len(hl["data"]["features"]) == 1
    assert _layer(spec, deck.UNITS_LAYER)["stroked"] is True  # boundaries: neighbours need their border


def _hexagon(code, x, y):
    import math
    ring = [[x + math.cos(math.radians(30 + 60 * k)), y + math.sin(math.radians(30 + 60 * k))] for k in range(6)]
    return {"type": "Feature", "id": code, "properties": {},
            "geometry": {"type": "Polygon", "coordinates": [ring + [ring[0]]]}}


TILES = {"type": "FeatureCollection", "features": [_hexagon("a", 0, 0), _hexagon("b", 3 ** 0.5, 0),
                                                    _hexagon("c", 0, 3), _hexagon("d", 3 ** 0.5, 3)]}


def _kinds(spec) -> set:
    """The kinds of layer deck.gl draws for a spec (a GeoJsonLayer's stroke is a PathLayer)."""
    out = set()
    for layer in spec["layers"]:
        kind = layer["@@type"]
        if kind == "GeoJsonLayer":
            out |= ({"fill"} if layer.get("filled", True) else set()) | ({"stroke"} if layer.get("stroked") else set())
        else:
            out |= {kind + (":background" if layer.get("background") else "")}
    return out


def test_a_tile_map_is_one_filled_layer_kind_with_gaps_between_tiles():
    d = deck.deck(TILES, CELLS, "sipas", "vi", view=(0.9, 1.5, 6.0), points=deck.anchors(TILES), tiles=True,
                  highlight="b", islands=deck.archipelagos("vi"))
    spec = json.loads(d.to_json())
    units = _layer(spec, deck.UNITS_LAYER)
    assert units["stroked"] is False and units["pickable"] is True
    # each tile at TILE_FILL of its cell about the same centre: a white gap of 0.1 radius each side
    ring = next(f for f in units["data"]["features"] if f["properties"]["code"] == "a")["geometry"]["coordinates"][0]
    assert max(abs(x) for x, _ in ring) == pytest.approx(deck.TILE_FILL * 3 ** 0.5 / 2, abs=1e-3)
    assert max(abs(y) for _, y in ring) == pytest.approx(deck.TILE_FILL, abs=1e-3)
    # the highlighted tile: a filled ring from the cell's edge (outside the drawn tile) to 0.74 of it
    hl = _layer(spec, "highlight")
    assert hl["filled"] is True and hl["stroked"] is False
    outer, inner = hl["data"]["features"][0]["geometry"]["coordinates"]
    cx = 3 ** 0.5
    assert max(abs(x - cx) for x, _ in outer) == pytest.approx(3 ** 0.5 / 2, abs=1e-3)
    assert max(abs(x - cx) for x, _ in inner) == pytest.approx(deck.HIGHLIGHT_INNER * 3 ** 0.5 / 2, abs=1e-3)
    # filled polygons and one text layer: no stroke, no separate dot layer to compile in the browser
    assert _kinds(spec) == {"fill", "TextLayer"}
    labels = _layer(spec, "labels")
    # readable on any colour: a white halo from the glyphs' distance field (an outline needs sdf)
    assert labels["fontSettings"]["sdf"] is True and labels["outlineWidth"] > 0
    assert labels["outlineColor"][:3] == [255, 255, 255]
    assert "stroke" in _kinds(json.loads(deck.deck(TILES, CELLS, "sipas", "vi", view=(0.9, 1.5, 6.0)).to_json()))


def _boxes_overlap(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_few_units_are_all_named_with_their_value_where_it_fits():
    labels = deck.pick_labels(CELLS, deck.anchors(GEO), (1.0, 1.0, 7.5), "vi")
    assert {lb["code"] for lb in labels} == {"a", "b", "c", "d"}
    text = {lb["code"]: lb["text"] for lb in labels}
    assert text["b"] == "B\n60,0"  # big enough on screen for the value; the type word left out
    assert text["c"] == "C"  # withheld: the name only


def test_many_units_labels_never_overlap_and_keep_selected_and_extremes():
    n = 120
    feats, rows = [], []
    for i in range(n):
        code = f"{i:03d}"
        feats.append(_square(code, (i % 12) * 0.1, (i // 12) * 0.1, 0.1))
        rows.append((code, f"Xã Số Một Trăm {i}", 50.0 + i * 0.4, 100, False, True))
    cells = _cells(rows)
    pts = deck.anchors({"features": feats})
    labels = deck.pick_labels(cells, pts, (0.6, 0.5, 8.0), "vi", selected="050")
    assert 3 < len(labels) < n
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            assert not _boxes_overlap(a["box"], b["box"]), (a, b)
    codes = [lb["code"] for lb in labels]
    assert codes[0] == "050"  # the selected unit first
    assert "119" in codes  # the highest
    assert "000" in codes or "001" in codes  # the lowest (or its neighbour when the lowest collides)


def test_a_type_word_is_left_out_of_a_label_except_before_a_number():
    assert deck._short("Thành phố Hồng Ngự") == "Hồng Ngự"
    assert deck._short("Phường 1") == "Phường 1"


def test_national_map_names_and_marks_both_archipelagos():
    islands = deck.archipelagos("vi")
    spec = _spec(islands=islands)
    texts = [d["text"].replace("\n", " ") for d in _layer(spec, "labels")["data"]]  # two lines on the map
    assert "Quần đảo Hoàng Sa (Đà Nẵng)" in texts and "Quần đảo Trường Sa (Khánh Hòa)" in texts
    dots = _layer(spec, "archipelagos")
    assert dots["pickable"] is False and dots["stroked"] is False  # the units' kind of layer, no stroke
    rings = [f["geometry"]["coordinates"][0] for f in dots["data"]["features"]]
    centres = [(sum(p[0] for p in r[:-1]) / (len(r) - 1), sum(p[1] for p in r[:-1]) / (len(r) - 1)) for r in rings]
    assert len(rings) == sum(len(a["points"]) for a in islands)  # one dot per island marked
    assert max(x for x, _ in centres) > 115 and min(y for _, y in centres) < 8.5  # reaches the far islands
    # a dot, never a speck: 3 px across its radius at the view's zoom (6.5: 2**6.5 * 512 / 360 px a degree)
    widths = [(max(p[0] for p in r) - min(p[0] for p in r)) / 2 * 512 * 2 ** 6.5 / 360 for r in rings]
    assert min(widths) == pytest.approx(deck.DOT_PX, rel=0.02)
    assert _layer(spec, "labels")["characterSet"] == "auto"  # Vietnamese letters in the font atlas
    en = [a["name"] for a in deck.archipelagos("en")]
    assert en == ["Hoàng Sa archipelago (Đà Nẵng)", "Trường Sa archipelago (Khánh Hòa)"]


def test_tile_map_places_the_archipelagos_east_of_their_provinces():
    import geo
    codes = sorted(geo.units("2019").query("level == 'province'")["code"])
    gj = maps.tiles_geojson(codes, "2019")
    pts = deck.anchors(gj)
    islands = deck.archipelagos("vi", {c: (x, y) for c, (x, y, _) in pts.items()}, 0.5)
    by_key = {a["key"]: a for a in islands}
    assert by_key["hoang_sa"]["points"][0][0] > pts["48"][0] and by_key["truong_sa"]["points"][0][0] > pts["56"][0]
    xs = [x for x, _, _ in pts.values()]
    assert all(p[0] > max(xs) - 3 for a in islands for p in a["points"])  # out at sea, east of the tiles


def test_national_view_includes_the_archipelagos():
    islands = deck.archipelagos("vi")
    extra = [{"id": a["key"], "geometry": {"type": "MultiPoint", "coordinates": a["points"]}} for a in islands]
    x0, y0, x1, y1 = figures._bounds({"features": extra})
    assert x1 > 115.5 and y0 < 8


def test_unit_labels_keep_clear_of_the_archipelagos_names():
    islands = deck.archipelagos("vi")
    # a unit right where Hoàng Sa's name is written
    x, y = islands[0]["label_at"]
    geo = {"features": [_square("a", x - 0.2, y - 0.2, 0.4), _square("b", 105, 21, 0.4)]}
    cells = CELLS[CELLS["code"].isin(["a", "b"])]
    view = (108.0, 16.0, 5.0)
    reserved = [{"position": a["label_at"], "text": a["name"]} for a in islands]
    assert {lb["code"] for lb in deck.pick_labels(cells, deck.anchors(geo), view, "vi")} == {"a", "b"}
    assert {lb["code"] for lb in deck.pick_labels(cells, deck.anchors(geo), view, "vi", reserved=reserved)} == {"b"}


def test_a_view_fitted_to_the_archipelagos_names_holds_them_whole():
    islands = deck.archipelagos("vi")
    near, far = deck.label_extent(islands, 6.0), deck.label_extent(islands, 4.0)
    x = islands[1]["label_at"][0]
    assert near[2][0] < x < near[3][0]
    # "Quần đảo Trường Sa" (18 letters) at 6.6 px: about 65 px each side, in degrees at that zoom
    assert near[3][0] - x == pytest.approx((18 * deck.CHAR_PX / 2 + 6) / (512 * 2 ** 6 / 360))
    assert far[3][0] - x == pytest.approx(4 * (near[3][0] - x))


def test_tooltip_rank_says_among_what_and_a_unit_alone_has_none():
    row = next(CELLS.itertuples(index=False))
    tip = deck.tooltip_text(row, "vi", 30, "Huyện Tam Nông", "xã/phường/thị trấn")
    assert tip.splitlines()[-1] == "Hạng: 1/3 xã/phường/thị trấn của Huyện Tam Nông"
    alone = CELLS.assign(total=1, rank=1.0)
    tip = deck.tooltip_text(next(alone.itertuples(index=False)), "vi", 30, "Huyện Tam Nông", "xã/phường/thị trấn")
    assert "Hạng" not in tip  # not "1/1"


def test_fitted_height_is_the_features_own_height_with_room_within_bounds():
    """Latitudes -10..10 span ln(tan 50°) * 2 = 0.350853 in Mercator units, 0.350853 / 2π * 512
    = 28.59 px at zoom 0, so 228.7 px at zoom 3 (229 with room 60: 289) and 457.4 at zoom 4 (518);
    at zoom 1 (57.2 px) the lowest height holds, at zoom 5 (915 px) the highest."""
    box = {"features": [{"id": "a", "geometry": {"type": "MultiPoint", "coordinates": [[100, -10], [110, 10]]}}]}
    fitted = [deck.fitted_height(box, z, lowest=260, highest=560, room=60) for z in (1, 3, 4, 5)]
    assert fitted == [260, 289, 518, 560]


def test_a_wide_flat_area_gets_a_shorter_map_than_the_country(demo_release_root, monkeypatch):
    """Đồng Tháp's 2025 communes (a wide, flat area) fit a phone's width at a height well under the
    full map's; the country's provinces (tall) take far more of it."""
    from pages import map as map_page

    monkeypatch.setenv("SIPAS_RELEASES", str(demo_release_root))
    from ui import state
    from ui.offer import build_offer
    from sipas_data.release import open_release

    offer = build_offer(open_release("demo-dong-thap", demo_release_root))
    communes = tuple(r.code for r in state.units_in_area(offer, 2025, "82", "commune"))  # Đồng Tháp since 2025
    provinces = tuple(r.code for r in state.units_in_area(offer, 2024, state.COUNTRY, "province"))
    *_, flat = map_page._deck_geometry("tiles", "2025", "commune", "82", communes, None)
    *_, tall = map_page._deck_geometry("tiles", "2019", "province", state.COUNTRY, provinces, None)
    assert len(communes) > 50 and map_page.MAP_MIN_H <= flat < map_page.MAP_H - 150
    assert tall >= flat + 150
