"""Rebuild the fact tables (``marts.fct_reply_pair``, ``fct_thread``, ``fct_quote_response``,
``fct_case``, ``fct_follow_up``, ``fct_conversation``) for the threads an ingest touched.

A message that arrives tomorrow can answer today's open queue, so facts are rebuilt per thread
from all of its messages, never appended. Threads with pending queues or open conversations are
rebuilt too: their ``within_*`` / SLA flags and a conversation's status depend on the data
horizon, which moves with every ingest. Flags that depend on other threads or on orders
(``fct_case.is_repeat``, the follow-up outcomes, ``fct_conversation.is_fcr`` / ``is_abandoned``)
are recomputed over the whole tables in every ingest transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection

from kpi_transforms.core.calendar import BusinessCalendar
from kpi_transforms.core.config import Config
from kpi_transforms.core.contracts import contract
from kpi_transforms.core.schema import MESSAGE_COLUMNS
from kpi_transforms.facts.cases import fct_case
from kpi_transforms.facts.conversations import conversation_flags, fct_conversation, stored_conversations
from kpi_transforms.facts.follow_ups import fct_follow_up
from kpi_transforms.facts.intents import INTENT_COLUMNS, classify_queues
from kpi_transforms.facts.keywords import load_keywords
from kpi_transforms.facts.quotes import fct_quote_response
from kpi_transforms.facts.reply_pairs import PAIR_COLUMNS as _PAIR_TRANSFORM_COLUMNS
from kpi_transforms.facts.reply_pairs import RATE_FLAG_COLUMNS, fct_reply_pair, sla_flags
from kpi_transforms.facts.thread_view import ThreadView, thread_view
from kpi_transforms.facts.threads import THREAD_COLUMNS as _THREAD_TRANSFORM_COLUMNS
from kpi_transforms.facts.threads import fct_thread
from kpi_transforms.pipeline.customers import refresh_customers, resolve_customers
from kpi_transforms.pipeline.intent_store import active_intent_model
from kpi_transforms.quality.gate import DataQualityError, validate_case_facts, validate_conversation_facts, validate_facts
from kpi_transforms.warehouse.engine import Warehouse

log = logging.getLogger(__name__)


def read_manual_intent_labels(warehouse: Any, conn: Any, thread_ids: Iterable[str]) -> pd.DataFrame:
    """Rows of ``marts.manual_intent_label`` for the given threads (labels by question id
    name their thread too)."""
    frame = warehouse.read_df(
        "select thread_id, question_message_id, intent, file_seq, source_line from marts.manual_intent_label",
        conn=conn,
    )
    wanted = set(thread_ids)
    return frame[frame["thread_id"].isin(wanted) | frame["thread_id"].isna()].reset_index(drop=True)


def pair_intents(
    warehouse: Any, conn: Any, messages: pd.DataFrame, pairs: pd.DataFrame, config: Config, *, view: ThreadView | None = None
) -> pd.DataFrame:
    """``fct_reply_pair.intent``, ``intent_source`` and ``intent_confidence`` for rebuilt pairs
    (the hook :func:`rebuild_facts` calls): manual label > strong keyword override > the
    warehouse's active intent model (else the bundled one); see
    :func:`kpi_transforms.facts.intents.classify_queues`."""
    manual = read_manual_intent_labels(warehouse, conn, pairs["thread_id"].unique() if len(pairs) else [])
    return classify_queues(messages, pairs, active_intent_model(warehouse, conn), manual, view=view)

log = logging.getLogger(__name__)
_NAT = np.iinfo(np.int64).min


# --------------------------------------------------------------------------------------------
# Warehouse: rebuild per thread, cross-thread flags
# --------------------------------------------------------------------------------------------

REPEAT_SQL = """
update marts.fct_case set is_repeat = flagged.is_repeat
from (
    select case_id,
           customer_id is not null and coalesce(
               opened_at - lag(opened_at) over (partition by customer_id, category order by opened_at, case_id)
               <= interval '720 hours', false) as is_repeat
    from marts.fct_case
) flagged
where flagged.case_id = marts.fct_case.case_id and flagged.is_repeat <> marts.fct_case.is_repeat
"""


def read_manual_case_resolutions(warehouse: Any, conn: Any, thread_ids: Sequence[str]) -> pd.DataFrame:
    """Rows of ``marts.manual_case_resolution`` for the given threads."""
    frame = warehouse.read_df(
        "select thread_id, case_ref, resolved_at, resolved_at_local, resolution, file_seq, source_line"
        " from marts.manual_case_resolution",
        conn=conn,
    )
    return frame[frame["thread_id"].isin(set(thread_ids))].reset_index(drop=True)


def refresh_cross_thread_flags(warehouse: Any, conn: Any, config: Config | None = None) -> None:
    """Flags that depend on other threads or on orders, recomputed over the whole tables:
    ``fct_case.is_repeat`` and the follow-ups' segment / response / order outcome (set-based
    SQL), and ``fct_conversation.is_fcr`` / ``is_abandoned`` (:func:`refresh_conversation_flags`).
    Part of the fact build only (every ingest transaction, :func:`rebuild_facts`); the KPI
    step reads the stored flags and writes nothing but ``marts.fct_kpi``."""

    warehouse.execute(conn, REPEAT_SQL)
    refresh_follow_up_outcomes(warehouse, conn)
    refresh_conversation_flags(warehouse, conn, config or Config())


CONVERSATION_FLAG_INPUTS = ("select conversation_id, thread_id, customer_id, intent, status, started_at, resolved_at,"
                            " last_message_at, is_fcr, is_abandoned from marts.fct_conversation")


def refresh_conversation_flags(warehouse: Any, conn: Any, config: Config) -> int:
    """``is_fcr`` and ``is_abandoned`` of every stored conversation, decided again by
    :func:`kpi_transforms.facts.conversations.conversation_flags` (the one definition) against
    every conversation, every order and the data horizon; the rows whose flags changed are
    replaced. Returns how many. A later message (a customer coming back), an order or a later
    horizon (a window closing) changes them, whichever thread or file brought it."""
    stored = warehouse.read_df(CONVERSATION_FLAG_INPUTS, conn=conn)
    if stored.empty:
        return 0
    horizon = warehouse.scalar("select max(sent_at) from marts.fct_message", conn=conn)
    orders = warehouse.read_df("select coalesce(customer_id, customer_key) as customer, order_date from marts.fct_order",
                               conn=conn)
    settings = config.kpi
    flags = conversation_flags(stored_conversations(stored), orders, None if horizon is None else pd.Timestamp(horizon),
                               settings.fcr_days, settings.abandon_days, config.timezone)
    changed = np.zeros(len(stored), dtype=bool)
    for col in ("is_fcr", "is_abandoned"):
        old, new = stored[col].astype("boolean"), flags[col]
        changed |= ((old.isna() != new.isna()) | (old.fillna(False) != new.fillna(False))).to_numpy(dtype=bool)
    if not changed.any():
        return 0
    ids = stored["conversation_id"][changed].astype(str).tolist()
    with warehouse.staged_keys(conn, "staging.stg_row_key", "row_key", ids):
        rows = warehouse.read_df("select c.* from marts.fct_conversation c join staging.stg_row_key k on k.row_key = c.conversation_id",
                                 conn=conn)
    new_flags = flags[changed].set_index(stored["conversation_id"][changed].astype(str).to_numpy())
    rows["is_fcr"] = rows["conversation_id"].astype(str).map(new_flags["is_fcr"]).astype("boolean")
    rows["is_abandoned"] = rows["conversation_id"].astype(str).map(new_flags["is_abandoned"]).astype("boolean")
    warehouse.delete_where_in(conn, "marts.fct_conversation", "conversation_id", ids)
    warehouse.bulk_insert(conn, "marts.fct_conversation", contract("fct_conversation").arrow_table(rows))
    log.info("refreshed FCR / abandonment of %d conversation(s)", len(ids))
    return len(ids)


def rebuild_case_facts(
    warehouse: Any,
    conn: Any,
    threads: Sequence[str],
    messages: pd.DataFrame,
    pairs: pd.DataFrame,
    config: Any,
    calendar: BusinessCalendar,
    horizon: Any,
    *,
    view: ThreadView | None = None,
    threads_frame: pd.DataFrame | None = None,
    dq_results: list | None = None,
) -> None:
    """Replace ``fct_quote_response``, ``fct_case`` and ``fct_follow_up`` rows of ``threads``
    (delete + insert inside the caller's transaction), then refresh the cross-thread flags.
    ``view``: :func:`~kpi_transforms.intents.thread_view` of ``messages`` and ``pairs``; built
    here once for the three transforms when not given. With ``threads_frame`` (the rebuilt
    ``fct_thread`` rows) the new rows pass the data-quality gate first; its result is appended
    to ``dq_results`` and a failure raises :class:`DataQualityError`."""

    keywords = load_keywords(config)
    manual = read_manual_case_resolutions(warehouse, conn, threads)
    if view is None and len(messages):
        view = thread_view(messages, pairs)
    facts = {
        "marts.fct_quote_response": fct_quote_response(messages, pairs, calendar, keywords, view=view),
        "marts.fct_case": fct_case(messages, pairs, calendar, keywords, data_horizon=horizon, manual=manual, view=view),
        "marts.fct_follow_up": fct_follow_up(messages, pairs, data_horizon=horizon, view=view),
    }
    if threads_frame is not None:
        gate = validate_case_facts(facts["marts.fct_quote_response"], facts["marts.fct_case"],
                                   facts["marts.fct_follow_up"], pairs, threads_frame)
        if dq_results is not None:
            dq_results.append(gate)
        if not gate.success:
            raise DataQualityError(gate)
    for table, frame in facts.items():
        warehouse.delete_where_in(conn, table, "thread_id", list(threads))
        warehouse.bulk_insert(conn, table, contract(table).arrow_table(frame))
    refresh_cross_thread_flags(warehouse, conn, config)
    log.info("rebuilt %d quote responses, %d cases, %d follow-ups",
             *(len(f) for f in facts.values()))
_NAT = np.iinfo(np.int64).min


# The one definition of segment / ordered / responded (see the module docstring), as one
# set-based statement: equality joins on customer_id (hash joins on both engines), no
# correlated sub-query per row. Dates are local: order_date is a local date, d the follow-up's.
OUTCOME_SQL = """
update marts.fct_follow_up set
    segment = x.segment, ordered_on = x.ordered_on, is_ordered = x.is_ordered, is_responded = x.is_responded
from (
    with f as (
        select follow_up_id, customer_id, followed_up_at, customer_replied_at,
               cast(followed_up_at_local as date) as d
        from marts.fct_follow_up
    ),
    known_before as (
        select distinct f.follow_up_id from f
        join marts.fct_order o on o.customer_id = f.customer_id and o.order_date < f.d
        union
        select f.follow_up_id from f
        join marts.ref_customer_list r on r.customer_id = f.customer_id and r.first_transaction_at < f.d
        union
        select f.follow_up_id from f
        join marts.dim_customer c on c.customer_id = f.customer_id and c.first_transaction_at < f.d
    ),
    won as (
        select f.follow_up_id, min(o.order_date) as ordered_on from f
        join marts.fct_order o on o.customer_id = f.customer_id and o.order_date >= f.d and o.order_date <= f.d + 30
        group by f.follow_up_id
    ),
    horizon as (
        select (select max(order_date) from marts.fct_order) as last_order_date,
               (select max(sent_at) from marts.fct_message) as last_message_at
    )
    select f.follow_up_id,
           case when k.follow_up_id is not null then 'existing' else 'new' end as segment,
           w.ordered_on,
           case when w.ordered_on is not null then true
                when h.last_order_date >= f.d + 30 then false end as is_ordered,
           case when f.customer_replied_at is not null
                     and f.customer_replied_at <= f.followed_up_at + interval '168 hours' then true
                when h.last_message_at >= f.followed_up_at + interval '168 hours' then false end as is_responded
    from f
    cross join horizon h
    left join known_before k on k.follow_up_id = f.follow_up_id
    left join won w on w.follow_up_id = f.follow_up_id
) x
where x.follow_up_id = marts.fct_follow_up.follow_up_id
"""


def refresh_follow_up_outcomes(warehouse: Any, conn: Any) -> None:
    """Recompute segment, ordered_on, is_ordered and is_responded of every follow-up from the
    orders, customer list and messages in the warehouse (one set-based statement)."""
    warehouse.execute(conn, OUTCOME_SQL)

log = logging.getLogger(__name__)

# marts.fct_reply_pair in table order: the columns fct_reply_pair produces, the queue intent
# added here (V011), the response-rate flags (V013), then what decided the intent and how sure
# the model is (V023).
PAIR_COLUMNS = [
    *(c for c in _PAIR_TRANSFORM_COLUMNS if c not in RATE_FLAG_COLUMNS), "intent", *RATE_FLAG_COLUMNS,
    *(c for c in INTENT_COLUMNS if c != "intent"), "is_within_sla",
]
THREAD_COLUMNS = list(_THREAD_TRANSFORM_COLUMNS)


def load_thread_messages(
    warehouse: Warehouse, conn: Connection, thread_ids: Sequence[str], batch: pd.DataFrame | None = None
) -> pd.DataFrame:
    """All messages of the given threads, as a canonical frame.

    ``batch`` (optional) holds canonical rows the caller has just merged into
    ``marts.fct_message`` in this transaction, without in-batch duplicates. A thread none of
    whose stored messages came from another batch is taken from it instead of being read back:
    the messages of a new export are not held twice (1 M messages: 0.5 GB and 0.2-1 s)."""
    if not thread_ids:
        return pd.DataFrame()
    wanted = list(dict.fromkeys(thread_ids))
    from_batch = None
    if batch is not None and len(batch):
        batch_ids = batch["batch_id"].unique().tolist()
        candidates = sorted(set(batch["thread_id"].unique().tolist()) & set(wanted))
        if len(batch_ids) == 1 and candidates:
            with warehouse.staged_keys(conn, "staging.stg_thread_key", "thread_id", candidates):
                older = warehouse.read_df(
                    "select distinct m.thread_id from marts.fct_message m join staging.stg_thread_key k on k.thread_id = m.thread_id"
                    " where m.batch_id <> :batch",
                    {"batch": batch_ids[0]},
                    conn=conn,
                )
            only_new = set(candidates) - set(older["thread_id"])
            if only_new:
                from_batch = batch[batch["thread_id"].isin(only_new)]
                wanted = [t for t in wanted if t not in only_new]
    frames = []
    if wanted:
        with warehouse.staged_keys(conn, "staging.stg_thread_key", "thread_id", wanted):
            frames.append(
                warehouse.read_df(
                    "select m.* from marts.fct_message m join staging.stg_thread_key k on k.thread_id = m.thread_id", conn=conn
                )
            )
    if from_batch is not None:
        frames.append(from_batch[MESSAGE_COLUMNS])
    frames = [normalise_message_frame(f) for f in frames if len(f)]
    if not frames:
        return pd.DataFrame()
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)


def normalise_message_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Warehouse reads -> the dtypes the transforms expect (both engines give the same frame)."""
    if frame.empty:
        return frame
    frame = frame.copy(deep=False)  # columns are replaced below, never written into
    frame["sent_at"] = pd.to_datetime(frame["sent_at"], utc=True).astype("datetime64[us, UTC]")
    frame["sent_at_local"] = pd.to_datetime(frame["sent_at_local"]).astype("datetime64[us]")
    for col in ("message_id", "thread_id", "thread_name", "channel", "sender_name", "sender_role", "agent_id",
                "customer_id", "message_type", "text", "source_file", "batch_id"):
        frame[col] = frame[col].astype("string")
    frame["is_auto_reply"] = frame["is_auto_reply"].astype(bool)
    frame["source_line"] = frame["source_line"].astype("int64")
    frame["file_seq"] = frame["file_seq"].astype("int64")
    return frame


# Threads rebuilt in every ingest whatever it brought: pending queues (their within_* and SLA
# flags wait for the horizon), open conversations (their status waits for it), and threads whose
# queues have no conversation or no SLA flag yet (stored before V024: filled once).
PENDING_THREADS_SQL = """
select thread_id from marts.fct_reply_pair
where (status = 'unanswered' and (within_24h is null or within_1_working_day is null))
   or (is_within_sla is null and ((status = 'answered' and is_valid) or (status = 'unanswered' and not is_in_closed_period)))
union
select thread_id from marts.fct_conversation where status = 'open'
union
select p.thread_id from marts.fct_reply_pair p
where not exists (select 1 from marts.fct_conversation c where c.thread_id = p.thread_id)
"""


def rebuild_facts(
    warehouse: Warehouse,
    conn: Connection,
    affected: Sequence[str],
    config: Config,
    *,
    dq_results: list | None = None,
    batch: pd.DataFrame | None = None,
) -> int:
    """Recompute pairs and thread facts of ``affected`` threads plus threads with pending
    queues, inside the caller's transaction. Returns the number of threads rebuilt.

    The new facts pass the data-quality gate before they replace the old ones; a failure raises
    :class:`~kpi_transforms.quality.DataQualityError` (the caller's transaction rolls back).
    The gate's :class:`~kpi_transforms.quality.DQResult` is appended to ``dq_results``.
    ``batch``: the canonical rows the caller has just merged (see :func:`load_thread_messages`)."""
    pending = warehouse.read_df(PENDING_THREADS_SQL, conn=conn)["thread_id"].tolist()
    threads = sorted(set(affected) | set(pending))
    if not threads:
        # orders, customer lists or a later horizon can still change the cross-thread flags
        refresh_cross_thread_flags(warehouse, conn, config)
        return 0
    horizon = warehouse.scalar("select max(sent_at) from marts.fct_message", conn=conn)
    horizon = pd.Timestamp(horizon).tz_convert("UTC") if pd.Timestamp(horizon).tzinfo else pd.Timestamp(horizon, tz="UTC")
    calendar = BusinessCalendar.from_config(config)
    messages = load_thread_messages(warehouse, conn, threads, batch)  # new threads come from ``batch``
    messages = resolve_customers(warehouse, conn, messages)  # customer_map / customer lists -> canonical ids
    pairs = fct_reply_pair(messages, calendar, data_horizon=horizon)
    # Thread order, message classes, texts and queue positions, built once for the intents and
    # for the quote, case and follow-up transforms (each would otherwise sort the messages again).
    # message_id is the key of marts.fct_message: unique, so queues can be located by position.
    view = thread_view(messages, pairs, unique_ids=True) if len(messages) else None
    # complaint | quote_request | order | other
    intents = pair_intents(warehouse, conn, messages, pairs, config, view=view)
    for col in INTENT_COLUMNS:
        pairs[col] = intents[col]
    pairs["is_within_sla"] = sla_flags(pairs, calendar, dict(config.kpi.sla_minutes), horizon)
    thread_facts = fct_thread(messages, pairs, calendar, view=view)
    settings = config.kpi
    conversation_facts = fct_conversation(messages, thread_facts, pairs, horizon, calendar, config.timezone,
                                          settings.conversation_gap_hours, settings.aht_idle_minutes)

    gate = validate_facts(messages, pairs[PAIR_COLUMNS], thread_facts[THREAD_COLUMNS])
    if dq_results is not None:
        dq_results.append(gate)
    if not gate.success:
        raise DataQualityError(gate)
    gate = validate_conversation_facts(conversation_facts, thread_facts)
    if dq_results is not None:
        dq_results.append(gate)
    if not gate.success:
        raise DataQualityError(gate)

    warehouse.delete_where_in(conn, "marts.fct_reply_pair", "thread_id", threads)
    warehouse.delete_where_in(conn, "marts.fct_thread", "thread_id", threads)
    warehouse.bulk_insert(conn, "marts.fct_reply_pair", contract("fct_reply_pair").arrow_table(pairs))
    warehouse.bulk_insert(conn, "marts.fct_thread", contract("fct_thread").arrow_table(thread_facts))
    warehouse.delete_where_in(conn, "marts.fct_conversation", "thread_id", threads)
    warehouse.bulk_insert(conn, "marts.fct_conversation", contract("fct_conversation").arrow_table(conversation_facts))
    # marts.dim_customer rows of these threads' customers, then is_new_customer of all their
    # threads under the one rule (facts.threads.is_new_customer), whichever batch brought them
    refresh_customers(warehouse, conn, config, threads)
    # quotes, cases, follow-ups
    rebuild_case_facts(warehouse, conn, threads, messages, pairs, config, calendar, horizon, view=view,
                       threads_frame=thread_facts, dq_results=dq_results)
    log.info("rebuilt facts of %d threads (%d pairs)", len(threads), len(pairs))
    return len(threads)

