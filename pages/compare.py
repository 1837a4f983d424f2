"""So sánh / Compare: two to five units side by side: elements, trend, rank, intervals."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pages._common import (chart, comparability, downloads, header, n_label, notes, rank_text, restated_coverage,
                           run_app)
from ui import figures, fmt, queries, views
from ui.state import COUNTRY, MAX_COMPARE, map_area, units_in_area

FILTERS = ("year", "level", "service", "indicator")  # the sidebar's filters on this page


def _on_pick() -> None:
    from pages._common import change_params
    ctx = st.session_state.get("_ctx")
    if ctx is not None:
        picked = list(st.session_state["cmp_units"]) or None
        st.query_params.from_dict(change_params(ctx.state, ctx.offer, compare=picked))


def default_units(ctx) -> list[str]:
    area, _ = map_area(ctx.offer, ctx.state)
    return [r.code for r in units_in_area(ctx.offer, ctx.state.year, area, ctx.state.level)][:3]


def body(ctx) -> None:
    s = ctx.state
    m = ctx.scheme_for()
    header(ctx, ctx.t("cmp_title"), None, s.year)
    chosen = list(s.compare) or default_units(ctx)
    options = [r.code for r in sorted(ctx.offer.units[s.year].values(), key=lambda r: r.code) if r.code != COUNTRY]
    if ctx.controls:
        st.session_state["cmp_units"] = chosen
        st.multiselect(ctx.t("cmp_pick"), options, key="cmp_units", max_selections=MAX_COMPARE,
                       format_func=lambda c: f"{ctx.name(c)} ({c})", on_change=_on_pick)
    if len(chosen) < 2:
        st.info(ctx.t("cmp_need_two"))
        return
    names = {c: ctx.name(c) for c in chosen}
    svc = ctx.service_label(s.service)

    head = ctx.read(year=s.year, unit=chosen, service=s.service, indicator=s.indicator, level=None, source="computed")
    parts = ctx.read(year=s.year, unit=chosen, service=s.service, indicator=None, level=None, source="computed")
    els = views.label_frame(views.order_like(views.element_indicators(parts), m, "element"), m, ctx.lang)
    if len(els):
        els = els.assign(series=els["unit_code"].map(names))
        els["_o"] = els["unit_code"].map({c: i for i, c in enumerate(chosen)})
        els = els.sort_values("_o", kind="stable")
        fig = figures.framed(figures.grouped_bars, els, ctx.lang, frame=dict(
            title=ctx.t("cmp_elements_title"),
            subtitle=figures.subtitle(", ".join(names.values()), s.year, svc,
                                      ctx.t("n_line_forms_each" if n_label(ctx, s.indicator) == ctx.t("n_forms")
                                            else "n_line_answers",
                                            n=" / ".join(fmt.count(n, ctx.lang) for n in
                                                         head.set_index("unit_code").reindex(chosen)["n"]))),
            source=ctx.source(), demo=ctx.release.is_demo, lang=ctx.lang))
        chart(fig, "cmp_elements", primary=True)

    # rank and interval table
    ind_label = ctx.indicator_label(s.indicator)
    rows = []
    for c in chosen:
        h = head[head["unit_code"] == c]
        if not len(h):
            continue
        r = h.iloc[0]
        rank = queries.rank_of(ctx.read, r, year=s.year, service=s.service, indicator=s.indicator)
        rows.append({ctx.t("unit"): names[c], ctx.t("code"): c,
                     ind_label: ctx.t("suppressed_class") if r["suppressed"] else fmt.num(r["value"], ctx.lang),
                     ctx.t("interval"): fmt.interval(r["ci_low"], r["ci_high"], ctx.lang),
                     n_label(ctx, s.indicator): fmt.count(r["n"], ctx.lang),
                     ctx.t("rank"): rank_text(ctx, r, rank)})
    st.markdown(f"**{ctx.t('cmp_rank_title')}**")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")

    # trend: each unit's own series on the view year's vintage (restated before it for a new
    # unit); an old unit's line ends with its vintage, never continued by a new unit with its code
    hist = pd.concat([queries.history(ctx.read, vintage=s.vintage, unit=c, service=s.service, indicator=s.indicator)
                      for c in chosen], ignore_index=True)
    hist = hist[~hist["suppressed"].astype(bool)] if len(hist) else hist
    if len(hist):
        tr = hist.assign(series=hist["unit_code"].map(names), restated=hist["basis"] == "restated")
        tr["_o"] = tr["unit_code"].map({c: i for i, c in enumerate(chosen)})
        tr = tr.sort_values(["_o", "year"])
        fig = figures.framed(figures.trend, tr, ctx.lang, indicator=s.indicator, frame=dict(
            title=ctx.t("cmp_trend_title", indicator=ind_label),
            subtitle=figures.subtitle(", ".join(names.values()), f"{int(tr.year.min())}–{int(tr.year.max())}", svc),
            source=ctx.source(), demo=ctx.release.is_demo, lang=ctx.lang))
        chart(fig, "cmp_trend")
        comparability(ctx, tr["year"])
        if tr["restated"].any():
            st.caption(ctx.t("restated_note"))
            for c in chosen:  # what each unit's restated points count
                years = tr.loc[tr["restated"] & (tr["unit_code"] == c), "year"]
                line = restated_coverage(ctx, years, s.service, s.indicator, c) if len(years) else ""
                if line:
                    st.caption(fmt.md(f"{names[c]}: {line}"))

    # criteria pulling each unit down: only those below its parent (the comparison, named), most
    # negative first
    items = parts[parts["indicator"].str.startswith("item:") & ~parts["suppressed"].astype(bool)]
    parents = sorted(set(head["parent_code"].dropna()) - {COUNTRY})
    if len(items) and parents:
        pitems = ctx.read(year=s.year, unit=parents, service=s.service, indicator=None, level=None, source="computed")
        pitems = pitems[pitems["indicator"].str.startswith("item:")][["unit_code", "indicator", "value"]]
        pitems = pitems.rename(columns={"unit_code": "parent_code", "value": "parent_value"})
        pcode = head.set_index("unit_code")["parent_code"]
        gaps = items.assign(parent_code=items["unit_code"].map(pcode)).merge(pitems, on=["parent_code", "indicator"])
        gaps["gap"] = gaps["value"] - gaps["parent_value"]
        cols = st.columns(min(len(chosen), 3))
        for i, c in enumerate(chosen):
            below = gaps[(gaps["unit_code"] == c) & (gaps["gap"] < 0)]
            g = views.label_frame(below.nsmallest(3, "gap"), m, ctx.lang)
            parent = ctx.name(pcode.get(c)) if isinstance(pcode.get(c), str) else ""
            with cols[i % len(cols)]:
                st.markdown(f"**{fmt.md(ctx.t('cmp_criteria_vs', name=names[c], parent=parent))}**")
                if not len(g):
                    st.caption(fmt.md(ctx.t("cmp_criteria_none", parent=parent)))
                    continue
                st.dataframe(pd.DataFrame({ctx.t("criterion"): g["label"],
                                           ctx.t("value"): [fmt.num(v, ctx.lang) for v in g["value"]],
                                           ctx.t("cmp_gap"): [fmt.signed(v, ctx.lang) for v in g["gap"]]}),
                             hide_index=True, width="stretch")
    export = head[["year", "unit_code", "parent_code", "service", "indicator", "value", "ci_low", "ci_high", "n",
                   "rank", "suppressed"]].reset_index(drop=True)
    export.insert(1, "vintage", s.vintage)
    downloads(ctx, export, "compare", "cmp")
    notes(ctx, [])


if __name__ == "__main__":  # the file run as the script itself: app.py draws it in its frame
    run_app()
