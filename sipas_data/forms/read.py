"""Stage *read*: a forms file as text cells, a header row then the forms, nothing dropped.

* CSV in UTF-8, UTF-8 with BOM or UTF-16 (LE/BE, with or without BOM, as Excel's "Unicode text"
  writes it); the delimiter (comma, semicolon or tab) is the one found most often in the header
  line. Other encodings are refused with a plain message ("save as CSV UTF-8"). A UTF-8 file is
  read by Arrow (``pyarrow.csv``), each column dictionary-encoded (or read as bytes: a column of
  one-byte cells such as the answers, encoded from its bytes, and the form ids, kept one value
  per row): each column arrives as its distinct texts (as Arrow text, made Python strings only
  when a rule needs them) and a small code per row (:class:`~sipas_data.forms.cells.Cells`),
  never as a million Python strings; the header row is read as the columns' names, so a
  column's texts are the forms' alone. The file's sha256 is computed on a thread while Arrow
  parses it. A file Arrow would read differently from pandas' parser (UTF-16, a row shorter or
  longer than the header, a quote left open, text that is not UTF-8) is read by pandas, which
  gives the same cells or today's message.
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
import mmap
import os
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from .cells import Cells, small_codes
from .errors import ImportFileError
from .headers import canonical_header
from .xlsx import SheetError, column_letters, read_xlsx

CSV_EXTENSIONS = {".csv", ".txt", ".tsv"}
XLSX_EXTENSIONS = {".xlsx", ".xlsm"}


@dataclass
class Table:
    """One file's forms as text cells: ``columns[k]`` holds the column named ``names[k]`` (unique
    names for display), ``rows`` the sheet's row numbers; ``headers`` are the header cells as
    typed."""
    name: str
    sha256: str
    names: list[str]
    columns: list[Cells]
    rows: np.ndarray
    headers: list[str]
    #: (row, column position, message) for cells whose value could not be read
    cell_problems: list[tuple[int, int, str]] = field(default_factory=list)
    hidden_rows: list[int] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.rows)

    def column(self, name: str) -> Cells:
        return self.columns[self.names.index(name)]

    def text(self, where: np.ndarray) -> pd.DataFrame:
        """The rows of the mask ``where`` as read (object columns), indexed by row number."""
        return pd.DataFrame({n: c.rows(where) for n, c in zip(self.names, self.columns)},
                            index=self.rows[where], dtype=object)


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


_BOM = b"\xef\xbb\xbf"
_HEAD = 1 << 16
_COUNT_BLOCK = 1 << 24
#: Arrow's block: each block is parsed and converted on a thread, by pieces that stay in the
#: processor's cache (1M forms: 16 MB blocks took about 0.7 s more CPU than 1 MB ones).
_ARROW_BLOCK = 1 << 20


def _scan(path: Path) -> tuple[bytes, int]:
    """The first bytes and the number of double quotes. The file is mapped, not read: a file
    without a quote (the common one) is searched for its first at memory speed and never counted;
    only from a first quote on is every quote counted (the parity tells a quote left open)."""
    with open(path, "rb") as fh:
        if not os.fstat(fh.fileno()).st_size:
            return b"", 0
        try:
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):       # a file that cannot be mapped is read in blocks
            head, quotes = fh.read(_HEAD), 0
            fh.seek(0)
            while block := fh.read(_COUNT_BLOCK):
                quotes += block.count(b'"')
            return head, quotes
        with mm:
            head = mm[:_HEAD]
            start, quotes = mm.find(b'"'), 0
            if start < 0:
                return head, 0
            for at in range(start, len(mm), _COUNT_BLOCK):
                quotes += mm[at:at + _COUNT_BLOCK].count(b'"')
    return head, quotes


def _sha256(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


#: Hashes a CSV on a thread of its own while Arrow parses it and the cells are unpacked: hashlib
#: lets go of the GIL while it digests each block, so the hash costs no wall time on a free core.
_HASHER = ThreadPoolExecutor(1, thread_name_prefix="sha256")


def _arrow_csv(path: Path, head: bytes, quotes: int) -> tuple[list[str], list[Cells]] | None:
    """The CSV's header cells and its columns (:class:`Cells` of the rows below the header) read
    by Arrow, each as its distinct texts and a code per row, or None for a file the plain reader
    (:func:`_read_csv`) must read so that it gives today's result or message: UTF-16 or NUL
    bytes, a second BOM, a blank start, an odd number of quotes (a quoted cell left open), a row
    of another length than the header, text that is not UTF-8."""
    body = head[len(_BOM):] if head.startswith(_BOM) else head
    if (head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head or body.startswith(_BOM)
            or quotes % 2 or not body.strip() or b"\n" not in body):
        return None
    try:
        first = body.split(b"\n", 1)[0].decode("utf-8")
    except UnicodeDecodeError:
        return None
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    delim = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    # bytes: only each column's distinct values are checked to be UTF-8, not every cell
    raw = pa.dictionary(pa.int32(), pa.binary())
    # Without a double quote in the file no cell is quoted and none can hold a line break: the
    # parser need not look for either, and each block of the file is split into rows on its own
    # thread (with line breaks allowed in values Arrow must first find where each row starts).
    quoted = quotes > 0
    parse = pcsv.ParseOptions(delimiter=delim, quote_char='"' if quoted else False,
                              newlines_in_values=quoted, ignore_empty_lines=False)
    try:
        # The header row is read as the columns' names, so the columns' values are the forms'
        # alone: a rule finds no header text among the values it checks, and a value no row
        # fails needs no mask of its rows. The names are the first row of the file's first
        # block, read as text by the same parser (a first form longer than the block is fine).
        with pcsv.open_csv(path, read_options=pcsv.ReadOptions(block_size=_HEAD, autogenerate_column_names=True),
                           parse_options=parse, convert_options=pcsv.ConvertOptions(
                               column_types={f"f{i}": pa.string() for i in range(counts[delim] + 1)},
                               strings_can_be_null=False, quoted_strings_can_be_null=False)) as reader:
            first_block = reader.read_next_batch()
        names = list(first_block.slice(0, 1).to_pylist()[0].values()) if first_block.num_rows else []
        if not names or not all(isinstance(n, str) for n in names):
            return None
        # A column whose cells in the first block are one byte or empty (the answers: 1-5) is
        # read as plain bytes and encoded by :func:`_one_byte_cells` (1M forms: about 0.9 s less
        # CPU than Arrow's dictionary for the 47 answer columns); the form ids, one per form, as
        # plain bytes kept as they are (:func:`_cells_as_read`); the others as a dictionary.
        forms = first_block.slice(1)
        one_byte = {name for name, col in zip(names, forms.columns)
                    if len(col) and pc.max(pc.binary_length(col)).as_py() <= 1}
        as_read = {name for name in names if canonical_header(name) == "form_id"}
        table = pcsv.read_csv(
            path, read_options=pcsv.ReadOptions(block_size=_ARROW_BLOCK), parse_options=parse,
            convert_options=pcsv.ConvertOptions(
                column_types={name: pa.binary() if name in one_byte | as_read else raw for name in names},
                strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowException, OSError, UnicodeDecodeError):
        return None
    if table.column_names != names:
        return None
    columns = table.columns
    del table, first_block, forms
    out = []
    for i in range(len(columns)):
        col, columns[i] = columns[i], None
        try:
            if pa.types.is_dictionary(col.type):
                cells = None
            elif names[i] in as_read:
                cells = _cells_as_read(col)
            else:
                cells = _one_byte_cells(col)
            if cells is None:
                cells = _dictionary_cells(col if pa.types.is_dictionary(col.type)
                                          else pa.chunked_array([col.combine_chunks().dictionary_encode()]))
        except pa.ArrowInvalid:
            return None     # not UTF-8: the plain reader says where
        del col
        last = cells.rows(slice(-1, None)) if len(cells) else names[i:i + 1]
        if any(("\n" in v or "\r" in v) for v in last):
            return None     # the last cell runs to the end of the file: a quote left open
        out.append(cells)
    return names, out


def _dictionary_cells(col: pa.ChunkedArray) -> Cells:
    """The cells of a dictionary-encoded column of bytes: its distinct texts (as Arrow text, made
    Python strings only when asked) and a code per row. Raises ArrowInvalid for text that is not
    UTF-8."""
    col = col.unify_dictionaries()
    text = (col.chunk(0).dictionary if col.num_chunks else pa.array([], pa.binary())).cast(pa.string())
    codes = np.concatenate([ch.indices.to_numpy(zero_copy_only=False) for ch in col.chunks]
                           or [np.zeros(0, dtype=np.int32)])
    return Cells(small_codes(codes, len(text)), None, text)


def _cells_as_read(col: pa.ChunkedArray) -> Cells:
    """The cells of a column of bytes as they are, one value per row (its code is its position):
    for the form ids, a text per form, which Arrow's dictionary would hash a million times to find
    the few that repeat (1M forms: about 0.45 s of CPU); the rules and the sort by form id allow
    values that repeat. Raises ArrowInvalid for text that is not UTF-8."""
    text = col.combine_chunks().cast(pa.string())
    return Cells(small_codes(np.arange(len(text)), len(text)), None, text)


def _one_byte_cells(col: pa.ChunkedArray) -> Cells | None:
    """The cells of a column of bytes whose cells are all empty or one byte, found from the bytes
    themselves instead of by hashing each cell: a row's key is 0 when its cell is empty, else 1 +
    its byte, and the values are the texts of the keys that occur, in the keys' order. None when
    a cell is longer. Raises ArrowInvalid for a byte that is not UTF-8 text."""
    cells = col.combine_chunks()
    _, offsets, data = cells.buffers()
    ends = np.frombuffer(offsets, dtype=np.int32, count=len(cells) + 1, offset=cells.offset * 4)
    length = np.diff(ends)
    if len(cells) and length.max() > 1:
        return None
    content = np.frombuffer(data, dtype=np.uint8) if data is not None and data.size else np.zeros(1, np.uint8)
    key = (content.take(ends[:-1], mode="clip").astype(np.int16) + 1) * length.astype(np.int16)
    used = np.flatnonzero(np.bincount(key, minlength=257))
    text = pa.array([bytes([k - 1]) if k else b"" for k in used.tolist()], pa.binary()).cast(pa.string())
    code = small_codes(np.zeros(257, dtype=np.int16), len(used))
    code[used] = np.arange(len(used))
    return Cells(code.take(key), None, text)


def _header_row(cells: list[Cells]) -> tuple[list[str], list[Cells]]:
    """The first row's cells as text, and the rows below."""
    return [str(c.rows(slice(0, 1))[0]) for c in cells], [c.take(slice(1, None)) for c in cells]


def _cells(path: Path) -> tuple[list[str], list[Cells], str, list, list]:
    """The file's header cells and, one :class:`Cells` per column, the cells below them; its
    sha256; the cells whose value could not be read and the hidden rows (XLSX)."""
    if path.suffix.lower() in CSV_EXTENSIONS:
        digest = _HASHER.submit(_sha256, path)
        head, quotes = _scan(path)
        read = _arrow_csv(path, head, quotes)
        if read is None:
            grid = _read_csv(path, path.read_bytes())
            read = _header_row([Cells.of(grid[c].to_numpy(dtype=object)) for c in grid.columns])
        return *read, digest.result(), [], []
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        sheet = read_xlsx(path)
    except SheetError as exc:
        raise ImportFileError(str(exc)) from None
    problems = [(r, c, f"the cell {column_letters(c)}{r} holds a formula without a saved value "
                 "(open the file in Excel and save it again, or type the value)")
                for r, c in sheet.scan.no_value]
    problems += [(r, c, f"the cell {column_letters(c)}{r} holds the error {v} (expected a value)")
                 for r, c, v in sheet.scan.errors]
    # already as Cells.of words them
    return *_header_row(sheet.cells), digest, problems, sheet.scan.hidden_rows


def read_table(path: Path) -> Table:
    """The file as text: a header row then data rows; row numbers from 2 (header = 1)."""
    if not path.exists():
        raise ImportFileError(f"{path.name}: no such file")
    ext = path.suffix.lower()
    if ext not in CSV_EXTENSIONS | XLSX_EXTENSIONS:
        raise ImportFileError(f"{path.name}: cannot import a '{ext or 'no extension'}' file; "
                              "use .csv or .xlsx")
    try:
        header, body, digest, problems, hidden = _cells(path)
    except OSError as exc:
        raise ImportFileError(f"{path.name}: cannot be read ({exc.strerror or exc})") from None
    n = len(body[0]) if body else 0
    # name columns; drop unnamed columns that hold nothing (Excel's trailing cells)
    names, keep, seen, typed = [], [], Counter(), []
    for i, h in enumerate(header):
        h = h.strip()
        if not h:
            if not body[i].nonblank().any():
                continue
            h = f"(no header, column {column_letters(i)})"
        seen[h] += 1
        names.append(h if seen[h] == 1 else f"{h} ({seen[h]})")
        typed.append(h)
        keep.append(i)
    if not names:
        raise ImportFileError(f"{path.name}: the header row (row 1) is empty")
    position = {i: k for k, i in enumerate(keep)}
    columns = [body[i] for i in keep]
    problems = [(r, position[c], msg) for r, c, msg in problems if c in position and r >= 2]
    rows = np.arange(2, 2 + n)
    blank = np.ones(n, dtype=bool)
    # the columns of fewest distinct values first: most rows are settled by one of them (a
    # column of form ids has as many values as rows)
    for c in sorted(columns, key=lambda c: c.size):
        blank &= ~c.nonblank()
        if not blank.any():
            break
    # a row whose only content is a formula without a value is not blank: it is rejected, not lost
    blank[np.isin(rows, [r for r, _, _ in problems])] = False
    if blank.any():
        columns = [c.take(~blank) for c in columns]
        rows = rows[~blank]
    kept = set(rows.tolist()) if hidden else set()
    return Table(name=path.name, sha256=digest, names=names, columns=columns, rows=rows,
                 headers=typed, cell_problems=problems, hidden_rows=[r for r in hidden if r in kept])
