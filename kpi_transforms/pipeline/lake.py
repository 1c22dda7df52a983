"""The Parquet lake: every loaded file's canonical messages under
``<lake>/messages/local_month=YYYY-MM/``.

Only committed batches reach it (issue 15): a batch writes under
``<lake>/.staging/<batch_id>/`` (hidden, so lake readers never see it) and
:func:`publish_lake` moves its files into place after the warehouse commit; a batch that rolls
back (gate, error) is discarded, and one that died (SIGKILL) is swept by the next ingest:
published if its batch committed, deleted if not.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from kpi_transforms.sources.canonical import to_arrow


STAGING = ".staging"


def staging_dir(lake_dir: str | Path, batch_id: str) -> Path:
    return Path(lake_dir) / STAGING / batch_id


def publish_lake(lake_dir: str | Path, batch_id: str) -> int:
    """Move a committed batch's staged files into the lake (``os.replace``, atomic per file)
    and remove its staging folder; return the number of files moved. Safe to repeat."""
    staged = staging_dir(lake_dir, batch_id)
    moved = 0
    files = sorted(staged.rglob("*.parquet")) if staged.is_dir() else []
    # a file read again under another date order may now fall in other months: its old
    # month files go (file names are the content's sha, so no other file shares them)
    names = {f.name for f in files}
    targets = {Path(lake_dir) / f.relative_to(staged) for f in files}
    messages = Path(lake_dir) / "messages"
    if names and messages.is_dir():
        for part in messages.iterdir():
            for name in names:
                old = part / name
                if old not in targets and old.exists():
                    old.unlink()
    for file in files:
        target = Path(lake_dir) / file.relative_to(staged)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(file, target)
            moved += 1
        except FileNotFoundError:  # a concurrent sweep moved it already
            continue
    shutil.rmtree(staged, ignore_errors=True)
    return moved


def discard_lake(lake_dir: str | Path, batch_id: str) -> None:
    """Remove the staged files of a batch that did not commit."""
    shutil.rmtree(staging_dir(lake_dir, batch_id), ignore_errors=True)


def sweep_lake(lake_dir: str | Path, committed: Callable[[str], bool], keep: str | None = None) -> dict[str, int]:
    """Finish what a killed ingest left in ``<lake>/.staging``: publish the batches that
    committed, delete the rest. Call it holding the ingest lock (no other batch is then in its
    transaction). ``keep`` is the caller's own batch."""
    done = {"published": 0, "discarded": 0}
    base = Path(lake_dir) / STAGING
    if not base.is_dir():
        return done
    for folder in sorted(base.iterdir()):
        if folder.name == keep or not folder.is_dir():
            continue
        if committed(folder.name):
            publish_lake(lake_dir, folder.name)
            done["published"] += 1
        else:
            discard_lake(lake_dir, folder.name)
            done["discarded"] += 1
    return done


def write_lake(messages: pd.DataFrame, lake_dir: str | Path, sha: str, batch_id: str | None = None) -> str | None:
    """Write a file's messages to ``<lake>/messages/local_month=YYYY-MM/<sha>.parquet`` (under
    the batch's staging folder when ``batch_id`` is given; :func:`publish_lake` moves them) and
    return ``<lake>/messages``. Same content, same file names: re-running overwrites instead of adding.

    Monthly partitions (docs/DECISIONS.md, "The lake"): a file per (export, day) meant 22,000
    small files for 200 chats of 500 messages, each costing about a millisecond of Parquet
    footer and file creation whatever its size. Rows inside a file are in local time order,
    so the row-group statistics of ``sent_at_local`` still let readers skip by day.

    One Arrow conversion for the whole file; each month is a zero-copy slice (rows sorted by
    local time only when they are not already), and the month files are encoded on two
    threads (zstd level 1: faster than snappy here and about half the size)."""
    if messages.empty:
        return None
    return write_lake_table(to_arrow(messages), lake_dir, sha, batch_id)


def write_lake_table(table: pa.Table, lake_dir: str | Path, sha: str, batch_id: str | None = None) -> str | None:
    """:func:`write_lake` of a file's messages already as an Arrow table with the message
    schema (e.g. a zero-copy slice of a whole batch converted once: issue 18 item 2)."""
    import concurrent.futures as cf

    import numpy as np
    import pyarrow.compute as pc

    writers = 2  # Parquet encoding releases the GIL: two month files are encoded at once
    final = Path(lake_dir) / "messages"
    root = (staging_dir(lake_dir, batch_id) if batch_id else Path(lake_dir)) / "messages"
    local = table.column("sent_at_local")
    if local.null_count:  # rows without a time have no partition (as before: left out)
        table = table.filter(pc.is_valid(local))
        local = table.column("sent_at_local")
    if table.num_rows == 0:
        return None
    micros = local.cast(pa.int64()).to_numpy()
    if (micros[1:] < micros[:-1]).any():
        order = np.argsort(micros, kind="stable")
        table, micros = table.take(pa.array(order)), micros[order]
    months = micros.astype("datetime64[us]").astype("datetime64[M]").astype(np.int64)
    starts = np.r_[0, np.flatnonzero(months[1:] != months[:-1]) + 1]
    ends = np.r_[starts[1:], len(months)]
    names = np.datetime_as_string(months[starts].astype("datetime64[M]"))
    name = f"{sha[:24]}.parquet"

    def write(k: int) -> None:
        part = root / f"local_month={names[k]}"
        part.mkdir(parents=True, exist_ok=True)
        piece = table.slice(int(starts[k]), int(ends[k] - starts[k]))
        pq.write_table(piece, part / name, compression="zstd", compression_level=1)

    if len(starts) == 1:
        write(0)
    else:
        with cf.ThreadPoolExecutor(min(writers, len(starts)), thread_name_prefix="chatkpi-lake") as pool:
            list(pool.map(write, range(len(starts))))
    return str(final)


def write_lake_batch(
    messages: pd.DataFrame, pieces: list[tuple[str, int, int]], lake_dir: str | Path, batch_id: str | None = None,
) -> list[str | None]:
    """The lake files of many loaded files from one frame of their canonical rows:
    ``pieces`` are (file sha256, first row, end row) of each file's rows in ``messages``.
    One Arrow conversion for the batch; each file is a zero-copy slice written as by
    :func:`write_lake` (files keep their own Parquet files, named by their sha256, so
    :func:`publish_lake` can replace a file read again). Returns each piece's lake path."""
    if messages.empty or not pieces:
        return [None] * len(pieces)
    table = to_arrow(messages)
    return [write_lake_table(table.slice(start, stop - start), lake_dir, sha, batch_id) if stop > start else None
            for sha, start, stop in pieces]
