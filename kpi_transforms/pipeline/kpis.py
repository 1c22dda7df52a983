"""Period KPIs: read a period's facts from the warehouse, compute them
(:mod:`kpi_transforms.metrics.kpis`) and replace the period's rows of ``marts.fct_kpi``.
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import pandas as pd

from kpi_transforms.core.calendar import BusinessCalendar
from kpi_transforms.core.config import Config
from kpi_transforms.core.periods import Period, _add_months, parse_period
from kpi_transforms.metrics.catalogue import KPI_CONTRACT
from kpi_transforms.facts.conversations import stored_conversations
from kpi_transforms.metrics.kpis import PeriodFacts, Sources, _order_agents, fct_kpi
from kpi_transforms.pipeline.audit import audit_kpis
from kpi_transforms.warehouse.engine import Warehouse


# --------------------------------------------------------------------------------------------
# Reading a period from the warehouse
def _bounds(period: Period) -> dict[str, dt.datetime]:
    return {"lo": dt.datetime.combine(period.start, dt.time()), "hi": dt.datetime.combine(period.end, dt.time())}


def load_period_facts(warehouse: Warehouse, period: Period, config: Config | None = None, conn=None) -> PeriodFacts:
    """Everything :func:`fct_kpi` needs for ``period`` (facts whose start event lies in it)."""
    if conn is None:
        with warehouse.begin() as own:
            return load_period_facts(warehouse, period, config, own)
    config = config or Config()
    b = _bounds(period)
    read = functools.partial(warehouse.read_df, conn=conn)
    pairs = read(
        "select * from marts.fct_reply_pair where question_at_local >= :lo and question_at_local < :hi", b)
    threads = read(
        "select t.* from marts.fct_thread t where t.thread_id in (select p.thread_id from marts.fct_reply_pair p"
        " where p.question_at_local >= :lo and p.question_at_local < :hi)", b)
    first_queues = read(
        "with ranked as (select p.*, row_number() over (partition by p.thread_id order by p.question_at, p.pair_id) as queue_rank"
        " from marts.fct_reply_pair p)"
        " select r.* from ranked r join marts.fct_thread t on t.thread_id = r.thread_id"
        " where r.queue_rank = 1 and t.is_new_customer and r.question_at_local >= :lo and r.question_at_local < :hi", b)
    quotes = read(  # with the thread's channel: quote_response_*_<channel>
        "select q.*, t.channel from marts.fct_quote_response q left join marts.fct_thread t on t.thread_id = q.thread_id"
        " where q.question_at_local >= :lo and q.question_at_local < :hi", b)
    cases = read(
        "select c.*, t.channel from marts.fct_case c left join marts.fct_thread t on t.thread_id = c.thread_id"
        " where c.opened_at_local >= :lo and c.opened_at_local < :hi", b)
    follow_ups = read(
        "select * from marts.fct_follow_up where followed_up_at_local >= :lo and followed_up_at_local < :hi", b)

    summary = read("select count(*) as n, min(order_date) as lo, max(order_date) as hi from marts.fct_order")
    n_orders = int(summary["n"].iloc[0]) if len(summary) else 0
    n_list = int(warehouse.scalar("select count(*) from marts.ref_customer_list where first_transaction_at is not null", conn=conn) or 0)
    n_ratings = int(warehouse.scalar("select count(*) from marts.fct_chat_rating", conn=conn) or 0)
    n_surveys = int(warehouse.scalar("select count(*) from marts.fct_survey_response", conn=conn) or 0)
    n_products = int(warehouse.scalar(
        "select count(*) from marts.fct_order_product where product is not null or product_category is not null", conn=conn) or 0)
    sources = Sources(
        has_orders=n_orders > 0,
        order_min=pd.Timestamp(summary["lo"].iloc[0]).date() if n_orders else None,
        order_max=pd.Timestamp(summary["hi"].iloc[0]).date() if n_orders else None,
        has_customer_list=n_list > 0,
        has_ratings=n_ratings > 0,
        has_surveys=n_surveys > 0,
        has_products=n_products > 0,
    )
    orders = pd.DataFrame(columns=["order_date", "amount_idr", "market", "customer", "agent_id"])
    first_orders = pd.DataFrame(columns=["customer", "first_order_date", "agent_id"])
    if sources.has_orders:
        window = {"lo": _add_months(period.end, -6), "hi": period.end}
        orders = read(
            "select order_id, order_date, amount_idr, market, coalesce(customer_id, customer_key) as customer"
            " from marts.fct_order where order_date >= :lo and order_date < :hi", window)
        first_orders = read(
            "with firsts as (select coalesce(customer_id, customer_key) as customer, min(order_date) as first_order_date"
            " from marts.fct_order group by coalesce(customer_id, customer_key)),"
            " known as (select customer_id, min(first_transaction_at) as first_known from ("
            "   select customer_id, first_transaction_at from marts.ref_customer_list"
            "   union all select customer_id, first_transaction_at from marts.dim_customer) k group by customer_id)"
            " select f.customer, f.first_order_date from firsts f left join known k on k.customer_id = f.customer"
            " where f.customer is not null and f.first_order_date >= :lo and f.first_order_date < :hi"
            " and (k.first_known is null or k.first_known >= f.first_order_date)",
            {"lo": period.start, "hi": period.end})
        customers = sorted(set(orders["customer"].dropna()) | set(first_orders["customer"].dropna()))
        if customers:
            owners = _threads_of_customers(warehouse, conn, customers)
            orders["agent_id"] = _order_agents(orders, owners, config.timezone, "order_date")
            first_orders["agent_id"] = _order_agents(first_orders, owners, config.timezone, "first_order_date")
        else:
            orders["agent_id"] = None
            first_orders["agent_id"] = None
    # the rating's agent and issue category are defined once, by bi.v_chat_ratings (V025), which the
    # report's CSAT fact lists read too
    ratings = read(
        "select r.thread_id, r.stars, r.agent_id, r.category from bi.v_chat_ratings r"
        " where r.rated_at_local >= :lo and r.rated_at_local < :hi", b)
    conv = period_conversations(warehouse, conn, period)
    horizon = warehouse.scalar("select max(sent_at) from marts.fct_message", conn=conn)
    months = 1 if period.period_type == "month" else 3
    previous = Period(period.period_type, _add_months(period.start, -months), period.start)
    pb = _bounds(previous)
    prev_cases = read("select agent_id, category from marts.fct_case where opened_at_local >= :lo and opened_at_local < :hi", pb)
    prev_pairs = read(
        "select agent_id, intent from marts.fct_reply_pair where question_at_local >= :lo and question_at_local < :hi", pb)
    surveys = period_surveys(warehouse, conn, period, config) if n_surveys else pd.DataFrame()
    product_lines = pd.DataFrame()
    if n_products and sources.has_orders:
        product_lines = read(
            "select o.order_id, o.order_date, coalesce(o.customer_id, o.customer_key) as customer, p.product, p.product_category"
            " from marts.fct_order_product p join marts.fct_order o on o.order_id = p.order_id where o.order_date < :hi"
            " and (p.product is not null or p.product_category is not null)",  # an empty line: listed without products
            {"hi": period.end})
        customers = sorted(set(product_lines["customer"].dropna()))
        owners = _threads_of_customers(warehouse, conn, customers) if customers else pd.DataFrame()
        product_lines["agent_id"] = _order_agents(product_lines, owners, config.timezone, "order_date")
    return PeriodFacts(pairs=pairs, threads=threads, first_queues=first_queues, quotes=quotes, cases=cases,
                       follow_ups=follow_ups, orders=orders, first_orders=first_orders, ratings=ratings, sources=sources,
                       conversations=conv, horizon=None if horizon is None else pd.Timestamp(horizon),
                       settings=config.kpi, prev_cases=prev_cases, prev_pairs=prev_pairs, prev_label=previous.label,
                       surveys=surveys, product_lines=product_lines, qa_reviews=period_qa_reviews(warehouse, conn, period))


def period_qa_reviews(warehouse: Warehouse, conn, period: Period) -> pd.DataFrame:
    """The reviewed first replies of the period's months (issue 19, ``qa_first_reply_rate``):
    per month's audit validation, the thread's first queue of that month and who answered it."""
    frames = []
    for month in period.months():
        frames.append(warehouse.read_df(
            "with firsts as (select p.thread_id, p.agent_id, p.status, row_number() over"
            "   (partition by p.thread_id order by p.question_at, p.pair_id) as rn"
            "   from marts.fct_reply_pair p join audit.validation v on v.thread_id = p.thread_id and v.period = :m"
            "   where p.question_at_local >= :lo and p.question_at_local < :hi)"
            " select v.period as month, f.agent_id, v.approved, coalesce(f.status = 'answered', false) as answered"
            " from audit.validation v left join firsts f on f.thread_id = v.thread_id and f.rn = 1 where v.period = :m",
            {"m": month.label, **_bounds(month)}, conn=conn))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if len(out):
        out["agent_id"] = out["agent_id"].where(_answered(out), None)
    return out


def _answered(frame: pd.DataFrame) -> pd.Series:
    return frame["answered"].astype("boolean").fillna(False).astype(bool)


def period_surveys(warehouse: Warehouse, conn, period: Period, config: Config) -> pd.DataFrame:
    """Survey answers of the period with their agent: the primary agent of the thread named,
    else of the customer's latest thread started on or before the answer's date. The answer's
    customer key (id, phone, e-mail or ``name:`` key) goes through ``marts.map_customer_key``
    like a chat's or an order's key, when the KPIs are computed, so a map loaded after the
    survey still applies; a key nobody maps stays its own customer."""
    answers = warehouse.read_df(
        "select s.survey, s.score, s.scale_min, s.scale_max, s.responded_at_local, t.primary_agent_id,"
        " coalesce(t.customer_id, k.customer_id, s.customer_key) as customer from marts.fct_survey_response s"
        " left join marts.fct_thread t on t.thread_id = s.thread_id"
        " left join marts.map_customer_key k on k.customer_key = s.customer_key"
        " where s.responded_at_local >= :lo and s.responded_at_local < :hi", _bounds(period), conn=conn)
    answers["day"] = pd.to_datetime(answers["responded_at_local"]).dt.normalize()
    agents = answers["primary_agent_id"].astype(object).to_numpy()
    customers = sorted(set(answers["customer"].dropna()))
    if customers:
        by_customer = _order_agents(answers, _threads_of_customers(warehouse, conn, customers), config.timezone, "day")
        agents = np.where(pd.isna(agents), by_customer, agents)
    answers["agent_id"] = [a if isinstance(a, str) else None for a in agents]
    return answers


def period_conversations(warehouse: Warehouse, conn, period: Period) -> pd.DataFrame:
    """The stored conversations (``marts.fct_conversation``, issue 19) started in the period:
    status, AHT / ART measures and the FCR / abandonment flags as the fact build decided them."""
    stored = warehouse.read_df(
        "select * from marts.fct_conversation where started_at_local >= :lo and started_at_local < :hi"
        " order by thread_id, started_at", _bounds(period), conn=conn)
    return stored_conversations(stored)


def _threads_of_customers(warehouse: Warehouse, conn, customers: list[str]) -> pd.DataFrame:
    """Threads of the given customers (the keys are loaded as a bound key table)."""
    with warehouse.staged_keys(conn, "staging.stg_thread_key", "thread_id", customers):
        return warehouse.read_df(
            "select t.thread_id, t.customer_id, t.primary_agent_id, t.first_message_at from marts.fct_thread t"
            " join staging.stg_thread_key k on k.thread_id = t.customer_id", conn=conn)


def _audit_rows(warehouse: Warehouse, period: Period) -> pd.DataFrame | None:
    """The audit KPIs (SPEC 10) of the period's reviewed sample."""
    return audit_kpis(warehouse, period)


def compute_period_kpis(warehouse: Warehouse, config: Config, period_text: str) -> pd.DataFrame:
    """Compute a period's KPIs and replace its rows in ``marts.fct_kpi`` (one transaction).
    Reads the facts as the fact build stored them (``is_repeat``, follow-up outcomes and the
    response-rate flags included) and writes no other table."""

    period = parse_period(period_text)
    warehouse.init()
    with warehouse.begin() as conn:
        facts = load_period_facts(warehouse, period, config, conn)
    facts.audit = _audit_rows(warehouse, period)
    frame = fct_kpi(facts, period, BusinessCalendar.from_config(config))
    with warehouse.begin() as conn:
        warehouse.lock(conn, "kpi")
        warehouse.execute(
            conn,
            "delete from marts.fct_kpi where period_type = :t and period_start = :s",
            {"t": period.period_type, "s": period.start},
        )
        warehouse.bulk_insert(conn, "marts.fct_kpi", KPI_CONTRACT.arrow_table(frame))
    return frame
