"""Benchmark of the geo web layers: sizes before/after simplification and load times.

Run: python bench/bench_geo.py [--repeat N]

Installs the Đồng Tháp commune file and the nationwide district file from
../shared/geo (relative to the repository) into a temporary data directory,
then prints for each layer:

* bytes of the GeoJSON (compact JSON, properties code/name/province_code/
  district_code) of the normalised layer before simplification and of the
  "high" and "low" web layers, with vertex counts;
* median time to get the layer ready for drawing (the GeoJSON dict that
  plotly/pydeck take, via geo.boundaries.layer_geojson): cold (caches cleared,
  read from GeoParquet) and warm (cached), and for load_layer alone;
* the bytes the Map page sends to the browser for one view: the pydeck spec
  (geometry, colours, tooltips, labels) as JSON and gzipped, per view.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SHARED = REPO.parent / "shared" / "geo"

CASES = [
    ("All provinces nationwide (2019)", "provinces_2019.geojson", "2019", "province", None),
    ("Đồng Tháp communes (2019, province 87)", "communes_87_dong_thap.geojson", "2019", "commune", "87"),
    ("All districts nationwide (2019)", "districts_2019.geojson", "2019", "district", None),
]


def _median_ms(fn, repeat: int, before=None) -> float:
    times = []
    for _ in range(repeat):
        if before:
            before()
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args(argv)
    if not SHARED.exists():
        print("../shared/geo not found: nothing to benchmark")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SIPAS_GEO_DATA"] = tmp
        import geopandas as gpd

        from geo import boundaries as B

        for title, fname, vintage, level, parent in CASES:
            t = time.perf_counter()
            rep = B.install(SHARED / fname, vintage, level)
            install_s = time.perf_counter() - t
            if not rep.ok:
                print(rep.text())
                return 1
            raw = gpd.read_parquet(Path(tmp) / vintage / level / "raw.parquet")
            if parent:
                raw = raw[raw["province_code"] == parent]
            raw_bytes = len(json.dumps(B._feature_collection(raw, None), separators=(",", ":")).encode())
            file_bytes = (SHARED / fname).stat().st_size
            print(f"\n{title}  [{fname}, {file_bytes:,} B on disk, install {install_s:.2f} s]")
            print(f"  {'layer':<28}{'GeoJSON bytes':>14}{'vs raw':>8}{'vertices':>10}")
            print(f"  {'raw (before simplification)':<28}{raw_bytes:>14,}{'100 %':>8}{B._vertices(raw.geometry):>10,}")
            for detail in ("high", "low"):
                fc = B.layer_geojson(vintage, level, parent, detail)
                n = len(json.dumps(fc, separators=(",", ":")).encode())
                g = B.load_layer(vintage, level, parent, detail)
                tol = B.TOLERANCES[level][detail]
                label = f"{detail} (tol {tol}°, {5 if detail == 'high' else 4} dp)"
                print(f"  {label:<28}{n:>14,}{100 * n / raw_bytes:>6.0f} %{B._vertices(g.geometry):>10,}")
            for detail in ("high", "low"):
                cold_gj = _median_ms(lambda: B.layer_geojson(vintage, level, parent, detail), args.repeat,
                                     before=B._clear_caches)
                warm_gj = _median_ms(lambda: B.layer_geojson(vintage, level, parent, detail), args.repeat)
                cold_ld = _median_ms(lambda: B.load_layer(vintage, level, parent, detail), args.repeat,
                                     before=B._clear_caches)
                warm_ld = _median_ms(lambda: B.load_layer(vintage, level, parent, detail), args.repeat)
                print(f"  load {detail:<4}: layer_geojson cold {cold_gj:8.2f} ms, warm {warm_gj:6.3f} ms; "
                      f"load_layer cold {cold_ld:7.2f} ms, warm {warm_ld:6.3f} ms")

        _deck_bytes()

        from geo import units
        from geo.tiles import _layout_cached, layout_quality, tile_layout

        for title, codes, vintage in (
                ("tiles: Đồng Tháp communes (141)",
                 list(units("2019").query("province_code == '87' and level == 'commune'").code), "2019"),
                ("tiles: all districts (696)", list(units("2019").query("level == 'district'").code), "2019")):
            cold = _median_ms(lambda: tile_layout(codes, vintage), 3, before=_layout_cached.cache_clear)
            q = layout_quality(tile_layout(codes, vintage))
            print(f"\n{title}: {cold:.1f} ms cold; mean displacement {q['mean_displacement']:.2f} radii, "
                  f"Spearman x {q['spearman_x']:.3f}, y {q['spearman_y']:.3f}")
    return 0


def _deck_bytes() -> None:
    """What one Map view sends: the deck spec of ui/deck.py on the installed layers (demo-like values)."""
    import gzip

    import pandas as pd

    from geo import units
    from ui import deck, figures, maps

    print("\nsent to the browser per Map view (pydeck spec JSON):")
    views = [("provinces nationwide", "province", "VN"), ("districts nationwide", "district", "VN"),
             ("districts of Đồng Tháp", "district", "87"), ("communes of Đồng Tháp", "commune", "87")]
    reg = units("2019")
    for title, level, area in views:
        u = reg[reg["level"] == level]
        if area != "VN":
            u = u[u["province_code"] == area]
        codes = sorted(u["code"])
        for style in ("boundaries", "tiles"):
            gj = maps.boundaries_geojson("2019", level, area, codes) if style == "boundaries" else None
            if style == "boundaries" and (gj is None or not gj["features"]):
                continue
            gj = gj or maps.tiles_geojson(codes, "2019")
            n = len(codes)
            cells = pd.DataFrame({"code": codes, "name": list(u.set_index("code").loc[codes, "name"]),
                                  "value": [60 + 35 * i / max(n - 1, 1) for i in range(n)], "ci_low": 55.0,
                                  "ci_high": 99.0, "n": 400, "rank": range(1, n + 1), "total": n,
                                  "suppressed": False, "has_data": True})
            islands = deck.archipelagos("vi") if area == "VN" and level == "province" and style == "boundaries" else []
            spec = deck.deck(gj, cells, "sipas", "vi", view=figures._view(gj, 350, 520), islands=islands,
                             points=deck.anchors(gj)).to_json().encode()
            geom = len(json.dumps(gj, separators=(",", ":")).encode())
            gz = len(gzip.compress(spec))
            print(f"  {title:<24} {style:<10} {n:>4} units: spec {len(spec):>10,} B, gzip {gz:>9,} B"
                  f" (geometry alone {geom:,} B)")


if __name__ == "__main__":
    sys.exit(main())
