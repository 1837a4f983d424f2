"""The tables that pass between import, engine and release, each declared once.

A :class:`Table` lists its columns with one logical type each; the pandas dtypes, the Arrow
schema and the DuckDB column list are derived from that, so the published table cannot be
declared twice and drift (``schema.INDEX_COLUMNS``, ``engine.INDEX_SCHEMA``,
``engine.INDEX_TABLE_SQL`` and ``engine.PUBLISH_SCHEMA`` are all :data:`INDICES`). The manifest
of a release is the typed :class:`Manifest`, written and read back as one.

This module imports neither pandas nor pyarrow at import time (the registry and the pages read
the column names without them).
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields

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


#: the manifest's fields a release's readers rely on, with the JSON type each must have
_MANIFEST_TYPES = {
    "format_version": (int, "a whole number"), "id": (str, "text"), "title": (str, "text"),
    "publisher": (str, "text"), "created": (str, "text"), "demo": (bool, "true or false"),
    "methodologies": (list, "a list of scheme ids"), "suppression_threshold": (int, "a whole number or null"),
    "years": (list, "a list of whole numbers"), "inputs": (list, "a list of objects"),
    "counts": (dict, "an object of whole numbers"), "files": (dict, "an object of files"),
}


@dataclass(eq=False)
class Manifest(Mapping):
    """A release's manifest.json, field by field in the order it is written.

    Read back (:meth:`from_dict`, as ``sipas_data.release.read_manifest`` does) it is also a
    read-only mapping of the file's keys, so ``manifest["counts"]`` and ``manifest.get("title",
    default)`` answer as the JSON object would: a field the file lacks (a release written
    before the field existed) is absent from the mapping, while its attribute holds the
    default; keys this version does not know stay readable through the mapping."""
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

    def __post_init__(self) -> None:
        self._present = tuple(f.name for f in fields(self))  # every field, when made here
        self._extra: dict = {}

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1)

    @classmethod
    def from_dict(cls, data: dict) -> "Manifest":
        """The manifest of a parsed manifest.json. Raises ValueError naming the first field whose
        type is not the one written (readers would fail on it later, far from the cause)."""
        if not isinstance(data, dict):
            raise ValueError("the manifest is not a JSON object")
        for name, (kind, expected) in _MANIFEST_TYPES.items():
            if name not in data or (data[name] is None and name == "suppression_threshold"):
                continue
            value = data[name]
            ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
            if ok and name == "years":
                ok = all(isinstance(y, int) and not isinstance(y, bool) for y in value)
            elif ok and name == "methodologies":
                ok = all(isinstance(m, str) for m in value)
            elif ok and name == "inputs":
                ok = all(isinstance(i, dict) for i in value)
            elif ok and name == "files":
                ok = all(isinstance(k, str) and isinstance(v, dict) for k, v in value.items())
            if not ok:
                raise ValueError(f"manifest field '{name}' should be {expected}, not {json.dumps(value)[:40]}")
        defaults = {"format_version": 1, "id": "", "title": "", "publisher": "", "created": "", "demo": False,
                    "methodologies": [], "suppression_threshold": None, "years": [], "inputs": [],
                    "counts": {}, "files": {}}
        manifest = cls(**{name: data.get(name, default) for name, default in defaults.items()})
        manifest._present = tuple(name for name in data if name in defaults)
        manifest._extra = {k: v for k, v in data.items() if k not in defaults}
        return manifest

    # the read-only mapping of the file's keys
    def __getitem__(self, key: str):
        if key in self._present:
            return getattr(self, key)
        return self._extra[key]

    def __iter__(self) -> Iterator[str]:
        yield from self._present
        yield from self._extra

    def __len__(self) -> int:
        return len(self._present) + len(self._extra)

    def __eq__(self, other) -> bool:
        if isinstance(other, Manifest):
            return dict(self) == dict(other) and asdict(self) == asdict(other)
        if isinstance(other, Mapping):
            return dict(self) == dict(other)
        return NotImplemented

    __hash__ = None  # mutable, like the JSON object it stands for
