"""Stage *responses*: the canonical columns of checked rows, typed as the responses contract
(:mod:`sipas_data.schema`): strings as pandas ``"string"`` (missing = ``<NA>``), ``year``
``"Int16"``, answers ``"Int8"``, ``weight`` float64."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import schema


def typed(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for c in columns:
        if c in frame:
            v = frame[c]
        else:
            v = pd.Series(np.nan if c not in schema.BASE_COLUMNS else None, index=frame.index,
                          dtype="float64" if c not in schema.BASE_COLUMNS else object)
        if c == "year":
            out[c] = pd.array(v.tolist(), dtype="Int16")
        elif c == "weight":
            out[c] = v.astype("float64")
        elif c in schema.BASE_COLUMNS:
            v = v.where(pd.notna(v) & (v.astype(str) != ""), None)
            out[c] = v.astype("string")
        else:
            out[c] = v.astype("float64").astype("Int8")
    return out
