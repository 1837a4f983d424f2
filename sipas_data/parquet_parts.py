"""One Parquet file from parts encoded apart: the index rows' batches are encoded on several
threads, each batch by its own writer into memory, and the parts are joined into the file one
writer would have written.

A Parquet file is ``PAR1``, the column chunks' bytes, a footer (the FileMetaData, Thrift compact
protocol), the footer's length (4 bytes, little-endian) and ``PAR1`` again. Each ``write_table``
call of a writer makes row groups of its own, and no page header or chunk names a position in
the file: only the footer does. So a batch written alone gives the very bytes it would have
given in one writer's file, and the file is rebuilt by writing each part's chunks in batch order
and one footer listing every part's row groups, their positions shifted by where the part's
chunks landed, ordinals renumbered and the row counts summed. The footer is decoded and encoded
field by field in the order it was read, so whatever this module does not touch is written back
byte for byte.

Page indexes and bloom filters are written by a writer after all its row groups' chunks; a part
that has them keeps them behind its own chunks (the positions still shifted, so the file is
sound, though not laid out as one writer would lay it out). The release writes neither.
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import BinaryIO

MAGIC = b"PAR1"

# Compact protocol type codes (the low nibble of a field header, and a list's element type).
STOP, TRUE, FALSE, BYTE, I16, I32, I64, DOUBLE, BINARY, LIST, SET, MAP, STRUCT = range(13)
INTEGERS = (BYTE, I16, I32, I64)


@dataclass
class Field:
    """One field of a struct as read: its id, its compact type and its value. A boolean's value
    is its type (TRUE or FALSE), a list's a :class:`Items`, a struct's a list of fields, a
    double's its eight bytes as they were (never rounded through a float)."""
    id: int
    type: int
    value: object


@dataclass
class Items:
    """A list's or set's element type and elements, or a map's key and value types and its
    (key, value) pairs (``value_type`` is None for lists and sets)."""
    type: int
    values: list
    value_type: int | None = None


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 63)


def _unzigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


class Reader:
    """Decodes compact-protocol values from ``data`` starting at ``pos``."""

    def __init__(self, data: bytes, pos: int = 0):
        self.data = memoryview(data).cast("B")
        self.pos = pos

    def byte(self) -> int:
        b = self.data[self.pos]
        self.pos += 1
        return b

    def varint(self) -> int:
        shift = result = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if b < 0x80:
                return result
            shift += 7

    def value(self, kind: int):
        if kind in (TRUE, FALSE):  # a boolean inside a list or map: one byte of its own
            return self.byte()
        if kind == BYTE:
            b = self.byte()
            return b - 256 if b > 127 else b
        if kind in (I16, I32, I64):
            return _unzigzag(self.varint())
        if kind == DOUBLE:
            raw = bytes(self.data[self.pos:self.pos + 8])
            self.pos += 8
            return raw
        if kind == BINARY:
            n = self.varint()
            raw = bytes(self.data[self.pos:self.pos + n])
            self.pos += n
            return raw
        if kind in (LIST, SET):
            head = self.byte()
            size, elem = head >> 4, head & 0x0F
            if size == 15:
                size = self.varint()
            return Items(elem, [self.value(elem) for _ in range(size)])
        if kind == MAP:
            size = self.varint()
            if not size:
                return Items(0, [], 0)
            types = self.byte()
            key, val = types >> 4, types & 0x0F
            return Items(key, [(self.value(key), self.value(val)) for _ in range(size)], val)
        if kind == STRUCT:
            return self.struct()
        raise ValueError(f"unknown Thrift compact type {kind} at byte {self.pos}")

    def struct(self) -> list[Field]:
        fields, last = [], 0
        while (head := self.byte()) != STOP:
            kind, delta = head & 0x0F, head >> 4
            field_id = last + delta if delta else _unzigzag(self.varint())
            value = kind if kind in (TRUE, FALSE) else self.value(kind)
            fields.append(Field(field_id, kind, value))
            last = field_id
        return fields


class Writer:
    """Encodes compact-protocol values, as Apache Thrift does (short field headers for an id at
    most 15 above the previous one, short list headers below 15 elements)."""

    def __init__(self):
        self.out = bytearray()

    def varint(self, n: int) -> None:
        while n > 0x7F:
            self.out.append((n & 0x7F) | 0x80)
            n >>= 7
        self.out.append(n)

    def value(self, kind: int, value) -> None:
        if kind in (TRUE, FALSE):
            self.out.append(value)
        elif kind == BYTE:
            self.out.append(value & 0xFF)
        elif kind in (I16, I32, I64):
            self.varint(_zigzag(value))
        elif kind in (DOUBLE, BINARY):
            if kind == BINARY:
                self.varint(len(value))
            self.out += value
        elif kind in (LIST, SET):
            n = len(value.values)
            if n < 15:
                self.out.append(n << 4 | value.type)
            else:
                self.out.append(0xF0 | value.type)
                self.varint(n)
            for v in value.values:
                self.value(value.type, v)
        elif kind == MAP:
            self.varint(len(value.values))
            if value.values:
                self.out.append(value.type << 4 | value.value_type)
                for k, v in value.values:
                    self.value(value.type, k)
                    self.value(value.value_type, v)
        elif kind == STRUCT:
            self.struct(value)
        else:
            raise ValueError(f"unknown Thrift compact type {kind}")

    def struct(self, fields: list[Field]) -> None:
        last = 0
        for f in fields:
            delta = f.id - last
            if 0 < delta <= 15:
                self.out.append(delta << 4 | f.type)
            else:
                self.out.append(f.type)
                self.varint(_zigzag(f.id))
            if f.type not in (TRUE, FALSE):
                self.value(f.type, f.value)
            last = f.id
        self.out.append(STOP)


def decode_struct(data: bytes) -> list[Field]:
    return Reader(data).struct()


def encode_struct(fields: list[Field]) -> bytes:
    w = Writer()
    w.struct(fields)
    return bytes(w.out)


def get(fields: list[Field], field_id: int) -> Field | None:
    return next((f for f in fields if f.id == field_id), None)


# Parquet's FileMetaData, RowGroup, ColumnChunk and ColumnMetaData field ids (parquet.thrift)
# that this module reads or moves.
FILE_NUM_ROWS, FILE_ROW_GROUPS = 3, 4
GROUP_COLUMNS, GROUP_FILE_OFFSET, GROUP_ORDINAL = 1, 5, 7
CHUNK_FILE_OFFSET, CHUNK_META = 2, 3
CHUNK_POSITIONS = (2, 4, 6)  # file_offset, offset_index_offset, column_index_offset
META_POSITIONS = (9, 10, 11, 14)  # data, index and dictionary page offsets; bloom filter offset


def split_part(part) -> tuple[memoryview, list[Field]]:
    """A whole Parquet file's chunk bytes (between the leading ``PAR1`` and the footer) and its
    decoded footer; ``part`` is bytes or any buffer (an Arrow buffer is read where it lies)."""
    view = memoryview(part).cast("B")  # an Arrow buffer's view is of signed bytes
    if len(view) < 12 or view[:4] != MAGIC or view[-4:] != MAGIC:
        raise ValueError("not a Parquet file (no PAR1 at its start and end)")
    footer_len = struct.unpack("<I", view[-8:-4])[0]
    footer_start = len(view) - 8 - footer_len
    if footer_start < 4:
        raise ValueError("a Parquet footer longer than its file")
    return view[4:footer_start], decode_struct(view[footer_start:-8])


def _shift(fields: list[Field], ids: tuple[int, ...], by: int) -> None:
    # Position 0 is the leading PAR1, never a page: a 0 says "not given" (writers leave the
    # deprecated ColumnChunk.file_offset 0), so it stays 0.
    for f in fields:
        if f.id in ids and f.type in INTEGERS and f.value:
            f.value += by


def shift_row_group(group: list[Field], by: int, ordinal: int) -> None:
    """Move a row group's positions ``by`` bytes later in the file and give it ``ordinal``."""
    _shift(group, (GROUP_FILE_OFFSET,), by)
    for f in group:
        if f.id == GROUP_ORDINAL:
            f.value = ordinal
    columns = get(group, GROUP_COLUMNS)
    for chunk in columns.value.values if columns else ():
        _shift(chunk, CHUNK_POSITIONS, by)
        meta = get(chunk, CHUNK_META)
        if meta is not None:
            _shift(meta.value, META_POSITIONS, by)


class Stitcher:
    """Writes parts (whole Parquet files, same schema and options, each from its own writer) to
    ``out`` as one file, in the order they are added; keeps only the footers' row groups, and
    the sha256 and size of what it wrote."""

    def __init__(self, out: BinaryIO):
        self.out = out
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.footer: list[Field] | None = None
        self.row_groups: list = []
        self.num_rows = 0
        self._emit(MAGIC)

    def _emit(self, data) -> None:
        self.out.write(data)
        self.sha256.update(data)
        self.size += len(data)

    def add(self, part) -> None:
        chunks, footer = split_part(part)
        by = self.size - len(MAGIC)  # the part's chunks started right after its own PAR1
        groups = get(footer, FILE_ROW_GROUPS)
        for group in groups.value.values if groups else ():
            shift_row_group(group, by, len(self.row_groups))
            self.row_groups.append(group)
        rows = get(footer, FILE_NUM_ROWS)
        self.num_rows += rows.value if rows else 0
        if self.footer is None:
            self.footer = footer  # schema, created_by, column orders: the same in every part
        self._emit(chunks)

    def finish(self) -> None:
        """Write the footer (that of the first part, with every part's row groups and rows)."""
        if self.footer is None:
            raise ValueError("no part to take the file's schema from")
        footer = []
        for f in self.footer:
            if f.id == FILE_NUM_ROWS:
                f = Field(f.id, f.type, self.num_rows)
            elif f.id == FILE_ROW_GROUPS:
                f = Field(f.id, f.type, Items(f.value.type, self.row_groups))
            footer.append(f)
        encoded = encode_struct(footer)
        self._emit(encoded)
        self._emit(struct.pack("<I", len(encoded)))
        self._emit(MAGIC)
