"""The widths that fit the pages' tables on a 390 px phone (pure, no Streamlit).

st.dataframe draws on a canvas, one line a cell unless its rows are taller than 4rem (then a text
cell wraps), and sizes a column to its longest text; on a 390 px phone a table has about 356 px
inside Streamlit's padding, and a column past that is scrolled off the screen. The widths below
(Source Sans at 14 px, measured in Chromium: about 7 px a digit, 6.5 px a header letter, 17 px of
padding) give every short column its text and the name column the rest, wrapped when it needs more.
"""
from __future__ import annotations

import math

import pandas as pd

from . import fmt

PHONE_TABLE_PX = 356
CELL_CHAR_PX = 7.0
HEAD_CHAR_PX = 6.5
CELL_PAD_PX = 18
NAME_MIN_PX = 96
WRAP_ROW_PX = 66  # the lowest row height at which Streamlit lets a text cell wrap (over 4rem)


def table_widths(frame: pd.DataFrame, headers: dict, wide, total: int = PHONE_TABLE_PX) -> tuple[dict, bool]:
    """Column widths (px) that fit ``frame`` in ``total``: each column but ``wide`` as wide as its
    longest text or its header (``headers``: column -> the heading shown), ``wide`` (the names)
    what is left, at least ``NAME_MIN_PX``. Also whether the names need to wrap in that width (the
    page then asks for rows of ``WRAP_ROW_PX``). A wider screen shares out the space left over."""
    widths = {}
    for col in frame.columns:
        if col == wide:
            continue
        cells = max((len(str(x)) for x in frame[col]), default=1)
        head = len(str(headers.get(col, col)))
        widths[col] = int(math.ceil(max(CELL_PAD_PX + CELL_CHAR_PX * cells, CELL_PAD_PX + HEAD_CHAR_PX * head)))
    rest = max(total - sum(widths.values()), NAME_MIN_PX)
    longest = max((len(str(x)) for x in frame[wide]), default=1) if wide in frame else 1
    needs = CELL_PAD_PX + CELL_CHAR_PX * longest
    widths = {wide: int(rest), **widths}
    return widths, needs > rest


TABLE_HEAD_PX = 36
TABLE_ROW_PX = 35  # Streamlit's own row height
TABLE_MAX_ROWS = 12  # a longer table keeps Streamlit's height and scrolls inside itself


def phone_table(frame: pd.DataFrame, headers: dict, wide) -> dict:
    """st.dataframe's keyword arguments (column_config as plain dicts, the row height, the
    height) for ``frame`` to fit a 390 px phone: ``headers`` maps a column to the shorter heading
    shown (its full name becomes the heading's help; the page says what the short ones mean),
    ``wide`` is the column of names, wrapped when :func:`table_widths` says they need it. A table
    of up to ``TABLE_MAX_ROWS`` rows is as tall as its rows, so it does not scroll inside itself."""
    shown = {c: str(headers.get(c, c)) for c in frame.columns}
    widths, wrap = table_widths(frame, shown, wide)
    config = {}
    for c in frame.columns:
        config[c] = {"label": shown[c], "width": widths[c]}
        if shown[c] != str(c):
            config[c]["help"] = fmt.md(c)
    out = {"column_config": config}
    row = WRAP_ROW_PX if wrap else TABLE_ROW_PX
    if wrap:
        out["row_height"] = WRAP_ROW_PX
    if len(frame) <= TABLE_MAX_ROWS:
        out["height"] = TABLE_HEAD_PX + row * len(frame) + 2
    return out
