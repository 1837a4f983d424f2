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
