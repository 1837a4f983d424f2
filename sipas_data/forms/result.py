"""What an import hands back: the accepted responses, the rejected rows with their reasons, the
counts and notes of :meth:`ImportResult.summary`, and the rejects file a clerk fixes in Excel and
imports again."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from .errors import ERROR_KINDS


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

    def accepted_table(self) -> pa.Table:
        """The accepted forms as the Arrow table ``pa.Table.from_pandas(accepted,
        preserve_index=False)`` gives (the same columns, types, values and pandas metadata),
        built on the frame's own buffers: the text columns are Arrow already, and a nullable
        integer column's values are used as they are, its mask packed into Arrow's validity bits
        (1M forms: about 0.1 s less than pandas' conversion of the 61 integer columns)."""
        frame = self.accepted
        schema = pa.Schema.from_pandas(frame, preserve_index=False)
        return pa.Table.from_arrays([_arrow_column(frame[c].array) for c in frame.columns], schema=schema)

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


def _arrow_column(values) -> pa.Array | pa.ChunkedArray:
    """One column of the accepted frame as Arrow, as ``pa.Table.from_pandas`` converts it."""
    if isinstance(values, pd.arrays.IntegerArray):
        data, missing = np.ascontiguousarray(values._data), values._mask
        valid = pa.py_buffer(np.packbits(~missing, bitorder="little")) if missing.any() else None
        return pa.Array.from_buffers(pa.from_numpy_dtype(data.dtype), len(data), [valid, pa.py_buffer(data)])
    return pa.array(values, from_pandas=True)


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
