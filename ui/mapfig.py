"""The map as a plotly figure, for images and the embed mode (the page draws it with pydeck,
ui/deck.py), and its press image drawn in SVG.

* :func:`choropleth` is :func:`ui.figures.choropleth` with the map's legend outside the shapes, the
  Hoàng Sa and Trường Sa archipelagos on national maps, and what the press image needs to name
  the units (kept in the first trace's ``meta``: ``layout.meta`` belongs to the framing).
* :func:`press_map` redraws a map figure for a fixed image size as plain SVG shapes on a
  Mercator plane (one filled path per colour, simplified for the image's pixels), with the units
  named as on screen (:func:`ui.deck.pick_labels`) and the archipelagos named. The interactive
  map's WebGL (MapLibre) took 1.4-1.9 s per PNG in the headless browser; SVG shapes take about
  what a bar chart does.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from . import deck, figures
from .figures import HIGHLIGHT
from .fmt import esc

MAP_DOMAIN = (0.0, 0.86)  # the shapes; the colour bar sits to their right, outside them
COLORBAR_X = 0.885
STEPS = 64  # colour steps of a press map (under one point of the 50-100 scale each)


def choropleth(geojson: dict, cells: pd.DataFrame, indicator: str, lang: str, *, threshold: int = 30,
               highlight: str | None = None, tiles: bool = False, islands: list[dict] | None = None,
               colorbar_title: str = "%") -> go.Figure:
    """The framed map's builder: ``figures.choropleth`` plus the archipelagos (``islands`` from
    :func:`ui.deck.archipelagos`), the legend outside the shapes and the labels' data."""
    fig = figures.choropleth(geojson, cells, indicator, lang, threshold=threshold, highlight=highlight,
                             tiles=tiles, colorbar_title=colorbar_title)
    fig.update_layout(map=dict(domain=dict(x=list(MAP_DOMAIN), y=[0, 1])))
    for tr in fig.data:
        if getattr(tr, "showscale", None) is not False and tr.colorbar is not None:
            tr.colorbar.update(x=COLORBAR_X, xanchor="left")
    if islands:
        fig.add_trace(go.Scattermap(
            lon=[p[0] for a in islands for p in a["points"]], lat=[p[1] for a in islands for p in a["points"]],
            mode="markers", marker=dict(size=6, color="#5b6b7a"), showlegend=False, name="archipelagos",
            hovertext=[esc(a["name"]) for a in islands for _ in a["points"]], hoverinfo="text"))
    if fig.data:
        keep = ["code", "name", "value", "suppressed", "has_data"]
        d = cells[[k for k in keep if k in cells]]
        fig.data[0].meta = {"sipas_map": {
            "lang": lang, "selected": highlight,
            "units": [[str(r.code), str(r.name), None if figures._nan(r.value) else float(r.value),
                       bool(r.suppressed), bool(getattr(r, "has_data", True))] for r in d.itertuples(index=False)],
            "islands": islands or []}}
    return fig


def _merc(lat: float) -> float:
    lat = max(min(lat, 85.0), -85.0)
    return math.degrees(math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)))


def _hex(c) -> str:
    return "#%02x%02x%02x" % tuple(int(v) for v in c[:3])


def _scale_colour(tr, z) -> str:
    """A value's colour on a choroplethmap trace's own scale and bounds."""
    scale = [[float(p), c] for p, c in tr.colorscale]
    lo = tr.zmin if tr.zmin is not None else 0.0
    hi = tr.zmax if tr.zmax is not None else 1.0
    x = 0.0 if hi == lo else min(max((float(z) - lo) / (hi - lo), 0.0), 1.0)
    x = round(x * STEPS) / STEPS  # near values share a path: fewer shapes, no visible difference
    for (p0, c0), (p1, c1) in zip(scale, scale[1:]):
        if x <= p1:
            if not (isinstance(c0, str) and c0.startswith("#") and isinstance(c1, str) and c1.startswith("#")):
                return c0
            f = (x - p0) / (p1 - p0) if p1 > p0 else 0.0
            a, b = deck._hex_rgb(c0), deck._hex_rgb(c1)
            return _hex([a[i] + (b[i] - a[i]) * f for i in range(3)])
    return scale[-1][1]


def _rings(geom) -> list[list]:
    if geom["type"] == "Polygon":
        return list(geom["coordinates"][:1])
    if geom["type"] == "MultiPolygon":
        return [p[0] for p in geom["coordinates"]]
    return []


def _visible_rings(geom, min_extent: float) -> list:
    """A unit's outer rings that an image shows: the ones at least ``min_extent`` degrees across
    (lon, or Mercator lat), and always its largest, so that no unit is left out. A coast's
    specks of islets under a pixel were most of a national map's rings (715 of them for 63
    provinces, 104 left) and most of the browser's time drawing it, and were not to be seen."""
    rings = [r for r in _rings(geom) if len(r) >= 4]
    if len(rings) <= 1:
        return rings
    extents = []
    for r in rings:
        a = np.asarray(r, dtype=float)
        ys = [_merc(float(a[:, 1].min())), _merc(float(a[:, 1].max()))]
        extents.append(max(float(np.ptp(a[:, 0])), ys[1] - ys[0]))
    biggest = int(np.argmax(extents))
    return [r for i, (r, e) in enumerate(zip(rings, extents)) if e >= min_extent or i == biggest]


def _path(rings, tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """x (lon) and y (Mercator) of rings, NaN between them (a gap: plotly starts a new shape),
    simplified to ``tolerance`` degrees. Done for all the rings at once (shapely's and numpy's
    array functions) and handed to plotly as arrays, which it takes without checking each
    number: a national map's press image spent most of its Python time there."""
    import shapely
    rings = [r for r in rings if len(r) >= 4]
    if not rings:
        return np.empty(0), np.empty(0)
    lines = np.array([shapely.LineString(r) for r in rings], dtype=object)
    if tolerance > 0:
        simple = shapely.simplify(lines, tolerance, preserve_topology=False)
        lines = np.where(shapely.get_num_coordinates(simple) >= 4, simple, lines)
    xy = shapely.get_coordinates(lines)
    ends = np.cumsum(shapely.get_num_coordinates(lines))
    lat = np.radians(np.clip(xy[:, 1], -85.0, 85.0))
    ys = np.degrees(np.log(np.tan(np.pi / 4 + lat / 2)))
    return np.insert(np.round(xy[:, 0], 4), ends, np.nan), np.insert(np.round(ys, 4), ends, np.nan)


def press_map(f: go.Figure, width: int, height: int, source: go.Figure | None = None) -> None:
    """Draw the map traces of ``source`` (default: ``f`` itself) into ``f`` (laid out for ``width`` x
    ``height``) as SVG shapes fitted to the plot area, and name the units and the archipelagos.
    ``f`` is changed in place; ``source`` is only read."""
    src = source if source is not None else f
    maps_ = [tr for tr in src.data if tr.type == "choroplethmap"]
    if not maps_:
        return
    meta = next((tr.meta["sipas_map"] for tr in maps_ if isinstance(tr.meta, dict) and "sipas_map" in tr.meta), None)
    feats = {}
    for tr in maps_:
        for ft in (tr.geojson or {}).get("features", []):
            feats[str(ft["id"])] = ft
    islands = (meta or {}).get("islands") or []
    xs = [p[0] for a in islands for p in a["points"] + [a["label_at"]]]
    ys = [p[1] for a in islands for p in a["points"] + [a["label_at"]]]
    x0, y0, x1, y1 = figures._bounds({"features": list(feats.values())})
    x0, x1 = min([x0, *xs]), max([x1, *xs])
    y0, y1 = _merc(min([y0, *ys])), _merc(max([y1, *ys]))
    m = f.layout.margin
    plot_w = (width - (m.l or 0) - (m.r or 0)) * (MAP_DOMAIN[1] - MAP_DOMAIN[0])
    plot_h = height - (m.t or 0) - (m.b or 0)
    scale = min(plot_w / max(x1 - x0, 1e-9), plot_h / max(y1 - y0, 1e-9)) / 1.04  # px per degree
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_w, half_h = plot_w / scale / 2, plot_h / scale / 2
    tolerance = 0.6 / scale  # well under a pixel at 2x

    traces = []
    legend_shown = set()
    for tr in maps_:
        if tr.z is None or tr.locations is None:
            continue
        single = tr.showscale is False
        if single and all(c[1] == "rgba(0,0,0,0)" for c in tr.colorscale):  # the highlight outline
            for code in tr.locations:
                if code in feats:
                    px, py = _path(_rings(feats[code]["geometry"]), tolerance)
                    traces.append(go.Scatter(x=px, y=py, mode="lines", line=dict(color=HIGHLIGHT, width=3),
                                             hoverinfo="skip", showlegend=False))
            continue
        groups: dict[str, list[str]] = {}
        for code, z in zip(tr.locations, tr.z):
            colour = tr.colorscale[0][1] if single else _scale_colour(tr, z)
            groups.setdefault(colour, []).append(code)
        for colour, codes in groups.items():
            px, py = _path([r for code in codes if code in feats
                            for r in _visible_rings(feats[code]["geometry"], 1.0 / scale)], tolerance)
            show = single and tr.name not in legend_shown
            legend_shown.add(tr.name)
            traces.append(go.Scatter(x=px, y=py, mode="lines", fill="toself", fillcolor=colour,
                                     line=dict(color="white", width=0.6), hoverinfo="skip",
                                     name=tr.name, showlegend=show))
        if not single:
            cb = tr.colorbar
            traces.append(go.Scatter(
                x=[cx], y=[cy], mode="markers", hoverinfo="skip", showlegend=False,
                marker=dict(size=0.1, opacity=0, color=[tr.zmin], colorscale=tr.colorscale, cmin=tr.zmin,
                            cmax=tr.zmax, showscale=True,
                            colorbar=dict(title=dict(text=cb.title.text if cb and cb.title else "%"),
                                          thickness=12, len=0.6, x=COLORBAR_X, xanchor="left", y=0.55,
                                          tickformat=".0f"))))
    if islands:
        traces.append(go.Scatter(x=[p[0] for a in islands for p in a["points"]],
                                 y=[_merc(p[1]) for a in islands for p in a["points"]], mode="markers",
                                 marker=dict(size=5, color="#5b6b7a"), hoverinfo="skip", showlegend=False))
    others = [tr for tr in src.data if tr.type not in ("choroplethmap", "scattermap")]
    f.data = []
    f.add_traces([*traces, *others])
    f.update_xaxes(visible=False, range=[cx - half_w, cx + half_w], domain=list(MAP_DOMAIN), fixedrange=True)
    f.update_yaxes(visible=False, range=[cy - half_h, cy + half_h], fixedrange=True)
    f.update_layout(plot_bgcolor="white", map=None)
    f.layout.map = None
    _name_units(f, meta, feats, islands, (cx, cy, scale), plot_w, plot_h)


def _name_units(f, meta, feats, islands, view, plot_w, plot_h) -> None:
    """Annotations naming the units (the same choice as on screen) and the archipelagos."""
    if not meta:
        return
    lang = meta.get("lang", "vi")
    cx, cy, scale = view
    units = pd.DataFrame(meta["units"], columns=["code", "name", "value", "suppressed", "has_data"])
    # pick_labels works in lon/lat with a web-mercator zoom: the same px per degree as this image
    zoom = math.log2(scale * 360 / 512)
    lat_c = math.degrees(2 * math.atan(math.exp(math.radians(cy))) - math.pi / 2)
    points = deck.anchors({"features": list(feats.values())})
    reserved = [{"position": a["label_at"], "text": deck.island_label(a["name"])} for a in islands]
    labels = deck.pick_labels(units, points, (cx, lat_c, zoom), lang, selected=meta.get("selected"),
                              width_px=int(plot_w), height_px=int(plot_h), reserved=reserved)
    notes = [dict(x=lb["position"][0], y=_merc(lb["position"][1]), text=esc(lb["text"]).replace("\n", "<br>"))
             for lb in labels]
    notes += [dict(x=r["position"][0], y=_merc(r["position"][1]), text=esc(r["text"]).replace("\n", "<br>"))
              for r in reserved]
    # one text trace, not annotations: an annotation is a group of its own in the browser, and
    # two dozen of them cost more than the whole map; a white halo keeps the names readable
    f.add_trace(go.Scatter(x=[n["x"] for n in notes], y=[n["y"] for n in notes], text=[n["text"] for n in notes],
                           mode="text", textposition="middle center", hoverinfo="skip", showlegend=False,
                           name="map-labels",
                           textfont=dict(size=11, color="#141414", shadow="0 0 2px #fff, 0 0 2px #fff, 0 0 3px #fff")))


def unit_labels(fig: go.Figure) -> list[str]:
    """The names written on a press map, as plain text (lines joined by a newline)."""
    import html
    return [html.unescape(t.replace("<br>", "\n")) for tr in fig.data if tr.name == "map-labels"
            for t in tr.text]
