"""Tổng quan / Overview: headline index, elements, change, best and worst units, national average."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pages._common import (change_lines, chart, comparability, downloads, header, markdown_table, n_label, n_line,
                           notes, run_app)
from sipas_data import calendar
from ui import figures, fmt, queries, views
from ui.state import COUNTRY, map_area, units_in_area
from ui.strings import level_label

FILTERS = ("year", "unit", "level", "service", "indicator")  # the sidebar's filters on this page


def previous_cell(ctx, year: int, unit: str, service: str, indicator: str):
    """The same cell one year earlier and whether it is restated (on the new units, across a
    boundary reform): see ui.queries.previous, which the page asks for what each year covers."""
    prev = queries.previous(ctx.read, ctx.offer.years, year=year, unit=unit, service=service, indicator=indicator)
    return prev.row, prev.restated


def body(ctx) -> None:
    s = ctx.state
    ind_label = ctx.indicator_label(s.indicator)
    place = ctx.name(s.unit)
    header(ctx, ind_label, place, s.year)
    m = ctx.scheme_for()

    row = queries.headline(ctx.read, year=s.year, unit=s.unit, service=s.service, indicator=s.indicator)
    before = queries.previous(ctx.read, ctx.offer.years, year=s.year, unit=s.unit, service=s.service,
                              indicator=s.indicator)
    prev, restated = before.row, before.restated
    ulevel = ctx.offer.unit(s.year, s.unit).level if ctx.offer.unit(s.year, s.unit) else "country"

    c1, c2, c3, c4 = st.columns([1.1, 1.6, 0.9, 1.4])
    if row is not None and not bool(row["suppressed"]):
        delta = None
        if before.value is not None and not pd.isna(row["value"]):  # same area in both years only
            d = float(row["value"]) - before.value
            delta = fmt.signed(d, ctx.lang).replace("−", "-") + (" điểm %" if ctx.lang == "vi" else " pts")
        # the tooltip names the year compared with only when a change is shown
        c1.metric(fmt.md(ind_label), fmt.pct(row["value"], ctx.lang), delta,
                  help=ctx.t("ov_change", year=s.year - 1) if delta else None)
        c2.metric(ctx.t("interval"), fmt.interval(row["ci_low"], row["ci_high"], ctx.lang))
        c3.metric(n_label(ctx, s.indicator), fmt.count(row["n"], ctx.lang),
                  help=n_line(ctx, row["n"], s.indicator, s.service, ulevel))
    elif row is not None:
        c1.metric(fmt.md(ind_label), ctx.t("suppressed_class"))
        c3.metric(n_label(ctx, s.indicator), fmt.count(row["n"], ctx.lang))
    else:
        c1.metric(fmt.md(ind_label), "–")
    nat = ctx.read(year=s.year, level="country", unit=COUNTRY, service="all", indicator="sipas", source="official")
    if len(nat) and s.indicator == "sipas":
        c4.metric(ctx.t("national_official"), fmt.pct(nat["value"].iloc[0], ctx.lang))
    if prev is None:
        st.caption(ctx.t("ov_no_prev"))
    else:
        extra = []
        if calendar.method_break_between(s.year - 1, s.year):
            extra.append(ctx.t("ov_prev_break"))
        if restated:
            extra.append(ctx.t("restated_note"))
        st.caption(fmt.md(" ".join([*change_lines(ctx, row, before), *extra])))
    comparability(ctx, [s.year - 1, s.year] if prev is not None else [s.year])

    # elements and aspects of the unit
    parts = ctx.read(year=s.year, unit=s.unit, service=s.service, indicator=None, level=None, source="computed")
    els = views.order_like(views.element_indicators(parts), m, "element")
    asp = views.order_like(views.element_indicators(parts, "aspect:"), m, "aspect")
    # the units at the shown level: their ranking first (the page's primary figure, on a phone within
    # the first screens), then the unit's own elements beside the best and worst of them
    area, _ = map_area(ctx.offer, s)
    refs = units_in_area(ctx.offer, s.year, area if area != s.unit or s.unit == COUNTRY else s.unit, s.level)
    codes = [r.code for r in refs]
    cells = ctx.read(year=s.year, level=s.level, unit=codes or None, service=s.service, indicator=s.indicator)
    mc = views.map_cells(cells, codes, {r.code: ctx.name(r.code) for r in refs}) if len(cells) else None
    if len(cells):
        ranked = mc[mc["has_data"]].sort_values("value", ascending=False, na_position="last")
        fig = figures.framed(
            figures.bar_ci, ranked["name"].tolist(), ranked["value"].tolist(), ranked["ci_low"].tolist(),
            ranked["ci_high"].tolist(), ranked["n"].tolist(), ctx.lang, indicator=s.indicator,
            suppressed=ranked["suppressed"].tolist(),
            reference=row["value"] if row is not None else None, reference_label=place,
            frame=dict(title=ctx.t("ov_ranking_title", indicator=ind_label,
                                   level=level_label(s.level, ctx.lang, plural=True)),
                       subtitle=figures.subtitle(ctx.name(area), s.year, ctx.service_label(s.service),
                                                 n_line(ctx, ranked["n"].sum(), s.indicator, s.service,
                                                        summed=s.level)),
                       source=ctx.source(), demo=ctx.release.is_demo, lang=ctx.lang))
        chart(fig, "ov_ranking", primary=True)
        with st.expander(ctx.t("map_table")):
            st.dataframe(views.table_twin(mc, ctx.lang, ctx.threshold), hide_index=True, width="stretch")
            downloads(ctx, views.export_frame(mc, _meta(ctx)), "overview", "ov")
    left, right = st.columns([3, 2])
    if len(els):
        shown = pd.concat([asp, els])
        shown = views.label_frame(shown, m, ctx.lang)
        n_total = row["n"] if row is not None else None
        fig = figures.framed(
            figures.bar_ci, shown["label"].tolist(), shown["value"].tolist(), shown["ci_low"].tolist(),
            shown["ci_high"].tolist(), shown["n"].tolist(), ctx.lang, suppressed=shown["suppressed"].tolist(),
            frame=dict(title=ctx.t("ov_elements_title"),
                       subtitle=figures.subtitle(place, s.year, ctx.service_label(s.service),
                                                 n_line(ctx, n_total, s.indicator, s.service, ulevel)),
                       source=ctx.source(), demo=ctx.release.is_demo, lang=ctx.lang, wrap=70))
        with left:
            chart(fig, "ov_elements")

    with right:
        # one Markdown element (its heading and two small tables): each st.dataframe is a grid of its
        # own for the browser to build, which a first visit waits for before the first chart is drawn
        blocks = [f"**{fmt.md(ctx.t('ov_best_worst', level=level_label(s.level, ctx.lang, plural=True)))}**"]
        if len(cells):
            ranked = mc[mc["has_data"] & ~mc["suppressed"]].sort_values("value", ascending=False)
            k = min(3, len(ranked) // 2) or min(3, len(ranked))
            for title, part in ((ctx.t("ov_best"), ranked.head(k)), (ctx.t("ov_worst"), ranked.tail(k).iloc[::-1])):
                # the titles not italic: the italic face alone is a 138 kB font download
                blocks += [fmt.md(title), markdown_table(pd.DataFrame({
                    ctx.t("unit"): part["name"], ctx.t("value"): [fmt.num(v, ctx.lang) for v in part["value"]],
                    n_label(ctx, s.indicator): [fmt.count(n, ctx.lang) for n in part["n"]]}))]
        st.markdown("\n\n".join(b for b in blocks if b))
    lines = []
    if len(nat):
        lines.append(ctx.t("ov_national", year=s.year, value=fmt.pct(nat["value"].iloc[0], ctx.lang))
                     + (f" ({nat['note'].iloc[0]})" if isinstance(nat["note"].iloc[0], str) else ""))
    notes(ctx, lines)


def _meta(ctx) -> dict:
    s = ctx.state
    return {"release": ctx.release.id, "year": s.year, "vintage": s.vintage, "level": s.level,
            "service": s.service, "indicator": s.indicator}


if __name__ == "__main__":  # the file run as the script itself: app.py draws it in its frame
    run_app()
