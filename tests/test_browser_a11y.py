"""Accessibility in a real browser: axe-core (npm package, installed by .ci/run into
tests/a11y/node_modules) on every page with no serious or critical violations; every chart has a
text alternative; keyboard-only navigation reaches the filters and the search; a release with
hostile names shows no injected element and fires no dialog. Results go to test-artifacts/."""
import json
from pathlib import Path

import pytest

from browser import NEEDS_CHROMIUM, app_server, chromium
from hostile import RELEASE_ID, build_hostile

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
AXE = ROOT / "tests" / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
PAGES = {"overview": "year=2024&unit=868", "map": "year=2024&unit=87", "services": "year=2024&unit=868",
         "compare": "year=2024&units=868,870,866", "locality": "year=2024&unit=868", "methodology": "year=2024"}

pytest.importorskip("playwright.sync_api")
pytestmark = NEEDS_CHROMIUM
needs_axe = pytest.mark.skipif(not AXE.exists(), reason="axe-core is not installed: "
                               "npm install --prefix tests/a11y axe-core@4 (.ci/run does this)")


@pytest.fixture(scope="module")
def server(demo_release_root, tmp_path_factory):
    import shutil
    root = tmp_path_factory.mktemp("a11y_releases")
    shutil.copytree(demo_release_root / "demo-dong-thap", root / "demo-dong-thap")
    build_hostile(demo_release_root, root)
    with app_server(root, tmp_path_factory.mktemp("geo_empty")) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture()
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    yield pg
    ctx.close()


def wait_ready(pg, timeout=90_000):
    pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning'] h3", timeout=timeout)
    pg.wait_for_timeout(800)
    pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)


def run_axe(pg) -> dict:
    pg.add_script_tag(path=str(AXE))
    return pg.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                        nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")


@needs_axe
@pytest.mark.parametrize("name", list(PAGES))
def test_axe_no_serious_or_critical_violations(server, page, name):
    page.goto(f"{server}/{name}?{PAGES[name]}")
    wait_ready(page)
    page.wait_for_timeout(1000)
    violations = run_axe(page)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"axe_{name}.json").write_text(json.dumps(violations, indent=1, ensure_ascii=False))
    bad = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not bad, json.dumps(bad, indent=1, ensure_ascii=False)


def test_every_chart_has_a_text_alternative(server, page):
    for name in ("overview", "services", "locality", "compare"):
        page.goto(f"{server}/{name}?{PAGES[name]}")
        wait_ready(page)
        # the chart component mounts lazily, possibly after the script has finished
        page.wait_for_selector("[data-testid='stPlotlyChart']", timeout=30_000)
        page.wait_for_timeout(1000)
        charts = page.locator("[data-testid='stPlotlyChart']").count()
        alts = page.locator("[data-testid='stCaptionContainer']", has_text="Biểu đồ:").count()
        assert charts >= 1 and alts >= charts, (name, charts, alts)


def test_keyboard_reaches_the_filters_and_the_search(server, page):
    page.goto(f"{server}/locality?year=2024")
    wait_ready(page)
    # the chart component mounts lazily, possibly after the script has finished: tab once it is there
    page.wait_for_selector("[data-testid='stPlotlyChart']", timeout=30_000)
    page.wait_for_timeout(1000)
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    reached = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        label = page.evaluate("""() => {
            const a = document.activeElement;
            if (!a) return '';
            const id = a.getAttribute('aria-labelledby');
            const lab = a.getAttribute('aria-label') || (id && document.getElementById(id)?.innerText) ||
                        (a.labels && a.labels[0] && a.labels[0].innerText) || a.innerText || '';
            return lab.trim().slice(0, 80);
        }""")
        reached.add(label)
    text = " | ".join(sorted(reached))
    assert any(x.startswith("Năm") for x in reached), text
    assert any(x.startswith("Dịch vụ") for x in reached), text
    assert any("Tìm xã" in x for x in reached), text
    # and the search works from the keyboard alone
    page.keyboard.press("Shift+Tab")
    box = page.get_by_label("Tìm xã, phường, huyện (có dấu hoặc không dấu)")
    box.focus()
    page.keyboard.type("hong ngu")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: "unit=" in u and "unit=87&" not in u, timeout=30_000)
    wait_ready(page)
    assert "Hồng Ngự" in page.locator("h3").first.inner_text()


def test_hostile_names_inject_nothing_in_the_browser(server, page):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for name in PAGES:
        page.goto(f"{server}/{name}?{PAGES[name]}&release={RELEASE_ID}")
        wait_ready(page)
        page.wait_for_timeout(800)
        assert page.locator("img[onerror], img[src='x']").count() == 0, name
        assert page.locator("a[href^='javascript']").count() == 0, name
        assert "onerror=alert(1)" in page.inner_text("body"), f"{name}: the hostile name is shown as text"
    assert not dialogs
