"""A worker's memory budget (config ``memory_budget_mb``, default 1536 = 1.5 GB).

Ingesting a chat text costs far more memory than its bytes: the parser's frames, the canonical
rows, the merge and the facts all hold every message. Measured on the bench exports (1 M
messages: 1.14 M lines, 88 MB, Δ peak 0.89 GB) and on issue 15's flood of 3.85 M short lines
(100 MiB, 3.0 GB over the process's start), the cost tracks the number of lines at ~780 bytes
a line, plus the text itself. :func:`estimate` is that model with a margin. Each text also
costs a fixed amount whatever its size (its parse result, canonical frame and lake write):
20,000 two-line chat files in one batch peaked at 1.59 GB, ~68 KB a file over the start-up, so
a batch charges ``BYTES_PER_TEXT`` per admitted text as well.

:class:`Budget` admits the chat texts of one batch against the budget: a fresh process's
start-up (``STARTUP_BYTES``) plus the estimates of the texts admitted so far must stay within
it. The accounting is a model, not the process's current RSS, so the verdict on a file is the
same wherever it runs (a long-lived worker or test process holding caches included). A text
that cannot fit even alone is rejected with its reason (a zip's members are counted while
they are decompressed, so a ratio bomb stops after a few MiB); one that fits alone but not
beside the batch's others is deferred to the next run (left out of the batch, not recorded).
"""

from __future__ import annotations

import dataclasses

DEFAULT_BUDGET_MB = 1536
BYTES_PER_LINE = 800
BYTES_PER_BYTE = 2
BYTES_PER_TEXT = 80 * 1024  # per admitted text of a batch (measured ~68 KB; see above)
MIB = 2**20
STARTUP_BYTES = 320 * MIB  # a fresh chatkpi process with its first file: imports, DuckDB, pandas (measured 290 MiB)


def estimate(n_bytes: int, n_lines: int) -> int:
    """Bytes of peak memory an ingest of ``n_lines`` lines / ``n_bytes`` bytes of text needs."""
    return BYTES_PER_LINE * int(n_lines) + BYTES_PER_BYTE * int(n_bytes)


@dataclasses.dataclass
class Budget:
    """The memory left to a batch's chat texts (see the module docstring)."""

    limit: int
    startup: int = STARTUP_BYTES
    charged: int = 0
    defer: bool = True  # False: only reject what cannot fit alone (one file per process)

    @classmethod
    def from_mb(cls, megabytes: int, *, defer: bool = True) -> Budget:
        return cls(int(megabytes) * MIB, defer=defer)

    @property
    def alone(self) -> int:
        """The largest estimate one text may have."""
        return max(self.limit - self.startup, 0)

    def too_big(self, n_bytes: int, n_lines: int) -> str | None:
        """Why a text of this size cannot be ingested within the budget at all (or None)."""
        need = estimate(n_bytes, n_lines)
        if need <= self.alone:
            return None
        return (
            f"needs ~{need // MIB} MiB to ingest ({n_lines} lines, {n_bytes} bytes), more than the "
            f"{self.limit // MIB} MiB memory budget leaves ({self.alone // MIB} MiB; config memory_budget_mb): "
            "split the export"
        )

    def admit(self, n_bytes: int, n_lines: int) -> bool:
        """Charge a text to the batch if it fits beside the texts already admitted."""
        need = estimate(n_bytes, n_lines) + BYTES_PER_TEXT
        if self.defer and self.charged and self.charged + need > self.alone:
            return False
        self.charged += need
        return True

