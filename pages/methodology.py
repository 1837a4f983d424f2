"""Phương pháp & dữ liệu / Methodology & data: rules actually used, samples, sources, downloads."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pages._common import downloads, header, run_app
from sipas_data.engine import DOMINANT_WEIGHT_SHARE
from ui import fmt, views
from ui.state import map_area, units_in_area
from ui.strings import level_label

FILTERS = ("year", "unit", "level", "service", "indicator")  # the sidebar's filters on this page


@st.cache_resource(show_spinner=False, max_entries=4)
def _full_bytes(path: str, fingerprint: str) -> bytes:
    """The release's full table, read once per process (bytes are immutable: shared, not copied)."""
    with open(path, "rb") as f:
        return f.read()


def _rules(ctx, m) -> list[str]:
    r, lang = m.rules, ctx.lang
    out = [ctx.t("rule_item", sat="/".join(map(str, m.satisfied_answers)), valid="/".join(map(str, m.valid_answers))),
           ctx.t("rule_element")]
    if m.aspects:
        out.append(ctx.t("rule_aspect"))
    sip = r.get("sipas")
    if sip:
        out.append(ctx.t("rule_sipas_" + sip))
    if r.get("sipas_without_policy"):
        out.append(ctx.t("rule_no_policy", rule=r["sipas_without_policy"]))
    if r.get("expectation"):
        out.append(ctx.t("rule_expectation_" + r["expectation"]))
    iv = r.get("interval") or {}
    if iv:
        out.append(ctx.t("rule_interval", level=fmt.pct(100 * float(iv.get("level", 0.95)), lang, 0),
                         item=iv.get("item", "–"), composite=iv.get("composite", "–")))
    threshold = r.get("suppression_threshold", ctx.threshold)
    out += [ctx.t("me_threshold", t=threshold), ctx.t("me_secondary", t=threshold),
            ctx.t("me_withheld", share=fmt.pct(100 * DOMINANT_WEIGHT_SHARE, lang, 0))]
    return out


def body(ctx) -> None:
    s = ctx.state
    rel = ctx.release
    header(ctx, ctx.t("me_title"))

    st.markdown(f"### {ctx.t('me_release')}")
    c = rel.manifest.get("counts", {})
    st.dataframe(pd.DataFrame({"": [ctx.t("me_release"), ctx.t("me_publisher"), ctx.t("me_created"), "id"],
                               " ": [rel.title, rel.publisher, fmt.date(rel.created), rel.id]}),
                 hide_index=True, width="stretch")
    st.caption(ctx.t("me_forms", read=fmt.count(c.get("forms_read"), ctx.lang), ok=fmt.count(c.get("forms_accepted"), ctx.lang),
                     rej=fmt.count(c.get("forms_rejected"), ctx.lang), cells=fmt.count(c.get("cells"), ctx.lang)))

    st.markdown(f"### {ctx.t('me_schemes')}")
    for scheme in rel.manifest.get("methodologies", []):
        m = ctx.scheme(scheme)
        with st.expander(fmt.md(f"{m.label[ctx.lang]} ({m.id})"), expanded=True):
            st.markdown(f"**{ctx.t('legal_basis')}:** {fmt.md(m.legal_basis)}  \n"
                        f"**{ctx.t('years_range')}:** {m.first_year}–{m.last_year or ''}")
            st.markdown(f"**{ctx.t('me_formulas')}**")
            st.markdown("\n".join(f"- {fmt.md(line)}" for line in _rules(ctx, m)))
            rows = [{"id": it.id, ctx.t("ov_elements"): el.label[ctx.lang], ctx.t("criterion"): it.label[ctx.lang],
                     ctx.t("years_range"): f"{it.from_year or m.first_year}–{it.to_year or ''}"}
                    for el in m.elements for it in el.items]
            st.markdown(f"**{ctx.t('me_elements_table')}**")
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=260)

    st.markdown(f"### {ctx.t('me_interval')}")
    from sipas_data import engine
    doc = (engine.__doc__ or "").split("The composite interval:", 1)
    st.code(("The composite interval:" + doc[1]).strip() if len(doc) == 2 else (engine.__doc__ or ""),
            language=None, wrap_lines=True)

    st.markdown(f"### {ctx.t('me_breaks')}")
    st.markdown(f"- {ctx.t('break_2022')}\n- {ctx.t('break_2025')}")

    st.markdown(f"### {ctx.t('me_samples')}")
    n = ctx.read(year=None, level=None, service="all", indicator="sipas", source="computed", restated=False,
                 columns=["year", "level", "unit_code", "n", "suppressed"])
    g = n.groupby(["year", "level"], sort=True).agg(units=("unit_code", "nunique"), n=("n", "sum"),
                                                   n_min=("n", "min"), suppressed=("suppressed", "sum")).reset_index()
    g["level"] = [level_label(x, ctx.lang) for x in g["level"]]
    st.caption(ctx.t("samples_title"))
    st.dataframe(g.assign(n=[fmt.count(x, ctx.lang) for x in g["n"]], n_min=[fmt.count(x, ctx.lang) for x in g["n_min"]]),
                 hide_index=True, width="stretch")

    st.markdown(f"### {ctx.t('me_sources')}")
    off = ctx.read(year=None, level=None, service=None, indicator=None, source="official", restated=None)
    lines = [f"- {i.get('file', '')} {('· ' + fmt.count(i['rows'], ctx.lang) + ' rows') if i.get('rows') else ''}"
             for i in rel.manifest.get("inputs", [])]
    lines += sorted({f"- {x}" for x in off["note"].dropna()})
    st.markdown("\n".join("- " + fmt.md(x[2:]) for x in lines))

    st.markdown(f"### {ctx.t('me_downloads')}")
    area, _ = map_area(ctx.offer, s)
    refs = units_in_area(ctx.offer, s.year, area, s.level)
    codes = [r.code for r in refs]
    cells = ctx.read(year=s.year, level=s.level, unit=codes or None, service=s.service, indicator=s.indicator)
    mc = views.map_cells(cells, codes, {r.code: r.name for r in refs})
    desc = " · ".join([ctx.indicator_label(s.indicator), ctx.name(area), level_label(s.level, ctx.lang, plural=True),
                       str(s.year), ctx.service_label(s.service)])
    st.caption(fmt.md(ctx.t("me_view_label", desc=desc)))
    frame = views.export_frame(mc, {"release": rel.id, "year": s.year, "area": area, "level": s.level,
                                    "service": s.service, "indicator": s.indicator})
    st.dataframe(views.table_twin(mc, ctx.lang, ctx.threshold), hide_index=True, width="stretch", height=240)
    downloads(ctx, frame, "view", "me")
    full = _full_bytes(str(rel.full_path()), rel.fingerprint)
    # deferred: handed over on click, not hashed and stored again on every rerun
    st.download_button(ctx.t("me_full"), lambda: full, f"{rel.id}-indices.parquet", "application/octet-stream",
                       key="dl_full", icon=":material/database:", on_click="ignore")


if __name__ == "__main__":  # the file run as the script itself: app.py draws it in its frame
    run_app()
