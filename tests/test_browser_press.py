"""Real browser (Debian's Chromium via Playwright): the shared link opens the same view, the embed
URL shows only the chart, presentation mode has no controls, and the image and press-kit
downloads deliver what they promise (numbers checked against Release.read)."""
import io
import zipfile

import pytest
from PIL import Image

from test_browser_app import ARTIFACTS, browser, no_errors, page, server, wait_ready  # noqa: F401 - fixtures

pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def release(demo_release_root):
    from sipas_data.release import open_release
    return open_release(root=demo_release_root)


def _h3(pg) -> str:
    return pg.locator("h3").first.inner_text()


def test_shared_link_opens_the_same_view(server, page, browser):
    page.goto(f"{server}/overview?year=2023&unit=870&service=birth&indicator=element:access&lang=en")
    wait_ready(page)
    page.get_by_role("button", name="Share").click()
    code = page.locator("[data-testid='stPopoverBody'] code").first
    link = code.inner_text().strip()
    assert link.startswith(server + "/overview?")
    want = _h3(page)
    other = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        other.goto(link)
        wait_ready(other)
        for part in ("year=2023", "unit=870", "service=birth", "indicator=element%3Aaccess", "lang=en"):
            assert part in other.url
        assert _h3(other) == want
        assert no_errors(other)
    finally:
        other.close()


def test_embed_url_shows_the_chart_without_sidebar_or_controls(server, page):
    page.goto(f"{server}/map?year=2024&unit=87&level=district&mode=embed&embed=true")
    wait_ready(page)
    page.wait_for_selector(".js-plotly-plot")
    page.wait_for_timeout(1500)
    assert page.locator("[data-testid='stSidebar']").count() == 0 or \
        not page.locator("[data-testid='stSidebar']").first.is_visible()
    assert page.locator(".js-plotly-plot:visible").count() == 1
    for sel in ("[data-testid='stSelectbox']", "[data-testid='stDownloadButton']", "[data-testid='stPopover']",
                "[data-testid='stButton']", "[data-testid='stDataFrame']", "h3"):
        assert page.locator(f"{sel}:visible").count() == 0, sel
    title = page.locator(".js-plotly-plot .gtitle").first.text_content()
    assert "Chỉ số SIPAS" in title and "2024" in title
    notes = page.locator(".js-plotly-plot .annotation-text").all_text_contents()
    assert any(x.startswith("Nguồn") for x in notes) and any("DEMO DATA" in x for x in notes)
    assert no_errors(page)
    page.screenshot(path=str(ARTIFACTS / "press_embed_map.png"), full_page=True)


def test_presentation_mode_has_no_controls(server, page):
    page.goto(f"{server}/overview?year=2024&unit=868&mode=present")
    wait_ready(page)
    page.wait_for_timeout(1000)
    assert page.locator("[data-testid='stSidebar']:visible").count() == 0
    assert page.locator(".js-plotly-plot:visible").count() >= 1
    assert page.locator("[data-testid='stMetric']:visible").count() >= 1
    for sel in ("[data-testid='stSelectbox']", "[data-testid='stDownloadButton']", "[data-testid='stPopover']"):
        assert page.locator(f"{sel}:visible").count() == 0, sel
    page.screenshot(path=str(ARTIFACTS / "press_present_overview.png"), full_page=True)


def test_image_download_is_a_press_png(server, page):
    page.goto(f"{server}/overview?year=2024&unit=868")
    wait_ready(page)
    page.get_by_role("button", name="Tải ảnh").last.click()
    with page.expect_download(timeout=60_000) as dl:
        page.get_by_role("button", name="PNG 1200×675 (tin bài)").click()
    data = open(dl.value.path(), "rb").read()
    assert Image.open(io.BytesIO(data)).size == (2400, 1350)
    assert dl.value.suggested_filename.endswith("-news-1200x675.png")
    (ARTIFACTS / "press_download_ranking_news.png").write_bytes(data)


def test_press_kit_download_matches_the_release(server, page, release):
    page.goto(f"{server}/overview?year=2024&unit=868")
    wait_ready(page)
    with page.expect_download(timeout=120_000) as dl:
        page.get_by_role("button", name="Bộ tư liệu báo chí (ZIP)").click()
    z = zipfile.ZipFile(io.BytesIO(open(dl.value.path(), "rb").read()))
    names = z.namelist()
    pngs = sorted(n for n in names if n.endswith(".png"))
    assert len(pngs) == 4  # the elements chart and the ranking, each at both sizes
    assert {Image.open(io.BytesIO(z.read(n))).size for n in pngs} == {(2400, 1350), (2160, 2160)}
    csv = next(n for n in names if n.endswith(".csv"))
    assert any(n.endswith(".xlsx") for n in names)
    import csv as csvlib

    import pandas as pd

    from ui.strings import t
    # the reader's CSV: provenance lines, then the table (headers in the page's language, the
    # value at full precision in its own column)
    lines = z.read(csv).decode("utf-8-sig").splitlines()
    code, full = t("code", "vi"), t("dl_value_full", "vi")
    start = next(i for i, line in enumerate(lines) if {code, full} <= set(next(csvlib.reader([line]))))
    data = pd.read_csv(io.StringIO("\n".join(lines[start:])), dtype={code: str})
    cells = release.read(year=2024, level="commune", parent="868").set_index("unit_code")
    assert len(data) == len(cells)
    for c, v in zip(data[code], data[full]):
        assert cells.loc[c, "suppressed"] or abs(float(v) - cells.loc[c, "value"]) < 1e-9
    text = z.read("so-lieu-chinh.txt").decode("utf-8")
    cell = release.read(year=2024, unit="868", level="district").iloc[0]
    from babel.numbers import format_decimal
    assert format_decimal(cell["value"], format="#,##0.00", locale="vi_VN") + "%" in text
    assert "Nguồn:" in text and server in text
    (ARTIFACTS / "press_kit_overview.zip").write_bytes(open(dl.value.path(), "rb").read())


# every text the chart draws: title, subtitle, row names, values, ticks, legend, source (the demo
# watermark is meant to run off the plot)
_CLIPPED_TEXT = """els => els.flatMap(plot => {
  const box = plot.getBoundingClientRect();
  return [...plot.querySelectorAll('svg text')]
    .filter(t => t.textContent.trim() && !t.textContent.includes('DEMO DATA'))
    .map(t => [t.textContent, t.getBoundingClientRect()])
    .filter(([, r]) => r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1
                                       || r.top < box.top - 1 || r.bottom > box.bottom + 1))
    .map(([s]) => s);
})"""

_OVERLAPS = """els => els.flatMap(plot => {
  const sel = '.annotation-text, .gtitle, .legendtext, .xtick text, .ytick text, .xtitle, .ytitle';
  const texts = [...plot.querySelectorAll(sel)]
    .filter(t => t.textContent.trim() && !t.textContent.includes('DEMO DATA'))
    .map(t => [t.textContent, t.getBoundingClientRect()]).filter(([, r]) => r.width > 0);
  const out = [];
  for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
    const [a, r] = texts[i], [b, s] = texts[j];
    const w = Math.min(r.right, s.right) - Math.max(r.left, s.left);
    const h = Math.min(r.bottom, s.bottom) - Math.max(r.top, s.top);
    if (w > 2 && h > 2) out.push(a + ' / ' + b);
  }
  return out;
})"""


@pytest.mark.parametrize("url", ["overview?year=2024", "services?year=2024", "compare?year=2024",
                                 "locality?year=2024&unit=868"])
@pytest.mark.parametrize("width,height", [(390, 844), (1400, 1000)])
def test_chart_texts_are_not_clipped_or_overlapping_and_no_mode_bar(server, browser, url, width, height):
    pg = browser.new_page(viewport={"width": width, "height": height})
    try:
        pg.goto(f"{server}/{url}")
        wait_ready(pg)
        pg.wait_for_selector(".js-plotly-plot")
        pg.wait_for_timeout(1500)  # let plotly draw every chart
        plots = pg.locator(".js-plotly-plot")
        assert plots.count() >= 2
        for i in range(plots.count()):
            box = plots.nth(i).bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"chart {i} is wider than the screen"
        clipped = pg.eval_on_selector_all(".js-plotly-plot", _CLIPPED_TEXT)
        assert not clipped, clipped
        # the heatmap's cell values are packed by design; the frame's texts must never touch
        overlaps = pg.eval_on_selector_all(".js-plotly-plot:not(:has(.hm))", _OVERLAPS)
        assert not overlaps, overlaps
        first = plots.first
        first.scroll_into_view_if_needed()
        b = first.bounding_box()
        pg.mouse.click(b["x"] + b["width"] / 2, b["y"] + 20)   # a tap on the title
        pg.wait_for_timeout(300)
        assert pg.locator(".js-plotly-plot .modebar:visible").count() == 0
        pg.screenshot(path=str(ARTIFACTS / f"charts_{url.split('?')[0]}_{width}.png"), full_page=True)
    finally:
        pg.close()
