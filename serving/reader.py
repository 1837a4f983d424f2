"""Fast slices of a release for the app (no Streamlit).

Every page view reads a dozen small slices of the indices table, and each ``Release.read`` scans
Parquet row groups again (tens of milliseconds of CPU each, under the GIL that all viewers of a
process share). The app only ever reads the overall results (``breakdown = "all"``, about a third
of the table), so :class:`SliceReader` loads those rows once, as Arrow, split by year, and answers
``read`` with the same filters evaluated in memory: the same rows, in the same order, with the
same columns and dtypes as ``Release.read`` (tests/test_ui_reader.py checks that). Any other
breakdown is passed through to the release unchanged.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sipas_data.release import INDICES, slice_filters

_ROW = "__row"  # the row's position in the file, to keep the file's order across years


class SliceReader:
    """``read(**filters)`` like ``Release.read``, answered from memory for ``breakdown="all"``."""

    def __init__(self, release, memo_entries: int = 1024):
        self.release = release
        self._lock = threading.Lock()
        self._years: dict[int, pa.Table] | None = None
        self._schema: pa.Schema | None = None
        self._memo: OrderedDict[tuple, pd.DataFrame] = OrderedDict()
        self._memo_lock = threading.Lock()
        self._memo_entries = memo_entries

    def cached(self, **filters) -> pd.DataFrame:
        """``read`` remembered (LRU) by its filters; every caller gets its own copy of the frame."""
        key = tuple(sorted((k, tuple(v) if isinstance(v, (list, tuple, set)) else v) for k, v in filters.items()))
        with self._memo_lock:
            frame = self._memo.get(key)
            if frame is not None:
                self._memo.move_to_end(key)
        if frame is None:
            frame = self.read(**filters)
            with self._memo_lock:
                self._memo[key] = frame
                while len(self._memo) > self._memo_entries:
                    self._memo.popitem(last=False)
        return frame.copy()

    def _load(self) -> dict[int, pa.Table]:
        if self._years is None:
            with self._lock:
                if self._years is None:
                    table = pq.read_table(self.release.path / INDICES, filters=[("breakdown", "=", "all")])
                    table = table.combine_chunks()
                    years = table.column("year").to_numpy()
                    table = table.append_column(_ROW, pa.array(np.arange(len(table), dtype=np.int64)))
                    parts = {}
                    for y in np.unique(years):
                        parts[int(y)] = table.take(pa.array(np.flatnonzero(years == y)))
                    self._schema = table.schema
                    self._years = parts
        return self._years

    def read(self, *, year: int | None = None, level: str | None = None,
             parent: str | list[str] | None = None, unit: str | list[str] | None = None,
             service: str | list[str] | None = "all", indicator: str | list[str] | None = "sipas",
             breakdown: str | None = "all", source: str | None = None, restated: bool | None = False,
             columns: list[str] | None = None) -> pd.DataFrame:
        kw = dict(year=year, level=level, parent=parent, unit=unit, service=service, indicator=indicator,
                  breakdown=breakdown, source=source, restated=restated, columns=columns)
        if breakdown != "all":
            return self.release.read(**kw)
        parts = self._load()
        # the year picks a part below; every row in memory has breakdown "all"
        filters = slice_filters(level=level, parent=parent, unit=unit, service=service, indicator=indicator,
                                source=source, restated=restated)
        expr = pq.filters_to_expression(filters) if filters else None
        if year is None:
            chosen = list(parts.values())
        else:
            try:
                chosen = [parts[int(year)]] if int(year) in parts else []
            except (TypeError, ValueError):
                return self.release.read(**kw)
        pieces = [p.filter(expr) if expr is not None else p for p in chosen]
        if not pieces:
            out = self._schema.empty_table()
        elif len(pieces) == 1:
            out = pieces[0]
        else:
            out = pa.concat_tables(pieces)
            out = out.take(pc.sort_indices(out.column(_ROW)))
        keep = [c for c in (columns if columns is not None else self._schema.names) if c != _ROW]
        return out.select(keep).to_pandas()
