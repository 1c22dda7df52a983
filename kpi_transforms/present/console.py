"""Plain-text output of the command line: the ingest summary, KPI rows, the audit sample.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from kpi_transforms.core.numbers import id_number
from kpi_transforms.metrics.audit import SampleResult
from kpi_transforms.present.safe_text import printable, printable_lines


def render_kpis(frame: pd.DataFrame, fmt: str = "table") -> str:
    """KPI rows, team first. ``table``: durations in minutes under a unit column that says
    ``minutes``; ``csv`` / ``json``: the stored value in its stored unit (seconds, percent, …)."""

    if fmt in ("csv", "json"):
        out = frame[["kpi_code", "period_type", "period_start", "agent_id", "value", "unit", "basis_count", "note"]].copy()
        out["period_start"] = pd.to_datetime(out["period_start"]).dt.strftime("%Y-%m-%d")
        out = out.astype(object).where(out.notna(), None)
        if fmt == "csv":
            return out.to_csv(index=False, lineterminator="\n").rstrip("\n")
        return json.dumps(out.to_dict(orient="records"), ensure_ascii=False, indent=1, default=float)
    width = max([32, *(len(str(c)) for c in frame["kpi_code"])]) if len(frame) else 32
    lines = [f"{'kpi_code':<{width}} {'agent':<10} {'value':>14} {'unit':<8} {'basis':>6}  note"]
    for row in frame.itertuples(index=False):
        unit = "minutes" if row.unit == "seconds" else row.unit
        if pd.isna(row.value):
            shown = "—"
        elif row.unit == "seconds":
            shown = id_number(row.value / 60, 1)
        elif row.unit == "percent":
            shown = id_number(row.value, 1)
        elif row.unit == "idr":
            shown = "Rp " + id_number(row.value)
        else:
            shown = id_number(row.value, 2) if float(row.value) != int(row.value) else id_number(row.value)
        agent = row.agent_id if isinstance(row.agent_id, str) else "(team)"
        note = row.note if isinstance(row.note, str) else ""
        lines.append(f"{row.kpi_code:<{width}} {agent:<10} {shown:>14} {unit:<8} {row.basis_count:>6}  {note}".rstrip())
    return printable_lines("\n".join(lines))


class IngestProgress:
    """Progress of an ingest while it runs: a rich progress bar on a terminal (on stderr, gone
    when done), otherwise one plain line per file on stdout as its parse finishes, then a line
    when the batch goes into the warehouse."""

    def __init__(self, out=None, interactive: bool | None = None):
        self.out = out or sys.stdout
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self.done = 0
        self._bar = None  # a rich Progress on a terminal (rich is imported only then)
        self._task = None

    def __enter__(self) -> IngestProgress:
        if self.interactive:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 console=Console(stderr=True), transient=True)
            self._bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def parsed(self, path: Path, results: list, total: int) -> None:
        self.done += 1
        if self._bar is not None:
            if self._task is None:
                self._task = self._bar.add_task("parsing", total=total)
            self._bar.update(self._task, completed=self.done, description=f"parsing {path.name[:40]}")
            if self.done == total:
                self._bar.update(self._task, description="loading into the warehouse")
            return
        read = sum(r.messages_read for r in results)
        quarantined = sum(r.quarantined_lines for r in results)
        statuses = ", ".join(sorted({r.status for r in results})) or "empty"
        print(f"[{self.done}/{total}] {printable(path.name)}: {statuses}, {read} messages, {quarantined} lines quarantined", file=self.out, flush=True)
        if self.done == total:
            print(f"loading {total} file(s) into the warehouse …", file=self.out, flush=True)


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


QUARANTINE_SHOWN = 3  # first quarantined lines shown per file; the rest are in audit.rejected_row


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
        rows = f.rejected_rows
        if f.quarantined_lines and rows is not None and len(rows):
            for line, reason in list(zip(rows["source_line"], rows["reason"]))[:QUARANTINE_SHOWN]:
                print(f"    quarantined line {line}: {printable(reason)}", file=out)
            if len(rows) > QUARANTINE_SHOWN:
                print(f"    … {len(rows) - QUARANTINE_SHOWN} more in audit.rejected_row", file=out)
        if f.status == "loaded" and f.date_order_source in ("default", "hint"):
            print(f"    note: day/month order could not be decided from the file; used {f.date_order} ({f.date_order_source})", file=out)
    print(
        f"batch {report.batch_id}: {report.count('loaded')} loaded, {report.count('skipped')} skipped, "
        f"{report.count('rejected')} rejected; {report.messages_new} new messages; "
        f"{sum(f.quarantined_lines for f in report.files)} lines quarantined (audit.rejected_row)",
        file=out,
    )
