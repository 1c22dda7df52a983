"""Local wall-clock times of exports -> UTC instants, for any IANA zone.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

import numpy as np
import pandas as pd


def localize(local_ts: pd.Series, timezone: str) -> pd.Series:
    """Naive local wall-clock times -> UTC (``datetime64[us, UTC]``). In a DST fold the earlier
    instant wins; a time inside a DST gap moves forward (neither exists in Asia/Jakarta)."""
    values = local_ts.to_numpy(dtype="datetime64[us]")
    if len(values) and not np.isnat(values).any():
        lo, hi = values.min().astype(object), values.max().astype(object)
        offsets = {_year_offset(timezone, year) for year in range(lo.year, hi.year + 1)}
        if len(offsets) == 1 and None not in offsets:  # one fixed UTC offset over these years
            utc = values.view(np.int64) - offsets.pop() * 1_000_000
            return pd.Series(utc.view("datetime64[us]"), index=local_ts.index).dt.tz_localize("UTC")
    tz = zoneinfo.ZoneInfo(timezone)
    localized = local_ts.dt.tz_localize(tz, ambiguous=np.ones(len(local_ts), dtype=bool), nonexistent="shift_forward")
    return localized.dt.tz_convert("UTC").astype("datetime64[us, UTC]")


@functools.lru_cache(maxsize=4096)
def _year_offset(timezone: str, year: int) -> int | None:
    """The zone's UTC offset in seconds if it is the same all through ``year`` (sampled every 6
    hours from the day before to the day after: offset changes last months), else None."""
    tz = zoneinfo.ZoneInfo(timezone)
    start = dt.datetime(year, 1, 1, tzinfo=dt.timezone.utc) - dt.timedelta(days=1)
    seen = {
        (start + dt.timedelta(hours=6 * k)).astimezone(tz).utcoffset()
        for k in range(4 * 368 + 1)
    }
    return int(seen.pop().total_seconds()) if len(seen) == 1 else None
