"""Thrift compact structs walked and rewritten on hand-worked bytes, and Parquet parts joined into
one writer's file."""
import hashlib
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sipas_data.parquet_parts import (
    I32, ROW_GROUP, STRUCT, Shape, Stitcher, encode_integer, list_header, rewrite_struct, skip_struct, split_part,
)

# Worked by hand from the compact protocol: a field header is (id delta << 4 | type) when the id
# is 1..15 above the previous one, else the type then the id as a zigzag varint; integers are
# zigzag varints (n -> 2n, -n -> 2n-1), 7 bits a byte, low bits first. Each struct is followed
# by a byte that is not its own, which a walk must not reach.
HAND_WORKED = [
    b"\x15\x02\x00",  # field 1, i32 1 -> zigzag 2
    b"\x15\x02\x26\x01\x00",  # then field 3 (delta 2), i64 -1 -> zigzag 1
    b"\x16\xac\x02\x00",  # field 1, i64 150 -> zigzag 300 = 0b10_0101100 -> ac 02
    b"\x48\x02ab\x00",  # field 4, binary: its length, then its bytes
    b"\x01\x28\x12\x00",  # field 20 (delta > 15: type, then id 20 -> zigzag 40), true; field 21 false
    b"\x13\xff\x17" + bytes(8) + b"\x00",  # a byte (-1), then a double: eight bytes
    b"\x19\x25\x02\x04\x00",  # a list of 2 elements of type 5 (i32)
    b"\x19\xf5\x14" + b"\x00" * 20 + b"\x00",  # 15 elements or more: 0xf0 | type, then the size
    b"\x19\x21\x01\x02\x00",  # a list of 2 booleans (true, false): one byte each
    b"\x1a\x18\x01a\x00",  # a set of one binary
    b"\x1b\x02\x85\x01k\x02\x01m\x04\x00",  # a map of 2 (binary -> i32): size, key and value types, pairs
    b"\x1b\x00\x00",  # an empty map: its size alone
    b"\x19\x2c\x15\x02\x00\x00\x00",  # a list of 2 structs: {1: 1} and {}
    b"\x1c\x15\x06\x00\x00",  # a struct in a struct
]


@pytest.mark.parametrize("data", HAND_WORKED)
def test_a_walk_ends_where_its_struct_does(data):
    assert skip_struct(data + b"\x15", 0) == len(data)
    out = bytearray()
    assert rewrite_struct(data + b"\x15", 0, out, Shape(), 1000) == len(data)
    assert out == data


def test_positions_move_and_their_varints_grow():
    shape = Shape(positions=frozenset({9, 11}))
    # field 9 i64 100 (zigzag 200: c8 01), field 11 i64 0, field 12 a struct holding field 9
    # (not a position there), field 30 (long form) i64 7
    data = b"\x96\xc8\x01\x26\x00\x1c\x96\x02\x00\x06\x3c\x0e\x00"
    out = bytearray()
    assert rewrite_struct(data, 0, out, shape, 50) == len(data)
    # 150 -> zigzag 300: ac 02; a 0 says "not given" and stays 0; the rest as it was
    assert out == b"\x96\xac\x02\x26\x00\x1c\x96\x02\x00\x06\x3c\x0e\x00"


def test_a_field_to_enter_that_is_no_struct_is_copied_as_it_is():
    # field 1 should hold structs (as RowGroup.columns does): a list of i32 and, in field 3, an
    # i64 where a struct was expected are left as they are
    shape = Shape(inner={1: Shape(positions=frozenset({1})), 3: Shape(positions=frozenset({1}))})
    data = b"\x19\x25\x02\x04\x26\x08\x00"
    out = bytearray()
    assert rewrite_struct(data, 0, out, shape, 50) == len(data)
    assert out == data


def test_row_groups_take_their_ordinal_and_their_chunks_move():
    # RowGroup {1: [ColumnChunk {2: 0, 3: ColumnMetaData {9: 4, 11: 8}}], 5: 4, 7: 0}
    data = b"\x19\x1c\x26\x00\x1c\x96\x08\x26\x10\x00\x00\x46\x08\x24\x00\x00"
    out = bytearray()
    assert rewrite_struct(data, 0, out, ROW_GROUP, 10, ordinal=3) == len(data)
    assert out == b"\x19\x1c\x26\x00\x1c\x96\x1c\x26\x24\x00\x00\x46\x1c\x24\x06\x00"


def test_encoded_integers_and_list_headers():
    assert encode_integer(150) == b"\xac\x02"
    assert encode_integer(-1) == b"\x01"
    assert list_header(2, I32) == b"\x25"
    assert list_header(20, STRUCT) == b"\xfc\x14"


SCHEMA = pa.schema({"code": pa.dictionary(pa.int32(), pa.string()), "value": pa.float64(), "n": pa.int32()})


def _table(start: int, rows: int) -> pa.Table:
    return pa.table({
        "code": pa.array([f"u{i % 7}" for i in range(start, start + rows)], pa.string()).dictionary_encode(),
        "value": pa.array([i * 0.5 for i in range(start, start + rows)], pa.float64()),
        "n": pa.array(range(start, start + rows), pa.int32()),
    }, schema=SCHEMA)


OPTIONS = dict(compression="zstd", store_schema=False, use_dictionary=["code"], write_statistics=["code"])
# The Arrow schema in the key-value metadata, statistics of every column (doubles' too)
OTHER_OPTIONS = dict(compression="snappy", store_schema=True, write_statistics=True)


def _one_writer(tables, row_group_size=1000, options=OPTIONS) -> bytes:
    sink = io.BytesIO()
    with pq.ParquetWriter(sink, tables[0].schema, **options) as out:
        for t in tables:
            out.write_table(t, row_group_size=row_group_size)
    return sink.getvalue()


def test_a_real_footer_is_walked_to_its_end():
    data = _one_writer([_table(0, 2500)])
    footer_len = int.from_bytes(data[-8:-4], "little")
    assert skip_struct(data[-8 - footer_len:-8], 0) == footer_len


@pytest.mark.parametrize("options", [OPTIONS, OTHER_OPTIONS])
def test_parts_joined_are_the_file_one_writer_writes(options):
    # 21 row groups in all: the file's list of them has a long header, the parts' short ones
    tables = [_table(0, 2500), _table(2500, 10), _table(2510, 0), _table(2510, 1200), _table(3710, 14_000)]
    sink = io.BytesIO()
    file = Stitcher(sink)
    for i, t in enumerate(tables):
        part = _one_writer([t], options=options)
        file.add(pa.py_buffer(part) if i % 2 else part)  # Arrow buffers (signed bytes) as well as bytes
    file.finish()
    expected = _one_writer(tables, options=options)
    assert sink.getvalue() == expected
    assert file.size == len(expected)
    assert file.sha256.hexdigest() == hashlib.sha256(expected).hexdigest()
    meta = pq.ParquetFile(io.BytesIO(sink.getvalue())).metadata
    assert meta.num_rows == 17_710 and meta.num_row_groups == 3 + 1 + 1 + 2 + 14 == file.row_groups


def test_one_empty_part_is_the_empty_file():
    sink = io.BytesIO()
    with pq.ParquetWriter(sink, SCHEMA, **OPTIONS):
        pass
    empty = sink.getvalue()
    out = io.BytesIO()
    file = Stitcher(out)
    file.add(empty)
    file.finish()
    assert out.getvalue() == empty


def test_not_a_parquet_file_is_refused():
    with pytest.raises(ValueError, match="not a Parquet file"):
        split_part(b"PAR1 something else")
    with pytest.raises(ValueError, match="no part"):
        Stitcher(io.BytesIO()).finish()


def _columns_apart(table: pa.Table, names: list[str], options=OPTIONS, row_group_size=1000) -> bytes:
    """``table``'s columns ``names`` alone, written by a writer of their own."""
    part = table.select(names)
    sink = io.BytesIO()
    only = {key: [n for n in value if n in names] if isinstance(value, list) else value
            for key, value in options.items()}  # the columns named in options: those present
    with pq.ParquetWriter(sink, part.schema, **only) as out:
        out.write_table(part, row_group_size=row_group_size)
    return sink.getvalue()


def _no_rows(options=OPTIONS) -> bytes:
    """The file of a writer given no table (a table of no rows would still make a row group)."""
    sink = io.BytesIO()
    with pq.ParquetWriter(sink, SCHEMA, **options):
        pass
    return sink.getvalue()


@pytest.mark.parametrize("options", [OPTIONS, dict(OTHER_OPTIONS, store_schema=False)])
def test_batches_joined_from_columns_encoded_apart_are_the_file_one_writer_writes(options):
    # the keys (code, n: the file's first and last columns) encoded once for the batches that
    # share them, the values (the middle column) for each batch; several row groups, keys that
    # change between batches, a filtered batch (fewer rows), a batch of no rows
    keys, values = ["code", "n"], ["value"]
    first = _table(0, 2500)
    second = first.set_column(1, "value", pa.array([i * 0.25 for i in range(2500)], pa.float64()))
    other = _table(2500, 1200)
    filtered = first.slice(0, 900)
    empty = _table(0, 0)
    tables = [first, second, other, filtered, empty, other]
    key_parts = {id(t): _columns_apart(t, keys, options) for t in (first, other, filtered, empty)}
    key_parts[id(second)] = key_parts[id(first)]
    sink = io.BytesIO()
    file = Stitcher(sink, template=_no_rows(options))
    for t in tables:
        file.add_columns([pa.py_buffer(key_parts[id(t)]), _columns_apart(t, values, options)],
                         [(0, 0), (1, 0), (0, 1)])
    file.finish()
    expected = _one_writer(tables, options=options)
    assert sink.getvalue() == expected
    assert file.sha256.hexdigest() == hashlib.sha256(expected).hexdigest()
    meta = pq.ParquetFile(io.BytesIO(sink.getvalue())).metadata
    assert meta.num_rows == 2500 * 2 + 1200 * 2 + 900 and meta.num_row_groups == file.row_groups


def test_a_template_alone_is_the_empty_file():
    empty = _no_rows()
    out = io.BytesIO()
    file = Stitcher(out, template=empty)
    file.finish()
    assert out.getvalue() == empty


def test_columns_encoded_apart_need_the_files_template_and_the_same_row_groups():
    with pytest.raises(ValueError, match="template"):
        Stitcher(io.BytesIO()).add_columns([_one_writer([_table(0, 10)])], [(0, 0), (0, 1), (0, 2)])
    file = Stitcher(io.BytesIO(), template=_no_rows())
    with pytest.raises(ValueError, match="different row groups"):
        file.add_columns([_columns_apart(_table(0, 2500), ["code", "n"]), _columns_apart(_table(0, 900), ["value"])],
                         [(0, 0), (1, 0), (0, 1)])
