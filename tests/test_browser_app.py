"""Real browser (Debian's Chromium via Playwright): pages load, map drill-down, search; screenshots
go to test-artifacts/ (git-ignored) for a person to look at."""
from pathlib import Path

import pytest

from browser import NEEDS_CHROMIUM, app_server, chromium

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
PAGES = ["overview", "map", "services", "compare", "locality", "methodology"]

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = NEEDS_CHROMIUM


@pytest.fixture(scope="module")
def server(demo_release_root, tmp_path_factory):
    with app_server(demo_release_root, tmp_path_factory.mktemp("geo_empty")) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture()
def page(browser):
    pg = browser.new_page(viewport={"width": 1400, "height": 1000})
    yield pg
    pg.close()


def wait_ready(pg, timeout=60_000):
    pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)
    pg.wait_for_timeout(300)
    pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)


def no_errors(pg):
    return pg.locator("[data-testid='stException'], [data-testid='stAlertContentError']").count() == 0


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("year", ["2024", "2025"])
def test_every_page_loads_without_errors(server, page, name, year):
    page.goto(f"{server}/{name}?year={year}&unit={'868' if year == '2024' and name == 'locality' else ''}")
    wait_ready(page)
    page.wait_for_timeout(1500)  # let plotly draw
    assert no_errors(page)
    assert page.locator("h3").count() >= 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"page_{name}_{year}.png"), full_page=True)


CENTRE_JS = """(code) => {
  const el = document.querySelector('.js-plotly-plot');
  const sub = el._fullLayout.map._subplot;
  const tr = el._fullData.find(t => t.type === 'choroplethmap' && Array.from(t.locations).includes(code));
  const ring = tr.geojson.features.find(f => f.id === code).geometry.coordinates[0].slice(0, -1);
  const c = ring.reduce((a, p) => [a[0] + p[0] / ring.length, a[1] + p[1] / ring.length], [0, 0]);
  const pt = sub.map.project(c);
  const r = sub.map.getContainer().getBoundingClientRect();
  return [r.left + pt.x, r.top + pt.y];
}"""


def test_clicking_a_district_drills_down_to_its_communes(server, page):
    page.goto(f"{server}/map?year=2024&unit=87&level=district")
    wait_ready(page)
    page.wait_for_selector(".js-plotly-plot")
    page.wait_for_timeout(1500)
    x, y = page.evaluate(CENTRE_JS, "870")
    page.mouse.move(x - 4, y - 4)
    page.mouse.move(x, y)
    page.wait_for_timeout(500)
    page.mouse.click(x, y)
    page.wait_for_url(lambda u: "unit=870" in u, timeout=20_000)
    wait_ready(page)
    assert "level=commune" in page.url
    page.wait_for_timeout(1500)
    assert "Huyện Hồng Ngự" in page.locator("h3").first.inner_text()
    # the table twin now lists communes of Huyện Hồng Ngự
    assert page.get_by_role("button", name="Tỉnh Đồng Tháp").count() == 1
    assert no_errors(page)
    page.screenshot(path=str(ARTIFACTS / "map_drilldown_870.png"), full_page=True)


def test_search_hong_ngu_opens_the_profile(server, page):
    page.goto(f"{server}/locality?year=2024")
    wait_ready(page)
    box = page.get_by_label("Tìm xã, phường, huyện (có dấu hoặc không dấu)")
    box.fill("hong ngu")
    box.press("Enter")
    page.wait_for_url(lambda u: "unit=" in u and "unit=87&" not in u and "unit=82&" not in u, timeout=20_000)
    wait_ready(page)
    page.wait_for_timeout(1500)
    assert "Hồng Ngự" in page.locator("h3").first.inner_text()
    assert no_errors(page)
    page.screenshot(path=str(ARTIFACTS / "locality_search_hong_ngu.png"), full_page=True)
