"""Benchmark the import of forms beside plain peers, in the same run.

    python bench/bench_import.py [--forms 1000000] [--xlsx-forms 40000] [--repeat 3] [--data DIR]

Tasks, each run --repeat times in a fresh process (peak memory is that process's maximum
resident set size; CPU time is its user + system time, all threads, which a machine shared with
other work inflates far less than the wall time), medians printed:
  - release-csv:   ``python -m sipas_data build`` on the forms as CSV: read, validated, every cell
                   computed and the release written;
  - import-csv:    the import alone (``read_forms``) of the same CSV;
  - pandas-csv:    the peer: ``pandas.read_csv`` of the same CSV and the core cells (items,
                   elements, aspects, SIPAS with n and the interval moments, every unit x service
                   at every level) with plain groupbys (bench_engine's pandas reference);
  - import-xlsx:   ``read_forms`` of --xlsx-forms forms as XLSX;
  - calamine-xlsx: the peer: ``pandas.read_excel(engine="calamine")`` just reading that XLSX.
With --stages, one more process imports the CSV and prints the wall and CPU seconds spent in each
stage of ``read_forms`` (read, rules, typing, duplicates, sort), to see where the import's time goes.
The forms are bench_engine's synthetic forms (2024, sipas-2022, all 63 pre-2025 provinces) with
profile answers, dates and channels a clerk would type. --data keeps the generated files between
runs (they are made once).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

TASKS = ("release-csv", "import-csv", "pandas-csv", "import-xlsx", "calamine-xlsx")


def clerk_forms(n: int, seed: int):
    """bench_engine's synthetic forms with valid profile answers, a collection date and a channel."""
    import numpy as np

    from bench_engine import synthetic_forms
    from sipas_data.scheme import PROFILE_DIMENSIONS, get_scheme

    df = synthetic_forms(n, seed=seed)
    profile = get_scheme("sipas-2022").profile
    rng = np.random.default_rng(seed + 1)
    for dim in PROFILE_DIMENSIONS:
        ids = np.array([o["id"] for o in profile[dim]["options"]], dtype=object)
        df[dim] = ids[rng.integers(0, len(ids), n)]
    df["collected_on"] = np.char.add("2024-10-", np.char.zfill((np.arange(n) % 28 + 1).astype(str), 2))
    df["channel"] = "buu_dien"
    return df


def make_inputs(folder: Path, n_csv: int, n_xlsx: int) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    csv, xlsx = folder / f"forms-{n_csv}.csv", folder / f"forms-{n_xlsx}.xlsx"
    if not csv.exists():
        t = time.perf_counter()
        clerk_forms(n_csv, seed=7).to_csv(csv, index=False)
        print(f"{n_csv:,} forms written as CSV ({csv.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.0f} s")
    if not xlsx.exists():
        import openpyxl

        t = time.perf_counter()
        df = clerk_forms(n_xlsx, seed=11).astype(object)
        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("forms")
        ws.append(list(df.columns))
        for row in df.where(df.notna(), None).itertuples(index=False):
            ws.append([v if v is None or isinstance(v, str) else float(v) for v in row])
        wb.save(xlsx)
        print(f"{n_xlsx:,} forms written as XLSX ({xlsx.stat().st_size / 1e6:.1f} MB) "
              f"in {time.perf_counter() - t:.0f} s")
    return csv, xlsx


def _child(task: str, csv: str, xlsx: str) -> dict:
    start = time.perf_counter()
    extra = {}
    if task == "import-csv":
        from sipas_data.importer import read_forms
        res = read_forms(csv)
        extra = {"rows": res.rows_read, "accepted": len(res.accepted)}
    elif task == "import-xlsx":
        from sipas_data.importer import read_forms
        res = read_forms(xlsx)
        extra = {"rows": res.rows_read, "accepted": len(res.accepted)}
    elif task == "pandas-csv":
        import pandas as pd

        from bench_engine import pandas_reference
        df = pd.read_csv(csv, dtype={"province_code": str, "district_code": str, "commune_code": str})
        extra = {"cells": pandas_reference(df)}
    elif task == "calamine-xlsx":
        import pandas as pd
        extra = {"rows": len(pd.read_excel(xlsx, engine="calamine"))}
    return {"seconds": time.perf_counter() - start, **extra}


#: The stages of ``read_forms`` timed by --stages: the module-level names it calls them by.
STAGES = ("read_table", "map_headers", "check", "_final_order", "_take", "typed", "duplicates",
          "_rejected", "_gather_accepted", "_gather_rejects")


def _stages(csv: str) -> dict:
    """Wall and CPU seconds of each stage of one ``read_forms`` of ``csv``, each stage wrapped
    where ``sipas_data.forms`` looks it up (what is not a stage is counted as "other")."""
    import sipas_data.forms as forms

    spent = {}

    def timed(name, func):
        def wrapper(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return func(*args, **kwargs)
            finally:
                w, c = spent.get(name, (0.0, 0.0))
                spent[name] = (w + time.perf_counter() - wall, c + time.process_time() - cpu)
        return wrapper

    for name in STAGES:
        if hasattr(forms, name):
            setattr(forms, name, timed(name, getattr(forms, name)))
    wall, cpu = time.perf_counter(), time.process_time()
    forms.read_forms(csv)
    spent["total"] = (time.perf_counter() - wall, time.process_time() - cpu)
    spent["other"] = tuple(spent["total"][k] - sum(v[k] for n, v in spent.items() if n != "total")
                           for k in (0, 1))
    return spent


def run(task: str, csv: Path, xlsx: Path, tmp: Path) -> dict:
    """One task in a fresh process: wall time and that process's peak memory."""
    if task == "release-csv":
        out = tmp / "bench-import"
        cmd = [sys.executable, "-m", "sipas_data", "build", "--responses", str(csv), "--out", str(out),
               "--title", "bench"]
    else:
        cmd = [sys.executable, __file__, "--child", task, "--csv", str(csv), "--xlsx", str(xlsx)]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=err, text=True)
        # wait4 rather than wait: the child's own resource usage (its peak memory alone)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode:
        raise SystemExit(f"{task} failed:\n{stderr[-2000:]}")
    result = {"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024}
    if task != "release-csv":
        result.update(json.loads(stdout.strip().splitlines()[-1]))
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--forms", type=int, default=1_000_000)
    ap.add_argument("--xlsx-forms", type=int, default=40_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data", help="folder for the generated forms (kept); default a temporary one")
    ap.add_argument("--stages", action="store_true", help="also print the import's time per stage")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--make", help=argparse.SUPPRESS)
    ap.add_argument("--csv", help=argparse.SUPPRESS)
    ap.add_argument("--xlsx", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child == "stages":
        print(json.dumps(_stages(args.csv)))
        return
    if args.child:
        print(json.dumps(_child(args.child, args.csv, args.xlsx)))
        return
    if args.make:
        make_inputs(Path(args.make), args.forms, args.xlsx_forms)
        return
    with tempfile.TemporaryDirectory() as tmp:
        # the forms are made in a process of their own: a child started from this one would
        # otherwise count this process's memory at its start as its own peak
        folder = Path(args.data) if args.data else Path(tmp) / "data"
        subprocess.run([sys.executable, __file__, "--make", str(folder), "--forms", str(args.forms),
                        "--xlsx-forms", str(args.xlsx_forms)], check=True)
        csv, xlsx = folder / f"forms-{args.forms}.csv", folder / f"forms-{args.xlsx_forms}.xlsx"
        results: dict[str, list[dict]] = {t: [] for t in TASKS}
        for _ in range(args.repeat):
            for task in TASKS:
                results[task].append(run(task, csv, xlsx, Path(tmp)))
        if args.stages:
            out = subprocess.run([sys.executable, __file__, "--child", "stages", "--csv", str(csv)],
                                 cwd=ROOT, capture_output=True, text=True, check=True).stdout
            stages = json.loads(out.strip().splitlines()[-1])
            print("\nread_forms of the CSV by stage (one run; wall s / CPU s): " + ", ".join(
                f"{name} {w:.2f}/{c:.2f}" for name, (w, c) in stages.items()))
    med = {t: {k: statistics.median(r[k] for r in v) for k in ("seconds", "cpu", "peak_mb")}
           for t, v in results.items()}
    print(f"\nmedian of {args.repeat} runs, each in a fresh process (wall time including the interpreter's "
          "start; CPU = user + system time of that process; peak = max RSS of that process)")
    for task in TASKS:
        runs = ", ".join(f"{r['seconds']:.1f}" for r in results[task])
        print(f"  {task:14s} {med[task]['seconds']:7.2f} s   CPU {med[task]['cpu']:7.2f} s   "
              f"peak {med[task]['peak_mb']:6.0f} MB   (runs: {runs} s)")
    c = {t: med[t]["cpu"] for t in TASKS}
    print(f"  CPU time against the peers: release-csv {c['release-csv'] / c['pandas-csv']:.2f}x and import-csv "
          f"{c['import-csv'] / c['pandas-csv']:.2f}x pandas-csv; import-xlsx "
          f"{c['import-xlsx'] / c['calamine-xlsx']:.2f}x calamine-xlsx")
    s = {t: med[t]["seconds"] for t in TASKS}
    print(f"  {args.forms:,} forms as CSV to a full validated release: {s['release-csv'] / s['pandas-csv']:.2f}x "
          f"the time of the pandas peer computing only the core cells from the same CSV (goal: at most 1x, "
          f"peak at most 1.5 GB; here {med['release-csv']['peak_mb']:.0f} MB)")
    print(f"  of which the import: {s['import-csv']:.2f} s ({s['import-csv'] / s['pandas-csv']:.2f}x the peer)")
    print(f"  {args.xlsx_forms:,} forms as XLSX validated: {s['import-xlsx'] / s['calamine-xlsx']:.2f}x the time "
          f"pandas with python-calamine takes just to read it (goal: at most 2x)")


if __name__ == "__main__":
    main()
