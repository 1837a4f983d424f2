"""ui.fmt, ui.strings, ui.figures, ui.maps, ui.export: pure functions, no browser."""
import io
import re
from pathlib import Path

import pandas as pd
import pytest

from ui import export, figures, fmt, maps
from ui.strings import S, t

ROOT = Path(__file__).resolve().parent.parent


def test_vietnamese_decimal_comma_and_english_point():
    assert fmt.num(82.6634, "vi") == "82,66"
    assert fmt.num(82.6634, "en") == "82.66"
    assert fmt.pct(85.3, "vi", 1) == "85,3%"
    assert fmt.count(13361, "vi") == "13.361" and fmt.count(13361, "en") == "13,361"
    assert fmt.signed(2.58, "vi") == "+2,58" and fmt.signed(-1.2, "en") == "−1.20"
    assert fmt.num(float("nan")) == "–" and fmt.num(None) == "–"


def test_markdown_escape_neutralises_links_and_html():
    out = fmt.md("[x](http://evil) <b>*y*</b>")
    assert "](" not in out.replace("\\]\\(", "") and "<b>" not in out and "\\*" in out


def test_every_string_has_both_languages_and_every_used_key_exists():
    for key, (vi, en) in S.items():
        assert vi.strip() and en.strip(), key
        assert set(re.findall(r"{(\w+)}", vi)) == set(re.findall(r"{(\w+)}", en)), key
    used = set()
    for p in [*ROOT.glob("pages/*.py"), *ROOT.glob("ui/*.py"), ROOT / "app.py"]:
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+)["']\s*[,)]""", p.read_text(encoding="utf-8")))
    assert used and not (used - set(S)), used - set(S)


def _cells(n=6, suppressed=(2,), missing=(4,)):
    codes = [f"{800 + i}" for i in range(n)]
    return pd.DataFrame({
        "code": codes, "name": [f"Huyện <b>{i}</b>" for i in range(n)],
        "value": [60.0 + 5 * i for i in range(n)], "ci_low": 55.0, "ci_high": 90.0, "n": 100.0,
        "rank": [float(i + 1) for i in range(n)], "total": float(n),
        "suppressed": [i in suppressed for i in range(n)], "has_data": [i not in missing for i in range(n)]})


def _hexes(codes):
    feats = [{"type": "Feature", "id": c, "properties": {},
              "geometry": {"type": "Polygon", "coordinates": [[[i, 0], [i, 1], [i + 1, 1], [i + 1, 0], [i, 0]]]}}
             for i, c in enumerate(codes)]
    return {"type": "FeatureCollection", "features": feats}


def test_choropleth_never_colours_suppressed_or_missing_units():
    cells = _cells()
    fig = figures.choropleth(_hexes(cells["code"]), cells, "sipas", "vi")
    valued, suppressed, missing = fig.data[0], fig.data[1], fig.data[2]
    assert "802" not in list(valued.locations) and "804" not in list(valued.locations)
    assert list(suppressed.locations) == ["802"] and list(missing.locations) == ["804"]
    assert suppressed.showlegend and suppressed.name == t("suppressed_class", "vi")
    assert missing.name == t("no_data_class", "vi")
    # each trace carries only its own features
    assert [f["id"] for f in suppressed.geojson["features"]] == ["802"]


@pytest.mark.parametrize("indicator,bounds", [("sipas", (50, 100)), ("element:access", (50, 100)),
                                              ("expectation:3", (0, 100)), ("perception:harassment:none", (0, 100))])
def test_colour_bounds_are_fixed_per_indicator_family(indicator, bounds):
    cells = _cells(suppressed=(), missing=())
    fig = figures.choropleth(_hexes(cells["code"]), cells, indicator, "vi")
    assert (fig.data[0].zmin, fig.data[0].zmax) == bounds
    cells2 = cells.assign(value=cells["value"] - 20)  # other data, same scale
    assert figures.choropleth(_hexes(cells["code"]), cells2, indicator, "vi").data[0].zmax == bounds[1]


def test_hover_escapes_unit_names():
    cells = _cells()
    fig = figures.choropleth(_hexes(cells["code"]), cells, "sipas", "vi")
    names = [row[0] for row in fig.data[0].customdata]
    assert all("<b>" not in n and "&lt;b&gt;" in n for n in names)


def test_frame_figure_carries_title_place_source_and_watermark():
    fig = figures.bar_ci(["A", "B"], [80.0, 70.0], [78.0, 68.0], [82.0, 72.0], [100, 90], "vi")
    figures.frame_figure(fig, "Chỉ số thành phần", "Thành phố Hồng Ngự · 2024 · n = 760",
                         "Nguồn: Bộ Nội vụ, SIPAS 2024, 2025-01-01", True, "vi")
    title = fig.layout.title.text
    assert "Chỉ số thành phần" in title and "Hồng Ngự" in title and "2024" in title and "n = 760" in title
    texts = [a.text for a in fig.layout.annotations]
    assert any("Nguồn: Bộ Nội vụ" in x for x in texts)
    assert any("DEMO DATA" in x for x in texts)
    fig2 = figures.frame_figure(figures.bar_ci(["A"], [80.0], [78.0], [82.0], [100], "vi"), "T", "S", "src", False)
    assert not any("DEMO" in (a.text or "") for a in fig2.layout.annotations)


def test_trend_marks_method_break_and_restated_points():
    df = pd.DataFrame({"series": "X", "year": [2020, 2021, 2022, 2023], "value": [80.0, 81, 78, 79],
                       "ci_low": 75.0, "ci_high": 85.0, "n": 100, "restated": [True, True, False, False]})
    fig = figures.trend(df, "vi")
    names = [tr.name for tr in fig.data]
    assert any(t("restated", "vi") in n for n in names)
    assert any(s.x0 == 2021.5 for s in fig.layout.shapes)


def test_tiles_geojson_is_clockwise_and_small():
    import geo
    codes = geo.children("87", "2019")["code"].tolist()
    gj = maps.tiles_geojson(codes, "2019")
    assert [f["id"] for f in gj["features"]] == sorted(codes) or {f["id"] for f in gj["features"]} == set(codes)
    for f in gj["features"]:
        ring = f["geometry"]["coordinates"][0]
        assert maps._signed_area(ring) < 0  # clockwise


def test_exports_round_trip_with_vietnamese_text():
    df = pd.DataFrame({"name": ["Thành phố Hồng Ngự"], "value": [75.889905]})
    csv = export.csv_bytes(df)
    assert csv.startswith(b"\xef\xbb\xbf") and "Hồng Ngự".encode() in csv
    back = pd.read_excel(io.BytesIO(export.xlsx_bytes(df)))
    assert back.loc[0, "name"] == "Thành phố Hồng Ngự" and back.loc[0, "value"] == pytest.approx(75.889905)
