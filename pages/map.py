"""Bản đồ / Map: choropleth by district or commune, click to drill down, breadcrumbs, table twin."""
from __future__ import annotations

import logging

import streamlit as st

from pages._common import chart, comparability, downloads, header, notes, run_app
from ui import figures, fmt, maps, views
from ui.state import COUNTRY, ancestors, map_area, units_in_area, vintage_of
from ui.strings import level_label

FILTERS = ("year", "level", "service", "indicator", "map")  # the sidebar's filters on this page


@st.cache_resource(show_spinner=False, max_entries=64)
def _geometry(style: str, vintage: str, level: str, area: str, codes: tuple[str, ...]) -> tuple[dict, str]:
    if style == "boundaries":
        try:
            gj = maps.boundaries_geojson(vintage, level, area, list(codes))
        except Exception:  # noqa: BLE001 - damaged boundary files: the tile map, never a crash
            logging.getLogger("sipas.app").exception("boundaries %s/%s unreadable; tile map instead", vintage, level)
            gj = None
        if gj is not None and gj["features"]:
            return gj, "boundaries"
    return maps.tiles_geojson(list(codes), vintage), "tiles"


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
    # ``key`` stands for the positional arguments: the GeoJSON by what _geometry made it from (shared, read only)
    fig = figures.framed(figures.choropleth, geojson, mc, s.indicator, ctx.lang, threshold=ctx.threshold,
                         highlight=highlight, tiles=(style == "tiles"),
                         key=("geometry", s.map, vintage, s.level, area, tuple(codes), style, mc, s.indicator, ctx.lang),
                         frame=dict(title=ctx.t("map_title", indicator=ind_label, level=level_pl),
                                    subtitle=figures.subtitle(ctx.name(area), s.year, ctx.service_label(s.service),
                                                              ctx.t("n_line", n=fmt.count(total_n, ctx.lang))),
                                    source=ctx.source(), demo=ctx.release.is_demo, lang=ctx.lang, height=620))
    if ctx.controls:
        st.caption(ctx.t("map_click"))
    event = chart(fig, f"map_{s.year}_{area}_{s.level}_{s.service}_{s.indicator}_{style}", primary=True,
                  on_select="rerun", selection_mode="points")
    picked = _picked(event)
    if picked and picked in ctx.offer.units.get(s.year, {}) and picked != s.unit:
        ref = ctx.offer.unit(s.year, picked)
        child = ctx.offer.child_level(s.year, ref.level)
        ctx.go(unit=picked, level=child or ref.level)
    if highlight and ctx.controls:
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
    try:
        points = event.selection.points if event else []
    except AttributeError:
        points = (event or {}).get("selection", {}).get("points", [])
    for p in points or []:
        code = p.get("location") or (p.get("customdata") or [None] * 6)[-1]
        if code:
            return str(code)
    return None


if __name__ == "__main__":  # the file run as the script itself: app.py draws it in its frame
    run_app()
