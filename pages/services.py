"""Dịch vụ / Services: each service's index and criteria across units and years; weakest criteria."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pages._common import chart, comparability, downloads, header, n_label, n_line, notes, run_app
from ui import figures, fmt, queries, views
from ui.state import map_area, units_in_area
from ui.strings import level_label

FILTERS = ("year", "unit", "level", "service")  # the sidebar's filters on this page


def body(ctx) -> None:
    s = ctx.state
    m = ctx.scheme_for()
    place = ctx.name(s.unit)
    header(ctx, ctx.t("sv_title"), place, s.year)
    lvl = None

    # 1. index by service for the chosen area
    by_svc = ctx.read(year=s.year, unit=s.unit, service=None, indicator="sipas", level=lvl, source="computed")
    by_svc = by_svc[by_svc["service"] != "all"]
    if len(by_svc):
        by_svc = by_svc.assign(label=[ctx.service_label(x) for x in by_svc["service"]])
        by_svc = by_svc.sort_values("value", ascending=False)
        fig = figures.framed(
            figures.bar_ci, by_svc["label"].tolist(), by_svc["value"].tolist(), by_svc["ci_low"].tolist(),
            by_svc["ci_high"].tolist(), by_svc["n"].tolist(), ctx.lang, suppressed=by_svc["suppressed"].tolist(),
            frame=dict(title=ctx.t("sv_title"), subtitle=figures.subtitle(place, s.year, n_line(
                ctx, by_svc["n"].sum(), "sipas", "all")), source=ctx.source(),
                demo=ctx.release.is_demo, lang=ctx.lang, wrap=60))
        left, right = st.columns(2)
        with left:
            chart(fig, "sv_bars", primary=True)
        # the unit's own years only (vintage, code): a code reused by the reform is another place
        hist = queries.history(ctx.read, vintage=s.vintage, unit=s.unit, service=None, indicator="sipas")
        hist = hist[hist["basis"] != "restated"]
        hist = hist[(hist["service"] != "all") & ~hist["suppressed"].astype(bool)]
        if len(hist):
            tr = hist.assign(series=[ctx.service_label(x) for x in hist["service"]], restated=False)
            fig = figures.framed(figures.trend, tr, ctx.lang, frame=dict(
                title=ctx.t("sv_trend_title"),
                subtitle=figures.subtitle(place, f"{int(tr.year.min())}–{int(tr.year.max())}"),
                source=ctx.source(), demo=ctx.release.is_demo, lang=ctx.lang, wrap=60))
            with right:
                chart(fig, "sv_trend")
            comparability(ctx, tr["year"])

    # 2. criteria of the chosen service across the units of the area
    area, _ = map_area(ctx.offer, s)
    refs = units_in_area(ctx.offer, s.year, area, s.level)
    codes = [r.code for r in refs]
    items = ctx.read(year=s.year, level=s.level, unit=codes or None, service=s.service, indicator=None)
    items = items[items["indicator"].str.startswith("item:")]
    svc_label = ctx.service_label(s.service)
    if len(items):
        names = {r.code: ctx.name(r.code) for r in refs}
        items = items.assign(value=items["value"].where(~items["suppressed"].astype(bool)))
        mat = items.pivot_table(index="indicator", columns="unit_code", values="value", aggfunc="first")
        order = [f"item:{i.id}" for i in m.items(s.year) if f"item:{i.id}" in mat.index]
        mat = mat.reindex(order)
        col_order = mat.mean().sort_values().index  # weakest units first
        mat = mat[col_order]
        mat.index = [f"{i.split(':', 1)[1]} · {views._label(m, i, ctx.lang)[:34]}" for i in mat.index]
        mat.columns = [names.get(c, c) for c in mat.columns]
        fig = figures.framed(figures.heatmap, mat, ctx.lang, frame=dict(
            title=ctx.t("sv_heat_title", service=svc_label),
            subtitle=figures.subtitle(ctx.name(area), level_label(s.level, ctx.lang, plural=True), s.year,
                                      svc_label,
                                      n_line(ctx, items[items.indicator == items.indicator.iloc[0]]["n"].sum(),
                                             items.indicator.iloc[0], s.service, summed=s.level)),
            source=ctx.source(), demo=ctx.release.is_demo, lang=ctx.lang))
        chart(fig, "sv_heat")

    # 3. weakest criteria for the area, lowest units for the service
    left, right = st.columns(2)
    own = ctx.read(year=s.year, unit=s.unit, service=s.service, indicator=None, level=None, source="computed")
    own = own[own["indicator"].str.startswith("item:") & ~own["suppressed"].astype(bool)]
    with left:
        st.markdown(f"**{ctx.t('sv_weakest')}** · {fmt.md(place)} · {fmt.md(svc_label)}")
        weak = views.label_frame(own.nsmallest(5, "value"), m, ctx.lang)
        st.dataframe(pd.DataFrame({ctx.t("criterion"): weak["label"],
                                   ctx.t("value"): [fmt.num(v, ctx.lang) for v in weak["value"]],
                                   ctx.t("interval"): [fmt.interval(a, b, ctx.lang)
                                                       for a, b in zip(weak.ci_low, weak.ci_high)],
                                   n_label(ctx, "item:"): [fmt.count(n, ctx.lang) for n in weak["n"]]}),
                     hide_index=True, width="stretch")
    cells = ctx.read(year=s.year, level=s.level, unit=codes or None, service=s.service, indicator="sipas")
    with right:
        levels = level_label(s.level, ctx.lang, plural=True, year=s.year)
        st.markdown(f"**{ctx.t('sv_lowest_units', level=levels, service=fmt.md(svc_label))}**")
        mc = views.map_cells(cells, codes, {r.code: ctx.name(r.code) for r in refs})
        low = mc[mc["has_data"] & ~mc["suppressed"]].nsmallest(5, "value")
        st.dataframe(views.table_twin(low.assign(has_data=True), ctx.lang, ctx.threshold).iloc[::-1],
                     hide_index=True, width="stretch")
    if len(items):
        exp = items.merge(pd.DataFrame({"unit_code": list(names), "name": list(names.values())}), on="unit_code",
                          how="left")
        exp = exp.assign(vintage=s.vintage)  # a code names a unit of one vintage only
        downloads(ctx, exp[["year", "vintage", "unit_code", "name", "service", "indicator", "value", "ci_low",
                            "ci_high", "n", "suppressed", "rank"]].reset_index(drop=True), "services", "sv")
    notes(ctx, [])


if __name__ == "__main__":  # the file run as the script itself: app.py draws it in its frame
    run_app()
