"""Reproducible benchmark of kpi_transforms.calendar (seeded random instants).

    .venv/bin/python bench/bench_calendar.py [--pairs 1000000] [--span year|quarter] [--seed 7]

Draws `--pairs` random question instants uniformly over 2025 (or Q1 2025) and reply instants a
lognormal delay later (median ~40 min, long tail of days), in the default Asia/Jakarta calendar
with Indonesian holidays, then prints pairs/s for business_seconds, one_working_day_deadline,
next_working_start and is_working (best of `--repeat` runs after one warm-up call that builds
the table), the table build time, and peak memory: tracemalloc's peak of one business_seconds
call (NumPy reports its buffers to tracemalloc) and the process's maximum resident set size.
``--config`` also runs the lunch-break + Saturday + closed-period calendar; ``--searchsorted``
disables the bucket look-up table to compare with a plain binary search.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kpi_transforms.core.calendar import BusinessCalendar  # noqa: E402
from kpi_transforms.core.config import (
    ClosedPeriod,
    Config,  # noqa: E402
)

H = 3600


def make_pairs(n: int, span: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    start = int(dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc).timestamp()) - 7 * H
    end = int(
        dt.datetime(2025, 4 if span == "quarter" else 12, 1 if span == "quarter" else 31,
                    tzinfo=dt.timezone.utc).timestamp()
    )
    a = rng.integers(start, end, size=n, dtype=np.int64)
    delay = np.minimum(rng.lognormal(mean=np.log(2400), sigma=2.0, size=n), 60 * 86400)
    b = a + delay.astype(np.int64)
    return a, b


def best_rate(fn, n: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best


def run(name: str, cal: BusinessCalendar, a: np.ndarray, b: np.ndarray, repeat: int,
        searchsorted: bool) -> None:
    t0 = time.perf_counter()
    cal.business_seconds(a[:1], b[:1])
    cal.business_seconds(a, b)  # builds / extends the table for the whole range
    build = time.perf_counter() - t0
    if searchsorted:
        import dataclasses

        cal._table = dataclasses.replace(cal._table, corrections=-1)
    s = cal.next_working_start(a)
    n = len(a)
    rates = {
        "business_seconds": best_rate(lambda: cal.business_seconds(a, b), n, repeat),
        "one_working_day_deadline": best_rate(lambda: cal.one_working_day_deadline(s), n, repeat),
        "next_working_start": best_rate(lambda: cal.next_working_start(a), n, repeat),
        "is_working": best_rate(lambda: cal.is_working(a), n, repeat),
    }
    tracemalloc.start()
    cal.business_seconds(a, b)
    _, peak_bs = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    cal.one_working_day_deadline(s)
    _, peak_dl = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    t = cal._table
    print(f"[{name}] {n:,} pairs, table {t.year0}-{t.year1}: {t.n} intervals,"
          f" {t.lut.nbytes / 1024:.0f} KiB look-up, corrections={t.corrections},"
          f" first call incl. build {build * 1000:.0f} ms")
    for key, rate in rates.items():
        print(f"  {key:26s} {rate / 1e6:7.1f} M pairs/s")
    print(f"  peak traced memory: business_seconds {peak_bs / 2**20:.1f} MiB,"
          f" deadline {peak_dl / 2**20:.1f} MiB (inputs {(a.nbytes + b.nbytes) / 2**20:.1f} MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--span", choices=("year", "quarter"), default="year")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--config", action="store_true", help="also the lunch-break calendar")
    parser.add_argument("--searchsorted", action="store_true")
    args = parser.parse_args()

    a, b = make_pairs(args.pairs, args.span, args.seed)
    print(f"numpy {np.__version__}, seed {args.seed}, span {args.span}")
    run("default Asia/Jakarta", BusinessCalendar.from_config(Config()), a, b, args.repeat,
        args.searchsorted)
    if args.config:
        lunch = Config(
            business_hours={d: ((8 * H, 12 * H), (13 * H, 17 * H)) for d in range(5)}
            | {5: ((8 * H, 12 * H),)},
            closed_periods=(ClosedPeriod(dt.datetime(2025, 6, 1, 0, 0),
                                         dt.datetime(2025, 6, 3, 23, 59)),),
        )
        run("lunch+sat+closed", BusinessCalendar.from_config(lunch), a, b, args.repeat,
            args.searchsorted)
        berlin = Config(timezone="Europe/Berlin")
        run("Europe/Berlin (DST)", BusinessCalendar.from_config(berlin), a, b, args.repeat,
            args.searchsorted)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"max resident set size of the process: {rss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
