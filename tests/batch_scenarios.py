"""Varied ingest batches whose tables must not depend on how the batch is canonicalised
(issue 18 item 2): realdata exports, the test fixtures (marketplace CSV, WhatsApp Cloud JSON,
orders), the demo drop, e-mail, many small generated chats, and hand-made files with
implausible dates (a file partly quarantined, one rejected whole), NUL characters, two exports
of one chat in a batch, and an ambiguous export read again when a later batch settles it.

``run_all(tmp)`` loads each scenario into its own DuckDB warehouse and returns its tables
(run-dependent columns - batch ids, load times - dropped) as normalised frames.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from kpi_transforms.core.config import load_config, parse_config
from kpi_transforms.pipeline.ingest import ingest_paths
from kpi_transforms.quality.gate import DataQualityError
from kpi_transforms.warehouse.engine import Warehouse

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "kpi_transforms" / "demo_data"
FIXTURES = ROOT / "tests" / "fixtures"

# columns that differ between two runs of the same input
RUN_COLUMNS = {"batch_id", "loaded_at", "rejected_at", "started_at", "finished_at", "built_at", "created_at",
               "updated_at", "computed_at", "validated_at", "run_at", "lake_path"}
TABLES = ["marts.fct_message", "marts.fct_reply_pair", "marts.fct_thread", "marts.fct_conversation", "marts.fct_case", "marts.fct_quote_response",
          "marts.fct_follow_up", "marts.dim_customer", "marts.email_message", "marts.email_reference",
          "marts.fct_order", "marts.fct_chat_rating", "audit.file_manifest", "audit.rejected_file", "audit.rejected_row"]

HAND = {
    # partly implausible: two messages in 2099 (after ingest time + 1 day), one in 2001
    "partly/Chat WhatsApp dengan Pak Joko.txt": (
        "13/01/25 09.05 - Pak Joko: Halo, stok kaos ada?\n"
        "13/01/25 09.20 - Lia Sales: Ada kak\n"
        "13/01/99 09.25 - Pak Joko: dari masa depan\nbaris lanjutan\n"
        "13/01/01 09.26 - Pak Joko: terlalu lama\n"
        "14/01/25 10.00 - Pak Joko: Harga berapa?\n"
        "14/01/99 10.05 - Lia Sales: juga masa depan\n"
        "14/01/25 10.30 - Lia Sales: Rp 50.000\n"
    ),
    # every message implausible: the file is rejected, the next file takes its file_seq
    "partly/Chat WhatsApp dengan Pak Masa.txt": "13/01/99 09.05 - Pak Masa: halo\n13/01/99 09.20 - Lia Sales: ya\n",
    "partly/Chat WhatsApp dengan Pak Nul.txt": (
        "15/01/25 09.05 - Pak Nul: ada\x00 nul\n15/01/25 09.20 - Lia Sales: Terima kasih telah menghubungi kami\n"
        "15/01/25 09.21 - Lia Sales: ok\x00\n"
    ),
    # the same chat twice in one batch (an export and a longer one): in-batch duplicates
    "dup/a/Chat WhatsApp dengan Bu Sari.txt": (
        "16/01/25 09.00 - Bu Sari: ada stok?\n16/01/25 09.30 - Lia Sales: ada kak\n16/01/25 09.30 - Lia Sales: ada kak\n"
    ),
    "dup/b/Chat WhatsApp dengan Bu Sari.txt": (
        "16/01/25 09.00 - Bu Sari: ada stok?\n16/01/25 09.30 - Lia Sales: ada kak\n16/01/25 09.30 - Lia Sales: ada kak\n"
        "17/01/25 08.00 - Bu Sari: kirim ya\n17/01/25 08.10 - Rina CS: siap\n"
    ),
    # aliased contact (thread_aliases "Pak Budi" -> "Budi Santoso" in the demo config)
    "dup/a/Chat WhatsApp dengan Pak Budi.txt": (
        "18/01/25 09.00 - Pak Budi: pesan\n18/01/25 09.05 - Rina CS: baik\n18/01/25 09.06 - Budi Santoso: makasih\n"
    ),
}

# month-first exports of one chat: ambiguous first (loaded day-first), settled by a later batch
_AMBIG = ["02/03/25 09.00 - Pak Dodi: tanya 1", "02/03/25 10.00 - Lia Sales: jawab 1",
          "03/02/25 09.00 - Pak Dodi: tanya 2", "03/02/25 10.00 - Lia Sales: jawab 2"]
_SETTLED = _AMBIG + ["02/14/25 09.00 - Pak Dodi: tanya 3", "02/14/25 10.00 - Lia Sales: jawab 3"]


def _write(base: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))


def _generated(tmp: Path, messages: int, chats: int) -> Path:
    out = tmp / f"gen{messages}_{chats}_seed5"
    if not out.exists():
        subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "--messages", str(messages), "--chats",
                        str(chats), "--seed", "5", "--out", str(out), "--email-threads", "8", "--orders", "40"],
                       check=True, capture_output=True)
    return out


def scenarios(tmp: Path, realdata: Path | None) -> dict[str, tuple]:
    """name -> (config, list of batches, each a list of paths)."""
    demo = load_config(DEMO / "chatkpi.yaml")
    _write(tmp / "hand", HAND)
    (tmp / "ambig" / "1").mkdir(parents=True, exist_ok=True)
    (tmp / "ambig" / "1" / "Chat WhatsApp dengan Pak Dodi.txt").write_text("\n".join(_AMBIG) + "\n", encoding="utf-8")
    (tmp / "ambig" / "2").mkdir(parents=True, exist_ok=True)
    (tmp / "ambig" / "2" / "Chat WhatsApp dengan Pak Dodi.txt").write_text("\n".join(_SETTLED) + "\n", encoding="utf-8")
    gen = _generated(tmp, 20_000, 120)
    out = {
        "demo": (demo, [[DEMO / "landing" / "2025-03"], [DEMO / "landing" / "2025-04"]]),
        "hand": (demo, [[tmp / "hand" / "partly", tmp / "hand" / "dup"], [tmp / "ambig" / "1"], [tmp / "ambig" / "2"]]),
        "fixtures": (demo, [[FIXTURES / "marketplace"], [FIXTURES / "whatsapp_cloud"], [FIXTURES / "orders"]]),
        "generated": (load_config(gen / "chatkpi.yaml"), [[gen / "whatsapp", gen / "email", gen / "orders"]]),
    }
    if realdata is not None and realdata.is_dir():
        plain = parse_config({"agents": [{"id": "a", "names": ["Lia Sales"]}]})
        folders = sorted(p for p in realdata.iterdir() if p.is_dir())
        out["realdata"] = (plain, [[p] for p in folders])
    return out


_INGEST_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d \(ingest time")


def _text(value: object) -> str | None:
    return None if value is None else _INGEST_TIME.sub("<now> (ingest time", str(value))


def _normal(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.drop(columns=[c for c in frame.columns if c in RUN_COLUMNS])
    frame = frame.astype(object).where(frame.notna(), None).map(_text)
    return frame.sort_values(list(frame.columns), kind="stable").reset_index(drop=True) if len(frame) else frame


def run(tmp: Path, config, batches) -> dict[str, object]:
    url = f"duckdb:///{tmp / 'wh.duckdb'}"
    wh = Warehouse(url)
    outcome: dict[str, object] = {}
    try:
        for i, paths in enumerate(batches):
            try:
                report = ingest_paths(paths, config, wh, lake_dir=tmp / "lake")
                outcome[f"batch{i}"] = sorted((Path(f.source_file).name, f.member, f.status, _text(f.reason), f.messages_new,
                                               f.messages_known) for f in report.files)
            except DataQualityError as exc:
                outcome[f"batch{i}"] = ("gate failed", sorted(exc.result.summary().splitlines()))
        for table in TABLES:
            outcome[table] = _normal(wh.read_df(f"select * from {table}"))
    finally:
        wh.dispose()
    lake = tmp / "lake" / "messages"
    files = sorted(lake.rglob("*.parquet")) if lake.is_dir() else []
    outcome["lake"] = {str(f.relative_to(lake)): _normal(pd.read_parquet(f)) for f in files}
    return outcome


def run_all(tmp: Path, realdata: Path | None, inputs: Path | None = None) -> dict[str, dict[str, object]]:
    """Every scenario loaded under ``tmp``, its input files written under ``inputs`` (default
    ``tmp / "inputs"``; runs to compare share it: file paths are in the tables)."""
    out = {}
    only = set(filter(None, os.environ.get("CHATKPI_SCENARIOS", "").split(",")))
    for name, (config, batches) in scenarios(inputs or tmp / "inputs", realdata).items():
        if only and name not in only:
            continue
        where = tmp / name
        shutil.rmtree(where, ignore_errors=True)
        where.mkdir(parents=True)
        out[name] = run(where, config, batches)
    return out


def digest(outcome: dict[str, dict[str, object]]) -> dict[str, str]:
    """A sha256 per scenario and table of its normalised contents."""
    out = {}
    for name, tables in outcome.items():
        for key, value in tables.items():
            if isinstance(value, dict):
                text = "".join(k + v.to_csv(index=False) for k, v in value.items())
            elif isinstance(value, pd.DataFrame):
                text = value.to_csv(index=False)
            else:
                text = repr(value)
            out[f"{name}:{key}"] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return out


if __name__ == "__main__":  # python tests/batch_scenarios.py OUT_DIR  -> digests as JSON on stdout
    import json
    import logging

    logging.disable(logging.WARNING)
    sys.path.insert(0, str(ROOT))
    from tests.conftest import REALDATA

    result = run_all(Path(sys.argv[1]), REALDATA)
    rows = {name: {k: (len(v) if isinstance(v, (pd.DataFrame, dict)) else v) for k, v in t.items()} for name, t in result.items()}
    print(json.dumps({"digest": digest(result), "rows": rows}, indent=1, default=str))
    if len(sys.argv) > 2:
        pd.to_pickle(result, sys.argv[2])
