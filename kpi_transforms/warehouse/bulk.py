"""Bulk loads into PostgreSQL: Arrow tables streamed as CSV or binary ``COPY``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv


def _for_csv(table: pa.Table) -> pa.Table:
    """Make timestamps unambiguous text for COPY: ISO with an explicit UTC offset for tz-aware
    columns (PostgreSQL reads the offset), plain ISO for naive ones.

    Formatted with Arrow's timestamp-to-string cast of the UTC (or wall-clock) value, which
    gives what ``strftime("%Y-%m-%d %H:%M:%S")`` gave (Arrow's ``%S`` prints the fraction too)
    at a fraction of the cost: ``strftime`` was 80 % of a COPY load of 1 M messages."""
    import pyarrow.compute as pc

    columns = []
    for field, column in zip(table.schema, table.columns):
        if pa.types.is_timestamp(field.type):
            naive = pc.cast(pc.cast(column, pa.int64()), pa.timestamp(field.type.unit))  # UTC / wall clock
            column = pc.cast(naive, pa.string())
            if field.type.tz:
                column = pc.binary_join_element_wise(column, "+00", "")
        columns.append(column)
    return pa.table(columns, names=table.column_names)


class _ChunkStream(io.RawIOBase):
    """A read-only binary file fed chunk by chunk by ``_next_chunk`` (for COPY ... FROM STDIN)."""

    _chunk: memoryview

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> bool:
        raise NotImplementedError

    def read(self, size: int = -1) -> bytes:
        if not self._chunk and not self._next_chunk():
            return b""
        size = len(self._chunk) if size is None or size < 0 else size
        out, self._chunk = self._chunk[:size], self._chunk[size:]
        return out.tobytes()

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _CsvStream(_ChunkStream):
    """A read-only binary file whose content is ``table`` as header-less CSV (see
    :func:`_for_csv`), produced one record batch at a time as COPY reads it."""

    def __init__(self, table: pa.Table, batch_rows: int = 65_536):
        self._batches = iter(table.to_batches(max_chunksize=batch_rows))
        self._chunk = memoryview(b"")
        self._options = pacsv.WriteOptions(include_header=False)

    def _next_chunk(self) -> bool:
        for batch in self._batches:
            if batch.num_rows:
                sink = pa.BufferOutputStream()
                pacsv.write_csv(_for_csv(pa.Table.from_batches([batch])), sink, self._options)
                self._chunk = memoryview(sink.getvalue())
                return True
        return False


# -- PostgreSQL binary COPY from Arrow ------------------------------------------------------
# Binary COPY saves the server the text parsing of every value (measured 25-35 % faster than
# CSV COPY for fct_message rows). Rows are built by Arrow kernels: each column becomes a binary
# array of "length prefix + big-endian value" per row, and one element-wise join per batch
# gives the wire rows. A column pair that is not listed here (numeric, json, a naive timestamp
# into timestamptz, ...) makes bulk_insert fall back to CSV COPY.
_PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in Unix microseconds
_PG_EPOCH_DAYS = 10_957
_NULL_FIELD = b"\xff\xff\xff\xff"
_BIN = pa.binary()
_PG_INT = {"int2": (2, ">i2", pa.int16()), "int4": (4, ">i4", pa.int32()), "int8": (8, ">i8", pa.int64())}
_PG_FLOAT = {"float4": (4, ">f4", pa.float32()), "float8": (8, ">f8", pa.float64())}
_PG_TEXT = {"text", "varchar", "bpchar"}
_US_PER = {"s": 1_000_000, "ms": 1_000, "us": 1}


def _binary_copy_supported(arrow_type: pa.DataType, pg_type: str) -> bool:
    if pa.types.is_null(arrow_type):
        return True
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pg_type in _PG_TEXT
    if pa.types.is_integer(arrow_type):
        return pg_type in _PG_INT
    if pa.types.is_floating(arrow_type):
        return pg_type in _PG_FLOAT
    if pa.types.is_boolean(arrow_type):
        return pg_type == "bool"
    if pa.types.is_timestamp(arrow_type):  # zone-aware <-> timestamptz, naive <-> timestamp
        return arrow_type.unit in _US_PER and pg_type == ("timestamptz" if arrow_type.tz else "timestamp")
    if pa.types.is_date32(arrow_type):
        return pg_type == "date"
    return False


def _pg_column_types(cursor, table: str) -> dict[str, str]:
    cursor.execute(
        "select a.attname, t.typname from pg_attribute a join pg_type t on t.oid = a.atttypid"
        " where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped",
        (table,),
    )
    return dict(cursor.fetchall())


def _fixed_width_field(values: np.ndarray, width: int, valid: pa.Array | None) -> pa.Array:
    """``int32 width`` + the big-endian bytes of each value (``values`` already big-endian)."""
    import pyarrow.compute as pc

    n = len(values)
    raw = np.empty((n, 4 + width), dtype=np.uint8)
    raw[:, :4] = np.frombuffer(width.to_bytes(4, "big"), dtype=np.uint8)
    raw[:, 4:] = values.view(np.uint8).reshape(n, width)
    field = pa.FixedSizeBinaryArray.from_buffers(pa.binary(4 + width), n, [None, pa.py_buffer(raw)]).cast(_BIN)
    return field if valid is None else pc.if_else(valid, field, pa.scalar(_NULL_FIELD, _BIN))


def _binary_field(column: pa.Array, pg_type: str) -> pa.Array:
    import pyarrow.compute as pc

    n = len(column)
    kind = column.type
    if pa.types.is_null(kind):
        return pa.array([_NULL_FIELD] * n, _BIN) if n < 1024 else pa.repeat(pa.scalar(_NULL_FIELD, _BIN), n)
    valid = pc.is_valid(column) if column.null_count else None
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        data = pc.fill_null(column, "").cast(pa.large_binary())
        lengths = pc.binary_length(data).to_numpy(zero_copy_only=False).astype(">i4")
        prefix = pa.FixedSizeBinaryArray.from_buffers(pa.binary(4), n, [None, pa.py_buffer(lengths.tobytes())])
        field = pc.binary_join_element_wise(prefix.cast(pa.large_binary()), data, pa.scalar(b"", pa.large_binary()))
        field = field.cast(_BIN) if field.nbytes < (1 << 31) - 1 else field
        return field if valid is None else pc.if_else(valid, field, pa.scalar(_NULL_FIELD, field.type))
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        width, dtype, arrow = (_PG_INT if pa.types.is_integer(kind) else _PG_FLOAT)[pg_type]
        values = pc.fill_null(pc.cast(column, arrow), 0).to_numpy(zero_copy_only=False).astype(dtype)
        return _fixed_width_field(values, width, valid)
    if pa.types.is_boolean(kind):
        values = pc.fill_null(column, False).to_numpy(zero_copy_only=False).astype(np.uint8)
        return _fixed_width_field(values, 1, valid)
    if pa.types.is_timestamp(kind):
        raw = pc.fill_null(pc.cast(column, pa.int64()), 0).to_numpy(zero_copy_only=False)
        return _fixed_width_field((raw * _US_PER[kind.unit] - _PG_EPOCH_US).astype(">i8"), 8, valid)
    if pa.types.is_date32(kind):
        raw = pc.fill_null(pc.cast(column, pa.int32()), 0).to_numpy(zero_copy_only=False)
        return _fixed_width_field((raw - _PG_EPOCH_DAYS).astype(">i4"), 4, valid)
    raise TypeError(f"no binary COPY encoder for {kind} -> {pg_type}")


class _BinaryCopyStream(_ChunkStream):
    """A read-only binary file with ``table`` in PostgreSQL's binary COPY format, produced one
    record batch at a time as COPY reads it (``pg_types``: target type per column)."""

    def __init__(self, table: pa.Table, pg_types: Sequence[str], batch_rows: int = 65_536):
        self._batches = iter(table.to_batches(max_chunksize=batch_rows))
        self._types = list(pg_types)
        self._count = pa.scalar(len(self._types).to_bytes(2, "big"), _BIN)
        self._chunk = memoryview(b"PGCOPY\n\xff\r\n\x00" + bytes(8))  # signature, flags, header extension
        self._ended = False


    def _next_chunk(self) -> bool:
        import pyarrow.compute as pc

        for batch in self._batches:
            if batch.num_rows:
                fields = [_binary_field(col, t) for col, t in zip(batch.columns, self._types)]
                kind = pa.large_binary() if any(f.type == pa.large_binary() for f in fields) else _BIN
                fields = [f.cast(kind) for f in fields]
                rows = pc.binary_join_element_wise(self._count.cast(kind), *fields, pa.scalar(b"", kind))
                width = np.int64 if kind == pa.large_binary() else np.int32
                offsets = np.frombuffer(rows.buffers()[1], dtype=width)[rows.offset: rows.offset + len(rows) + 1]
                self._chunk = memoryview(rows.buffers()[2])[int(offsets[0]): int(offsets[-1])]
                return True
        if not self._ended:
            self._ended = True
            self._chunk = memoryview(b"\xff\xff")  # file trailer
            return True
        return False
