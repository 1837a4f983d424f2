"""Real browser at a phone's size (390x844) and a desktop's (1400x1000): on a phone the sidebar starts
closed (one tap opens it), each page's figures come before the share and press buttons, and nothing
is wider than the screen; on a desktop the sidebar is open and the buttons stay above the page.
Screenshots go to test-artifacts/ for a person to look at."""
from pathlib import Path

import pytest

from browser import NEEDS_CHROMIUM, app_server, chromium

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
PAGES = {
    "overview": "/overview?year=2024",
    "map": "/map?year=2024",
    "services": "/services?year=2024",
    "compare": "/compare?year=2024&units=868,870,866",
    "locality": "/locality?year=2024&unit=868",
}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1400, "height": 1000}}

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = NEEDS_CHROMIUM

# a page's figures: plotly charts, and the map's deck.gl layer
FIGURE = "[data-testid='stPlotlyChart'], [data-testid='stDeckGlJsonChart']"
LAYOUT_JS = """() => {
  const top = e => e ? Math.round(e.getBoundingClientRect().top + scrollY) : null;
  const sb = document.querySelector("[data-testid='stSidebar']");
  const share = document.querySelector(".st-key-press_toolbar");
  const chart = document.querySelector(FIGURE);
  return {sidebar_right: sb ? Math.round(sb.getBoundingClientRect().right) : null,
          toolbar: share && share.getBoundingClientRect().height > 0 ? top(share) : null,
          chart: top(chart), page_width: document.documentElement.scrollWidth};
}""".replace("FIGURE", repr(FIGURE))


@pytest.fixture(scope="module")
def server(demo_release_root, tmp_path_factory):
    with app_server(demo_release_root, tmp_path_factory.mktemp("geo_empty")) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def open_page(browser, url, device):
    ctx = browser.new_context(**device)
    pg = ctx.new_page()
    pg.goto(url)
    pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning'] h3", timeout=90_000)
    pg.wait_for_selector(FIGURE, state="attached", timeout=60_000)
    pg.wait_for_timeout(1500)  # let plotly draw
    return ctx, pg


@pytest.mark.parametrize("name", PAGES)
def test_phone_figures_first_sidebar_closed(server, browser, name):
    ctx, pg = open_page(browser, server + PAGES[name], PHONE)
    try:
        got = pg.evaluate(LAYOUT_JS)
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / f"phone_{name}.png"))  # the first screen
        assert got["sidebar_right"] is not None and got["sidebar_right"] <= 0, got  # closed, off screen
        assert got["chart"] is not None and got["toolbar"] is not None, got
        assert got["chart"] < got["toolbar"], got  # a figure before the share and press buttons
        assert got["page_width"] <= 390, got  # nothing makes the page scroll sideways
        # one tap opens the filters
        pg.get_by_test_id("stExpandSidebarButton").click()
        pg.wait_for_timeout(600)
        assert pg.get_by_test_id("stSidebar").get_by_label("Năm").is_visible()
        pg.screenshot(path=str(ARTIFACTS / f"phone_{name}_filters.png"))
        # the whole page at the phone's width (the app scrolls inside its main area, so the window is
        # made as tall as the page for a picture of all of it)
        pg.get_by_test_id("stSidebarCollapseButton").click(force=True)
        height = pg.evaluate("document.querySelector(\"[data-testid='stMainBlockContainer']\").scrollHeight")
        pg.set_viewport_size({"width": 390, "height": min(int(height) + 120, 8000)})
        pg.wait_for_timeout(1200)
        pg.screenshot(path=str(ARTIFACTS / f"phone_{name}_all.png"))
    finally:
        ctx.close()


@pytest.mark.parametrize("name", ["overview", "locality"])
def test_desktop_sidebar_open_buttons_above(server, browser, name):
    ctx, pg = open_page(browser, server + PAGES[name], DESKTOP)
    try:
        got = pg.evaluate(LAYOUT_JS)
        pg.screenshot(path=str(ARTIFACTS / f"desktop_{name}.png"), full_page=False)
        assert got["sidebar_right"] is not None and got["sidebar_right"] > 200, got  # open
        assert got["toolbar"] is not None and got["toolbar"] < got["chart"], got
    finally:
        ctx.close()


def test_phone_headline_numbers_two_to_a_row_and_the_map_full_width(server, browser):
    """At 390 px the overview's four headline numbers sit two to a row (whole, not cut) and its
    primary figure, the ranking, starts within the first screen; the map keeps the screen's width
    (the two-to-a-row rule is for rows of numbers only, not for the map beside its card)."""
    ctx, pg = open_page(browser, server + "/overview?year=2024&unit=87", PHONE)
    try:
        tops = pg.evaluate("""() => [...document.querySelectorAll("[data-testid='stMetric']")]
                                     .map(e => Math.round(e.getBoundingClientRect().top))""")
        assert len(tops) == 4 and len(set(tops)) == 2, tops
        cut = pg.evaluate("""() => [...document.querySelectorAll("[data-testid='stMetricValue'] *")]
                                    .some(e => e.scrollWidth > e.clientWidth + 1)""")
        assert not cut
        first = pg.evaluate("""() => Math.round(document.querySelector("[data-testid='stPlotlyChart']")
                                                .getBoundingClientRect().top + scrollY)""")
        assert first < PHONE["viewport"]["height"], first
    finally:
        ctx.close()
    ctx, pg = open_page(browser, server + "/map?year=2024&unit=87&level=district", PHONE)
    try:
        pg.wait_for_selector("[data-testid='stDeckGlJsonChart'] canvas", state="attached", timeout=60_000)
        width = pg.evaluate("""() => Math.round(document.querySelector("[data-testid='stDeckGlJsonChart']")
                                                .getBoundingClientRect().width)""")
        assert width >= 340, width
    finally:
        ctx.close()


# ---------------------------------------------------------------------------------------------
# tables and the criteria matrix on Locality and Services (st.dataframe draws on a canvas: a
# table's columns are measured by its scroller, and the headers of the columns it draws are in
# the grid's accessible table)

TABLES_JS = """() => [...document.querySelectorAll("[data-testid='stDataFrame']")].map(e => {
  const sc = e.querySelector('.dvn-scroller'), r = e.getBoundingClientRect();
  return {matrix: !!e.closest('.st-key-sv_heat_table'), left: Math.round(r.left), right: Math.round(r.right),
          scroll: sc ? sc.scrollWidth : null, client: sc ? sc.clientWidth : null,
          heads: [...e.querySelectorAll('th')].map(x => x.textContent)};
})"""
HEAT_JS = """() => {
  const plot = [...document.querySelectorAll('.js-plotly-plot')].find(p => p.querySelector('.hm'));
  if (!plot) return null;
  const img = plot.querySelector('.hm image').getBoundingClientRect();
  const bar = plot.querySelector('.colorbar').getBoundingClientRect();
  const names = [...plot.querySelectorAll('.annotation-text')]  // the demo watermark runs off by design
    .filter(t => !t.textContent.includes('DEMO DATA')).map(t => t.getBoundingClientRect()).filter(r => r.width > 0);
  return {columns: plot.querySelectorAll('.xtick').length, width: img.width, img_bottom: img.bottom,
          bar_top: bar.top, right: Math.max(...names.map(r => r.right)),
          plot_right: plot.getBoundingClientRect().right};
}"""
PRIORITY = {"vi": ["%", "KTC 95%", "n"], "en": ["%", "95% CI", "n"]}


def _tables(pg):
    """Every table of the page, each scrolled into view first (the grid draws only what is seen)."""
    frames = pg.get_by_test_id("stDataFrame")
    out = []
    for i in range(frames.count()):
        frames.nth(i).scroll_into_view_if_needed()
        pg.wait_for_timeout(500)
        out.append(pg.evaluate(TABLES_JS)[i])
    return out


@pytest.mark.parametrize("url,lang,first", [
    ("/locality?year=2024&unit=868", "vi", "Dịch vụ"),
    ("/locality?year=2025&unit=29955&lang=en", "en", "Service"),
    ("/services?year=2024&unit=868&service=birth", "vi", "Tiêu chí"),
    ("/services?year=2024&lang=en", "en", "Criterion"),
])
def test_phone_tables_keep_name_value_interval_n_and_rank_on_screen(server, browser, url, lang, first):
    """At 390 px no table of Locality or Services (but the criteria matrix, which scrolls by
    design beside its pinned names) is wider than the screen, and each shows its name, value,
    interval and n columns, and its rank where it has one."""
    ctx = browser.new_context(**PHONE)
    pg = ctx.new_page()
    try:
        pg.goto(server + url)
        pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning'] h3", timeout=90_000)
        pg.wait_for_selector("[data-testid='stDataFrame']", timeout=60_000)
        pg.wait_for_timeout(1000)
        tables = [t for t in _tables(pg) if not t["matrix"]]
        assert tables
        for t in tables:
            assert t["scroll"] is not None and t["scroll"] <= t["client"] + 1, t   # no column off screen
            assert t["left"] >= 0 and t["right"] <= 390, t
            assert t["heads"][0] == first or t["heads"][0] in ("Địa bàn", "Area"), t
            assert all(h in t["heads"] for h in PRIORITY[lang]), t
        assert any(("Hạng" if lang == "vi" else "Rank") in t["heads"] for t in tables)
        frames = pg.get_by_test_id("stDataFrame")
        frames.nth(frames.count() - 1).scroll_into_view_if_needed()
        ARTIFACTS.mkdir(exist_ok=True)
        name = url.strip("/").split("?")[0] + "_" + lang + ("_birth" if "birth" in url else "")
        frames.nth(frames.count() - 1).screenshot(path=str(ARTIFACTS / f"phone_table_{name}.png"))
    finally:
        ctx.close()


@pytest.mark.parametrize("device,cell_px", [(PHONE, 24), (DESKTOP, 60)])
def test_services_criteria_chart_cells_readable_at_both_widths(server, browser, device, cell_px):
    """The twelve districts' criteria: each cell at least 24 px wide on a 390 px phone (room for
    "83,4") and 60 px on a desktop, the criterion names inside the chart, the colour bar under
    the cells."""
    ctx = browser.new_context(**device)
    pg = ctx.new_page()
    try:
        pg.goto(server + "/services?year=2024")
        pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning'] h3", timeout=90_000)
        pg.wait_for_selector(".st-key-sv_heat .js-plotly-plot .hm", state="attached", timeout=60_000)
        pg.locator(".st-key-sv_heat").scroll_into_view_if_needed()
        pg.wait_for_timeout(1500)
        got = pg.evaluate(HEAT_JS)
        assert got is not None and got["columns"] == 12, got
        assert got["width"] / got["columns"] >= cell_px, got
        assert got["right"] <= got["plot_right"] + 1, got
        assert got["bar_top"] >= got["img_bottom"] - 2, got
        ARTIFACTS.mkdir(exist_ok=True)
        # the window as tall as the page, so the whole chart is drawn for its picture (the app
        # scrolls inside its main area)
        height = pg.evaluate("document.querySelector(\"[data-testid='stMainBlockContainer']\").scrollHeight")
        pg.set_viewport_size({"width": device["viewport"]["width"], "height": min(int(height) + 120, 9000)})
        pg.wait_for_timeout(1200)
        pg.locator(".st-key-sv_heat").screenshot(
            path=str(ARTIFACTS / f"services_criteria_{device['viewport']['width']}.png"))
    finally:
        ctx.close()


def test_services_many_communes_show_the_table_first_and_the_chart_on_a_tap(server, browser):
    """2025: the province's 102 communes would leave a phone 3 px a cell, so the coloured table
    comes first; "Biểu đồ" switches to the chart."""
    ctx = browser.new_context(**PHONE)
    pg = ctx.new_page()
    try:
        pg.goto(server + "/services?year=2025")
        pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning'] h3", timeout=90_000)
        pg.wait_for_selector(".st-key-sv_heat_table [data-testid='stDataFrame']", timeout=60_000)
        assert pg.evaluate(HEAT_JS) is None
        table = pg.locator(".st-key-sv_heat_table")
        table.scroll_into_view_if_needed()
        pg.wait_for_timeout(800)
        box = table.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        heads = pg.evaluate("() => [...document.querySelectorAll('.st-key-sv_heat_table th')].map(x => x.textContent)")
        assert heads[0] == "Địa bàn" and heads[1].startswith("1. "), heads   # the pinned names, criterion 1
        table.screenshot(path=str(ARTIFACTS / "phone_services_2025_table.png"))
        pg.locator(".st-key-sv_heat_form").get_by_text("Biểu đồ").click()
        pg.wait_for_selector(".st-key-sv_heat .js-plotly-plot .hm", state="attached", timeout=60_000)
        assert pg.locator(".st-key-sv_heat_table").count() == 0
    finally:
        ctx.close()
