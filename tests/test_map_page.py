"""AppTest of the Map page drawn with pydeck: the deck spec sent, the place search, the n line."""
import json

import pytest

from apptest import errors, open_page


@pytest.fixture()
def no_geo(demo_env, tmp_path, monkeypatch):
    """No boundaries installed: the tile map."""
    monkeypatch.setenv("SIPAS_GEO_DATA", str(tmp_path / "geo"))
    monkeypatch.delenv("SIPAS_BASEMAP", raising=False)


def _spec(at) -> dict:
    charts = at.get("deck_gl_json_chart")
    assert len(charts) == 1
    return json.loads(charts[0].proto.json)


def test_province_map_sends_one_deck_with_named_units_and_no_base_map(no_geo):
    at = open_page("pages/map.py", year="2024", unit="87", level="district")
    assert not errors(at)
    spec = _spec(at)
    assert spec["mapStyle"] == "__MAP_STYLE__"  # no base map, nothing fetched from a tile host
    assert "cartocdn" not in json.dumps(spec) and "mapbox" not in json.dumps(spec)
    units = next(layer for layer in spec["layers"] if layer["id"] == "units")
    assert len(units["data"]["features"]) == 12  # the 12 districts of Đồng Tháp, once
    labels = next(layer for layer in spec["layers"] if layer["id"] == "labels")
    texts = [d["text"].split("\n")[0] for d in labels["data"]]
    # short names, but two units never read the same: the town and the district keep their type word
    assert "Tam Nông" in texts and "Cao Lãnh" not in texts and len(set(texts)) == len(texts) >= 6
    # the n line says what it counts
    from sipas_data.release import open_release
    n = int(open_release().read(year=2024, level="province", unit="87")["n"].iloc[0])
    shown = f"n = {n:,} phiếu (mọi dịch vụ".replace(",", ".")
    assert any(shown in c.value.replace("\\", "") for c in at.caption), [c.value for c in at.caption]


def test_national_tile_map_names_the_archipelagos(no_geo):
    at = open_page("pages/map.py", year="2024", level="province")
    assert not errors(at)
    labels = next(layer for layer in _spec(at)["layers"] if layer["id"] == "labels")
    texts = [d["text"].replace("\n", " ") for d in labels["data"]]  # the name on two lines
    assert "Quần đảo Hoàng Sa (Đà Nẵng)" in texts and "Quần đảo Trường Sa (Khánh Hòa)" in texts


def test_national_map_in_english_names_the_archipelagos_in_english(no_geo):
    at = open_page("pages/map.py", year="2025", level="province", lang="en")
    assert not errors(at)
    labels = next(layer for layer in _spec(at)["layers"] if layer["id"] == "labels")
    assert "Hoàng Sa archipelago (Đà Nẵng)" in [d["text"].replace("\n", " ") for d in labels["data"]]


def test_find_a_place_zooms_to_and_highlights_the_unit(no_geo):
    at = open_page("pages/map.py", year="2024", unit="87", level="district")
    before = _spec(at)["initialViewState"]["zoom"]
    at.text_input[0].input("tam nong").run()
    assert not errors(at)
    assert at.query_params["unit"] == ["871"] or at.query_params["unit"] == "871"
    spec = _spec(at)
    assert any(layer["id"] == "highlight" for layer in spec["layers"])
    assert spec["initialViewState"]["zoom"] > before


def test_find_a_place_that_does_not_exist_says_so(no_geo):
    at = open_page("pages/map.py", year="2024", unit="87", level="district")
    at.text_input[0].input("zzqxw").run()
    assert any("zzqxw" in i.value for i in at.info)
