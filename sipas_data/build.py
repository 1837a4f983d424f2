"""From accepted forms and official figures to a written release."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import calendar
from .engine import INDEX_SCHEMA, Restatement, compute_batches
from .scheme import get_scheme
from .release import write_release

MEMORY_LIMIT = "1500MB"  # DuckDB spills beyond this; the whole build stays within about 2 GB


def restatement_on_latest_units() -> Restatement:
    """Forms of years before the latest vintage (the 2025 reform), re-addressed to today's units
    through the official crosswalk: each commune to the commune it joined, each province to its
    merged province; the district level disappears. District-level services count toward the new
    province only."""
    from geo.registry import crosswalk

    # Each vintage's years go through that vintage's own chain to the latest units: a code that a
    # later reform reused names another place in another vintage's years.
    vintages = calendar.vintages()
    communes, provinces = [], []
    for vintage, following in zip(vintages[:-1], vintages[1:]):
        cw = crosswalk(vintage.id)
        years = dict(from_year=vintage.first_year or 0, to_year=following.first_year)
        communes.append(cw[["old_commune_code", "new_commune_code"]].assign(**years))
        provinces.append(cw[["old_province_code", "new_province_code"]].drop_duplicates("old_province_code")
                         .assign(**years))
    return Restatement(communes=pd.concat(communes, ignore_index=True),
                       provinces=pd.concat(provinces, ignore_index=True), before_year=calendar.restated_before())


def _load_geography(restating: bool) -> Restatement | None:
    """Loads what the end of a build reads from the geography package (the registries of both
    vintages, and the crosswalk when restating), so that it is cached by then."""
    from geo.registry import units as registry

    for vintage in calendar.vintage_ids():
        registry(vintage)
    return restatement_on_latest_units() if restating else None


def _same_memory(a: tuple[pa.Array, ...], b: tuple[pa.Array, ...]) -> bool:
    """Whether two tuples of arrays are views of the same memory (so the same values: Arrow
    arrays do not change once made)."""
    def where(array: pa.Array) -> tuple:
        return array.offset, len(array), [None if buf is None else buf.address for buf in array.buffers()]

    return len(a) == len(b) and all(where(x) == where(y) for x, y in zip(a, b))


@dataclass
class _Run:
    """Marks on the text dictionaries a run of batches shares: the (vintage, level, code)
    entries named; and the key columns of the batch before and of this one, part by part
    (held, so that their memory is not reused while they are compared with)."""
    levels: pa.Array
    codes: pa.Array
    marks: np.ndarray
    before: list[tuple[pa.Array, ...]] = field(default_factory=list)
    current: list[tuple[pa.Array, ...]] = field(default_factory=list)


class UsedUnits:
    """The units the published rows name, per registry vintage, gathered while they stream by.

    The engine's batches of one scheme share their text columns' dictionaries (the unit keys are
    encoded once for every indicator), so a batch is reduced to marks on those dictionaries'
    entries, without hashing its strings; the marks of a run of batches sharing dictionaries
    are turned into (vintage, level, code) rows once, when the dictionaries change. Indicators
    whose every cell is published share the very key columns too: a part of a batch whose keys
    are those of a part of the batch before (the same memory) is not marked again."""

    def __init__(self) -> None:
        self._parts: list[pa.Table] = []
        self._vintages = list(calendar.vintage_ids())
        self._run: _Run | None = None

    def add(self, batch: pa.Table) -> None:
        if self._run is not None:
            self._run.before, self._run.current = self._run.current, []
        for part in batch.to_batches():
            level, code = part.column("level"), part.column("unit_code")
            if not (pa.types.is_dictionary(level.type) and pa.types.is_dictionary(code.type)
                    and level.null_count == code.null_count == part.column("basis").null_count
                    == part.column("year").null_count == 0):
                self._flush()
                self._parts.append(self._distinct(pa.Table.from_batches([part])))
                continue
            if self._run is not None and not (self._run.levels.equals(level.dictionary)
                                              and self._run.codes.equals(code.dictionary)):
                self._flush()
            if self._run is None:
                shape = (len(self._vintages), len(level.dictionary), len(code.dictionary))
                self._run = _Run(level.dictionary, code.dictionary, np.zeros(shape, dtype=bool))
            years, basis = part.column("year"), part.column("basis")
            keys = (years, level, code, basis)
            self._run.current.append(keys)
            if any(_same_memory(keys, marked) for marked in self._run.before):
                continue
            # each row's vintage from a table of the years' span (no sort of the years)
            year = years.to_numpy(zero_copy_only=False)
            first, last = int(year.min()), int(year.max())
            of_year = np.array([self._vintages.index(calendar.vintage_for_year(y)) for y in range(first, last + 1)])
            vintage = of_year[0] if first == last else of_year[year - first]
            # a restated row is on the latest vintage's units, whatever its year
            if pa.types.is_dictionary(basis.type):
                codes = [i for i, text in enumerate(basis.dictionary.to_pylist()) if text == "restated"]
                restated = np.isin(basis.indices.to_numpy(), codes) if codes else None
            else:
                restated = pc.equal(basis, "restated").to_numpy(zero_copy_only=False)
            if restated is not None and restated.any():
                vintage = np.where(restated, self._vintages.index(calendar.latest().id), vintage)
            self._run.marks[vintage, level.indices.to_numpy(), code.indices.to_numpy()] = True

    def _flush(self) -> None:
        if self._run is None:
            return
        v, lv, c = np.nonzero(self._run.marks)
        self._parts.append(pa.table({"vintage": pa.array(self._vintages, pa.string()).take(pa.array(v)),
                                     "level": self._run.levels.take(pa.array(lv)),
                                     "code": self._run.codes.take(pa.array(c))}))
        self._run = None

    @staticmethod
    def _distinct(batch: pa.Table) -> pa.Table:
        year = batch.column("year")
        years = pc.unique(year)
        of_year = pa.array([calendar.vintage_for_year(y) for y in years.to_pylist()], pa.string())
        vintage = pc.if_else(pc.equal(batch.column("basis"), "restated"), calendar.latest().id,
                             pc.take(of_year, pc.index_in(year, value_set=years)))
        keys = pa.table({"vintage": vintage, "level": batch.column("level"), "code": batch.column("unit_code")})
        return keys.group_by(["vintage", "level", "code"]).aggregate([])

    def frame(self) -> pd.DataFrame:
        self._flush()
        if not self._parts:
            return pd.DataFrame({"vintage": [], "level": [], "code": []}, dtype=object)
        text = pa.schema([("vintage", pa.string()), ("level", pa.string()), ("code", pa.string())])
        return (pa.concat_tables([part.cast(text) for part in self._parts])
                .group_by(["vintage", "level", "code"]).aggregate([]).to_pandas())


def units_table(used: pd.DataFrame) -> pd.DataFrame:
    """The units a release names (``used``: vintage, level, code), with names and parents, from
    the registry of each vintage."""
    from geo.registry import units as registry

    used = used[used["level"] != "country"]
    frames = []
    cols = ["code", "level", "type", "name", "short_name", "search_key", "parent_code",
            "province_code", "district_code", "lat", "lon"]
    for vintage, part in used.groupby("vintage"):
        frames.append(part.merge(registry(vintage)[cols], on=["code", "level"], how="left").assign(vintage=vintage))
    country = pd.DataFrame([{"vintage": v, "level": "country", "code": "VN", "type": "Quốc gia",
                             "name": "Việt Nam", "short_name": "Việt Nam", "search_key": "viet nam"}
                            for v in calendar.vintage_ids()])
    out = pd.concat([*frames, country], ignore_index=True)
    return out.sort_values(["vintage", "level", "code"]).reset_index(drop=True)


def official_rows(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> pa.Table:
    """Official rows, values unchanged, ranked among their own official siblings."""
    con.register("official_in", pa.Table.from_pandas(rows, schema=INDEX_SCHEMA, preserve_index=False))
    out = con.sql("""
        SELECT * REPLACE (
            CASE WHEN value IS NOT NULL AND level <> 'country' THEN
                rank() OVER (PARTITION BY year, level, parent_code, indicator, basis
                             ORDER BY round(value, 9) DESC)::INTEGER END AS rank)
        FROM official_in ORDER BY indicator, year, level, parent_code, unit_code""").to_arrow_table()
    con.unregister("official_in")
    return out.cast(INDEX_SCHEMA)


def build_release(forms: pd.DataFrame | pa.Table, out: str | Path, *, official: list[pd.DataFrame] = (),
                  title: str, publisher: str, inputs: list[dict], counts: dict,
                  demo: bool = False, threshold: int | None = None, restate: bool = True,
                  created: str | None = None, _fail_after_files: bool = False) -> Path:
    """Compute every cell, add restated and official rows, and write the release atomically.

    The rows stream from the engine to the Parquet file one indicator at a time, so the long
    table is never held in memory whole."""
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    if isinstance(forms, pd.DataFrame):
        forms = pa.Table.from_pandas(forms, preserve_index=False)
    schemes = sorted({str(s) for s in pc.unique(forms.column("scheme")).to_pylist()}) if forms.num_rows else []
    used = UsedUnits()

    # the earliest year, found by Arrow (a Python loop over a million forms' years took 0.36 s)
    earliest = pc.min(forms.column("year")).as_py() if forms.num_rows else None
    restated_before = calendar.restated_before()
    restating = bool(restate and earliest is not None and restated_before is not None
                     and int(earliest) < restated_before)

    geography = []  # the registries and crosswalk, loading beside the writer

    def load_geography():
        if not geography:
            geography.append(background.submit(_load_geography, restating))
        return geography[0]

    def rows():
        restatement = (lambda: load_geography().result()) if restating else None
        for batch in compute_batches(con, forms, threshold=threshold, restate=restatement):
            # The pooled cells are computed. While they are published and written, the crosswalk
            # (for the restated series, which follows) and the unit registries (for the units
            # table, last) load on a thread of their own: neither is waited for at the end.
            load_geography()
            yield batch
        for frame in official:
            if len(frame):
                yield official_rows(con, frame)

    def tracked():
        for batch in rows():
            used.add(batch)
            yield batch

    background = ThreadPoolExecutor(1, thread_name_prefix="geography")
    try:
        return write_release(out, tracked(), lambda: units_table(used.frame()),
                             methodologies=[get_scheme(s) for s in schemes], title=title,
                             publisher=publisher, inputs=inputs, counts=counts, demo=demo,
                             threshold=threshold, created=created, _fail_after_files=_fail_after_files)
    finally:
        background.shutdown(wait=True, cancel_futures=True)
