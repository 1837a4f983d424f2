"""Streamlit glue for press output (not a page): image downloads under each chart, the share /
embed / press-kit toolbar, the embed view and presentation mode.

Nothing is rendered while a page runs: every image and the press kit are *deferred* downloads
(Streamlit calls the function on its own thread when the button is clicked), rendered by the one
``ui.press.Renderer`` of this process (cached with ``st.cache_resource``), so a rerun never waits
for a browser.
"""
from __future__ import annotations

import logging

import streamlit as st

from ui import export, fmt, press, share
from ui.figures import screen_figure
from ui.strings import level_label, t

log = logging.getLogger("sipas.press")

CHART_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2},
                "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
HIDE_CHROME = ("<style>[data-testid='stHeader'],[data-testid='stToolbar'],[data-testid='stSidebar'],"
               "[data-testid='stSidebarCollapsedControl'],[data-testid='stExpandSidebarButton']"
               "{display:none !important}</style>")
SCRATCH = "sipas_embed_scratch"  # keyed container whose content an embed never shows


class EmbedFigure(Exception):
    """Raised by ``chart(..., primary=True)`` in embed mode: the page stops at its primary figure."""

    def __init__(self, fig, key: str):
        super().__init__(key)
        self.fig, self.key = fig, key


@st.cache_resource(show_spinner=False)
def renderer() -> press.Renderer:
    """One renderer (one headless Chromium, started on the first image) per server process."""
    return press.Renderer()


def unavailable(ctx) -> str | None:
    """Why images cannot be made here (plain words), or None."""
    try:
        renderer().check()
        return None
    except press.RenderError as exc:
        return ctx.t("press_unavailable", reason=str(exc))


def _mime(kind: str) -> str:
    return "image/png" if kind == "png" else "image/svg+xml"


def _base(ctx, name: str) -> str:
    s = ctx.state
    return export.slug("sipas", ctx.release.id, name, s.year, s.unit, s.service, s.indicator.replace(":", "-"))


def image_menu(ctx, fig, key: str) -> None:
    """A small popover under a chart: PNG and SVG at both press sizes, made on click."""
    with st.popover(ctx.t("press_image"), icon=":material/image:", help=ctx.t("press_image_help")):
        reason = unavailable(ctx)
        if reason:
            st.warning(reason, icon=":material/hide_image:")
            return
        r = renderer()
        base = _base(ctx, key)
        for kind in ("png", "svg"):
            for size, (w, h) in press.SIZES.items():
                st.download_button(
                    ctx.t(f"press_{kind}_{size}"),
                    data=lambda fig=fig, w=w, h=h, kind=kind: r.render(fig, w, h, press.SCALE, kind),
                    file_name=f"{base}-{size}-{w}x{h}.{kind}", mime=_mime(kind), on_click="ignore",
                    key=f"img_{key}_{kind}_{size}", icon=":material/download:", width="stretch")


def facts(ctx) -> press.Facts:
    """The view's headline cell, labelled in Vietnamese (the press text is always Vietnamese)."""
    s = ctx.state
    m = ctx.scheme_for()
    try:
        ind = m.label_of(s.indicator, "vi")
    except (KeyError, StopIteration):
        ind = s.indicator
    svc = t("all_services", "vi") if s.service == "all" else (
        (m.service(s.service).label["vi"]) if m.service(s.service) else s.service)
    ref = ctx.offer.unit(s.year, s.unit)
    parent = ref.parent if ref is not None else None
    labels = {"indicator": ind, "place": ctx.name(s.unit) if s.unit != "VN" else t("nationwide", "vi"),
              "service": svc,
              "peers": level_label(ref.level, "vi", plural=True, year=s.year) if ref is not None else None,
              "parent": ctx.name(parent) if parent else None}
    return press.headline_facts(ctx.read, ctx.offer.years, year=s.year, unit=s.unit, service=s.service,
                                indicator=s.indicator, labels=labels)


@st.cache_resource(show_spinner=False, max_entries=1024)
def _key_numbers(root: str, release_id: str, fingerprint: str, link: str, _ctx) -> str:
    """The key-numbers paragraph of a view, made once per release and view (``link`` names the
    view: it carries every URL parameter)."""
    from ui.figures import source_line
    # the paragraph is Vietnamese whatever the page's language, and so is its source line
    return press.key_numbers_text(facts(_ctx), source_line(_ctx.release, "vi"), demo=_ctx.release.is_demo,
                                  link=link)


def _page_url(ctx, page: str) -> str:
    try:
        url = st.context.url
    except Exception:  # noqa: BLE001 - no browser context (tests, scripts)
        url = None
    return share.base_url(url, page)


def toolbar(ctx, slot, page: str) -> None:
    """Share (link, embed code, presentation mode), key numbers and the press kit, above the page."""
    s = ctx.state
    base_url = _page_url(ctx, page)
    link = share.share_url(base_url, s)
    text = ""
    try:
        text = _key_numbers(ctx.root, ctx.release.id, ctx.release.fingerprint, link, ctx)
    except Exception:  # deliberately broad: the key numbers must never break a page
        log.exception("key numbers failed")
    with slot:
        c1, c2, c3, _ = st.columns([1, 1, 1.4, 2.6])
        with c1.popover(ctx.t("share"), icon=":material/share:", width="stretch"):
            st.caption(ctx.t("share_link"))
            st.code(link, language=None, wrap_lines=True)
            st.caption(ctx.t("share_embed"))
            st.code(share.iframe(share.embed_url(base_url, s), "SIPAS"), language="html", wrap_lines=True)
            st.link_button(ctx.t("share_present"), share.present_url(base_url, s), icon=":material/slideshow:")
        if text:
            with c2.popover(ctx.t("key_numbers").split(" (")[0], icon=":material/format_quote:", width="stretch"):
                st.caption(ctx.t("key_numbers"))
                st.code(text, language=None, wrap_lines=True)
        reason = unavailable(ctx) if ctx.figures else None
        if reason:
            c3.warning(reason, icon=":material/hide_image:")
            return
        r = renderer()
        figs = list(ctx.figures)
        frame = ctx.frames[-1] if ctx.frames else None
        notes = [ctx.source()]
        base = _base(ctx, page)
        c3.download_button(ctx.t("press_kit"), key="press_kit", icon=":material/folder_zip:", on_click="ignore",
                           data=lambda: press.press_kit(r, figs, frame, text, base=base, notes=notes),
                           file_name=f"{base}-press-kit.zip", mime="application/zip",
                           help=ctx.t("press_kit_help"), width="stretch")


def embed(ctx, body, page: str) -> None:
    """Only the page's primary chart (title, place, n, source and watermark are in the figure)."""
    st.html(HIDE_CHROME + f"<style>.st-key-{SCRATCH}{{display:none !important}}</style>")
    fig = None
    with st.container(key=SCRATCH):
        try:
            body(ctx)
        except EmbedFigure as e:
            fig = e.fig
    if fig is None and ctx.figures:
        fig = ctx.figures[0][1]
    if fig is None:
        st.info(ctx.t("embed_none"))
    else:
        # as on the pages (pages._common.chart): no mode bar over a chart's title, maps keep their zoom
        is_map = any(tr.type.startswith("choropleth") for tr in fig.data)
        config = {**CHART_CONFIG, "responsive": True, "displayModeBar": "hover" if is_map else False}
        st.plotly_chart(screen_figure(fig), key="embed_chart", width="stretch", theme=None, config=config)
    st.caption(f"[{fmt.md(ctx.t('embed_open'))}]({share.share_url(_page_url(ctx, page), ctx.state)})")


def present_chrome(ctx, page: str) -> None:
    st.html(HIDE_CHROME)


def present_exit(ctx, page: str) -> None:
    st.caption(f"[{fmt.md(ctx.t('present_exit'))}]({share.share_url(_page_url(ctx, page), ctx.state)})")
