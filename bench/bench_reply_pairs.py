"""Benchmark fct_reply_pair on seeded synthetic messages (default 1 M rows, ~20 k threads).

Prints rows/s including the thread-order sort (rows shuffled, as a worst case) and for input
already in thread order, plus the peak memory of the call (tracemalloc: NumPy and Python
allocations) and the process's peak RSS.

    .venv/bin/python bench/bench_reply_pairs.py [--rows 1000000] [--threads 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import numpy as np
import pandas as pd
import pyarrow as pa

from kpi_transforms.core.calendar import BusinessCalendar
from kpi_transforms.core.config import Config
from kpi_transforms.facts.reply_pairs import fct_reply_pair

ROLES = np.array(["customer", "agent", "bot", "system"])


def synthetic_messages(n_rows: int, n_threads: int, seed: int = 20250210) -> pd.DataFrame:
    """A canonical message frame (SPEC 4 columns) in thread order; minute resolution like an
    Android WhatsApp export, so same-minute ties are frequent."""
    rng = np.random.default_rng(seed)
    thread = np.sort(rng.integers(0, n_threads, n_rows))
    starts = np.flatnonzero(np.r_[True, thread[1:] != thread[:-1]])
    # roles: customer 45 %, agent 38 %, bot 12 %, system 5 %; 2 % deleted, 1 % FAQ cards
    role_idx = rng.choice(4, size=n_rows, p=[0.45, 0.38, 0.12, 0.05])
    mtype = np.where(role_idx == 3, "system", "text").astype(object)
    u = rng.random(n_rows)
    mtype[(u < 0.02) & (role_idx != 3)] = "deleted"
    mtype[(u > 0.99) & (role_idx == 0)] = "faq_card"
    # times: each thread starts somewhere in 2024-2025, gaps of 0 min .. days
    base = pd.Timestamp("2024-01-01", tz="UTC").value // 1000  # epoch microseconds
    thread_start = base + rng.integers(0, 700 * 86_400, n_threads) * 1_000_000
    gap_min = np.where(rng.random(n_rows) < 0.3, 0, rng.exponential(90, n_rows).astype(np.int64))
    gap_min[starts] = 0
    cum = np.cumsum(gap_min)
    cum -= np.repeat(cum[starts], np.diff(np.r_[starts, n_rows]))
    sent_us = thread_start[thread] + cum * 60_000_000
    sent_us -= sent_us % 60_000_000
    line = np.arange(n_rows) - np.repeat(starts, np.diff(np.r_[starts, n_rows])) + 1
    thread_ids = pd.array(np.char.add("th_", np.char.zfill(thread.astype(str), 6)), dtype="str")
    roles = ROLES[role_idx]
    agent = np.where(role_idx == 1, np.char.add("agent_", (thread % 7 + rng.integers(0, 2, n_rows)).astype(str)), None)
    agent = np.where(role_idx == 2, "bot", agent)
    sent = pd.Series(sent_us.view("datetime64[us]")).dt.tz_localize("UTC")
    return pd.DataFrame(
        {
            "message_id": pd.array(np.char.add("m", np.arange(n_rows).astype(str)), dtype="str"),
            "thread_id": thread_ids,
            "thread_name": thread_ids,
            "channel": "whatsapp",
            "sent_at": sent,
            "sent_at_local": sent.dt.tz_convert("Asia/Jakarta").dt.tz_localize(None),
            "sender_name": pd.array(roles, dtype="string"),
            "sender_role": pd.array(roles, dtype="str"),
            "agent_id": pd.array(agent, dtype="string"),
            "customer_id": pd.array(np.char.add("cust_", thread.astype(str)), dtype="string"),
            "is_auto_reply": role_idx == 2,
            "message_type": pd.array(mtype, dtype="str"),
            "text": "halo kak",
            "source_file": "chat.txt",
            "source_line": line.astype(np.int64),
            "file_seq": (thread + 1).astype(np.int64),
            "batch_id": "bench",
        }
    )


def timed(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    ordered = synthetic_messages(args.rows, args.threads)
    shuffled = ordered.sample(frac=1, random_state=1).reset_index(drop=True)
    calendar = BusinessCalendar.from_config(Config())

    t0 = time.perf_counter()
    pairs = fct_reply_pair(shuffled, calendar)  # first call also builds the calendar's tables
    cold = time.perf_counter() - t0
    warm_shuffled = timed(lambda: fct_reply_pair(shuffled, calendar), args.repeat)
    warm_ordered = timed(lambda: fct_reply_pair(ordered, calendar), args.repeat)

    arrow_before = pa.total_allocated_bytes()
    tracemalloc.start()
    fct_reply_pair(shuffled, calendar)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    arrow_pool_peak = pa.default_memory_pool().max_memory()
    frame_mb = shuffled.memory_usage(deep=True).sum() / 2**20

    n = len(shuffled)
    print(f"rows {n:,}  threads {shuffled['thread_id'].nunique():,}  pairs {len(pairs):,}"
          f"  answered {(pairs['status'] == 'answered').mean():.1%}")
    print(f"cold (shuffled, builds calendar): {cold:.3f} s  = {n / cold / 1e6:.2f} M rows/s")
    print(f"shuffled input, incl. sort      : {warm_shuffled:.3f} s  = {n / warm_shuffled / 1e6:.2f} M rows/s")
    print(f"input already in thread order   : {warm_ordered:.3f} s  = {n / warm_ordered / 1e6:.2f} M rows/s")
    print(f"peak traced memory of one call  : {peak / 2**20:.0f} MiB (input frame {frame_mb:.0f} MiB)")
    print(f"arrow pool (not traced)         : {arrow_before / 2**20:.0f} MiB held before the call,"
          f" pool peak over the whole run {(arrow_pool_peak or 0) / 2**20:.0f} MiB")
    print(f"process peak RSS                : {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
