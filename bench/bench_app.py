"""Dashboard speed on the demo release. Run: python bench/bench_app.py [--runs 15]

1. Server time of a page rerun after a filter change (AppTest, warm cache, median).
2. Bytes sent to the browser (websocket frames, Streamlit's delta messages) for the Map page at
   commune level for one province and at district level nationwide (all 696 districts drawn).
3. Time to first render of each page in headless Chromium (navigation -> script idle with the
   primary element drawn).
4. ``--deploy``: a first visit through the deployment (deploy/run.sh, one app process behind
   nginx) in a fresh browser: bytes over the wire (HTTP as sent, compressed; the websocket's
   frames), requests to any other host; then, in the same run, the time to the first drawn chart
   of overview, map and locality against a bare Streamlit page with one plotly chart (the floor),
   each a fresh browser context (empty cache) on a warm server, median of ``--visits``; and a filter
   change in the sidebar (the year) until the page is drawn again: time, charts redrawn, websocket
   bytes of the rerun.
5. ``--search``: place search (geo.search, as the Locality page calls it on a rerun), median
   per query over the 2025 and the 2019 registries, exact and misspelt queries, without and with
   the typo-tolerant suggestions.
Figures are printed, never asserted.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PAGES = ["overview", "map", "services", "compare", "locality", "methodology"]


def ensure_demo():
    from sipas_data.release import list_releases
    if not list_releases():
        from sipas_data.demo import build_demo
        build_demo()


def rerun_times(runs: int) -> dict[str, float]:
    from streamlit.testing.v1 import AppTest
    out = {}
    for page in PAGES:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.query_params.update({"year": "2024", "unit": "868", "units": "868,870,866"})
        at.switch_page(f"pages/{page}.py")
        at.run()
        times = []
        for i in range(runs):
            year = 2023 if i % 2 == 0 else 2024
            t0 = time.perf_counter()
            at.selectbox(key="w_year").select(year).run()
            times.append((time.perf_counter() - t0) * 1000)
        out[page] = statistics.median(times[2:] or times)  # warm: both years cached after two runs
    return out


def _server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port",
                             str(port), "--server.headless", "true"], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.25)
    proc.kill()
    raise SystemExit("streamlit did not start")


def browser_figures(url: str) -> tuple[dict, dict]:
    from playwright.sync_api import sync_playwright
    sizes, renders = {}, {}
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)

        def visit(path, selector):
            pg = b.new_page(viewport={"width": 1400, "height": 1000})
            ws_bytes = [0]
            http_bytes = [0]
            pg.on("websocket", lambda ws: ws.on("framereceived", lambda f: ws_bytes.__setitem__(
                0, ws_bytes[0] + (len(f) if isinstance(f, (bytes, str)) else 0))))
            pg.on("response", lambda r: http_bytes.__setitem__(
                0, http_bytes[0] + int(r.headers.get("content-length") or 0)))
            t0 = time.perf_counter()
            pg.goto(url + path)
            pg.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=60000)
            pg.wait_for_selector(selector, timeout=60000)
            dt = time.perf_counter() - t0
            pg.wait_for_timeout(1000)
            pg.close()
            return dt, ws_bytes[0], http_bytes[0]

        visit("/overview?year=2024", "[data-testid='stMetric']")  # warm the server caches once
        for page in PAGES:
            for _ in range(2):  # second visit: warm server cache, cold browser page
                dt, _, _ = visit(f"/{page}?year=2024&unit=868&units=868,870,866", "h3")
            renders[page] = dt
        for name, path in (("commune level, one province (2025, Đồng Tháp 82)", "/map?year=2025&unit=82&level=commune"),
                           ("commune level, one province (2024, Đồng Tháp 87)", "/map?year=2024&unit=87&level=commune"),
                           ("district level, nationwide (696 districts)", "/map?year=2024&unit=VN&level=district")):
            visit(path, ".js-plotly-plot")
            _, ws, http = visit(path, ".js-plotly-plot")
            sizes[name] = (ws, http)
        b.close()
    return sizes, renders


FLOOR_APP = """import plotly.graph_objects as go
import streamlit as st
st.set_page_config(layout="wide")
st.plotly_chart(go.Figure(go.Bar(x=[1, 2, 3], y=[3, 1, 2])), theme=None)
"""
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
# a chart is drawn when plotly has put its SVG into the page, or deck.gl (the map) its canvas
DRAWN = ".js-plotly-plot .main-svg, [data-testid='stDeckGlJsonChart'] canvas"
CHART_PAGES = {"overview": "/overview?year=2024", "map": "/map?year=2024",
               "locality": "/locality?year=2024&unit=868"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, proc, tries: int = 480) -> None:
    for _ in range(tries):
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            return
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"{url} exited")
            time.sleep(0.25)
    raise SystemExit(f"{url} did not start")


def start_deploy(run: str):
    """deploy/run.sh with one app process behind nginx on free loopback ports: (process, URL)."""
    base, front = _free_port(), _free_port()
    while front == base:
        front = _free_port()
    env = {**os.environ, "SIPAS_PROCESSES": "1", "SIPAS_APP_PORT": str(base), "SIPAS_LISTEN": f"127.0.0.1:{front}",
           "SIPAS_RUNTIME": run, "PYTHON": sys.executable}
    proc = subprocess.Popen(["bash", "deploy/run.sh"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{front}"
    _wait(url, proc)
    return proc, url


def start_floor(folder: str):
    """A bare Streamlit page with one plotly chart, the same Streamlit, its own process."""
    app = Path(folder, "floor.py")
    app.write_text(FLOOR_APP, encoding="utf-8")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
                             "--server.headless", "true", "--browser.gatherUsageStats", "false"], cwd=folder,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    _wait(url, proc)
    return proc, url


def _stop(proc) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def _count_ws(pg, box: list) -> None:
    pg.on("websocket", lambda ws: ws.on("framereceived", lambda f: box.__setitem__(
        0, box[0] + len(f if isinstance(f, bytes) else f.encode()))))


def first_visit(b, url: str, path: str) -> dict:
    """A fresh browser context (empty cache): wire bytes, other hosts, seconds to the first chart."""
    from urllib.parse import urlsplit
    ctx = b.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    seen, ws = [], [0]
    pg.on("requestfinished", lambda r: seen.append(r))
    pg.on("requestfailed", lambda r: seen.append(r))
    _count_ws(pg, ws)
    t0 = time.perf_counter()
    pg.goto(url + path)
    pg.wait_for_selector(DRAWN, timeout=90_000)
    chart_s = time.perf_counter() - t0
    pg.wait_for_selector(READY, timeout=90_000)
    pg.wait_for_timeout(1500)
    host = urlsplit(url).netloc
    http, biggest = 0, []
    others = sorted({r.url for r in seen if urlsplit(r.url).scheme in ("http", "https", "ws", "wss")
                     and urlsplit(r.url).netloc != host})
    for r in seen:
        if r.url.startswith("http") and r.response() is not None:
            sz = r.sizes()
            n = sz["responseBodySize"] + sz["responseHeadersSize"]
            http += n
            biggest.append((n, r.url.rsplit("/", 1)[-1]))
    ctx.close()
    return {"chart_s": chart_s, "http": http, "ws": ws[0], "others": others, "biggest": sorted(biggest)[-6:]}


# Where a first visit's time goes, from the browser's resource timing (ms since navigation): the
# page, the entry script, the first connection check, the chart's chunk asked and arrived.
STEPS_JS = """() => {
  const out = {}, put = (k, e) => { if (e && !(k in out)) out[k] = [e.startTime, e.responseEnd]; };
  put('page', performance.getEntriesByType('navigation')[0]);
  for (const e of performance.getEntriesByType('resource')) {
    const name = e.name.split('?')[0].split('/').pop();
    if (/^index\\.[^.]+\\.js$/.test(name)) put('entry', e);
    else if (name === 'host-config') put('host-config', e);
    else if (/^(PlotlyChart|DeckGlJsonChart)\\./.test(name)) put('chart chunk', e);
  }
  out.drawn = [performance.now(), performance.now()];
  return out;
}"""


def time_to_chart(b, url: str, path: str, steps: list | None = None) -> float:
    """Seconds from navigation to the first drawn chart in a fresh context; with ``steps``, the
    resource timings of STEPS_JS are appended to it (read after the clock has stopped)."""
    ctx = b.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    t0 = time.perf_counter()
    pg.goto(url + path)
    pg.wait_for_selector(DRAWN, timeout=90_000)
    dt = time.perf_counter() - t0
    if steps is not None:
        steps.append(pg.evaluate(STEPS_JS))
    ctx.close()
    return dt


def print_steps(name: str, steps: list) -> None:
    """Medians of the resource timings of one page's visits, in seconds since navigation."""
    keys = [k for k in ("page", "entry", "host-config", "chart chunk", "drawn") if any(k in s for s in steps)]
    parts = []
    for k in keys:
        start = statistics.median(s[k][0] for s in steps if k in s) / 1000
        end = statistics.median(s[k][1] for s in steps if k in s) / 1000
        parts.append(f"{k} {end:.2f}" if k in ("page", "drawn") else f"{k} {start:.2f}-{end:.2f}")
    print(f"  {'':10s} " + ", ".join(parts))


WAIT_DRAWN_JS = """(t0) => new Promise(done => {
  // the rerun is over when the app is idle again; the page is drawn at the next two frames
  const check = () => {
    const app = document.querySelector("[data-testid='stApp']");
    if (app.dataset.testScriptState === 'notRunning' && performance.now() - t0 > 50) {
      requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - t0)));
    } else { setTimeout(check, 10); }
  };
  check();
})"""


def filter_change(b, url: str, path: str, runs: int) -> dict:
    """Change the sidebar's year back and forth; until the page is idle and drawn again."""
    ctx = b.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    ws = [0]
    _count_ws(pg, ws)
    pg.goto(url + path)
    pg.wait_for_selector(DRAWN, timeout=90_000)
    pg.wait_for_selector(READY, timeout=90_000)
    pg.wait_for_timeout(1500)
    times, sizes = [], []
    for i in range(runs):
        year = "2023" if i % 2 == 0 else "2024"
        pg.locator(".st-key-w_year [role='combobox']").click()
        option = pg.get_by_role("option", name=year, exact=True).first
        option.wait_for(timeout=10_000)
        before = ws[0]
        t0 = pg.evaluate("performance.now()")
        option.click()
        pg.wait_for_function(f"document.querySelector(\"[data-testid='stApp']\").dataset.testScriptState "
                             f"!== 'notRunning' || location.search.includes('year={year}')", timeout=30_000)
        times.append(pg.evaluate(WAIT_DRAWN_JS, t0) / 1000)
        pg.wait_for_timeout(400)
        sizes.append(ws[0] - before)
    charts = pg.locator(".js-plotly-plot").count()
    ctx.close()
    warm = times[2:] or times
    return {"median_s": statistics.median(warm), "ws_bytes": statistics.median(sizes[2:] or sizes), "charts": charts}


def deploy_figures(visits: int, changes: int, pages: list[str] | None = None, steps: bool = False) -> None:
    from playwright.sync_api import sync_playwright
    folder = tempfile.mkdtemp(prefix="sipas-bench-")
    os.chmod(folder, 0o755)  # nginx's workers (nobody, when started as root) read the assets copy here
    chart_pages = {k: v for k, v in CHART_PAGES.items() if not pages or k in pages}
    proc, url = start_deploy(folder)
    floor_proc, floor_url = start_floor(folder)
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for path in chart_pages.values():  # warm the server's caches once per page
                time_to_chart(b, url, path)
            time_to_chart(b, floor_url, "/")
            print("first visit through nginx (fresh browser, warm server):")
            for name, path in chart_pages.items():
                v = first_visit(b, url, path)
                print(f"  {name:10s} http {v['http'] / 1e6:5.2f} MB  websocket {v['ws'] / 1e6:5.2f} MB  "
                      f"other hosts {len(v['others'])} {v['others'][:3]}")
                print("             largest: " + ", ".join(f"{n / 1e3:.0f} kB {u[:40]}" for n, u in v["biggest"][::-1]))
            print(f"time to the first drawn chart, fresh browser context, median of {visits} (s):")
            runs = {name: [] for name in ["floor", *chart_pages]}
            seen = {name: [] for name in runs} if steps else {}
            for _ in range(visits):  # interleaved, so that both see the same machine load
                runs["floor"].append(time_to_chart(b, floor_url, "/", seen.get("floor")))
                for name, path in chart_pages.items():
                    runs[name].append(time_to_chart(b, url, path, seen.get(name)))
            floor = statistics.median(runs["floor"])
            for name, ts in runs.items():
                m = statistics.median(ts)
                print(f"  {name:10s} {m:5.2f}  ({m / floor:4.2f}x the floor)  min {min(ts):5.2f} max {max(ts):5.2f}")
                if steps:
                    print_steps(name, seen[name])
            print(f"a year change in the sidebar until the page is drawn again, median of {changes} (s):")
            for name, path in chart_pages.items():
                f = filter_change(b, url, path, changes)
                print(f"  {name:10s} {f['median_s']:5.2f}  charts on the page {f['charts']}  "
                      f"websocket {f['ws_bytes'] / 1e3:7.1f} kB per change")
            b.close()
    finally:
        _stop(proc)
        _stop(floor_proc)


SEARCH_QUERIES = ["hong ngu", "Tràm Chim", "tp hong ngu", "tan hoi, hong ngu", "hongngu", "tram chym",
                  "hong nguu", "thap muoy", "phuong 1", "xa tan", "zzzz qqq"]


def search_figures(rounds: int) -> None:
    import importlib
    units = importlib.import_module("geo.registry")  # geo re-exports a function named units
    print(f"place search, median per query of {rounds} rounds (ms):")
    for vintage in ("2025", "2019"):
        units.search("warm", vintage)  # the index is built once per process
        n = len(units.units(vintage))
        for fuzzy in (False, True):
            times = []
            for _ in range(rounds):
                for q in SEARCH_QUERIES:
                    t0 = time.perf_counter()
                    units.search(q, vintage, limit=40, fuzzy=fuzzy)
                    times.append((time.perf_counter() - t0) * 1000)
            print(f"  {vintage} ({n} units) {'with suggestions' if fuzzy else 'names only      '}  "
                  f"median {statistics.median(times):6.2f}  max {max(times):6.2f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=12)
    ap.add_argument("--deploy", action="store_true", help="only the figures through deploy/run.sh (4. above)")
    ap.add_argument("--visits", type=int, default=5, help="--deploy: fresh-browser visits per page")
    ap.add_argument("--changes", type=int, default=8, help="--deploy: filter changes per page")
    ap.add_argument("--pages", help="--deploy: only these of " + ",".join(CHART_PAGES) + " (comma-separated)")
    ap.add_argument("--steps", action="store_true",
                    help="--deploy: also where each first visit's time goes (resource timings, medians)")
    ap.add_argument("--search", action="store_true", help="only the place search (5. above)")
    args = ap.parse_args(argv)
    if args.search:
        search_figures(max(args.runs, 5))
        return 0
    ensure_demo()
    if args.deploy:
        pages = [p.strip() for p in args.pages.split(",")] if args.pages else None
        if pages and set(pages) - set(CHART_PAGES):
            ap.error(f"--pages: not a chart page: {', '.join(sorted(set(pages) - set(CHART_PAGES)))}")
        deploy_figures(args.visits, args.changes, pages, args.steps)
        return 0
    print("median server rerun after a year change (ms, warm cache):")
    for page, ms in rerun_times(args.runs).items():
        print(f"  {page:12s} {ms:7.1f}")
    proc, url = _server()
    try:
        sizes, renders = browser_figures(url)
    finally:
        proc.terminate()
        proc.wait(10)
    print("Map page bytes (websocket app data; HTTP static assets, cached after the first visit):")
    for name, (ws, http) in sizes.items():
        print(f"  {name:50s} ws {ws / 1e6:6.3f} MB   http {http / 1e6:6.3f} MB")
    print("time to first render in Chromium (s):")
    for page, s in renders.items():
        print(f"  {page:12s} {s:5.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
