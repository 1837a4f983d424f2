"""Survey forms (CSV or XLSX) to the canonical *responses* frame, as named stages.

Each file goes through the stages in turn; every row read is accepted, rejected with a reason
naming the row, the column and what was expected, or ignored as a form already imported:
``len(accepted) + len(rejects) + duplicates_ignored == rows_read``, always.

1. :mod:`.read` - the file as text cells (CSV, or XLSX by its cells' real extent), with the
   cells whose value could not be read and the hidden rows;
2. :mod:`.headers` - which canonical column each header means;
3. :mod:`.rules` - every check, one function per subject (using the value :mod:`.parsers`);
4. :mod:`.responses` - the checked columns typed as the responses contract;
5. :mod:`.duplicates` - one form per (year, form_id);
6. then the accepted rows and the rejects of every file are gathered into an
   :class:`ImportResult` (:mod:`.result`).

:mod:`sipas_data.importer` is the public entry and states every rule in its docstring.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .cells import Cells
from .duplicates import Seen, duplicates
from .errors import ERROR_KINDS, ImportFileError, RowErrors
from .headers import IGNORED_HEADERS, _all_columns, map_headers, norm
from .read import read_table
from .responses import typed
from .result import ImportResult
from .rules import Answers, Forms, check

__all__ = ["ImportFileError", "ImportResult", "read_forms"]

_TRACE = ("file", "row", "errors")


def _rejected(forms: Forms, bad) -> pd.DataFrame:
    """The rejected rows as read (original headers and text), with file, row and reasons."""
    rej = forms.table.text(bad)
    rej = rej[[c for c in rej.columns if norm(c) not in IGNORED_HEADERS]]
    rej["file"] = forms.name
    rej["row"] = forms.table.rows[bad]
    rej["errors"] = forms.err.text()[bad]
    return rej


def read_forms(paths: str | Path | list[str | Path]) -> ImportResult:
    """Read one or more form files; see :mod:`sipas_data.importer` for every rule."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    if not paths:
        raise ImportFileError("no files given")
    columns = _all_columns()
    accepted, rejects, sources, unused, notes = [], [], [], {}, []
    counts, seen = Counter(), Seen()
    rows_read = ignored = 0
    in_order = False
    for path in paths:
        table = read_table(path)
        positions, unused[table.name] = map_headers(table.headers, table.name)
        forms = Forms(table, {c: table.names[i] for c, i in positions.items()}, RowErrors(table.n))
        check(forms)
        order = _final_order(forms) if len(paths) == 1 else None
        if order is not None:
            # one file whose accepted form ids all differ: none is a duplicate, and its accepted
            # rows are typed once, already in their final order
            good, ignore, in_order = typed(_take(forms.out, order), pd.RangeIndex(len(order)), columns), 0, True
        else:
            frame = typed(forms.out, pd.Index(table.rows), columns)
            good, ignore = duplicates(frame, table.rows, forms.err, table.name, seen)
            del frame
        accepted.append(good)
        bad = forms.err.any()
        if bad.any():
            rejects.append(_rejected(forms, bad))
        sources.append({"file": table.name, "sha256": table.sha256, "rows": table.n})
        rows_read += table.n
        ignored += ignore
        counts.update(forms.err.counts())
        notes += forms.notes
        del table, forms, good             # the file's cells are not needed any more
    del seen                               # so the accepted frames are held by `accepted` alone
    return ImportResult(accepted=accepted[0] if in_order else _gather_accepted(accepted, columns),
                        rejects=_gather_rejects(rejects),
                        rows_read=rows_read, sources=sources, duplicates_ignored=ignored,
                        error_counts={k: counts[k] for k in ERROR_KINDS if counts.get(k)},
                        unused_columns=unused, notes=notes, _inputs=paths)


def _final_order(forms: Forms) -> np.ndarray | None:
    """The positions of the rows that passed every rule, in the order of the accepted frame
    (year, then form_id as Arrow orders text: by code point), when no two of them share a form
    id; None when two do (the duplicates stage decides) or the ids are not Arrow text."""
    fid = forms.out["form_id"]
    rows = np.flatnonzero(~forms.err.any())
    if fid.text is None or not len(rows):
        return None
    codes = fid.codes[rows]
    if np.bincount(codes, minlength=fid.size).max() > 1:
        return None
    by_text = pc.sort_indices(fid.text).to_numpy()
    # the ids' values need not be distinct (a CSV's are read as they are, one per row): two
    # accepted rows must not hold equal texts either, which sit side by side in text order
    held = np.zeros(fid.size, dtype=bool)
    held[codes] = True
    texts = fid.text.take(by_text[held[by_text]])
    if len(texts) > 1 and pc.any(pc.equal(texts.slice(1), texts.slice(0, len(texts) - 1))).as_py():
        return None
    rank = np.empty(fid.size, dtype=np.int64)
    rank[by_text] = np.arange(fid.size)
    key = forms.yr[rows].astype(np.int64) * fid.size + rank[codes]
    # No two keys are equal (one row per form id): when they span a few times as many numbers
    # as there are rows (one or a few years), each row is put at its key in a table of the
    # span, in one pass, instead of sorted
    low = int(key.min())
    span = int(key.max()) - low + 1
    if span > 4 * len(key):
        return rows[np.argsort(key, kind="stable")]
    at = np.full(span, -1, dtype=np.int64)
    at[key - low] = rows
    return at[at >= 0]


def _take(out: dict[str, object], order: np.ndarray) -> dict[str, object]:
    """The rules' columns (:class:`Cells` and :class:`Answers`, whose codes are reordered; the
    weights or an answers' (values, none) pair, one per row) of the rows ``order``, in that
    order."""
    def take(v):
        if isinstance(v, (Cells, Answers)):
            return v.take(order)
        if isinstance(v, tuple):
            return tuple(a[order] for a in v)
        return np.asarray(v)[order]
    return {c: take(v) for c, v in out.items()}


def _gather_accepted(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    """The accepted rows of every file, sorted by (year, form_id). ``parts`` is emptied: each
    column is dropped once its sorted copy is made, so one frame's worth is copied at a time."""
    out = pd.concat(parts) if len(parts) > 1 else parts[0] if parts else typed({}, pd.RangeIndex(0), columns)
    parts.clear()
    # a stable sort by (year, form_id), as Arrow orders text: by code point, like Python
    keys = pa.table({"year": pa.array(out["year"].to_numpy(dtype="int64", na_value=0)),
                     "form_id": pa.array(out["form_id"].array, pa.string())})
    order = pc.sort_indices(keys, sort_keys=[("year", "ascending"), ("form_id", "ascending")]).to_numpy()
    del keys
    return pd.DataFrame({c: out.pop(c).take(order).reset_index(drop=True) for c in list(out.columns)},
                        copy=False)


def _gather_rejects(parts: list[pd.DataFrame]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame(columns=list(_TRACE))
    out = pd.concat(parts, ignore_index=True)
    front = [c for c in out.columns if c not in _TRACE]
    out = out[front + list(_TRACE)]
    out[front] = out[front].fillna("")
    return out
