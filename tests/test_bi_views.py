"""BI views (SPEC 13, 14): the same figures as the Python reports, every view and column
commented on both engines, no raw phone number or e-mail address in any view, and the
read-only ``bi_reader`` role on the real PostgreSQL.

The demo warehouse is ingested once per engine and session and copied per test (a file copy on
DuckDB, ``create database ... template`` on PostgreSQL): ingesting it takes ~10 s an engine.
The helpers are imported by the other scorecard / audit / report test modules.
"""

from __future__ import annotations

import atexit
import re
import shutil
import uuid
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from kpi_transforms.core.config import load_config
from kpi_transforms.pipeline.ingest import ingest_paths
from kpi_transforms.warehouse.engine import Warehouse

DEMO = Path(__file__).resolve().parents[1] / "kpi_transforms" / "demo_data"
BI_VIEWS = [
    "v_threads", "v_messages", "v_reply_pairs", "v_reply_durations", "v_response_rates", "v_frt_distribution",
    "v_volume_heatmap", "v_backlog", "v_kpi", "v_scorecard", "v_scorecard_total",
    "v_sla_breaches", "v_transcript",  # V020, issue 17
    "v_conversations", "v_cases", "v_quote_responses",  # V024, issues 13/17: the fact lists the report links to
    "v_chat_ratings",  # V025, issue 17: the ratings the CSAT figures count
]
_TEMPLATES: dict[str, str] = {}


def demo_config():
    return load_config(DEMO / "chatkpi.yaml")


def _ingest_demo(url: str, lake: Path) -> None:
    config, wh = demo_config(), Warehouse(url)
    for drop in sorted((DEMO / "landing").iterdir()):
        ingest_paths([drop], config, wh, lake_dir=lake)
    wh.dispose()


def demo_duckdb_copy(tmp_path_factory, dest: Path) -> str:
    """A fresh copy of the ingested demo warehouse (DuckDB) under ``dest``."""
    if "duckdb" not in _TEMPLATES:
        base = tmp_path_factory.mktemp("demo-duckdb")
        _ingest_demo(f"duckdb:///{base / 'demo.duckdb'}", base / "lake")
        _TEMPLATES["duckdb"] = str(base / "demo.duckdb")
    target = dest / "warehouse.duckdb"
    shutil.copy(_TEMPLATES["duckdb"], target)
    wal = Path(_TEMPLATES["duckdb"] + ".wal")
    if wal.exists():
        shutil.copy(wal, str(target) + ".wal")
    return f"duckdb:///{target}"


def _pg_url(admin_url: str, name: str) -> str:
    return sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def demo_postgres_copy(pg_server: str, tmp_path_factory) -> tuple[str, str]:
    """(url, database name) of a fresh clone of the ingested demo warehouse (PostgreSQL)."""
    admin = sa.create_engine(pg_server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    if "postgres" not in _TEMPLATES:
        template = f"chatkpi_demo_tpl_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'create database "{template}"')

        def drop_template() -> None:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'drop database if exists "{template}" with (force)')

        atexit.register(drop_template)
        _ingest_demo(_pg_url(pg_server, template), tmp_path_factory.mktemp("demo-pg") / "lake")
        _TEMPLATES["postgres"] = template
    name = f"chatkpi_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'create database "{name}" template "{_TEMPLATES["postgres"]}"')
    return _pg_url(pg_server, name), name


def drop_pg_database(pg_server: str, name: str) -> None:
    admin = sa.create_engine(pg_server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'drop database if exists "{name}" with (force)')
    admin.dispose()


@pytest.fixture
def demo_duckdb(tmp_path_factory, tmp_path) -> str:
    """URL of a private copy of the demo warehouse on DuckDB."""
    return demo_duckdb_copy(tmp_path_factory, tmp_path)


@pytest.fixture
def demo_postgres(pg_server, tmp_path_factory):
    """URL of a private clone of the demo warehouse on the real PostgreSQL."""
    url, name = demo_postgres_copy(pg_server, tmp_path_factory)
    yield url
    drop_pg_database(pg_server, name)


@pytest.fixture(params=["duckdb", "postgres"])
def demo_url(request) -> str:
    """The demo warehouse, once on DuckDB and once on PostgreSQL."""
    return request.getfixturevalue("demo_duckdb" if request.param == "duckdb" else "demo_postgres")


# -- comments -----------------------------------------------------------------------------------


def view_comments(wh: Warehouse) -> tuple[dict[str, str | None], dict[tuple[str, str], str | None]]:
    if wh.dialect == "duckdb":
        views = wh.read_df("select view_name as name, comment from duckdb_views() where schema_name = 'bi'")
        cols = wh.read_df("select table_name as name, column_name as col, comment from duckdb_columns() where schema_name = 'bi'")
    else:
        views = wh.read_df(
            "select c.relname as name, obj_description(c.oid, 'pg_class') as comment from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'bi' and c.relkind = 'v'"
        )
        cols = wh.read_df(
            "select c.relname as name, a.attname as col, col_description(c.oid, a.attnum) as comment from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace join pg_attribute a on a.attrelid = c.oid"
            " where n.nspname = 'bi' and c.relkind = 'v' and a.attnum > 0 and not a.attisdropped"
        )
    return dict(zip(views["name"], views["comment"])), {(n, c): m for n, c, m in zip(cols["name"], cols["col"], cols["comment"])}


def test_every_view_and_column_is_commented(warehouse_url):
    wh = Warehouse(warehouse_url)
    wh.init()
    views, cols = view_comments(wh)
    assert sorted(views) == sorted(BI_VIEWS)
    assert all(isinstance(views[v], str) and len(views[v]) > 20 for v in BI_VIEWS), views
    missing = sorted(f"{v}.{c}" for (v, c), m in cols.items() if not (isinstance(m, str) and m.strip()))
    assert missing == []
    assert len(cols) > 150
    # a second init applies nothing and keeps the views
    assert wh.init() == []


# -- figures ------------------------------------------------------------------------------------


def test_views_agree_with_the_python_reports(demo_duckdb):
    from kpi_transforms.core.periods import parse_period
    from kpi_transforms.pipeline.kpis import compute_period_kpis
    from kpi_transforms.pipeline.reports import period_pairs
    from kpi_transforms.present.reply_durations import summarise_reply_durations

    wh, config = Warehouse(demo_duckdb), demo_config()
    period = parse_period("2025-Q1")
    durations = wh.read_df("select * from bi.v_reply_durations where period_label = '2025-Q1'")
    for agent in (None, "lia", "rina"):
        row = durations[durations["is_team"]] if agent is None else durations[durations["agent_id"] == agent]
        assert len(row) == 1
        row = row.iloc[0]
        s = summarise_reply_durations(period_pairs(wh, period, config.timezone, agent))
        assert row["n_valid_pairs"] == s.n_valid
        assert row["avg_calendar_seconds"] == pytest.approx(s.mean_seconds)
        assert row["fastest_seconds"] == s.fastest["calendar_seconds"]
        assert row["fastest_thread_id"] == s.fastest["thread_id"]
        assert row["slowest_thread_id"] == s.slowest["thread_id"]
        assert (row["n_counted_queues"], row["n_within_1_working_day"]) == (s.n_counted, s.n_within_1wd)
    team = durations[durations["is_team"]].iloc[0]
    assert round(team["avg_calendar_minutes"], 1) == 746.9  # the seed-000 table of the demo: 746,9 menit
    assert team["slowest_thread_name"] == "Toko Sinar Jaya"

    kpis = compute_period_kpis(wh, config, "2025-Q1")
    rates = wh.read_df("select * from bi.v_response_rates where period_label = '2025-Q1'")
    for agent in (None, "lia", "rina"):
        k = kpis[(kpis["kpi_code"] == "response_rate_1wd") & (kpis["agent_id"].isna() if agent is None else kpis["agent_id"] == agent)].iloc[0]
        r = rates[rates["is_team"]].iloc[0] if agent is None else rates[rates["agent_id"] == agent].iloc[0]
        assert r["response_rate_1wd_pct"] == pytest.approx(k["value"])
        assert r["n_counted_1wd"] == k["basis_count"]
        frt = kpis[(kpis["kpi_code"] == "frt_median") & (kpis["agent_id"].isna() if agent is None else kpis["agent_id"] == agent)].iloc[0]
        d = durations[durations["is_team"]].iloc[0] if agent is None else durations[durations["agent_id"] == agent].iloc[0]
        assert d["median_business_seconds"] == pytest.approx(frt["value"])
    # bi.v_kpi shows the stored rows
    assert len(wh.read_df("select * from bi.v_kpi where period_label = '2025-Q1'")) == len(kpis)

    dist = wh.read_df("select * from bi.v_frt_distribution where period_label = '2025-Q1' and is_team order by bucket_order")
    assert list(dist["bucket_label"]) == ["0-5 min", "5-15 min", "15-30 min", "30-60 min", "1-2 h", "2-4 h", "4-8 h", "8 h+"]
    assert dist["n_pairs"].sum() == team["n_valid_pairs"] and dist["pct_of_pairs"].sum() == pytest.approx(100.0)
    valid = wh.read_df("select business_seconds from marts.fct_reply_pair where is_valid and question_at_local < '2025-04-01'")
    assert dist.loc[dist["bucket_label"] == "0-5 min", "n_pairs"].iloc[0] == (valid["business_seconds"] < 300).sum()

    heat = wh.read_df("select * from bi.v_volume_heatmap where period_label = '2025-Q1'")
    assert len(heat) == 7 * 24 * heat["channel"].nunique()
    n = wh.scalar("select count(*) from marts.fct_message where sender_role <> 'system' and sent_at_local < '2025-04-01'")
    assert heat["n_messages"].sum() == n
    # Monday 14 Jan 2025 10:01 local: two customer messages of the phone-number chat
    cell = heat[(heat["channel"] == "whatsapp") & (heat["weekday_iso"] == 2) & (heat["hour_local"] == 10)]
    assert cell["n_customer_messages"].iloc[0] >= 2

    backlog = wh.read_df("select * from bi.v_backlog")
    assert list(backlog["backlog_rank"]) == list(range(1, len(backlog) + 1))
    assert (backlog["overdue_seconds"] > 0).all() and backlog["question_at"].is_monotonic_increasing
    assert "Dewi Lestari" in set(backlog["thread_name"])  # its 22 Feb question was never answered


# -- masking ------------------------------------------------------------------------------------

CONTACT_CSV = """thread,channel,sent_at,sender_name,sender_role,text
andi.wijaya@contoh.co.id,email,2025-03-03T09:00:00+07:00,andi.wijaya@contoh.co.id,customer,"Mohon penawaran, hubungi saya di 0812 9876 5432 atau andi.w@contoh.co.id"
andi.wijaya@contoh.co.id,email,2025-03-03T09:30:00+07:00,lia@souvenir-nusantara.co.id,agent,"Baik Pak, harga Rp 12.500.000 untuk 1.062.500 pcs, kantor buka jam 08.00-17.00"
0813-1111-2222,whatsapp,2025-03-04T10:00:00+07:00,0813-1111-2222,customer,"WA saya +62 857-1234-5678 atau 6281299998888, kantor (021) 555-1234"
0813-1111-2222,whatsapp,2025-03-04T10:20:00+07:00,Rina CS,agent,Siap kak
"""
RAW_CONTACTS = [
    "andi.wijaya@contoh.co.id", "andi.w@contoh.co.id", "lia@souvenir-nusantara.co.id", "rina@souvenir-nusantara.co.id",
    "sari@majujaya.co.id", "0812 9876 5432", "0813-1111-2222", "+62 857-1234-5678", "6281299998888",
    "+62 812-3456-7890", "+6281234567890", "+6281311112222", "555-1234",
]
PHONE_DIGITS = ["81298765432", "81311112222", "85712345678", "81299998888", "81234567890"]
EMAIL = re.compile(r"[A-Za-z0-9._+-]+@[A-Za-z0-9-]+\.[A-Za-z0-9.-]+")


def _text_values(frame: pd.DataFrame) -> list[str]:
    out: list[str] = []
    for col in frame.columns:
        out += [v for v in frame[col].tolist() if isinstance(v, str)]
    return out


def test_fact_list_views_hold_the_rows_the_kpis_count(demo_url):
    """Issue 13/17: bi.v_conversations, bi.v_cases and bi.v_quote_responses expose the stored
    fact rows with the keys of marts (masked customers): their counts per period and agent are the
    stored KPIs' basis counts, on both engines."""
    from kpi_transforms.pipeline.kpis import compute_period_kpis

    wh, config = Warehouse(demo_url), demo_config()
    frame = compute_period_kpis(wh, config, "2025-Q1")
    kpi = {(r.kpi_code, r.agent_id if isinstance(r.agent_id, str) else None): (r.value, int(r.basis_count))
           for r in frame.itertuples(index=False)}
    conv = wh.read_df("select * from bi.v_conversations where quarter_start = '2025-01-01'")
    assert len(conv) == wh.scalar("select count(*) from marts.fct_conversation where started_at_local >= '2025-01-01'"
                                  " and started_at_local < '2025-04-01'") > 0
    assert conv["customer_key"].dropna().str.fullmatch(r"[0-9a-f]{16}").all()
    for agent in (None, "lia", "rina"):
        mine = conv if agent is None else conv[conv["agent_id"] == agent]
        resolved = mine[mine["status"] == "resolved"]
        value, basis = kpi[("aht_avg", agent)]
        assert basis == len(resolved) > 0 and abs(float(value) - resolved["handle_seconds"].astype(float).mean()) < 1e-9
        value, basis = kpi[("art_avg", agent)]
        assert abs(float(value) - resolved["resolution_business_seconds"].astype(float).mean()) < 1e-9
        decided = resolved[resolved["is_fcr"].notna()]
        assert kpi[("fcr_rate", agent)][1] == len(decided)
        assert kpi[("cost_per_contact", agent)][1] in (0, len(mine))  # 0: no cost configured
    cases = wh.read_df("select * from bi.v_cases where quarter_start = '2025-01-01'")
    assert kpi[("repeat_complaint_rate", None)][1] == len(cases) > 0
    quotes = wh.read_df("select * from bi.v_quote_responses where quarter_start = '2025-01-01'"
                        " and not is_in_closed_period and quote_at is not null")
    assert kpi[("quote_response_avg", None)][1] == len(quotes) > 0
    pairs = wh.read_df("select is_within_sla from bi.v_reply_pairs where quarter_start = '2025-01-01'")
    counted = pairs["is_within_sla"].dropna().astype(bool)
    value, basis = kpi[("sla_compliance_rate", None)]
    assert basis == len(counted) > 0 and abs(float(value) - 100.0 * counted.mean()) < 1e-9
    wh.dispose()


def test_no_raw_phone_or_email_in_any_bi_view(demo_url, tmp_path):
    wh = Warehouse(demo_url)
    extra = tmp_path / "landing" / "contacts.csv"
    extra.parent.mkdir()
    extra.write_text(CONTACT_CSV, encoding="utf-8")
    report = ingest_paths([extra], demo_config(), wh, lake_dir=tmp_path / "lake")
    assert report.files[0].status == "loaded"
    # the demo has no ratings: a marketplace export with ratings fills bi.v_chat_ratings too
    rated = Path(__file__).resolve().parent / "kpi_scenarios" / "csat_rate_rusak" / "tokopedia_detail_chat.csv"
    assert ingest_paths([rated], demo_config(), wh, lake_dir=tmp_path / "lake").files[0].status == "loaded"
    # the raw data does hold them
    raw = _text_values(wh.read_df("select thread_name, sender_name, customer_id, text from marts.fct_message"))
    assert any("0812 9876 5432" in v for v in raw) and any("andi.wijaya@contoh.co.id" == v for v in raw)

    from kpi_transforms.pipeline.kpis import compute_period_kpis
    from kpi_transforms.pipeline.scorecards import compute_scorecards

    compute_period_kpis(wh, demo_config(), "2025-Q1")
    compute_scorecards(wh, demo_config(), "2025-Q1")
    seen = 0
    for view in BI_VIEWS:
        frame = wh.read_df(f"select * from bi.{view}")
        assert len(frame), view
        for value in _text_values(frame):
            seen += 1
            assert not EMAIL.search(value), (view, value)
            for contact in RAW_CONTACTS:
                assert contact not in value, (view, contact, value)
            digits = re.sub(r"\D", "", value)
            for phone in PHONE_DIGITS:
                assert phone not in digits, (view, phone, value)
    assert seen > 500

    messages = wh.read_df("select sender_label, customer_key, text, thread_id from bi.v_messages")
    texts = set(messages["text"])
    assert "Mohon penawaran, hubungi saya di [telepon] atau [email]" in texts
    assert "WA saya [telepon] atau [telepon], kantor ([telepon]" in texts
    # prices, quantities and opening hours are not phone numbers
    assert "Baik Pak, harga Rp 12.500.000 untuk 1.062.500 pcs, kantor buka jam 08.00-17.00" in texts
    threads = wh.read_df("select thread_id, thread_name, customer_key from bi.v_threads")
    names = set(threads["thread_name"])
    assert {"Budi Santoso", "Toko Sinar Jaya", "PO PT Maju Jaya"} <= names
    pseudonyms = sorted(n for n in names if n.startswith("[kontak "))
    assert len(pseudonyms) == 3 and all(re.fullmatch(r"\[kontak [0-9a-f]{8}\]", n) for n in pseudonyms)
    assert threads["customer_key"].str.fullmatch(r"[0-9a-f]{16}").all()
    assert threads["customer_key"].nunique() == len(threads)
    # the same customer has the same key in every view; agents appear by roster id
    joined = messages.merge(threads, on="thread_id", suffixes=("_m", "_t"))
    assert (joined["customer_key_m"] == joined["customer_key_t"]).all()
    assert {"lia", "rina"} <= set(messages["sender_label"])


# -- bi_reader ----------------------------------------------------------------------------------


@pytest.mark.postgres
def test_bi_reader_reads_only_bi(demo_postgres):
    wh = Warehouse(demo_postgres)
    engine = sa.create_engine(demo_postgres, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        role = conn.exec_driver_sql("select rolcanlogin, rolsuper from pg_roles where rolname = 'bi_reader'").one()
        assert role == (False, False)
        owned = conn.exec_driver_sql(
            "select (select count(*) from pg_class where relowner = r.oid) + (select count(*) from pg_namespace where nspowner = r.oid)"
            " + (select count(*) from pg_proc where proowner = r.oid) from pg_roles r where r.rolname = 'bi_reader'"
        ).scalar()
        assert owned == 0
        grants = conn.exec_driver_sql(
            "select table_schema, privilege_type from information_schema.role_table_grants where grantee = 'bi_reader'"
        ).fetchall()
        assert {s for s, _ in grants} == {"bi"} and {p for _, p in grants} == {"SELECT"}
    for view in BI_VIEWS:
        with engine.begin() as conn:
            conn.exec_driver_sql("set local role bi_reader")
            n = conn.exec_driver_sql(f"select count(*) from bi.{view}").scalar()
            assert n >= 0
            if view in ("v_messages", "v_threads", "v_reply_pairs", "v_reply_durations"):
                assert n > 0, view
    for table in ("marts.fct_message", "marts.fct_reply_pair", "marts.fct_kpi", "audit.sample", "audit.validation",
                  "audit.bi_mask_key", "audit.file_manifest", "staging.stg_message"):
        with engine.begin() as conn:
            conn.exec_driver_sql("set local role bi_reader")
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                conn.exec_driver_sql(f"select count(*) from {table}")
    with engine.connect() as conn:
        privileges = conn.exec_driver_sql(
            "select has_table_privilege('bi_reader', 'bi.v_kpi', 'SELECT'), has_table_privilege('bi_reader', 'bi.v_kpi', 'DELETE'),"
            " has_table_privilege('bi_reader', 'bi.v_kpi', 'INSERT'), has_schema_privilege('bi_reader', 'bi', 'CREATE')"
        ).one()
        assert privileges == (True, False, False, False)
    engine.dispose()
    wh.dispose()


def test_bi_reader_migration_is_postgres_only(duckdb_url):
    wh = Warehouse(duckdb_url)
    applied = wh.init()
    assert "V010__bi_reader.sql" in applied  # recorded, but empty on DuckDB
    assert wh._dialect_sql("-- dialect: postgresql\ncreate role x;") == ""
    assert wh._dialect_sql("select {{sha256(a || 'b')}} from t") == "select sha256(a || 'b') from t"
    pg = Warehouse("postgresql+psycopg2://u@127.0.0.1:1/none")
    assert pg._dialect_sql("select {{sha256(a)}}") == "select encode(sha256(convert_to(a, 'UTF8')), 'hex')"
    assert pg._dialect_sql("-- dialect: postgresql\ncreate role x;") == "-- dialect: postgresql\ncreate role x;"
