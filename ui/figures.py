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


# Left margin for a vertical value axis: its title and "100" ticks (automargin is bounded by the
# framing's fixed margins, so a narrow column clipped them).
VALUE_AXIS_MARGIN = 64


def _wrap(text: str, width: int) -> str:
    import textwrap
    return "<br>".join(esc(line) for line in textwrap.wrap(text, width)) or esc(text)


def frame_figure(fig: go.Figure, title: str, subtitle: str, source: str, demo: bool,
                 lang: str = "vi", height: int | None = None, wrap: int = 110) -> go.Figure:
    """Title, subtitle (place · year · service · n), source line and demo watermark, in the figure.

    The source line sits under whatever the builder put at the bottom (axis title, legend): the
    bottom margin is grown by the source's height."""
    base_b = fig.layout.margin.b if fig.layout.margin.b is not None else 40
    left = fig.layout.margin.l if fig.layout.margin.l is not None else 10
    # the raw frame travels with the figure, so an export can frame it again for its own size
    fig.update_layout(meta={"frame": {"title": title, "subtitle": subtitle, "source": source, "demo": bool(demo),
                                      "lang": lang, "base_b": base_b}})
    src = _wrap(source, wrap)
    src_lines = src.count("<br>") + 1
    fig.update_layout(
        title=dict(text=f"<b>{_wrap(title, wrap)}</b><br>"
                        f"<span style='font-size:13px;color:#444'>{_wrap(subtitle, wrap + 20)}</span>",
                   x=0.01, xanchor="left", xref="container", yref="container", y=1, yanchor="top",
                   pad=dict(t=14, l=4), font=dict(size=17)),
        font=dict(family=FONT, size=13, color="#222"),
        margin=dict(l=left, r=10, t=92, b=base_b + 18 * src_lines + 10),
        paper_bgcolor="white", plot_bgcolor="white",
        separators=",." if lang == "vi" else ".,",
    )
    if height:
        fig.update_layout(height=height)
    fig.add_annotation(text=src, xref="paper", yref="paper", x=0, y=0, xanchor="left",
                       yanchor="top", yshift=-base_b, xshift=-(left - 6), showarrow=False,
                       font=dict(size=11, color="#555"),
                       align="left", name="source")
    if demo:
        fig.add_annotation(text=t("watermark", lang), xref="paper", yref="paper", x=0.5, y=0.5,
                           showarrow=False, textangle=-20, opacity=0.18,
                           font=dict(size=34, color="#b00020"), name="demo-watermark")
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


def _view(geojson: dict, width_px: float = 900, height_px: float = 470) -> tuple[float, float, float]:
    """Centre and zoom that fit the features (web-mercator zoom from the bounding box)."""
    x0, y0, x1, y1 = _bounds(geojson)
    lon = (x0 + x1) / 2

    def merc(y):
        y = max(min(y, 85.0), -85.0)
        return math.log(math.tan(math.pi / 4 + math.radians(y) / 2))
    dx = max(x1 - x0, 1e-6) / 360.0
    dy = max(merc(y1) - merc(y0), 1e-6) / (2 * math.pi)
    zoom = min(math.log2(width_px / 512 / dx), math.log2(height_px / 512 / dy))
    lat_c = math.degrees(math.atan(math.sinh((merc(y0) + merc(y1)) / 2)))
    return lon, lat_c, max(min(zoom - 0.15, 16), 0)


def label_margin(labels, px_per_char: float = 7.2, cap: int = 380) -> int:
    """Left margin (px) that fits the longest category label (axis automargin is off so the
    source line can be placed from the figure's left edge)."""
    longest = max((len(str(x)) for x in labels), default=4)
    return int(min(16 + px_per_char * longest, cap))


def bar_ci(labels: list[str], values, lows, highs, ns, lang: str, *, indicator: str = "sipas",
           suppressed=None, reference: float | None = None, reference_label: str = "") -> go.Figure:
    """Horizontal bars with 95% interval whiskers; suppressed bars are omitted and labelled."""
    vals = [None if (suppressed is not None and suppressed[i]) else v for i, v in enumerate(values)]
    text = [t("suppressed_class", lang) if v is None or _nan(v) else fmt.num(v, lang) for v in vals]
    hover = [f"<b>{esc(lb)}</b><br>{fmt.pct(v, lang)}<br>{esc(t('hover_ci', lang))}: "
             f"{fmt.interval(lo, hi, lang)}<br>n = {fmt.count(n, lang)}"
             for lb, v, lo, hi, n in zip(labels, vals, lows, highs, ns)]
    err_plus = [None if v is None or _nan(v) or _nan(hi) else hi - v for v, hi in zip(vals, highs)]
    err_minus = [None if v is None or _nan(v) or _nan(lo) else v - lo for v, lo in zip(vals, lows)]
    short = [lb if len(lb) <= 44 else lb[:43] + "…" for lb in map(str, labels)]
    fig = go.Figure(go.Bar(
        y=[esc(lb) for lb in short], x=vals, orientation="h", marker_color=LINE, text=text,
        textposition="inside", insidetextanchor="end", textfont=dict(color="white"),
        error_x=dict(type="data", array=err_plus, arrayminus=err_minus, color="#222", thickness=1.2),
        hovertext=hover, hoverinfo="text"))
    lo_axis, hi_axis = indicator_range(indicator)
    fig.update_xaxes(range=[0 if lo_axis == 0 else 40, 100], title=t("value", lang), gridcolor="#eee")
    fig.update_yaxes(autorange="reversed", automargin=False)
    if reference is not None and not _nan(reference):
        fig.add_vline(x=reference, line_dash="dash", line_color=HIGHLIGHT,
                      annotation_text=esc(reference_label), annotation_position="top")
    fig.update_layout(height=max(300, 170 + 30 * len(labels)), showlegend=False,
                      margin=dict(b=50, l=label_margin(short)))
    return fig


def trend(df: pd.DataFrame, lang: str, *, indicator: str = "sipas", national: pd.DataFrame | None = None) -> go.Figure:
    """Lines over years with interval bands. ``df``: series, year, value, ci_low, ci_high, n,
    restated (bool). Restated points are drawn dashed and named as restated; the method break
    between 2021 and 2022 and the unit change before 2025 are marked."""
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
                      annotation_text=esc(t("method_break", lang)), annotation_position="top left")
    lo_axis, _ = indicator_range(indicator)
    fig.update_xaxes(dtick=1, title=t("year", lang), gridcolor="#eee")
    fig.update_yaxes(title=t("value", lang), gridcolor="#eee", range=[lo_axis if lo_axis == 0 else 40, 100])
    n_series = len(fig.data)
    fig.update_layout(legend=dict(orientation="h", x=0, y=-0.16, yanchor="top"), height=400 + 22 * n_series,
                      margin=dict(l=VALUE_AXIS_MARGIN, b=70 + 24 * n_series))
    return fig


def grouped_bars(df: pd.DataFrame, lang: str, *, indicator: str = "sipas") -> go.Figure:
    """Bars per category (``label``) grouped by ``series`` with interval whiskers.
    ``df``: series, label, value, ci_low, ci_high, n, suppressed."""
    fig = go.Figure()
    for i, (series, d) in enumerate(df.groupby("series", sort=False)):
        v = d["value"].where(~d["suppressed"].astype(bool))
        fig.add_trace(go.Bar(
            x=[esc(x) for x in d["label"]], y=v, name=esc(series), marker_color=PALETTE[i % len(PALETTE)],
            error_y=dict(type="data", array=(d["ci_high"] - v).tolist(), arrayminus=(v - d["ci_low"]).tolist(),
                         color="#333", thickness=1),
            hovertext=[f"<b>{esc(series)}</b><br>{esc(lb)}: {fmt.pct(x, lang)}<br>n = {fmt.count(n, lang)}"
                       for lb, x, n in zip(d["label"], v, d["n"])], hoverinfo="text"))
    lo_axis, _ = indicator_range(indicator)
    fig.update_yaxes(range=[lo_axis if lo_axis == 0 else 40, 100], title=t("value", lang), gridcolor="#eee")
    fig.update_layout(barmode="group", legend=dict(orientation="h", x=0, y=-0.25, yanchor="top"),
                      height=460, margin=dict(l=VALUE_AXIS_MARGIN, b=130))
    return fig


def heatmap(matrix: pd.DataFrame, lang: str, *, indicator: str = "sipas", ns: pd.DataFrame | None = None) -> go.Figure:
    """Criteria (rows) by units or years (columns), on the fixed scale. NaN = suppressed/no data."""
    zmin, zmax = indicator_range(indicator)
    text = [[fmt.num(v, lang, 1) if not _nan(v) else "–" for v in row] for row in matrix.to_numpy()]
    fig = go.Figure(go.Heatmap(
        z=matrix.to_numpy(dtype=float), x=[esc(c) for c in matrix.columns], y=[esc(i) for i in matrix.index],
        colorscale=SCALE, zmin=zmin, zmax=zmax, text=text, texttemplate="%{text}",
        hovertemplate="%{y}<br>%{x}: %{text}<extra></extra>", colorbar=dict(thickness=12, title=dict(text="%"))))
    fig.update_yaxes(autorange="reversed", automargin=False)
    fig.update_layout(height=max(340, 200 + 26 * len(matrix.index)),
                      margin=dict(b=90, l=label_margin(list(matrix.index))))
    return fig
