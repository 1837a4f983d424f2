"""Press kit and key numbers against the release (read independently with Release.read); share,
embed and presentation modes through AppTest."""
import io
import json
import zipfile

import pandas as pd
import pytest
from babel.numbers import format_decimal
from PIL import Image
from apptest import errors, open_page

from ui import press, share
from ui.state import ViewState

# The press kit and image downloads are offered only where a Chromium can render them (Debian's,
# or $SIPAS_BROWSER: pointing it at a missing file runs the suite as on a machine without one).
NEEDS_BROWSER = pytest.mark.skipif(press.find_browser() is None, reason="no Chromium to render press images "
                                   "with (apt-get install chromium, or set SIPAS_BROWSER); .ci/run installs it")


def vi(x, digits=2):
    return format_decimal(float(x), format="#,##0." + "0" * digits, locale="vi_VN")


@pytest.fixture(scope="module")
def release(demo_release_root):
    from sipas_data.release import open_release
    return open_release(root=demo_release_root)


def expected(release, year, unit, level):
    cell = release.read(year=year, unit=unit, level=level).iloc[0]
    prev = release.read(year=year - 1, unit=unit, level=level).iloc[0]
    sib = release.read(year=year, level=level, parent=cell["parent_code"])
    return cell, prev, int((~sib["suppressed"].astype(bool)).sum())


def test_key_numbers_text_matches_the_release(release):
    cell, prev, total = expected(release, 2024, "868", "district")
    f = press.headline_facts(release.read, release.years, year=2024, unit="868", service="all", indicator="sipas",
                             labels={"indicator": "Chỉ số SIPAS", "place": "Thành phố Hồng Ngự",
                                     "service": "Tất cả dịch vụ", "peers": "đơn vị cấp huyện",
                                     "parent": "Tỉnh Đồng Tháp"})
    text = press.key_numbers_text(f, "Nguồn: X", demo=release.is_demo)
    d = cell["value"] - prev["value"]
    assert f"Năm 2024, Chỉ số SIPAS của Thành phố Hồng Ngự đạt {vi(cell['value'])}%" in text
    assert f"{'tăng' if d > 0 else 'giảm'} {vi(abs(d))} điểm % so với năm 2023" in text
    assert f"xếp thứ {int(cell['rank'])}/{total} đơn vị cấp huyện của Tỉnh Đồng Tháp" in text
    n = format_decimal(int(cell["n"]), format="#,##0", locale="vi_VN")
    assert f"n = {n} phiếu" in text
    assert f"khoảng tin cậy 95%: {vi(cell['ci_low'])}–{vi(cell['ci_high'])}%" in text
    assert "Nguồn: X" in text
    assert ("DỮ LIỆU MINH HỌA" in text) == bool(release.is_demo)


def test_key_numbers_for_a_suppressed_cell_give_no_value(release):
    sup = release.read(level="commune", service=None, indicator="sipas")
    sup = sup[sup["suppressed"].astype(bool)]
    if not len(sup):
        pytest.skip("no suppressed cell in the demo release")
    row = sup.iloc[0]
    f = press.headline_facts(release.read, release.years, year=int(row["year"]), unit=row["unit_code"],
                             service=row["service"], indicator="sipas")
    text = press.key_numbers_text(f, "Nguồn: X", demo=False)
    assert "không được công bố" in text and "đạt" not in text and "n =" not in text


@NEEDS_BROWSER
def test_press_kit_zip_holds_figures_data_and_text(release):
    from ui import figures
    cells = release.read(year=2024, level="district", parent="87")
    fig = figures.bar_ci(list(cells["unit_code"]), cells["value"].tolist(), cells["ci_low"].tolist(),
                         cells["ci_high"].tolist(), cells["n"].tolist(), "vi")
    figures.frame_figure(fig, "Xếp hạng", "Tỉnh Đồng Tháp · 2024", "Nguồn: X", True, "vi")
    frame = cells[["unit_code", "value", "n"]].reset_index(drop=True)
    r = press.Renderer()
    try:
        data = press.press_kit(r, [("ranking", fig), ("again", fig)], frame, "Năm 2024, …\n", base="sipas-x")
    finally:
        r.close()
    z = zipfile.ZipFile(io.BytesIO(data))
    names = z.namelist()
    pngs = [n for n in names if n.endswith(".png")]
    assert len(pngs) == 4
    for n in pngs:
        size = Image.open(io.BytesIO(z.read(n))).size
        assert size in {(2400, 1350), (2160, 2160)} and f"{size[0] // 2}x{size[1] // 2}" in n
    assert "sipas-x-data.csv" in names and "sipas-x-data.xlsx" in names and "so-lieu-chinh.txt" in names
    csv = pd.read_csv(io.BytesIO(z.read("sipas-x-data.csv")), dtype={"unit_code": str})
    assert csv["value"].round(9).tolist() == cells["value"].round(9).tolist()
    assert z.read("so-lieu-chinh.txt").decode("utf-8").startswith("Năm 2024")


def test_share_links_carry_the_whole_view():
    s = ViewState(release="r1", year=2024, level="commune", unit="870", service="birth",
                  indicator="element:access", lang="en", map="tiles", compare=("868", "870"))
    base = share.base_url("https://sipas.example.vn/map?year=2020#x", "map")
    assert base == "https://sipas.example.vn/map"
    url = share.share_url(base, s)
    for part in ("release=r1", "year=2024", "level=commune", "unit=870", "service=birth",
                 "indicator=element%3Aaccess", "lang=en", "map=tiles", "units=868%2C870"):
        assert part in url
    assert "mode=" not in url
    emb = share.embed_url(base, s)
    assert "mode=embed" in emb and "embed=true" in emb
    assert "mode=present" in share.present_url(base, s)
    code = share.iframe(emb, 'SIPAS "x"')
    assert code.startswith("<iframe") and "&amp;" in code and "&quot;x&quot;" in code
    assert share.base_url(None, "map") == "map"


# ---------------------------------------------------------------------------------------------
# the app

def run(page, **params):
    at = open_page(page, **params)
    assert not errors(at), errors(at)
    return at


def test_page_offers_share_link_and_key_numbers(demo_env, release):
    at = run("pages/overview.py", year="2024", unit="868", service="all")
    codes = [c.value for c in at.code]
    link = next(c for c in codes if c.startswith("overview?"))
    params = dict(x.split("=", 1) for x in link.split("?", 1)[1].split("&"))
    assert {k: at.query_params[k] for k in params} == params
    assert any(c.startswith("<iframe") and "mode=embed" in c for c in codes)
    text = next(c for c in codes if "Năm 2024" in c)
    cell, _, total = expected(release, 2024, "868", "district")
    assert vi(cell["value"]) + "%" in text and f"{int(cell['rank'])}/{total}" in text


@NEEDS_BROWSER
def test_page_offers_the_press_kit_and_image_downloads(demo_env):
    at = run("pages/overview.py", year="2024", unit="868", service="all")
    keys = {b.key for b in at.get("download_button")}
    assert "press_kit" in keys
    assert {"img_ov_ranking_png_news", "img_ov_ranking_png_social", "img_ov_ranking_svg_news",
            "img_ov_ranking_svg_social"} <= keys


def test_embed_mode_shows_only_the_primary_chart(demo_env):
    at = run("pages/map.py", year="2024", unit="87", mode="embed")
    assert at.query_params["mode"] == "embed"
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    assert len(at.sidebar) == 0
    # everything else the page drew stays in the hidden scratch container; the visible chart is last
    # the spec is JSON (written with or without \u escapes, depending on plotly's JSON engine)
    spec = json.loads(charts[0].proto.spec)
    assert any(a.get("text", "").startswith("Nguồn") for a in spec["layout"].get("annotations", []))


def test_embedded_chart_has_no_mode_bar_over_its_title(demo_env):
    """An embedded bar chart shows no plotly toolbar (on a phone it covered the title), as on the pages."""
    at = run("pages/overview.py", year="2024", unit="87", mode="embed")
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    assert json.loads(charts[0].proto.config)["displayModeBar"] is False


def test_embedded_bar_chart_is_drawn_as_on_the_page(demo_env):
    """The embed draws the bar chart's row names and values as one text trace, as the pages do
    (a dozen annotations each measured on its own made a phone's first paint slower); the source
    line stays an annotation."""
    at = run("pages/overview.py", year="2024", unit="87", mode="embed")
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    texts = [tr for tr in spec["data"] if tr.get("name") == "row-texts"]
    assert len(texts) == 1 and len(texts[0]["text"]) >= 2
    annotations = [a.get("name") for a in spec["layout"].get("annotations", [])]
    assert not {"row-label", "value-label"} & set(annotations)
    assert any(a.get("text", "").startswith("Nguồn") for a in spec["layout"]["annotations"])


def test_presentation_mode_hides_controls_but_keeps_the_page(demo_env):
    at = run("pages/overview.py", year="2024", unit="868", mode="present")
    assert len(at.sidebar) == 0
    assert at.subheader and at.metric
    assert len(at.get("plotly_chart")) >= 1
    assert not at.get("download_button") and not at.selectbox and not at.button


def test_bad_mode_falls_back_to_the_full_page(demo_env):
    at = run("pages/overview.py", year="2024", mode="kiosk")
    assert "kiosk" in " ".join(i.value for i in at.info)
    assert "mode" not in at.query_params
