"""Suite ``file_manifest``: one row per file of the batch that is about to be recorded as loaded
in ``audit.file_manifest``.

Computed column (prepared by ``kpi_transforms.quality``): ``lines_accounted`` =
``header_lines + continuation_lines + quarantined_lines``. WhatsApp files must account for every
physical line (SPEC 3: a line becomes a message, a continuation of one, or a quarantined row);
for row files (canonical CSV / JSONL / Parquet) ``lines_read`` counts rows, which are headers or
quarantined, so the same equation holds.
"""

from __future__ import annotations

from . import build, spec as _E

NAME = "file_manifest"
ID_COLUMNS = ["source_file", "file_sha256"]
PARAMETERS = ()


# The suite as data: GX builds its objects from it (expectations()), and the gate's
# vectorised evaluator reads the same entries without importing GX.
SPEC = [
    _E("ExpectColumnValuesToBeUnique",
        column="file_sha256", description="A file content is processed once per sha256."
    ),
    _E("ExpectColumnPairValuesToBeEqual",
        column_A="lines_read", column_B="lines_accounted",
        description="Every input line is accounted for: lines_read = header + continuation + quarantined lines.",
    ),
    _E("ExpectColumnValuesToBeBetween",
        column="messages_read", min_value=0, description="Message counts are not negative."
    ),
]


def expectations() -> list:
    return build(SPEC)
