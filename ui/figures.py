"""Plotly figure builders (pure functions, no Streamlit).

Every figure goes through :func:`frame_figure`, which puts inside the figure what a screenshot
needs to stand on its own: a plain title, a subtitle with place, year, service and n, a source
line and, for demo releases, a watermark.
"""
from __future__ import annotations

import math
import threading
from collections import OrderedDict

import pandas as pd
import plotly.graph_objects as go

from . import fmt, memo
from .fmt import esc
from .strings import t

FONT = "Noto Sans, Arial, sans-serif"
#: ColorBrewer YlGnBu (sequential, colour-blind safe), light = low, dark blue = high.
SCALE = [[0.0, "#ffffd9"], [0.125, "#edf8b1"], [0.25, "#c7e9b4"], [0.375, "#7fcdbb"],
         [0.5, "#41b6c4"], [0.625, "#1d91c0"], [0.75, "#225ea8"], [0.875, "#253494"], [1.0, "#081d58"]]
SUPPRESSED_COLOUR = "#9e9e9e"
NO_DATA_COLOUR = "#ececec"
LINE = "#1f5fa8"
CI_COLOUR = "rgba(31,95,168,0.25)"
HIGHLIGHT = "#d95f02"
PALETTE = ["#1f5fa8", "#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e"]  # Dark2-like, cb-friendly


def indicator_range(indicator: str) -> tuple[float, float]:
    """Fixed colour bounds per indicator family, so two screenshots compare."""
    kind = indicator.split(":", 1)[0]
    if kind in ("expectation", "perception"):
        return 0.0, 100.0
    return 50.0, 100.0


def source_line(release, lang: str) -> str:
    return t("source_line", lang, publisher=release.publisher, title=release.title,
             created=fmt.date(release.created))


# Phone-safe line lengths for a chart on screen: the server cannot know the viewport, and a
# 390 px phone leaves about 350 px for a chart (17 px bold title ~9 px a character, 13 px
# subtitle ~6.4, 11 px source ~5.9). Press images wrap for their own width (fit_width).
SCREEN_TITLE_WRAP = 36
SCREEN_SUBTITLE_WRAP = 46
SCREEN_SOURCE_WRAP = 56
TITLE_LINE_PX = 22
SUBTITLE_LINE_PX = 17
SOURCE_LINE_PX = 15
LEGEND_ROW_PX = 21
# Left margin for a vertical value axis with "100%" ticks (automargin is off: the framing's
# margins are computed, and the source line is placed from the figure's left edge).
VALUE_AXIS_MARGIN = 44


def _wrap(text: str, width: int) -> str:
    import textwrap
    return "<br>".join(esc(line) for line in textwrap.wrap(text, width)) or esc(text)


def _legend_entries(fig: go.Figure) -> int:
    return sum(1 for tr in fig.data if tr.showlegend is not False and tr.name)


def frame_figure(fig: go.Figure, title: str, subtitle: str, source: str, demo: bool,
                 lang: str = "vi", height: int | None = None, wrap: int = 110,
                 fit_width: int | None = None) -> go.Figure:
    """Title, subtitle (place · year · service · n), source line and demo watermark, in the figure.

    Everything is stacked in pixels so nothing overlaps at any width: the title block on top
    (its height from its wrapped lines), then the plot, then what the builder reserved below the
    plot (``margin.b``: ticks), then a one-entry-a-row legend for builders that ask for it
    (``meta["legend_below"]``), then the source line. A builder's ``height`` is its plot plus its
    own margins; the frame adds its own rows to it, unless ``height`` (the whole figure) is given.
    On screen the lines are wrapped to fit a phone (``wrap`` only shortens them further);
    ``fit_width`` (press images) wraps for that width instead."""
    hints = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    frame0 = hints.get("frame") or {}
    base_b = frame0.get("base_b", fig.layout.margin.b if fig.layout.margin.b is not None else 40)
    base_t = frame0.get("base_t", fig.layout.margin.t if hints.get("builder") and fig.layout.margin.t else 0)
    body_h = frame0.get("body_h", fig.layout.height)
    left = fig.layout.margin.l if fig.layout.margin.l is not None else 10
    right = fig.layout.margin.r if fig.layout.margin.r is not None else 10
    legend_below = bool(hints.get("legend_below"))
    if fit_width:
        t_wrap = max(40, int((fit_width - 30) / 10.5))
        s_wrap, src_wrap = t_wrap + 20, max(50, int((fit_width - 20) / 6.2))
    else:
        t_wrap = min(wrap, SCREEN_TITLE_WRAP)
        s_wrap, src_wrap = min(wrap + 20, SCREEN_SUBTITLE_WRAP), min(wrap, SCREEN_SOURCE_WRAP)
    head, sub, src = _wrap(title, t_wrap), _wrap(subtitle, s_wrap), _wrap(source, src_wrap)
    top = 14 + TITLE_LINE_PX * (head.count("<br>") + 1) + SUBTITLE_LINE_PX * (sub.count("<br>") + 1) + 10 + base_t
    legend_px = LEGEND_ROW_PX * _legend_entries(fig) + 8 if legend_below else 0
    bottom = base_b + legend_px + SOURCE_LINE_PX * (src.count("<br>") + 1) + 12
    # the raw frame and the builder's own margins travel with the figure, so an export can frame
    # it again for its own size
    fig.update_layout(meta={**{k: v for k, v in hints.items() if k != "frame"},
                            "frame": {"title": title, "subtitle": subtitle, "source": source, "demo": bool(demo),
                                      "lang": lang, "base_b": base_b, "base_t": base_t, "body_h": body_h}})
    fig.update_layout(
        title=dict(text=f"<b>{head}</b><br><span style='font-size:13px;color:#444'>{sub}</span>",
                   x=0.01, xanchor="left", xref="container", yref="container", y=1, yanchor="top",
                   pad=dict(t=14, l=4), font=dict(size=17)),
        font=dict(family=FONT, size=13, color="#222"),
        margin=dict(l=left, r=right, t=top, b=bottom, autoexpand=False),
        paper_bgcolor="white", plot_bgcolor="white",
        separators=",." if lang == "vi" else ".,",
    )
    total = height or (body_h + top - base_t + legend_px + bottom - base_b if body_h else None)
    if total:
        # a little below the edge: a Vietnamese capital's diacritic must not touch it
        fig.update_layout(height=total, title=dict(y=1 - 12 / total))
    if legend_below and total:
        plot_h = max(total - top - bottom, 1)
        fig.update_layout(legend=dict(orientation="v", x=0, xref="paper", xanchor="left", y=-(base_b + 2) / plot_h,
                                      yanchor="top", yref="paper", tracegroupgap=0, itemsizing="constant",
                                      font=dict(size=12), bgcolor="rgba(255,255,255,0)"),
                          showlegend=True)
    notes = [dict(text=src, xref="paper", yref="paper", x=0, y=0, xanchor="left",
                  yanchor="top", yshift=-(base_b + legend_px), xshift=-(left - 6), showarrow=False,
                  font=dict(size=11, color="#555"), align="left", name="source")]
    if demo:
        notes.append(dict(text=t("watermark", lang), xref="paper", yref="paper", x=0.5, y=0.5,
                          showarrow=False, textangle=-20, opacity=0.18,
                          font=dict(size=34, color="#b00020"), name="demo-watermark"))
    # one assignment (not update_layout, which merges lists item by item, nor add_annotation,
    # which validates every row label of a long bar chart again on each call)
    fig.layout.annotations = [*fig.layout.annotations, *notes]
    return fig


_MEMO: OrderedDict[bytes, go.Figure] = OrderedDict()
_MEMO_LOCK = threading.Lock()
MEMO_ENTRIES = 256


def framed(builder, *args, frame: dict, key=None, **kwargs) -> go.Figure:
    """``frame_figure(builder(*args, **kwargs), **frame)``, memoised on its inputs.

    Building a plotly figure costs tens of milliseconds of CPU (every property goes through
    plotly's validators), and every viewer of the same view asks for the same figure, so the
    framed figure is kept (LRU, per process) under a digest of the builder, its arguments and
    the frame. ``key``, when given, stands for the positional arguments (too big to digest on
    every call: a map's GeoJSON): the caller promises that equal keys mean equal ``args``. The
    figure returned is SHARED: read it (st.plotly_chart, a11y, press_figure copy it), never
    change it in place."""
    try:
        digest = memo.digest(builder.__module__, builder.__qualname__, key, args if key is None else None, kwargs,
                             frame)
    except Exception:  # noqa: BLE001 - an argument that cannot be digested: build without the memo
        return frame_figure(builder(*args, **kwargs), **frame)
    with _MEMO_LOCK:
        fig = _MEMO.get(digest)
        if fig is not None:
            _MEMO.move_to_end(digest)
            return fig
    fig = frame_figure(builder(*args, **kwargs), **frame)
    with _MEMO_LOCK:
        _MEMO[digest] = fig
        while len(_MEMO) > MEMO_ENTRIES:
            _MEMO.popitem(last=False)
    return fig


def subtitle(*parts) -> str:
    return " · ".join(str(p) for p in parts if p not in (None, ""))


def _hover_rows(df: pd.DataFrame, lang: str, threshold: int) -> list[list[str]]:
    rows = []
    for r in df.itertuples(index=False):
        name = esc(r.name)
        if getattr(r, "has_data", True) is False:
            rows.append([name, t("no_data_class", lang), "–", "–", "–", r.code])
            continue
        if bool(r.suppressed):
            rows.append([name, t("suppressed", lang, threshold=threshold), "–", fmt.count(r.n, lang), "–", r.code])
            continue
        rank = t("rank_of", lang, rank=fmt.count(r.rank, lang), total=fmt.count(r.total, lang)) \
            if not _nan(r.rank) else "–"
        rows.append([name, fmt.pct(r.value, lang), fmt.interval(r.ci_low, r.ci_high, lang),
                     fmt.count(r.n, lang), rank, r.code])
    return rows


def _nan(x) -> bool:
    try:
        return x is None or math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def choropleth(geojson: dict, cells: pd.DataFrame, indicator: str, lang: str, *, threshold: int = 30,
               highlight: str | None = None, tiles: bool = False, colorbar_title: str = "%") -> go.Figure:
    """A choropleth of ``cells`` (columns code, name, value, ci_low, ci_high, n, rank, total,
    suppressed, has_data) on ``geojson`` (feature id = code).

    Three traces: valued units on the fixed colour scale, suppressed units in grey ("too few
    answers") and units without data in light grey; the last two have legend entries and never
    take a value colour."""
    zmin, zmax = indicator_range(indicator)
    hover = ("<b>%{customdata[0]}</b><br>" + esc(t("hover_value", lang)) + ": %{customdata[1]}<br>"
             + esc(t("hover_ci", lang)) + ": %{customdata[2]}<br>n = %{customdata[3]}<br>"
             + esc(t("hover_rank", lang)) + ": %{customdata[4]}<extra></extra>")
    has = cells["has_data"].astype(bool) if "has_data" in cells else pd.Series(True, index=cells.index)
    sup = cells["suppressed"].fillna(False).astype(bool) & has
    val = has & ~sup & cells["value"].notna()
    nod = ~(val | sup)
    fig = go.Figure()
    by_id = {f["id"]: f for f in geojson.get("features", [])}

    def sub(codes) -> dict:  # each trace carries only its own features (smaller page)
        return {"type": "FeatureCollection", "features": [by_id[c] for c in codes if c in by_id]}

    common = dict(featureidkey="id", hovertemplate=hover, marker=dict(line=dict(color="white", width=0.6)))
    if val.any():
        d = cells[val]
        fig.add_trace(go.Choroplethmap(
            locations=d["code"], z=d["value"].astype(float), customdata=_hover_rows(d, lang, threshold),
            colorscale=SCALE, zmin=zmin, zmax=zmax, name=t("hover_value", lang), showlegend=False,
            colorbar=dict(title=dict(text=colorbar_title), thickness=12, len=0.6, x=1.0, y=0.55,
                          tickformat=".0f"),
            geojson=sub(d["code"]), **common))
    for mask, colour, key in ((sup, SUPPRESSED_COLOUR, "suppressed_class"), (nod, NO_DATA_COLOUR, "no_data_class")):
        if mask.any():
            d = cells[mask]
            fig.add_trace(go.Choroplethmap(
                locations=d["code"], z=[1] * len(d), customdata=_hover_rows(d, lang, threshold),
                colorscale=[[0, colour], [1, colour]], showscale=False, name=t(key, lang),
                showlegend=True, geojson=sub(d["code"]), **common))
    if highlight is not None and (cells["code"] == highlight).any():
        d = cells[cells["code"] == highlight]
        fig.add_trace(go.Choroplethmap(
            locations=d["code"], z=[1], colorscale=[[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]],
            showscale=False, geojson=sub(d["code"]), featureidkey="id", hoverinfo="skip", showlegend=False,
            marker=dict(line=dict(color=HIGHLIGHT, width=3))))
    lon, lat, zoom = _view(geojson)
    # MapLibre with the built-in blank style: no tiles, fonts or topojson fetched from a CDN
    fig.update_layout(map=dict(style="white-bg", center=dict(lon=lon, lat=lat), zoom=zoom))
    fig.update_layout(dragmode="pan", legend=dict(orientation="h", x=0, y=-0.01, yanchor="top"),
                      clickmode="event+select", margin=dict(b=36))
    return fig


def _bounds(geojson: dict):
    xs, ys = [], []

    def walk(c):
        if c and isinstance(c[0], (int, float)):
            xs.append(c[0])
            ys.append(c[1])
        else:
            for x in c:
                walk(x)
    for f in geojson.get("features", []):
        walk(f["geometry"]["coordinates"])
    return (min(xs), min(ys), max(xs), max(ys)) if xs else (102.0, 8.0, 110.0, 23.5)


def mercator_y(lat: float) -> float:
    """Web-mercator y of a latitude (radians of the projection; latitudes clamped to ±85°)."""
    lat = max(min(lat, 85.0), -85.0)
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def _view(geojson: dict, width_px: float = 900, height_px: float = 470) -> tuple[float, float, float]:
    """Centre and zoom that fit the features (web-mercator zoom from the bounding box)."""
    x0, y0, x1, y1 = _bounds(geojson)
    lon = (x0 + x1) / 2
    dx = max(x1 - x0, 1e-6) / 360.0
    dy = max(mercator_y(y1) - mercator_y(y0), 1e-6) / (2 * math.pi)
    zoom = min(math.log2(width_px / 512 / dx), math.log2(height_px / 512 / dy))
    lat_c = math.degrees(math.atan(math.sinh((mercator_y(y0) + mercator_y(y1)) / 2)))
    return lon, lat_c, max(min(zoom - 0.15, 16), 0)


def label_margin(labels, px_per_char: float = 7.2, cap: int = 380) -> int:
    """Left margin (px) that fits the longest category label (axis automargin is off so the
    source line can be placed from the figure's left edge)."""
    longest = max((len(str(x)) for x in labels), default=4)
    return int(min(16 + px_per_char * longest, cap))


# Horizontal bars are laid out in rows that fit a phone: each category's name on its own line
# above its bar(s), so the name never competes with the bars for width (a left margin wide
# enough for "Tiếp nhận, xử lý góp ý, phản ánh, kiến nghị" left a 390 px phone no bars), and the
# values in a column right of the plot, where no interval whisker can run through them.
ROW_LABEL_PX = 19
BAR_PX = 18
GROUP_BAR_PX = 14
ROW_GAP_PX = 7
LABEL_CHARS = 44
VALUE_FONT = 12
BAR_AXIS_PX = 26  # below the plot: the value ticks
NOT_SHOWN = "#6b6b6b"


def value_margin(texts, px_per_char: float = 7.0) -> int:
    """Right margin (px) for the value column: its longest text and a small gap."""
    longest = max((len(str(x)) for x in texts), default=5)
    return int(12 + px_per_char * longest)


def _short(label) -> str:
    label = str(label)
    return label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1] + "…"


def _bar_rows(n_series: int) -> tuple[float, float, float]:
    """(row height px, label share of a row, bar share of a row) for ``n_series`` bars a row."""
    bar_px = BAR_PX if n_series == 1 else GROUP_BAR_PX
    row = ROW_LABEL_PX + bar_px * n_series + ROW_GAP_PX
    return row, ROW_LABEL_PX / row, bar_px / row


def _value_axis(fig: go.Figure) -> None:
    """The value axis of every bar chart: 0 to 100, so a bar's length is its value."""
    fig.update_xaxes(range=[0, 100], dtick=20, ticksuffix="%", gridcolor="#e6e6e6", zeroline=True,
                     zerolinecolor="#888", fixedrange=True, automargin=False, title=None)


def _row_frame(fig: go.Figure, cats: list[str], n_series: int, extra_top: int, right: int) -> None:
    row_px, _, _ = _bar_rows(n_series)
    n = len(cats)
    # category axis kept (the text twin reads the categories from it), its ticks replaced by the
    # labels above the bars
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=cats, range=[n - 0.5, -0.5],
                     showticklabels=False, showgrid=False, fixedrange=True, automargin=False)
    fig.update_layout(height=int(row_px * n) + BAR_AXIS_PX + extra_top, bargap=0, barmode="overlay",
                      margin=dict(l=14, r=right, t=extra_top, b=BAR_AXIS_PX), showlegend=n_series > 1,
                      meta={"builder": True, "legend_below": n_series > 1})


# The row texts are plain dicts set on the layout in one assignment: fig.add_annotation copies
# the whole annotation list on every call (a province's 141 communes took seconds).

def _row_label(i: int, text: str, label_share: float) -> dict:
    return dict(x=0, xref="paper", xanchor="left", y=i - 0.5 + label_share, yref="y", yanchor="bottom",
                text=text, showarrow=False, align="left", font=dict(size=13, color="#222"),
                name="row-label", yshift=-1)


def _value_label(y: float, text: str, colour: str = "#222", size: int = VALUE_FONT) -> dict:
    return dict(x=1, xref="paper", xanchor="left", xshift=4, y=y, yref="y", yanchor="middle",
                text=text, showarrow=False, font=dict(size=size, color=colour), name="value-label")


def _withheld_label(y: float, text: str) -> dict:
    """A withheld (or empty) bar is a labelled row, never a gap that reads as zero."""
    return dict(x=0, xref="x", xanchor="left", xshift=4, y=y, yref="y", yanchor="middle",
                text=f"<i>{esc(text)}</i>", showarrow=False, font=dict(size=VALUE_FONT, color=NOT_SHOWN),
                name="withheld-label")


def _whiskers(vals, lows, highs):
    plus = [None if _nan(v) or _nan(hi) else max(float(hi) - float(v), 0.0) for v, hi in zip(vals, highs)]
    minus = [None if _nan(v) or _nan(lo) else max(float(v) - float(lo), 0.0) for v, lo in zip(vals, lows)]
    return plus, minus


def bar_ci(labels: list[str], values, lows, highs, ns, lang: str, *, indicator: str = "sipas",
           suppressed=None, reference: float | None = None, reference_label: str = "") -> go.Figure:
    """Horizontal bars from 0 with 95% interval whiskers, one row per label (name above its bar,
    value right of the plot). A withheld or empty row keeps its place with its label saying so."""
    labels = [str(lb) for lb in labels]
    withheld = [bool(suppressed[i]) if suppressed is not None else False for i in range(len(labels))]
    vals = [None if w or _nan(v) else float(v) for v, w in zip(values, withheld)]
    cats = [esc(lb) for lb in labels]
    row_px, label_share, bar_share = _bar_rows(1)
    offset = -0.5 + label_share
    hover = [f"<b>{esc(lb)}</b><br>{fmt.pct(v, lang)}<br>{esc(t('hover_ci', lang))}: "
             f"{fmt.interval(lo, hi, lang)}<br>n = {fmt.count(n, lang)}" if v is not None else
             f"<b>{esc(lb)}</b><br>{esc(t('suppressed_class' if w else 'no_data_class', lang))}"
             for lb, v, lo, hi, n, w in zip(labels, vals, lows, highs, ns, withheld)]
    plus, minus = _whiskers(vals, lows, highs)
    fig = go.Figure(go.Bar(
        y=cats, x=vals, orientation="h", marker_color=LINE, width=bar_share, offset=offset,
        error_x=dict(type="data", array=plus, arrayminus=minus, color="#222", thickness=1.2, width=4),
        hovertext=hover, hoverinfo="text", textposition="none", showlegend=False))
    texts = [fmt.num(v, lang) for v in vals if v is not None]
    _value_axis(fig)
    extra_top = 20 if reference is not None and not _nan(reference) else 4
    _row_frame(fig, cats, 1, extra_top, value_margin(texts or ["100,00"]))
    notes = []
    for i, (lb, v, w) in enumerate(zip(labels, vals, withheld)):
        notes.append(_row_label(i, esc(_short(lb)), label_share))
        centre = i + offset + bar_share / 2
        if v is None:
            notes.append(_withheld_label(centre, t("suppressed_class" if w else "no_data_class", lang)))
        else:
            notes.append(_value_label(centre, fmt.num(v, lang)))
    if reference is not None and not _nan(reference):
        fig.add_shape(type="line", x0=reference, x1=reference, xref="x", y0=0, y1=1, yref="paper",
                      line=dict(dash="dash", color=HIGHLIGHT, width=1.5))
        notes.append(dict(x=reference, xref="x", y=1, yref="paper", yanchor="bottom", text=esc(reference_label),
                          showarrow=False, font=dict(size=12, color=HIGHLIGHT), name="reference-label"))
    fig.update_layout(annotations=notes)
    return fig


def trend(df: pd.DataFrame, lang: str, *, indicator: str = "sipas", national: pd.DataFrame | None = None) -> go.Figure:
    """Lines over years with interval bands. ``df``: series, year, value, ci_low, ci_high, n,
    restated (bool). Restated points are drawn dashed and named as restated; the method break
    between 2021 and 2022 and the unit change before 2025 are marked. The legend is one entry a
    row below the years (placed by ``frame_figure``), so it never sits on an axis title."""
    fig = go.Figure()
    for i, (series, d) in enumerate(df.groupby("series", sort=False)):
        colour = PALETTE[i % len(PALETTE)]
        for restated, part in d.groupby(d["restated"].astype(bool), sort=False):
            part = part.sort_values("year")
            name = esc(series) + (f" ({esc(t('restated', lang))})" if restated else "")
            hover = [f"<b>{name}</b> · {y}<br>{fmt.pct(v, lang)}<br>{esc(t('hover_ci', lang))}: "
                     f"{fmt.interval(lo, hi, lang)}<br>n = {fmt.count(n, lang)}"
                     for y, v, lo, hi, n in zip(part.year, part.value, part.ci_low, part.ci_high, part.n)]
            fig.add_trace(go.Scatter(
                x=part["year"], y=part["value"], mode="lines+markers", name=name,
                line=dict(color=colour, dash="dot" if restated else "solid", width=2.5),
                error_y=dict(type="data", array=(part["ci_high"] - part["value"]).tolist(),
                             arrayminus=(part["value"] - part["ci_low"]).tolist(), color=colour, thickness=1),
                hovertext=hover, hoverinfo="text", connectgaps=False))
    if national is not None and len(national):
        nat = national.sort_values("year")
        fig.add_trace(go.Scatter(x=nat["year"], y=nat["value"], mode="markers+lines",
                                 name=esc(t("national_official", lang)),
                                 line=dict(color="#777", dash="dash", width=1.5), marker=dict(symbol="diamond"),
                                 hovertext=[f"{esc(t('national_official', lang))} · {y}: {fmt.pct(v, lang)}"
                                            for y, v in zip(nat.year, nat.value)], hoverinfo="text"))
    years = sorted(set(df["year"]) | (set(national["year"]) if national is not None and len(national) else set()))
    if years and min(years) <= 2021 < max(years):
        fig.add_vline(x=2021.5, line_dash="dot", line_color="#b00020",
                      annotation_text=esc(t("method_break", lang)), annotation_position="top left",
                      annotation_font=dict(size=12, color="#b00020"))
    lo_axis, _ = indicator_range(indicator)
    # a line's level is read against its neighbours, not its length: the axis may start above 0
    # (40 for the satisfaction indices), never below the data
    low = lo_axis if lo_axis == 0 else 40
    if len(df) and df["ci_low"].notna().any():
        low = min(low, 10 * math.floor(float(df["ci_low"].min()) / 10))
    fig.update_xaxes(dtick=1, title=None, gridcolor="#eee", fixedrange=True, automargin=False)
    fig.update_yaxes(title=None, ticksuffix="%", gridcolor="#eee", range=[max(low, 0), 100],
                     dtick=10 if low >= 40 else 20, fixedrange=True, automargin=False)
    fig.update_layout(height=300 + 20 + 24, margin=dict(l=VALUE_AXIS_MARGIN, r=14, t=20, b=24), showlegend=True,
                      meta={"builder": True, "legend_below": True})
    return fig


def grouped_bars(df: pd.DataFrame, lang: str, *, indicator: str = "sipas") -> go.Figure:
    """Horizontal bars from 0, one row per category (``label``, its name above), one bar per
    ``series`` in it, interval whiskers, values right of the plot, withheld bars labelled.
    ``df``: series, label, value, ci_low, ci_high, n, suppressed."""
    fig = go.Figure()
    cats = list(dict.fromkeys(esc(x) for x in df["label"]))
    index = {c: i for i, c in enumerate(cats)}
    groups = list(df.groupby("series", sort=False))
    k = max(len(groups), 1)
    row_px, label_share, bar_share = _bar_rows(k)
    texts, notes = [], []
    for s_i, (series, d) in enumerate(groups):
        withheld = d["suppressed"].fillna(False).astype(bool).tolist()
        vals = [None if w or _nan(v) else float(v) for v, w in zip(d["value"], withheld)]
        offset = -0.5 + label_share + s_i * bar_share
        plus, minus = _whiskers(vals, d["ci_low"], d["ci_high"])
        y = [esc(x) for x in d["label"]]
        fig.add_trace(go.Bar(
            y=y, x=vals, orientation="h", name=esc(series), marker_color=PALETTE[s_i % len(PALETTE)],
            width=bar_share * 0.9, offset=offset,
            error_x=dict(type="data", array=plus, arrayminus=minus, color="#333", thickness=1, width=3),
            hovertext=[f"<b>{esc(series)}</b><br>{esc(lb)}: "
                       + (fmt.pct(x, lang) if x is not None else esc(t("suppressed_class", lang)))
                       + f"<br>n = {fmt.count(n, lang)}" for lb, x, n in zip(d["label"], vals, d["n"])],
            hoverinfo="text", textposition="none"))
        for c, v, w in zip(y, vals, withheld):
            centre = index[c] + offset + bar_share * 0.45
            if v is None:
                notes.append(_withheld_label(centre, t("suppressed_class" if w else "no_data_class", lang)))
            else:
                texts.append(fmt.num(v, lang))
                notes.append(_value_label(centre, fmt.num(v, lang), PALETTE[s_i % len(PALETTE)], 11))
    _value_axis(fig)
    _row_frame(fig, cats, k, 4, value_margin(texts or ["100,00"], 6.5))
    notes += [_row_label(i, _short_esc(c), label_share) for c, i in index.items()]
    fig.update_layout(annotations=notes)
    return fig


def _short_esc(escaped: str) -> str:
    import html
    return esc(_short(html.unescape(escaped)))


ROW_TEXTS = ("row-label", "value-label", "withheld-label")


def screen_figure(fig: go.Figure) -> go.Figure:
    """The figure as the page draws it: a bar chart's row names, values and withheld labels as one
    text trace instead of one annotation each.

    In the browser every annotation is a group of its own that plotly measures and places on its
    own; a ranking of a dozen rows carries two dozen of them. The text trace puts the same texts at
    the same places (on a hidden linear axis over the category axis: a category axis has no
    positions between its rows). The figure built by :func:`bar_ci` / :func:`grouped_bars` keeps
    its annotations: the text twin and the press images (``ui/press.py`` drops the names of a
    ranking too long for an image by their annotation names) read those. ``fig`` is shared
    (:func:`framed`), so the copy is made once per figure and kept on it; read it, never change it."""
    done = getattr(fig, "_sipas_screen", None)
    if done is not None:
        return done
    rows = [a for a in fig.layout.annotations if a.name in ROW_TEXTS and a.yref == "y"]
    cats = fig.layout.yaxis.categoryarray
    if not rows or not cats or not fig.data or any(tr.type != "bar" for tr in fig.data):
        fig._sipas_screen = fig
        return fig
    xs, ys, texts, where, colours, sizes = [], [], [], [], [], []
    lo, hi = (fig.layout.xaxis.range or (0, 100))
    # placed from its baseline, a text sits about 2 px off the annotation it replaces (a name
    # lower, a value higher): the rows' own height in pixels (_row_frame) gives that in axis units
    shift = 2 / _bar_rows(max(len(fig.data), 1))[0]
    for a in rows:
        ys.append(a.y - shift if a.name == "row-label" else a.y + shift)
        colours.append(a.font.color or "#222")
        sizes.append(a.font.size or VALUE_FONT)
        texts.append("\u00a0" + a.text)  # a space from its edge, as the annotation's padding kept it
        # a name above its bar from the plot's left edge; a value right of the plot; withheld
        # from the bar's start
        xs.append(hi if a.name == "value-label" else lo)
        where.append("top right" if a.name == "row-label" else "middle right")
    layout = fig.layout.to_plotly_json()
    layout["annotations"] = [a for a in layout.get("annotations", ()) if a.get("name") not in ROW_TEXTS
                             or a.get("yref") != "y"]
    layout["yaxis2"] = dict(overlaying="y", range=list(fig.layout.yaxis.range), visible=False, fixedrange=True,
                            showgrid=False, zeroline=False)
    out = go.Figure(data=fig.data, layout=layout)
    out.add_trace(go.Scatter(x=xs, y=ys, text=texts, mode="text", textposition=where, yaxis="y2",
                             textfont=dict(color=colours, size=sizes, family=FONT), cliponaxis=False,
                             hoverinfo="skip", showlegend=False, name="row-texts"))
    fig._sipas_screen = out
    return out
