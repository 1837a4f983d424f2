"""The tables' one declaration (sipas_data.contracts) is what import, engine and release use."""
from __future__ import annotations

import dataclasses
import json

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from sipas_data import contracts, engine, schema
from sipas_data.build import units_table
from sipas_data.contracts import INDICES, RESPONSES_BASE, UNITS, Column, Manifest
from sipas_data.importer import read_forms
from sipas_data.scheme import PROFILE_DIMENSIONS


def test_the_published_table_is_declared_once():
    assert schema.INDEX_COLUMNS == INDICES.names
    assert tuple(engine.INDEX_SCHEMA.names) == INDICES.names
    assert engine.INDEX_SCHEMA.field("year").type == pa.int16()
    assert engine.INDEX_SCHEMA.field("rank").type == pa.int32()
    assert engine.INDEX_SCHEMA.field("suppressed").type == pa.bool_()
    # the Parquet writer's schema: the same columns, only text dictionary-encoded
    for plain, published in zip(engine.INDEX_SCHEMA, engine.PUBLISH_SCHEMA):
        assert plain.name == published.name
        if plain.type == pa.string():
            assert published.type == pa.dictionary(pa.int32(), pa.string())
        else:
            assert published.type == plain.type
    # DuckDB's table of the same declaration reads back as the Arrow schema
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t {engine.INDEX_TABLE_SQL}")
    assert con.sql("SELECT * FROM t").to_arrow_table().schema.equals(engine.INDEX_SCHEMA)


def test_responses_base_columns_and_the_import_dtypes(tmp_path):
    assert schema.BASE_COLUMNS == RESPONSES_BASE.names
    assert tuple(c for c in RESPONSES_BASE.names if c in PROFILE_DIMENSIONS) == tuple(PROFILE_DIMENSIONS)
    path = tmp_path / "f.csv"
    pd.DataFrame([{"form_id": "A", "year": "2024", "province_code": "87", "district_code": "868",
                   "commune_code": "29954", "service": "marriage", "access_1": "4",
                   "collected_on": "2024-09-05"}]).to_csv(path, index=False)
    res = read_forms(path)
    assert res.ok, res.rejects
    got = {c: str(res.accepted[c].dtype) for c in RESPONSES_BASE.names}
    assert got == RESPONSES_BASE.pandas_dtypes()
    assert str(res.accepted["access_1"].dtype) == contracts.TYPES[contracts.ANSWER_TYPE][0]


def test_units_table_has_the_declared_columns():
    used = pd.DataFrame({"vintage": ["2019", "2019"], "level": ["province", "commune"], "code": ["87", "29954"]})
    assert tuple(units_table(used).columns) == UNITS.names


def test_manifest_is_written_field_by_field():
    m = Manifest(format_version=1, id="r", title="T", publisher="P", created="2026-01-01T00:00:00+00:00",
                 demo=False, methodologies=["sipas-2022"], suppression_threshold=None, years=[2024],
                 inputs=[{"file": "f.csv", "sha256": "0" * 64, "rows": 3}], counts={"cells": 9})
    text = m.to_json()
    assert list(json.loads(text)) == [f.name for f in dataclasses.fields(Manifest)]
    assert Manifest(**json.loads(text)) == m


def test_an_unknown_column_type_is_refused():
    with pytest.raises(ValueError, match="column x: unknown type 'text32'"):
        Column("x", "text32")
