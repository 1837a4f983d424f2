"""The interactive map as a pydeck (deck.gl) spec: pure builders, no Streamlit.

* :func:`deck` draws the units (installed boundaries or hexagon tiles) on the fixed colour scale,
  their names (:func:`pick_labels`, never overlapping), the Hoàng Sa and Trường Sa archipelagos on
  every national map (:func:`archipelagos`), a plain-text tooltip in the page's language and,
  only when the deployment chose one, a base map (:func:`basemap_setting`).
* Nothing is fetched from a third-party host by default: deck.gl's own default base map (Carto)
  is switched off by ``map_provider=None`` with pydeck's style sentinel, which Streamlit's
  frontend reads as "no base map" (``map_style=None`` would make it pick Carto's style).
* Tooltips are ``text`` tooltips: the browser sets them with ``innerText``, so a name from a data
  file can never become markup.
* Few kinds of layer: each kind deck.gl draws is a WebGL program the browser compiles before the
  first frame, seconds on a phone's or a headless browser's software GL. A tile map is one
  filled layer (the tiles drawn a little smaller than their cells, so white gaps part them, and
  the highlighted tile's outline a filled ring), the archipelagos' dots are small filled polygons
  in that same kind of layer, and the labels one text layer whose white halo is part of its
  glyphs (no background boxes); only installed boundaries are stroked (neighbours of one colour
  need their common border).
"""
from __future__ import annotations

import json
import logging
import math
import os
from collections import Counter
from functools import lru_cache

import pandas as pd
import pydeck as pdk

from . import fmt
from .figures import HIGHLIGHT, NO_DATA_COLOUR, SCALE, SUPPRESSED_COLOUR, _bounds, indicator_range, mercator_y
from .strings import t

log = logging.getLogger("sipas.map")

#: The deployment's base map: unset or ``off`` for none, ``light`` for a public light base map that
#: needs no token, or the agency's own tile server (an ``{z}/{x}/{y}`` raster URL or a style URL).
BASEMAP_ENV = "SIPAS_BASEMAP"
LIGHT_STYLE = "https://basemaps.cartocdn.com/gl/positron-gl-style/style.json"
NO_BASEMAP = "__MAP_STYLE__"  # pydeck's sentinel; Streamlit's frontend then draws no base map
UNITS_LAYER = "units"
#: every unit is named when there are at most this many; otherwise a chosen few
ALL_LABELS = 40
EXTREMES = 3  # the highest and the lowest few are named
CHAR_PX = 6.6  # 12 px Noto Sans, mean advance of a Vietnamese name
LINE_PX = 15
#: a tile is drawn at this fraction of its cell (the rest is the white gap between tiles); the
#: highlighted tile's ring runs from the cell's edge to HIGHLIGHT_INNER of it
TILE_FILL = 0.9
HIGHLIGHT_INNER = 0.74
#: labels' glyph atlas as signed distance fields, so that a white halo keeps a name readable on
#: any colour (``outline_width`` is in the atlas' units: 10 of a 16 px distance radius)
LABEL_FONT = {"sdf": True, "buffer": 10, "radius": 16}
LABEL_HALO = 10
DOT_PX = 3.0  # an archipelago's dot: its radius on screen at the first view, px

#: Representative islands of the two archipelagos (lon, lat): Hoàng Sa of Đà Nẵng, Trường Sa of
#: Khánh Hòa (the same codes in both vintages).
ARCHIPELAGOS = {
    "hoang_sa": {"province": "48", "points": [(111.61, 16.53), (112.34, 16.83), (111.20, 15.78), (112.73, 16.45)],
                 "label_at": (111.95, 17.25)},
    "truong_sa": {"province": "56", "points": [(111.92, 8.64), (114.33, 11.43), (114.36, 10.18), (114.28, 9.88),
                                               (112.91, 7.89), (115.83, 10.72)],
                  "label_at": (113.9, 12.15)},
}


class CompactDeck(pdk.Deck):
    """A Deck whose JSON has no indentation: pydeck indents by two spaces, which for a map's
    coordinates (one number a line) more than doubled the bytes sent to the browser."""

    def to_json(self) -> str:
        from pydeck.bindings.json_tools import default_serialize
        return json.dumps(self, sort_keys=True, default=default_serialize, separators=(",", ":"))


def basemap_setting(env: dict | None = None) -> dict | None:
    """The base map the deployment chose (``SIPAS_BASEMAP``): None (the default), or
    ``{"kind": "style", "url": ...}`` / ``{"kind": "raster", "url": ...}``."""
    raw = ((env if env is not None else os.environ).get(BASEMAP_ENV) or "").strip()
    if raw.lower() in ("", "off", "none", "0", "false", "no"):
        return None
    if raw.lower() == "light":
        return {"kind": "style", "url": LIGHT_STYLE}
    if raw.startswith(("https://", "http://")):
        kind = "raster" if "{z}" in raw else "style"
        return {"kind": kind, "url": raw}
    log.warning("%s=%r is not off, light or an http(s) URL: no base map", BASEMAP_ENV, raw)
    return None


def _map_style(basemap: dict | None):
    if basemap is None:
        return NO_BASEMAP
    if basemap["kind"] == "style":
        return basemap["url"]
    return {"version": 8, "sources": {"agency": {"type": "raster", "tiles": [basemap["url"]], "tileSize": 256}},
            "layers": [{"id": "agency", "type": "raster", "source": "agency"}]}


@lru_cache(maxsize=64)
def _rgb(h: str) -> tuple[int, int, int]:
    h = h.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def _hex_rgb(h: str) -> list[int]:
    return list(_rgb(h))


def colour(value, indicator: str) -> list[int]:
    """RGBA of ``value`` on the fixed scale of ``indicator`` (as the plotly map and the legend)."""
    lo, hi = indicator_range(indicator)
    x = min(max((float(value) - lo) / (hi - lo), 0.0), 1.0)
    for (p0, c0), (p1, c1) in zip(SCALE, SCALE[1:]):
        if x <= p1:
            f = (x - p0) / (p1 - p0) if p1 > p0 else 0.0
            a, b = _hex_rgb(c0), _hex_rgb(c1)
            return [round(a[i] + (b[i] - a[i]) * f) for i in range(3)] + [235]
    return _hex_rgb(SCALE[-1][1]) + [235]


def _nan(x) -> bool:
    try:
        return x is None or math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def tooltip_text(row, lang: str, threshold: int, parent: str | None = None, peers: str | None = None) -> str:
    """Plain text: name with parent, value, interval, n, rank (never markup). The rank says among
    what ("3/12 xã/phường/thị trấn của Huyện Tam Nông") when the peers' level name and the parent
    are known; a unit alone under its parent has no rank."""
    name = str(row.name) + (f" · {parent}" if parent else "")
    if getattr(row, "has_data", True) is False:
        return f"{name}\n{t('no_data_class', lang)}"
    if bool(row.suppressed):
        return f"{name}\n{t('suppressed', lang, threshold=threshold)}"
    lines = [name, f"{t('hover_value', lang)}: {fmt.pct(row.value, lang)}",
             f"{t('hover_ci', lang)}: {fmt.interval(row.ci_low, row.ci_high, lang)}",
             f"n = {fmt.count(row.n, lang)}"]
    if not _nan(row.rank) and not _nan(row.total) and int(row.total) > 1:
        rank, total = fmt.count(row.rank, lang), fmt.count(row.total, lang)
        among = (t("rank_among", lang, rank=rank, total=total, level=peers, parent=parent) if peers and parent
                 else t("rank_of", lang, rank=rank, total=total))
        lines.append(f"{t('hover_rank', lang)}: {among}")
    return "\n".join(lines)


def _walk(coords, xs, ys):
    if coords and isinstance(coords[0], (int, float)):
        xs.append(coords[0])
        ys.append(coords[1])
    else:
        for c in coords:
            _walk(c, xs, ys)


def _largest_ring(geom) -> list:
    polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
    best, area = None, -1.0
    for p in polys:
        ring = p[0]
        a = abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:]))) / 2
        if a > area:
            best, area = ring, a
    return best or []


def anchors(geojson: dict) -> dict[str, tuple[float, float, float]]:
    """code -> (lon, lat, area in square degrees): a label point inside each unit's largest part
    (shapely's point on surface, so a crescent-shaped unit is labelled on itself)."""
    import shapely
    out = {}
    for f in geojson.get("features", []):
        ring = _largest_ring(f["geometry"])
        if len(ring) < 4:
            continue
        poly = shapely.Polygon(ring)
        if not poly.is_valid:
            poly = poly.buffer(0)
        p = poly.point_on_surface() if not poly.is_empty else shapely.Point(ring[0])
        out[str(f["id"])] = (float(p.x), float(p.y), float(poly.area))
    return out


def _short(name: str) -> str:
    """The name without its type word ("Thành phố Hồng Ngự" -> "Hồng Ngự"), for a map label."""
    for prefix in ("Thành phố ", "Thị xã ", "Huyện ", "Quận ", "Tỉnh ", "Thị trấn ", "Phường ", "Xã ", "Đặc khu "):
        if name.startswith(prefix) and len(name) > len(prefix):
            rest = name[len(prefix):]
            # "Phường 1": a bare number needs its type word to mean anything
            return name if rest.split(" ")[0].isdigit() else rest
    return name


def pick_labels(cells: pd.DataFrame, points: dict, view: tuple[float, float, float], lang: str, *,
                selected: str | None = None, width_px: int = 900, height_px: int = 560,
                max_all: int = ALL_LABELS, reserved: list[dict] | None = None) -> list[dict]:
    """The units to name and where: all of them when there are at most ``max_all``, otherwise the
    selected one, the highest and lowest few, then the larger ones; a label whose box would touch
    one already placed is left out (so labels never overlap). A label is the short name, with the
    value on a second line where the unit is big enough on screen to hold it.

    ``reserved``: labels drawn whatever happens (position, text: the archipelagos' names); units'
    labels keep clear of them.

    Returns dicts code, position [lon, lat], text, box (x0, y0, x1, y1 in screen px)."""
    lon_c, lat_c, zoom = view
    scale = 512 * 2 ** zoom / 360.0  # px per degree of longitude at this zoom

    def merc(y):
        return math.degrees(math.log(math.tan(math.pi / 4 + math.radians(max(min(y, 85), -85)) / 2)))

    def screen(lon, lat):
        return (width_px / 2 + (lon - lon_c) * scale, height_px / 2 - (merc(lat) - merc(lat_c)) * scale)

    d = cells[cells["code"].isin(list(points))].copy()
    if d.empty:
        return []
    d["area"] = [points[c][2] for c in d["code"]]
    valued = d[d["has_data"].astype(bool) & ~d["suppressed"].astype(bool) & d["value"].notna()]
    order: list[str] = []
    if selected in set(d["code"]):
        order.append(selected)
    if len(d) > max_all and len(valued):
        ranked = valued.sort_values(["value", "code"], ascending=[False, True])["code"].tolist()
        order += ranked[:EXTREMES] + ranked[::-1][:EXTREMES]
    order += d.sort_values(["area", "code"], ascending=[False, True])["code"].tolist()
    # the short name, unless two units would read the same ("Huyện Cao Lãnh", "Thành phố Cao Lãnh")
    shorts = {c: _short(str(n)) for c, n in zip(d["code"], d["name"])}
    taken = Counter(shorts.values())
    label_of = {c: (sn if taken[sn] == 1 else str(n)) for (c, sn), n in zip(shorts.items(), d["name"])}
    seen, placed, out = set(), [], []
    for lb in reserved or []:
        x, y = screen(*lb["position"])
        lines = lb["text"].split("\n")
        w, h = max(len(t) for t in lines) * CHAR_PX + 4, LINE_PX * len(lines) + 2
        placed.append((x - w / 2, y - h / 2, x + w / 2, y + h / 2))
    values = dict(zip(valued["code"], valued["value"]))
    for code in order:
        if code in seen:
            continue
        seen.add(code)
        lon, lat, area = points[code]
        x, y = screen(lon, lat)
        name = label_of[code]
        side = math.sqrt(max(area, 0.0)) * scale  # the unit's size on screen, px
        value = fmt.num(values[code], lang, 1) if code in values else None
        lines = [name] + ([value] if value and side > max(len(name) * CHAR_PX * 0.8, 34) else [])
        w = max(len(s) for s in lines) * CHAR_PX + 4
        h = LINE_PX * len(lines) + 2
        box = (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
        if box[0] < 0 or box[2] > width_px or box[1] < 0 or box[3] > height_px:
            continue
        if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
            continue
        placed.append(box)
        out.append({"code": code, "position": [round(lon, 4), round(lat, 4)], "text": "\n".join(lines),
                    "box": [round(v, 1) for v in box]})
    return out


def archipelagos(lang: str, tile_positions: dict[str, tuple[float, float]] | None = None,
                 tile_step: float = 1.0) -> list[dict]:
    """The Hoàng Sa and Trường Sa archipelagos for a national map: name (with their province),
    marker points and the label's anchor. On a tile map (``tile_positions``: province code ->
    tile centre) they sit a few tiles east of their province's tile."""
    out = []
    for key, a in ARCHIPELAGOS.items():
        label = t(f"archipelago_{key}", lang)
        if tile_positions is None:
            pts, at = a["points"], a["label_at"]
        else:
            if a["province"] not in tile_positions:
                continue
            x, y = tile_positions[a["province"]]
            cx, cy = x + 3.2 * tile_step, y - (0.0 if key == "hoang_sa" else 0.6 * tile_step)
            pts = [(cx + dx * tile_step, cy + dy * tile_step) for dx, dy in ((0, 0), (0.35, 0.25), (-0.3, 0.3))]
            at = (cx, cy + 1.9 * tile_step)  # above the dots: the name is two lines tall
        out.append({"key": key, "name": label, "points": [list(p) for p in pts], "label_at": list(at)})
    return out


def island_label(name: str) -> str:
    """An archipelago's name on two lines ("Quần đảo Trường Sa" / "(Khánh Hòa)"): narrow enough to
    stay on a phone's map beside the islands."""
    return name.replace(" (", "\n(", 1)


def label_extent(islands: list[dict], zoom: float) -> list[list[float]]:
    """The corners (lon, lat) of the archipelagos' names at ``zoom``, so that a view fitted to them
    shows the names whole, not only their anchors."""
    scale = 512 * 2 ** zoom / 360.0
    out = []
    for a in islands:
        lines = island_label(a["name"]).split("\n")
        half = (max(len(t) for t in lines) * CHAR_PX / 2 + 6) / scale
        x, y = a["label_at"]
        out += [[x - half, y], [x + half, y]]
    return out


def fitted_height(geojson: dict, zoom: float, *, lowest: int, highest: int, room: int) -> int:
    """The height in pixels of a map whose first view (at ``zoom``) shows ``geojson``: the
    features' own height on screen, plus ``room`` for their names, between ``lowest`` and
    ``highest``."""
    _, y0, _, y1 = _bounds(geojson)
    shown = (mercator_y(y1) - mercator_y(y0)) / (2 * math.pi) * 512 * 2 ** zoom
    return int(min(max(math.ceil(shown) + room, lowest), highest))


def _scaled(ring, f: float) -> list[list[float]]:
    """``ring`` (closed) scaled by ``f`` about the mean of its vertices (a hexagon's centre)."""
    pts = ring[:-1] if len(ring) > 1 and list(ring[0]) == list(ring[-1]) else ring
    cx = sum(p[0] for p in pts) / len(pts)
    cy = sum(p[1] for p in pts) / len(pts)
    out = [[round(cx + (p[0] - cx) * f, 3), round(cy + (p[1] - cy) * f, 3)] for p in pts]  # as tiles_geojson
    return out + [out[0]]


def _tile(geom: dict, f: float) -> dict:
    """A tile's hexagon drawn at ``f`` of its cell."""
    return {"type": "Polygon", "coordinates": [_scaled(geom["coordinates"][0], f)]}


def _ring(geom: dict) -> dict:
    """The highlighted tile's outline as a filled ring: the cell's edge in, to HIGHLIGHT_INNER."""
    outer = _scaled(geom["coordinates"][0], 1.0)
    inner = _scaled(geom["coordinates"][0], HIGHLIGHT_INNER)[::-1]  # a hole winds the other way
    return {"type": "Polygon", "coordinates": [outer, inner]}


def _dot(lon: float, lat: float, radius_deg: float, sides: int = 12) -> dict:
    """A round dot as a polygon, ``radius_deg`` of longitude wide (narrowed in latitude by the
    Mercator scale, so that it is round on screen)."""
    ry = radius_deg * math.cos(math.radians(lat))
    ring = [[round(lon + radius_deg * math.cos(2 * math.pi * k / sides), 4),
             round(lat + ry * math.sin(2 * math.pi * k / sides), 4)] for k in range(sides)]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def deck(geojson: dict, cells: pd.DataFrame, indicator: str, lang: str, *, view: tuple[float, float, float],
         threshold: int = 30, highlight: str | None = None, selected: str | None = None,
         parents: dict[str, str] | None = None, peers: str | None = None, islands: list[dict] | None = None,
         basemap: dict | None = None, width_px: int = 900, height_px: int = 560,
         points: dict | None = None, tiles: bool = False) -> pdk.Deck:
    """The pydeck map of ``cells`` (code, name, value, ci_low, ci_high, n, rank, total, suppressed,
    has_data) on ``geojson`` (feature id = code), centred on ``view`` (lon, lat, zoom).

    Layers: ``units`` (pickable, one feature per unit, its colour and tooltip in its properties),
    the highlighted unit's outline, the archipelagos when given, and the labels. ``tiles``: the
    features are hexagon tiles (geo/tiles.py), drawn with gaps instead of strokes."""
    rows = {r.code: r for r in cells.itertuples(index=False)}
    feats, shapes = [], {}
    for f in geojson.get("features", []):
        code = str(f["id"])
        r = rows.get(code)
        if r is None:
            continue
        if getattr(r, "has_data", True) is False:
            fill = _hex_rgb(NO_DATA_COLOUR) + [255]
        elif bool(r.suppressed) or _nan(r.value):
            fill = _hex_rgb(SUPPRESSED_COLOUR) + [255]
        else:
            fill = colour(r.value, indicator)
        tip = tooltip_text(r, lang, threshold, (parents or {}).get(code), peers)
        shapes[code] = f["geometry"]
        feats.append({"type": "Feature", "geometry": _tile(f["geometry"], TILE_FILL) if tiles else f["geometry"],
                      "properties": {"code": code, "fill": fill, "tip": tip}})
    layers = [pdk.Layer("GeoJsonLayer", id=UNITS_LAYER, data={"type": "FeatureCollection", "features": feats},
                        pickable=True, stroked=not tiles, filled=True, get_fill_color="properties.fill",
                        get_line_color=[255, 255, 255, 255], line_width_min_pixels=0.7, auto_highlight=True,
                        highlight_color=[217, 95, 2, 90])]
    if highlight is not None and highlight in shapes:
        if tiles:  # a filled ring: the units' own kind of layer, no stroke to compile
            layers.append(pdk.Layer("GeoJsonLayer", id="highlight", data={"type": "FeatureCollection", "features": [
                {"type": "Feature", "geometry": _ring(shapes[highlight]), "properties": {}}]},
                pickable=False, stroked=False, filled=True, get_fill_color=_hex_rgb(HIGHLIGHT) + [255]))
        else:
            layers.append(pdk.Layer("GeoJsonLayer", id="highlight", data={"type": "FeatureCollection", "features": [
                {"type": "Feature", "geometry": shapes[highlight], "properties": {}}]},
                pickable=False, stroked=True, filled=False, get_line_color=_hex_rgb(HIGHLIGHT) + [255],
                line_width_min_pixels=3))
    texts = []
    reserved = [{"position": a["label_at"], "text": island_label(a["name"])} for a in islands or []]
    if points is not None:
        for lb in pick_labels(cells, points, view, lang, selected=selected or highlight, width_px=width_px,
                              height_px=height_px, reserved=reserved):
            texts.append({"position": lb["position"], "text": lb["text"], "size": 12})
    lon, lat, zoom = view
    if islands:
        radius = DOT_PX / (512 * 2 ** zoom / 360.0)  # degrees of longitude at the first view's zoom
        dots = [{"type": "Feature", "geometry": _dot(p[0], p[1], radius), "properties": {"name": a["name"]}}
                for a in islands for p in a["points"]]
        layers.append(pdk.Layer("GeoJsonLayer", id="archipelagos", data={"type": "FeatureCollection",
                                                                         "features": dots},
                                pickable=False, stroked=False, filled=True,
                                get_fill_color=_hex_rgb("#5b6b7a") + [255]))
        texts += [{"position": r["position"], "text": r["text"], "size": 12} for r in reserved]
    if texts:
        # constants are quoted: pydeck turns a bare string into an accessor expression
        layers.append(pdk.Layer("TextLayer", id="labels", data=texts, pickable=False, get_position="position",
                                get_text="text", get_size="size", size_units="'pixels'",
                                get_color=[20, 20, 20, 255], font_family='"Noto Sans, Arial, sans-serif"',
                                character_set="'auto'", line_height=1.1,
                                # a white halo drawn by the glyphs' own program (signed distance
                                # fields), not a background box: one program fewer to compile
                                font_settings=LABEL_FONT, outline_width=LABEL_HALO,
                                outline_color=[255, 255, 255, 235]))
    d = CompactDeck(layers=layers, map_provider=None if basemap is None else "carto",
                    initial_view_state=pdk.ViewState(longitude=lon, latitude=lat, zoom=zoom, pitch=0, bearing=0),
                    tooltip={"text": "{tip}", "style": {"fontSize": "13px", "whiteSpace": "pre-line"}})
    d.map_style = _map_style(basemap)
    return d
