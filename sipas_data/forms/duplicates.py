"""Stage *duplicates*: one form per (year, form_id), among rows that passed every other rule.

Within a file the first row is accepted and a later one rejected, also when it is identical (a
clerk typed it twice). A form accepted from an earlier file of the same import is ignored when its
canonical content is identical (already imported) and rejected when it differs.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import RowErrors

#: (year, form_id) -> (hash of the typed row, file, row) of every form accepted so far
Seen = dict[tuple, tuple[int, str, int]]


def duplicates(typed: pd.DataFrame, rows: np.ndarray, err: RowErrors, name: str, seen: Seen) -> np.ndarray:
    """Add a message for each duplicate to ``err``; return the rows to ignore (already
    imported). ``rows`` are the sheet's row numbers; ``seen`` is updated with this file's forms."""
    n = len(typed)
    good = np.flatnonzero(~err.any())
    h = pd.util.hash_pandas_object(typed.iloc[good], index=False).to_numpy()
    keys = list(zip(typed["year"].iloc[good].tolist(), typed["form_id"].iloc[good].tolist()))
    dup_msg = np.full(n, None, dtype=object)
    ignore = np.zeros(n, dtype=bool)
    first_in_file: dict[tuple, tuple[int, int]] = {}
    for pos, key, hv, rn in zip(good, keys, h, rows[good]):
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
    return ignore
