"""Dashboard speed on the demo release. Run: python bench/bench_app.py [--runs 15]

1. Server time of a page rerun after a filter change (AppTest, warm cache, median).
2. Bytes sent to the browser (websocket frames, Streamlit's delta messages) for the Map page at
   commune level for one province and at district level nationwide (all 696 districts drawn).
3. Time to first render of each page in headless Chromium (navigation -> script idle with the
   primary element drawn).
Figures are printed, never asserted.
"""
from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=12)
    args = ap.parse_args(argv)
    ensure_demo()
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
