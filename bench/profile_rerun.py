"""Where a page rerun spends its CPU. Run: python bench/profile_rerun.py [--views 6] [--top 25]

Each page is opened in AppTest (the app's own script, the demo release) and rerun on a series of
views like the ones bench/bench_load.py's viewers ask for (year, service, indicator changes; map
drill-down). Every view is run twice: ``cold`` (first time this process sees it) and ``warm``
(the same view again, as when another viewer asks for it). Per rerun it measures:

* script CPU: ``time.thread_time()`` of the script thread (what Streamlit's script threads
  spend under the GIL);
* send CPU: serialising the rerun's ForwardMsgs (what the server does next, on its event loop),
  and the bytes sent.

Then cProfile over all reruns of all pages (script thread only) prints the top functions by
cumulative time. Figures are printed, never asserted.

What this does not see: the running server's own work around a rerun (AppTest has no runtime),
e.g. the full garbage collection Streamlit does after each run unless ``runner.postScriptGC`` is
off. For that, sample the server under bench/bench_load.py (``py-spy record --gil -p <pid>``).

    python bench/profile_rerun.py                         # all pages
    python bench/profile_rerun.py --pages map --top 40    # one page, more functions
    python bench/profile_rerun.py --releases /path/to/releases
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PAGES = ["overview", "map", "services", "compare", "locality", "methodology"]
YEARS = ["2025", "2024", "2023", "2022"]
SERVICES = ["all", "birth", "marriage", "land_certificate", "id_card"]
INDICATORS = ["sipas", "element:access", "element:procedures", "element:results"]
DRILL = [("87", "district"), ("868", "commune"), ("870", "commune"), ("866", "commune")]

_PROFILE: cProfile.Profile | None = None
_CPU: list[float] = []


def _hook_script_thread() -> None:
    """Run every AppTest script thread under one profiler and record its CPU time."""
    from streamlit.testing.v1.local_script_runner import LocalScriptRunner
    original = LocalScriptRunner._run_script_thread

    def wrapped(self):
        t0 = time.thread_time()
        if _PROFILE is not None:
            _PROFILE.enable()
        try:
            return original(self)
        finally:
            if _PROFILE is not None:
                _PROFILE.disable()
            _CPU.append(time.thread_time() - t0)

    LocalScriptRunner._run_script_thread = wrapped


def _quiet() -> None:
    """AppTest's 'missing ScriptRunContext' warnings would bury the figures."""
    import logging

    class _Drop(logging.Filter):
        def filter(self, record):
            return "missing ScriptRunContext" not in record.getMessage()
    import streamlit.logger  # noqa: F401 - creates the streamlit loggers
    for name in ["", *logging.root.manager.loggerDict]:
        lg = logging.getLogger(name)
        for h in lg.handlers:
            h.addFilter(_Drop())
    from streamlit.runtime.scriptrunner_utils import script_run_context
    script_run_context._LOGGER.addFilter(_Drop())


def views(page: str, n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        p = {"year": rng.choice(YEARS), "lang": "vi", "service": rng.choice(SERVICES)}
        if rng.random() < 0.5:
            p["indicator"] = rng.choice(INDICATORS)
        if page == "map" and rng.random() < 0.6:
            unit, level = rng.choice(DRILL)
            p.update(unit=unit, level=level, year=rng.choice(["2024", "2023"]))
        if page in ("locality", "compare") and rng.random() < 0.7:
            p.update(unit="868", units="868,870,866", year=rng.choice(["2024", "2023"]))
        out.append(p)
    return out


def run_view(page: str, params: dict):
    """One rerun of ``page`` with ``params``: (script CPU s, send CPU s, bytes)."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(f"pages/{page}.py")
    n0 = len(_CPU)
    captured = []
    from streamlit.testing.v1 import local_script_runner as lsr
    orig_parse = lsr.parse_tree_from_messages

    def grab(msgs):
        captured.extend(msgs)
        return orig_parse(msgs)
    lsr.parse_tree_from_messages = grab
    try:
        at.run()
    finally:
        lsr.parse_tree_from_messages = orig_parse
    cpu = sum(_CPU[n0:])
    t0 = time.process_time()
    size = sum(len(m.SerializeToString()) for m in captured)
    send = time.process_time() - t0
    errs = [e.value for e in at.exception] + [e.value for e in at.error]
    if errs:
        print(f"  ! {page} {params}: {errs[:1]}", file=sys.stderr)
    return cpu, send, size


def main(argv=None) -> int:
    global _PROFILE
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", default=",".join(PAGES))
    ap.add_argument("--views", type=int, default=6, help="views per page (each run cold, then warm)")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--releases", help="releases folder (default: $SIPAS_RELEASES or releases/)")
    ap.add_argument("--no-profile", action="store_true", help="timings only (cProfile adds overhead)")
    ap.add_argument("--sort", default="cumulative", help="pstats sort key (cumulative, tottime)")
    ap.add_argument("--only", default="", help="regular expression: print only functions whose location matches")
    ap.add_argument("--profile", choices=["all", "cold", "warm"], default="all", help="which reruns cProfile sees")
    a = ap.parse_args(argv)
    if a.releases:
        os.environ["SIPAS_RELEASES"] = a.releases
    from sipas_data.release import list_releases
    if not list_releases():
        from sipas_data.demo import build_demo
        build_demo()
    _hook_script_thread()
    _quiet()
    pages = a.pages.split(",")
    # warm the process: release copy, offer, imports (not counted)
    for page in pages:
        run_view(page, {"year": "2024", "lang": "vi"})
    prof = None if a.no_profile else cProfile.Profile()
    _PROFILE = prof
    print("per rerun, median over views (ms script CPU | ms send CPU | kB sent)")
    print(f"  {'page':12s} {'cold cpu':>9s} {'warm cpu':>9s} {'send':>7s} {'kB':>8s}")
    rows = {}
    for page in pages:
        cold, warm, send, size = [], [], [], []
        for params in views(page, a.views):
            _PROFILE = prof if a.profile in ("all", "cold") else None
            c, s, b = run_view(page, params)
            _PROFILE = prof if a.profile in ("all", "warm") else None
            w, s2, _ = run_view(page, params)
            cold.append(c * 1000)
            warm.append(w * 1000)
            send.append(s2 * 1000)
            size.append(b / 1000)
        rows[page] = (statistics.median(cold), statistics.median(warm), statistics.median(send),
                      statistics.median(size))
        print(f"  {page:12s} {rows[page][0]:9.1f} {rows[page][1]:9.1f} {rows[page][2]:7.1f} {rows[page][3]:8.1f}",
              flush=True)
    allc = [r[0] for r in rows.values()]
    allw = [r[1] for r in rows.values()]
    print(f"  {'mean':12s} {statistics.mean(allc):9.1f} {statistics.mean(allw):9.1f}")
    if prof is not None:
        out = io.StringIO()
        st = pstats.Stats(prof, stream=out)
        st.sort_stats(a.sort).print_stats(*([a.only] if a.only else []), a.top)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
