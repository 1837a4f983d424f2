"""Deployment: deploy/run.sh starts two app processes and nginx (Debian's package) on loopback;
browsers (separate cookie jars) spread over both processes, keep their websocket, and navigate."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWERS = 12

pytestmark = [
    pytest.mark.skipif(NGINX is None,
                       reason="nginx is not installed (apt-get install nginx-light); .ci/run installs it"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]


def _free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def _consecutive_free(n: int) -> int:
    for _ in range(50):
        base = _free_ports(1)[0]
        if base + n >= 65535:
            continue
        try:
            socks = []
            for i in range(n):
                s = socket.socket()
                s.bind(("127.0.0.1", base + i))
                socks.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port range")


def established(port: int) -> int:
    """Established TCP connections to 127.0.0.1:<port> (nginx -> app: the viewers' websockets)."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        local, state = parts[1], parts[3]
        if state == "01" and int(local.split(":")[1], 16) == port:
            count += 1
    return count


@pytest.fixture(scope="module")
def cluster(demo_release_root, tmp_path_factory):
    base = _consecutive_free(2)
    front = _free_ports(1)[0]
    # nginx's workers read the copy of the built assets in the runtime folder; started as root they
    # run as nobody, who cannot enter pytest's private temporary folders
    run = Path(tempfile.mkdtemp(prefix="sipas_run_"))
    run.chmod(0o755)
    env = {**os.environ, "SIPAS_RELEASES": str(demo_release_root), "SIPAS_PROCESSES": "2",
           "SIPAS_APP_PORT": str(base), "SIPAS_LISTEN": f"127.0.0.1:{front}", "SIPAS_RUNTIME": str(run),
           "SIPAS_NGINX": NGINX, "PYTHON": sys.executable,
           "SIPAS_GEO_DATA": str(tmp_path_factory.mktemp("geo_empty"))}
    log = open(run / "run.log", "wb")
    proc = subprocess.Popen(["bash", str(ROOT / "deploy" / "run.sh")], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{front}"
    for _ in range(600):  # the first start compresses the built assets (zopfli): minutes on a busy machine
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            break
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.5)
    else:
        proc.poll()
    if proc.poll() is not None:
        log.close()
        pytest.fail("deploy/run.sh did not start:\n" + (run / "run.log").read_text(errors="replace")[-3000:])
    yield url, [base, base + 1]
    os.killpg(proc.pid, signal.SIGTERM)  # the process group this fixture started
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()
    shutil.rmtree(run, ignore_errors=True)


def test_health_and_route_cookie(cluster):
    url, _ = cluster
    with urllib.request.urlopen(url + "/_stcore/health", timeout=5) as r:
        assert r.status == 200 and r.read().strip() == b"ok"
        cookie = next((c for c in r.headers.get_all("Set-Cookie") or [] if c.startswith("sipas_route=")), "")
    assert "HttpOnly" in cookie, cookie
    req = urllib.request.Request(url + "/_stcore/health", headers={"Cookie": cookie.split(";")[0]})
    with urllib.request.urlopen(req, timeout=5) as r:  # a known browser keeps its key
        assert not any(c.startswith("sipas_route=") for c in r.headers.get_all("Set-Cookie") or [])


def test_viewers_spread_over_both_processes_and_stay_connected(cluster):
    from playwright.sync_api import sync_playwright
    url, ports = cluster
    before = [established(p) for p in ports]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            pages = []
            for i in range(VIEWERS):
                ctx = browser.new_context(viewport={"width": 1200, "height": 900})
                pg = ctx.new_page()
                pg.goto(f"{url}/overview?year=2024&unit={'868' if i % 2 else '87'}", wait_until="commit")
                pages.append(pg)
            for pg in pages:
                pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning'] h3", timeout=90_000)
            time.sleep(1)
            per_process = [established(p) - b for p, b in zip(ports, before)]
            assert sum(per_process) >= VIEWERS, per_process
            assert all(n >= 1 for n in per_process), f"all viewers on one process: {per_process}"
            # each viewer stays connected: after a pause, a navigation over the same websocket works
            time.sleep(3)
            for pg in pages[:4]:
                pg.get_by_role("link", name="Bản đồ").first.click()
                pg.wait_for_url(lambda u: "/map" in u, timeout=30_000)
                pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning'] h3", timeout=60_000)
                assert pg.locator("[data-testid='stException'], [data-testid='stAlertContentError']").count() == 0
            assert [established(p) - b for p, b in zip(ports, before)] == per_process, "a websocket was dropped"
            for pg in pages:
                assert pg.locator("[data-testid='stConnectionStatus'], .stConnectionStatus").count() == 0 or \
                    "Connecting" not in pg.content()
        finally:
            browser.close()



def test_first_visit_is_compressed_cached_and_local(cluster):
    """A first visit through nginx: text assets gzip-compressed, Streamlit's hashed assets cached
    for a year, at most 3 MB over the wire (HTTP as sent, plus the websocket's frames) and nothing
    asked of another host."""
    from urllib.parse import urlsplit

    from playwright.sync_api import sync_playwright
    url, _ = cluster
    host = urlsplit(url).netloc
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            pg = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            seen, ws_bytes = [], [0]
            pg.on("requestfinished", lambda r: seen.append(r))
            pg.on("requestfailed", lambda r: seen.append(r))
            pg.on("websocket", lambda ws: ws.on("framereceived", lambda f: ws_bytes.__setitem__(
                0, ws_bytes[0] + len(f if isinstance(f, bytes) else f.encode()))))
            pg.goto(f"{url}/overview?year=2024")
            pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning'] .js-plotly-plot",
                                 timeout=90_000)
            pg.wait_for_timeout(1500)
            others, http, assets = wire(seen, host)
        finally:
            browser.close()
    assert others == []
    assert any("/static/js/PlotlyChart." in u for u, *_ in assets), "the plotly bundle was not loaded"
    for u, cache, encoding, size in assets:
        if "/static/js/" in u or "/static/css/" in u:
            assert "immutable" in cache and "max-age=31536000" in cache, u
            assert encoding == "gzip" or size <= 1024, u
    assert http + ws_bytes[0] <= 3_000_000, (http, ws_bytes[0])


def wire(requests, host: str):
    """Of Playwright's finished or failed requests: the URLs on another host, the HTTP bytes as sent
    (headers and encoded bodies), and (url, cache-control, content-encoding, encoded body bytes)."""
    from urllib.parse import urlsplit
    others = [r.url for r in requests if urlsplit(r.url).scheme in ("http", "https", "ws", "wss")
              and urlsplit(r.url).netloc != host]
    http, rows = 0, []
    for r in requests:
        resp = r.response() if r.url.startswith("http") else None
        if resp is None:
            continue
        s = r.sizes()
        http += s["responseBodySize"] + s["responseHeadersSize"]
        rows.append((r.url, resp.headers.get("cache-control") or "", resp.headers.get("content-encoding"),
                     s["responseBodySize"]))
    return others, http, rows


def _preload():
    """deploy/preload.py (deploy/ is not a package: run.sh puts it on the path the same way)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("sipas_deploy_preload", ROOT / "deploy" / "preload.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _linked(html: str) -> list[str]:
    import re
    return re.findall(r'<link rel="(?:modulepreload|preload)"[^>]*href="\./(static/[^"]+)"', html)


def test_pages_preload_the_chunk_they_draw_first(cluster):
    """Each page that draws a chart first is served a copy of index.html naming that chart's code
    (and the chunks it imports) as a preload, every named file is served, and a page without a copy
    gets the app's own index.html."""
    import streamlit
    url, ports = cluster
    static = Path(streamlit.__file__).parent / "static"
    plain = _linked((static / "index.html").read_text(encoding="utf-8"))
    with urllib.request.urlopen(f"http://127.0.0.1:{ports[0]}/methodology", timeout=10) as r:
        assert _linked(r.read().decode()) == plain  # the app's own page, for comparison
    for other in ("methodology", "map"):  # no chart first; deck.gl preloaded came later (preload.PAGES)
        with urllib.request.urlopen(f"{url}/{other}?year=2024", timeout=10) as r:
            assert _linked(r.read().decode()) == plain, f"/{other} got a copy"
    pages = _preload().PAGES
    assert {"", "overview", "locality"} <= set(pages) and "map" not in pages
    for path, chunks in pages.items():
        with urllib.request.urlopen(f"{url}/{path}?year=2024", timeout=10) as r:
            assert r.status == 200 and r.headers.get_content_type() == "text/html", path
            assert r.headers.get("Cache-Control") == "no-cache", path
            assert any(c.startswith("sipas_route=") for c in r.headers.get_all("Set-Cookie") or []), path
            links = _linked(r.read().decode())
        assert links[:len(plain)] == plain, path  # the entry's own preloads first, unchanged
        extra = links[len(plain):]
        names = [h.rsplit("/", 1)[-1].split(".")[0] for h in extra]
        for chunk in chunks:
            assert chunk in names, (path, chunk, extra)
        assert "PlotlyChart" in names and "DeckGlJsonChart" not in names, (path, names)
        for href in extra:
            assert (static / href).is_file(), href
            with urllib.request.urlopen(f"{url}/{href}", timeout=10) as r:
                assert r.status == 200 and "immutable" in r.headers.get("Cache-Control", ""), href


def test_preloaded_code_is_used_once(cluster):
    """In Chromium, a first visit fetches each preloaded file once (the chart's lazy import finds it
    loaded: no second request), draws the chart the preload was for, and logs no unused preload
    (the Map page, served Streamlit's own page, too)."""
    from playwright.sync_api import sync_playwright
    url, _ = cluster
    drawn = {"overview": ".js-plotly-plot .main-svg", "map": "[data-testid='stDeckGlJsonChart'] canvas"}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for page, selector in drawn.items():
                with urllib.request.urlopen(f"{url}/{page}", timeout=10) as r:
                    preloaded = [f"{url}/{h}" for h in _linked(r.read().decode())]
                ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                pg = ctx.new_page()
                asked, console = [], []
                pg.on("request", lambda req: asked.append(req.url))
                pg.on("console", lambda m: console.append(m.text))
                pg.goto(f"{url}/{page}?year=2024")
                pg.wait_for_selector(f"[data-testid='stApp'][data-test-script-state='notRunning'] {selector}",
                                     timeout=90_000)
                pg.wait_for_timeout(3500)  # Chromium warns of an unused preload 3 s after load
                ctx.close()
                for u in preloaded:
                    assert asked.count(u) == 1, (page, u, asked.count(u))
                assert not [m for m in console if "preload" in m.lower()], (page, console)
        finally:
            browser.close()
