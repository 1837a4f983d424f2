"""Import survey forms (CSV or XLSX) into the canonical *responses* frame.

Every row read is either accepted or rejected with a reason naming the row, the column and what
was expected; ``len(accepted) + len(rejects) + duplicates_ignored == rows_read`` always.

Reading
-------
* CSV in UTF-8, UTF-8 with BOM or UTF-16 (LE/BE, with or without BOM, as Excel's "Unicode text"
  writes it); the delimiter (comma, semicolon or tab) is the one found most often in the header
  line. Other encodings are refused with a plain message ("save as CSV UTF-8").
* XLSX/XLSM via openpyxl: the sheet named "Phiếu" or "forms" if there is one, else the first.
* Every cell is read as text, so codes keep their leading zeros; numeric cells from a spreadsheet
  are written back as the number a person sees (87, not 87.0). Codes that lost their zeros are
  left-padded to the width in :data:`schema.CODE_WIDTH` (87 -> "87", 1 -> "01", 868 -> "868").
* Row numbers are those a spreadsheet user sees: the header is row 1, the first form row 2.
  Completely blank rows are not forms: they are skipped and not counted in ``rows_read``.

Headers
-------
Canonical names (``form_id``, ``access_1`` ...) and the Vietnamese headers a clerk types are
accepted, case-, accent-, space- and punctuation-insensitively (:data:`BASE_ALIASES`). Answer
columns follow a rule: ``<element label, element id or abbreviation> <n>`` -> ``<element>_<n>``
("Tiếp cận 1", "TC1", "access 1" -> ``access_1``; :data:`ELEMENT_ALIASES`); "Mong đợi 3" /
"Kỳ vọng 3" -> ``expect_3`` (for a scheme whose options are not numbered, such as sipas-2017,
``expect_<n>`` means its n-th option); "Nhận định 2" -> the 2nd perception question; a
perception question's Vietnamese label is accepted as its header. Headers that mean nothing here
are ignored and listed in :meth:`ImportResult.summary` ("columns not used: ..."). The columns
``row``, ``file`` and ``errors`` (written by :func:`write_rejects`) are ignored silently so a fixed
rejects file can be imported again. Two headers meaning the same column, missing required
columns, unreadable or empty files and unknown extensions raise :class:`ImportFileError`.

Decisions (the rules a row is checked against)
----------------------------------------------
* ``scheme`` may be absent or blank: it is then the scheme in force for the row's year
  (:func:`methodology.scheme_for_year`). A scheme that is given must be that one.
* ``district_code`` is required in a year whose units have districts (:mod:`sipas_data.calendar`:
  up to 2024) and must be empty in the others (from 2025). ``commune_code`` is
  required for a commune-level agency and must be empty for a district-level one.
* ``agency_level`` blank -> the service's level in the scheme, except in a year without districts
  where it is ``commune``; "district" given for such a year is rejected. A given level need not equal
  the service's usual level (a province may survey a service elsewhere).
* Form ids are unique within a survey year (the same id in another year is another form). Duplicate
  checks run on rows that passed every other check. A form whose (year, form_id) was accepted from
  an *earlier file* with identical canonical content is counted in ``duplicates_ignored`` (already
  imported); with different content it is rejected "form_id: duplicate of row N of <file>
  (different answers)". Within one file the first row is accepted and later ones are rejected,
  also when they are identical ("... (the same form entered twice)"): a clerk typed it twice.
* Answers: 1..5 (the scheme's ``valid_answers``). Empty, 0, "không trả lời"/"KTL" and several
  boxes ticked ("4,5", "4;5", "4 5") are stored as null, not rejected. Any other number or text is
  rejected. A spreadsheet's "4.0" is 4.
* An answer column for an item not asked in the row's year/scheme (e.g. ``access_4`` in 2024) is
  ignored; how many values were ignored is listed in the summary. Nothing is rejected for it.
* A row with no valid answer at all is accepted (it contributes n = 0 everywhere).
* Expectations: sipas-2017 (multi-select) 1/x/✓/có/yes -> 1, 0/không/no -> 0, empty -> null;
  sipas-2022 (rated) 1..3 or the level's label (Rất nhiều/Nhiều/Ít), empty/0/KTL/several ticked
  -> null, anything else rejected. Perceptions: an option's code, id or label -> its integer code.
* Profile answers: the option id, its numeric code or its Vietnamese/English label -> the id.
* ``weight`` blank -> 1.0; otherwise a finite number > 0 (decimal comma accepted) between
  :data:`MIN_WEIGHT` and :data:`MAX_WEIGHT`, and within a factor :data:`MAX_WEIGHT_RATIO` of the
  median weight of its file (blank weights count as 1). A weight outside is rejected as a typing
  or unit mistake: one such form would outweigh all the others, and weights near the float limit
  overflow the sums the indices are computed from.
* ``collected_on``: yyyy-mm-dd or dd/mm/yyyy (also with - or .), or a spreadsheet date; stored as
  an ISO date string.

Stored dtypes: strings are pandas ``"string"`` (missing = ``<NA>``; empty district/commune codes
are ``<NA>``), ``year`` ``"Int16"``, answers/expectations/perceptions ``"Int8"``, ``weight``
float64. The accepted frame has ``schema.response_columns`` of every built-in scheme, in that order,
sorted by (year, form_id).
"""
from __future__ import annotations

import csv
import datetime as _dt
import hashlib
import io
import os
import re
import secrets
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import calendar, schema
from .methodology import PROFILE_DIMENSIONS, Methodology, MethodologyError, builtin_methodologies, scheme_for_year

__all__ = [
    "ImportFileError", "ImportResult", "read_forms", "write_rejects", "write_csv_atomic",
    "default_rejects_path",
    "BASE_ALIASES", "ELEMENT_ALIASES", "canonical_header",
]

CSV_EXTENSIONS = {".csv", ".txt", ".tsv"}
XLSX_EXTENSIONS = {".xlsx", ".xlsm"}
SHEET_NAMES = ("phieu", "forms")
IGNORED_HEADERS = {"row", "file", "errors"}


class ImportFileError(ValueError):
    """A whole file cannot be imported; the message says why in plain words."""


# ---------------------------------------------------------------------------------------------
# Normalisation and header aliases
# ---------------------------------------------------------------------------------------------

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def _norm(text) -> str:
    """Unaccented, lower-case, punctuation as single spaces: "Mã  Tỉnh*" -> "ma tinh"."""
    text = unicodedata.normalize("NFD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("đ", "d").replace("Đ", "D").lower()
    return _NON_ALNUM.sub(" ", text).strip()


#: Headers a clerk may type for the base columns (matched after :func:`_norm`).
BASE_ALIASES: dict[str, tuple[str, ...]] = {
    "form_id": ("Mã phiếu", "Số phiếu", "Phiếu số", "Số thứ tự phiếu", "ID phiếu"),
    "year": ("Năm", "Năm khảo sát", "Năm điều tra"),
    "scheme": ("Bộ chỉ số", "Phương pháp", "Bộ tiêu chí"),
    "province_code": ("Mã tỉnh", "Mã tỉnh/thành phố", "Mã tỉnh thành"),
    "district_code": ("Mã huyện", "Mã quận/huyện", "Mã quận huyện"),
    "commune_code": ("Mã xã", "Mã xã/phường", "Mã phường/xã", "Mã xã phường thị trấn"),
    "service": ("Dịch vụ", "Lĩnh vực", "Thủ tục", "Dịch vụ công", "Thủ tục hành chính"),
    "agency_level": ("Cấp giải quyết", "Cấp", "Cấp cơ quan"),
    "gender": ("Giới tính",),
    "age_group": ("Nhóm tuổi", "Độ tuổi", "Tuổi"),
    "education": ("Trình độ học vấn", "Học vấn", "Trình độ"),
    "occupation": ("Nghề nghiệp", "Nghề"),
    "ethnicity": ("Dân tộc",),
    "weight": ("Trọng số",),
    "collected_on": ("Ngày khảo sát", "Ngày thu phiếu", "Ngày điều tra", "Ngày"),
    "channel": ("Kênh", "Hình thức", "Hình thức khảo sát"),
}

#: Short names of elements for item headers "<alias> <n>" (besides element ids and labels).
ELEMENT_ALIASES: dict[str, tuple[str, ...]] = {
    "access": ("Tiếp cận", "TC"),
    "procedures": ("Thủ tục", "TT"),
    "civil_servants": ("Công chức", "CC"),
    "results": ("Kết quả", "KQ"),
    "feedback": ("Góp ý", "Phản ánh", "GY", "PA"),
    "accountability": ("Trách nhiệm giải trình", "TNGT"),
    "participation": ("Tham gia", "Sự tham gia", "TG"),
    "policy_quality": ("Chất lượng chính sách", "CLCS"),
    "policy_impact": ("Tác động chính sách", "Tác động của chính sách", "TĐCS"),
}
EXPECT_PREFIXES = ("Mong đợi", "Kỳ vọng", "Nhu cầu", "expect")
PERCEPTION_PREFIXES = ("Nhận định", "perception")

_NUMBERED = re.compile(r"^(.*?)\s*(\d+)$")


def _schemes() -> list[Methodology]:
    return list(builtin_methodologies().values())


def _all_columns() -> list[str]:
    return schema.response_columns(_schemes())


def _header_tables():
    base = {}
    for col in _all_columns():
        base[_norm(col)] = col
    for col, aliases in BASE_ALIASES.items():
        for a in aliases:
            base[_norm(a)] = col
    elements = {}
    for m in _schemes():
        for el in m.elements:
            elements.setdefault(_norm(el.id), el.id)
            elements.setdefault(_norm(el.label["vi"]), el.id)
    for el, aliases in ELEMENT_ALIASES.items():
        for a in aliases:
            elements[_norm(a)] = el
    perceptions = {}
    for m in _schemes():
        for p in m.perceptions:
            perceptions.setdefault(_norm(p.label["vi"]), p.column)
    return base, elements, perceptions


_TABLES = None


def canonical_header(header: str) -> str | None:
    """The canonical column a header means, or None if it means nothing here."""
    global _TABLES
    if _TABLES is None:
        _TABLES = _header_tables()
    base, elements, perceptions = _TABLES
    key = _norm(header)
    if not key:
        return None
    if key in base:
        return base[key]
    if key in perceptions:
        return perceptions[key]
    match = _NUMBERED.match(key)
    if not match:
        return None
    prefix, n = match.group(1).strip(), int(match.group(2))
    if prefix in elements:
        col = f"{elements[prefix]}_{n}"
        return col if col in _all_columns() else None
    if prefix in {_norm(p) for p in EXPECT_PREFIXES}:
        if any(str(n) in {o.id for o in m.expectation_options}
               or n <= len(m.expectation_options) for m in _schemes()):
            return f"expect_{n}"
        return None
    if prefix in {_norm(p) for p in PERCEPTION_PREFIXES}:
        for m in _schemes():
            if 1 <= n <= len(m.perceptions):
                return m.perceptions[n - 1].column
    return None


# ---------------------------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------------------------

ERROR_KINDS = {
    "code": "unknown administrative code",
    "place": "unit outside its district or province",
    "service": "service not in the scheme",
    "scale": "answer outside the scale",
    "duplicate": "duplicate form id",
    "missing": "missing required field",
    "mismatch": "year or scheme that does not match",
    "value": "value not accepted",
}


def _num(n: int) -> str:
    return f"{n:,}".replace(",", " ")


@dataclass
class ImportResult:
    accepted: pd.DataFrame
    rejects: pd.DataFrame
    rows_read: int
    sources: list[dict]
    duplicates_ignored: int = 0
    error_counts: dict[str, int] = field(default_factory=dict)
    unused_columns: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    rejects_path: Path | None = field(default=None, repr=False)
    _inputs: list[Path] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return len(self.rejects) == 0

    def summary(self) -> str:
        line = (f"{_num(self.rows_read)} rows read: {_num(len(self.accepted))} accepted, "
                f"{_num(len(self.rejects))} rejected")
        if len(self.rejects):
            target = self.rejects_path or (default_rejects_path(self._inputs[0]) if self._inputs else None)
            if target is not None:
                line += f" (see {Path(target).name})"
        lines = [line]
        if self.duplicates_ignored:
            lines.append(f"{_num(self.duplicates_ignored)} forms already imported were ignored "
                         "(same form id, same answers)")
        if self.error_counts:
            lines.append("errors by kind (a row may have several):")
        for kind, count in self.error_counts.items():
            lines.append(f"  {ERROR_KINDS.get(kind, kind)}: {_num(count)}")
        for name, cols in self.unused_columns.items():
            if cols:
                lines.append(f"{name}: columns not used: {', '.join(cols)}")
        lines += self.notes
        return "\n".join(lines)


def default_rejects_path(input_path) -> Path:
    p = Path(input_path)
    return p.with_name(f"{p.stem}.rejects.csv")


def write_rejects(result: ImportResult, path: str | Path) -> Path:
    """Write the rejected rows (original headers, text as read) plus "errors" as UTF-8-with-BOM
    CSV. "row" (and "file" when the rows come from several files) are kept so each reason can be
    traced; the importer ignores these columns when the fixed file is read back."""
    path = Path(path)
    rej = result.rejects.copy()
    if "file" in rej.columns and rej["file"].nunique() <= 1:
        rej = rej.drop(columns="file")
    front = [c for c in rej.columns if c not in ("file", "row", "errors")]
    rej = rej[front + [c for c in ("file", "row", "errors") if c in rej.columns]]
    write_csv_atomic(rej, path)
    result.rejects_path = path
    return path


def write_csv_atomic(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as UTF-8-with-BOM CSV to ``path`` whole or not at all: into a temporary
    file in the same folder, flushed to disk, then renamed over ``path``. A failed write (a full
    disk) leaves the previous file, or none, and no temporary file; the OSError is raised."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # os.open rather than mkstemp: the file gets the usual permissions (0666 less the umask)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as f:
            frame.to_csv(f, index=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


# ---------------------------------------------------------------------------------------------
# Reading files into text frames
# ---------------------------------------------------------------------------------------------

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


def _read_csv(path: Path) -> list[list[str]] | pd.DataFrame:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(f"{path.name}: cannot be read ({exc.strerror or exc})") from None
    text = _decode(data, path.name)
    if not text.strip():
        raise ImportFileError(f"{path.name}: the file is empty (no header row)")
    first = text.lstrip("\ufeff").split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    delim = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    try:
        frame = pd.read_csv(io.StringIO(text.lstrip("\ufeff")), sep=delim, header=None, dtype=str,
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


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, _dt.datetime):
        return v.date().isoformat() if v.time() == _dt.time() else v.isoformat(sep=" ")
    if isinstance(v, _dt.date):
        return v.isoformat()
    return str(v)


def _read_xlsx(path: Path) -> pd.DataFrame:
    import openpyxl
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file (BadZipFile, KeyError, InvalidFileException ...)
        raise ImportFileError(f"{path.name}: cannot be opened as an Excel workbook ({exc})") from None
    try:
        sheet = next((wb[n] for n in wb.sheetnames if _norm(n) in SHEET_NAMES), wb.worksheets[0])
        rows = [[_cell_text(v) for v in r] for r in sheet.iter_rows(values_only=True)]
    finally:
        wb.close()
    if not rows or not any(c.strip() for c in rows[0]):
        raise ImportFileError(f"{path.name}: the sheet '{sheet.title}' is empty (no header row in row 1)")
    width = max(len(r) for r in rows)
    return pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=object)


def _read_table(path: Path) -> pd.DataFrame:
    """The file as text: a header row then data rows; row numbers in the index (header = 1)."""
    if not path.exists():
        raise ImportFileError(f"{path.name}: no such file")
    ext = path.suffix.lower()
    if ext in CSV_EXTENSIONS:
        grid = _read_csv(path)
    elif ext in XLSX_EXTENSIONS:
        grid = _read_xlsx(path)
    else:
        raise ImportFileError(f"{path.name}: cannot import a '{ext or 'no extension'}' file; "
                              "use .csv or .xlsx")
    header = [str(h) for h in grid.iloc[0].tolist()]
    body = grid.iloc[1:].astype(object)
    body.index = pd.RangeIndex(2, 2 + len(body))
    # name columns; drop unnamed columns that hold nothing (Excel's trailing cells)
    names, keep, seen = [], [], Counter()
    for i, h in enumerate(header):
        col = body.iloc[:, i]
        h = h.strip()
        if not h:
            if not (col.astype(str).str.strip() != "").any():
                continue
            h = f"(no header, column {_excel_col(i)})"
        seen[h] += 1
        names.append(h if seen[h] == 1 else f"{h} ({seen[h]})")
        keep.append(i)
    body = body.iloc[:, keep]
    body.columns = names
    if not names:
        raise ImportFileError(f"{path.name}: the header row (row 1) is empty")
    return body.astype(str)


def _excel_col(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


# ---------------------------------------------------------------------------------------------
# Value parsers (applied to distinct values only, then broadcast)
# ---------------------------------------------------------------------------------------------

NO_ANSWER = {"0", "ktl", "khong tra loi", "k tra loi", "khong y kien", "n a"}
_BLANK = {"", "-"}
_MULTI = re.compile(r"^\d+(?:\s*[,;/+ ]\s*\d+)+$")
_INT_LIKE = re.compile(r"^[+-]?\d+(?:\.0+)?$")


def _apply(values: pd.Series, func, numeric: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Run ``func(text) -> (value, error or None)`` once per distinct value of ``values`` and
    broadcast the results (``numeric``: values as a float array, NaN for none)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    out = [func(u) for u in uniques]
    if numeric:
        vals = np.array([np.nan if v is None else v for v, _ in out], dtype=float)
    else:
        vals = np.empty(len(out), dtype=object)
        vals[:] = [v for v, _ in out]
    errs = np.empty(len(out), dtype=object)
    errs[:] = [e for _, e in out]
    return vals[codes], errs[codes]


def _scale_parser(col: str, valid: tuple[int, ...], labels: dict[str, int] | None = None,
                  hint: str = ""):
    lo, hi = min(valid), max(valid)
    what = "answer scale" if not hint else "scale"

    def parse(s: str):
        s = s.strip()
        n = _norm(s)
        if s in _BLANK or n in NO_ANSWER or _MULTI.match(s):
            return None, None
        if labels and n in labels:
            return labels[n], None
        try:
            f = float(s.replace(",", "."))
        except ValueError:
            return None, (f"{col}: '{s}' is not an answer (expected {lo}–{hi}{hint}; empty, 0 or "
                          "'không trả lời' for no answer)")
        if f.is_integer() and int(f) in valid:
            return int(f), None
        if f == 0:
            return None, None
        return None, f"{col}: {s} is outside the {what} {lo}–{hi}{hint}"
    return parse


_TICKED = {"1", "x", "v", "co", "yes", "true", "dung"}
_UNTICKED = {"0", "khong", "no", "false"}


def _tick_parser(col: str):
    def parse(s: str):
        n = _norm(s)
        if (s.strip() in ("✓", "✔", "☑", "√") or n in _TICKED
                or (s.strip() and _INT_LIKE.match(s.strip()) and float(s) == 1)):
            return 1, None
        if s.strip() in _BLANK:
            return None, None
        if n in _UNTICKED:
            return 0, None
        return None, f"{col}: '{s.strip()}' is not a tick (expected 1, x or có for ticked; 0 or empty for not)"
    return parse


def _option_parser(col: str, tokens: dict[str, object], expected: str, no_answer=()):
    def parse(s: str):
        n = _norm(s)
        if s.strip() in _BLANK or n in no_answer:
            return None, None
        key = n
        if _INT_LIKE.match(s.strip()):
            key = str(int(float(s.strip())))
        if key in tokens:
            return tokens[key], None
        return None, f"{col}: '{s.strip()}' is not an accepted value (expected one of {expected})"
    return parse


def _code_parser(col: str, width: int):
    def parse(s: str):
        s = s.strip()
        if not s:
            return "", None
        if re.fullmatch(r"\d+\.0+", s):
            s = s.split(".")[0]
        if s.isdigit() and len(s) <= width:
            return s.zfill(width), None
        return None, f"{col}: '{s}' is not a {width}-digit code"
    return parse


def _parse_date(s: str):
    s = s.strip()
    if not s:
        return None, None
    for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y", "%d-%m-%Y",
                "%d.%m.%Y", "%Y/%m/%d"):
        try:
            return _dt.datetime.strptime(s, fmt).date().isoformat(), None
        except ValueError:
            continue
    return None, f"collected_on: '{s}' is not a date (expected dd/mm/yyyy or yyyy-mm-dd)"


# Plausible weights. A survey weight is a design or post-stratification factor (normalised to
# about 1, or residents per form): within one survey file the weights differ by far less than a
# factor of 1000. A weight more than MAX_WEIGHT_RATIO times the file's median weight, or less than
# the median divided by it, would alone outweigh (or vanish beside) every other form: it is a
# typing or unit mistake (1e15 for 1.5). The absolute bounds keep the engine's weighted sums and
# sums of squares finite and non-zero even when every weight of a file is absurd alike (all 1e200,
# ratio 1); a weight of 1e308 once passed and overflowed the ranking.
MIN_WEIGHT = 1e-6
MAX_WEIGHT = 1e6
MAX_WEIGHT_RATIO = 1000


def _parse_weight(s: str):
    s = s.strip()
    if not s:
        return 1.0, None
    try:
        f = float(s.replace(",", "."))
    except ValueError:
        f = float("nan")
    if not np.isfinite(f) or f <= 0:
        return None, f"weight: '{s}' is not a number greater than 0 (leave empty for 1)"
    if not MIN_WEIGHT <= f <= MAX_WEIGHT:
        return None, (f"weight: {s} is not a plausible weight (expected a number from {MIN_WEIGHT:g} "
                      f"to {MAX_WEIGHT:g}; leave empty for 1)")
    return f, None


def _weight_outliers(text: np.ndarray, w: np.ndarray):
    """Rows whose weight is more than a factor MAX_WEIGHT_RATIO away from the file's median
    weight, and their messages (None, None when there are none)."""
    valid = np.isfinite(w)
    if not valid.any():
        return None, None
    median = float(np.median(w[valid]))
    lo, hi = median / MAX_WEIGHT_RATIO, median * MAX_WEIGHT_RATIO
    with np.errstate(invalid="ignore"):
        mask = valid & ((w < lo) | (w > hi))
    if not mask.any():
        return None, None
    msg = np.full(len(w), None, dtype=object)
    msg[mask] = [f"weight: {t} is {'more than ' if x > hi else 'less than 1/'}{MAX_WEIGHT_RATIO} "
                 f"{'times ' if x > hi else 'of '}the median weight of the file ({median:g}); "
                 f"expected a weight from {lo:g} to {hi:g}"
                 for t, x in zip(text[mask], w[mask])]
    return mask, msg


_LEVEL_TOKENS = {"district": "district", "huyen": "district", "cap huyen": "district",
                 "quan": "district", "quan huyen": "district", "thi xa": "district",
                 "commune": "commune", "xa": "commune", "cap xa": "commune", "phuong": "commune",
                 "xa phuong": "commune", "thi tran": "commune"}


# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------

def _units(vintage: str) -> pd.DataFrame:
    from geo.units import units
    return units(vintage)


_REGISTRY_CACHE: dict[int, dict] = {}


def _registry(vintage: str) -> dict:
    df = _units(vintage)
    key = id(df)
    if key not in _REGISTRY_CACHE:
        by = {lvl: df[df["level"] == lvl] for lvl in ("province", "district", "commune")}
        _REGISTRY_CACHE.clear()
        _REGISTRY_CACHE[key] = {
            "provinces": set(by["province"]["code"]),
            "district_province": pd.Series(by["district"]["province_code"].to_numpy(),
                                           index=by["district"]["code"].to_numpy()).to_dict(),
            "commune_district": pd.Series(by["commune"]["district_code"].to_numpy(),
                                          index=by["commune"]["code"].to_numpy()).to_dict(),
            "commune_province": pd.Series(by["commune"]["province_code"].to_numpy(),
                                          index=by["commune"]["code"].to_numpy()).to_dict(),
        }
    return _REGISTRY_CACHE[key]


# ---------------------------------------------------------------------------------------------
# Checking one file
# ---------------------------------------------------------------------------------------------

class _Errors:
    """Per-row messages gathered rule by rule (boolean masks, no loop over rows)."""

    def __init__(self, n: int):
        self.n = n
        self.msgs: list[tuple[str, np.ndarray, np.ndarray]] = []

    def add(self, kind: str, mask, msg):
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        if callable(msg):          # messages built from row values only when a row fails
            msg = msg()
        if isinstance(msg, str):
            msg = np.full(self.n, msg, dtype=object)
        else:
            msg = np.asarray(msg, dtype=object)
        self.msgs.append((kind, mask, msg))

    def add_parsed(self, kind: str, errs: np.ndarray, where=None):
        mask = pd.notna(errs) if where is None else (pd.notna(errs) & where)
        self.add(kind, mask, errs)

    def any(self) -> np.ndarray:
        out = np.zeros(self.n, dtype=bool)
        for _, mask, _ in self.msgs:
            out |= mask
        return out

    def text(self) -> np.ndarray:
        out = np.full(self.n, "", dtype=object)
        for _, mask, msg in self.msgs:
            sep = np.where(out[mask] == "", "", "; ")
            out[mask] = out[mask] + sep + msg[mask]
        return out

    def counts(self) -> Counter:
        c = Counter()
        for kind, mask, _ in self.msgs:
            c[kind] += int(mask.sum())
        return c


def _s(values) -> np.ndarray:
    return np.asarray(values, dtype=object).astype(str)


def _check_file(raw: pd.DataFrame, name: str) -> tuple[pd.DataFrame, _Errors, list[str], list[str]]:
    """Canonical frame for every row of ``raw`` plus the errors found; also unused headers and
    notes. Columns of the canonical frame are still plain object arrays here."""
    n = len(raw)
    mapping: dict[str, str] = {}
    unused: list[str] = []
    for h in raw.columns:
        if _norm(h) in IGNORED_HEADERS:
            continue
        col = canonical_header(h)
        if col is None:
            unused.append(h)
        elif col in mapping:
            raise ImportFileError(f"{name}: the columns '{mapping[col]}' and '{h}' both mean "
                                  f"'{col}'; keep only one of them")
        else:
            mapping[col] = h
    missing = [c for c in ("form_id", "year", "province_code", "service") if c not in mapping]
    if missing:
        raise ImportFileError(
            f"{name}: required columns missing: {', '.join(missing)} (found: {', '.join(raw.columns)})")

    def col(c: str) -> pd.Series:
        if c in mapping:
            return raw[mapping[c]].str.strip()
        return pd.Series("", index=raw.index, dtype=object)

    err = _Errors(n)
    notes: list[str] = []
    out: dict[str, np.ndarray] = {}

    # form_id, year, scheme ------------------------------------------------------------------
    form_id = col("form_id").to_numpy(dtype=object)
    err.add("missing", form_id == "", "form_id: missing (required)")
    out["form_id"] = form_id

    def parse_year(s):
        if not s:
            return None, "year: missing (required)"
        if re.fullmatch(r"\d{4}(\.0+)?", s):
            y = int(float(s))
            first = min(m.first_year for m in _schemes())
            last = _dt.date.today().year  # forms are collected in the survey year, never later
            try:
                scheme_for_year(y)
            except MethodologyError:
                return None, f"year: no scheme covers {y} (expected {first} or later)"
            if y > last:
                return None, f"year: {y} is after this year (expected {first} to {last})"
            return y, None
        return None, f"year: '{s}' is not a year (expected four digits, e.g. 2024)"
    years, yerr = _apply(col("year"), parse_year)
    err.add("missing", yerr == "year: missing (required)", yerr)
    err.add("mismatch", pd.notna(yerr) & (yerr != "year: missing (required)"), yerr)
    has_year = pd.isna(yerr)
    out["year"] = years
    year_s = _s(years)

    known = {m.id: m for m in _schemes()}
    expected = _expected_schemes(years)
    given = col("scheme").str.lower().to_numpy(dtype=object)
    blank_scheme = given == ""
    unknown_scheme = ~blank_scheme & ~np.isin(given, list(known))
    err.add("mismatch", unknown_scheme,
            lambda: "scheme: '" + _s(col("scheme")) + "' is not a known scheme (expected "
            + _s(expected) + ")")
    mism = has_year & ~blank_scheme & ~unknown_scheme & (given != expected)
    err.add("mismatch", mism, lambda: "scheme: '" + _s(given) + "' does not apply to " + year_s
            + " (expected " + _s(expected) + ")")
    out["scheme"] = np.where(has_year, expected, None)

    # codes ----------------------------------------------------------------------------------
    codes = {}
    for c, width in schema.CODE_WIDTH.items():
        vals, cerr = _apply(col(c), _code_parser(c, width))
        err.add_parsed("code", cerr)
        codes[c] = vals
    prov, dist, comm = codes["province_code"], codes["district_code"], codes["commune_code"]
    err.add("missing", prov == "", "province_code: missing (required)")
    yr = np.array([y if y is not None else 0 for y in years], dtype=int)
    with_districts = np.isin(yr, [y for y in pd.unique(yr) if calendar.has_districts(int(y))])
    post = has_year & ~with_districts
    pre = has_year & with_districts
    abolished = calendar.districts_abolished()
    surveys_with_districts = f"surveys up to {abolished - 1}" if abolished else "surveys on units with districts"

    # service and agency level ---------------------------------------------------------------
    service = np.full(n, None, dtype=object)
    level_svc = np.full(n, None, dtype=object)
    svc_raw = col("service")
    err.add("missing", svc_raw.to_numpy() == "", "service: missing (required)")
    for sid in pd.unique(out["scheme"][has_year]):
        m = known[sid]
        rows = (out["scheme"] == sid) & has_year & (svc_raw.to_numpy() != "")
        if not rows.any():
            continue
        tokens = {}
        for s in m.services:
            for t in (s.id, s.label["vi"], s.label["en"]):
                tokens.setdefault(_norm(t), s.id)
        ids = ", ".join(s.id for s in m.services)

        def parse_service(v, tokens=tokens, sid=sid, ids=ids):
            k = _norm(v)
            if k in tokens:
                return tokens[k], None
            return None, f"service: '{v}' is not a service of {sid} (expected one of {ids})"
        vals, serr = _apply(svc_raw[rows], parse_service)
        service[rows] = vals
        err.add("service", _spread(rows, pd.notna(serr)), _spread(rows, serr))
        lv = {s.id: s.level for s in m.services}
        level_svc[rows] = [lv.get(v) for v in vals]
    out["service"] = service

    lvl_raw = col("agency_level")

    def parse_level(v):
        if not v:
            return "", None
        k = _norm(v)
        if k in _LEVEL_TOKENS:
            return _LEVEL_TOKENS[k], None
        return None, f"agency_level: '{v}' is not an agency level (expected district or commune)"
    lvl, lerr = _apply(lvl_raw, parse_level)
    err.add_parsed("value", lerr)
    inferred = np.where(post, "commune", level_svc)
    level = np.where(lvl == "", inferred, lvl)
    err.add("mismatch", post & (lvl == "district"),
            lambda: "agency_level: 'district' is not possible in " + year_s
            + f" (no districts from {abolished}; expected commune)")
    out["agency_level"] = level

    # registry checks ------------------------------------------------------------------------
    vint = np.full(n, None, dtype=object)
    for y in pd.unique(yr[has_year]):
        vint[has_year & (yr == y)] = calendar.vintage_for_year(int(y))
    for v in pd.unique(vint[has_year]):
        reg = _registry(v)
        rows = vint == v
        p_ok = np.isin(prov, list(reg["provinces"]))
        bad_p = rows & (prov != "") & pd.notna(prov) & ~p_ok
        err.add("code", bad_p, lambda: "province_code: '" + _s(prov) + "' is not a province code in force in " + year_s)
        dprov = pd.Series(dist).map(reg["district_province"]).to_numpy(dtype=object)
        has_d = (dist != "") & pd.notna(dist)
        if calendar.vintage(v).has_districts:
            need_d = rows & pre & ~has_d & pd.notna(dist)
            err.add("missing", need_d, f"district_code: missing (required for {surveys_with_districts})")
            bad_d = rows & has_d & pd.isna(dprov)
            err.add("code", bad_d,
                    lambda: "district_code: '" + _s(dist) + "' is not a district code in force in " + year_s)
            out_d = rows & has_d & pd.notna(dprov) & p_ok & (dprov != prov)
            err.add("place", out_d, lambda: "district_code: '" + _s(dist) + "' is not in province '" + _s(prov)
                    + "' (it belongs to province '" + _s(dprov) + "')")
            d_ok = rows & has_d & pd.notna(dprov) & (dprov == prov)
        else:
            d_ok = np.zeros(n, dtype=bool)
        has_c = (comm != "") & pd.notna(comm)
        cdist = pd.Series(comm).map(reg["commune_district"]).to_numpy(dtype=object)
        cprov = pd.Series(comm).map(reg["commune_province"]).to_numpy(dtype=object)
        known_c = pd.Series(comm).isin(reg["commune_province"].keys()).to_numpy()
        bad_c = rows & has_c & ~known_c
        err.add("code", bad_c, lambda: "commune_code: '" + _s(comm) + "' is not a commune code in force in " + year_s)
        out_cd = rows & has_c & known_c & d_ok & (cdist != dist)
        err.add("place", out_cd, lambda: "commune_code: '" + _s(comm) + "' is not in district '" + _s(dist)
                + "' (it belongs to district '" + _s(cdist) + "')")
        out_cp = rows & has_c & known_c & ~d_ok & p_ok & (cprov != prov)
        err.add("place", out_cp, lambda: "commune_code: '" + _s(comm) + "' is not in province '" + _s(prov)
                + "' (it belongs to province '" + _s(cprov) + "')")
    err.add("mismatch", post & (dist != "") & pd.notna(dist),
            lambda: "district_code: must be empty in " + year_s + f" (districts were abolished from {abolished})")
    err.add("missing", (level == "commune") & (comm == ""),
            "commune_code: missing (required when the agency is at commune level)")
    err.add("mismatch", (level == "district") & (comm != "") & pd.notna(comm),
            "commune_code: must be empty when the agency is at district level (the form counts "
            "toward the district)")
    out["province_code"], out["district_code"], out["commune_code"] = prov, dist, comm

    # profile, weight, date, channel --------------------------------------------------------
    profile = _schemes()[0].profile
    for dim in PROFILE_DIMENSIONS:
        if dim not in mapping or dim not in profile:
            out[dim] = np.full(n, None, dtype=object)
            continue
        tokens, shown = {}, []
        for o in profile[dim]["options"]:
            for t in (o["id"], str(o.get("code", "")), o["label"]["vi"], o["label"]["en"]):
                if t:
                    tokens.setdefault(_norm(t), o["id"])
            shown.append(f"{o['id']} / {o.get('code')} / {o['label']['vi']}")
        vals, perr = _apply(col(dim), _option_parser(dim, tokens, "; ".join(shown)))
        err.add_parsed("value", perr)
        out[dim] = vals
    w_text = col("weight")
    w, werr = _apply(w_text, _parse_weight)
    err.add_parsed("value", werr)
    far, far_msg = _weight_outliers(w_text.to_numpy(dtype=object), np.asarray(w, dtype=float))
    if far is not None:
        err.add("value", far, far_msg)
    out["weight"] = w
    d, derr = _apply(col("collected_on"), _parse_date)
    err.add_parsed("value", derr)
    out["collected_on"] = d
    out["channel"] = col("channel").to_numpy(dtype=object)

    # answers --------------------------------------------------------------------------------
    answer_cols = [c for c in _all_columns() if c not in schema.BASE_COLUMNS]
    for c in answer_cols:
        out[c] = np.full(n, np.nan)
    groups = pd.DataFrame({"s": out["scheme"], "y": yr})[has_year].drop_duplicates()
    ignored = Counter()
    for sid, y in groups.itertuples(index=False):
        m = known[sid]
        rows = has_year & (out["scheme"] == sid) & (yr == y)
        sources = _answer_sources(m, int(y), mapping)
        for target, (src, parser) in sources.items():
            vals, aerr = _apply(raw.loc[rows, mapping[src]], parser, numeric=True)
            out[target][rows] = vals
            err.add("scale", _spread(rows, pd.notna(aerr)), _spread(rows, aerr))
        taken = {src for src, _ in sources.values()}
        for c in mapping:
            if c in answer_cols and c not in taken:
                k = int((raw.loc[rows, mapping[c]].str.strip() != "").sum())
                if k:
                    ignored[(mapping[c], sid, int(y))] += k
    for (h, sid, y), k in sorted(ignored.items()):
        notes.append(f"{name}: column '{h}' is not asked in {y} under {sid}: {_num(k)} values ignored")
    frame = pd.DataFrame(out, index=raw.index)
    return frame, err, unused, notes


def _expected_schemes(years: np.ndarray) -> np.ndarray:
    out = np.full(len(years), None, dtype=object)
    ys = pd.Series(years)
    for y in ys.dropna().unique():
        out[(ys == y).to_numpy()] = scheme_for_year(int(y)).id
    return out


def _spread(rows: np.ndarray, values) -> np.ndarray:
    """Values computed for the ``rows`` subset, placed back into a full-length array."""
    values = np.asarray(values)
    if values.dtype == bool:
        full = np.zeros(len(rows), dtype=bool)
    else:
        full = np.full(len(rows), None, dtype=object)
    full[rows] = values
    return full


def _answer_sources(m: Methodology, year: int, mapping: dict[str, str]) -> dict:
    """target column -> (canonical column found in the file, parser) for scheme ``m`` in ``year``."""
    src = {}
    for item in m.item_ids(year):
        if item in mapping:
            src[item] = (item, _scale_parser(item, m.valid_answers))
    ids = {o.id for o in m.expectation_options}
    for k, o in enumerate(m.expectation_options, start=1):
        target = f"expect_{o.id}"
        found = target if target in mapping else (
            f"expect_{k}" if f"expect_{k}" in mapping and str(k) not in ids else None)
        if found is None:
            continue
        if m.expectation_kind == "multi_select":
            src[target] = (found, _tick_parser(target))
        else:
            valid = tuple(sorted(int(v) for v in m.expectation_scale)) or (1, 2, 3)
            labels = {_norm(lab["vi"]): int(v) for v, lab in m.expectation_scale.items()}
            hint = " (" + ", ".join(f"{v} {lab['vi']}" for v, lab in sorted(m.expectation_scale.items())) + ")"
            src[target] = (found, _scale_parser(target, valid, labels, hint))
    for p in m.perceptions:
        if p.column in mapping:
            tokens = {}
            for o in p.options:
                for t in (str(o.code), o.id, o.label["vi"], o.label["en"]):
                    tokens.setdefault(_norm(t), o.code)
            shown = ", ".join(f"{o.code} ({o.label['vi']})" for o in p.options)
            src[p.column] = (p.column, _option_parser(p.column, tokens, shown,
                                                      no_answer=NO_ANSWER))
    return src


# ---------------------------------------------------------------------------------------------
# The public entry point
# ---------------------------------------------------------------------------------------------

def _typed(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for c in columns:
        if c in frame:
            v = frame[c]
        else:
            v = pd.Series(np.nan if c not in schema.BASE_COLUMNS else None, index=frame.index,
                          dtype="float64" if c not in schema.BASE_COLUMNS else object)
        if c == "year":
            out[c] = pd.array(v.tolist(), dtype="Int16")
        elif c == "weight":
            out[c] = v.astype("float64")
        elif c in schema.BASE_COLUMNS:
            v = v.where(pd.notna(v) & (v.astype(str) != ""), None)
            out[c] = v.astype("string")
        else:
            out[c] = v.astype("float64").astype("Int8")
    return out


def read_forms(paths: str | Path | list[str | Path]) -> ImportResult:
    """Read one or more form files; see the module docstring for every rule."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    if not paths:
        raise ImportFileError("no files given")
    columns = _all_columns()
    accepted_parts: list[pd.DataFrame] = []
    reject_parts: list[pd.DataFrame] = []
    sources, unused_all, notes = [], {}, []
    counts = Counter()
    rows_read = dup_ignored = 0
    seen: dict[tuple, tuple[int, str, int]] = {}   # (year, form_id) -> (hash, file, row)

    for path in paths:
        raw = _read_table(path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        blank = (raw.apply(lambda s: s.str.strip()) == "").all(axis=1)
        raw = raw[~blank]
        name = path.name
        sources.append({"file": name, "sha256": digest, "rows": len(raw)})
        rows_read += len(raw)
        frame, err, unused, file_notes = _check_file(raw, name)
        unused_all[name] = unused
        notes += file_notes
        typed = _typed(frame, columns)

        # duplicates among rows that passed every other check ------------------------------
        bad = err.any()
        good_idx = np.flatnonzero(~bad)
        h = pd.util.hash_pandas_object(typed.iloc[good_idx], index=False).to_numpy()
        keys = list(zip(typed["year"].iloc[good_idx].tolist(), typed["form_id"].iloc[good_idx].tolist()))
        rownums = raw.index.to_numpy()[good_idx]
        dup_msg = np.full(len(raw), None, dtype=object)
        ignore = np.zeros(len(raw), dtype=bool)
        first_in_file: dict[tuple, tuple[int, int]] = {}
        # one pass over the (already valid) keys; dict look-ups only
        for pos, key, hv, rn in zip(good_idx, keys, h, rownums):
            if key in seen:
                ph, pfile, prow = seen[key]
                if ph == hv:
                    ignore[pos] = True
                else:
                    dup_msg[pos] = f"form_id: duplicate of row {prow} of {pfile} (different answers)"
            elif key in first_in_file:
                fh, frow = first_in_file[key]
                why = "the same form entered twice" if fh == hv else "different answers"
                dup_msg[pos] = f"form_id: duplicate of row {frow} ({why})"
            else:
                first_in_file[key] = (hv, rn)
        err.add("duplicate", pd.notna(dup_msg), dup_msg)
        for key, (hv, rn) in first_in_file.items():
            seen[key] = (hv, name, rn)
        dup_ignored += int(ignore.sum())

        bad = err.any()
        keep = ~bad & ~ignore
        accepted_parts.append(typed[keep])
        if bad.any():
            rej = raw[bad].copy()
            rej = rej[[c for c in rej.columns if _norm(c) not in IGNORED_HEADERS]]
            rej["file"] = name
            rej["row"] = raw.index[bad]
            rej["errors"] = err.text()[bad]
            reject_parts.append(rej)
        counts.update(err.counts())

    accepted = pd.concat(accepted_parts) if accepted_parts else _typed(pd.DataFrame(), columns)
    accepted = accepted.sort_values(["year", "form_id"], kind="stable").reset_index(drop=True)
    if reject_parts:
        rejects = pd.concat(reject_parts, ignore_index=True)
        rejects = rejects[[c for c in rejects.columns if c not in ("file", "row", "errors")]
                          + ["file", "row", "errors"]]
        front = [c for c in rejects.columns if c not in ("file", "row", "errors")]
        rejects[front] = rejects[front].fillna("")
    else:
        rejects = pd.DataFrame(columns=["file", "row", "errors"])
    ordered = {k: counts[k] for k in ERROR_KINDS if counts.get(k)}
    return ImportResult(accepted=accepted, rejects=rejects, rows_read=rows_read, sources=sources,
                        duplicates_ignored=dup_ignored, error_counts=ordered,
                        unused_columns=unused_all, notes=notes, _inputs=paths)
