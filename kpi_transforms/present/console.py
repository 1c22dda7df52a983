"""Plain-text output of the command line: the ingest summary, KPI rows, the audit sample.
"""

from __future__ import annotations

import sys

import pandas as pd

from kpi_transforms.core.numbers import id_number
from kpi_transforms.metrics.audit import SampleResult
from kpi_transforms.present.safe_text import printable, printable_lines


def render_kpis(frame: pd.DataFrame) -> str:
    """A plain table: one line per KPI and agent, team first."""

    lines = [f"{'kpi_code':<32} {'agent':<10} {'value':>14} {'unit':<8} {'basis':>6}  note"]
    for row in frame.itertuples(index=False):
        if pd.isna(row.value):
            shown = "—"
        elif row.unit == "seconds":
            shown = f"{id_number(row.value / 60, 1)} min"
        elif row.unit == "percent":
            shown = f"{id_number(row.value, 1)} %"
        else:
            shown = id_number(row.value, 2) if float(row.value) != int(row.value) else id_number(row.value)
        agent = row.agent_id if isinstance(row.agent_id, str) else "(team)"
        note = row.note if isinstance(row.note, str) else ""
        lines.append(f"{row.kpi_code:<32} {agent:<10} {shown:>14} {row.unit:<8} {row.basis_count:>6}  {note}".rstrip())
    return printable_lines("\n".join(lines))


def render_sample(result: SampleResult) -> str:
    """A short table of the sample: per agent the population and the sampled threads."""
    s = result.sample
    head = f"audit sample {result.period.label}: " + ("reused the stored sample" if result.reused else "drawn now")
    if s.empty:
        return head + "\n(no threads with a customer queue in the period on the audited channels)"
    lines = [head, f"{'agent':<12} {'population':>10} {'sampled':>8}  threads (rank order)"]
    for agent, g in s.groupby("agent_id", sort=True):
        lines.append(f"{agent:<12} {int(g['population_size'].iloc[0]):>10} {len(g):>8}  {', '.join(g.sort_values('rank')['thread_id'])}")
    return printable_lines("\n".join(lines))


def print_ingest(report, out=None) -> None:
    out = out or sys.stdout
    header = f"{'file':<52} {'status':<9} {'layout':<34} {'read':>7} {'new':>7} {'known':>7} {'quar.':>6}"
    print(header, file=out)
    print("-" * len(header), file=out)
    for f in report.files:
        label = printable(f.label)
        label = label if len(label) <= 52 else "…" + label[-51:]
        print(
            f"{label:<52} {f.status:<9} {printable(f.layout or '-')[:34]:<34} {f.messages_read:>7} {f.messages_new:>7} "
            f"{f.messages_known:>7} {f.quarantined_lines:>6}",
            file=out,
        )
        if f.reason and f.status != "loaded":
            print(f"    reason: {printable(f.reason)}", file=out)
        if f.status == "loaded" and f.date_order_source in ("default", "hint"):
            print(f"    note: day/month order could not be decided from the file; used {f.date_order} ({f.date_order_source})", file=out)
    print(
        f"batch {report.batch_id}: {report.count('loaded')} loaded, {report.count('skipped')} skipped, "
        f"{report.count('rejected')} rejected; {report.messages_new} new messages; "
        f"{sum(f.quarantined_lines for f in report.files)} lines quarantined (audit.rejected_row)",
        file=out,
    )
