"""Stage *responses*: the canonical columns of checked rows, typed as the responses contract
(:mod:`sipas_data.schema`): strings as pandas ``"string"`` (missing = ``<NA>``), ``year``
``"Int16"``, answers ``"Int8"``, ``weight`` float64."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import schema


def _text(values) -> pd.api.extensions.ExtensionArray:
    """Text with "" and None as missing, as pandas "string"; converted once per distinct value
    (codes, services and profile answers repeat a million times)."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    blank = np.flatnonzero(uniques == "")
    if len(blank):
        codes = np.where(codes == blank[0], -1, codes)
    return pd.array(uniques, dtype="string").take(codes, allow_fill=True)


def _small_int(values, dtype: str) -> pd.api.extensions.ExtensionArray:
    f = np.asarray(pd.to_numeric(pd.Series(values, dtype=object), errors="coerce"), dtype=float)
    return pd.array(f, dtype="float64").astype(dtype)


def typed(out: dict[str, np.ndarray], index: pd.Index, columns: list[str]) -> pd.DataFrame:
    """The responses frame of one file's rows (``out``: canonical column -> values per row)."""
    n = len(index)
    cols = {}
    for c in columns:
        base = c in schema.BASE_COLUMNS
        v = out.get(c)
        if v is None:
            v = np.full(n, None if base else np.nan, dtype=object if base else float)
        if c == "year":
            cols[c] = _small_int(v, "Int16")
        elif c == "weight":
            cols[c] = np.asarray(pd.Series(v, dtype=object).astype("float64"))
        elif base:
            cols[c] = _text(v)
        else:
            cols[c] = pd.array(np.asarray(v, dtype=float), dtype="float64").astype("Int8")
    return pd.DataFrame(cols, index=index)
