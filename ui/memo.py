"""Content digests and a small LRU memo for pure view builders (no Streamlit).

Every viewer of a view asks for the same tables and figures; the builders are pure functions of
frames read from the release, so their results can be remembered per process under a digest of
their arguments' content. Frames are digested column by column (numbers as bytes, the rest as
Python values: pickles of equal frames can differ byte for byte); containers of plain values
are pickled in one go.
"""
from __future__ import annotations

import functools
import hashlib
import pickle
import threading
from collections import OrderedDict

import numpy as np
import pandas as pd

_PLAIN = (str, int, float, bool, type(None))


def feed(h, obj) -> None:
    """Feed ``obj`` to the hash ``h`` by content."""
    if isinstance(obj, (pd.DataFrame, pd.Series)):
        frame = isinstance(obj, pd.DataFrame)
        h.update(b"F" if frame else b"S")
        h.update(pickle.dumps((list(obj.columns) if frame else obj.name, obj.shape), protocol=5))
        for name, col in (obj.items() if frame else [(obj.name, obj)]):
            h.update(pickle.dumps((name, str(col.dtype)), protocol=5))
            if isinstance(col.dtype, np.dtype) and col.dtype.kind in "biufc":
                h.update(np.ascontiguousarray(col.to_numpy()).tobytes())
            else:  # strings and the rest: as Python values (pickles of plain lists are stable)
                h.update(pickle.dumps(col.tolist(), protocol=5))
        h.update(pickle.dumps(obj.index.tolist(), protocol=5))
    elif isinstance(obj, (tuple, list)) and all(isinstance(x, _PLAIN) for x in obj):
        h.update(pickle.dumps(obj, protocol=5))
    elif isinstance(obj, dict) and all(isinstance(k, _PLAIN) and isinstance(v, _PLAIN) for k, v in obj.items()):
        h.update(pickle.dumps(obj, protocol=5))
    elif isinstance(obj, (tuple, list)):
        h.update(b"(" if isinstance(obj, tuple) else b"[")
        for x in obj:
            feed(h, x)
        h.update(b")")
    elif isinstance(obj, dict):
        h.update(b"{")
        for k in sorted(obj, key=repr):
            feed(h, k)
            feed(h, obj[k])
        h.update(b"}")
    else:
        h.update(pickle.dumps(obj, protocol=5))


def digest(*objs) -> bytes:
    h = hashlib.sha256()
    for o in objs:
        feed(h, o)
    return h.digest()


class LRU:
    """A thread-safe LRU of computed values."""

    def __init__(self, entries: int):
        self.entries = entries
        self._d: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            v = self._d.get(key)
            if v is not None:
                self._d.move_to_end(key)
            return v

    def put(self, key, value) -> None:
        with self._lock:
            self._d[key] = value
            while len(self._d) > self.entries:
                self._d.popitem(last=False)


def frames(entries: int = 512):
    """Decorator for a pure function returning a DataFrame: remembered by its arguments' content;
    every caller gets its own copy."""
    def wrap(fn):
        cache = LRU(entries)

        @functools.wraps(fn)
        def inner(*args, **kwargs):
            try:
                key = digest(fn.__qualname__, args, kwargs)
            except Exception:  # noqa: BLE001 - arguments that cannot be digested: no memo
                return fn(*args, **kwargs)
            out = cache.get(key)
            if out is None:
                out = fn(*args, **kwargs)
                cache.put(key, out)
            return out.copy()
        inner.uncached = fn
        return inner
    return wrap
