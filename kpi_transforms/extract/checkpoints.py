"""Extraction checkpoints in the warehouse (``audit.extract_checkpoint``, migration V017).

Extractors read the committed checkpoints before a run and *propose* new ones; the caller
writes the proposals with :func:`stage_checkpoints` inside the transaction that loads the
extracted files, so a checkpoint never runs ahead of the data it stands for: a batch that fails
or rolls back leaves the old checkpoints, and the next run extracts the same messages again
(the landing folder and the file manifest deduplicate them by content).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd
import pyarrow as pa
from sqlalchemy.engine import Connection

from kpi_transforms.extract.common import Checkpoint
from kpi_transforms.warehouse.engine import Warehouse

TABLE = "audit.extract_checkpoint"
_SCHEMA = pa.schema(
    [
        ("checkpoint_key", pa.string()), ("source_kind", pa.string()), ("source_name", pa.string()),
        ("folder", pa.string()), ("object_key", pa.string()), ("uidvalidity", pa.int64()), ("last_uid", pa.int64()),
        ("etag", pa.string()), ("object_size", pa.int64()), ("batch_id", pa.string()),
        ("updated_at", pa.timestamp("us", tz="UTC")),
    ]
)


def _int(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _str(value) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def read_checkpoints(
    warehouse: Warehouse, source_kind: str, source_name: str, *, folder: str | None = None, conn: Connection | None = None
) -> dict[tuple[str, str], Checkpoint]:
    """The committed checkpoints of one source as ``{(folder, object_key): Checkpoint}``
    (one folder only when ``folder`` is given). An empty dict before the first load."""
    sql = (
        "select source_kind, source_name, folder, object_key, uidvalidity, last_uid, etag, object_size"
        " from audit.extract_checkpoint where source_kind = :kind and source_name = :name"
    )
    params = {"kind": source_kind, "name": source_name}
    if folder is not None:
        sql += " and folder = :folder"
        params["folder"] = folder
    frame = warehouse.read_df(sql, params, conn)
    out = {}
    for row in frame.itertuples(index=False):
        cp = Checkpoint(
            source_kind=row.source_kind, source_name=row.source_name, folder=row.folder, object_key=row.object_key,
            uidvalidity=_int(row.uidvalidity), last_uid=_int(row.last_uid), etag=_str(row.etag),
            object_size=_int(row.object_size),
        )
        out[(cp.folder, cp.object_key)] = cp
    return out


def stage_checkpoints(
    warehouse: Warehouse,
    conn: Connection,
    proposed: Iterable[Checkpoint],
    *,
    batch_id: str | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Write proposed checkpoints inside the caller's transaction ``conn`` (upsert on the
    natural key) and return how many rows were written.

    An IMAP checkpoint never moves backwards: a proposal with the stored UIDVALIDITY and a
    lower ``last_uid`` (an older, overlapping run committing late) keeps the stored row. A new
    UIDVALIDITY replaces the row whatever its UID. Of several proposals for one key the last
    wins. Serialised with other writers by the ``extract_checkpoint`` lock (PostgreSQL)."""
    latest: dict[str, Checkpoint] = {}
    for cp in proposed:
        latest[cp.key] = cp
    if not latest:
        return 0
    warehouse.lock(conn, "extract_checkpoint")
    keys = list(latest)
    stored = warehouse.read_df(
        "select checkpoint_key, uidvalidity, last_uid from audit.extract_checkpoint where source_kind = 'imap'", conn=conn
    )
    stored = stored[stored["checkpoint_key"].isin(keys)]
    for row in stored.itertuples(index=False):
        cp = latest[row.checkpoint_key]
        if (
            cp.source_kind == "imap" and _int(row.uidvalidity) == cp.uidvalidity
            and _int(row.last_uid) is not None and cp.last_uid is not None and _int(row.last_uid) > cp.last_uid
        ):
            del latest[row.checkpoint_key]
    if not latest:
        return 0
    now = now or dt.datetime.now(dt.timezone.utc)
    rows = [
        {
            "checkpoint_key": cp.key, "source_kind": cp.source_kind, "source_name": cp.source_name, "folder": cp.folder,
            "object_key": cp.object_key, "uidvalidity": cp.uidvalidity, "last_uid": cp.last_uid, "etag": cp.etag,
            "object_size": cp.object_size, "batch_id": batch_id, "updated_at": now,
        }
        for cp in latest.values()
    ]
    warehouse.delete_where_in(conn, TABLE, "checkpoint_key", list(latest))
    return warehouse.bulk_insert(conn, TABLE, pa.Table.from_pylist(rows, schema=_SCHEMA))
