"""Reading a forms sheet from an XLSX workbook by what its cells hold, never by what it claims.

python-calamine reads the cell values; it sizes the sheet by the cells that hold something, not
by the stored ``<dimension>`` (a tool that writes ``A1:BX11`` for 200 forms loses nothing here).
Before it runs, one streaming pass over the sheet's XML measures the extent of the cells that
hold a value and finds what calamine would turn silently into an empty cell or ignore:

* a formula without a saved value (a workbook written by a program and never opened in Excel),
* an error value (``#N/A``, ``#REF!``),
* a hidden row (hidden by hand or by a filter).

A sheet whose extent is far larger than its cells (one stray cell at XFD1048576 would make a
grid of 17 billion cells) or too large to be forms is refused before anything is allocated, so
memory stays bounded by the data actually present.
"""
from __future__ import annotations

import datetime as _dt
import functools
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from .cells import Cells, small_codes

#: A sheet of forms holds at most this many cells (1M forms of 20 columns); beyond, CSV.
MAX_CELLS = 20_000_000
#: The extent (rows x columns of the cells that hold a value) may exceed the cells present by
#: this factor plus SPARSE_SLACK before the sheet counts as too sparse to be forms: blank rows
#: and empty answers are normal, a lone cell a million rows below is not.
SPARSE_FACTOR = 4
SPARSE_SLACK = 2_000_000
#: No form has more columns than this (A to ZZ); a cell beyond is what makes a sheet too wide.
WIDEST_FORM = 702
SHEET_NAMES = ("phieu", "forms")
_CHUNK = 8 << 20

_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "rel": "http://schemas.openxmlformats.org/package/2006/relationships"}
# a cell that holds something: <c ...> with content (an empty styled cell is <c .../>)
_CONTENT_REF = re.compile(rb'<c r="([A-Z]{1,3})(\d+)"[^>/]*>')
_FORMULA_NO_VALUE = re.compile(
    rb'<c r="([A-Z]{1,3})(\d+)"[^>/]*>(?:<f\b[^>]*/>|<f\b[^>]*>[^<]*</f>)(?:<v\s*/>|<v>\s*</v>)?</c>')
_ERROR_VALUE = re.compile(
    rb'<c r="([A-Z]{1,3})(\d+)"[^>]*\bt="e"[^>]*>(?:<f\b[^>]*/>|<f\b[^>]*>[^<]*</f>)?<v>([^<]*)</v>')
_HIDDEN_ROW = re.compile(rb'<row\b[^>]*?\br="(\d+)"[^>]*?\bhidden="(?:1|true)"|'
                         rb'<row\b[^>]*?\bhidden="(?:1|true)"[^>]*?\br="(\d+)"')


class SheetError(ValueError):
    """The workbook or sheet cannot be read as forms; the message says why."""


def column_index(letters: str | bytes) -> int:
    """0-based index of a column's letters: A -> 0, Z -> 25, AA -> 26."""
    if isinstance(letters, bytes):
        letters = letters.decode()
    i = 0
    for ch in letters:
        i = i * 26 + ord(ch) - 64
    return i - 1


def column_letters(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _norm_name(text: str) -> str:
    from .headers import norm
    return norm(text)


@dataclass
class SheetScan:
    """What the streaming pass found in a sheet's XML."""
    cells: int = 0                 # cells holding something
    width: int = 0                 # columns up to the rightmost such cell
    height: int = 0                # rows up to the lowest such cell
    far_cell: str = ""             # the lowest (then rightmost) such cell
    no_value: list[tuple[int, int]] = field(default_factory=list)   # (row, column index)
    errors: list[tuple[int, int, str]] = field(default_factory=list)
    hidden_rows: list[int] = field(default_factory=list)


def _sheet_member(z: zipfile.ZipFile, name: str) -> tuple[str, str]:
    """(sheet title, path of its XML in the package) for the forms sheet."""
    try:
        book = ElementTree.fromstring(z.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError) as exc:
        raise SheetError(f"{name}: cannot be opened as an Excel workbook ({exc})") from None
    targets = {r.get("Id"): r.get("Target", "") for r in rels.findall("rel:Relationship", _NS)}
    sheets = [(s.get("name", ""), targets.get(s.get(f"{{{_NS['r']}}}id"), ""))
              for s in book.findall("m:sheets/m:sheet", _NS)]
    if not sheets:
        raise SheetError(f"{name}: the workbook has no sheet")
    title, target = next((s for s in sheets if _norm_name(s[0]) in SHEET_NAMES), sheets[0])
    target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
    return title, target


@functools.lru_cache(maxsize=64)
def _wider(letters: bytes) -> re.Pattern | None:
    """A cell holding something in a column right of ``letters`` (b"": in any column), or None
    right of ZZZ: more letters, or as many and greater at the first letter that differs."""
    n = len(letters)
    alts = [rb"[A-Z]{%d}" % k for k in range(n + 1, 4)]
    for i, ch in enumerate(letters):
        if ch < ord("Z"):
            rest = n - i - 1
            alts.append(letters[:i] + b"[%c-Z]" % (ch + 1) + (rb"[A-Z]{%d}" % rest if rest else b""))
    return re.compile(rb'<c r="(' + b"|".join(alts) + rb')\d+"[^>/]*>') if alts else None


def scan_sheet(stream) -> SheetScan:
    """One pass over a sheet's XML in chunks (never the whole text in memory)."""
    out = SheetScan()
    width_letters = b""
    tail = b""
    last_ref = None
    while True:
        chunk = stream.read(_CHUNK)
        data = tail + chunk
        if chunk:
            # cut after the last complete row (or cell, in a row longer than a chunk), so no
            # cell is split between two chunks
            cut = data.rfind(b"</row>")
            cut = cut + 6 if cut >= 0 else data.rfind(b"</c>") + 4
            if cut <= 3:
                tail = data
                continue
            data, tail = data[:cut], data[cut:]
        # every cell that holds something ends with </c> (an empty one is <c .../>): counted,
        # not matched one by one
        held = data.count(b"</c>")
        out.cells += held
        if held:
            # the rightmost column: only the cells right of the widest so far are matched
            pos = 0
            while (wider := _wider(width_letters)) and (m := wider.search(data, pos)):
                width_letters, pos = m.group(1), m.end()
            pos = data.rfind(b"<c r=")
            while pos >= 0:
                m = _CONTENT_REF.match(data, pos)
                if m:
                    last_ref = m
                    break
                pos = data.rfind(b"<c r=", 0, pos)
        if b"<f" in data:
            out.no_value += [(int(r), column_index(c)) for c, r in _FORMULA_NO_VALUE.findall(data)]
        if b't="e"' in data:
            out.errors += [(int(r), column_index(c), v.decode("utf-8", "replace"))
                           for c, r, v in _ERROR_VALUE.findall(data)]
        if b"hidden=" in data:
            out.hidden_rows += [int(a or b) for a, b in _HIDDEN_ROW.findall(data)]
        if not chunk:
            break
    out.width = column_index(width_letters) + 1 if width_letters else 0
    if last_ref is not None:
        out.height = int(last_ref.group(2))
        out.far_cell = (last_ref.group(1) + last_ref.group(2)).decode()
    return out


def _far_right(stream, width: int) -> str:
    """The first cell found in the rightmost column (named in the message for a sparse sheet)."""
    letters = column_letters(width - 1).encode()
    pattern = re.compile(rb'<c r="(' + letters + rb'\d+)"[^>/]*>')
    tail = b""
    while chunk := stream.read(_CHUNK):
        m = pattern.search(tail + chunk)
        if m:
            return m.group(1).decode()
        tail = chunk[-64:]
    return column_letters(width - 1)


def _column(values) -> tuple[np.ndarray, np.ndarray]:
    """A column of cell values (the header row excluded) as the text a person sees (87 not
    87.0, dates as yyyy-mm-dd, TRUE/FALSE as those words, a tick box and not the answer 1):
    a code per cell and the distinct texts, in order of first appearance.

    Each distinct value is worded once (:func:`_cell_text`) and spread over the rows by code: a
    column of answers holds a few numbers and empty cells, not 40,000 values to word one by one."""
    arr = np.ascontiguousarray(values, dtype=object)
    kind = infer_dtype(arr, skipna=False)
    if kind in ("string", "empty"):
        return pd.factorize(arr, use_na_sentinel=False)
    if kind == "floating":
        codes, uniques = pd.factorize(arr.astype(np.float64), use_na_sentinel=False)
        texts = [_cell_text(float(v)) for v in uniques]
    else:
        codes, uniques = pd.factorize(arr, use_na_sentinel=False)
        if _merged(arr, codes, uniques):
            codes, uniques = _by_type(arr)
        texts = [_cell_text(v) for v in uniques]
    # distinct values may read alike (the text "1" and the number 1)
    same, distinct = pd.factorize(_objects(texts), use_na_sentinel=False)
    return same[codes], distinct


def _with_header(header: str, codes: np.ndarray, values: np.ndarray) -> Cells:
    """The header cell then the column's cells, as ``Cells.of`` of the whole column gives them."""
    code, distinct = pd.factorize(_objects([header, *values]), use_na_sentinel=False)
    rows = np.empty(len(codes) + 1, dtype=np.intp)
    rows[0] = 0
    rows[1:] = code[1:][codes]
    return Cells(small_codes(rows, len(distinct)), distinct)


def _merged(arr: np.ndarray, codes: np.ndarray, uniques: np.ndarray) -> bool:
    """Whether values of different types were taken as one: TRUE equals 1 and FALSE 0 in
    Python (and an empty None would go with NaN), so the cells of such a value are checked."""
    for k, u in enumerate(uniques):
        if u is None or (type(u) in (bool, int, float) and (u == 0 or u == 1 or u != u)):
            if len(set(map(type, arr[codes == k]))) > 1:
                return True
    return False


def _by_type(arr: np.ndarray) -> tuple[np.ndarray, list]:
    """Codes and distinct values of a column by (type, value): TRUE is never the number 1."""
    index: dict = {}
    codes = np.fromiter((index.setdefault((type(v), v), len(index)) for v in arr),
                        dtype=np.intp, count=len(arr))
    return codes, [v for _, v in index]


def _objects(items: list) -> np.ndarray:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, _dt.datetime):
        return v.date().isoformat() if v.time() == _dt.time() else v.isoformat(sep=" ")
    if isinstance(v, (_dt.date, _dt.time)):
        return v.isoformat()
    return str(v)


@dataclass
class Sheet:
    cells: list[Cells]             # one per column: text cells, row 1 (the header) first
    title: str
    scan: SheetScan

    @property
    def grid(self) -> pd.DataFrame:
        """The text cells as one frame of object columns (row 1 first)."""
        return pd.DataFrame({i: c.rows() for i, c in enumerate(self.cells)}, dtype=object)


def read_xlsx(path: Path) -> Sheet:
    """The forms sheet as a text grid, with what the scan found about its cells."""
    import python_calamine

    name = path.name
    try:
        with zipfile.ZipFile(path) as z:
            title, member = _sheet_member(z, name)
            try:
                with z.open(member) as stream:
                    scan = scan_sheet(stream)
            except KeyError:
                raise SheetError(f"{name}: the sheet '{title}' is missing from the workbook") from None
            extent = scan.width * scan.height
            where = f"rows 1–{scan.height:,}, columns A–{column_letters(max(scan.width - 1, 0))}"
            if extent > SPARSE_FACTOR * scan.cells + SPARSE_SLACK:
                far = scan.far_cell   # the lowest cell, unless the stray one is far right
                if scan.width > WIDEST_FORM:
                    with z.open(member) as stream:
                        far = _far_right(stream, scan.width)
                raise SheetError(
                    f"{name}: the sheet '{title}' is too sparse to be forms: it spans {where} for "
                    f"{scan.cells:,} cells holding a value; a stray cell such as {far} lies far "
                    "outside the forms: delete it (and any empty rows or columns up to it) and "
                    "save again")
            if scan.cells > MAX_CELLS:
                raise SheetError(
                    f"{name}: the sheet '{title}' holds {scan.cells:,} cells ({where}), more than "
                    f"{MAX_CELLS:,} for one workbook; save it as CSV UTF-8 or split it into "
                    "several files")
    except zipfile.BadZipFile as exc:
        raise SheetError(f"{name}: cannot be opened as an Excel workbook ({exc})") from None
    except OSError as exc:
        raise SheetError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        rows = book.get_sheet_by_name(title).to_python(skip_empty_area=False)
    except Exception as exc:  # noqa: BLE001 - calamine raises its own errors for any damaged part
        raise SheetError(f"{name}: cannot be opened as an Excel workbook ({exc})") from None
    if not rows or not any(str(c).strip() for c in rows[0]):
        raise SheetError(f"{name}: the sheet '{title}' is empty (no header row in row 1)")
    width = max(len(r) for r in rows)
    if any(len(r) != width for r in rows):
        rows = [r + [""] * (width - len(r)) for r in rows]
    cells = np.array(rows, dtype=object)        # one (rows x columns) array of the cell objects
    del rows
    columns = [_with_header(_cell_text(cells[0, i]), *_column(cells[1:, i])) for i in range(width)]
    del cells
    return Sheet(cells=columns, title=title, scan=scan)
