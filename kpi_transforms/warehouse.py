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

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from kpi_transforms.errors import ChatKpiError

DEFAULT_URL = "duckdb:///warehouse/chatkpi.duckdb"
SQL_DIR = Path(os.environ.get("CHATKPI_SQL_DIR", Path(__file__).resolve().parents[1] / "sql"))
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$")


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
        return text

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
                raw.execute(f"insert into {table} ({columns}) select {columns} from {view}").fetchall()
            finally:
                raw.unregister(view)
        else:
            buffer = io.BytesIO()
            pacsv.write_csv(_for_csv(data), buffer, pacsv.WriteOptions(include_header=False))
            buffer.seek(0)
            cursor = conn.connection.driver_connection.cursor()
            try:
                cursor.copy_expert(f"copy {table} ({columns}) from stdin with (format csv)", buffer)
            finally:
                cursor.close()
        return data.num_rows

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
    columns (PostgreSQL reads the offset), plain ISO for naive ones."""
    import pyarrow.compute as pc

    columns = []
    for field, column in zip(table.schema, table.columns):
        if pa.types.is_timestamp(field.type):
            fmt = "%Y-%m-%d %H:%M:%S+00" if field.type.tz else "%Y-%m-%d %H:%M:%S"
            if field.type.tz:
                column = pc.cast(column, pa.timestamp(field.type.unit, tz="UTC"))
            column = pc.strftime(column, format=fmt)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
