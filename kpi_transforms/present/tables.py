"""Frames as text tables (plain or Markdown).
"""

from __future__ import annotations

import pandas as pd

from kpi_transforms.present.safe_text import md_cell, printable


def render_table(frame: pd.DataFrame, fmt: str = "table", title: str | None = None) -> str:
    """Cells are text from outside: control characters are shown escaped, and in Markdown
    ``<``, ``&`` and ``|`` are escaped too (issue 15)."""
    cells = [list(map(str, frame.columns))] + [[str(v) for v in row] for row in frame.itertuples(index=False)]
    if fmt == "md":
        lines = [f"### {md_cell(title)}", ""] if title else []
        lines.append("| " + " | ".join(md_cell(c) for c in cells[0]) + " |")
        lines.append("|" + "|".join("---" for _ in cells[0]) + "|")
        lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in cells[1:]]
        return "\n".join(lines)
    cells = [[printable(c) for c in row] for row in cells]
    title = printable(title) if title else title
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = [title, ""] if title else []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
