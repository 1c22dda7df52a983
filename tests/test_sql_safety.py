"""SPEC 13 safety checks that are cheap to keep true.

* No SQL is assembled from data: every f-string / concatenation / ``%`` / ``.format`` passed to
  a SQL call in ``kpi_transforms`` may only interpolate identifiers validated by
  ``warehouse._ident`` (or generated names such as ``chatkpi_arrow_<uuid>``). Values always go
  through bound parameters.
* Paths inside exports never decide where anything is written: a zip member ``../../evil.txt``
  and a canonical row whose thread is ``../../x`` write nothing outside the lake; the lake's
  file names come from the content sha256 only.

Zip extraction limits (bombs, traversal, symlinks) are unit-tested with the extractor in
tests/parsers/test_zipsafe.py and end to end in tests/test_hostile.py.
"""

from __future__ import annotations

import ast
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from kpi_transforms.core.config import parse_config
from kpi_transforms.pipeline.ingest import ingest_paths
from kpi_transforms.pipeline.lake import write_lake
from kpi_transforms.warehouse.engine import Warehouse, _ident

PACKAGE = Path(__file__).resolve().parents[1] / "kpi_transforms"
SQL_CALLS = {"execute", "executemany", "exec_driver_sql", "read_df", "read_arrow", "scalar", "text", "copy_expert", "sql"}
# Functions reviewed by hand whose SQL interpolates names that come from code constants, not
# data (see the companion test below). Keep this list short; prefer _ident().
REVIEWED = {
    ("row_tables.py", "merge_row_tables"): "table / key / precedence names of the RowTable constants in sources/tables/",
    ("email_threads.py", "_read_in"): "only bound-parameter placeholders :k0 .. :kN generated in code (or null)",
    ("email_threads.py", "link_email_threads"): "only bound-parameter placeholders :k0 .. :kN generated in code",
    ("reports.py", "add_csat_by_category"): "only bound-parameter placeholders :c0 .. :cN generated in code",
    ("reports.py", "_period_rows"): "table, alias, column and WHERE texts from the case / quote list constants; values bound",
    ("row_tables.py", "_merge_groups"): "table / group / key names of the RowTable constants in sources/tables/",
    ("engine.py", "_apply_contract_comments"): "COMMENT ON takes no bind parameters: names checked against _IDENT, the text"
                                               " from the shipped contracts written as a quoted literal",
}


def _builds_strings(node: ast.AST) -> bool:
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
        return any(isinstance(n, (ast.Constant, ast.JoinedStr)) and isinstance(getattr(n, "value", ""), str)
                   for n in (node.left, node.right)) or _builds_strings(node.left) or _builds_strings(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return True
    return False


def _interpolated(node: ast.AST) -> list[ast.AST]:
    """The expressions a string-building node splices into the text."""
    if isinstance(node, ast.JoinedStr):
        return [v.value for v in node.values if isinstance(v, ast.FormattedValue)]
    if isinstance(node, ast.BinOp):
        parts = []
        for side in (node.left, node.right):
            if isinstance(side, ast.Constant):
                continue
            parts.extend(_interpolated(side) if _builds_strings(side) else [side])
        return parts
    if isinstance(node, ast.Call):  # "...".format(a, b=c)
        return [*node.args, *(k.value for k in node.keywords)]
    return [node]


def _calls(node: ast.AST, names: set[str]) -> bool:
    return any(
        isinstance(n, ast.Call) and (getattr(n.func, "id", None) in names or getattr(n.func, "attr", None) in names)
        for n in ast.walk(node)
    )


def _constant_text(node: ast.AST) -> bool:
    """A literal, or a choice between literals (``"a" if x else "b"``)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.IfExp):
        return _constant_text(node.body) and _constant_text(node.orelse)
    return False


def _safe_names(function: ast.AST) -> set[str]:
    """Names bound in ``function`` to _ident(...) results (or joins of them), to generated
    object names (uuid) or to SQL text chosen among literals."""
    safe: set[str] = set()
    for node in ast.walk(function):
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            if isinstance(target, ast.Name) and (_calls(node.value, {"_ident", "uuid4"}) or _constant_text(node.value)):
                safe.add(target.id)
            elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                for t, v in zip(target.elts, node.value.elts):
                    if isinstance(t, ast.Name) and _calls(v, {"_ident"}):
                        safe.add(t.id)
    return safe


def _assignments(function: ast.AST) -> dict[str, ast.AST]:
    return {
        t.id: node.value
        for node in ast.walk(function) if isinstance(node, ast.Assign)
        for t in node.targets if isinstance(t, ast.Name)
    }


def sql_built_from_strings(package: Path = PACKAGE) -> list[tuple[str, str, int, str]]:
    """(file, function, line, expression) for every interpolation into SQL that is not a
    validated identifier."""
    problems = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
            safe, assigned = _safe_names(function), _assignments(function)
            for call in [n for n in ast.walk(function) if isinstance(n, ast.Call)]:
                name = getattr(call.func, "attr", None) or getattr(call.func, "id", None)
                if name not in SQL_CALLS:
                    continue
                for arg in [*call.args, *(k.value for k in call.keywords if k.arg in ("sql", "statement"))]:
                    if isinstance(arg, ast.Name) and arg.id in assigned and _builds_strings(assigned[arg.id]):
                        arg = assigned[arg.id]  # sql = f"..."; execute(sql)
                    if not _builds_strings(arg):
                        continue
                    for part in _interpolated(arg):
                        if isinstance(part, ast.Name) and part.id in safe:
                            continue
                        if isinstance(part, ast.Call) and getattr(part.func, "id", None) == "_ident":
                            continue
                        problems.append((path.name, function.name, call.lineno, ast.unparse(part)))
    return problems


def test_sql_interpolates_only_validated_identifiers():
    problems = [p for p in sql_built_from_strings() if (p[0], p[1]) not in REVIEWED]
    assert not problems, "SQL built from strings with values not validated by _ident():\n" + "\n".join(
        f"  {f}:{line} in {fn}(): {{{expr}}}" for f, fn, line, expr in problems
    )


def test_the_check_catches_a_value_in_an_f_string(tmp_path):
    bad = tmp_path / "pkg"
    bad.mkdir()
    (bad / "bad.py").write_text(
        "def load(wh, conn, name, table):\n"
        "    table = _ident(table)\n"
        "    wh.execute(conn, f\"delete from {table} where thread_name = '{name}'\")\n"
        "    wh.read_df('select * from x where a = ' + name)\n"
        "    sql = 'select %s' % name\n"
        "    wh.scalar(sql)\n"
        "    scope = 'is_team' if name else 'not is_team'\n"
        "    wh.read_df(f'select 1 where {scope}')\n",
        encoding="utf-8",
    )
    found = sql_built_from_strings(bad)
    assert [(fn, expr) for _, fn, _, expr in found] == [("load", "name")] * 3


def test_reviewed_row_table_names_are_plain_identifiers():
    """The names merge_row_tables splices into SQL come from code and pass _ident()."""
    try:
        from kpi_transforms.pipeline.row_tables import row_tables
    except ImportError:
        pytest.skip("kpi_transforms.ingest.row_tables does not exist (no row tables)")
    specs = row_tables()
    assert specs
    for name, spec in specs.items():
        for identifier in (name, spec.key, *spec.precedence, *spec.schema.names):
            assert _ident(identifier) == identifier


# -- paths from exports never decide where files go --------------------------------------------

def test_export_paths_write_nothing_outside_the_lake(tmp_path, monkeypatch):
    landing = tmp_path / "work" / "landing"
    landing.mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "work")
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../../evil.txt", "13/03/25 09.00 - Andi: halo\n")
    (landing / "WhatsApp Chat with Andi.zip").write_bytes(evil.getvalue())
    (landing / "rows.csv").write_text(
        "thread,sent_at,sender_name,text\n../../x,2025-03-13T09:00:00,../../x,halo\n/etc/passwd,2025-03-13T09:05:00,Lia,hai\n",
        encoding="utf-8",
    )
    before = {p for p in tmp_path.rglob("*")}
    wh = Warehouse(f"duckdb:///{tmp_path / 'work' / 'w.duckdb'}")
    report = ingest_paths([landing], parse_config({}), wh, lake_dir=tmp_path / "work" / "lake")
    statuses = {Path(f.source_file).name: (f.status, f.reason) for f in report.files}
    assert statuses["WhatsApp Chat with Andi.zip"][0] == "rejected"
    assert "'..' path component" in statuses["WhatsApp Chat with Andi.zip"][1]
    assert statuses["rows.csv"][0] == "loaded"
    assert set(wh.read_df("select thread_name from marts.fct_message")["thread_name"]) == {"../../x", "/etc/passwd"}

    new = {p for p in tmp_path.rglob("*")} - before
    allowed = {tmp_path / "work" / "lake", tmp_path / "work" / "w.duckdb", tmp_path / "work" / "w.duckdb.wal"}
    for path in new:
        assert any(path == a or a in path.parents for a in allowed), path
    for base in (landing, tmp_path / "work", tmp_path / "work" / "lake", tmp_path / "work" / "lake" / "messages"):
        assert not (base / ".." / ".." / "evil.txt").resolve().exists()
        assert not (base / ".." / ".." / "x").resolve().exists()
    lake_files = sorted(p for p in (tmp_path / "work" / "lake").rglob("*") if p.is_file())
    sha = next(f.sha256 for f in report.files if f.source_file.endswith("rows.csv"))
    assert [p.relative_to(tmp_path / "work" / "lake").as_posix() for p in lake_files] == [
        f"messages/local_month=2025-03/{sha[:24]}.parquet"
    ]


def test_write_lake_names_files_by_sha_only(tmp_path):
    messages = pd.DataFrame(
        {
            "message_id": ["m1"], "thread_id": ["../../t"], "thread_name": ["../../x"], "channel": ["other"],
            "sent_at": pd.to_datetime(["2025-03-13 02:00"]).tz_localize("UTC"), "sent_at_local": pd.to_datetime(["2025-03-13 09:00"]),
            "sender_name": ["/etc/passwd"], "sender_role": ["customer"], "agent_id": [None], "customer_id": ["../c"],
            "is_auto_reply": [False], "message_type": ["text"], "text": ["halo"], "source_file": ["../../../evil.txt"],
            "source_line": [1], "file_seq": [1], "batch_id": ["b"],
        }
    )
    from kpi_transforms.core.schema import MESSAGE_SCHEMA

    for field in MESSAGE_SCHEMA:  # columns other loaders added since
        if field.name not in messages:
            messages[field.name] = False if str(field.type) == "bool" else None
    sha = "ab" * 32
    root = write_lake(messages, tmp_path / "lake", sha)
    assert root == str(tmp_path / "lake" / "messages")
    files = [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()]
    assert files == [f"lake/messages/local_month=2025-03/{sha[:24]}.parquet"]
