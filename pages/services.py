"""Dịch vụ / Services: each service's index and criteria across units and years; weakest criteria."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pages._common import (chart, comparability, downloads, header, n_label, n_line, notes, phone_table,
                           run_app)
from ui import figures, fmt, heatmap, queries, views
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
        _criteria(ctx, m, items, names, area, svc_label)

    # 3. weakest criteria for the area, lowest units for the service
    left, right = st.columns(2)
    own = ctx.read(year=s.year, unit=s.unit, service=s.service, indicator=None, level=None, source="computed")
    own = own[own["indicator"].str.startswith("item:") & ~own["suppressed"].astype(bool)]
    with left:
        st.markdown(f"**{ctx.t('sv_weakest')}** · {fmt.md(place)} · {fmt.md(svc_label)}")
        weak = views.label_frame(own.nsmallest(5, "value"), m, ctx.lang)
        table = pd.DataFrame({ctx.t("criterion"): weak["label"],
                              ctx.t("value"): [fmt.num(v, ctx.lang) for v in weak["value"]],
                              ctx.t("interval"): [fmt.interval(a, b, ctx.lang)
                                                  for a, b in zip(weak.ci_low, weak.ci_high)],
                              n_label(ctx, "item:"): [fmt.count(n, ctx.lang) for n in weak["n"]]})
        st.dataframe(table, hide_index=True, width="stretch", **phone_table(ctx, table, ctx.t("criterion")))
        st.caption(fmt.md(" · ".join([ctx.t("tbl_value_item_key"), ctx.t("tbl_ci_key"),
                                      ctx.t("tbl_n_answers_key")])))
    cells = ctx.read(year=s.year, level=s.level, unit=codes or None, service=s.service, indicator="sipas")
    with right:
        levels = level_label(s.level, ctx.lang, plural=True, year=s.year)
        st.markdown(f"**{ctx.t('sv_lowest_units', level=levels, service=fmt.md(svc_label))}**")
        mc = views.map_cells(cells, codes, {r.code: ctx.name(r.code) for r in refs})
        low = mc[mc["has_data"] & ~mc["suppressed"]].nsmallest(5, "value")
        # lowest first; no code column (it is in the downloads), so the rest fits a phone
        table = pd.DataFrame({
            ctx.t("unit"): low["name"],
            ctx.t("value"): [fmt.num(v, ctx.lang) for v in low["value"]],
            ctx.t("interval"): [fmt.interval(a, b, ctx.lang) for a, b in zip(low["ci_low"], low["ci_high"])],
            ctx.t("n_forms"): [fmt.count(n, ctx.lang) for n in low["n"]],
            ctx.t("rank"): [ctx.t("rank_of", rank=fmt.count(r, ctx.lang), total=fmt.count(tot, ctx.lang))
                            if not pd.isna(r) and (tot or 0) > 1 else "–"
                            for r, tot in zip(low["rank"], low["total"])]})
        parents = set(low["parent_code"].dropna()) if "parent_code" in low else set()
        rank_key = ctx.t("tbl_rank_key", level=levels, parent=ctx.name(next(iter(parents)))) if len(parents) == 1 \
            else ctx.t("tbl_rank_key_same", level=levels)
        st.dataframe(table, hide_index=True, width="stretch", **phone_table(ctx, table, ctx.t("unit")))
        st.caption(fmt.md(" · ".join([ctx.t("tbl_value_key", indicator=ctx.indicator_label("sipas")),
                                      ctx.t("tbl_ci_key"), ctx.t("tbl_n_forms_key"), rank_key])))
    if len(items):
        exp = items.merge(pd.DataFrame({"unit_code": list(names), "name": list(names.values())}), on="unit_code",
                          how="left")
        exp = exp.assign(vintage=s.vintage)  # a code names a unit of one vintage only
        downloads(ctx, exp[["year", "vintage", "unit_code", "name", "service", "indicator", "value", "ci_low",
                            "ci_high", "n", "suppressed", "rank"]].reset_index(drop=True), "services", "sv")
    notes(ctx, [])


def _criteria(ctx, m, items, names: dict, area: str, svc_label: str) -> None:
    """The chosen service's criteria across the area's units: a chart of full-width rows while a
    phone's cell still holds its number (ui/heatmap.py), else a table of the same matrix, with
    the cells coloured on the same scale first; the viewer can switch between the two."""
    s = ctx.state
    held = items.assign(suppressed=items["suppressed"].astype(bool))
    values = held.assign(value=held["value"].where(~held["suppressed"]))
    mat = values.pivot_table(index="indicator", columns="unit_code", values="value", aggfunc="first", dropna=False)
    mask = held.pivot_table(index="indicator", columns="unit_code", values="suppressed", aggfunc="any")
    order = [f"item:{i.id}" for i in m.items(s.year) if f"item:{i.id}" in mat.index]
    mat = mat.reindex(order)
    mat = mat[mat.mean().sort_values().index]  # weakest units first
    mask = mask.reindex(index=mat.index, columns=mat.columns).fillna(False).astype(bool)
    labels = [views._label(m, i, ctx.lang) for i in mat.index]
    # a row's name is the criterion's own; a name given twice keeps its id, so no two rows merge
    rows = [lb if labels.count(lb) == 1 else f"{lb} ({i.split(':', 1)[1]})" for lb, i in zip(labels, mat.index)]
    mat.index = mask.index = rows
    mat.columns = mask.columns = [names.get(c, c) for c in mat.columns]
    first = items.indicator.iloc[0]
    subtitle = figures.subtitle(ctx.name(area), level_label(s.level, ctx.lang, plural=True), s.year, svc_label,
                                n_line(ctx, items[items.indicator == first]["n"].sum(), first, s.service,
                                       summed=s.level))
    title = ctx.t("sv_heat_title", service=svc_label)
    forms = {"chart": ctx.t("sv_form_chart"), "table": ctx.t("sv_form_table")}
    form = "chart" if len(mat.columns) <= heatmap.CHART_MAX_COLUMNS else "table"
    if ctx.controls:
        form = st.segmented_control(ctx.t("sv_form"), list(forms), default=form, key="sv_heat_form",
                                    format_func=forms.__getitem__) or form
    if form == "chart":
        fig = figures.framed(heatmap.criteria_heatmap, mat, ctx.lang, withheld=mask, frame=dict(
            title=title, subtitle=subtitle, source=ctx.source(), demo=ctx.release.is_demo, lang=ctx.lang))
        chart(fig, "sv_heat")
        return
    st.markdown(f"**{fmt.md(title)}** · {fmt.md(subtitle)}")
    lo, hi = (int(x) for x in figures.indicator_range(first))
    texts, css = heatmap.heat_table(mat, ctx.lang, withheld=mask, first=ctx.t("unit"))
    unit_col = ctx.t("unit")
    config = {unit_col: st.column_config.TextColumn(pinned=True, width=130)}
    # numbered headings: criteria that begin alike ("Thông tin về chính sách…") stay apart when
    # shortened; the full name is the heading's help
    for k, crit in enumerate(mat.index):
        config[texts.columns[k + 1]] = st.column_config.TextColumn(
            f"{k + 1}. {heatmap.short(crit, 15)}", help=fmt.md(crit), width=120)
    with st.container(key="sv_heat_table"):  # a keyed box: st.dataframe itself gets no key class
        st.dataframe(texts.style.apply(lambda _: css, axis=None), hide_index=True, width="stretch",
                     column_config=config)
    st.caption(fmt.md(ctx.t("sv_table_note", threshold=ctx.threshold, lo=lo, hi=hi)) + "  \n" + fmt.md(ctx.source()))


if __name__ == "__main__":  # the file run as the script itself: app.py draws it in its frame
    run_app()
