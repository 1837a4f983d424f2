"""Official figures: published values (for example the national table by province) that load into
the indices table as ``source = official`` rows beside computed ones, values unchanged.

CSV columns: ``year, level, unit_code, indicator, value, source`` and optionally ``basis``
(``pooled`` or ``mean_of_units``, how an authority built a higher-level figure; default
``published``) and ``n``. ``level`` may be ``country`` with unit code ``VN``.
Every row is accepted or rejected with a reason naming the row and the column, as for forms; the
rejected rows can be written to ``<file>.rejects.csv`` (:func:`write_official_rejects`), fixed and
read again (its ``row`` and ``errors`` columns are ignored). Row numbers are a spreadsheet's: the
header is row 1; blank rows are skipped and not counted.

Rules: ``year`` from the first year of the earliest scheme (2017) to next year (:func:`year_range`);
``level`` one of :data:`LEVELS`; ``unit_code`` a unit of that level in the registry vintage of the
year (:func:`sipas_data.calendar.vintage_for_year`: "2019" up to 2024, "2025" from 2025), ``VN`` for the country;
``indicator`` an indicator of the year's scheme; ``value`` a percentage from 0 to 100; ``source``
required; at most one row per (year, level, unit, indicator): a repeat is rejected naming the first.
An empty file, a row with more cells than the header, a folder or an unreadable file raise
:class:`OfficialFileError`.
"""
from __future__ import annotations

import csv
import datetime as _dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .calendar import vintage_for_year
from .importer import csv_parser_message, write_csv_atomic
from .scheme import SchemeError, builtin_schemes, scheme_for_year
from .schema import COUNTRY_CODE, INDEX_COLUMNS

REQUIRED = ("year", "level", "unit_code", "indicator", "value", "source")
LEVELS = ("country", "province", "district", "commune")
BASES = ("published", "pooled", "mean_of_units")
CODE_WIDTH = {"province": 2, "district": 3, "commune": 5}
IGNORED = ("row", "errors", "file")   # written into a rejects file; ignored when it is read back


class OfficialFileError(ValueError):
    """The file as a whole cannot be read (encoding, missing columns)."""


@dataclass
class OfficialResult:
    rows: pd.DataFrame                   # indices rows (schema.INDEX_COLUMNS), source = official
    rejects: pd.DataFrame                # rejected rows as read, plus "row" and "errors"
    rows_read: int
    file: str = ""
    sha256: str = ""
    columns_ignored: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.rejects.empty

    def summary(self) -> str:
        text = (f"{self.file}: {self.rows_read} official rows read: "
                f"{len(self.rows)} accepted, {len(self.rejects)} rejected")
        if self.columns_ignored:
            text += f"; columns not used: {', '.join(self.columns_ignored)}"
        return text


def year_range() -> tuple[int, int]:
    """First and last year an official figure may carry: from the first year of the earliest
    built-in scheme (2017, the first survey under the 2017 scheme) to next year (a figure can be
    published for the survey under way). Anything else is a typing mistake (9999), which would
    otherwise become the latest year every public page opens on."""
    first = min(m.first_year for m in builtin_schemes().values())
    return first, _dt.date.today().year + 1


def _decode(raw: bytes, name: str) -> str:
    try:
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            return raw.decode("utf-16")
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise OfficialFileError(f"{name}: the file is not UTF-8 or UTF-16 text; save it as CSV UTF-8") from None


def _read_table(path: Path) -> tuple[pd.DataFrame, bytes]:
    """The file's rows as text, columns named by the header (lower case), row numbers as index
    (header = 1); blank rows dropped. Raises OfficialFileError for a file that cannot be read."""
    name = path.name
    if path.is_dir():
        raise OfficialFileError(f"{name}: is a folder, not a CSV file of official figures")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise OfficialFileError(f"{name}: no such file") from None
    except OSError as exc:
        raise OfficialFileError(f"{name}: cannot be read ({exc.strerror or exc})") from None
    text = _decode(raw, name)
    expected = f"expected a header row with {', '.join(REQUIRED)}"
    if not text.strip():
        raise OfficialFileError(f"{name}: the file is empty ({expected})")
    try:
        dialect = csv.Sniffer().sniff(text.splitlines()[0], delimiters=",;\t")
        sep = dialect.delimiter
    except csv.Error:
        sep = ","
    try:
        grid = pd.read_csv(io.StringIO(text), sep=sep, header=None, dtype=str, keep_default_na=False,
                           na_filter=False, skip_blank_lines=False)
    except pd.errors.ParserError as exc:
        raise OfficialFileError(f"{name}: cannot be read as CSV ({csv_parser_message(exc)})") from None
    except pd.errors.EmptyDataError:
        raise OfficialFileError(f"{name}: the file is empty ({expected})") from None
    grid = grid.fillna("").astype(str)
    header = [h.strip().lower() for h in grid.iloc[0]]
    body = grid.iloc[1:]
    body.index = pd.RangeIndex(2, 2 + len(body))
    keep, names = [], []
    for i, h in enumerate(header):
        if not h:
            if not (body.iloc[:, i].str.strip() != "").any():
                continue           # a spreadsheet's empty trailing column
            h = f"(no header, column {i + 1})"
        if h in names:
            raise OfficialFileError(f"{name}: the column '{h}' appears twice; keep only one")
        keep.append(i)
        names.append(h)
    body = body.iloc[:, keep]
    body.columns = names
    body = body[(body.apply(lambda c: c.str.strip()) != "").any(axis=1)] if len(names) else body
    return body.drop(columns=[c for c in IGNORED if c in names]), raw


def _valid_indicator(indicator: str, year: int) -> str | None:
    """None when the indicator id exists in the year's scheme, else what was expected."""
    try:
        m = scheme_for_year(year)
    except SchemeError as exc:
        return str(exc)
    ids = {"sipas", *(f"element:{e.id}" for e in m.elements), *(f"aspect:{a.id}" for a in m.aspects),
           *(f"item:{i}" for i in m.item_ids(year)),
           *(f"expectation:{o.id}" for o in m.expectation_options),
           *(f"perception:{p.id}:{o.id}" for p in m.perceptions for o in p.options)}
    if indicator in ids:
        return None
    return f"'{indicator}' is not an indicator of {m.id} (for example sipas, element:access, item:access_1)"


def read_official(path: str | Path) -> OfficialResult:
    from geo.registry import units

    import hashlib
    path = Path(path)
    df, raw = _read_table(path)
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise OfficialFileError(f"{path.name}: missing column(s) {', '.join(missing)}; expected {', '.join(REQUIRED)}")
    ignored = [c for c in df.columns if c not in (*REQUIRED, "basis", "n")]
    errors: list[list[str]] = [[] for _ in range(len(df))]
    out = []
    seen: dict[tuple, int] = {}
    registries = {}
    first_year, last_year = year_range()
    for i, (row_no, r) in enumerate(zip(df.index, df.to_dict("records"))):
        errs = errors[i]
        year_s = r["year"].strip()
        year = int(year_s) if re.fullmatch(r"\d{4}", year_s) else None
        if year is None:
            errs.append(f"year: expected a four-digit year, got '{year_s}'")
        elif not first_year <= year <= last_year:
            errs.append(f"year: {year} is not a survey year a release can hold (expected {first_year} to {last_year})")
            year = None
        level = r["level"].strip().lower()
        if level not in LEVELS:
            errs.append(f"level: expected one of {', '.join(LEVELS)}, got '{r['level']}'")
        code = r["unit_code"].strip()
        parent = None
        if level == "country":
            if code != COUNTRY_CODE:
                errs.append(f"unit_code: a country row needs the code {COUNTRY_CODE}, got '{code}'")
        elif level in CODE_WIDTH and year is not None:
            if code.isdigit():
                code = code.zfill(CODE_WIDTH[level])
            vintage = vintage_for_year(year)
            if vintage not in registries:
                registries[vintage] = units(vintage).set_index("code")
            reg = registries[vintage]
            if code not in reg.index or reg.at[code, "level"] != level:
                errs.append(f"unit_code: '{r['unit_code']}' is not a {level} code in force in {year}")
            else:
                parent = reg.at[code, "parent_code"]
        indicator = r["indicator"].strip()
        if year is not None:
            problem = _valid_indicator(indicator, year)
            if problem:
                errs.append(f"indicator: {problem}")
        value_s = r["value"].strip().replace(",", ".")
        try:
            value = float(value_s)
            if not 0 <= value <= 100:
                errs.append(f"value: expected a percentage between 0 and 100, got {r['value']}")
        except ValueError:
            value = None
            errs.append(f"value: expected a number, got '{r['value']}'")
        source = r["source"].strip()
        if not source:
            errs.append("source: required (who published the figure, and where)")
        basis = (r.get("basis") or "published").strip() or "published"
        if basis not in BASES:
            errs.append(f"basis: expected one of {', '.join(BASES)}, got '{basis}'")
        n = None
        if (r.get("n") or "").strip():
            n_s = r["n"].strip()
            if n_s.isdigit():
                n = int(n_s)
            else:
                errs.append(f"n: expected a whole number, got '{n_s}'")
        key = (year, level, code, indicator)
        if not errs and key in seen:
            errs.append(f"unit_code: duplicate of row {seen[key]} (same year, level, unit and indicator)")
        if errs:
            continue
        seen[key] = row_no
        out.append({"year": year, "scheme": scheme_for_year(year).id, "level": level, "unit_code": code,
                    "parent_code": parent, "service": "all", "breakdown": "all", "group": "all",
                    "indicator": indicator, "value": value, "n": n, "ci_low": None, "ci_high": None,
                    "suppressed": False, "rank": None, "source": "official", "basis": basis,
                    "note": source})
    bad = [i for i, e in enumerate(errors) if e]
    rejects = df.iloc[bad].copy()
    rejects.insert(0, "row", df.index[bad])
    rejects["errors"] = ["; ".join(errors[i]) for i in bad]
    rows = pd.DataFrame(out, columns=list(INDEX_COLUMNS))
    return OfficialResult(rows, rejects.reset_index(drop=True), len(df), path.name,
                          hashlib.sha256(raw).hexdigest(), ignored)


def write_official_rejects(result: OfficialResult, path: str | Path) -> Path:
    """Write the rejected rows (columns as read, then "row" and "errors") as UTF-8-with-BOM CSV,
    atomically (a failed write leaves the previous file or none). The fixed file reads again:
    read_official ignores "row" and "errors"."""
    rej = result.rejects
    front = [c for c in rej.columns if c not in ("row", "errors")]
    return write_csv_atomic(rej[front + ["row", "errors"]], path)
