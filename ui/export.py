"""Downloads of exactly what a view shows: CSV (UTF-8 with BOM, for Excel) and XLSX.

Every spreadsheet the app hands out (a view's CSV/XLSX, the press kit's) is written here, and no
text from the data can run as a formula in it (OWASP, "CSV Injection"): a text cell that starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is written to CSV with a single quote
before it (and every CSV text field is quoted, so a ``;`` inside a name cannot start a new cell in
a locale whose list separator it is), and to XLSX as a text cell with Excel's quote prefix (the
value is the name as it is, shown as text, never evaluated, not even on editing the cell).
Numbers stay numbers (-3.5 is a number, not text).

A view's download is shaped for a reader by :func:`reader_frame` (headers and labels in the
viewer's language, values rounded as the page shows them beside one full-precision column, ranks
and counts as whole numbers) and carries its provenance (:class:`Provenance`): leading lines of
the CSV, a title block above the XLSX table. The title block goes through the same protection
as the cells: a place or a release title from the data cannot run as a formula either.
The full release stays machine-readable (:func:`full_release_parquet`): the published table as
it is, with the ``vintage`` of each row's year.
"""
from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from ui import fmt
from ui.strings import level_label, t

#: Decimals of a percentage as the pages show it (ui/fmt.py ``num``).
SHOWN_DIGITS = 2

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


def csv_bytes(df: pd.DataFrame, title: list[str] | None = None) -> bytes:
    """The CSV of ``df``; ``title`` lines (the provenance) come first, one quoted field each, then
    an empty line and the table."""
    body = safe_frame(df).to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC)
    if title:
        head = io.StringIO()
        w = csv.writer(head, quoting=csv.QUOTE_ALL, lineterminator="\n")
        for line in title:
            w.writerow([neutralise(line)])
        body = head.getvalue() + "\n" + body
    return body.encode("utf-8-sig")


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


def xlsx_bytes(df: pd.DataFrame, sheet: str = "SIPAS", notes: list[str] | None = None,
               title: list[str] | None = None, decimals: Mapping[str, int] | None = None) -> bytes:
    """The XLSX of ``df``: ``title`` lines (the provenance) in a block above the table, the first
    in bold; ``decimals`` gives columns shown with that many decimals; ``notes`` go to a sheet."""
    from openpyxl.styles import Font
    buf = io.BytesIO()
    df = df.copy()
    df.columns = [_xml_text(c) for c in df.columns]
    for i in range(df.shape[1]):
        if _is_text(df.iloc[:, i]):
            df.isetitem(i, df.iloc[:, i].astype(object).map(_xml_text))
    notes = [_xml_text(x) for x in notes] if notes else notes
    title = [_xml_text(x) for x in title] if title else []
    top = len(title) + 1 if title else 0  # the block, then an empty row, then the table's header
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        df.to_excel(xw, index=False, sheet_name=sheet[:31], startrow=top)
        ws = xw.sheets[sheet[:31]]
        for r, line in enumerate(title, start=1):
            ws.cell(row=r, column=1, value=line)
        if title:
            ws.cell(row=1, column=1).font = Font(bold=True, size=13)
        for j, col in enumerate(df.columns, start=1):
            digits = (decimals or {}).get(col)
            if digits is not None:
                fmt_ = "0." + "0" * digits if digits else "0"
                for r in range(top + 2, top + 2 + len(df)):
                    ws.cell(row=r, column=j).number_format = fmt_
            width = max([len(str(col)), *(len(str(v)) for v in df.iloc[:200, j - 1])])
            ws.column_dimensions[ws.cell(row=top + 1, column=j).column_letter].width = min(max(width + 2, 8), 45)
        if len(df.columns):
            ws.freeze_panes = ws.cell(row=top + 2, column=1)
        if notes:
            pd.DataFrame({"note": notes}).to_excel(xw, index=False, sheet_name="notes")
        for w in xw.sheets.values():
            _text_cells(w)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# a view's download, shaped for a reader

@dataclass(frozen=True)
class Provenance:
    """What a downloaded view is: its title, place, year and service as the page names them,
    the source line, the release id and whether it is demo data."""
    title: str
    place: str
    year: str
    service: str
    source: str
    release: str
    demo: bool
    indicator: str = ""

    def lines(self, lang: str) -> list[str]:
        out = [self.title]
        if self.indicator:
            out.append(f"{t('dl_indicator', lang)}: {self.indicator}")
        out += [f"{t('unit', lang)}: {self.place}", f"{t('year', lang)}: {self.year}",
                f"{t('service', lang)}: {self.service}", self.source,
                f"{t('me_release_id', lang)}: {self.release}"]
        if self.demo:
            out.append(t("dl_demo_warning", lang))
        out.append(t("dl_rounding", lang, full=t("dl_value_full", lang), digits=SHOWN_DIGITS))
        return out


#: How the basis of a cell is named (ARCHITECTURE.md, glossary "Basis").
BASIS_KEYS = {"pooled": "dl_basis_pooled", "restated": "restated", "published": "dl_basis_published",
              "mean_of_units": "dl_basis_mean_of_units"}
_ROUNDED = ("value", "ci_low", "ci_high")
_WHOLE = ("n", "rank", "total")


def _shown(s: pd.Series) -> pd.Series:
    """Percentages rounded exactly as the pages print them (ui.fmt.num: Babel's half-even on the
    decimal text, which a binary round() does not always match, e.g. 16.065)."""
    values = pd.to_numeric(s, errors="coerce")
    return pd.Series([math.nan if _missing(v) else float(fmt.num(v, "en", SHOWN_DIGITS).replace(",", ""))
                      for v in values], index=s.index, dtype=float)


def _whole(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce").round().astype("Int64")


def reader_frame(frame: pd.DataFrame, lang: str, *, year: int | None = None,
                 names: Mapping | None = None, services: Mapping | None = None,
                 indicators: Mapping | None = None) -> pd.DataFrame:
    """A view's frame as a reader downloads it: headers in ``lang``; services, indicators, levels,
    areas, bases and withheld cells named in it (``names``, ``services`` and ``indicators`` map
    ``(year, id)`` to the page's label; an id without one is kept as it is); percentages rounded
    to the decimals the pages show, with the value at full precision in one last column; ``n``
    and ranks as whole numbers. ``year`` is the view's, for frames without a year column. The
    release id is left to the provenance lines. Pure: the caller's frame is not changed."""
    names, services, indicators = names or {}, services or {}, indicators or {}
    years = frame["year"].tolist() if "year" in frame else [year] * len(frame)

    def mapped(col: str, table: Mapping) -> list:
        return [table.get((y, v), v) for y, v in zip(years, frame[col])]

    out: dict[str, pd.Series | list] = {}
    for col in frame.columns:
        s = frame[col]
        if col == "release":
            continue
        if col == "year":
            out[t("year", lang)] = _whole(s)
        elif col in ("code", "unit_code"):
            out[t("code", lang)] = s.astype(object)
            if "name" not in frame and names:
                out[t("unit", lang)] = mapped(col, names)
        elif col == "name":
            out[t("unit", lang)] = s.astype(object)
        elif col == "parent_code":
            out[t("dl_parent", lang)] = s.astype(object)
        elif col == "area":
            out[t("dl_area", lang)] = mapped(col, names)
        elif col == "level":
            out[t("me_level", lang)] = [level_label(v, lang, year=y) if isinstance(v, str) else v
                                        for y, v in zip(years, s)]
        elif col == "service":
            out[t("service", lang)] = mapped(col, services)
        elif col == "indicator":
            out[t("dl_indicator", lang)] = mapped(col, indicators)
        elif col in _ROUNDED:
            out[t("dl_" + col, lang)] = _shown(s)
        elif col in _WHOLE:
            out[t("dl_" + col, lang)] = _whole(s)
        elif col == "suppressed":
            out[t("status", lang)] = [t("suppressed_class", lang) if not _missing(v) and bool(v) else ""
                                      for v in s]
        elif col == "vintage":
            out[t("dl_vintage", lang)] = s.astype(object)
        elif col == "basis":
            out[t("dl_basis", lang)] = [t(BASIS_KEYS[v], lang) if v in BASIS_KEYS else v for v in s]
        else:
            out[col] = s
    if "value" in frame:
        out[t("dl_value_full", lang)] = pd.to_numeric(frame["value"], errors="coerce")
    return pd.DataFrame({k: (v.reset_index(drop=True) if isinstance(v, pd.Series) else v)
                         for k, v in out.items()})


def _missing(v) -> bool:
    try:
        return v is None or math.isnan(float(v))
    except (TypeError, ValueError):
        return True


def reader_decimals(lang: str) -> dict[str, int]:
    """The XLSX number formats of :func:`reader_frame`'s columns: as shown, and whole numbers."""
    out = {t("dl_" + c, lang): SHOWN_DIGITS for c in _ROUNDED}
    out.update({t("dl_" + c, lang): 0 for c in _WHOLE})
    out[t("year", lang)] = 0
    return out


def reader_csv(frame: pd.DataFrame, lang: str, provenance: Provenance, **labels) -> bytes:
    """The CSV a viewer downloads: the provenance lines, then :func:`reader_frame`."""
    return csv_bytes(reader_frame(frame, lang, **labels), title=provenance.lines(lang))


def reader_xlsx(frame: pd.DataFrame, lang: str, provenance: Provenance, **labels) -> bytes:
    """The XLSX a viewer downloads: the provenance as a title block above :func:`reader_frame`."""
    return xlsx_bytes(reader_frame(frame, lang, **labels), sheet="SIPAS", title=provenance.lines(lang),
                      decimals=reader_decimals(lang))


@dataclass(frozen=True)
class ViewDownload:
    """A view's data as its reader downloads it: the same CSV and XLSX under the page's buttons
    and in the press kit. The files are made when asked for, never when the page runs."""
    frame: pd.DataFrame
    lang: str
    provenance: Provenance
    labels: Mapping

    def csv(self) -> bytes:
        return reader_csv(self.frame, self.lang, self.provenance, **self.labels)

    def xlsx(self) -> bytes:
        return reader_xlsx(self.frame, self.lang, self.provenance, **self.labels)


# ---------------------------------------------------------------------------------------------
# the full release, machine-readable

@lru_cache(maxsize=2)
def full_release_parquet(path: str, fingerprint: str) -> bytes:
    """The release's indices table for download: every row and column as published (ids, full
    precision), plus ``vintage``: the vintage of the units a row is on (sipas_data/calendar.py),
    the one in force in its year, or the latest for a restated row (an earlier year's forms on
    today's units). The published file is only read. Remembered per release (``fingerprint``):
    made on the first click, then handed out as it is."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from sipas_data import calendar
    table = pq.read_table(path)
    years = table.column("year")
    unique = pc.unique(years).to_pylist()
    vintage = pc.take(pa.array([calendar.vintage_for_year(int(y)) for y in unique], pa.string()),
                      pc.index_in(years, value_set=pa.array(unique, years.type)))
    if "basis" in table.column_names:
        vintage = pc.if_else(pc.equal(table.column("basis"), "restated"), calendar.latest().id, vintage)
    table = table.append_column("vintage", vintage)
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    return buf.getvalue()


def slug(*parts) -> str:
    keep = "abcdefghijklmnopqrstuvwxyz0123456789-_"
    out = "-".join(str(p) for p in parts if p not in (None, ""))
    return "".join(c if c in keep else "_" for c in out.lower())[:120]
