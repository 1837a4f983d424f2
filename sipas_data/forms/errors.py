"""What a stage reports: a file that cannot be imported at all, or messages for some rows."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from .cells import Cells


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
    """Per-row messages gathered rule by rule (boolean masks, no loop over rows). A message is
    one text for every row of the mask, one per row, or :class:`Cells` (one per distinct value,
    None where there is no error), worded only for the rows that fail."""

    def __init__(self, n: int):
        self.n = n
        self.msgs: list[tuple[str, np.ndarray, object]] = []

    def add(self, kind: str, mask, msg):
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        if callable(msg):          # messages built from row values only when a row fails
            msg = msg()
        if not isinstance(msg, (str, Cells)):
            msg = np.asarray(msg, dtype=object)
        self.msgs.append((kind, mask, msg))

    def add_parsed(self, kind: str, errs, where=None):
        """``errs``: a message or None per row (an array or :class:`Cells`)."""
        if isinstance(errs, Cells):
            mask = errs.test(lambda e: e is not None)
        else:
            mask = pd.notna(errs)
        self.add(kind, mask if where is None else (mask & where), errs)

    def any(self) -> np.ndarray:
        out = np.zeros(self.n, dtype=bool)
        for _, mask, _ in self.msgs:
            out |= mask
        return out

    def text(self) -> np.ndarray:
        out = np.full(self.n, "", dtype=object)
        for _, mask, msg in self.msgs:
            words = msg if isinstance(msg, str) else msg.rows(mask) if isinstance(msg, Cells) else msg[mask]
            sep = np.where(out[mask] == "", "", "; ")
            out[mask] = out[mask] + sep + words
        return out

    def counts(self) -> Counter:
        c = Counter()
        for kind, mask, _ in self.msgs:
            c[kind] += int(mask.sum())
        return c
