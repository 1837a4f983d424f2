"""Press image speed on the demo release. Run: python bench/bench_press.py [--runs 10]

1. Cold: a new Renderer (starts Debian's Chromium through kaleido) and its first PNG.
2. Warm: with that browser kept running, PNGs of figures it has not seen (cache misses),
   median and max, for the ranking bar chart, the tile map of a province and, when boundaries
   are installed ($SIPAS_GEO_DATA), the national province map, at 1200x675 and 1080x1080 (2x).
   Each map's median is also given as a ratio to the bar chart's in the same run.
3. Cached: the same figure and size again (bytes from the renderer's cache).
4. A press kit of two figures (4 PNGs + CSV/XLSX + text) on the warm browser.
Figures are printed, never asserted.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def national_map(release, title: str):
    """The Map page's national province map on installed boundaries (None when not installed)."""
    import geo
    from ui import deck, figures, mapfig, maps, views
    u = geo.units("2019")
    u = u[u["level"] == "province"]
    codes = sorted(u["code"])
    gj = maps.boundaries_geojson("2019", "province", "VN", codes)
    if gj is None or not gj["features"]:
        return None
    mc = views.map_cells(release.read(year=2024, level="province"), codes, dict(zip(u["code"], u["name"])))
    m = mapfig.choropleth(gj, mc, "sipas", "vi", islands=deck.archipelagos("vi"))
    figures.frame_figure(m, title, "Toàn quốc · 2024 · Tất cả dịch vụ", figures.source_line(release, "vi"),
                         release.is_demo, "vi", height=620)
    return m


def figures_for(release, title: str):
    from ui import figures, mapfig, maps, views
    cells = release.read(year=2024, level="district", parent="87")
    units = release.units()
    names = dict(zip(units["code"], units["name"]))
    codes = list(cells["unit_code"])
    mc = views.map_cells(cells, codes, names).sort_values("value", ascending=False)
    src = figures.source_line(release, "vi")
    bar = figures.bar_ci(mc["name"].tolist(), mc["value"].tolist(), mc["ci_low"].tolist(), mc["ci_high"].tolist(),
                         mc["n"].tolist(), "vi", suppressed=mc["suppressed"].tolist())
    figures.frame_figure(bar, title, "Tỉnh Đồng Tháp · 2024 · Tất cả dịch vụ", src, release.is_demo, "vi")
    m = mapfig.choropleth(maps.tiles_geojson(codes, "2019"), mc, "sipas", "vi")
    figures.frame_figure(m, title, "Tỉnh Đồng Tháp · 2024 · Tất cả dịch vụ", src, release.is_demo, "vi", height=620)
    return bar, m, mc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_app import ensure_demo
    from sipas_data.release import open_release
    from ui import press
    ensure_demo()
    release = open_release()
    print(f"release {release.id}; browser {press.find_browser()}")

    r = press.Renderer()
    bar, _, _ = figures_for(release, "Chỉ số SIPAS (lần đầu)")
    t0 = time.perf_counter()
    r.render(bar, 1200, 675)
    print(f"cold: browser start + first PNG 1200x675@2x: {time.perf_counter() - t0:.2f} s")

    kinds = ["bar", "map"] + (["national"] if national_map(release, "x") is not None else [])
    medians = {}
    for kind in kinds:
        for size, (w, h) in press.SIZES.items():
            times = []
            for i in range(args.runs):
                title = f"Chỉ số SIPAS #{i} {size}"
                fig = national_map(release, title) if kind == "national" else \
                    figures_for(release, title)[0 if kind == "bar" else 1]
                t0 = time.perf_counter()
                r.render(fig, w, h)
                times.append(time.perf_counter() - t0)
            medians[kind, size] = statistics.median(times)
            print(f"warm {kind:8s} PNG {w}x{h}@2x: median {statistics.median(times):.3f} s, "
                  f"max {max(times):.3f} s ({args.runs} runs)")
    for kind in kinds[1:]:  # the bar chart of the same run is the peer: the machine's load cancels out
        print(f"{kind} / bar (same run): " + ", ".join(f"{size} {medians[kind, size] / medians['bar', size]:.2f}x"
                                                      for size in press.SIZES))
    t0 = time.perf_counter()
    r.render(fig, w, h)
    print(f"cached repeat: {1000 * (time.perf_counter() - t0):.1f} ms")

    bar, m, mc = figures_for(release, "Bộ tư liệu")
    t0 = time.perf_counter()
    data = press.press_kit(r, [("ranking", bar), ("map", m)], mc, "Năm 2024 …\n", base="bench")
    print(f"press kit (2 figures x 2 sizes + CSV/XLSX): {time.perf_counter() - t0:.2f} s, {len(data) / 1e6:.2f} MB")
    r.close()


if __name__ == "__main__":
    main()
