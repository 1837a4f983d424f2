"""Downloads of exactly what a view shows: CSV (UTF-8 with BOM, for Excel) and XLSX.

Every spreadsheet the app hands out (a view's CSV/XLSX, the press kit's) is written here, and no
text from the data can run as a formula in it (OWASP, "CSV Injection"): a text cell that starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is written to CSV with a single quote
before it (and every CSV text field is quoted, so a ``;`` inside a name cannot start a new cell in
a locale whose list separator it is), and to XLSX as a text cell with Excel's quote prefix (the
value is the name as it is, shown as text, never evaluated, not even on editing the cell).
Numbers stay numbers (-3.5 is a number, not text).
"""
from __future__ import annotations

import csv
import io

import pandas as pd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

#: What a spreadsheet reads as the start of a formula (OWASP).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def formula_like(value) -> bool:
    """True for a text value a spreadsheet would read as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def neutralise(value):
    """``value`` made inert for CSV: formula-like text gets a leading single quote; anything
    else (numbers, dates, missing values, other text) is returned as it is."""
    return "'" + value if formula_like(value) else value


def _is_text(s: pd.Series) -> bool:
    return (pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype)
            or isinstance(s.dtype, pd.CategoricalDtype))


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` for CSV: text cells and column names passed through :func:`neutralise`."""
    cols = []
    for i in range(df.shape[1]):
        s = df.iloc[:, i]
        if _is_text(s):
            s = s.astype(object).map(neutralise)
        cols.append(s.rename(i))
    out = pd.concat(cols, axis=1) if cols else df.copy()
    out.columns = [neutralise(c) for c in df.columns]
    out.index = df.index
    return out


def csv_bytes(df: pd.DataFrame) -> bytes:
    return safe_frame(df).to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC).encode("utf-8-sig")


def _text_cells(ws) -> None:
    """Every text value of an openpyxl sheet kept as text: openpyxl makes a string that starts with
    ``=`` a formula (and ``#N/A`` an error); such cells, and every formula-like one, become text
    cells with the quote prefix."""
    for row in ws.iter_rows():
        for cell in row:
            v = cell.value
            if isinstance(v, str) and (cell.data_type != "s" or formula_like(v)):
                cell.data_type = "s"
                cell.quotePrefix = True


def _xml_text(value):
    """Text an XLSX can hold: control characters (which XML cannot carry, and openpyxl refuses)
    become spaces; anything else is returned as it is."""
    return ILLEGAL_CHARACTERS_RE.sub(" ", value) if isinstance(value, str) else value


def xlsx_bytes(df: pd.DataFrame, sheet: str = "SIPAS", notes: list[str] | None = None) -> bytes:
    buf = io.BytesIO()
    df = df.copy()
    df.columns = [_xml_text(c) for c in df.columns]
    for i in range(df.shape[1]):
        if _is_text(df.iloc[:, i]):
            df.isetitem(i, df.iloc[:, i].astype(object).map(_xml_text))
    notes = [_xml_text(x) for x in notes] if notes else notes
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        df.to_excel(xw, index=False, sheet_name=sheet[:31])
        if notes:
            pd.DataFrame({"note": notes}).to_excel(xw, index=False, sheet_name="notes")
        for ws in xw.sheets.values():
            _text_cells(ws)
    return buf.getvalue()


def slug(*parts) -> str:
    keep = "abcdefghijklmnopqrstuvwxyz0123456789-_"
    out = "-".join(str(p) for p in parts if p not in (None, ""))
    return "".join(c if c in keep else "_" for c in out.lower())[:120]
