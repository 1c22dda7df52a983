"""Row hashes of every fact and KPI table after loading a set of datasets, to show that a change
of the code leaves the tables as they were (``--compare BEFORE.json``).

Each dataset (the golden scenarios, the KPI scenarios, the demo drop and generated bench data)
is loaded through the ``chatkpi`` command line as a user runs it, into a fresh DuckDB file and a
fresh PostgreSQL database; then ``chatkpi kpi`` runs for every month and quarter holding a
question. Per table the sorted rows are hashed, leaving out what differs between two runs by
design (``batch_id``, ``computed_at``, ``loaded_at``). Columns added after the snapshot are left
out of the comparison and listed.

    .venv/bin/python bench/fact_hashes.py --out before.json
    .venv/bin/python bench/fact_hashes.py --compare before.json
    .venv/bin/python bench/fact_hashes.py --compare before.json --results after.json  # two saved runs

``--keep DIR`` also writes each table's compared cells as CSV (to find the rows behind a
differing hash; ``--from-keep DIR`` hashes them again without running), ``--shard K/N`` runs
every N-th dataset so N processes share the work, ``--in-process`` calls the CLI's ``main()``
as the golden-scenario tests do instead of starting a process per command. ``fct_kpi`` is
also hashed per KPI code, so a catalogue that grew compares on the codes both versions have.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
TABLES = (
    "marts.fct_message", "marts.fct_reply_pair", "marts.fct_thread", "marts.fct_quote_response", "marts.fct_case",
    "marts.fct_follow_up", "marts.fct_order", "marts.dim_customer", "marts.fct_chat_rating", "marts.fct_kpi",
)
VOLATILE = {"batch_id", "computed_at", "loaded_at", "refreshed_at", "updated_at"}
# Row order for the per-column hashes: a column's values are hashed in key order, so a value
# that moves to another row is a difference too.
KEYS = {
    "marts.fct_message": ["message_id"], "marts.fct_reply_pair": ["pair_id"], "marts.fct_thread": ["thread_id"],
    "marts.fct_quote_response": ["pair_id"], "marts.fct_case": ["case_id"], "marts.fct_follow_up": ["follow_up_id"],
    "marts.fct_order": ["order_id"], "marts.dim_customer": ["customer_id"], "marts.fct_chat_rating": ["rating_id"],
    "marts.fct_kpi": ["kpi_code", "period_type", "period_start", "agent_id"],
}
PG_ADMIN = os.environ.get("CHATKPI_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


def datasets(work: Path, bench_messages: int) -> dict[str, tuple[Path | None, list[list[Path]]]]:
    """name -> (config, batches of input paths)."""
    out: dict[str, tuple[Path | None, list[list[Path]]]] = {}
    for group in ("scenarios", "kpi_scenarios"):
        for case in sorted((ROOT / "tests" / group).iterdir()):
            if not case.is_dir():
                continue
            subdirs = sorted(p for p in case.iterdir() if p.is_dir())
            skip = {"config.yaml", "expected.csv", "audit_validation.csv"}
            batches = ([sorted(d.iterdir()) for d in subdirs] if subdirs
                       else [[f for f in sorted(case.iterdir()) if f.name not in skip]])
            config = case / "config.yaml"
            out[f"{group}/{case.name}"] = (config if config.is_file() else None, batches)
    demo = ROOT / "kpi_transforms" / "demo_data"
    if not demo.is_dir():
        demo = next(ROOT.glob("kpi_transforms/**/demo_data"))
    out["demo"] = (demo / "chatkpi.yaml", [[d] for d in sorted((demo / "landing").iterdir())])
    if bench_messages:
        data = work / f"bench-{bench_messages}"
        if not data.is_dir():
            subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), "--messages", str(bench_messages),
                            "--chats", str(max(10, bench_messages // 500)), "--seed", "7", "--out", str(data)], check=True)
        inputs = [data / d for d in ("whatsapp", "email", "orders") if (data / d).exists()]
        out[f"bench-{bench_messages}"] = (data / "chatkpi.yaml", [inputs])
    return out


IN_PROCESS = False  # --in-process: call the CLI's main() here instead of starting a process per command


def chatkpi(args: list[str]) -> None:
    if IN_PROCESS:
        from kpi_transforms.cli import main as cli_main  # the checkout's CLI, as the tests call it

        code = cli_main(list(args))
        if code != 0:
            raise SystemExit(f"chatkpi {' '.join(args[:6])} ... failed ({code})")
        return
    exe = Path(sys.executable).with_name("chatkpi")
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"chatkpi {' '.join(args[:6])} ... failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")


def periods(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        row = conn.execute(sa.text("select min(question_at_local), max(question_at_local) from marts.fct_reply_pair")).one()
    if row[0] is None:
        return []
    months = pd.period_range(pd.Timestamp(row[0]).to_period("M"), pd.Timestamp(row[1]).to_period("M"), freq="M")
    quarters = sorted({f"{m.year}-Q{m.quarter}" for m in months})
    return [str(m) for m in months] + quarters


def table_hashes(engine: sa.Engine, keep: Path | None = None) -> dict[str, dict]:
    """Per table: rows, columns, a hash per column and of the rows. ``keep``: also write each
    table's compared cells there as CSV (sorted by its key), to find which rows differ."""
    out = {}
    with engine.connect() as conn:
        for table in TABLES:
            frame = pd.read_sql(sa.text(f"select * from {table}"), conn)
            cols = sorted(c for c in frame.columns if c not in VOLATILE)
            cells = {c: [_cell(v) for v in frame[c]] for c in cols}
            keys = [k for k in KEYS.get(table, []) if k in cells] or cols
            order = sorted(range(len(frame)), key=lambda i: tuple(cells[k][i] for k in keys))
            ordered = {c: [cells[c][i] for i in order] for c in cols}
            if keep is not None:
                keep.mkdir(parents=True, exist_ok=True)
                pd.DataFrame(ordered, columns=cols).to_csv(keep / f"{table}.csv", index=False)
            out[table] = _hashed(table, ordered)
    return out


def _hashed(table: str, ordered: dict[str, list[str]]) -> dict:
    """Hashes of a table's cells (column -> values as text, in key order). fct_kpi also gets a
    hash per KPI code, so a catalogue that grew still compares on the codes both versions have."""
    cols = list(ordered)
    n = len(ordered[cols[0]]) if cols else 0
    rows = ["\x1f".join(ordered[c][i] for c in cols) for i in range(n)]
    out = {"rows": n, "columns": cols, "hash": hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16],
           "per_column": {c: hashlib.sha256("\n".join(ordered[c]).encode()).hexdigest()[:16] for c in cols}}
    if "kpi_code" in ordered:
        codes: dict[str, list[str]] = {}
        for code, row in zip(ordered["kpi_code"], rows):
            codes.setdefault(code, []).append(row)
        out["per_code"] = {k: hashlib.sha256("\n".join(v).encode()).hexdigest()[:16] for k, v in codes.items()}
    return out


def from_keep(keep: Path) -> dict[str, dict]:
    """The hashes of the tables a run kept (``--keep``), without running anything."""
    out = {}
    for folder in sorted(p for p in keep.iterdir() if p.is_dir()):
        if not all((folder / f"{table}.csv").is_file() for table in TABLES):
            print(f"{folder.name}: not every table kept (a run that did not finish), left out", file=sys.stderr)
            continue
        tables = {}
        for table in TABLES:
            frame = pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)
            tables[table] = _hashed(table, {c: frame[c].tolist() for c in frame.columns})
        out[folder.name.replace("__", "/")] = tables
    return out


_PREFIXES: list[tuple[str, str]] = []  # absolute folders -> placeholders, so runs from two checkouts compare


def _cell(value) -> str:
    if isinstance(value, str):
        for prefix, name in _PREFIXES:
            if value.startswith(prefix):
                return name + value[len(prefix):]
        return value
    if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
        return "\x00"
    if isinstance(value, float):
        return repr(round(value, 6))
    if isinstance(value, pd.Timestamp) or hasattr(value, "isoformat"):
        ts = pd.Timestamp(value)
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC").tz_localize(None)
        return ts.isoformat()
    if hasattr(value, "as_tuple"):  # Decimal
        return repr(round(float(value), 6))
    return str(value)


def run(name: str, config: Path | None, batches: list[list[Path]], url: str, lake: Path, keep: Path | None = None) -> dict:
    base = (["--config", str(config)] if config else []) + ["--warehouse", url]
    for batch in batches:
        chatkpi([*base, "ingest", *map(str, batch), "--lake", str(lake)])
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)  # no connection held while the CLI runs
    for period in periods(engine):
        chatkpi([*base, "kpi", "--period", period])
    return table_hashes(engine, keep)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="write the hashes as JSON")
    ap.add_argument("--compare", help="compare with hashes written earlier (runs only the datasets they hold)")
    ap.add_argument("--results", help="with --compare: the new hashes from this file (written by --out), nothing run")
    ap.add_argument("--engines", default="duckdb,postgresql")
    ap.add_argument("--bench-messages", type=int, default=100_000)
    ap.add_argument("--only", help="substring of the dataset names to run")
    ap.add_argument("--in-process", action="store_true",
                    help="run the CLI commands in this process (as the golden-scenario tests do): no start-up per command")
    ap.add_argument("--shard", help="K/N: only every N-th dataset from the K-th (0-based), to run N processes side by side")
    ap.add_argument("--from-keep", help="hash the tables kept earlier under this folder (--keep) instead of running")
    ap.add_argument("--keep", help="also write every table's compared cells as CSV under KEEP/<dataset>@<engine>/")
    ap.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "chatkpi-fact-hashes"))
    args = ap.parse_args()
    global IN_PROCESS
    IN_PROCESS = args.in_process
    if args.from_keep:
        results = from_keep(Path(args.from_keep))
        if args.out:
            Path(args.out).write_text(json.dumps(results, indent=1, sort_keys=True), encoding="utf-8")
        return compare(json.loads(Path(args.compare).read_text(encoding="utf-8")), results) if args.compare else 0
    if args.results:
        if not args.compare:
            ap.error("--results needs --compare")
        return compare(json.loads(Path(args.compare).read_text(encoding="utf-8")),
                       json.loads(Path(args.results).read_text(encoding="utf-8")))
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    # file paths are stored as given: compare them relative to the checkout and the work folder
    _PREFIXES[:] = [(str(ROOT) + "/", "<repo>/"), (str(work.resolve()) + "/", "<work>/")]
    results: dict[str, dict] = {}
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    before = json.loads(Path(args.compare).read_text(encoding="utf-8")) if args.compare else None
    shard, shards = (int(n) for n in args.shard.split("/")) if args.shard else (0, 1)
    for index, (name, (config, batches)) in enumerate(datasets(work, args.bench_messages).items()):
        if args.only and args.only not in name or index % shards != shard:
            continue
        if before is not None and not any(k.startswith(name + "@") for k in before):
            continue  # a dataset added after the snapshot has nothing to compare with
        for engine in args.engines.split(","):
            lake = work / "lake" / uuid.uuid4().hex
            if engine == "duckdb":
                db = work / f"{uuid.uuid4().hex}.duckdb"
                results[f"{name}@duckdb"] = run(name, config, batches, f"duckdb:///{db}", lake, _kept(args.keep, name, engine))
                db.unlink(missing_ok=True)
            else:
                dbname = f"chatkpi_hash_{uuid.uuid4().hex[:12]}"
                with admin.connect() as conn:
                    conn.execute(sa.text(f'create database "{dbname}"'))
                try:
                    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + dbname
                    results[f"{name}@postgresql"] = run(name, config, batches, url, lake, _kept(args.keep, name, engine))
                finally:
                    with admin.connect() as conn:
                        conn.execute(sa.text(f'drop database if exists "{dbname}" with (force)'))
            shutil.rmtree(lake, ignore_errors=True)
            print(f"{name}@{engine}: " + ", ".join(f"{t.split('.')[1]} {v['rows']}" for t, v in results[f'{name}@{engine}'].items()), flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1, sort_keys=True), encoding="utf-8")
    if args.compare:
        return compare(before, results)
    return 0


def _kept(keep: str | None, name: str, engine: str) -> Path | None:
    return None if keep is None else Path(keep) / f"{name.replace('/', '__')}@{engine}"


def compare(before: dict, after: dict) -> int:
    """Tables equal on the columns both versions have; new columns are listed, not compared."""
    bad = 0
    new_codes: set[str] = set()
    for key in sorted(before):
        if key not in after:
            continue
        for table, old in before[key].items():
            new = after[key].get(table)
            if new is None:
                print(f"DIFF {key} {table}: table missing")
                bad += 1
                continue
            if "per_code" in old and "per_code" in new and old["columns"] == new["columns"]:
                # a grown catalogue: compare the codes both versions have, list the new ones
                new_codes.update(set(new["per_code"]) - set(old["per_code"]))
                differing = sorted(c for c in old["per_code"] if new["per_code"].get(c) != old["per_code"][c])
                if differing:
                    print(f"DIFF {key} {table}: KPI codes differing {differing}")
                    bad += 1
                continue
            common = [c for c in old["columns"] if c in new["per_column"]]
            lost = [c for c in old["columns"] if c not in new["per_column"]]
            differing = [c for c in common if old["per_column"][c] != new["per_column"][c]]
            if old["rows"] != new["rows"] or differing or lost:
                print(f"DIFF {key} {table}: rows {old['rows']} -> {new['rows']}, columns differing {differing}, lost {lost}")
                bad += 1
    added = sorted({f"{t}.{c}" for k in after for t, v in after[k].items() for c in v["columns"]
                    if k in before and t in before[k] and c not in before[k][t]["columns"]})
    n = sum(len(v) for k, v in before.items() if k in after)
    print(f"{n} tables compared over {len([k for k in before if k in after])} dataset runs: {bad} differ."
          + (f" New columns (not compared): {', '.join(added)}." if added else "")
          + (f" New KPI codes (not compared): {len(new_codes)}." if new_codes else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
