"""Stage *responses*: the canonical columns of checked rows, typed as the responses contract
(:mod:`sipas_data.schema`): strings as pandas ``"string"`` (missing = ``<NA>``), ``year``
``"Int16"``, answers ``"Int8"``, ``weight`` float64."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import schema
from .cells import Cells


def _text(cells: Cells | None, n: int) -> pd.api.extensions.ExtensionArray:
    """Text with "" and None as missing, as pandas "string": each distinct value converted once
    (codes, services and profile answers repeat a million times), then taken by the rows' codes."""
    if cells is None:
        return pd.array(np.full(n, None, dtype=object), dtype="string")
    if cells.text is not None:
        # the Arrow text the values were read as (a million form ids need no Python strings)
        text = cells.text.cast(pa.large_string())
        text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.large_string()), text)
        return pd.arrays.ArrowStringArray(pa.chunked_array([text])).take(cells.codes.astype(np.intp))
    values = np.array([None if v is None or v == "" else v for v in cells.values], dtype=object)
    return pd.array(values, dtype="string").take(cells.codes.astype(np.intp))


def _year(cells: Cells | None, n: int) -> pd.api.extensions.ExtensionArray:
    if cells is None:
        return pd.array(np.full(n, np.nan), dtype="float64").astype("Int16")
    values = np.array([np.nan if v is None else v for v in cells.values], dtype=float)
    return pd.array(values, dtype="float64").astype("Int16").take(cells.codes.astype(np.intp))


def typed(out: dict[str, object], index: pd.Index, columns: list[str]) -> pd.DataFrame:
    """The responses frame of one file's rows. ``out``: canonical column -> :class:`Cells` for
    the base columns, the weights as floats, and (answers as int8, where none) for the answers."""
    n = len(index)
    cols = {}
    for c in columns:
        v = out.get(c)
        if c == "year":
            cols[c] = _year(v, n)
        elif c == "weight":
            cols[c] = np.full(n, np.nan) if v is None else np.asarray(v, dtype="float64")
        elif c in schema.BASE_COLUMNS:
            cols[c] = _text(v, n)
        elif v is None:
            cols[c] = pd.arrays.IntegerArray(np.zeros(n, dtype=np.int8), np.ones(n, dtype=bool))
        else:
            cols[c] = pd.arrays.IntegerArray(*v)
    # the columns are this call's own arrays (or the rules', read no more): not copied again
    return pd.DataFrame(cols, index=index, copy=False)
