"""One Parquet file from parts encoded apart: the index rows' batches are encoded on several
threads, each batch by its own writer into memory, and the parts are joined into the file one
writer would have written.

A Parquet file is ``PAR1``, the column chunks' bytes, a footer (the FileMetaData, Thrift compact
protocol), the footer's length (4 bytes, little-endian) and ``PAR1`` again. Each ``write_table``
call of a writer makes row groups of its own, and no page header or chunk names a position in
the file: only the footer does. So a batch written alone gives the very bytes it would have
given in one writer's file, and the file is rebuilt by writing each part's chunks in batch order
and one footer listing every part's row groups, their positions shifted by where the part's
chunks landed, ordinals renumbered and the row counts summed.

The footers are not decoded into values: each is walked field by field and copied as it is,
and only the few integers that change (positions, ordinals, the row count) are read and written
anew. Whatever else a footer holds (schema, statistics, key-value metadata) is copied byte for
byte without being looked at beyond its length, which keeps the join cheap next to encoding.

A batch's columns may also be encoded apart, some by one writer and the rest by another (the
key columns that several batches share are encoded once, see :meth:`Stitcher.add_columns`): a
column chunk's bytes depend only on its own values and the writer's options, and each writer
splits the same rows into the same row groups, so each row group's chunks are written in the
schema's order from whichever part holds them, each chunk's positions moved by where it landed,
and the row group's sizes summed from the parts' row groups.

Page indexes and bloom filters are written by a writer after all its row groups' chunks; a part
that has them keeps them behind its own chunks (the positions still shifted, so the file is
sound, though not laid out as one writer would lay it out). The release writes neither.
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from typing import BinaryIO

MAGIC = b"PAR1"

# Compact protocol type codes (the low nibble of a field header, and a list's element type).
STOP, TRUE, FALSE, BYTE, I16, I32, I64, DOUBLE, BINARY, LIST, SET, MAP, STRUCT = range(13)
VARINTS = (I16, I32, I64)  # integers written as zigzag varints
FIXED_SIZE = {TRUE: 1, FALSE: 1, BYTE: 1, DOUBLE: 8}  # a boolean in a list or map: one byte


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 63)


def _unzigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def varint(data: bytes, pos: int) -> tuple[int, int]:
    """The unsigned varint at ``data[pos]`` and the position after it."""
    b = data[pos]
    if b < 0x80:
        return b, pos + 1
    result, shift = b & 0x7F, 7
    while True:
        pos += 1
        b = data[pos]
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos + 1
        shift += 7


def encode_varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def encode_integer(n: int) -> bytes:
    """An i16, i32 or i64 as the compact protocol writes it (zigzag, then varint)."""
    return encode_varint(_zigzag(n))


def list_header(size: int, element_type: int) -> bytes:
    """A list's header as Apache Thrift writes it (the size in the header below 15 elements)."""
    return bytes([size << 4 | element_type]) if size < 15 else bytes([0xF0 | element_type]) + encode_varint(size)


def _list_start(data: bytes, pos: int) -> tuple[int, int, int]:
    """A list's or set's size and element type at ``data[pos]``, and where its elements start."""
    head = data[pos]
    size, element_type = head >> 4, head & 0x0F
    if size == 15:
        size, pos = varint(data, pos + 1)
        return size, element_type, pos
    return size, element_type, pos + 1


def field_header(data: bytes, pos: int, last: int) -> tuple[int, int, int]:
    """The id and compact type of the field whose header is at ``data[pos]`` (``last``: the
    previous field's id), and the position after the header."""
    head = data[pos]
    if head >> 4:
        return last + (head >> 4), head & 0x0F, pos + 1
    field_id, pos = varint(data, pos + 1)  # no id delta in the header: the id follows
    return _unzigzag(field_id), head & 0x0F, pos


def skip(data: bytes, pos: int, kind: int) -> int:
    """The position after the value of compact type ``kind`` at ``data[pos]`` (a boolean as a
    list's or map's element: one byte; a struct's boolean field has no value to skip)."""
    if kind in VARINTS:
        while data[pos] & 0x80:
            pos += 1
        return pos + 1
    if kind == BINARY:
        n, pos = varint(data, pos)
        return pos + n
    if kind == STRUCT:
        return skip_struct(data, pos)
    if kind in FIXED_SIZE:
        return pos + FIXED_SIZE[kind]
    if kind in (LIST, SET):
        size, element_type, pos = _list_start(data, pos)
        if element_type in FIXED_SIZE:
            return pos + size * FIXED_SIZE[element_type]
        for _ in range(size):
            pos = skip(data, pos, element_type)
        return pos
    if kind == MAP:
        size, pos = varint(data, pos)
        if size:
            types = data[pos]
            pos += 1
            for _ in range(size):
                pos = skip(data, skip(data, pos, types >> 4), types & 0x0F)
        return pos
    raise ValueError(f"unknown Thrift compact type {kind} at byte {pos}")


def skip_struct(data: bytes, pos: int) -> int:
    """The position after the struct at ``data[pos]``."""
    while (head := data[pos]) != STOP:
        pos += 1
        if head < 0x10:  # no id delta in the header: the id follows as a varint
            pos = skip(data, pos, I16)
        kind = head & 0x0F
        if kind != TRUE and kind != FALSE:
            pos = skip(data, pos, kind)
    return pos + 1


@dataclass(frozen=True)
class Shape:
    """The fields of a struct that a join rewrites: integers holding positions in the file
    (``positions``, moved by the part's shift; a 0 says "not given" and stays 0), the field
    holding the row group's ordinal, and structs or lists of structs to rewrite inside
    (``inner``, by field id). Every other field is copied as it is."""
    positions: frozenset[int] = frozenset()
    ordinal: int | None = None
    inner: dict[int, Shape] = field(default_factory=dict)


# Parquet's FileMetaData, RowGroup, ColumnChunk and ColumnMetaData field ids (parquet.thrift)
# that this module reads or moves.
FILE_NUM_ROWS, FILE_ROW_GROUPS = 3, 4
COLUMN_META = Shape(positions=frozenset({9, 10, 11, 14}))  # data, index, dictionary pages; bloom filter
COLUMN_CHUNK = Shape(positions=frozenset({2, 4, 6}),  # file_offset, offset and column index offsets
                     inner={3: COLUMN_META})
ROW_GROUP = Shape(positions=frozenset({5}), ordinal=7, inner={1: COLUMN_CHUNK})  # file_offset; columns
RG_COLUMNS, RG_TOTAL_BYTE_SIZE, RG_FILE_OFFSET, RG_TOTAL_COMPRESSED_SIZE, RG_ORDINAL = 1, 2, 5, 6, 7
CHUNK_META = 3
META_TOTAL_COMPRESSED_SIZE, META_DATA_PAGE_OFFSET, META_DICTIONARY_PAGE_OFFSET = 7, 9, 11


def rewrite_struct(data: bytes, pos: int, out: bytearray, shape: Shape, by: int, ordinal: int = 0) -> int:
    """Copy the struct at ``data[pos]`` to ``out``, its positions moved ``by`` bytes and its
    ordinal set to ``ordinal`` as ``shape`` says; return the position after it."""
    copied = pos  # data[copied:pos] is still to be copied as it is
    last = 0
    while data[pos] != STOP:
        field_id, kind, pos = field_header(data, pos, last)
        last = field_id
        if kind == TRUE or kind == FALSE:
            continue
        if kind in VARINTS and (field_id in shape.positions or field_id == shape.ordinal):
            value, end = varint(data, pos)
            value = _unzigzag(value)
            new = ordinal if field_id == shape.ordinal else value + by if value else 0
            if new != value:
                out += data[copied:pos]
                out += encode_integer(new)
                copied = pos = end
            else:
                pos = end
        elif field_id in shape.inner and kind in (STRUCT, LIST):
            inner = shape.inner[field_id]
            if kind == STRUCT:
                out += data[copied:pos]
                pos = copied = rewrite_struct(data, pos, out, inner, by, ordinal)
                continue
            size, element_type, pos = _list_start(data, pos)
            if element_type != STRUCT:
                for _ in range(size):
                    pos = skip(data, pos, element_type)
                continue
            out += data[copied:pos]
            for _ in range(size):
                pos = rewrite_struct(data, pos, out, inner, by, ordinal)
            copied = pos
        else:
            pos = skip(data, pos, kind)
    out += data[copied:pos + 1]
    return pos + 1


def read_integers(data: bytes, pos: int, wanted: frozenset[int]) -> tuple[dict[int, int], int]:
    """The integer fields ``wanted`` of the struct at ``data[pos]`` (by field id), and the
    position after the struct."""
    values: dict[int, int] = {}
    last = 0
    while data[pos] != STOP:
        field_id, kind, pos = field_header(data, pos, last)
        last = field_id
        if kind == TRUE or kind == FALSE:
            continue
        if kind in VARINTS and field_id in wanted:
            value, pos = varint(data, pos)
            values[field_id] = _unzigzag(value)
        else:
            pos = skip(data, pos, kind)
    return values, pos + 1


def replace_fields(data: bytes, pos: int, out: bytearray, values: dict[int, bytes]) -> int:
    """Copy the struct at ``data[pos]`` to ``out`` with the values of the fields in ``values``
    (by field id) replaced by the bytes given (their headers kept); return the position after it."""
    copied = pos
    last = 0
    while data[pos] != STOP:
        field_id, kind, pos = field_header(data, pos, last)
        last = field_id
        if kind == TRUE or kind == FALSE:
            continue
        end = skip(data, pos, kind)
        if field_id in values:
            out += data[copied:pos]
            out += values[field_id]
            copied = end
        pos = end
    out += data[copied:pos + 1]
    return pos + 1


@dataclass
class _ColumnChunk:
    """A column chunk of a part: its metadata struct in the part's footer, and where its bytes
    lie in the part's file."""
    meta: slice
    start: int
    size: int


@dataclass
class _RowGroup:
    """A row group of a part: its struct in the part's footer, its chunks and its sizes."""
    struct: int
    chunks: list[_ColumnChunk]
    total_byte_size: int
    total_compressed_size: int
    file_offset: int


def _column_chunk(footer: bytes, pos: int) -> tuple[_ColumnChunk, int]:
    start, size, begin, last = 0, 0, pos, 0
    while footer[pos] != STOP:
        field_id, kind, pos = field_header(footer, pos, last)
        last = field_id
        if kind == TRUE or kind == FALSE:
            continue
        if field_id == CHUNK_META and kind == STRUCT:
            meta, pos = read_integers(footer, pos, frozenset({
                META_TOTAL_COMPRESSED_SIZE, META_DATA_PAGE_OFFSET, META_DICTIONARY_PAGE_OFFSET}))
            # a chunk starts at its dictionary page if it has one, else at its first data page
            start = meta.get(META_DICTIONARY_PAGE_OFFSET) or meta[META_DATA_PAGE_OFFSET]
            size = meta[META_TOTAL_COMPRESSED_SIZE]
        else:
            pos = skip(footer, pos, kind)
    return _ColumnChunk(slice(begin, pos + 1), start, size), pos + 1


def _row_groups(footer: bytes) -> list[_RowGroup]:
    """A part's row groups, read from its footer."""
    groups = []
    pos, last = 0, 0
    while footer[pos] != STOP:
        field_id, kind, pos = field_header(footer, pos, last)
        last = field_id
        if kind == TRUE or kind == FALSE:
            continue
        if field_id != FILE_ROW_GROUPS or kind != LIST:
            pos = skip(footer, pos, kind)
            continue
        size, _, pos = _list_start(footer, pos)
        for _ in range(size):
            begin, chunks, sizes, group_last = pos, [], {}, 0
            while footer[pos] != STOP:
                group_field, group_kind, pos = field_header(footer, pos, group_last)
                group_last = group_field
                if group_kind == TRUE or group_kind == FALSE:
                    continue
                if group_field == RG_COLUMNS and group_kind == LIST:
                    count, _, pos = _list_start(footer, pos)
                    for _ in range(count):
                        chunk, pos = _column_chunk(footer, pos)
                        chunks.append(chunk)
                elif group_field in (RG_TOTAL_BYTE_SIZE, RG_TOTAL_COMPRESSED_SIZE, RG_FILE_OFFSET) \
                        and group_kind in VARINTS:
                    value, pos = varint(footer, pos)
                    sizes[group_field] = _unzigzag(value)
                else:
                    pos = skip(footer, pos, group_kind)
            pos += 1
            groups.append(_RowGroup(begin, chunks, sizes.get(RG_TOTAL_BYTE_SIZE, 0),
                                    sizes.get(RG_TOTAL_COMPRESSED_SIZE, 0), sizes.get(RG_FILE_OFFSET, 0)))
    return groups


def split_part(part) -> tuple[memoryview, bytes]:
    """A whole Parquet file's chunk bytes (between the leading ``PAR1`` and the footer) and its
    footer; ``part`` is bytes or any buffer (an Arrow buffer is read where it lies)."""
    view = memoryview(part).cast("B")  # an Arrow buffer's view is of signed bytes
    if len(view) < 12 or view[:4] != MAGIC or view[-4:] != MAGIC:
        raise ValueError("not a Parquet file (no PAR1 at its start and end)")
    footer_len = struct.unpack("<I", view[-8:-4])[0]
    footer_start = len(view) - 8 - footer_len
    if footer_start < 4:
        raise ValueError("a Parquet footer longer than its file")
    return view[4:footer_start], bytes(view[footer_start:-8])


class Stitcher:
    """Writes parts (whole Parquet files, same schema and options, each from its own writer) to
    ``out`` as one file, in the order they are added; keeps only the footers' row groups, and
    the sha256 and size of what it wrote."""

    def __init__(self, out: BinaryIO, template=None):
        """``template``: a file of no rows with the file's schema and options, whose footer is
        the file's (needed when the parts hold only some of the columns each)."""
        self.out = out
        self.sha256 = hashlib.sha256()
        self.size = 0
        # The first part's footer around its row count and row groups (schema, created_by,
        # column orders: the same in every part), as (bytes before, field id) pairs and the rest.
        self._template: list[tuple[bytes, int]] | None = None
        self._template_end = b""
        self._row_groups = bytearray()  # every part's row groups, rewritten, one after another
        self._row_group_type = STRUCT
        self.row_groups = 0
        self.num_rows = 0
        self._emit(MAGIC)
        if template is not None:
            self.add(template)

    def _emit(self, data) -> None:
        self.out.write(data)
        self.sha256.update(data)
        self.size += len(data)

    def add(self, part) -> None:
        chunks, footer = split_part(part)
        by = self.size - len(MAGIC)  # the part's chunks started right after its own PAR1
        template, copied = [], 0
        pos, last = 0, 0
        while footer[pos] != STOP:
            field_id, kind, pos = field_header(footer, pos, last)
            last = field_id
            if kind == TRUE or kind == FALSE:
                continue
            start = pos
            if field_id == FILE_NUM_ROWS and kind in VARINTS:
                rows, pos = varint(footer, pos)
                self.num_rows += _unzigzag(rows)
            elif field_id == FILE_ROW_GROUPS and kind == LIST:
                size, self._row_group_type, pos = _list_start(footer, pos)
                for _ in range(size):
                    pos = rewrite_struct(footer, pos, self._row_groups, ROW_GROUP, by, self.row_groups)
                    self.row_groups += 1
            else:
                pos = skip(footer, pos, kind)
                continue
            template.append((footer[copied:start], field_id))
            copied = pos
        if self._template is None:
            self._template, self._template_end = template, footer[copied:]
        self._emit(chunks)

    def add_columns(self, parts, columns: list[tuple[int, int]]) -> None:
        """Add one batch whose columns were encoded apart: ``parts`` are whole Parquet files of
        the same rows (same row groups), each with some of the columns; ``columns`` names, for
        each of the file's columns in order, the part holding it and its place in that part.
        The first part's row groups give the fields besides columns, sizes and positions."""
        if self._template is None:
            raise ValueError("a batch of parts needs the file's template first")
        split = [split_part(part) for part in parts]
        groups = [_row_groups(footer) for _, footer in split]
        if len({len(g) for g in groups}) != 1:
            raise ValueError("parts of one batch with different row groups")
        for at in range(len(groups[0])):
            # the row group starts where its first chunk lands (a 0: not given, and kept)
            first = groups[columns[0][0]][at]
            file_offset = first.file_offset and first.file_offset + self.size - first.chunks[columns[0][1]].start
            chunks = bytearray(list_header(len(columns), STRUCT))
            for part, column in columns:
                data, footer = split[part]
                chunk = groups[part][at].chunks[column]
                by = self.size - chunk.start
                self._emit(data[chunk.start - len(MAGIC):chunk.start - len(MAGIC) + chunk.size])
                rewrite_struct(footer, chunk.meta.start, chunks, COLUMN_CHUNK, by)
            group = groups[0][at]
            replace_fields(split[0][1], group.struct, self._row_groups, {
                RG_COLUMNS: bytes(chunks),
                RG_TOTAL_BYTE_SIZE: encode_integer(sum(g[at].total_byte_size for g in groups)),
                RG_FILE_OFFSET: encode_integer(file_offset),
                RG_TOTAL_COMPRESSED_SIZE: encode_integer(sum(g[at].total_compressed_size for g in groups)),
                RG_ORDINAL: encode_integer(self.row_groups),
            })
            self.row_groups += 1
        self.num_rows += read_integers(split[0][1], 0, frozenset({FILE_NUM_ROWS}))[0].get(FILE_NUM_ROWS, 0)

    def finish(self) -> None:
        """Write the footer (that of the first part, with every part's row groups and rows)."""
        if self._template is None:
            raise ValueError("no part to take the file's schema from")
        footer = bytearray()
        for before, field_id in self._template:
            footer += before
            if field_id == FILE_NUM_ROWS:
                footer += encode_integer(self.num_rows)
            else:
                footer += list_header(self.row_groups, self._row_group_type)
                footer += self._row_groups
        footer += self._template_end
        self._emit(footer)
        self._emit(struct.pack("<I", len(footer)))
        self._emit(MAGIC)
