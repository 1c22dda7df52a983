"""The Parquet lake: every loaded file's canonical messages under
``<lake>/messages/local_month=YYYY-MM/``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from kpi_transforms.sources.canonical import to_arrow


def write_lake(messages: pd.DataFrame, lake_dir: str | Path, sha: str) -> str | None:
    """Write a file's messages to ``<lake>/messages/local_month=YYYY-MM/<sha>.parquet``.
    Same content, same file names: re-running overwrites instead of adding.

    Monthly partitions (docs/DECISIONS.md, "The lake"): a file per (export, day) meant 22,000
    small files for 200 chats of 500 messages, each costing about a millisecond of Parquet
    footer and file creation whatever its size. Rows inside a file are in local time order,
    so the row-group statistics of ``sent_at_local`` still let readers skip by day.

    One Arrow conversion for the whole file; each month is a zero-copy slice (rows sorted by
    local time only when they are not already), and the month files are encoded on two
    threads (zstd level 1: faster than snappy here and about half the size)."""
    if messages.empty:
        return None
    import concurrent.futures as cf

    import numpy as np
    import pyarrow.compute as pc

    writers = 2  # Parquet encoding releases the GIL: two month files are encoded at once
    root = Path(lake_dir) / "messages"
    table = to_arrow(messages)
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
    return str(root)
