"""Load benchmark: real concurrent viewers on the app's own websocket protocol, loopback only.

Each viewer is a websocket client that speaks Streamlit's protocol (protobuf BackMsg/ForwardMsg on
/_stcore/stream, as the browser does): it opens a page (a rerun with the page name and query
string), then until the time is up, with a think time of 0.5-2 s, opens other pages, changes
filters (year, service, indicator, through the query string, as a shared link or a widget's
on_change does) and drills down on the map (province -> district -> commune, what a click does).
A render is timed from the request to the server's ``script_finished``; it counts as an error
when the script fails, an exception or error box is sent, or no answer comes within 30 s. The
browser's drawing time is not included (a client-side cost that does not load the server).

    python bench/bench_load.py --viewers 50 --seconds 60                  # one process
    python bench/bench_load.py --viewers 100 --seconds 60 --processes 2   # two behind nginx

Reports: viewers, page renders per second, p50/p95 time to a rendered page, errors, server memory
(RSS of the app processes) with one viewer and with all, and memory per extra viewer.
Figures go into issue notes, never into asserts (tests/test_bench_load_smoke.py runs a tiny one).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["overview", "map", "services", "compare", "locality", "methodology"]
YEARS = [2025, 2024, 2023, 2022]
SERVICES = ["all", "birth", "marriage", "land_certificate", "id_card"]
INDICATORS = ["sipas", "element:access", "element:procedures", "element:results"]
DRILL = [("87", "district"), ("868", "commune"), ("870", "commune"), ("866", "commune")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def children_running_streamlit(parent: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if ppid == parent and b"streamlit" in cmd:
            out.append(int(d.name))
    return out


def wait_health(url: str, proc, timeout: float = 180) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise SystemExit("the app did not start")
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the app did not answer its health check")


# ---------------------------------------------------------------------------------------------

class Viewer:
    def __init__(self, ws_url: str, stats: dict, deadline: float, rng: random.Random, think=(0.5, 2.0)):
        self.ws_url, self.stats, self.deadline, self.rng, self.think = ws_url, stats, deadline, rng, think
        self.params = {"year": "2024", "lang": "vi"}
        self.page = "overview"

    async def render(self, ws) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        msg = BackMsg()
        msg.rerun_script.query_string = urlencode(self.params)
        msg.rerun_script.page_name = self.page
        msg.rerun_script.page_script_hash = ""
        t0 = time.perf_counter()
        await ws.send(msg.SerializeToString())
        error = False
        elements = 0
        try:
            while True:
                raw = await asyncio.wait_for(ws.recv(), timeout=30)
                fm = ForwardMsg()
                fm.ParseFromString(raw)
                kind = fm.WhichOneof("type")
                if kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                    el = fm.delta.new_element
                    elements += 1
                    et = el.WhichOneof("type")
                    if et == "exception" or (et == "alert" and el.alert.format == el.alert.ERROR):
                        error = True
                elif kind == "script_finished":
                    if fm.script_finished not in (fm.FINISHED_SUCCESSFULLY, fm.FINISHED_FRAGMENT_RUN_SUCCESSFULLY):
                        if fm.script_finished == fm.FINISHED_EARLY_FOR_RERUN:
                            continue
                        error = True
                    break
        except (asyncio.TimeoutError, Exception):  # a lost answer is an error
            self.stats["errors"] += 1
            raise
        dt = time.perf_counter() - t0
        self.stats["times"].append(dt)
        if error or elements < 3:  # an error box, an exception or a blank page
            self.stats["errors"] += 1

    def next_action(self) -> None:
        r = self.rng.random()
        if r < 0.35:
            self.page = self.rng.choice(PAGES)
            self.params = {k: v for k, v in self.params.items() if k in ("year", "lang", "service")}
        elif r < 0.7:
            key = self.rng.choice(["year", "service", "indicator"])
            self.params[key] = str(self.rng.choice({"year": YEARS, "service": SERVICES, "indicator": INDICATORS}[key]))
        else:
            self.page = "map"
            unit, level = self.rng.choice(DRILL)
            self.params.update(unit=unit, level=level, year=str(self.rng.choice([2024, 2023])))

    async def run(self) -> None:
        import websockets
        cookie = f"sipas_route={uuid.uuid4().hex}"
        try:
            async with websockets.connect(self.ws_url, subprotocols=["streamlit"], max_size=None,
                                          additional_headers={"Cookie": cookie}, open_timeout=30) as ws:
                self.stats["connected"] += 1
                await self.render(ws)
                while time.time() < self.deadline:
                    await asyncio.sleep(self.rng.uniform(*self.think))
                    self.next_action()
                    await self.render(ws)
                await self.stats["hold"].wait()   # stay connected until memory is measured
        except Exception as exc:  # noqa: BLE001
            self.stats["failures"].append(repr(exc)[:200])


async def drive(ws_url: str, viewers: int, seconds: float, ramp: float, measure, think=(0.5, 2.0)) -> dict:
    stats = {"times": [], "errors": 0, "connected": 0, "failures": [], "hold": asyncio.Event()}
    deadline = time.time() + seconds
    tasks = []
    for i in range(viewers):
        tasks.append(asyncio.create_task(Viewer(ws_url, stats, deadline, random.Random(i), think).run()))
        await asyncio.sleep(ramp / max(viewers, 1))
    while time.time() < deadline:
        await asyncio.sleep(0.5)
    await asyncio.sleep(3)  # let the last renders finish
    stats["rss_all"] = measure()
    stats["hold"].set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return stats


def start(processes: int, releases: str | None):
    env = {**os.environ}
    if releases:
        env["SIPAS_RELEASES"] = releases
    if processes == 1:
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1",
                                 "--server.port", str(port), "--server.headless", "true"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        wait_health(url, proc)
        return proc, url, lambda: [proc.pid]
    base, front = free_port(), free_port()
    while base + processes > 65535 or front in range(base, base + processes):
        base = free_port()
    env.update(SIPAS_PROCESSES=str(processes), SIPAS_APP_PORT=str(base), SIPAS_LISTEN=f"127.0.0.1:{front}",
               SIPAS_RUNTIME=tempfile.mkdtemp(prefix="sipas-bench-"), PYTHON=sys.executable)
    proc = subprocess.Popen(["bash", "deploy/run.sh"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{front}"
    wait_health(url, proc)
    time.sleep(2)
    return proc, url, lambda: children_running_streamlit(proc.pid)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--viewers", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--processes", type=int, default=1, help="1: one app process; N>1: deploy/run.sh (nginx)")
    ap.add_argument("--ramp", type=float, default=5.0, help="seconds over which viewers arrive")
    ap.add_argument("--think", default="0.5,2", help="a viewer's pause between actions, min,max seconds")
    ap.add_argument("--releases", help="releases folder (default: $SIPAS_RELEASES or releases/)")
    ap.add_argument("--json", help="also write the figures to this file")
    a = ap.parse_args(argv)
    if a.processes > 1 and not any(Path(p, "nginx").exists() for p in ("/usr/sbin", "/usr/bin")):
        print("nginx is not installed (apt-get install nginx-light)", file=sys.stderr)
        return 2
    proc, url, pids = start(a.processes, a.releases)
    ws_url = url.replace("http://", "ws://") + "/_stcore/stream"
    try:
        # warm up: one viewer through every page, then the baseline memory
        asyncio.run(drive(ws_url, max(a.processes, 1) * 2, 8, 0, lambda: None))
        base_rss = rss_mb(pids())
        t0 = time.time()
        think = tuple(float(x) for x in a.think.split(","))
        stats = asyncio.run(drive(ws_url, a.viewers, a.seconds, a.ramp, lambda: rss_mb(pids()), think))
        wall = time.time() - t0
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    times = sorted(stats["times"])
    q = statistics.quantiles(times, n=100) if len(times) >= 2 else [float("nan")] * 99
    out = {
        "processes": a.processes, "viewers": a.viewers, "think_s": a.think, "connected": stats["connected"],
        "seconds": a.seconds,
        "renders": len(times), "renders_per_s": round(len(times) / wall, 2),
        "p50_s": round(q[49], 3), "p95_s": round(q[94], 3), "max_s": round(times[-1], 3) if times else None,
        "errors": stats["errors"] + len(stats["failures"]),
        "rss_warm_mb": round(base_rss, 1), "rss_all_mb": round(stats["rss_all"], 1),
        "mb_per_viewer": round((stats["rss_all"] - base_rss) / max(a.viewers - 2 * a.processes, 1), 2),
        "failures": stats["failures"][:5],
    }
    print(json.dumps(out, indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
