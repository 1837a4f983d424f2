"""The pydeck Map page in Chromium: nothing leaves localhost by default, a tap on a phone selects a
unit and shows its card, the card's button drills down; screenshots in test-artifacts/."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from browser import NEEDS_CHROMIUM, app_server, chromium
from conftest import SHARED_GEO

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = NEEDS_CHROMIUM


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def tiles_server(demo_release_root, tmp_path_factory):
    with app_server(demo_release_root, tmp_path_factory.mktemp("geo_empty")) as url:
        yield url


@pytest.fixture(scope="module")
def boundaries_server(demo_release_root, tmp_path_factory):
    if not (SHARED_GEO / "provinces_2019.geojson").exists():
        pytest.skip("needs ../shared/geo (the boundary fixtures)")
    geo_dir = tmp_path_factory.mktemp("geo")
    for name, level in (("provinces_2019", "province"), ("districts_2019", "district")):
        subprocess.run([sys.executable, "-m", "geo", "install", str(SHARED_GEO / f"{name}.geojson"), "--vintage",
                        "2019", "--level", level, "--dest", str(geo_dir)], check=True, cwd=ROOT,
                       capture_output=True)
    with app_server(demo_release_root, geo_dir) as url:
        yield url


def wait_ready(pg, timeout=60_000):
    for _ in range(2):
        pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)
        pg.wait_for_timeout(400)


def _open(browser, url, **kw):
    pg = browser.new_page(**kw)
    outside = []
    pg.on("request", lambda r: outside.append(r.url)
          if not r.url.startswith(("http://127.0.0.1", "http://localhost", "ws://", "data:", "blob:")) else None)
    pg.goto(url)
    wait_ready(pg)
    pg.wait_for_selector("canvas", timeout=30_000)
    pg.wait_for_timeout(1500)
    return pg, outside


def _tap_a_unit(pg, phone: bool) -> bool:
    canvas = pg.locator("canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    for fx, fy in ((0.5, 0.5), (0.45, 0.4), (0.55, 0.6), (0.4, 0.55), (0.6, 0.45)):
        x, y = box["x"] + box["width"] * fx, box["y"] + box["height"] * fy
        if phone:
            pg.touchscreen.tap(x, y)
        else:
            pg.mouse.click(x, y)
        pg.wait_for_timeout(800)
        wait_ready(pg)
        if pg.locator("[data-testid='stMetric']").count():
            return True
    return False


def test_phone_tap_shows_the_card_and_its_button_drills_down(browser, tiles_server):
    pg, outside = _open(browser, f"{tiles_server}/map?year=2024&unit=87&level=district", **PHONE)
    try:
        assert _tap_a_unit(pg, phone=True), "no unit card after tapping the map"
        assert "level=district" in pg.url  # a tap selects; it does not drill down
        metrics = pg.locator("[data-testid='stMetric']")
        labels = [metrics.nth(i).inner_text().split("\n")[0] for i in range(metrics.count())]
        assert labels == ["Giá trị", "Hạng"], labels
        main = pg.locator("[data-testid='stMain']").inner_text()
        assert "Khoảng tin cậy 95%:" in main and "Xem hồ sơ" in main
        # the card goes under the map, which keeps the phone's width (not squeezed beside the card)
        width = pg.evaluate("""() => Math.round(document.querySelector("[data-testid='stDeckGlJsonChart']")
                                                .getBoundingClientRect().width)""")
        assert width >= 340, width
        metrics.first.scroll_into_view_if_needed()
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / "map_phone_card.png"))
        pg.get_by_role("button", name="Xem xã").first.click()
        pg.wait_for_url(lambda u: "level=commune" in u, timeout=20_000)
        assert outside == [], outside
    finally:
        pg.close()


@pytest.mark.parametrize("size", [(1400, 1000), (390, 844)])
def test_national_map_with_boundaries_requests_nothing_outside(browser, boundaries_server, size):
    w, h = size
    kw = PHONE if w < 600 else {"viewport": {"width": w, "height": h}}
    pg, outside = _open(browser, f"{boundaries_server}/map?year=2024&level=province", **kw)
    try:
        assert pg.locator("[data-testid='stException']").count() == 0
        pg.locator("canvas").first.scroll_into_view_if_needed()
        ARTIFACTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / f"map_national_{w}.png"))
        assert outside == [], json.dumps(outside)
    finally:
        pg.close()
