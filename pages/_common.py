"""Streamlit glue shared by the pages (not a page itself: app.py registers pages explicitly).

The frame, ``run_page(name, body, filters, links)``, is what app.py runs around the page chosen
(a page module holds only ``body(ctx)`` and its ``FILTERS``): it opens the release (building the
demo once on a fresh clone), turns the URL into a validated ViewState, draws the sidebar
(navigation that carries the view, language, filters), the header line and notices, then calls
``body(ctx)`` inside a guard that shows a friendly message instead of a traceback.
"""
from __future__ import annotations

import logging
import runpy
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import streamlit as st

from sipas_data import calendar
from sipas_data.release import ReleaseError, default_root, list_releases
from ui import export, fmt, tables
from ui.figures import screen_figure
from ui.offer import build_offer
from ui.state import (COUNTRY, Offer, UnitRef, ViewState, carry, level_rank, parse_view, to_params, unit_label,
                      vintage_of)
from ui.strings import level_label, t

from pages import _press

log = logging.getLogger("sipas.app")

# The browser tab's icon. An emoji is drawn by the browser itself (an inline SVG); a Material icon
# as favicon would be fetched from fonts.gstatic.com on every visit.
PAGE_ICON = "🗳️"

PAGES = [  # (name, url path, icon); the page's body is in the module pages.<name> (pages/<name>.py)
    ("overview", "overview", ":material/dashboard:"),
    ("map", "map", ":material/map:"),
    ("services", "services", ":material/assignment:"),
    ("compare", "compare", ":material/compare_arrows:"),
    ("locality", "locality", ":material/location_on:"),
    ("methodology", "methodology", ":material/menu_book:"),
]


# ---------------------------------------------------------------------------------------------
# cached data access (keyed by release id + fingerprint)

@st.cache_resource(show_spinner=False)
def _ensure_release(root: str) -> bool:
    if not list_releases(root):
        from sipas_data.demo import build_demo
        build_demo(Path(root))
    return True


def releases_root() -> str:
    return str(default_root())


@st.cache_resource(show_spinner=False)
def _keeper(root: str):
    """One per process: serves verified private copies of releases and keeps the last good one
    when a published folder is deleted, truncated or damaged (see serving/keeper.py)."""
    from serving.keeper import ReleaseKeeper
    return ReleaseKeeper(root)


def _release(root: str, release_id: str, fingerprint: str):
    return _keeper(root).by_fingerprint(release_id, fingerprint)


@st.cache_data(show_spinner=False, ttl=60)
def _release_list(root: str) -> list[tuple[str, str]]:
    return [(r.id, r.manifest.get("files", {}).get("indices.parquet", {}).get("sha256", r.id))
            for r in list_releases(root)]


@st.cache_resource(show_spinner=False, max_entries=4)
def _reader(root: str, release_id: str, fingerprint: str):
    """The release's overall results held in memory, split by year (see serving/reader.py)."""
    from serving.reader import SliceReader
    return SliceReader(_release(root, release_id, fingerprint))


def cached_read(root: str, release_id: str, fingerprint: str, **filters) -> pd.DataFrame:
    """A slice of the release, remembered per process (a copy for each caller)."""
    return _reader(root, release_id, fingerprint).cached(**filters)


@st.cache_resource(show_spinner=False, max_entries=64)
def _scheme_of(root: str, release_id: str, fingerprint: str, year: int) -> str:
    """The scheme id a year's results were computed with (one small read per release and year)."""
    schemes = cached_read(root, release_id, fingerprint, year=year, level=None, service="all", indicator="sipas",
                          source=None, columns=["scheme"])
    return schemes["scheme"].iloc[0] if len(schemes) else calendar.scheme_for_year(year)


@st.cache_resource(show_spinner=False, max_entries=16)
def _scheme(root: str, release_id: str, fingerprint: str, scheme: str):
    """A release's scheme definition, parsed once per process (Scheme is frozen; shared)."""
    return _release(root, release_id, fingerprint).scheme(scheme)


@st.cache_resource(show_spinner=False, max_entries=16)
def _offer(root: str, release_id: str, fingerprint: str, release_ids: tuple[str, ...],
           boundaries: frozenset) -> Offer:
    """Shared by every session of the process (not copied per rerun): read it, never change it."""
    return build_offer(_release(root, release_id, fingerprint), release_ids, boundaries)


def _installed_boundaries() -> frozenset:
    try:
        from geo.boundaries import installed_layers
        return frozenset((str(d.get("vintage")), d.get("level")) for d in installed_layers())
    except Exception:
        log.exception("could not list installed boundaries")
        return frozenset()


# ---------------------------------------------------------------------------------------------

@dataclass
class Ctx:
    root: str
    release: object
    offer: Offer
    state: ViewState
    notices: list[str] = field(default_factory=list)
    figures: list = field(default_factory=list)  # (key, figure) drawn by this run, for the press kit
    frames: list = field(default_factory=list)   # the views' downloads offered by this run (ui.export.ViewDownload)
    _schemes: dict = field(default_factory=dict, repr=False)  # year -> Scheme, for this run
    links: dict = field(default_factory=dict, repr=False)  # page name -> st.Page registered by app.py

    @property
    def controls(self) -> bool:
        """False in presentation and embed modes (no filters, downloads or buttons)."""
        return not self.state.mode

    @property
    def lang(self) -> str:
        return self.state.lang

    def t(self, key: str, **kw) -> str:
        return t(key, self.state.lang, **kw)

    def read(self, **filters) -> pd.DataFrame:
        return cached_read(self.root, self.release.id, self.release.fingerprint, **filters)

    def scheme_for(self, year: int | None = None):
        year = year or self.state.year
        m = self._schemes.get(year)
        if m is None:
            m = self._schemes[year] = self.scheme(_scheme_of(self.root, self.release.id, self.release.fingerprint,
                                                             year))
        return m

    def scheme(self, scheme_id: str):
        """A scheme definition of this release, by id."""
        return _scheme(self.root, self.release.id, self.release.fingerprint, scheme_id)

    def name(self, code: str, year: int | None = None) -> str:
        """The unit of ``year``'s vintage (the view's year by default), told apart by its parent
        when its name repeats."""
        return unit_label(self.offer, year or self.state.year, code, self.lang)

    def service_label(self, service: str, year: int | None = None) -> str:
        if service == "all":
            return self.t("all_services")
        s = self.scheme_for(year).service(service)
        return s.label[self.lang] if s else service

    def indicator_label(self, indicator: str, year: int | None = None) -> str:
        try:
            return self.scheme_for(year).label_of(indicator, self.lang)
        except (KeyError, StopIteration):
            return indicator

    def source(self) -> str:
        from ui.figures import source_line
        return source_line(self.release, self.lang)

    @property
    def threshold(self) -> int:
        return int(self.release.manifest.get("suppression_threshold") or self.scheme_for().suppression_threshold)

    def go(self, **changes) -> None:
        """Apply a user-initiated change to the view (silently re-validated) and rerun."""
        st.query_params.from_dict(change_params(self.state, self.offer, **changes))
        st.rerun()


def phone_table(ctx: Ctx, table: pd.DataFrame, name_col: str) -> dict:
    """st.dataframe's arguments for ``table`` on a 390 px phone (ui/tables.py): short headings,
    which the line the page writes under the table explains."""
    short = {ctx.t("value"): ctx.t("tbl_value"), ctx.t("interval"): ctx.t("ci95"), ctx.t("n_forms"): ctx.t("n"),
             ctx.t("n_answers"): ctx.t("n")}
    return tables.phone_table(table, short, name_col)


def change_params(state: ViewState, offer: Offer, **changes) -> dict:
    """The URL of the view after ``changes``. A year on another vintage carries the unit (and the
    compared units) by their lineage and records where they came from (``from``), so the page
    says where it went; any other change starts afresh."""
    params = to_params(state)
    params.pop("from", None)
    year = changes.get("year")
    if year is not None and "unit" not in changes and int(year) in offer.years \
            and vintage_of(int(year)) != state.vintage:
        new_year = int(year)
        if state.unit != COUNTRY:
            changes["unit"] = carry(offer, state.vintage, state.unit, new_year).unit
            params["from"] = f"{state.vintage}:{state.unit}"
        if state.compare and "compare" not in changes:
            moved = [carry(offer, state.vintage, c, new_year).unit for c in state.compare]
            changes["compare"] = list(dict.fromkeys(c for c in moved if c != COUNTRY)) or None
    for k, v in changes.items():
        key = "units" if k == "compare" else k
        if v is None:
            params.pop(key, None)
        else:
            params[key] = ",".join(v) if isinstance(v, (list, tuple)) else str(v)
    new, _ = parse_view(params, offer)
    return to_params(new)


def _set_param(key: str, widget_key: str, ctx_key: str = "_ctx") -> None:
    """on_change callback: copy a widget's value into the URL (dependent fields re-validated)."""
    ctx: Ctx = st.session_state.get(ctx_key)
    value = st.session_state.get(widget_key)
    if ctx is None:
        return
    if key == "release":
        st.query_params.from_dict({"release": str(value), "lang": ctx.state.lang})
        return
    changes = {key: value}
    if key == "unit":
        changes["level"] = None
    if key == "year":
        changes["level"] = ctx.state.level  # kept when still valid, else the default
    st.query_params.from_dict(change_params(ctx.state, ctx.offer, **changes))


def _widget(kind, label, options, key, param, state_value, fmt_fn=None, **kw):
    st.session_state[key] = state_value
    return kind(label, options, key=key, format_func=fmt_fn or str, on_change=_set_param,
                args=(param, key), **kw)


def _sidebar(ctx: Ctx, filters: tuple[str, ...]) -> None:
    s, lang = ctx.state, ctx.lang
    params = to_params(s)
    params.pop("from", None)  # another page starts without the carried-over notice
    with st.sidebar:
        st.markdown(f"**{t('app_title', lang)}**")
        for name, _, icon in PAGES:
            st.page_link(ctx.links[name], label=t("page_" + name, lang), icon=icon, query_params=params)
        st.divider()
        _widget(st.segmented_control, t("language", lang), ["vi", "en"], "w_lang", "lang", s.lang,
                lambda x: {"vi": "Tiếng Việt", "en": "English"}[x])
        st.markdown(f"**{t('filters', lang)}**")
        if len(ctx.offer.release_ids) > 1:
            _widget(st.selectbox, t("f_release", lang), ctx.offer.release_ids, "w_release", "release", s.release)
        if "year" in filters:
            _widget(st.selectbox, t("f_year", lang), sorted(ctx.offer.years, reverse=True), "w_year", "year", s.year)
        if "unit" in filters:
            codes, labels = _unit_options(ctx)
            _widget(st.selectbox, t("f_unit", lang), codes, "w_unit", "unit", s.unit, labels.__getitem__)
        if "level" in filters:
            ulevel = ctx.offer.unit(s.year, s.unit).level if ctx.offer.unit(s.year, s.unit) else "country"
            lvls = [lv for lv in ctx.offer.levels[s.year] if level_rank(lv) >= level_rank(ulevel)]
            if s.level not in lvls:
                lvls.append(s.level)
            _widget(st.selectbox, t("f_level", lang), lvls, "w_level", "level", s.level,
                    lambda lv: level_label(lv, lang))
        if "service" in filters:
            _widget(st.selectbox, t("f_service", lang), ctx.offer.services[s.year], "w_service", "service",
                    s.service, lambda x: ctx.service_label(x))
        if "indicator" in filters:
            _widget(st.selectbox, t("f_indicator", lang), ctx.offer.indicators[s.year], "w_indicator",
                    "indicator", s.indicator, lambda x: ctx.indicator_label(x))
        if "map" in filters:
            _widget(st.radio, t("f_map_style", lang), ["boundaries", "tiles"], "w_map", "map", s.map,
                    lambda x: t("map_" + x, lang))
        st.divider()
        st.caption(fmt.md(t("release_badge", lang, release=ctx.release.title)))
        st.caption(fmt.md(ctx.source()))


def _unit_options(ctx: Ctx) -> tuple[list[str], dict[str, str]]:
    """The unit filter's options in tree order and their labels (indented by level)."""
    s = ctx.state
    ref = ctx.offer.unit(s.year, s.unit)
    extra = s.unit if ref is not None and ref.level not in ("country", "province", "district") else None
    return _unit_options_for(ctx.root, ctx.release.id, ctx.release.fingerprint, s.year, extra, s.lang, ctx)


@st.cache_resource(show_spinner=False, max_entries=256)
def _unit_options_for(root: str, release_id: str, fingerprint: str, year: int, extra: str | None, lang: str,
                      _ctx: Ctx) -> tuple[list[str], dict[str, str]]:
    """Shared per release, year, language (and the commune shown, if any): read, never change."""
    ctx = _ctx
    refs = [r for r in ctx.offer.units[year].values() if r.level in ("country", "province", "district")
            or r.code == extra]
    refs.sort(key=lambda r: _tree_key(ctx, r))
    codes = [r.code for r in refs]
    labels = {c: ("· " * max(level_rank(ctx.offer.unit(year, c).level) - 1, 0)) + ctx.name(c, year) for c in codes}
    return codes, labels


def _tree_key(ctx: Ctx, ref: UnitRef):
    chain = []
    r = ref
    while r is not None:
        chain.append(r.code)
        r = ctx.offer.unit(ctx.state.year, r.parent) if r.parent else None
    return list(reversed(chain))


def header(ctx: Ctx, what: str, place: str | None = None, year: int | None = None) -> None:
    """The header line (what · where · when) with the release badge and the demo badge."""
    st.subheader(fmt.md(" · ".join(x for x in (what, place, str(year) if year else None) if x)))
    badges = [f":blue-badge[:material/inventory_2: {fmt.md(ctx.release.id)}]"]
    if ctx.release.is_demo:
        badges.append(f":red-badge[:material/warning: {ctx.t('demo_badge')}]")
    st.markdown(" ".join(badges))


def notes(ctx: Ctx, lines: list[str]) -> None:
    """The notes strip under a figure: n, interval, suppression, source, warnings."""
    st.caption("  \n".join(fmt.md(x) for x in [*lines, ctx.t("suppressed", threshold=ctx.threshold), ctx.source()]))


def n_line(ctx: Ctx, n, indicator: str, service: str = "all", level: str | None = None,
           summed: str | None = None) -> str:
    """"n = ..." saying what it counts: valid answers of a criterion, or forms (of the service, of
    the commune's services, or of every service and level); ``summed``: a level whose units' n
    are added up (they count only the services that level handles)."""
    n = fmt.count(n, ctx.lang)
    if indicator.split(":", 1)[0] in ("item", "perception", "expectation"):
        return ctx.t("n_line_answers", n=n)
    if summed:
        return ctx.t("n_line_forms_level", n=n, level=level_label(summed, ctx.lang, plural=True, year=ctx.state.year))
    if service != "all":
        return ctx.t("n_line_forms_service", n=n)
    if level == "commune":
        return ctx.t("n_line_forms_commune", n=n)
    return ctx.t("n_line_forms", n=n)


def n_label(ctx: Ctx, indicator: str) -> str:
    """The heading of an n column or metric: answers for a criterion, forms for a composite."""
    return ctx.t("n_answers" if indicator.split(":", 1)[0] in ("item", "perception", "expectation") else "n_forms")


def rank_text(ctx: Ctx, row, rank) -> str:
    """"6/11 xã của Huyện Tam Nông": the rank says among what; a unit alone has none."""
    if row is None:
        return ctx.t("loc_rank_none")
    parent = ctx.name(row["parent_code"]) if isinstance(row["parent_code"], str) and row["parent_code"] else ""
    if rank is None:
        if bool(row["suppressed"]) or not parent:
            return ctx.t("loc_rank_none")
        return ctx.t("rank_alone", parent=parent)
    return ctx.t("rank_among", rank=fmt.count(rank.rank, ctx.lang), total=fmt.count(rank.total, ctx.lang),
                 level=level_label(rank.level or row["level"], ctx.lang, plural=True, year=int(row["year"])),
                 parent=parent)


def _old_label(ctx: Ctx, code: str, vintage: str, now: str) -> str:
    """An old unit's name; qualified "(before 1/7/2025)" when it is the name of the unit shown."""
    import geo
    from ui import lineage
    u = geo.unit(code, vintage)
    name = u["name"] if u else code
    years = [y for y in ctx.offer.years if vintage_of(y) == vintage]
    if years and ctx.offer.unit(max(years), code) is not None:
        name = ctx.name(code, max(years))
    if name == now:
        nxt = lineage.vintage_after(vintage)
        return ctx.t("unit_before", name=name, date=lineage.reform_date(nxt)) if nxt else name
    return name


def change_lines(ctx: Ctx, row, prev) -> list[str]:
    """The change from the year before (``ui.queries.Previous``): a change only when both years
    cover the same area; a restated year says which old units and how many forms it counts."""
    if prev is None or prev.row is None:
        return []
    s = ctx.state
    out = []
    if prev.restated:
        olds = [_old_label(ctx, c, vintage_of(prev.year), ctx.name(s.unit)) for c, _ in prev.covered]
        parts = [ctx.t("cov_part", name=nm, n=fmt.count(n, ctx.lang)) if n is not None else nm
                 for nm, (_, n) in zip(olds, prev.covered)]
        if prev.missing:
            parts.append(ctx.t("cov_missing", names=", ".join(
                _old_label(ctx, c, vintage_of(prev.year), ctx.name(s.unit)) for c in prev.missing)))
        if parts:
            out.append(ctx.t("cov_restated", year=prev.year, parts="; ".join(parts)))
        if not prev.same_area:
            now = ", ".join(_old_label(ctx, c, vintage_of(prev.year), ctx.name(s.unit)) for c in prev.covered_now)
            before = ", ".join(olds) or "–"
            out.append(ctx.t("cov_not_same", year=s.year, prev=prev.year, now=now or "–", before=before))
            return out
    if row is not None:
        from ui import views
        ch = views.change_text(row["value"], prev.row["value"], ctx.lang)
        if ch:
            out.append(f"{ctx.t('ov_change', year=prev.year)}: {ch}" +
                       (f" ({ctx.t('restated')})" if prev.restated else "") + ".")
    return out


def restated_coverage(ctx: Ctx, years, service: str, indicator: str, unit: str | None = None) -> str:
    """One line saying which old units (and how many forms each, in the latest of ``years``) the
    restated points of ``unit`` (the view's by default) count, and which old units have no
    results in them."""
    from ui import queries
    s = ctx.state
    unit = unit or s.unit
    years = sorted({int(y) for y in years})
    if not years:
        return ""
    here = ctx.name(unit)
    covered, missing = {}, set()
    for y in years:
        have, absent = queries.coverage(ctx.read, year=y, unit=unit, vintage=s.vintage, service=service,
                                        indicator=indicator)
        covered.update(have)
        missing |= set(absent)
    missing -= set(covered)
    vint = vintage_of(years[0])
    parts = [ctx.t("cov_part", name=_old_label(ctx, c, vint, here), n=fmt.count(n, ctx.lang)) if n is not None
             else _old_label(ctx, c, vint, here) for c, n in covered.items()]
    if missing:
        parts.append(ctx.t("cov_missing", names=", ".join(_old_label(ctx, c, vint, here) for c in sorted(missing))))
    span = str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]}"
    return ctx.t("cov_series", years=span, parts="; ".join(parts)) if parts else ""


def _go_unit(code: str, year: int) -> None:
    """on_click of a lineage link: open that unit in its year (the URL follows, so it can be shared;
    a page link to the page itself would leave the address bar on the old view)."""
    ctx: Ctx = st.session_state.get("_ctx")
    if ctx is not None:
        st.query_params.from_dict(change_params(ctx.state, ctx.offer, year=year, unit=code, level=None))


def _link(ctx: Ctx, code: str, year: int, label: str, key: str) -> None:
    st.button(fmt.md(label), key=key, on_click=_go_unit, args=(code, year), icon=":material/location_on:",
              type="tertiary")


def lineage_box(ctx: Ctx) -> None:
    """Where the unit went after a reform, or what it was formed from, each a link to that unit
    in its own latest year."""
    from ui import lineage
    s = ctx.state
    if s.unit == COUNTRY or ctx.offer.unit(s.year, s.unit) is None:
        return
    here = ctx.name(s.unit)
    nxt, before = lineage.vintage_after(s.vintage), lineage.vintage_before(s.vintage)
    for other, codes in ((nxt, lineage.containing(s.unit, s.vintage) if nxt else []),
                         (before, lineage.predecessors(s.unit, s.vintage) if before else [])):
        years = [y for y in ctx.offer.years if vintage_of(y) == other]
        if not codes or not years:
            continue
        year = max(years)
        if other == nxt:
            labels = [ctx.name(c, year) for c in codes]
            labels = [ctx.t("unit_since", name=x, date=lineage.reform_date(nxt)) if x == here else x for x in labels]
            level = ctx.offer.unit(s.year, s.unit).level
            key = "lin_district_gone" if level == "district" else "lin_split" if len(codes) > 1 else "lin_part_of"
            st.info(fmt.md(ctx.t(key, date=lineage.reform_date(nxt), name=here, new=", ".join(labels))),
                    icon=":material/call_merge:")
        else:
            labels = [_old_label(ctx, c, before, here) for c in codes]
            st.info(fmt.md(ctx.t("lin_formed_from", name=here, date=lineage.reform_date(s.vintage),
                                 olds=", ".join(labels))), icon=":material/call_split:")
            if s.year >= (calendar.vintage(s.vintage).first_year or 0):
                st.caption(fmt.md(ctx.t("lin_restated_only", date=lineage.reform_date(s.vintage), name=here)))
        shown = [(c, x) for c, x in zip(codes, labels) if ctx.offer.unit(year, c) is not None]
        if shown and ctx.controls:
            cols = st.columns(min(len(shown), 3))
            for i, (c, x) in enumerate(shown[:12]):
                with cols[i % len(cols)]:
                    _link(ctx, c, year, ctx.t("lin_open", name=x, year=year), f"lin_{other}_{c}")


def comparability(ctx: Ctx, years) -> None:
    years = set(int(y) for y in years)
    if years and calendar.method_break_between(min(years), max(years)):
        st.warning(ctx.t("warn_method"), icon=":material/timeline:")
    if years and calendar.reform_between(min(years), max(years)):
        st.warning(ctx.t("warn_boundary"), icon=":material/map:")


def downloads(ctx: Ctx, frame: pd.DataFrame, name: str, key: str) -> None:
    """The view's CSV and XLSX, for a reader: labels in the viewer's language, values as shown
    and the provenance in the file (ui.export.ViewDownload). The labels are looked up here, in
    the page's run; the files are made on the click (here, or in the press kit)."""
    s = ctx.state
    years = [int(y) for y in frame["year"]] if "year" in frame else [s.year] * len(frame)

    def labels(col: str, label) -> dict:
        if col not in frame:
            return {}
        return {(y, v): label(v, y) for y, v in set(zip(years, frame[col])) if isinstance(v, str)}

    codes = {}
    for col in ("code", "unit_code", "area"):
        codes.update(labels(col, lambda c, y: ctx.name(c, y)))
    lab = dict(year=s.year, names=codes, services=labels("service", ctx.service_label),
               indicators=labels("indicator", ctx.indicator_label))
    from ui.strings import S
    page = f"page_{'methodology' if name == 'view' else name}"
    prov = export.Provenance(
        title=ctx.t("dl_title", app=ctx.t("app_title"), page=ctx.t(page) if page in S else name),
        indicator=ctx.indicator_label(s.indicator), place=ctx.name(s.unit), year=str(s.year),
        service=ctx.service_label(s.service), source=ctx.source(), release=ctx.release.id,
        demo=bool(ctx.release.is_demo))
    view = export.ViewDownload(frame, ctx.lang, prov, lab)
    ctx.frames.append(view)
    if not ctx.controls:
        return
    c1, c2 = st.columns(2)
    base = export.slug("sipas", ctx.release.id, name, s.year, s.unit, s.service, s.indicator.replace(":", "-"))
    # deferred: the files are made when the button is clicked, never on a rerun
    c1.download_button(ctx.t("me_view_csv"), view.csv,
                       f"{base}.csv", "text/csv", key=f"dl_csv_{key}", icon=":material/download:", on_click="ignore")
    c2.download_button(ctx.t("me_view_xlsx"), view.xlsx,
                       f"{base}.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                       key=f"dl_xlsx_{key}", icon=":material/download:", on_click="ignore")


def _text_twin(fig, lang: str, key: str) -> None:
    """Every chart's text alternative: a caption naming it and its numbers as a real HTML table
    (readable by screen readers; maps have their own table twin on the page), written as one
    Markdown table (see markdown_table): one element for the browser to draw, where st.table drew
    every cell as an element of its own. Every cell is made inert: a name from the data is shown
    as the plain text it is."""
    from ui import a11y
    # figures are shared between reruns (ui.figures.framed): their text twin is made once, with them
    twin = getattr(fig, "_sipas_twin", None)
    if twin is None or twin[0] != lang:
        is_map = any(tr.type.startswith("choropleth") for tr in fig.data)
        table = None if is_map else markdown_table(a11y.figure_table(fig, lang))
        twin = (lang, fmt.md(a11y.alt_text(fig, lang)), table)
        fig._sipas_twin = twin
    _, alt, table = twin
    st.caption(alt)
    if table is None:
        return
    if table:
        with st.expander(t("chart_table", lang), icon=":material/table_rows:"):
            st.markdown(table)


def markdown_table(table: pd.DataFrame) -> str:
    """``table`` as a GitHub Markdown table ("" when it has no rows), every heading and cell
    escaped by fmt.md (a "|" in a name is an escaped one, which a table cell shows as itself);
    the last column (the values) aligned right."""
    if not len(table):
        return ""
    cols = [fmt.md(c) for c in table.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * (len(cols) - 1) + "---:|"]
    lines += ["| " + " | ".join(fmt.md(v) for v in row) + " |" for row in table.astype(object).itertuples(index=False)]
    return "\n".join(lines)


def chart(fig, key: str, primary: bool = False, **kw):
    """A framed figure with its image downloads. ``theme=None``: the figure keeps its own fonts,
    colours and background, exactly as in an exported image. In embed mode only the page's
    ``primary`` figure is shown (see pages/_press.py)."""
    ctx: Ctx | None = st.session_state.get("_ctx")
    if ctx is not None:
        ctx.figures.append((key, fig))
        if ctx.state.mode == "embed":
            if primary:
                raise _press.EmbedFigure(fig, key)
            return None
    # no mode bar over a chart: on a phone it covered the title, zooming a 0-100 axis only
    # distorts it, and the image downloads are below every chart; a map keeps its zoom buttons
    is_map = any(tr.type.startswith("choropleth") for tr in fig.data)
    config = {**_press.CHART_CONFIG, "responsive": True, "displayModeBar": "hover" if is_map else False}
    event = st.plotly_chart(screen_figure(fig), key=key, width="stretch", theme=None, config=config, **kw)
    _text_twin(fig, ctx.lang if ctx is not None else "vi", key)
    if ctx is not None and ctx.controls:
        _press.image_menu(ctx, fig, key)
    return event


def _resolve_release(params: dict) -> tuple[str, object, list[str], str, tuple | None]:
    """(root, release, ids, fingerprint, notice): the wanted or newest release that this process can
    serve; ``notice`` is (strings key, release id) when it serves a last good copy or a fallback."""
    root = releases_root()
    rels = _release_list(root)
    if not rels:
        with st.spinner(t("building_demo", params.get("lang", "vi") if params.get("lang") in ("vi", "en") else "vi")):
            _ensure_release(root)
        _release_list.clear()
        rels = _release_list(root)
    keeper = _keeper(root)
    listed = [r[0] for r in rels]
    ids = listed + [k for k in keeper.kept_ids() if k not in listed]  # kept: served although gone
    if not ids:
        raise ReleaseError("no release")
    wanted = params.get("release")
    first = wanted if wanted in ids else ids[0]
    problems = []
    for rid in [first, *(i for i in listed if i != first)]:
        try:
            release, problem = keeper.get(rid)
        except ReleaseError as exc:  # never verified in this process: try the next listed release
            log.warning("release %s is not served: %s", rid, exc)
            problems.append(rid)
            continue
        notice = ("release_stale", rid) if problem else ("release_unreadable", problems[0]) if problems else None
        return root, release, ids, release.fingerprint, notice
    raise UnreadableReleases("no readable release: " + ", ".join(problems))


class UnreadableReleases(ReleaseError):
    """Releases are published, but none of them can be read (damaged or incomplete)."""


def _url_path(name: str) -> str:
    return next((url for n, url, _ in PAGES if n == name), name)


def run_app() -> None:
    """For a page file run as the script itself: run app.py, which draws the page (chosen by the
    URL, as always) in the frame. Streamlit runs a file of pages/ directly until app.py's
    st.navigation has run once in the process (the first visit of a fresh server may be to
    /map), and AppTest opens page files that way."""
    runpy.run_path(str(Path(__file__).resolve().parent.parent / "app.py"))


def run_page(name: str, body, filters: tuple[str, ...], links: dict) -> None:
    """The frame around the page ``name``: ``body(ctx)`` draws the page; ``filters`` are the
    sidebar's filters; ``links``: page name -> the st.Page app.py registered (sidebar links)."""
    lang = "vi"
    try:
        params = st.query_params.to_dict()
        if not params and st.session_state.get("_view"):
            params = dict(st.session_state["_view"])
        lang = params.get("lang") if params.get("lang") in ("vi", "en") else "vi"
        root, release, ids, fp, stale = _resolve_release(params)
        offer = _offer(root, release.id, fp, tuple(ids), _installed_boundaries())
        if stale and stale[0] == "release_unreadable" and params.get("release") == stale[1]:
            # the release asked for exists but cannot be read: the warning below says so; the URL's
            # check must not add that it was "not found"
            params = {k: v for k, v in params.items() if k != "release"}
        state, notices = parse_view(params, offer)
        lang = state.lang
        new_params = to_params(state)
        # The notice of a place carried across a reform is said on the run that carried it; the
        # URL kept (reload, bookmark, a copied address) is the view itself, without the way here.
        new_params.pop("from", None)
        if st.query_params.to_dict() != new_params:
            st.query_params.from_dict(new_params)
        st.session_state["_view"] = new_params
        ctx = Ctx(root, release, offer, state, notices, links=links)
        st.session_state["_ctx"] = ctx
        if state.mode == "embed":
            _press.embed(ctx, body, _url_path(name))
            return
        if state.mode == "present":
            _press.present_chrome(ctx, _url_path(name))
        else:
            _sidebar(ctx, filters)
        press_slot = st.container(key="press_toolbar") if ctx.controls else None  # app.py: last on a phone
        if stale:
            st.warning(t(stale[0], lang, release=fmt.md(stale[1])), icon=":material/inventory_2:")
        for n in notices:  # they quote URL values: escaped, shown as plain text
            st.info(fmt.md(n), icon=":material/info:")
        body(ctx)
        if press_slot is not None:
            _press.toolbar(ctx, press_slot, _url_path(name))
        else:
            _press.present_exit(ctx, _url_path(name))
    except ReleaseError as exc:
        log.warning("release problem: %s", exc)
        st.error(t("no_readable_release" if isinstance(exc, UnreadableReleases) else "no_release", lang))
    except Exception:
        log.exception("page %s failed", name)
        st.error(t("friendly_error", lang), icon=":material/error:")
