"""Audit sampling (SPEC 10): the reproducible per-agent sample of threads a period's review
starts from.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence

import pandas as pd
import pyarrow as pa

from kpi_transforms.core.periods import Period, as_period

AUDIT_CHANNELS: tuple[str, ...] = ("whatsapp", "email")
SAMPLE_SIZE = 10

SAMPLE_SCHEMA = pa.schema(
    [
        ("period", pa.string()), ("period_type", pa.string()), ("period_start", pa.date32()),
        ("agent_id", pa.string()), ("thread_id", pa.string()), ("rank", pa.int64()), ("sort_key", pa.string()),
        ("population_size", pa.int64()), ("method", pa.string()), ("sampled_at", pa.timestamp("us", tz="UTC")),
    ]
)
VALIDATION_SCHEMA = pa.schema(
    [
        ("period", pa.string()), ("agent_id", pa.string()), ("thread_id", pa.string()), ("approved", pa.bool_()),
        ("notes", pa.string()), ("reviewed_at", pa.timestamp("us", tz="UTC")), ("sheet_sha256", pa.string()),
    ]
)


# -- sampling --------------------------------------------------------------------------------


def sample_key(period_label: str, agent_id: str, thread_id: str) -> str:
    """The sort key of a thread in the sample: sha256 hex of ``period|agent_id|thread_id``."""
    return hashlib.sha256(f"{period_label}|{agent_id}|{thread_id}".encode("utf-8")).hexdigest()


def draw_sample(
    population: pd.DataFrame, period: Period | str, size: int = SAMPLE_SIZE, channels: Sequence[str] = AUDIT_CHANNELS
) -> pd.DataFrame:
    """The sample of a population: per agent the ``size`` threads with the smallest key."""
    period = as_period(period)
    if population.empty:
        return pd.DataFrame(columns=SAMPLE_SCHEMA.names)
    frame = population[["agent_id", "thread_id"]].drop_duplicates().copy()
    frame["sort_key"] = [sample_key(period.label, a, t) for a, t in zip(frame["agent_id"], frame["thread_id"])]
    frame = frame.sort_values(["agent_id", "sort_key"], kind="stable")
    frame["rank"] = frame.groupby("agent_id").cumcount() + 1
    frame["population_size"] = frame.groupby("agent_id")["thread_id"].transform("size")
    frame = frame[frame["rank"] <= size].copy()
    frame["period"] = period.label
    frame["period_type"] = period.period_type
    frame["period_start"] = period.start
    frame["method"] = f"sha256(period|agent_id|thread_id) smallest {size}; channels {','.join(sorted(channels))}"
    frame["sampled_at"] = pd.Timestamp.now(tz="UTC")
    return frame[SAMPLE_SCHEMA.names].reset_index(drop=True)


@dataclasses.dataclass
class SampleResult:
    period: Period
    sample: pd.DataFrame
    reused: bool


def sample_sha256(sample: pd.DataFrame) -> str:
    """A fingerprint of a stored sample (period, agent, thread, rank of every row)."""
    lines = sorted(f"{r.period}|{r.agent_id}|{r.thread_id}|{int(r.rank)}" for r in sample.itertuples(index=False))
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()
