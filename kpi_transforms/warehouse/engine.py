"""Warehouse I/O: any SQLAlchemy URL, embedded DuckDB by default, PostgreSQL in production.

Dialect differences live here and nowhere else: bulk loads go through Arrow registration on
DuckDB and ``COPY ... FROM STDIN`` on PostgreSQL, never row by row. DDL is applied from the
versioned files under ``sql/migrations``; the table and column comments of the tables with a
contract (``kpi_transforms/core/contracts``) come from the contract, applied after them.
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
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from kpi_transforms.core.contracts import TABLES as CONTRACT_TABLES
from kpi_transforms.core.contracts import contract
from kpi_transforms.core.errors import ChatKpiError
from kpi_transforms.warehouse.bulk import _binary_copy_supported, _BinaryCopyStream, _CsvStream, _pg_column_types

DEFAULT_URL = "duckdb:///warehouse/chatkpi.duckdb"
DUCKDB_MEMORY_LIMIT = "512MB"  # per warehouse connection, see Warehouse.__init__
SQL_DIR = Path(os.environ.get("CHATKPI_SQL_DIR", Path(__file__).resolve().parents[2] / "sql"))
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
            parsed.port  # noqa: B018 - a port that is not a number fails here, not at connect
        except (sa.exc.ArgumentError, ValueError) as exc:
            raise WarehouseError(f"warehouse URL {redact(self.url)!r} is not a SQLAlchemy URL: {_first_line(exc)}") from None
        if parsed.drivername in ("postgresql", "postgres"):
            # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3, which is not installed;
            # the driver we ship is psycopg2 (issue 15).
            parsed = parsed.set(drivername="postgresql+psycopg2")
            self.url = parsed.render_as_string(hide_password=False)
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
        try:
            self.engine: Engine = sa.create_engine(self.url, connect_args=connect_args, poolclass=sa.pool.NullPool)
        except (ImportError, sa.exc.ArgumentError, ValueError) as exc:
            raise WarehouseError(
                f"cannot use warehouse URL {redact(self.url)}: {_first_line(exc)}"
                " (use duckdb:///path or postgresql://user@host:port/db)"
            ) from None

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
                self._run_script(conn, split_statements(self._dialect_sql(file.read_text(encoding="utf-8"))))
                self.execute(
                    conn,
                    "insert into audit.schema_version values (:v, :n, current_timestamp)",
                    {"v": version, "n": file.name},
                )
                applied_now.append(file.name)
            self._apply_contract_comments(conn)
        return applied_now

    def _current_comments(self, conn: Connection) -> dict[tuple[str, str | None], str | None]:
        """The comments of the marts tables (column None) and of their columns, as they are."""
        if self.dialect == "duckdb":
            sql = (
                "select schema_name || '.' || table_name as t, null as c, comment from duckdb_tables() where schema_name = 'marts'"
                " union all select c.schema_name || '.' || c.table_name, c.column_name, c.comment from duckdb_columns() c"
                " join duckdb_tables() t on t.schema_name = c.schema_name and t.table_name = c.table_name"
                " where c.schema_name = 'marts'"
            )
        else:
            sql = (
                "select n.nspname || '.' || c.relname as t, null as c, obj_description(c.oid, 'pg_class') as comment"
                " from pg_class c join pg_namespace n on n.oid = c.relnamespace"
                " where n.nspname = 'marts' and c.relkind in ('r', 'p')"
                " union all select n.nspname || '.' || c.relname, a.attname, col_description(c.oid, a.attnum)"
                " from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace"
                " where n.nspname = 'marts' and c.relkind in ('r', 'p') and a.attnum > 0 and not a.attisdropped"
            )
        frame = self.read_df(sql, conn=conn)
        return {(str(r.t), None if r.c is None or pd.isna(r.c) else str(r.c)): (None if r.comment is None or pd.isna(r.comment) else str(r.comment))
                for r in frame.itertuples(index=False)}

    def _apply_contract_comments(self, conn: Connection) -> list[str]:
        """Set the table and column comments of every table with a contract to the contract's
        text (issue 13: a column is described once, in its contract), on both engines, after the
        migrations: a comment edited in the YAML reaches the warehouse at the next ``init``
        without a migration. Only comments that differ are written (``init`` runs often), and
        only tables and columns that exist (tests/test_contracts.py checks the columns equal).
        Tables only: DuckDB's ``create or replace view`` drops a view's comments. Returns the
        objects commented, ``table`` or ``table.column``."""
        current = self._current_comments(conn)
        done: list[str] = []
        statements: list[str] = []
        for name in CONTRACT_TABLES:
            c = contract(name)
            if (c.table, None) not in current:
                continue  # not made by the migrations (yet)
            for column, text in [(None, c.comment)] + [(col.name, col.comment) for col in c.columns]:
                key = (c.table, column)
                if key not in current or current[key] == text:
                    continue
                target = c.table if column is None else f"{c.table}.{column}"
                if not _IDENT.match(c.table) or not (column is None or _IDENT.match(column)):
                    raise WarehouseError(f"contract of {c.table}: bad identifier {target!r}")
                literal = "'" + text.replace("'", "''") + "'"
                statements.append(f"comment on {'table' if column is None else 'column'} {target} is {literal}")
                done.append(target)
        self._run_script(conn, statements)
        return done

    def _run_script(self, conn: Connection, statements: list[str]) -> None:
        """Run DDL statements that take no parameters (the migrations, the contract comments).
        On DuckDB they go to the driver as one script (a fresh warehouse's ~800 statements cost
        0.4 s one by one through SQLAlchemy's text compiler); on PostgreSQL one by one through
        the driver (no bind-parameter parsing, so a ``:`` in a comment is plain text)."""
        if not statements:
            return
        if self.dialect == "duckdb":
            conn.connection.driver_connection.execute(";\n".join(statements))
            return
        cursor = conn.connection.driver_connection.cursor()
        try:
            for statement in statements:
                cursor.execute(statement)
        finally:
            cursor.close()

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


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
