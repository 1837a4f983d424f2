"""A column of cells as its distinct values and, per row, which of them the row holds.

A million forms hold a few distinct texts per column (answers 1-5, 63 province codes, a few
thousand communes): a rule that parses, checks or words a message for each distinct value (or
each distinct combination of the columns it reads) and spreads the result over the rows by their
codes does as many Python calls as there are distinct values, and keeps one small integer per
row instead of one Python string per row.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def small_codes(codes: np.ndarray, size: int) -> np.ndarray:
    """``codes`` in the smallest integer type that holds ``size`` values (and -1)."""
    for dtype in (np.int8, np.int16, np.int32):
        if size < np.iinfo(dtype).max:
            return codes.astype(dtype, copy=False)
    return codes.astype(np.int64, copy=False)


#: Every character Python's ``str.strip()`` takes off (``str.isspace``), for Arrow's kernels to
#: strip and test text exactly as Python does (written out: finding them takes 50 ms; a test
#: checks the list against Python's own).
PYTHON_SPACES = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
                 "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


@dataclass(frozen=True)
class Cells:
    """``values[codes[i]]`` is row i's value; ``values`` need not be distinct nor all used.
    ``text``, when known, holds the same values as Arrow strings (a CSV read by Arrow), so a
    column of a million distinct form ids can be sorted without converting them again. Cells
    made from ``text`` alone (``values`` None) turn it into Python strings only when a rule asks
    for ``values``: equality with a text, stripping, blank tests, the rows of some cells and the
    typing need no Python string per value (a column of form ids has a million)."""
    codes: np.ndarray
    _values: np.ndarray | None          # object array, or None: made from ``text`` when asked
    text: pa.Array | None = field(default=None, compare=False, repr=False)

    @property
    def values(self) -> np.ndarray:
        if self._values is None:
            object.__setattr__(self, "_values", self.text.to_numpy(zero_copy_only=False))
        return self._values

    @property
    def size(self) -> int:
        """How many values (distinct or not) the codes point into."""
        return len(self.text) if self._values is None else len(self._values)

    @property
    def _arrow_only(self) -> bool:
        """The values are Arrow text not yet turned into Python strings."""
        return self._values is None

    @classmethod
    def of(cls, values) -> Cells:
        """From one value per row (factorized once)."""
        codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
        return cls(small_codes(codes, len(uniques)), _objects(uniques))

    @classmethod
    def full(cls, n: int, value) -> Cells:
        return cls(np.zeros(n, dtype=np.int8), _objects([value]))

    def __len__(self) -> int:
        return len(self.codes)

    @classmethod
    def flags(cls, mask: np.ndarray) -> Cells:
        """A boolean per row as cells (False or True), to combine with other columns."""
        return cls(np.asarray(mask, dtype=np.int8), _objects([False, True]))

    def map(self, func) -> Cells:
        """``func`` of each distinct value, on the same rows."""
        return Cells(self.codes, _objects([func(v) for v in self.values]))

    def parse(self, func) -> tuple[Cells, Cells]:
        """``func(value) -> (result, message or None)`` of each distinct value: the results and
        the messages, on the same rows."""
        out = [func(v) for v in self.values]
        return (Cells(self.codes, _objects([r for r, _ in out])),
                Cells(self.codes, _objects([e for _, e in out])))

    def test(self, pred) -> np.ndarray:
        """``pred(value)`` per row, as booleans."""
        per_value = np.fromiter((bool(pred(v)) for v in self.values), dtype=bool, count=len(self.values))
        return _per_row(per_value, self.codes)

    def eq(self, value) -> np.ndarray:
        if isinstance(value, str) and self._arrow_only:
            return pc.equal(self.text, value).to_numpy(zero_copy_only=False)[self.codes]
        if isinstance(value, str):
            # compared value by value in numpy's loop: a column of form ids has a million
            return (self.values == value)[self.codes] if len(self.values) else np.zeros(len(self), bool)
        return self.test(lambda v: v == value and v is not None)

    def stripped(self) -> Cells:
        """Each value as text without the spaces around it (``str(v).strip()``)."""
        if self._arrow_only:
            same = pc.all(pc.equal(pc.utf8_trim(self.text, PYTHON_SPACES), self.text)).as_py()
            if same in (True, None):    # None: no values
                return self     # nothing to strip, found without a Python string per value
        out = [v.strip() if type(v) is str else str(v).strip() for v in self.values]
        if all(map(operator.is_, out, self.values)):
            return self         # nothing to strip (str.strip gives back the text itself)
        values = np.empty(len(out), dtype=object)
        values[:] = out
        return Cells(self.codes, values)

    def nonblank(self) -> np.ndarray:
        """Per row: the value holds more than spaces (``str(v).strip() != ""``)."""
        if self._arrow_only:
            per_value = pc.not_equal(pc.utf8_trim(self.text, PYTHON_SPACES), "")
            return per_value.to_numpy(zero_copy_only=False)[self.codes]
        per_value = np.fromiter((bool(v.strip() if type(v) is str else str(v).strip())
                                 for v in self.values), dtype=bool, count=len(self.values))
        return per_value[self.codes]

    def rows(self, where=None) -> np.ndarray:
        """The values of the rows (all, or those of the mask/positions ``where``) as objects."""
        if self._arrow_only and where is not None:
            return self.text.take(np.asarray(self.codes[where], dtype=np.intp)).to_numpy(zero_copy_only=False)
        return self.values[self.codes if where is None else self.codes[where]]

    def take(self, where) -> Cells:
        return Cells(self.codes[where], self._values, self.text)


def _per_row(per_value: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``per_value[codes]``; without a look-up when every value gives the same (a rule's
    messages for a clean column: none), the common case."""
    if not per_value.any():
        return np.zeros(len(codes), dtype=bool)
    if per_value.all():
        return np.ones(len(codes), dtype=bool)
    return per_value[codes]


def _objects(values) -> np.ndarray:
    if isinstance(values, np.ndarray) and values.dtype == object:
        return values
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):      # element by element: a tuple stays one value
        out[i] = v
    return out


def distinct(*columns: Cells) -> tuple[np.ndarray, list[tuple]]:
    """Codes of each row's combination of values across ``columns``, and the combinations
    (one tuple of values per code, in order of first appearance)."""
    n = len(columns[0])
    key = np.zeros(n, dtype=np.int64)
    size = 1
    for c in columns:
        m = max(len(c.values), 1)
        if size * m >= 2 ** 62:
            key, uniques = pd.factorize(key)
            size = len(uniques)
        key = key * m + c.codes
        size *= m
    if size <= n:
        # no more possible keys than rows (one or a few values per column, the common case):
        # each key's first row is found in a table of every key, without hashing the rows' keys
        first = np.full(size, n, dtype=np.int64)
        np.minimum.at(first, key, np.arange(n))
        used = np.flatnonzero(first < n)
        used = used[np.argsort(first[used], kind="stable")]
        number = np.empty(size, dtype=np.int64)
        number[used] = np.arange(len(used))
        codes, first = number[key], first[used]
    else:
        codes, _ = pd.factorize(key)
        # a code's first row is where the running maximum of the codes first reaches it
        top = np.maximum.accumulate(codes) if n else codes
        rises = np.ones(n, dtype=bool)
        np.not_equal(top[1:], top[:-1], out=rises[1:])
        first = np.flatnonzero(rises)
    combos = list(zip(*(c.values[c.codes[first]] for c in columns)))
    return small_codes(codes, len(combos)), combos


def per_combination(columns: list[Cells], func, *, width: int = 1):
    """Run ``func(*values)`` once per distinct combination of ``columns``; ``func`` returns a
    tuple of ``width`` results. Returns ``width`` :class:`Cells` on the rows."""
    codes, combos = distinct(*columns)
    results = [func(*c) for c in combos]
    if width == 1:
        return Cells(codes, _objects(results))
    return tuple(Cells(codes, _objects([r[k] for r in results])) for k in range(width))
