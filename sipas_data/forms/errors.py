"""What a stage reports: a file that cannot be imported at all, or messages for some rows."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd


class ImportFileError(ValueError):
    """A whole file cannot be imported; the message says why in plain words."""


ERROR_KINDS = {
    "code": "unknown administrative code",
    "place": "unit outside its district or province",
    "service": "service not in the scheme",
    "scale": "answer outside the scale",
    "duplicate": "duplicate form id",
    "missing": "missing required field",
    "mismatch": "year or scheme that does not match",
    "value": "value not accepted",
    "cell": "cell without a readable value (formula not calculated, error)",
    "hidden": "row hidden in the sheet",
}


class RowErrors:
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
