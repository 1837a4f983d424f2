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


def test_clicking_a_district_selects_it_and_its_card_drills_down_to_its_communes(server, page):
    """The map is pydeck (deck.gl): a click selects a unit and shows its card; the card's button drills
    down (a click no longer drills down at once, so a phone user can read the unit's figures)."""
    page.goto(f"{server}/map?year=2024&unit=87&level=district")
    wait_ready(page)
    canvas = page.locator("canvas").first
    canvas.wait_for(timeout=30_000)
    page.wait_for_timeout(1500)
    box = canvas.bounding_box()
    for fx, fy in ((0.5, 0.5), (0.45, 0.4), (0.55, 0.6), (0.4, 0.55)):
        page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
        page.wait_for_timeout(800)
        wait_ready(page)
        if page.locator("[data-testid='stMetric']").count():
            break
    assert "level=district" in page.url
    drill = page.get_by_role("button", name="Xem xã").first
    name = drill.inner_text().split(" của ", 1)[1].strip()
    drill.click()
    page.wait_for_url(lambda u: "level=commune" in u, timeout=20_000)
    wait_ready(page)
    page.wait_for_timeout(1500)
    assert name in page.locator("h3").first.inner_text()
    assert page.get_by_role("button", name="Tỉnh Đồng Tháp").count() == 1
    assert no_errors(page)
    page.screenshot(path=str(ARTIFACTS / "map_drilldown.png"), full_page=True)


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


def test_a_misspelt_search_offers_the_place_and_opens_it(server, page):
    page.goto(f"{server}/locality?year=2024&unit=868")
    wait_ready(page)
    box = page.get_by_label("Tìm xã, phường, huyện (có dấu hoặc không dấu)")
    box.fill("tram chym")
    box.press("Enter")
    wait_ready(page)
    suggestion = page.get_by_role("button", name="Thị trấn Tràm Chim, Huyện Tam Nông, Tỉnh Đồng Tháp (2024)")
    suggestion.wait_for(timeout=20_000)
    assert "Có phải bạn tìm:" in page.locator("[data-testid='stAlert']").first.inner_text()
    assert page.locator("h3").count() == 0  # the previous place is not left on screen
    page.screenshot(path=str(ARTIFACTS / "locality_search_tram_chym.png"))
    suggestion.click()
    page.wait_for_url(lambda u: "unit=868" not in u, timeout=20_000)
    wait_ready(page)
    assert "Tràm Chim" in page.locator("h3").first.inner_text()
    assert no_errors(page)
