"""The Services page's criteria-by-units matrix, as a chart and as a table (pure, no Streamlit).

A 390 px phone leaves a chart about 330 px between its margins. The matrix is criteria (rows) by
units (columns); with criterion names in a left margin, twelve districts would get cells of 8
px. Here each criterion's name has its own line above its row of cells, as the bar charts of
ui/figures.py do, so the cells get the whole width: about 27 px a cell for twelve units on a
phone, 80 px on a desktop. The units are named above their columns, turned on end, so a name
takes the same width at any screen size. The colour bar lies under the plot.

Past ``CHART_MAX_COLUMNS`` units a cell would be too narrow for its number on a phone, so the page
offers the same matrix as a table first: one row per unit in the chart's order (weakest first),
one column per criterion, each cell coloured on the same fixed scale (:func:`heat_table`).

Colours are the fixed scale of ui/figures.py (``SCALE`` over ``indicator_range``), so a cell's
colour means the same value in both forms and in every other chart; a withheld cell or a missing
one is blank with "–", and its hover says which of the
two it is. Every name from a data file is escaped before it goes into the figure.
"""
from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from . import fmt
from .figures import SCALE, indicator_range
from .fmt import esc
from .strings import t

#: Above this many units the page shows the table first: a 358 px phone chart less its margins
#: leaves 13 units 25 px a cell, room for "83,4"; 14 would get under 24.
CHART_MAX_COLUMNS = 13
ROW_LABEL_PX = 18   # a criterion's name, on its own line above its cells
CELL_PX = 24        # the cells' height
ROW_LABEL_CHARS = 52  # at 12 px, what a phone's width holds
COLUMN_LABEL_CHARS = 24
COLUMN_LABEL_PX_PER_CHAR = 6.4  # 11 px text, turned on end
COLOUR_BAR_PX = 46  # under the plot: the bar and its ticks
SIDE_MARGIN = 12
MISSING = "–"


def short(text, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (the full text stays in the hover)."""
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _missing(x) -> bool:
    try:
        return x is None or math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def _hex(c: str) -> tuple[int, int, int]:
    c = c.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def colour_of(value, indicator: str = "sipas") -> str | None:
    """The colour a cell of ``value`` takes on the fixed scale (linear between the scale's stops,
    as plotly draws it; values beyond the bounds take the end colours); None for a missing one."""
    if _missing(value):
        return None
    lo, hi = indicator_range(indicator)
    f = min(max((float(value) - lo) / (hi - lo), 0.0), 1.0)
    for (f0, c0), (f1, c1) in zip(SCALE, SCALE[1:]):
        if f <= f1:
            w = 0.0 if f1 == f0 else (f - f0) / (f1 - f0)
            rgb = [round(a + (b - a) * w) for a, b in zip(_hex(c0), _hex(c1))]
            return "#{:02x}{:02x}{:02x}".format(*rgb)
    return SCALE[-1][1]


def text_colour(background: str) -> str:
    """Dark text on the light end of the scale, white on the dark end (WCAG relative luminance)."""
    def lin(v):
        v /= 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = (lin(v) for v in _hex(background))
    lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
    # the contrast with black against the contrast with white
    return "#111111" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#ffffff"


def _withheld(matrix: pd.DataFrame, withheld: pd.DataFrame | None) -> pd.DataFrame:
    if withheld is None:
        return pd.DataFrame(False, index=matrix.index, columns=matrix.columns)
    return withheld.reindex(index=matrix.index, columns=matrix.columns).fillna(False).astype(bool)


def criteria_heatmap(matrix: pd.DataFrame, lang: str, *, indicator: str = "sipas",
                     withheld: pd.DataFrame | None = None) -> go.Figure:
    """Criteria (``matrix.index``, unique names) by units (``matrix.columns``, in the order
    shown), values in percent, NaN where the release publishes none; ``withheld`` (same shape,
    True where the release withholds the cell) tells a withheld cell from one it does not have.

    Each row is a line with the criterion's name and, under it, a band of cells across the
    plot's whole width: the rows are one heatmap, and a white band (a shape, ``ROW_LABEL_PX`` of
    each row's ``ROW_LABEL_PX + CELL_PX``) between two rows holds the name of the row below it.
    The bands are in the axis' units, not pixels (plotly's ``ygap`` is), so a press image that
    gives the plot another height (ui/press.py) keeps the same proportions. The units are named
    above their columns, turned on end; the colour bar is under the plot. Cells show the value
    with one decimal, "–" when there is none."""
    zmin, zmax = indicator_range(indicator)
    held = _withheld(matrix, withheld)
    rows = [str(i) for i in matrix.index]
    cols = [str(c) for c in matrix.columns]
    z = matrix.to_numpy(dtype=float)
    text, hover = [], []
    for i, r in enumerate(rows):
        text.append([fmt.num(v, lang, 1) if not _missing(v) else MISSING for v in z[i]])
        hover.append([fmt.pct(v, lang) if not _missing(v)
                      else esc(t("suppressed_class" if held.iat[i, j] else "no_data_class", lang))
                      for j, v in enumerate(z[i])])
    n = len(rows)
    row_px = ROW_LABEL_PX + CELL_PX
    plot_h = max(n, 1) * row_px
    # each row's slot is half a band, the cells, half a band (the cells' numbers stay centred in
    # what shows of them); the range starts half a band higher, so the first name has its whole
    # line above the first row, and ends half a band higher too, so nothing is left under the last
    half = (ROW_LABEL_PX / 2) / row_px
    top_px = 10 + int(COLUMN_LABEL_PX_PER_CHAR * max((len(short(c, COLUMN_LABEL_CHARS)) for c in cols), default=4))
    fig = go.Figure(go.Heatmap(
        z=z, x=[esc(c) for c in cols], y=[esc(r) for r in rows], colorscale=SCALE, zmin=zmin, zmax=zmax,
        text=text, texttemplate="%{text}", textfont=dict(size=11), customdata=hover,
        hovertemplate="<b>%{x}</b><br>%{y}<br>%{customdata}<extra></extra>", xgap=1,
        colorbar=dict(orientation="h", thickness=10, len=1, lenmode="fraction", x=0, xanchor="left",
                      y=-8 / plot_h, yanchor="top", yref="paper", tickformat=".0f", ticksuffix="%",
                      tickfont=dict(size=11), outlinewidth=0)))
    fig.update_xaxes(side="top", type="category", tickangle=-90, automargin=False, fixedrange=True,
                     tickmode="array", tickvals=[esc(c) for c in cols],
                     ticktext=[esc(short(c, COLUMN_LABEL_CHARS)) for c in cols], tickfont=dict(size=11),
                     showgrid=False, ticks="")
    fig.update_yaxes(type="category", range=[n - 0.5 - half, -0.5 - half], showticklabels=False, ticks="",
                     showgrid=False, fixedrange=True, automargin=False)
    fig.layout.annotations = [
        dict(x=0, xref="paper", xanchor="left", y=i - 0.5, yref="y", yanchor="middle",
             text=esc(short(r, ROW_LABEL_CHARS)), showarrow=False, align="left",
             font=dict(size=12, color="#222"), name="row-label")
        for i, r in enumerate(rows)]
    # one path of n + 1 rectangles (a shape each cost plotly's validation n + 1 times)
    bands = "".join(f"M0,{k - 0.5 - half:.6f}H1V{k - 0.5 + half:.6f}H0Z" for k in range(n + 1))
    fig.layout.shapes = [dict(type="path", path=bands, xref="paper", yref="y", fillcolor="white",
                              line=dict(width=0), layer="above", name="name-bands")]
    fig.update_layout(height=plot_h + top_px + COLOUR_BAR_PX, plot_bgcolor="white",
                      margin=dict(l=SIDE_MARGIN, r=SIDE_MARGIN, t=top_px, b=COLOUR_BAR_PX),
                      meta={"builder": True})
    return fig


def heat_table(matrix: pd.DataFrame, lang: str, *, indicator: str = "sipas",
               withheld: pd.DataFrame | None = None, first: str = "") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The matrix as a table for a phone: one row per unit (``matrix.columns``, in their order),
    the unit's name under the heading ``first``, then one column per criterion
    (``matrix.index``) with the value at two decimals, "–" when there is none.

    Returns (the texts, their CSS): the same shape, each valued cell's background the colour it
    has in the chart and its text dark or white to read on it, the rest unstyled."""
    held = _withheld(matrix, withheld)
    texts = pd.DataFrame({first: [str(c) for c in matrix.columns]})
    css = pd.DataFrame({first: [""] * len(matrix.columns)})
    for k, crit in enumerate(matrix.index):
        vals = matrix.iloc[k].to_numpy(dtype=float)
        texts[str(crit)] = [fmt.num(v, lang) if not _missing(v) else MISSING for v in vals]
        styles = []
        for j, v in enumerate(vals):
            bg = colour_of(v, indicator)
            styles.append(f"background-color: {bg}; color: {text_colour(bg)}" if bg else
                          ("color: #6b6b6b; font-style: italic" if held.iat[k, j] else ""))
        css[str(crit)] = styles
    return texts, css


