"""The tables that pass between import, engine and release, each declared once.

A :class:`Table` lists its columns with one logical type each; the pandas dtypes, the Arrow
schema and the DuckDB column list are derived from that, so the published table cannot be
declared twice and drift (``schema.INDEX_COLUMNS``, ``engine.INDEX_SCHEMA``,
``engine.INDEX_TABLE_SQL`` and ``engine.PUBLISH_SCHEMA`` are all :data:`INDICES`). The manifest
of a release is the typed :class:`Manifest`.

This module imports neither pandas nor pyarrow at import time (the registry and the pages read
the column names without them).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

#: logical type -> (pandas dtype, Arrow type name, DuckDB type)
TYPES = {
    "text": ("string", "string", "VARCHAR"),
    "int8": ("Int8", "int8", "TINYINT"),
    "int16": ("Int16", "int16", "SMALLINT"),
    "int32": ("Int32", "int32", "INTEGER"),
    "int64": ("Int64", "int64", "BIGINT"),
    "float64": ("float64", "float64", "DOUBLE"),
    "bool": ("boolean", "bool_", "BOOLEAN"),
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    doc: str = ""

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.type!r} (expected one of {', '.join(TYPES)})")


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def pandas_dtypes(self) -> dict[str, str]:
        return {c.name: TYPES[c.type][0] for c in self.columns}

    def arrow_schema(self, *, dictionary_text: bool = False):
        """The Arrow schema; ``dictionary_text``: text columns dictionary-encoded (int32 keys)."""
        import pyarrow as pa

        def arrow(c: Column):
            t = getattr(pa, TYPES[c.type][1])()
            if dictionary_text and c.type == "text":
                t = pa.dictionary(pa.int32(), t)
            return pa.field(c.name, t)
        return pa.schema([arrow(c) for c in self.columns])

    def duckdb_columns(self) -> str:
        """``(name TYPE, ...)`` for CREATE TABLE, every name quoted (``group`` is a keyword)."""
        return "(" + ", ".join(f'"{c.name}" {TYPES[c.type][2]}' for c in self.columns) + ")"


def _cols(*spec: tuple[str, str] | tuple[str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(*s) for s in spec)


#: The published long table (indices.parquet), one row per cell.
INDICES = Table("indices", _cols(
    ("year", "int16"), ("scheme", "text"), ("level", "text", "country, province, district, commune"),
    ("unit_code", "text"), ("parent_code", "text"), ("service", "text", "all or a service id"),
    ("breakdown", "text", "all or a profile dimension"), ("group", "text"), ("indicator", "text"),
    ("value", "float64", "percent, 0-100"), ("n", "int64", "valid answers behind the cell"),
    ("ci_low", "float64"), ("ci_high", "float64"), ("suppressed", "bool"), ("rank", "int32"),
    ("source", "text", "computed or official"), ("basis", "text"), ("note", "text"),
))

#: The base columns of the responses frame (import -> engine); the answer columns that follow
#: depend on the schemes (:func:`sipas_data.schema.response_columns`) and are all ``int8``.
RESPONSES_BASE = Table("responses", _cols(
    ("form_id", "text"), ("year", "int16"), ("scheme", "text"), ("province_code", "text"),
    ("district_code", "text"), ("commune_code", "text"), ("service", "text"),
    ("agency_level", "text"), ("gender", "text"), ("age_group", "text"), ("education", "text"),
    ("occupation", "text"), ("ethnicity", "text"), ("weight", "float64"),
    ("collected_on", "text", "yyyy-mm-dd"), ("channel", "text"),
))
ANSWER_TYPE = "int8"

#: The units a release names (units.parquet).
UNITS = Table("units", _cols(
    ("vintage", "text"), ("level", "text"), ("code", "text"), ("type", "text"), ("name", "text"),
    ("short_name", "text"), ("search_key", "text"), ("parent_code", "text"),
    ("province_code", "text"), ("district_code", "text"), ("lat", "float64"), ("lon", "float64"),
))


@dataclass
class Manifest:
    """A release's manifest.json, field by field in the order it is written."""
    format_version: int
    id: str
    title: str
    publisher: str
    created: str
    demo: bool
    methodologies: list[str]
    suppression_threshold: int | None
    years: list[int]
    inputs: list[dict]
    counts: dict[str, int]
    files: dict[str, dict] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)
