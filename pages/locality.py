"""Địa phương / Locality: a citizen's profile of one place, reached by search."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pages._common import (change_lines, change_params, chart, comparability, downloads, header, lineage_box,
                           n_label, n_line, notes, phone_table, rank_text, restated_coverage, run_app)
from sipas_data import calendar
from ui import figures, fmt, queries, views
from ui.state import COUNTRY, vintage_of
from ui.strings import level_label

FILTERS = ("year", "service", "indicator")  # the sidebar's filters on this page


@st.cache_data(show_spinner=False, max_entries=256)
def _search(query: str, offer_key: str, present: dict) -> list[tuple[str, int, str, float, bool]]:
    """(code, latest year with data, label with its parents, score, fuzzy), only units the release
    has, over every vintage it has: the names found first (best first, the newer vintage first
    within a score), then the names within a few typing mistakes (``fuzzy``: suggestions).
    ``present``: vintage -> {code: latest year}."""
    import geo
    out = []
    for vintage in sorted(present, reverse=True):
        hits = geo.search(query, vintage, limit=40, fuzzy=True)
        for r in hits.itertuples(index=False):
            if r.code in present[vintage]:
                out.append((r.code, present[vintage][r.code], r.label, float(r.score), bool(r.fuzzy)))
    out.sort(key=lambda x: (x[4], -x[3]))  # stable
    return out[:12]


def _present(ctx) -> dict:
    out: dict[str, dict[str, int]] = {}
    for year, refs in ctx.offer.units.items():
        d = out.setdefault(vintage_of(year), {})
        for code in refs:
            if code != COUNTRY:
                d[code] = max(d.get(code, 0), year)
    return out


def _on_search() -> None:
    ctx = st.session_state.get("_ctx")
    q = (st.session_state.get("loc_q") or "").strip()
    if ctx is None or not q:
        return
    hits = [h for h in _search(q, ctx.release.fingerprint, _present(ctx)) if not h[4]]
    if hits:  # a suggestion is never opened unasked
        code, year, _, _, _ = hits[0]
        st.query_params.from_dict(change_params(ctx.state, ctx.offer, unit=code, year=year, level=None))


def _on_suggestion(code: str, year: int, name: str) -> None:
    """A suggestion taken: its name goes into the box (so the next rerun finds it) and it opens."""
    ctx = st.session_state.get("_ctx")
    st.session_state["loc_q"] = name
    if ctx is not None:
        st.query_params.from_dict(change_params(ctx.state, ctx.offer, unit=code, year=year, level=None))


def body(ctx) -> None:
    s = ctx.state
    if ctx.controls:
        st.text_input(ctx.t("loc_search"), key="loc_q", on_change=_on_search, placeholder="hong ngu",
                      icon=":material/search:")
    q = (st.session_state.get("loc_q") or "").strip() if ctx.controls else ""
    if q:
        found = _search(q, ctx.release.fingerprint, _present(ctx))
        hits = [h for h in found if not h[4]]
        near = [h for h in found if h[4]][:4]
        if not hits:
            # a miss: say so, offer the close names, and do not leave the previous place on screen
            # under the new query as if it were the answer
            if near:
                st.info(fmt.md(ctx.t("loc_none", q=q)) + " " + fmt.md(ctx.t("loc_did_you_mean")),
                        icon=":material/search_off:")
                cols = st.columns(min(len(near), 2))
                for i, (code, year, label, _, _) in enumerate(near):
                    cols[i % len(cols)].button(fmt.md(f"{label} ({year})"), key=f"near_{code}_{year}",
                                               on_click=_on_suggestion,
                                               args=(code, year, ctx.offer.unit(year, code).name))
            else:
                st.info(fmt.md(ctx.t("loc_none_near", q=q)), icon=":material/search_off:")
            return
        if len(hits) > 1:
            st.caption(ctx.t("loc_results"))
            cols = st.columns(min(len(hits), 4))
            for i, (code, year, label, _, _) in enumerate(hits[:8]):
                if cols[i % len(cols)].button(fmt.md(f"{label} ({year})"), key=f"hit_{code}_{year}",
                                              disabled=(code == s.unit and year == s.year)):
                    ctx.go(unit=code, year=year, level=None)
    ref = ctx.offer.unit(s.year, s.unit)
    if ref is None or ref.code == COUNTRY:
        st.info(ctx.t("loc_pick_hint"))
        return
    name = ctx.name(s.unit)
    ind_label = ctx.indicator_label(s.indicator)
    header(ctx, ref.name, ctx.name(ref.parent) if ref.parent and ref.parent != COUNTRY else None, s.year)
    lineage_box(ctx)
    m = ctx.scheme_for()

    row = queries.headline(ctx.read, year=s.year, unit=s.unit, service=s.service, indicator=s.indicator,
                           published=False)
    if row is None:
        st.info(fmt.md(ctx.t("loc_no_data_year", name=name, year=s.year)))
        return
    prev = queries.previous(ctx.read, ctx.offer.years, year=s.year, unit=s.unit, service=s.service,
                            indicator=s.indicator)
    rank = queries.rank_of(ctx.read, row, year=s.year, service=s.service, indicator=s.indicator)

    c1, c2, c3 = st.columns(3)
    if bool(row["suppressed"]):
        c1.metric(fmt.md(ctx.t("loc_headline", indicator=ind_label, year=s.year)), ctx.t("suppressed_class"))
    else:
        delta = None
        if prev.value is not None:  # None as well when the year before covers another area
            d = float(row["value"]) - prev.value
            delta = fmt.signed(d, ctx.lang).replace("−", "-") + (" điểm %" if ctx.lang == "vi" else " pts")
        c1.metric(fmt.md(ctx.t("loc_headline", indicator=ind_label, year=s.year)), fmt.pct(row["value"], ctx.lang),
                  delta)
    ranked = rank_text(ctx, row, rank)
    c2.metric(ctx.t("rank"), f"{fmt.count(rank.rank, ctx.lang)}/{fmt.count(rank.total, ctx.lang)}"
              if rank is not None else "–", help=fmt.md(ranked))
    c3.metric(n_label(ctx, s.indicator), fmt.count(row["n"], ctx.lang))
    lines = [ranked[:1].upper() + ranked[1:] + "."]
    lines += change_lines(ctx, row, prev)
    if not bool(row["suppressed"]):
        sure = "loc_sure" if n_label(ctx, s.indicator) == ctx.t("n_answers") else "loc_sure_forms"
        lines.append(ctx.t(sure, n=fmt.count(row["n"], ctx.lang), lo=fmt.num(row["ci_low"], ctx.lang),
                           hi=fmt.num(row["ci_high"], ctx.lang)))
    st.markdown("  \n".join(fmt.md(x) for x in lines))
    if prev.row is not None and prev.method_break:
        st.caption(ctx.t("ov_prev_break"))

    # trend first (the page's primary figure, on a phone within the first screens): this unit's own
    # series (its vintage), and for a unit of the latest vintage the years
    # before it restated from its old units; never the years of an old unit that had its code
    hist = queries.history(ctx.read, vintage=s.vintage, unit=s.unit, service=s.service, indicator=s.indicator)
    hist = hist[~hist["suppressed"].astype(bool)]
    if len(hist):
        tr = hist.assign(series=name, restated=hist["basis"] == "restated")
        nat = ctx.read(year=None, level="country", unit=COUNTRY, service="all", indicator="sipas", source="official") \
            if s.indicator == "sipas" else None
        fig = figures.framed(figures.trend, tr[["series", "year", "value", "ci_low", "ci_high", "n", "restated"]],
                             ctx.lang, indicator=s.indicator, national=nat, frame=dict(
                                 title=ctx.t("loc_trend_title", indicator=ind_label, name=name),
                                 subtitle=figures.subtitle(name, _span(tr["year"]),
                                                           ctx.service_label(s.service)),
                                 source=ctx.source(), demo=ctx.release.is_demo, lang=ctx.lang))
        chart(fig, "loc_trend", primary=True)
        comparability(ctx, tr["year"])
        if tr["restated"].any():
            st.caption(ctx.t("restated_note"))
            st.caption(fmt.md(restated_coverage(ctx, tr.loc[tr["restated"], "year"], s.service, s.indicator)))
        if calendar.reform_between(s.year, max(ctx.offer.years)):
            st.caption(fmt.md(ctx.t("unit_gone") + " " + ctx.t("lin_ends", name=name, year=int(tr["year"].max()))))
        export = hist[["year", "unit_code", "service", "indicator", "value", "ci_low", "ci_high", "n", "rank", "basis"]]
        export.insert(1, "vintage", s.vintage)
        downloads(ctx, export.reset_index(drop=True), "locality", "loc")

    left, right = st.columns([3, 2])
    parts = ctx.read(year=s.year, unit=s.unit, service=s.service, indicator=None, level=None, source="computed")
    els = views.label_frame(views.order_like(views.element_indicators(parts), m, "element"), m, ctx.lang)
    sub = figures.subtitle(name, s.year, ctx.service_label(s.service), n_line(ctx, row["n"], s.indicator, s.service,
                                                                                  ref.level))
    if len(els):
        fig = figures.framed(figures.bar_ci, els["label"].tolist(), els["value"].tolist(), els["ci_low"].tolist(),
                             els["ci_high"].tolist(), els["n"].tolist(), ctx.lang,
                             suppressed=els["suppressed"].tolist(),
                             frame=dict(title=ctx.t("loc_elements_title", name=name), subtitle=sub,
                                        source=ctx.source(), demo=ctx.release.is_demo, lang=ctx.lang, wrap=70))
        with left:
            chart(fig, "loc_elements")
    exp = parts[parts["indicator"].str.startswith("expectation:")]
    with right:
        st.markdown(f"**{ctx.t('loc_expect')}**")
        if len(exp):
            top = views.label_frame(exp[~exp["suppressed"].astype(bool)].nlargest(5, "value"), m, ctx.lang)
            fig = figures.framed(figures.bar_ci, top["label"].tolist(), top["value"].tolist(), top["ci_low"].tolist(),
                                 top["ci_high"].tolist(), top["n"].tolist(), ctx.lang, indicator="expectation:x",
                                 frame=dict(title=ctx.t("loc_expect_title", name=name), subtitle=sub,
                                            source=ctx.source(), demo=ctx.release.is_demo, lang=ctx.lang, wrap=45))
            chart(fig, "loc_expect")

    # services handled here
    st.markdown(f"**{ctx.t('loc_services')}**")
    svc = ctx.read(year=s.year, unit=s.unit, service=None, indicator=s.indicator, level=None, source="computed")
    svc = svc[svc["service"] != "all"]
    if len(svc):
        totals = queries.totals_by_service(ctx.read, year=s.year, level=ref.level, parent=row["parent_code"],
                                           indicator=s.indicator)
        levels = level_label(ref.level, ctx.lang, plural=True, year=s.year)
        parent = ctx.name(row["parent_code"])
        # a phone's columns: the rank as "2/12" (among what, in the line above the table), the
        # the n, value and interval (two decimals, as everywhere) under short headings the line below explains
        table = pd.DataFrame({
            ctx.t("service"): [ctx.service_label(x) for x in svc["service"]],
            ctx.t("value"): [ctx.t("suppressed_class") if sp else fmt.num(v, ctx.lang)
                             for v, sp in zip(svc["value"], svc["suppressed"])],
            ctx.t("interval"): [fmt.interval(a, b, ctx.lang) for a, b in zip(svc["ci_low"], svc["ci_high"])],
            n_label(ctx, s.indicator): [fmt.count(n, ctx.lang) for n in svc["n"]],
            ctx.t("rank"): [ctx.t("rank_of", rank=fmt.count(r, ctx.lang), total=fmt.count(totals.get(x), ctx.lang))
                            if not pd.isna(r) and (totals.get(x) or 0) > 1 else "–"
                            for r, x in zip(svc["rank"], svc["service"])],
        })
        st.dataframe(table, hide_index=True, width="stretch", **phone_table(ctx, table, ctx.t("service")))
        st.caption(fmt.md(" · ".join([
            ctx.t("tbl_value_key", indicator=ind_label), ctx.t("tbl_ci_key"),
            ctx.t("tbl_n_answers_key" if n_label(ctx, s.indicator) == ctx.t("n_answers") else "tbl_n_forms_key"),
            ctx.t("tbl_rank_key", level=levels, parent=parent)])))

    notes(ctx, [])


def _span(years) -> str:
    lo, hi = int(min(years)), int(max(years))
    return str(lo) if lo == hi else f"{lo}–{hi}"


if __name__ == "__main__":  # the file run as the script itself: app.py draws it in its frame
    run_app()
