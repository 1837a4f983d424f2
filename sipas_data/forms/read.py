"""Stage *read*: a forms file as text cells, a header row then the forms, nothing dropped.

* CSV in UTF-8, UTF-8 with BOM or UTF-16 (LE/BE, with or without BOM, as Excel's "Unicode text"
  writes it); the delimiter (comma, semicolon or tab) is the one found most often in the header
  line. Other encodings are refused with a plain message ("save as CSV UTF-8").
* XLSX/XLSM through :mod:`sipas_data.forms.xlsx` (python-calamine, by the cells' real extent):
  the sheet named "Phiếu" or "forms" if there is one, else the first. Cells that hold a formula
  without a saved value or an error value, and hidden rows, are reported for the rules stage.
* Every cell is read as text, so codes keep their leading zeros; numbers from a spreadsheet are
  written as a person sees them (87, not 87.0), TRUE/FALSE as those words.
* Row numbers are those a spreadsheet user sees: the header is row 1, the first form row 2.
  Completely blank rows are not forms: they are dropped here and not counted.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import ImportFileError
from .xlsx import SheetError, column_letters, read_xlsx

CSV_EXTENSIONS = {".csv", ".txt", ".tsv"}
XLSX_EXTENSIONS = {".xlsx", ".xlsm"}


@dataclass
class Table:
    """One file's forms as text: ``body`` has one column per header (unique names for display)
    and the sheet's row numbers as its index; ``headers`` are the header cells as typed."""
    name: str
    sha256: str
    body: pd.DataFrame
    headers: list[str]
    #: (row, column position, message) for cells whose value could not be read
    cell_problems: list[tuple[int, int, str]] = field(default_factory=list)
    hidden_rows: list[int] = field(default_factory=list)


def _decode(data: bytes, name: str) -> str:
    if data.startswith(b"\xff\xfe") or data.startswith(b"\xfe\xff"):
        return data.decode("utf-16")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    head = data[:4000]
    if len(head) >= 4 and head.count(b"\x00") > len(head) // 4:
        le = head[1::2].count(0) > head[0::2].count(0)
        try:
            return data.decode("utf-16-le" if le else "utf-16-be")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"{name}: the text is not UTF-8 or UTF-16 (byte {exc.start + 1}); in Excel use "
            "'Save as' -> 'CSV UTF-8 (Comma delimited)'") from None


def _read_csv(path: Path, data: bytes) -> pd.DataFrame:
    text = _decode(data, path.name)
    if not text.strip():
        raise ImportFileError(f"{path.name}: the file is empty (no header row)")
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    delim = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    utf8 = data.startswith(first.encode()) or data.startswith(b"\xef\xbb\xbf" + first.encode())
    if utf8:
        # the text was only decoded to check it: the parser reads the bytes themselves
        source = io.BytesIO(data[3:] if data.startswith(b"\xef\xbb\xbf") else data)
        del text
    else:
        source = io.StringIO(text.lstrip("\ufeff"))
    try:
        frame = pd.read_csv(source, sep=delim, header=None, dtype=object, encoding="utf-8",
                            keep_default_na=False, na_filter=False, skip_blank_lines=False,
                            quoting=csv.QUOTE_MINIMAL)
    except pd.errors.ParserError as exc:
        raise ImportFileError(f"{path.name}: cannot be read as CSV ({csv_parser_message(exc)})") from None
    except pd.errors.EmptyDataError:
        raise ImportFileError(f"{path.name}: the file is empty (no header row)") from None
    return frame.fillna("")


def csv_parser_message(exc: pd.errors.ParserError) -> str:
    """pandas' message for a ragged CSV, in the words of a spreadsheet user."""
    msg = str(exc)
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
    return f"row {m.group(2)} has {m.group(3)} cells but the header has {m.group(1)}" if m else msg


def _nonblank(values: np.ndarray) -> np.ndarray:
    """Which cells hold more than spaces (only the non-empty ones are stripped)."""
    out = values != ""
    idx = np.flatnonzero(out)
    out[idx] = np.fromiter((bool(str(v).strip()) for v in values[idx]), dtype=bool, count=len(idx))
    return out


def read_table(path: Path) -> Table:
    """The file as text: a header row then data rows; row numbers in the index (header = 1)."""
    if not path.exists():
        raise ImportFileError(f"{path.name}: no such file")
    ext = path.suffix.lower()
    if ext not in CSV_EXTENSIONS | XLSX_EXTENSIONS:
        raise ImportFileError(f"{path.name}: cannot import a '{ext or 'no extension'}' file; "
                              "use .csv or .xlsx")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(f"{path.name}: cannot be read ({exc.strerror or exc})") from None
    digest = hashlib.sha256(data).hexdigest()
    problems, hidden = [], []
    if ext in CSV_EXTENSIONS:
        grid = _read_csv(path, data)
    else:
        del data
        try:
            sheet = read_xlsx(path)
        except SheetError as exc:
            raise ImportFileError(str(exc)) from None
        grid = sheet.grid
        problems = [(r, c, f"the cell {column_letters(c)}{r} holds a formula without a saved value "
                     "(open the file in Excel and save it again, or type the value)")
                    for r, c in sheet.scan.no_value]
        problems += [(r, c, f"the cell {column_letters(c)}{r} holds the error {v} (expected a value)")
                     for r, c, v in sheet.scan.errors]
        hidden = sheet.scan.hidden_rows
    header = [str(h) for h in grid.iloc[0].tolist()]
    body = grid.iloc[1:].astype(object)
    body.index = pd.RangeIndex(2, 2 + len(body))
    # name columns; drop unnamed columns that hold nothing (Excel's trailing cells)
    names, keep, seen, typed = [], [], Counter(), []
    for i, h in enumerate(header):
        col = body.iloc[:, i]
        h = h.strip()
        if not h:
            if not _nonblank(col.to_numpy(dtype=object)).any():
                continue
            h = f"(no header, column {column_letters(i)})"
        seen[h] += 1
        names.append(h if seen[h] == 1 else f"{h} ({seen[h]})")
        typed.append(h)
        keep.append(i)
    if not names:
        raise ImportFileError(f"{path.name}: the header row (row 1) is empty")
    position = {i: k for k, i in enumerate(keep)}
    # plain Python text (object columns): the rules strip and parse each distinct value once,
    # which is cheaper than converting a million cells per column to Arrow strings and back
    body = body.iloc[:, keep]
    body.columns = names
    problems = [(r, position[c], msg) for r, c, msg in problems if c in position and r >= 2]
    blank = np.ones(len(body), dtype=bool)
    for c in body.columns:      # most rows are settled by their first column
        rows = np.flatnonzero(blank)
        blank[rows[_nonblank(body[c].to_numpy(dtype=object)[rows])]] = False
        if not blank.any():
            break
    # a row whose only content is a formula without a value is not blank: it is rejected, not lost
    blank[np.isin(body.index, [r for r, _, _ in problems])] = False
    body = body[~blank]
    return Table(name=path.name, sha256=digest, body=body, headers=typed, cell_problems=problems,
                 hidden_rows=[r for r in hidden if r in body.index])
