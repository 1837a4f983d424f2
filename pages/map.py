"""Bản đồ / Map: the units of an area on a pydeck map (tap a unit for its card, drill down from the
card), names on the map, a place search, breadcrumbs and the table twin beside it. The same map is
drawn by plotly for the press images."""
from __future__ import annotations

import logging

import streamlit as st

from pages import _press
from pages._common import _text_twin, chart, comparability, downloads, header, n_line, notes, run_app
from ui import deck, figures, fmt, mapfig, maps, views
from ui.state import COUNTRY, ancestors, map_area, units_in_area, vintage_of
from ui.strings import level_label

FILTERS = ("year", "level", "service", "indicator", "map")  # the sidebar's filters on this page
# the canvas the first view is fitted to: a phone's width (the map stacks above the table there);
# a wider screen shows the same view with room around it
MAP_W, MAP_H = 350, 560
# a wide, flat area (a province's communes) fits the width long before the height: its frame is
# cut to what it shows, so a phone does not scroll past a band of empty map above and below it
MAP_MIN_H = 260
MAP_ROOM_H = 60   # above and below the units: their names, the selection ring


@st.cache_resource(show_spinner=False, max_entries=64)
def _geometry(style: str, vintage: str, level: str, area: str, codes: tuple[str, ...]) -> tuple[dict, str]:
    if style == "boundaries":
        try:
            gj = maps.boundaries_geojson(vintage, level, area, list(codes))
        except Exception:  # damaged boundary files: the tile map, never a crash
            logging.getLogger("sipas.app").exception("boundaries %s/%s unreadable; tile map instead", vintage, level)
            gj = None
        if gj is not None and gj["features"]:
            return gj, "boundaries"
    return maps.tiles_geojson(list(codes), vintage), "tiles"


@st.cache_resource(show_spinner=False, max_entries=64)
def _deck_geometry(style: str, vintage: str, level: str, area: str, codes: tuple[str, ...], zoom_to: str | None):
    """(archipelagos, first view, label anchors, the map's height) of a view, made once per view and
    shared."""
    geojson, style_made = _geometry(style, vintage, level, area, codes)
    points = deck.anchors(geojson)
    islands = []
    if area == COUNTRY and level == "province":
        if style_made == "tiles":
            feats = geojson["features"]
            step = _tile_step(feats)
            islands = deck.archipelagos("vi", {c: (x, y) for c, (x, y, _) in points.items()}, step)
        else:
            islands = deck.archipelagos("vi")
    extra = {"type": "FeatureCollection", "features": [
        {"id": a["key"], "geometry": {"type": "MultiPoint", "coordinates": a["points"] + [a["label_at"]]}}
        for a in islands]}
    target = geojson
    if zoom_to is not None:
        target = {"features": [f for f in geojson["features"] if str(f["id"]) == zoom_to]} or geojson
    lon, lat, zoom = figures._view({"features": target["features"] + extra["features"]}, MAP_W, MAP_H - 40)
    if islands and zoom_to is None:  # fitted again so that the archipelagos' names are whole
        names = {"id": "names", "geometry": {"type": "MultiPoint", "coordinates": deck.label_extent(islands, zoom)}}
        lon, lat, zoom = figures._view({"features": target["features"] + extra["features"] + [names]},
                                       MAP_W, MAP_H - 40)
    if zoom_to is not None:
        zoom = max(zoom - 1.2, 0)  # the unit with its neighbours around it
        return islands, (lon, lat, zoom), points, MAP_H
    shown = {"features": geojson["features"] + extra["features"]}
    return islands, (lon, lat, zoom), points, deck.fitted_height(shown, zoom, lowest=MAP_MIN_H, highest=MAP_H,
                                                                    room=MAP_ROOM_H)


def _tile_step(features) -> float:
    """The distance between two neighbouring tile centres (hexagons of one size)."""
    if not features:
        return 1.0
    ring = features[0]["geometry"]["coordinates"][0]
    xs = [p[0] for p in ring]
    return max(xs) - min(xs)


@st.cache_data(show_spinner=False, max_entries=8)
def _registry_units(vintage: str, level: str) -> dict[str, str]:
    import geo
    u = geo.units(vintage)
    u = u[u["level"] == level]
    return dict(zip(u["code"], u["name"]))


def body(ctx) -> None:
    s = ctx.state
    area, highlight = map_area(ctx.offer, s)
    vintage = vintage_of(s.year)
    ind_label = ctx.indicator_label(s.indicator)
    level_pl = level_label(s.level, ctx.lang, plural=True)
    header(ctx, ind_label, ctx.name(area), s.year)

    # breadcrumbs: nationwide > province > district (> selected commune); none in presentation mode
    chain = ancestors(ctx.offer, s.year, s.unit)
    if ctx.controls:
        crumbs = st.columns(max(len(chain), 1) + 2)
        crumbs[0].caption(ctx.t("breadcrumb"))
        for i, ref in enumerate(chain):
            label = fmt.md(ctx.name(ref.code))
            if ref.code == s.unit and ref.code == area:
                crumbs[i + 1].button(label, key=f"crumb_{ref.code}", disabled=True, width="stretch")
            elif crumbs[i + 1].button(label, key=f"crumb_{ref.code}", width="stretch", icon=":material/north_west:"):
                ctx.go(unit=ref.code, level=ctx.offer.child_level(s.year, ref.level) or ref.level)

    if ctx.controls:
        st.text_input(ctx.t("map_find"), key="map_q", placeholder="hong ngu", icon=":material/search:")
        _find(ctx)
    refs = units_in_area(ctx.offer, s.year, area, s.level)
    names = {r.code: r.name for r in refs}
    if area == COUNTRY and s.level in ("province", "district"):
        registry = _registry_units(vintage, s.level)
        codes = sorted(set(registry) | set(names))
        names = {**registry, **names}
        cells = ctx.read(year=s.year, level=s.level, service=s.service, indicator=s.indicator)
    else:
        codes = [r.code for r in refs]
        cells = ctx.read(year=s.year, level=s.level, unit=codes or None, service=s.service, indicator=s.indicator)
    if not codes:
        st.info(ctx.t("map_no_units"))
        return
    mc = views.map_cells(cells, codes, names)
    geojson, style = _geometry(s.map, vintage, s.level, area, tuple(codes))
    if s.map == "boundaries" and style != "boundaries":
        st.info(ctx.t("notice_map"), icon=":material/info:")
    # the area's own n (its answers, withheld units' included); nationwide, the units' sum
    own = ctx.read(year=s.year, level=None, unit=[area], service=s.service, indicator=s.indicator,
                   source="computed", restated=False) if area != COUNTRY else None
    own = own[own["n"].notna()] if own is not None else None
    total_n = own["n"].iloc[0] if own is not None and len(own) else mc.loc[mc["has_data"], "n"].sum()
    # what the n counts: the area's own forms, or (nationwide, or no own cell) the shown units' sum
    area_ref = ctx.offer.unit(s.year, area)
    summed = None if own is not None and len(own) else s.level
    n_text = n_line(ctx, total_n, s.indicator, s.service, level=area_ref.level if area_ref else None, summed=summed)
    # ``key`` stands for the positional arguments: the GeoJSON by what _geometry made it from (shared, read only)
    deck_key = f"deck_{s.year}_{area}_{s.level}_{style}"
    zoom_to = highlight if highlight and st.session_state.get("map_zoom") == highlight else None
    islands, view, points, map_h = _deck_geometry(style, vintage, s.level, area, tuple(codes), zoom_to)
    islands = [{**a, "name": ctx.t(f"archipelago_{a['key']}")} for a in islands]
    fig = figures.framed(mapfig.choropleth, geojson, mc, s.indicator, ctx.lang, threshold=ctx.threshold,
                         highlight=highlight, tiles=(style == "tiles"), islands=islands,
                         key=("geometry", s.map, vintage, s.level, area, tuple(codes), style, mc, s.indicator,
                              ctx.lang),
                         frame=dict(title=ctx.t("map_title", indicator=ind_label, level=level_pl),
                                    subtitle=figures.subtitle(ctx.name(area), s.year, ctx.service_label(s.service),
                                                              n_text),
                                    source=ctx.source(), demo=ctx.release.is_demo, lang=ctx.lang, height=620))
    if ctx.state.mode == "embed":
        chart(fig, f"map_{s.year}_{area}_{s.level}_{s.service}_{s.indicator}_{style}", primary=True)
        return
    ctx.figures.append((f"map_{s.year}_{area}_{s.level}_{s.service}_{s.indicator}_{style}", fig))
    parents = {c: ctx.name(area) for c in codes} if area != COUNTRY else {}
    spec = deck.deck(geojson, mc, s.indicator, ctx.lang, view=view, threshold=ctx.threshold, highlight=highlight,
                     selected=_picked(st.session_state.get(deck_key)), parents=parents,
                     peers=level_label(s.level, ctx.lang, plural=True, year=s.year),
                     islands=islands,
                     basemap=deck.basemap_setting() if style == "boundaries" else None,
                     width_px=MAP_W, height_px=map_h, points=points, tiles=(style == "tiles"))
    left, right = st.columns([3, 2], gap="medium")
    with left:
        if ctx.controls:
            st.caption(ctx.t("map_tap"))
        event = st.pydeck_chart(spec, key=deck_key, height=map_h,
                                on_select="rerun", selection_mode="single-object", width="stretch")
        lo, hi = figures.indicator_range(s.indicator)
        st.caption(ctx.t("map_legend", lo=fmt.num(lo, ctx.lang, 0), hi=fmt.num(hi, ctx.lang, 0)))
        _text_twin(fig, ctx.lang, "map")
        if ctx.controls:
            _press.image_menu(ctx, fig, "map")
    picked = _picked(event)
    with right:
        if picked and picked in set(mc["code"]):
            _card(ctx, mc[mc["code"] == picked].iloc[0], area)
        elif highlight and ctx.controls:
            st.page_link(ctx.links["locality"], label=fmt.md(ctx.t("open_profile", name=ctx.name(highlight))),
                         icon=":material/location_on:", query_params={**st.query_params.to_dict()})
        st.markdown(f"**{ctx.t('map_table')}**")
        st.dataframe(views.table_twin(mc, ctx.lang, ctx.threshold), hide_index=True, width="stretch")
    downloads(ctx, views.export_frame(mc, {"release": ctx.release.id, "year": s.year, "area": area,
                                           "level": s.level, "service": s.service, "indicator": s.indicator}),
              "map", "map")
    comparability(ctx, [s.year])
    notes(ctx, [])


def _picked(event) -> str | None:
    """The code of the unit tapped on the map (pydeck's selection of the units layer), or None."""
    try:
        objects = (event or {}).get("selection", {}).get("objects", {})
    except AttributeError:
        return None
    for obj in (objects or {}).get(deck.UNITS_LAYER, []) or []:
        code = (obj.get("properties") or {}).get("code") if isinstance(obj, dict) else None
        if code:
            return str(code)
    return None


def _card(ctx, row, area: str) -> None:
    """The tapped unit's card: value, interval, n, rank, and the two ways on (no hover needed)."""
    s = ctx.state
    with st.container(border=True):
        st.markdown(f"**{fmt.md(row['name'])}**" + (f" · {fmt.md(ctx.name(area))}" if area != COUNTRY else ""))
        if not bool(row["has_data"]):
            st.caption(ctx.t("no_data_class"))
        elif bool(row["suppressed"]):
            st.caption(fmt.md(ctx.t("suppressed", threshold=ctx.threshold)))
        else:
            a, b = st.columns(2)
            a.metric(ctx.t("hover_value"), fmt.pct(row["value"], ctx.lang))
            # the rank says among what (the unit's parent), and a unit alone under its parent has none
            ref = ctx.offer.unit(s.year, row["code"])
            ranked = not figures._nan(row["rank"]) and not figures._nan(row["total"]) and int(row["total"]) > 1
            rank = ctx.t("rank_of", rank=fmt.count(row["rank"], ctx.lang), total=fmt.count(row["total"], ctx.lang)) \
                if ranked else "–"
            among = ctx.t("rank_among", rank=fmt.count(row["rank"], ctx.lang), total=fmt.count(row["total"], ctx.lang),
                          level=level_label(s.level, ctx.lang, plural=True, year=s.year),
                          parent=ctx.name(ref.parent)) if ranked and ref is not None and ref.parent else None
            b.metric(ctx.t("map_card_rank"), rank, help=fmt.md(among) if among else None)
            if among:
                st.caption(fmt.md(among))
            st.caption(f"{ctx.t('hover_ci')}: {fmt.interval(row['ci_low'], row['ci_high'], ctx.lang)} · "
                       f"n = {fmt.count(row['n'], ctx.lang)}")
        if not ctx.controls:
            return
        ref = ctx.offer.unit(s.year, row["code"])
        child = ctx.offer.child_level(s.year, ref.level) if ref is not None else None
        if child and st.button(fmt.md(ctx.t("map_drill", level=level_label(child, ctx.lang, plural=True, year=s.year),
                                            name=row["name"])),
                               key=f"drill_{row['code']}", icon=":material/zoom_in:", width="stretch", type="primary"):
            ctx.go(unit=row["code"], level=child)
        if ref is not None:
            params = {**st.query_params.to_dict(), "unit": row["code"]}
            params.pop("level", None)
            st.page_link(ctx.links["locality"], label=fmt.md(ctx.t("open_profile", name=row["name"])),
                         icon=":material/location_on:", query_params=params)


def _find(ctx) -> None:
    """The "find a place" box: the best match among the year's units zooms the map to it, highlighted."""
    q = (st.session_state.get("map_q") or "").strip()
    if not q:
        return
    import geo
    s = ctx.state
    present = ctx.offer.units.get(s.year, {})
    hits = [c for c in geo.search(q, vintage_of(s.year), limit=40)["code"] if c in present and c != COUNTRY]
    if not hits:
        st.info(fmt.md(ctx.t("map_find_none", q=q, year=s.year)))
        return
    code = hits[0]
    if st.session_state.get("map_found") == (q, s.year):
        return  # already shown; the box keeps its text
    st.session_state["map_found"] = (q, s.year)
    st.session_state["map_zoom"] = code
    ctx.go(unit=code, level=present[code].level)


if __name__ == "__main__":  # the file run as the script itself: app.py draws it in its frame
    run_app()
