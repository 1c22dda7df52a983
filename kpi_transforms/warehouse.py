"""Warehouse I/O: any SQLAlchemy URL, embedded DuckDB by default, PostgreSQL in production.

Dialect differences live here and nowhere else: bulk loads go through Arrow registration on
DuckDB and ``COPY ... FROM STDIN`` on PostgreSQL, never row by row. DDL is applied from the
versioned files under ``sql/migrations``.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from kpi_transforms.errors import ChatKpiError

DEFAULT_URL = "duckdb:///warehouse/chatkpi.duckdb"
DUCKDB_MEMORY_LIMIT = "512MB"  # per warehouse connection, see Warehouse.__init__
SQL_DIR = Path(os.environ.get("CHATKPI_SQL_DIR", Path(__file__).resolve().parents[1] / "sql"))
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$")
_DIALECT_LINE = re.compile(r"\A\s*--\s*dialect:\s*(\w+)")
_SHA256_PLACEHOLDER = re.compile(r"\{\{\s*sha256\((.*?)\)\s*\}\}", re.S)


@contextlib.contextmanager
def _unordered_inserts(raw: Any, rows: int) -> Iterator[None]:
    """DuckDB: a large insert without insertion-order preservation is written in parallel
    straight into row groups (no WAL, no checkpoint at commit): 1 M messages load in about half
    the time and commit in 0.05 s instead of 0.6 s. Row order of a table is never relied on
    (PostgreSQL does not keep it either); the setting is restored afterwards. ``raw`` None
    (PostgreSQL) or small inserts: nothing to do."""
    if raw is None or rows < 100_000:
        yield
        return
    previous = raw.execute("select current_setting('preserve_insertion_order')").fetchone()[0]
    raw.execute("set preserve_insertion_order = false")
    try:
        yield
    finally:
        raw.execute("set preserve_insertion_order = true" if previous else "set preserve_insertion_order = false")


class WarehouseError(ChatKpiError):
    """The warehouse cannot be reached or used."""


def _ident(name: str) -> str:
    """Table / column names come from code, never from data; refuse anything else."""
    if not _IDENT.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return name


def resolve_url(url: str | None = None) -> str:
    return url or os.environ.get("CHATKPI_WAREHOUSE_URL") or DEFAULT_URL


def redact(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a malformed URL is shown as given minus nothing secret
        return re.sub(r":[^:@/]+@", ":***@", url)


def split_statements(sql_text: str) -> list[str]:
    """Split a DDL file into statements at semicolons that end a line (outside comments)."""
    lines = [line for line in sql_text.splitlines() if not line.strip().startswith("--")]
    parts = re.split(r";\s*(?:\n|$)", "\n".join(lines))
    return [p.strip() for p in parts if p.strip()]


class Warehouse:
    """A connection factory plus the few operations the pipeline needs."""

    def __init__(self, url: str | None = None):
        self.url = resolve_url(url)
        try:
            parsed = sa.engine.make_url(self.url)
        except sa.exc.ArgumentError as exc:
            raise WarehouseError(f"warehouse URL {self.url!r} is not a SQLAlchemy URL") from exc
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("duckdb", "postgresql"):
            raise WarehouseError(f"unsupported warehouse {self.dialect!r}: use duckdb:/// or postgresql://")
        if self.dialect == "duckdb" and parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        connect_args: dict[str, Any] = {}
        if self.dialect == "postgresql":
            connect_args = {"connect_timeout": 10, "application_name": "chatkpi"}
        elif "memory_limit" not in parsed.query:
            # DuckDB caches up to 80 % of RAM by default, and a batch's uncommitted rows stay in
            # its buffers until commit: 1 M messages added ~650 MB to the ingest's peak. A cap
            # makes DuckDB spill instead (docs/PERFORMANCE.md); `?memory_limit=` in the URL or
            # CHATKPI_DUCKDB_MEMORY_LIMIT override it.
            connect_args = {"config": {"memory_limit": os.environ.get("CHATKPI_DUCKDB_MEMORY_LIMIT", DUCKDB_MEMORY_LIMIT)}}
        self.engine: Engine = sa.create_engine(self.url, connect_args=connect_args, poolclass=sa.pool.NullPool)

    def __repr__(self) -> str:
        return f"Warehouse({redact(self.url)!r})"

    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: everything inside commits together or not at all."""
        try:
            conn_cm = self.engine.begin()
            conn = conn_cm.__enter__()
        except sa.exc.OperationalError as exc:
            raise WarehouseError(f"cannot reach warehouse {redact(self.url)}: {_first_line(exc)}") from exc
        except Exception as exc:  # duckdb raises its own IOException on a locked file
            if type(exc).__module__.startswith("duckdb") or "duckdb" in type(exc).__name__.lower():
                raise WarehouseError(f"cannot open warehouse {redact(self.url)}: {_first_line(exc)}") from exc
            raise
        try:
            yield conn
        except BaseException:
            conn_cm.__exit__(*__import__("sys").exc_info())
            raise
        else:
            conn_cm.__exit__(None, None, None)

    # -- schema ---------------------------------------------------------------------------

    def init(self) -> list[str]:
        """Apply the versioned DDL files not applied yet; return their names."""
        files = sorted((SQL_DIR / "migrations").glob("V*.sql"), key=lambda p: int(p.name[1:].split("__")[0]))
        applied_now: list[str] = []
        with self.begin() as conn:
            self._lock(conn, "migrate")
            self.execute(conn, "create schema if not exists audit")
            self.execute(
                conn,
                "create table if not exists audit.schema_version ("
                " version bigint not null primary key, name varchar not null, applied_at timestamptz not null)",
            )
            done = set(self.read_df("select version from audit.schema_version", conn=conn)["version"].tolist())
            for file in files:
                version = int(file.name[1:].split("__")[0])
                if version in done:
                    continue
                for statement in split_statements(self._dialect_sql(file.read_text(encoding="utf-8"))):
                    self.execute(conn, statement)
                self.execute(
                    conn,
                    "insert into audit.schema_version values (:v, :n, current_timestamp)",
                    {"v": version, "n": file.name},
                )
                applied_now.append(file.name)
        return applied_now

    def _dialect_sql(self, text: str) -> str:
        """The dialect differences of the DDL files, all here: a file whose first line is
        ``-- dialect: postgresql`` (or ``duckdb``) applies only on that engine (an empty file
        elsewhere), and ``{{sha256(expr)}}`` becomes the lower-case hex sha256 of a text
        expression (DuckDB ``sha256(x)``; PostgreSQL ``encode(sha256(convert_to(x, 'UTF8')), 'hex')``)."""
        only = _DIALECT_LINE.match(text)
        if only and only.group(1).lower() != self.dialect:
            return ""
        template = "sha256({})" if self.dialect == "duckdb" else "encode(sha256(convert_to({}, 'UTF8')), 'hex')"
        return _SHA256_PLACEHOLDER.sub(lambda m: template.format(m.group(1)), text)

    def _lock(self, conn: Connection, name: str) -> None:
        """Serialise writers: a transaction-level advisory lock on PostgreSQL (DuckDB allows a
        single writing process anyway)."""
        if self.dialect == "postgresql":
            conn.execute(sa.text("select pg_advisory_xact_lock(hashtext(:n))"), {"n": f"chatkpi:{name}"})

    def lock(self, conn: Connection, name: str = "ingest") -> None:
        self._lock(conn, name)

    def execute(self, conn: Connection, sql: str, params: Mapping[str, Any] | None = None) -> int:
        """Run one statement with bound parameters and return the affected row count.

        DuckDB answers DML with a one-row result that must be consumed before the next
        statement on the connection, so its results are always fetched to the end here."""
        if self.dialect == "duckdb":
            raw = conn.connection.driver_connection
            compiled = sa.text(sql).bindparams(**dict(params or {})).compile(
                dialect=conn.dialect, compile_kwargs={"render_postcompile": True}
            )
            positional = [compiled.params[name] for name in compiled.positiontup] if compiled.positiontup else []
            rows = raw.execute(str(compiled), positional).fetchall()
            return int(rows[0][0]) if rows and len(rows[0]) == 1 and isinstance(rows[0][0], int) else 0
        result = conn.execute(sa.text(sql), dict(params or {}))
        return result.rowcount if result.rowcount is not None and result.rowcount >= 0 else 0

    # -- reads ----------------------------------------------------------------------------

    def read_df(self, sql: str, params: Mapping[str, Any] | None = None, conn: Connection | None = None) -> pd.DataFrame:
        """Run a query with bound parameters and return a DataFrame."""
        if conn is None:
            with self.begin() as own:
                return self.read_df(sql, params, own)
        if self.dialect == "duckdb":
            return self.read_arrow(sql, params, conn).to_pandas()
        result = conn.execute(sa.text(sql), dict(params or {}))
        rows = result.fetchall()
        return pd.DataFrame(rows, columns=list(result.keys()))

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None, conn: Connection | None = None) -> Any:
        if conn is None:
            with self.begin() as own:
                return self.scalar(sql, params, own)
        frame = self.read_df(sql, params, conn)
        return None if frame.empty else frame.iat[0, 0]

    def read_arrow(self, sql: str, params: Mapping[str, Any] | None = None, conn: Connection | None = None) -> pa.Table:
        """A query result as Arrow (native on DuckDB; through the DB-API on PostgreSQL)."""
        if conn is None:
            with self.begin() as own:
                return self.read_arrow(sql, params, own)
        if self.dialect == "duckdb":
            raw = conn.connection.driver_connection
            compiled = sa.text(sql).bindparams(**dict(params or {})).compile(
                dialect=conn.dialect, compile_kwargs={"render_postcompile": True}
            )
            positional = [compiled.params[name] for name in compiled.positiontup] if compiled.positiontup else []
            return raw.sql(str(compiled), params=positional or None).to_arrow_table()
        result = conn.execute(sa.text(sql), dict(params or {}))
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
        return pa.Table.from_pandas(frame, preserve_index=False)

    # -- writes ---------------------------------------------------------------------------

    def bulk_insert(self, conn: Connection, table: str, data: pa.Table | pd.DataFrame) -> int:
        """Append rows to ``table`` set-based: Arrow registration (DuckDB) or COPY (PostgreSQL)."""
        if isinstance(data, pd.DataFrame):
            data = pa.Table.from_pandas(data, preserve_index=False)
        if data.num_rows == 0:
            return 0
        table = _ident(table)
        columns = ", ".join(_ident(c) for c in data.column_names)
        if self.dialect == "duckdb":
            raw = conn.connection.driver_connection
            view = "chatkpi_arrow_" + uuid.uuid4().hex[:12]
            raw.register(view, data)
            try:
                with _unordered_inserts(raw, data.num_rows):
                    raw.execute(f"insert into {table} ({columns}) select {columns} from {view}").fetchall()
            finally:
                raw.unregister(view)
        else:
            # COPY streamed from Arrow, batch by batch (memory bounded by one batch whatever the
            # table size; the server parses one batch while the next is built). Binary COPY
            # when every column has a binary encoder for its target type, else CSV.
            cursor = conn.connection.driver_connection.cursor()
            try:
                targets = _pg_column_types(cursor, table)
                pg_types = [targets.get(c, "") for c in data.column_names]
                if all(_binary_copy_supported(f.type, t) for f, t in zip(data.schema, pg_types)):
                    stream: io.RawIOBase = _BinaryCopyStream(data, pg_types)
                    fmt = "binary"
                else:
                    stream, fmt = _CsvStream(data), "csv"
                cursor.copy_expert(f"copy {table} ({columns}) from stdin with (format {fmt})", stream, size=1 << 20)
            finally:
                cursor.close()
        return data.num_rows

    def merge_new(self, conn: Connection, target: str, staging: str, data: pa.Table, key: str) -> pd.Series:
        """Insert the rows of ``data`` whose ``key`` is not in ``target`` yet (set-based, one
        anti-join) and return the keys of ``data`` that were already there.

        PostgreSQL: ``data`` is COPY'd into ``staging`` (emptied before and after), and both
        statements read it there. DuckDB: they read ``data`` registered as an Arrow view
        instead; writing the rows into ``staging`` first would cost about one second per
        million messages and gain nothing on an engine with one writing process."""
        target, staging, key = _ident(target), _ident(staging), _ident(key)
        columns = ", ".join(_ident(c) for c in data.column_names)
        view = None
        if self.dialect == "duckdb":
            view = "chatkpi_merge_" + uuid.uuid4().hex[:12]
            conn.connection.driver_connection.register(view, data)
            source = _ident(view)
        else:
            self.execute(conn, f"delete from {staging}")
            self.bulk_insert(conn, staging, data)
            source = _ident(staging)
        try:
            # The keys already there first (a join: DuckDB builds its hash table on the smaller
            # side); RETURNING on the insert instead cost a second per million rows.
            known = self.read_df(f"select s.{key} from {source} s join {target} t on t.{key} = s.{key}", conn=conn)[key]
            with _unordered_inserts(conn.connection.driver_connection if view else None, data.num_rows - len(known)):
                if len(known) == 0:
                    self.execute(conn, f"insert into {target} ({columns}) select {columns} from {source}")
                elif len(known) < data.num_rows:
                    self.execute(
                        conn,
                        f"insert into {target} ({columns}) select {columns} from {source} s"
                        f" where not exists (select 1 from {target} t where t.{key} = s.{key})",
                    )
        finally:
            if view is not None:
                conn.connection.driver_connection.unregister(view)
            else:
                self.execute(conn, f"delete from {staging}")
        return known

    @contextlib.contextmanager
    def staged_keys(self, conn: Connection, table: str, column: str, keys: Sequence[str]) -> Iterator[None]:
        """``keys`` loaded as the one-column key table ``table`` (``staging.stg_row_key`` /
        ``staging.stg_thread_key``) for the statements inside the block, which join it; the
        table is empty before and after, also when a statement fails."""
        table, column = _ident(table), _ident(column)
        self.execute(conn, f"delete from {table}")
        self.bulk_insert(conn, table, pa.table({column: pa.array(list(keys), pa.string())}))
        try:
            yield
        finally:
            self.execute(conn, f"delete from {table}")

    def delete_where_in(self, conn: Connection, table: str, column: str, keys: Sequence[str]) -> int:
        """Delete the rows whose ``column`` is one of ``keys`` (keys loaded as a bound array)."""
        table, column = _ident(table), _ident(column)
        if not keys:
            return 0
        if self.dialect == "postgresql":
            return self.execute(conn, f"delete from {table} where {column} = any(:keys)", {"keys": list(keys)})
        raw = conn.connection.driver_connection
        view = "chatkpi_keys_" + uuid.uuid4().hex[:12]
        raw.register(view, pa.table({"k": pa.array(list(keys), pa.string())}))
        try:
            return self.execute(conn, f"delete from {table} where {column} in (select k from {view})")
        finally:
            raw.unregister(view)

    def table_exists(self, qualified: str) -> bool:
        schema, name = _ident(qualified).split(".")
        return bool(sa.inspect(self.engine).has_table(name, schema=schema))

    def dispose(self) -> None:
        self.engine.dispose()


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


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
