"""The Thrift compact codec on hand-worked bytes, and Parquet parts joined into one writer's file."""
import hashlib
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sipas_data.parquet_parts import (
    BINARY, I32, I64, LIST, STRUCT, TRUE, Field, Items, Stitcher, decode_struct, encode_struct, split_part,
)

# Worked by hand from the compact protocol: a field header is (id delta << 4 | type) when the id
# is 1..15 above the previous one, else the type then the id as a zigzag varint; integers are
# zigzag varints (n -> 2n, -n -> 2n-1), 7 bits a byte, low bits first.
HAND_WORKED = [
    (b"\x15\x02\x00", [Field(1, I32, 1)]),  # field 1, i32 1 -> zigzag 2
    (b"\x15\x02\x26\x01\x00", [Field(1, I32, 1), Field(3, I64, -1)]),  # delta 2; -1 -> zigzag 1
    (b"\x16\xac\x02\x00", [Field(1, I64, 150)]),  # 150 -> zigzag 300 = 0b10_0101100 -> ac 02
    (b"\x48\x02ab\x00", [Field(4, BINARY, b"ab")]),  # length, then the bytes
    (b"\x01\x28\x00", [Field(20, TRUE, TRUE)]),  # delta 20 > 15: type, then id 20 -> zigzag 40
    (b"\x19\x25\x02\x04\x00", [Field(1, LIST, Items(I32, [1, 2]))]),  # 2 elements of type 5
    (b"\x1c\x15\x06\x00\x00", [Field(1, STRUCT, [Field(1, I32, 3)])]),  # a struct in a struct
]


@pytest.mark.parametrize("data, fields", HAND_WORKED)
def test_compact_codec_on_hand_worked_bytes(data, fields):
    assert decode_struct(data) == fields
    assert encode_struct(fields) == data


def test_long_list_header():
    # 15 elements or more: 0xf0 | type, then the size as a varint
    fields = [Field(1, LIST, Items(I32, [0] * 20))]
    data = encode_struct(fields)
    assert data[:3] == b"\x19\xf5\x14"
    assert decode_struct(data) == fields


SCHEMA = pa.schema({"code": pa.dictionary(pa.int32(), pa.string()), "value": pa.float64(), "n": pa.int32()})


def _table(start: int, rows: int) -> pa.Table:
    return pa.table({
        "code": pa.array([f"u{i % 7}" for i in range(start, start + rows)], pa.string()).dictionary_encode(),
        "value": pa.array([i * 0.5 for i in range(start, start + rows)], pa.float64()),
        "n": pa.array(range(start, start + rows), pa.int32()),
    }, schema=SCHEMA)


OPTIONS = dict(compression="zstd", store_schema=False, use_dictionary=["code"], write_statistics=["code"])


def _one_writer(tables, row_group_size=1000) -> bytes:
    sink = io.BytesIO()
    with pq.ParquetWriter(sink, tables[0].schema, **OPTIONS) as out:
        for t in tables:
            out.write_table(t, row_group_size=row_group_size)
    return sink.getvalue()


def test_a_real_footer_decodes_and_encodes_to_its_own_bytes():
    data = _one_writer([_table(0, 2500)])
    footer_len = int.from_bytes(data[-8:-4], "little")
    footer = data[-8 - footer_len:-8]
    assert encode_struct(decode_struct(footer)) == footer


def test_parts_joined_are_the_file_one_writer_writes():
    tables = [_table(0, 2500), _table(2500, 10), _table(2510, 0), _table(2510, 1200)]
    sink = io.BytesIO()
    file = Stitcher(sink)
    for i, t in enumerate(tables):
        part = _one_writer([t])
        file.add(pa.py_buffer(part) if i % 2 else part)  # Arrow buffers (signed bytes) as well as bytes
    file.finish()
    expected = _one_writer(tables)
    assert sink.getvalue() == expected
    assert file.size == len(expected)
    assert file.sha256.hexdigest() == hashlib.sha256(expected).hexdigest()
    meta = pq.ParquetFile(io.BytesIO(sink.getvalue())).metadata
    assert meta.num_rows == 3710 and meta.num_row_groups == 3 + 1 + 1 + 2


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
