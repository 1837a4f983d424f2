"""Phương pháp & dữ liệu / Methodology & data: rules actually used, samples, sources, downloads."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pages._common import downloads, header, run_app
from sipas_data.engine import DOMINANT_WEIGHT_SHARE
from ui import export, fmt, views
from ui.state import map_area, units_in_area
from ui.strings import level_label

FILTERS = ("year", "unit", "level", "service", "indicator")  # the sidebar's filters on this page


def _aspect_names(m, lang: str) -> str:
    return "; ".join(a.label[lang] for a in m.aspects)


def _rules(ctx, m, threshold: int) -> list[str]:
    """The formulas as the engine applies them (sipas_data/methodology.py refuses any other
    rule), each sentence in the page's language."""
    r, lang = m.rules, ctx.lang
    out = [ctx.t("rule_item", sat="/".join(map(str, m.satisfied_answers)), valid="/".join(map(str, m.valid_answers))),
           ctx.t("rule_element")]
    if m.aspects:
        out.append(ctx.t("rule_aspect_of", aspects=_aspect_names(m, lang)))
    if r.get("sipas") == "mean_of_aspects":
        out.append(ctx.t("rule_sipas_of_aspects", aspects=_aspect_names(m, lang)))
    else:
        out.append(ctx.t("rule_sipas_mean_of_elements"))
    if r.get("sipas_without_policy") == "services_aspect":
        services = next(a.label[lang] for a in m.aspects if a.id == "services")
        out.append(ctx.t("rule_no_policy_services_aspect", services=services))
    if m.expectation_kind == "multi_select":
        out.append(ctx.t("rule_expectation_ticked"))
    elif m.expectation_kind == "rated":
        scale = m.expectation_scale

        def name(k) -> str:
            return (scale.get(str(k)) or {}).get(lang, str(k))
        out.append(ctx.t("rule_expectation_levels", high=" + ".join(name(k) for k in m.expectation_high),
                         levels=" / ".join(name(k) for k in scale)))
    if m.perceptions:
        out.append(ctx.t("rule_perception"))
    out.append(ctx.t("rule_pooled"))
    out.append(ctx.t("rule_interval_95", item=ctx.t("method_wilson"),
                     composite=ctx.t("method_linearised_respondent_scores")))
    out += [ctx.t("me_threshold", t=threshold), ctx.t("me_secondary", t=threshold),
            ctx.t("me_withheld", share=fmt.pct(100 * DOMINANT_WEIGHT_SHARE, lang, 0))]
    return out


def _years(ctx, first: int | None, last: int | None) -> str:
    if last is None:
        return ctx.t("me_years_from", first=first)
    return f"{first}–{last}"


def _input_line(ctx, i: dict) -> str:
    rows = fmt.count(i["rows"], ctx.lang) if i.get("rows") is not None else None
    if "seed" in i and "sha256" not in i:  # the demo's own generated forms: no file behind them
        return ctx.t("me_input_generated", seed=i["seed"], rows=rows or "–")
    name = str(i.get("file", ""))
    return ctx.t("me_input_rows", file=name, rows=rows) if rows else name


def body(ctx) -> None:
    s = ctx.state
    rel = ctx.release
    header(ctx, ctx.t("me_title"))

    st.markdown(f"### {ctx.t('me_release')}")
    c = rel.manifest.get("counts", {})
    # label: value lines, not a two-column table: a long title or publisher wraps on a phone
    # instead of pushing the table sideways
    facts = [(ctx.t("me_release"), rel.title), (ctx.t("me_publisher"), rel.publisher),
             (ctx.t("me_created"), fmt.date(rel.created)), (ctx.t("me_release_id"), rel.id)]
    st.markdown("\n".join(f"- **{fmt.md(label)}:** {fmt.md(value)}" for label, value in facts if value))
    st.caption(ctx.t("me_forms", read=fmt.count(c.get("forms_read"), ctx.lang),
                     ok=fmt.count(c.get("forms_accepted"), ctx.lang),
                     rej=fmt.count(c.get("forms_rejected"), ctx.lang), cells=fmt.count(c.get("cells"), ctx.lang)))

    st.markdown(f"### {ctx.t('me_schemes')}")
    for scheme in rel.manifest.get("methodologies", []):
        m = ctx.scheme(scheme)
        threshold = int(rel.manifest.get("suppression_threshold") or m.suppression_threshold)
        with st.expander(fmt.md(f"{m.label[ctx.lang]} ({m.id})"), expanded=True):
            st.markdown(f"**{ctx.t('legal_basis')}:** {fmt.md(m.legal_basis[ctx.lang])}  \n"
                        f"**{ctx.t('years_range')}:** {fmt.md(_years(ctx, m.first_year, m.last_year))}")
            st.markdown(f"**{ctx.t('me_formulas')}**")
            st.markdown("\n".join(f"- {fmt.md(line)}" for line in _rules(ctx, m, threshold)))
            # the criterion first: on a phone the columns after the second are off screen
            rows = [{ctx.t("criterion"): it.label[ctx.lang], ctx.t("ov_elements"): el.label[ctx.lang],
                     ctx.t("years_range"): _years(ctx, it.from_year or m.first_year, it.to_year or m.last_year),
                     ctx.t("me_item_code"): it.id}
                    for el in m.elements for it in el.items]
            st.markdown(f"**{ctx.t('me_elements_table')}**")
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=260)

    st.markdown(f"### {ctx.t('me_interval')}")
    st.markdown(ctx.t("me_interval_text"))

    st.markdown(f"### {ctx.t('me_breaks')}")
    st.markdown(f"- {ctx.t('break_2022')}\n- {ctx.t('break_2025')}")

    st.markdown(f"### {ctx.t('me_samples')}")
    n = ctx.read(year=None, level=None, service="all", indicator="sipas", source="computed", restated=False,
                 columns=["year", "level", "unit_code", "n", "suppressed"])
    g = n.groupby(["year", "level"], sort=True).agg(units=("unit_code", "nunique"), n=("n", "sum"),
                                                   n_min=("n", "min"), suppressed=("suppressed", "sum")).reset_index()
    order = {lv: i for i, lv in enumerate(("country", "province", "district", "commune"))}
    g = g.sort_values(["year", "level"], key=lambda col: col.map(order) if col.name == "level" else col)
    st.caption(ctx.t("samples_title"))
    st.dataframe(pd.DataFrame({
        ctx.t("year"): [str(int(y)) for y in g["year"]],
        ctx.t("me_level"): [level_label(lv, ctx.lang, year=int(y)) for y, lv in zip(g["year"], g["level"])],
        ctx.t("me_samples_units"): [fmt.count(x, ctx.lang) for x in g["units"]],
        ctx.t("me_samples_n"): [fmt.count(x, ctx.lang) for x in g["n"]],
        ctx.t("me_samples_n_min"): [fmt.count(x, ctx.lang) for x in g["n_min"]],
        ctx.t("me_samples_withheld"): [fmt.count(x, ctx.lang) for x in g["suppressed"]],
    }), hide_index=True, width="stretch")
    st.caption(ctx.t("me_samples_note"))

    st.markdown(f"### {ctx.t('me_sources')}")
    off = ctx.read(year=None, level=None, service=None, indicator=None, source="official", restated=None)
    lines = [_input_line(ctx, i) for i in rel.manifest.get("inputs", [])]
    lines += sorted({ctx.t("me_official_source", note=x) for x in off["note"].dropna()})
    st.markdown("\n".join("- " + fmt.md(x) for x in lines))

    st.markdown(f"### {ctx.t('me_downloads')}")
    area, _ = map_area(ctx.offer, s)
    refs = units_in_area(ctx.offer, s.year, area, s.level)
    codes = [r.code for r in refs]
    cells = ctx.read(year=s.year, level=s.level, unit=codes or None, service=s.service, indicator=s.indicator)
    mc = views.map_cells(cells, codes, {r.code: r.name for r in refs})
    desc = " · ".join([ctx.indicator_label(s.indicator), ctx.name(area),
                       level_label(s.level, ctx.lang, plural=True, year=s.year), str(s.year),
                       ctx.service_label(s.service)])
    st.caption(fmt.md(ctx.t("me_view_label", desc=desc)))
    frame = views.export_frame(mc, {"release": rel.id, "year": s.year, "area": area, "level": s.level,
                                    "service": s.service, "indicator": s.indicator})
    st.dataframe(views.table_twin(mc, ctx.lang, ctx.threshold), hide_index=True, width="stretch", height=240)
    downloads(ctx, frame, "view", "me")
    path, fingerprint = str(rel.full_path()), rel.fingerprint
    # deferred: made on the first click (the published table plus each row's vintage), then remembered
    st.download_button(ctx.t("me_full"), lambda: export.full_release_parquet(path, fingerprint),
                       f"{rel.id}-indices.parquet", "application/octet-stream", help=ctx.t("me_full_help"),
                       key="dl_full", icon=":material/database:", on_click="ignore")


if __name__ == "__main__":  # the file run as the script itself: app.py draws it in its frame
    run_app()
