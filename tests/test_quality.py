"""The data-quality gate: every expectation fails on a crafted bad frame and passes on the good
one; a failed gate rolls the batch back, records its verdict and stops the CLI with one line."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from kpi_transforms.cli import main
from kpi_transforms.core.calendar import BusinessCalendar
from kpi_transforms.core.config import load_config
from kpi_transforms.facts.cases import fct_case
from kpi_transforms.facts.conversations import fct_conversation
from kpi_transforms.facts.follow_ups import fct_follow_up
from kpi_transforms.facts.intents import queue_intents
from kpi_transforms.facts.keywords import load_keywords
from kpi_transforms.facts.quotes import fct_quote_response
from kpi_transforms.facts.reply_pairs import fct_reply_pair
from kpi_transforms.facts.threads import fct_thread
from kpi_transforms.pipeline.ingest import discover, ingest_paths
from kpi_transforms.quality import gate as quality
from kpi_transforms.quality.gate import DataQualityError, DQResult
from kpi_transforms.sources.canonical import canonicalise
from kpi_transforms.sources.registry import parse_file
from kpi_transforms.warehouse.engine import Warehouse

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "kpi_transforms" / "demo_data"


@pytest.fixture(scope="module")
def good():
    """The demo's March drop as the gate sees it: canonical batch, parse report, facts."""
    config = load_config(DEMO / "chatkpi.yaml")
    files, frames = [], []
    for seq, path in enumerate(discover([DEMO / "landing" / "2025-03"]), start=1):
        for result in parse_file(path, config):
            result.file_seq = seq
            frames.append(canonicalise(result, config, "batch-1"))
            files.append(result)
    batch = pd.concat(frames, ignore_index=True)
    calendar = BusinessCalendar.from_config(config)
    pairs = fct_reply_pair(batch, calendar)
    threads = fct_thread(batch, pairs, calendar)
    return batch, files, pairs, threads


def failed(result: DQResult) -> set[tuple[str, str | None]]:
    return {(f["expectation"], f["column"]) for f in result.failures}


def test_good_batch_and_facts_pass(good):
    batch, files, pairs, threads = good
    messages = quality.validate_messages(batch, files)
    facts = quality.validate_facts(batch, pairs, threads)
    assert messages.success and facts.success, messages.summary() + facts.summary()
    assert {c["suite"] for c in messages.checks} == {"stg_message", "file_manifest"}
    assert {c["suite"] for c in facts.checks} == {"fct_reply_pair", "fct_thread"}
    assert len(messages.checks) == 13 and len(facts.checks) == 44  # 27 before the contracts gave every NOT NULL column its check (DECISIONS, issue 13 round 3)
    assert all(c["unexpected_count"] in (0, None) for c in messages.checks + facts.checks)


def _customer_row(batch: pd.DataFrame) -> int:
    return int(batch.index[batch["sender_role"] == "customer"][0])


MESSAGE_CASES = {
    "message_id null": (lambda b: b.assign(message_id=b["message_id"].mask(b.index == 3)),
                        {("expect_column_values_to_not_be_null", "message_id")}),
    "message_id duplicated": (lambda b: b.assign(message_id=b["message_id"].mask(b.index == 4, b["message_id"].iloc[5])),
                              {("expect_column_values_to_be_unique", "message_id")}),
    "thread_id null": (lambda b: b.assign(thread_id=b["thread_id"].mask(b.index == 0)),
                       {("expect_column_values_to_not_be_null", "thread_id")}),
    "sent_at null": (lambda b: b.assign(sent_at=b["sent_at"].mask(b.index == 0)),
                     {("expect_column_values_to_not_be_null", "sent_at")}),
    "unknown role": (lambda b: b.assign(sender_role=b["sender_role"].mask(b.index == 2, "robot")),
                     {("expect_column_values_to_be_in_set", "sender_role")}),
    "unknown channel": (lambda b: b.assign(channel=b["channel"].mask(b.index == 2, "telegram")),
                        {("expect_column_values_to_be_in_set", "channel")}),
    "message_type null": (lambda b: b.assign(message_type=b["message_type"].mask(b.index == 2)),
                          {("expect_column_values_to_not_be_null", "message_type")}),
    "agent_id on a customer message": (lambda b: b.assign(agent_id=b["agent_id"].mask(b.index == _customer_row(b), "lia")),
                                       {("expect_column_values_to_be_null", "agent_id")}),
    "year 2099": (lambda b: b.assign(sent_at_local=b["sent_at_local"].mask(b.index == 1, pd.Timestamp("2099-01-01 10:00"))),
                  {("expect_column_values_to_be_between", "sent_at_local")}),
    "year 2008": (lambda b: b.assign(sent_at_local=b["sent_at_local"].mask(b.index == 1, pd.Timestamp("2008-12-31 10:00"))),
                  {("expect_column_values_to_be_between", "sent_at_local")}),
    "a message lost after parsing": (lambda b: b.drop(index=7),
                                     {("expect_table_row_count_to_equal", None)}),
}


@pytest.mark.parametrize("case", sorted(MESSAGE_CASES))
def test_each_message_expectation_fails_on_its_bad_frame(good, case):
    batch, files, _, _ = good
    mutate, expected = MESSAGE_CASES[case]
    result = quality.validate_messages(mutate(batch.copy()), files)
    assert not result.success
    assert failed(result) == expected, result.summary()
    for failure in result.failures:
        line = quality._describe(failure)
        assert failure["expectation"] in line
        if failure["unexpected_count"] is not None:
            assert failure["unexpected_count"] >= 1
            assert 1 <= len(failure["sample"]) <= quality.SAMPLE_ROWS
            assert {"message_id", "source_file", "source_line"} <= set(failure["sample"][0])


def test_row_count_failure_shows_observed_and_expected(good):
    batch, files, _, _ = good
    result = quality.validate_messages(batch.drop(index=[1, 2]), files)
    (failure,) = result.failures
    assert failure["sample"] == {"observed": len(batch) - 2, "expected": len(batch)}
    assert f"observed {len(batch) - 2}, expected {len(batch)}" in result.summary()


def test_in_batch_duplicates_reconcile(good):
    batch, files, _, _ = good
    assert quality.validate_messages(batch.iloc[2:], files, in_batch_duplicates=2).success


def test_file_line_accounting_fails_when_a_line_is_unaccounted(good):
    batch, files, _, _ = good
    import copy

    broken = [copy.copy(f) for f in files]
    whatsapp = next(f for f in broken if f.kind == "whatsapp")
    whatsapp.continuation_lines += 1  # one line counted twice
    result = quality.validate_messages(batch, broken)
    assert failed(result) == {("expect_column_pair_values_to_be_equal", "lines_read, lines_accounted")}
    (failure,) = result.failures
    assert failure["suite"] == "file_manifest"
    assert failure["sample"][0]["source_file"] == whatsapp.label


def test_same_file_twice_in_manifest_fails(good):
    batch, files, _, _ = good
    result = quality.validate_messages(batch, [*files, files[0]], in_batch_duplicates=files[0].messages_read)
    assert failed(result) == {("expect_column_values_to_be_unique", "file_sha256")}


def _answered(pairs: pd.DataFrame) -> int:
    return int(pairs.index[pairs["status"] == "answered"][0])


PAIR_CASES = {
    "pair_id null": (lambda p, t: (p.assign(pair_id=p["pair_id"].mask(p.index == 0)), t),
                     {("expect_column_values_to_not_be_null", "pair_id")}),
    "pair_id duplicated": (lambda p, t: (p.assign(pair_id=p["pair_id"].mask(p.index == 1, p["pair_id"].iloc[0])), t),
                           {("expect_column_values_to_be_unique", "pair_id")}),
    "one reply closes two queues": (
        lambda p, t: (p.assign(reply_message_id=p["reply_message_id"].mask(p.index == _answered(p) + 1, p["reply_message_id"].iloc[_answered(p)])), t),
        {("expect_column_values_to_be_unique", "reply_message_id")}),
    "unknown status": (lambda p, t: (p.assign(status=p["status"].mask(p.index == 0, "maybe")), t),
                       {("expect_column_values_to_be_in_set", "status")}),
    "unknown channel": (lambda p, t: (p.assign(channel=p["channel"].mask(p.index == 0, "fax")), t),
                        {("expect_column_values_to_be_in_set", "channel")}),
    "answered without reply time": (lambda p, t: (p.assign(reply_at=p["reply_at"].mask(p.index == _answered(p))), t),
                                    {("expect_column_values_to_not_be_null", "reply_at")}),
    "reply before question": (
        lambda p, t: (p.assign(reply_at=p["reply_at"].mask(p.index == _answered(p), p["question_at"] - pd.Timedelta(minutes=5))), t),
        {("expect_column_pair_values_a_to_be_greater_than_b", "reply_at, question_at")}),
    "negative calendar seconds": (
        lambda p, t: (p.assign(calendar_seconds=p["calendar_seconds"].mask(p.index == _answered(p), -60),
                               business_seconds=p["business_seconds"].mask(p.index == _answered(p), -60)), t),
        {("expect_column_values_to_be_between", "calendar_seconds"), ("expect_column_values_to_be_between", "business_seconds")}),
    "business above calendar": (
        lambda p, t: (p.assign(business_seconds=p["business_seconds"].mask(p.index == _answered(p), p["calendar_seconds"] + 1)), t),
        {("expect_column_pair_values_a_to_be_greater_than_b", "calendar_seconds, business_seconds")}),
    "pair of a thread that does not exist": (
        lambda p, t: (p, t[t["thread_id"] != p["thread_id"].iloc[0]]),
        {("expect_column_values_to_be_in_set", "thread_in_fct_thread"), ("expect_table_row_count_to_equal", None)}),
    "question that is no message": (
        lambda p, t: (p.assign(question_message_id=p["question_message_id"].mask(p.index == 0, "nope")), t),
        {("expect_column_values_to_be_in_set", "question_in_fct_message")}),
    "reply that is no message": (
        lambda p, t: (p.assign(reply_message_id=p["reply_message_id"].mask(p.index == _answered(p), "nope")), t),
        {("expect_column_values_to_be_in_set", "reply_in_fct_message")}),
}
THREAD_CASES = {
    "thread_id null": (lambda t: t.assign(thread_id=t["thread_id"].mask(t.index == 0)),
                       {("expect_column_values_to_not_be_null", "thread_id"),
                        # its pairs lose their thread, and the keyless row its pairs
                        ("expect_column_values_to_be_in_set", "thread_in_fct_thread"),
                        ("expect_column_pair_values_to_be_equal", "n_reply_pairs, n_pairs_in_fct_reply_pair")}),
    "thread twice": (lambda t: pd.concat([t, t.iloc[[0]]], ignore_index=True),
                     {("expect_column_values_to_be_unique", "thread_id"), ("expect_table_row_count_to_equal", None)}),
    "unknown channel": (lambda t: t.assign(channel=t["channel"].mask(t.index == 0, "fax")),
                        {("expect_column_values_to_be_in_set", "channel")}),
    "role counts do not add up": (lambda t: t.assign(n_messages=t["n_messages"] + (t.index == 0)),
                                  {("expect_column_pair_values_to_be_equal", "n_messages, n_messages_by_role")}),
    "pair count does not reconcile": (
        lambda t: t.assign(n_reply_pairs=t["n_reply_pairs"] + (t.index == 0), n_unanswered=t["n_unanswered"]),
        {("expect_column_pair_values_to_be_equal", "n_reply_pairs, n_pairs_in_fct_reply_pair")}),
    "more unanswered than queues": (lambda t: t.assign(n_unanswered=t["n_reply_pairs"] + (t.index == 0)),
                                    {("expect_column_pair_values_a_to_be_greater_than_b", "n_reply_pairs, n_unanswered")}),
    "thread ends before it starts": (
        lambda t: t.assign(last_message_at=t["last_message_at"].mask(t.index == 0, t["first_message_at"] - pd.Timedelta(hours=1))),
        {("expect_column_pair_values_a_to_be_greater_than_b", "last_message_at, first_message_at")}),
    "negative first response": (
        lambda t: t.assign(first_response_seconds=t["first_response_seconds"].mask(t["first_response_seconds"].notna(), -5),
                           first_response_business_seconds=t["first_response_business_seconds"].mask(t["first_response_business_seconds"].notna(), -5)),
        {("expect_column_values_to_be_between", "first_response_seconds")}),
    "first response business above calendar": (
        lambda t: t.assign(first_response_business_seconds=t["first_response_seconds"] + 1),
        {("expect_column_pair_values_a_to_be_greater_than_b", "first_response_seconds, first_response_business_seconds")}),
}


@pytest.mark.parametrize("case", sorted(PAIR_CASES))
def test_each_pair_expectation_fails_on_its_bad_frame(good, case):
    batch, _, pairs, threads = good
    mutate, expected = PAIR_CASES[case]
    bad_pairs, bad_threads = mutate(pairs.copy(), threads.copy())
    result = quality.validate_facts(batch, bad_pairs, bad_threads)
    assert failed(result) >= expected and not result.success, result.summary()
    # anything else that failed is a consequence on the thread side (its pair count)
    assert failed(result) - expected <= {("expect_column_pair_values_to_be_equal", "n_reply_pairs, n_pairs_in_fct_reply_pair")}
    for failure in result.failures:
        if failure["suite"] == "fct_reply_pair" and failure["unexpected_count"] is not None:
            assert {"pair_id", "thread_id"} <= set(failure["sample"][0])


@pytest.mark.parametrize("case", sorted(THREAD_CASES))
def test_each_thread_expectation_fails_on_its_bad_frame(good, case):
    batch, _, pairs, threads = good
    mutate, expected = THREAD_CASES[case]
    result = quality.validate_facts(batch, pairs, mutate(threads.copy()))
    assert failed(result) == expected, result.summary()


# -- the gate's shortcuts give what one plain GX run gives ---------------------------------
# The gate runs GX in pieces (success flags first, row-conditioned expectations on their own,
# sample rows named by their labels): each verdict must equal that of one GX run of the whole
# suite over the whole frame with counts and ID-named samples, in the same order.

def _plain_gx_run(name: str, frame: pd.DataFrame, parameters: dict):
    runtime = quality._runtime()
    frame = runtime.slim(name, frame)
    ids = [c for c in runtime.modules[name].ID_COLUMNS if c in frame.columns]
    result_format = {"result_format": "SUMMARY", "partial_unexpected_count": quality.SAMPLE_ROWS,
                     "unexpected_index_column_names": ids}
    return runtime._run(name, frame, parameters, result_format, runtime.suites[name])


def _assert_same_as_plain_gx(name: str, frame: pd.DataFrame, parameters: dict) -> bool:
    ours = quality._runtime().validate(name, frame, parameters)
    plain = _plain_gx_run(name, frame, parameters)
    assert [r.expectation_config.id for r in ours.results] == [r.expectation_config.id for r in plain.results]
    assert ours.success == plain.success
    for mine, theirs in zip(ours.results, plain.results):
        assert mine.success == theirs.success, mine.expectation_config.type
        if not mine.success:
            for key in ("unexpected_count", "partial_unexpected_index_list", "partial_unexpected_list", "observed_value"):
                # as JSON, as audit.dq_result stores it: key order counts
                assert json.dumps(quality._plain(mine.result.get(key))) == json.dumps(quality._plain(theirs.result.get(key))), key
    return ours.success


def test_message_gate_equals_one_plain_gx_run(good):
    batch, files, _, _ = good
    latest = pd.Timestamp.now(tz="UTC").tz_localize(None).to_pydatetime() + quality.FUTURE_SLACK
    verdicts = set()
    for mutate, _ in [(lambda b: b, None), *MESSAGE_CASES.values()]:
        frame = mutate(batch.copy())
        verdicts.add(_assert_same_as_plain_gx("stg_message", frame, {"expected_rows": len(batch), "latest_local": latest,
                                                                          "earliest_local": quality.EARLIEST_LOCAL}))
    assert verdicts == {True, False}


def test_fact_gates_equal_one_plain_gx_run(good):
    batch, _, pairs, threads = good
    cases = [(lambda p, t: (p, t))]
    cases += [mutate for mutate, _ in PAIR_CASES.values()]
    cases += [lambda p, t, m=mutate: (p, m(t)) for mutate, _ in THREAD_CASES.values()]
    verdicts = set()
    for mutate in cases:
        pair_frame, thread_frame = quality.fact_frames(batch, *mutate(pairs.copy(), threads.copy()))
        verdicts.add(_assert_same_as_plain_gx("fct_reply_pair", pair_frame, {}))
        verdicts.add(_assert_same_as_plain_gx("fct_thread", thread_frame, {"expected_rows": batch["thread_id"].nunique()}))
    assert verdicts == {True, False}


def test_a_failure_on_every_row_keeps_five_samples(good):
    batch, files, _, _ = good
    big = pd.concat([batch] * 500, ignore_index=True)  # 30k rows, every one with an unknown role
    big = big.assign(message_id=big.index.astype(str).astype("string"), sender_role="robot")
    result = quality.validate_messages(big, files)  # the row count fails too
    (failure,) = [f for f in result.failures if f["column"] == "sender_role"]
    assert failure["unexpected_count"] == len(big) and len(failure["sample"]) == quality.SAMPLE_ROWS
    assert [row["source_line"] for row in failure["sample"]] == big["source_line"].head(quality.SAMPLE_ROWS).tolist()


def test_empty_batch_and_no_pairs_pass(good):
    batch, _, pairs, threads = good
    assert quality.validate_messages(batch.iloc[:0], []).success
    assert quality.validate_facts(batch, pairs.iloc[:0], threads.assign(n_reply_pairs=0, n_unanswered=0)).success


def test_summary_and_error_message(good):
    batch, files, _, _ = good
    bad = batch.assign(sender_role=batch["sender_role"].mask(batch.index < 7, "robot"))
    result = quality.validate_messages(bad, files)
    lines = result.summary().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("stg_message: expect_column_values_to_be_in_set(sender_role) failed on 7 row(s), e.g. [")
    assert lines[0].count('"sender_role": "robot"') == quality.SAMPLE_ROWS
    error = DataQualityError(result)
    assert "\n" not in str(error) and str(error).startswith("data-quality gate failed, nothing was loaded: stg_message:")
    rows = quality.dq_rows([result], "b1", pd.Timestamp.now(tz="UTC").to_pydatetime()).to_pandas()
    assert len(rows) == 13 and rows["success"].sum() == 12
    failed_row = rows[~rows["success"]].iloc[0]
    assert (failed_row["expectation"], failed_row["column_name"], failed_row["unexpected_count"]) == (
        "expect_column_values_to_be_in_set", "sender_role", 7)
    assert len(json.loads(failed_row["sample"])) == quality.SAMPLE_ROWS


def test_quarantine_implausible_keeps_every_line_accounted_for():
    from kpi_transforms.core.config import parse_config
    from kpi_transforms.core.identity import Roster
    from kpi_transforms.sources.base import ParseContext
    from kpi_transforms.sources.registry import FileResult, parse_unit

    text = (
        "13/01/25 09.00 - Andi: Halo\n"
        "13/01/99 09.05 - Andi: dari masa depan\nbaris kedua\n\n"
        "13/01/25 09.10 - Lia: Siap kak\n"
        "13/01/00 09.10 - Lia: tahun 2000\n"
    )
    config = parse_config({"agents": [{"id": "lia", "names": ["Lia"]}]})
    result = FileResult("Chat WhatsApp dengan Andi.txt", "sha", "parsed", kind="whatsapp", chat_name="Andi")
    context = ParseContext(config=config, roster=Roster.from_config(config), suffix=".txt", path=result.source_file,
                           name_from_file="Andi")
    result.take(parse_unit(text.encode(), context)[1])
    # the parser reads 2-digit years as 20yy: 2099 is possible for it, 2000 is before 2009
    assert (result.messages_read, result.quarantined_lines) == (3, 1)
    result.file_seq = 1
    messages = canonicalise(result, config, "b")
    now = pd.Timestamp("2025-06-01", tz="UTC").to_pydatetime()
    kept = quality.quarantine_implausible(result, messages, now)
    assert kept["text"].tolist() == ["Halo", "Siap kak"]
    assert (result.header_lines, result.continuation_lines, result.quarantined_lines, result.messages_read) == (2, 0, 4, 2)
    assert result.lines_read == result.header_lines + result.continuation_lines + result.quarantined_lines
    rows = result.rejected_rows.sort_values("source_line")
    assert rows["source_line"].tolist() == [2, 3, 4, 6]
    assert rows["reason"].iloc[0].startswith("implausible timestamp 2099-01-13 09:05")
    assert rows["reason"].tolist()[1:3] == ["continuation of quarantined header line 2"] * 2
    # the lines as written (issue 15), not a line rebuilt from the parsed timestamp
    assert rows["raw"].tolist()[:3] == ["13/01/99 09.05 - Andi: dari masa depan", "baris kedua", ""]
    assert "2000" in rows["reason"].iloc[3]
    with pytest.raises(quality.RejectedFile, match="every message is dated outside"):
        quality.quarantine_implausible(result, kept, pd.Timestamp("2020-01-01", tz="UTC").to_pydatetime())


def test_quarantine_and_gate_agree_on_the_plausible_range():
    suite = quality._expectations_package().suite_module("stg_message")
    assert suite.EARLIEST_LOCAL == quality.EARLIEST_LOCAL


def test_gx_is_imported_lazily():
    code = "import sys, kpi_transforms.quality.gate, kpi_transforms.pipeline.ingest, kpi_transforms.pipeline.facts; print('great_expectations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def test_sixty_messages_validate_well_under_a_second(good):
    batch, files, pairs, threads = good
    assert len(batch) == 60
    quality.validate_messages(batch, files)  # warm-up
    started = time.perf_counter()
    for _ in range(3):
        quality.validate_messages(batch, files)
    per_batch = (time.perf_counter() - started) / 3
    assert per_batch < 0.6, f"{per_batch:.3f} s per 60-message batch"


def test_data_docs_show_the_failed_expectation(good, tmp_path):
    batch, files, pairs, threads = good
    bad = quality.validate_messages(batch.assign(channel="telegram"), files)
    ok = quality.validate_facts(batch, pairs, threads)
    index = quality.build_data_docs([bad, ok], tmp_path / "dq_docs", run_name="b42")
    assert index == (tmp_path / "dq_docs" / "index.html").resolve() and index.is_file()
    pages = list((tmp_path / "dq_docs" / "validations").rglob("*.html"))
    assert {p.parts[-4] for p in pages} == {"stg_message", "file_manifest", "fct_reply_pair", "fct_thread"}
    stg = next(p for p in pages if p.parts[-4] == "stg_message").read_text(encoding="utf-8")
    assert "telegram" in stg


# -- the gate inside the load transaction ---------------------------------------------------

def _facts(url: str) -> dict[str, pd.DataFrame]:
    wh = Warehouse(url)
    out = {}
    for table, key in (("marts.fct_message", "message_id"), ("marts.fct_reply_pair", "pair_id"),
                       ("marts.fct_thread", "thread_id"), ("audit.file_manifest", "file_sha256"), ("audit.batch", "batch_id")):
        frame = wh.read_df(f"select * from {table}")
        out[table] = frame.sort_values(key).reset_index(drop=True).astype(str)
    return out


def test_failed_gate_rolls_back_records_and_stops_the_cli(warehouse_url, tmp_path, monkeypatch, capsys, caplog):
    from kpi_transforms.pipeline import facts as facts_module

    config_path = DEMO / "chatkpi.yaml"
    march, april = sorted((DEMO / "landing").iterdir())
    monkeypatch.chdir(tmp_path)
    args = ["--config", str(config_path), "--warehouse", warehouse_url]
    assert main([*args, "ingest", str(march), "--lake", str(tmp_path / "lake")]) == 0
    before = _facts(warehouse_url)
    capsys.readouterr()

    # A transform bug: a negative business duration. The gate stops the April batch.
    real = facts_module.fct_reply_pair

    def buggy(*a, **k):
        pairs = real(*a, **k)
        answered = pairs.index[pairs["status"] == "answered"]
        pairs.loc[answered[:2], "business_seconds"] = -3600
        return pairs

    monkeypatch.setattr(facts_module, "fct_reply_pair", buggy)
    with caplog.at_level(logging.ERROR, logger="kpi_transforms.ingest"):
        assert main([*args, "ingest", str(april), "--lake", str(tmp_path / "lake")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("chatkpi: error: data-quality gate failed, nothing was loaded: fct_reply_pair: ")
    assert "expect_column_values_to_be_between(business_seconds) failed on 2 row(s)" in err[0]
    assert '"business_seconds": -3600' in err[0] and "Data Docs:" in err[0]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "expect_column_values_to_be_between(business_seconds)" in logged and '"pair_id": ' in logged
    assert (tmp_path / "dq_docs" / "index.html").is_file()

    # Nothing of the April batch is visible; the verdict is.
    after = _facts(warehouse_url)
    for table in before:
        pd.testing.assert_frame_equal(after[table], before[table], obj=table)
    dq = Warehouse(warehouse_url).read_df("select * from audit.dq_result")
    batches = set(before["audit.batch"]["batch_id"])
    failed_rows = dq[~dq["success"].astype(bool)]
    assert set(dq.loc[dq["batch_id"].isin(batches), "success"].astype(bool)) == {True}  # March's passed checks
    assert len(failed_rows) == 1 and not set(failed_rows["batch_id"]) & batches
    assert set(failed_rows["column_name"]) == {"business_seconds"}
    sample = json.loads(failed_rows.loc[failed_rows["column_name"] == "business_seconds", "sample"].iloc[0])
    assert [row["business_seconds"] for row in sample] == [-3600, -3600]

    # Fixed code, same files: the batch loads.
    monkeypatch.setattr(facts_module, "fct_reply_pair", real)
    assert main([*args, "ingest", str(april), "--lake", str(tmp_path / "lake")]) == 0
    assert len(_facts(warehouse_url)["marts.fct_message"]) == len(before["marts.fct_message"]) + 4


def test_failed_message_gate_keeps_staging_and_facts(duckdb_url, tmp_path, monkeypatch):
    import kpi_transforms.pipeline.ingest as ingest

    config = load_config(DEMO / "chatkpi.yaml")
    real = ingest.canonicalise_batch

    def buggy(*a, **k):
        frame = real(*a, **k)
        return frame.assign(sender_role=frame["sender_role"].replace("bot", "robot"))

    monkeypatch.setattr(ingest, "canonicalise_batch", buggy)
    wh = Warehouse(duckdb_url)
    with pytest.raises(DataQualityError) as info:
        ingest_paths([DEMO / "landing" / "2025-03"], config, wh, lake_dir=tmp_path / "lake")
    assert failed(info.value.result) == {("expect_column_values_to_be_in_set", "sender_role")}
    for table in ("marts.fct_message", "staging.stg_message", "marts.fct_reply_pair", "audit.file_manifest", "audit.batch"):
        assert wh.scalar(f"select count(*) from {table}") == 0, table
    dq = wh.read_df("select suite, expectation, column_name, success from audit.dq_result")
    assert len(dq) == 13 and dq["success"].sum() == 12


def test_nul_detection_reads_only_each_arrays_own_bytes():
    from kpi_transforms.quality.gate import _has_nul_byte

    base = pa.array(["a\x00b", "plain", None, "", "ç\x00"])
    assert _has_nul_byte(base) and _has_nul_byte(base.cast(pa.large_string()))
    assert not _has_nul_byte(base.slice(1, 3))  # its neighbours' NULs are outside the slice
    assert _has_nul_byte(base.slice(4, 1)) and not _has_nul_byte(base.slice(0, 0))
    assert _has_nul_byte(pa.chunked_array([base.slice(1, 2), base.slice(0, 1)]))
    assert not _has_nul_byte(pa.array([None, None], pa.string())) and not _has_nul_byte(pa.array(["é", "ü"]))


# -- quotes, cases and follow-ups (issue 13: the gate covers every fact table) ---------------

@pytest.fixture(scope="module")
def case_facts(good):
    batch, _, pairs, threads = good
    config = load_config(DEMO / "chatkpi.yaml")
    calendar, keywords = BusinessCalendar.from_config(config), load_keywords(config)
    horizon = pd.Timestamp(batch["sent_at"].max())
    pairs = pairs.assign(intent=queue_intents(batch, pairs, keywords))
    quotes = fct_quote_response(batch, pairs, calendar, keywords)
    cases = fct_case(batch, pairs, calendar, keywords, data_horizon=horizon)
    follow_ups = fct_follow_up(batch, pairs, data_horizon=horizon)
    return quotes, cases, follow_ups, pairs, threads


def test_good_quotes_cases_and_follow_ups_pass(case_facts):
    quotes, cases, follow_ups, pairs, threads = case_facts
    assert len(quotes) and len(cases) and len(follow_ups)  # the demo has each kind of fact
    result = quality.validate_case_facts(quotes, cases, follow_ups, pairs, threads)
    assert result.success, result.summary()
    assert {c["suite"] for c in result.checks} == {"fct_quote_response", "fct_case", "fct_follow_up"}


def _first(frame: pd.DataFrame, column: str, value) -> pd.DataFrame:
    frame = frame.copy()
    frame[column] = frame[column].astype(object)
    frame.loc[frame.index[0], column] = value
    return frame


CASE_FACT_CASES = {
    "quote of an unknown queue": (0, lambda f: _first(f, "pair_id", "no-such-pair"),
                                  {("expect_column_values_to_be_in_set", "pair_in_fct_reply_pair")}),
    "duplicate quote request": (0, lambda f: pd.concat([f, f.iloc[:1]], ignore_index=True),
                                {("expect_column_values_to_be_unique", "pair_id")}),
    "negative quote business seconds": (0, lambda f: f.assign(business_seconds=-1, calendar_seconds=-1),
                                        {("expect_column_values_to_be_between", "business_seconds"),
                                         ("expect_column_values_to_be_between", "calendar_seconds")}),
    "case status unknown": (1, lambda f: _first(f, "status", "closed"), {("expect_column_values_to_be_in_set", "status")}),
    "case of an unknown thread": (1, lambda f: _first(f, "thread_id", "no-such-thread"),
                                  {("expect_column_values_to_be_in_set", "thread_in_fct_thread")}),
    "case without a repeat flag": (1, lambda f: _first(f, "is_repeat", None),
                                   {("expect_column_values_to_not_be_null", "is_repeat")}),
    "follow-up without messages": (2, lambda f: f.assign(n_messages=0), {("expect_column_values_to_be_between", "n_messages")}),
    "duplicate follow-up": (2, lambda f: pd.concat([f, f.iloc[:1]], ignore_index=True),
                            {("expect_column_values_to_be_unique", "follow_up_id")}),
}


@pytest.mark.parametrize("case", sorted(CASE_FACT_CASES))
def test_a_bad_quote_case_or_follow_up_row_is_caught(case_facts, case):
    quotes, cases, follow_ups, pairs, threads = case_facts
    which, mutate, expected = CASE_FACT_CASES[case]
    frames = [quotes, cases, follow_ups]
    frames[which] = mutate(frames[which])
    result = quality.validate_case_facts(*frames, pairs, threads)
    assert not result.success and failed(result) == expected, result.summary()


# -- conversations (issue 13/17: marts.fct_conversation is gated like the other fact tables) ----

@pytest.fixture(scope="module")
def conversation_facts(case_facts, good):
    batch = good[0]
    _, _, _, pairs, threads = case_facts
    config = load_config(DEMO / "chatkpi.yaml")
    conv = fct_conversation(batch, threads, pairs, pd.Timestamp(batch["sent_at"].max()), BusinessCalendar.from_config(config),
                            config.timezone, 24, 10)
    return conv, threads


def test_good_conversations_pass(conversation_facts):
    conv, threads = conversation_facts
    assert len(conv) and set(conv["status"]) >= {"resolved"}  # the demo has resolved conversations
    result = quality.validate_conversation_facts(conv, threads)
    assert result.success, result.summary()
    assert {c["suite"] for c in result.checks} == {"fct_conversation"}


CONVERSATION_CASES = {
    "duplicate conversation": (lambda f: pd.concat([f, f.iloc[:1]], ignore_index=True),
                               {("expect_column_values_to_be_unique", "conversation_id")}),
    "unknown status": (lambda f: _first(f, "status", "closed"), {("expect_column_values_to_be_in_set", "status")}),
    "conversation of an unknown thread": (lambda f: _first(f, "thread_id", "no-such-thread"),
                                          {("expect_column_values_to_be_in_set", "thread_in_fct_thread")}),
    "negative handling time": (lambda f: f.assign(handle_seconds=f["handle_seconds"].astype("Float64") * 0 - 1),
                               {("expect_column_values_to_be_between", "handle_seconds")}),
    "resolved without ART": (lambda f: f.assign(resolution_business_seconds=pd.array([None] * len(f), dtype="Int64")),
                             {("expect_column_values_to_not_be_null", "resolution_business_seconds")}),
}


@pytest.mark.parametrize("case", sorted(CONVERSATION_CASES))
def test_a_bad_conversation_row_is_caught(conversation_facts, case):
    conv, threads = conversation_facts
    mutate, expected = CONVERSATION_CASES[case]
    result = quality.validate_conversation_facts(mutate(conv), threads)
    assert not result.success and failed(result) == expected, result.summary()


# -- the vectorised evaluator decides exactly as GX does (issue 18 item 1) ------------------
# A normal run decides the suites with kpi_transforms.quality.evaluate and imports GX only
# when something does not pass (or for Data Docs, or with --gx). Each expectation's verdict
# must equal GX's on every frame GX is given here, and a passing gate must report exactly
# the checks a GX run reports.

def _verdicts_match(name: str, frame: pd.DataFrame, parameters: dict) -> bool:
    from kpi_transforms.quality import evaluate

    runtime = quality._runtime()
    plain = _plain_gx_run(name, frame, parameters)
    theirs = {(r.expectation_config.type, quality._check(name, r)["column"]): bool(r.success) for r in plain.results}
    slim = quality._slim(frame, list(frame.columns))
    for entry in runtime.modules[name].SPEC:
        column = entry.get("column") or (f"{entry['column_A']}, {entry['column_B']}" if "column_A" in entry else None)
        key = (evaluate.gx_type(entry["kind"]), column)
        try:
            mine = evaluate.passes(entry, slim, parameters)
        except evaluate.CannotEvaluate:
            mine = None  # left to GX: never a pass
        assert mine in (theirs[key], None), (name, key, mine, theirs[key])
        assert mine is not None or not theirs[key], f"{key}: GX passes what the evaluator leaves to it"
    fast = quality._fast_checks(runtime.modules[name], frame, parameters)
    if plain.success:
        gx_checks = [quality._check(name, r, runtime.row_level) for r in runtime.validate(name, frame, parameters).results]
        assert fast == gx_checks
    else:
        assert not fast[-1]["success"]
    return bool(plain.success)


def test_evaluator_verdicts_equal_gx_on_message_frames(good):
    batch, files, _, _ = good
    latest = pd.Timestamp.now(tz="UTC").tz_localize(None).to_pydatetime() + quality.FUTURE_SLACK
    verdicts = set()
    extra = [lambda b: b.iloc[:0], lambda b: b.assign(agent_id=None), lambda b: b.assign(sender_role=None),
             lambda b: b.drop(columns=["channel"])]
    for mutate in [lambda b: b, *(m for m, _ in MESSAGE_CASES.values()), *extra]:
        frame = mutate(batch.copy())
        params = {"expected_rows": len(frame), "latest_local": latest, "earliest_local": quality.EARLIEST_LOCAL}
        verdicts.add(_verdicts_match("stg_message", frame, params))
    verdicts.add(_verdicts_match("file_manifest", quality.file_frame(files), {}))
    verdicts.add(_verdicts_match("file_manifest", quality.file_frame([*files, files[0]]), {}))
    assert verdicts == {True, False}


def test_evaluator_verdicts_equal_gx_on_fact_frames(good):
    batch, _, pairs, threads = good
    cases = [(lambda p, t: (p, t)), (lambda p, t: (p.iloc[:0], t.assign(n_reply_pairs=0, n_unanswered=0)))]
    cases += [mutate for mutate, _ in PAIR_CASES.values()]
    cases += [lambda p, t, m=mutate: (p, m(t)) for mutate, _ in THREAD_CASES.values()]
    cases += [lambda p, t: (p, t.assign(first_response_seconds=None, first_response_business_seconds=None))]
    verdicts = set()
    for mutate in cases:
        pair_frame, thread_frame = quality.fact_frames(batch, *mutate(pairs.copy(), threads.copy()))
        verdicts.add(_verdicts_match("fct_reply_pair", pair_frame, {}))
        verdicts.add(_verdicts_match("fct_thread", thread_frame, {"expected_rows": batch["thread_id"].nunique()}))
    assert verdicts == {True, False}


def test_gates_report_the_same_in_fast_and_gx_mode(good, monkeypatch):
    batch, files, pairs, threads = good
    fast_messages, fast_facts = quality.validate_messages(batch, files), quality.validate_facts(batch, pairs, threads)
    assert (fast_messages.engine, fast_facts.engine) == ("fast", "fast")
    bad = quality.validate_messages(batch.assign(channel="telegram"), files)
    assert bad.engine == "gx" and not bad.success  # a failure is GX's to report, with samples
    monkeypatch.setenv(quality.ENGINE_VARIABLE, "gx")
    gx_messages, gx_facts = quality.validate_messages(batch, files), quality.validate_facts(batch, pairs, threads)
    assert (gx_messages.engine, gx_facts.engine) == ("gx", "gx")
    assert fast_messages.checks == gx_messages.checks and fast_facts.checks == gx_facts.checks
    assert fast_messages.success and fast_facts.success


def _dq_verdicts(url: str) -> list[tuple]:
    frame = Warehouse(url).read_df("select suite, expectation, column_name, success, unexpected_count, sample from audit.dq_result")
    return sorted(frame.astype(str).itertuples(index=False, name=None))


def test_cli_ingest_on_duckdb_is_quiet_and_does_not_import_gx(tmp_path):
    """A normal `chatkpi ingest` prints nothing on stderr (loading duckdb_engine and GX in one
    process made nanobind dump "leaked ..." lines at exit) and never imports GX; with --gx the
    same drop is judged by GX with the same verdicts."""
    code = ("import sys\n"
            "from kpi_transforms.cli import main\n"
            "rc = main(sys.argv[1:])\n"
            "print('GX' if 'great_expectations' in sys.modules else 'noGX')\n"
            "sys.exit(rc)\n")
    runs = {}
    for mode in ("fast", "gx"):
        url = f"duckdb:///{tmp_path / mode}.duckdb"
        args = ["--config", str(DEMO / "chatkpi.yaml"), "--warehouse", url, *(["--gx"] if mode == "gx" else []),
                "ingest", str(DEMO / "landing"), "--lake", str(tmp_path / f"lake-{mode}")]
        out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=tmp_path,
                             env={**os.environ, "GX_ANALYTICS_ENABLED": "False"})
        assert out.returncode == 0, out.stderr
        runs[mode] = (out, _dq_verdicts(url))
    fast, gx = runs["fast"][0], runs["gx"][0]
    assert fast.stderr == "", fast.stderr
    assert fast.stdout.strip().endswith("noGX") and gx.stdout.strip().endswith("GX")
    assert "64 new messages" in fast.stdout
    package = quality._expectations_package()
    every_check = sum(len(package.suite_module(name).SPEC) for name in package.SUITES)
    assert runs["fast"][1] == runs["gx"][1] and len(runs["fast"][1]) == every_check
