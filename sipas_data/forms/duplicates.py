"""Stage *duplicates*: one form per (year, form_id), among rows that passed every other rule.

Within a file the first row is accepted and a later one rejected, also when it is identical (a
clerk typed it twice). A form accepted from an earlier file of the same import is ignored when its
canonical content is identical (already imported) and rejected when it differs. Only the rows
whose key repeats are hashed to tell "the same form" from "different answers".
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import RowErrors


@dataclass
class Seen:
    """The forms accepted from the files read so far: their keys, and where each one is."""
    keys: list[pd.DataFrame] = field(default_factory=list)     # year, form_id, file, row, part, pos
    parts: list[pd.DataFrame] = field(default_factory=list)    # each file's accepted rows

    def frame(self) -> pd.DataFrame:
        return pd.concat(self.keys, ignore_index=True) if self.keys else pd.DataFrame(
            {"year": [], "form_id": [], "file": [], "row": [], "part": [], "pos": []})


def _hash(typed: pd.DataFrame, pos: np.ndarray) -> np.ndarray:
    return pd.util.hash_pandas_object(typed.iloc[pos], index=False).to_numpy()


def duplicates(typed: pd.DataFrame, rows: np.ndarray, err: RowErrors, name: str,
               seen: Seen) -> tuple[pd.DataFrame, int]:
    """Add a message for each duplicate to ``err``; return the accepted rows (no error, not
    already imported) and how many were ignored as already imported. ``rows`` are the sheet's
    row numbers; ``seen`` gains this file's accepted forms."""
    n = len(typed)
    good = np.flatnonzero(~err.any())
    keys = pd.DataFrame({"year": typed["year"].to_numpy()[good].astype("int64"),
                         "form_id": typed["form_id"].array[good],
                         "pos": good, "row": rows[good]})
    dup_msg = np.full(n, None, dtype=object)
    ignore = np.zeros(n, dtype=bool)

    # against earlier files
    before = seen.frame()
    if len(before):
        hit = keys.merge(before, on=["year", "form_id"], suffixes=("", "_was"))
        if len(hit):
            same = np.zeros(len(hit), dtype=bool)
            here = _hash(typed, hit["pos"].to_numpy())
            for part, idx in hit.groupby("part").indices.items():
                was = _hash(seen.parts[part], hit["pos_was"].to_numpy()[idx])
                same[idx] = here[idx] == was
            ignore[hit["pos"].to_numpy()[same]] = True
            diff = hit[~same]
            dup_msg[diff["pos"].to_numpy()] = [
                f"form_id: duplicate of row {r} of {f} (different answers)"
                for r, f in zip(diff["row_was"], diff["file"])]
            keys = keys[~keys["pos"].isin(hit["pos"])]

    # within this file: the first row of a key is the form, later ones are rejected
    repeated = keys.duplicated(["year", "form_id"], keep="first").to_numpy()
    first = keys[~repeated]
    if repeated.any():
        later = keys[repeated].merge(first, on=["year", "form_id"], suffixes=("", "_first"))
        same = _hash(typed, later["pos"].to_numpy()) == _hash(typed, later["pos_first"].to_numpy())
        dup_msg[later["pos"].to_numpy()] = [
            f"form_id: duplicate of row {r} ({'the same form entered twice' if s else 'different answers'})"
            for r, s in zip(later["row_first"], same)]
    err.add("duplicate", pd.notna(dup_msg), dup_msg)
    keep = ~err.any() & ~ignore
    accepted = typed if keep.all() else typed[keep]
    # every first row of a key is accepted: its place among the accepted rows
    at = (np.cumsum(keep) - 1)[first["pos"].to_numpy()]
    seen.keys.append(first.assign(pos=at, file=name, part=len(seen.parts)))
    seen.parts.append(accepted)
    return accepted, int(ignore.sum())
