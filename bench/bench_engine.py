"""Benchmark the index engine on synthetic forms spread over all 63 pre-2025 provinces.

    python bench/bench_engine.py [--forms 1000000] [--repeat 3]

Prints, each as the median of --repeat runs in fresh processes (so peak memory is per run):
  - core cells (item, element, aspect and SIPAS for every unit x service at every level: the
    values, n, and the sums the 95% intervals come from) with the DuckDB engine and with a plain
    pandas groupby reference computing the same, and their ratio; and pandas computing the
    values alone, which is less work than the engine's core;
  - the whole release: every indicator family, profile breakdowns, intervals, ranks, restated
    cells, official rows, Parquet and manifest written.
Peak memory is the child process's maximum resident set size.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def synthetic_forms(n: int, seed: int = 7):
    """n forms of 2024 (sipas-2022) over every commune and district of the pre-reform registry."""
    import numpy as np
    import pandas as pd

    from geo.registry import units
    from sipas_data.scheme import PROFILE_DIMENSIONS, get_scheme

    m = get_scheme("sipas-2022")
    reg = units("2019")
    communes = reg[reg.level == "commune"].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(communes), n)
    at_district = rng.random(n) < 0.3
    services_c = np.array([s.id for s in m.services if s.level == "commune"])
    services_d = np.array([s.id for s in m.services if s.level == "district"])
    df = pd.DataFrame({
        "form_id": np.char.add("B", np.arange(n).astype(str)),
        "year": np.int16(2024), "scheme": m.id,
        "province_code": communes.province_code.to_numpy()[pick],
        "district_code": communes.district_code.to_numpy()[pick],
        "commune_code": np.where(at_district, None, communes.code.to_numpy()[pick]),
        "service": np.where(at_district, services_d[rng.integers(0, 3, n)], services_c[rng.integers(0, 3, n)]),
        "agency_level": np.where(at_district, "district", "commune"),
        "weight": 1.0,
    })
    for dim, k in zip(PROFILE_DIMENSIONS, (2, 4, 5, 7, 2)):
        df[dim] = np.array([f"g{i}" for i in range(k)])[rng.integers(0, k, n)]
    quality = rng.normal(1.4, 0.5, len(communes))[pick]
    for item in m.item_ids(2024):
        p = 1 / (1 + np.exp(-(quality + rng.normal(0, 0.8, n))))
        ans = np.where(rng.random(n) < p, rng.integers(4, 6, n), rng.integers(1, 4, n)).astype("float")
        ans[rng.random(n) < 0.03] = np.nan
        df[item] = pd.array(ans, dtype="Int8")
    for k, opt in enumerate(m.expectation_options):
        df[f"expect_{opt.id}"] = pd.array(rng.integers(1, 4, n), dtype="Int8")
    for q in m.perceptions:
        df[q.column] = pd.array(rng.integers(1, len(q.options) + 1, n), dtype="Int8")
    return df


def pandas_reference(df, *, moments: bool = True):
    """The same core cells as the engine (items, elements, aspects, SIPAS; every unit x service
    at every level, plus `all` services) with plain pandas groupbys.

    With ``moments`` (the default) it also sums, per cell, what the engine's core sums for
    each element, aspect and SIPAS cell: the number of respondents with a score and the first
    two moments of their scores (the published n and 95% interval come from those). Without,
    it computes the values only, less than the engine does; the benchmark reports both."""
    import pandas as pd

    from sipas_data.scheme import get_scheme

    m = get_scheme("sipas-2022")
    items = m.item_ids(2024)
    answers = df[items]
    valid = answers.isin([1, 2, 3, 4, 5]).astype("int32")
    sat = answers.isin([4, 5]).astype("int32")
    parts = [df[["province_code", "district_code", "commune_code", "service"]],
             valid.add_prefix("v_"), sat.add_prefix("s_")]
    sums = [*(f"v_{i}" for i in items), *(f"s_{i}" for i in items)]
    if moments:
        scores = {}
        for el in m.elements:
            its = [it.id for it in el.items if it.id in items]
            scores[f"element:{el.id}"] = sat[its].sum(axis=1) / valid[its].sum(axis=1).where(lambda v: v > 0)
        for a in m.aspects:
            scores[f"aspect:{a.id}"] = pd.concat([scores[f"element:{e.id}"] for e in m.elements if e.aspect == a.id],
                                                 axis=1).mean(axis=1)
        scores["sipas"] = pd.concat([scores[f"aspect:{a.id}"] for a in m.aspects], axis=1).mean(axis=1)
        frame = pd.DataFrame(scores)
        parts += [frame.notna().astype("int32").add_prefix("n_"), frame.fillna(0).add_prefix("m1_"),
                  (frame * frame).fillna(0).add_prefix("m2_")]
        sums += [f"{k}_{c}" for k in ("n", "m1", "m2") for c in frame.columns]
    base = pd.concat(parts, axis=1)
    out, count = [], 0
    for level, key in (("province", "province_code"), ("district", "district_code"), ("commune", "commune_code")):
        frame = base[base[key].notna()]
        for by in ([key, "service"], [key]):
            g = frame.groupby(by, sort=False)[sums].sum()
            val = pd.DataFrame({i: 100 * g[f"s_{i}"] / g[f"v_{i}"].where(g[f"v_{i}"] > 0) for i in items})
            for el in m.elements:
                val[f"element:{el.id}"] = val[[it.id for it in el.items if it.id in items]].mean(axis=1)
            for a in m.aspects:
                val[f"aspect:{a.id}"] = val[[f"element:{e.id}" for e in m.elements if e.aspect == a.id]].mean(axis=1)
            val["sipas"] = val[[f"aspect:{a.id}" for a in m.aspects]].mean(axis=1)
            cells = len(val) * val.shape[1]  # one cell per unit x service x indicator
            if moments:
                val = pd.concat([val, g[[c for c in sums if c[:2] in ("n_", "m1", "m2")]]], axis=1)
            out.append(val)
            count += cells
    return count


TASKS = ("engine-core", "pandas-core", "pandas-values", "release")


def _child(task: str, n: int, data: str) -> dict:
    import pyarrow.parquet as pq

    df = pq.read_table(data).to_pandas()
    for c in df.columns:
        if df[c].dtype.name == "int8" or c.startswith(("access", "procedures", "civil", "results", "feedback",
                                                       "accountability", "participation", "policy", "expect_",
                                                       "perception_")):
            df[c] = df[c].astype("Int8")
    start = time.perf_counter()
    if task == "engine-core":
        import duckdb
        import pyarrow as pa

        from sipas_data.engine import compute_batches
        core = pa.Table.from_pandas(df[[c for c in df.columns if not c.startswith(("expect_", "perception_"))]],
                                    preserve_index=False)
        con, timings = duckdb.connect(), {}
        start = time.perf_counter()
        cells = sum(batch.num_rows for batch in compute_batches(con, core, breakdowns=(), timings=timings))
        # the core cells (per-form table, grain scans, roll-up, the value of every item, element,
        # aspect and SIPAS cell) are timed on their own, like the pandas reference; publishing
        # them as long rows with intervals and ranks is reported beside
        result = {"task": task, "seconds": timings["core"], "publish_seconds": timings["publish"],
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "cells": cells}
        return result
    elif task == "pandas-core":
        cells = pandas_reference(df)
    elif task == "pandas-values":
        cells = pandas_reference(df, moments=False)
    else:
        from sipas_data.build import build_release
        from sipas_data.official import read_official
        from sipas_data.demo import OFFICIAL_CSV
        with tempfile.TemporaryDirectory() as tmp:
            official = read_official(OFFICIAL_CSV)
            path = build_release(df, Path(tmp) / "bench", official=[official.rows], title="bench", publisher="bench",
                                 inputs=[], counts={"forms_read": len(df)})
            cells = json.loads((path / "manifest.json").read_text())["counts"]["cells"]
            size = (path / "indices.parquet").stat().st_size
            build_seconds = time.perf_counter() - start  # slice reads below are timed on their own
            from sipas_data.release import open_release
            release = open_release("bench", tmp)
            slices = {}
            for label, kw in (("districts of Hà Nội", {"level": "district", "parent": "01"}),
                              ("communes of one district", {"level": "commune", "parent": "001"}),
                              ("all provinces", {"level": "province", "parent": "VN"})):
                times = []
                for _ in range(15):
                    t0 = time.perf_counter()
                    release.read(year=2024, service="all", indicator="sipas", **kw)
                    times.append(time.perf_counter() - t0)
                slices[label] = statistics.median(times) * 1000

    seconds = build_seconds if task == "release" else time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {"task": task, "seconds": seconds, "peak_mb": peak_mb, "cells": cells}
    if task == "release":
        result["parquet_mb"] = size / 1e6
        result["slice_ms"] = slices
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--forms", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.forms, args.data)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "forms.parquet"
        t = time.perf_counter()
        synthetic_forms(args.forms).to_parquet(data)
        print(f"{args.forms:,} synthetic forms generated in {time.perf_counter() - t:.1f} s "
              f"(all 63 pre-2025 provinces, sipas-2022, 2024)")
        # The input is read from Parquet in each child; that read is outside the timings.
        results: dict[str, list[dict]] = {}
        for _ in range(args.repeat):
            for task in TASKS:
                out = subprocess.run([sys.executable, __file__, "--child", task, "--forms", str(args.forms),
                                      "--data", str(data)], capture_output=True, text=True, check=True)
                results.setdefault(task, []).append(json.loads(out.stdout.strip().splitlines()[-1]))
    med = {k: {f: statistics.median(r[f] for r in v) for f in ("seconds", "peak_mb")} for k, v in results.items()}
    print(f"\nmedian of {args.repeat} runs (each in a fresh process; peak memory = max RSS of that process)")
    for task in TASKS:
        r = results[task][-1]
        extra = f", Parquet {r['parquet_mb']:.1f} MB" if "parquet_mb" in r else ""
        if "publish_seconds" in r:
            publish = statistics.median(x["publish_seconds"] for x in results[task])
            extra += f" (then {publish:.2f} s to publish them with intervals and ranks)"
        print(f"  {task:13s} {med[task]['seconds']:7.2f} s   peak {med[task]['peak_mb']:7.0f} MB   "
              f"{r['cells']:,} cells{extra}")
    for label, ms in results["release"][-1]["slice_ms"].items():
        print(f"  reading one map slice from that release ({label}): {ms:.1f} ms median")
    engine = med["engine-core"]["seconds"]
    print(f"  core cells: DuckDB engine is {med['pandas-core']['seconds'] / engine:.2f}x the speed of the pandas "
          f"reference computing the same cells (values, n and the respondent-score moments of the intervals)")
    print(f"              and {med['pandas-values']['seconds'] / engine:.2f}x the speed of pandas computing the "
          f"values alone (less work than the engine's core)")
    print(f"  whole release: {med['release']['seconds'] / med['pandas-values']['seconds']:.2f}x the time pandas takes "
          f"for the values alone (the goal, 10 s on a machine where that pandas groupby takes about 2 s, is 5x)")


if __name__ == "__main__":
    main()
