-- Chat ratings as a BI fact list (issue 17 item 1: "every KPI figure links to the list of facts it
-- counts; BI views expose the same lists with the same keys"). bi.v_chat_ratings has one row per
-- marts.fct_chat_rating row with the two columns csat_rate, resolution_rate and csat_rate_<category>
-- are counted by: the agent (the rated thread's primary agent, SPEC: ratings go to the thread's
-- primary agent) and the issue category (the thread's latest complaint case opened at or before the
-- rating; none = no_complaint). They are defined here only: the KPI step
-- (kpi_transforms.pipeline.kpis.load_period_facts) reads its ratings from this view, and the HTML
-- report lists the same rows under each CSAT figure.
-- Customers masked as in bi.v_reply_pairs (V016/V024): customer_key is the keyed hash of the thread's
-- customer_id, the same key as every other bi view. No thread name (bi.v_threads masks it; joining it
-- here would mask every thread at each KPI run), join bi.v_threads on thread_id for it.
-- bi_reader reads it through V010's default privileges on schema bi (as V020/V024's views).

create or replace view bi.v_chat_ratings as
with mask as (
    select mask_key from audit.bi_mask_key
),
final as (
    select r.rating_id,
           r.thread_id,
           r.channel,
           left({{sha256(m.mask_key || '|' || t.customer_id)}}, 16) as customer_key,
           t.primary_agent_id as agent_id,
           (select c.category from marts.fct_case c where c.thread_id = r.thread_id and c.opened_at <= r.rated_at
            order by c.opened_at desc, c.case_id desc limit 1) as category,
           r.rated_at,
           r.rated_at_local,
           cast(date_trunc('month', r.rated_at_local) as date) as month_start,
           cast(date_trunc('quarter', r.rated_at_local) as date) as quarter_start,
           r.stars
    from marts.fct_chat_rating r
    cross join mask m
    left join marts.fct_thread t on t.thread_id = r.thread_id
)
select * from final;
comment on view bi.v_chat_ratings is 'One row per chat rating (marts.fct_chat_rating) with the customer masked: the rows csat_rate (4-5 stars), resolution_rate (3+ stars) and csat_rate_<category> count (the KPI step reads them from here).';
comment on column bi.v_chat_ratings.rating_id is 'Rating key (marts.fct_chat_rating.rating_id).';
comment on column bi.v_chat_ratings.thread_id is 'Thread rated; its transcript is bi.v_transcript, its masked name bi.v_threads.thread_name.';
comment on column bi.v_chat_ratings.channel is 'Channel of the thread (marketplace).';
comment on column bi.v_chat_ratings.customer_key is 'Masked customer of the thread (as bi.v_threads.customer_key).';
comment on column bi.v_chat_ratings.agent_id is 'Agent the rating counts for: the thread''s primary agent.';
comment on column bi.v_chat_ratings.category is 'Issue category of csat_rate_<category>: the thread''s latest complaint case opened at or before the rating (kurang | rusak | salah_kirim | telat | lainnya); null = no complaint case (csat_rate_no_complaint).';
comment on column bi.v_chat_ratings.rated_at is 'When the rating was given (UTC).';
comment on column bi.v_chat_ratings.rated_at_local is 'The same, local time: the period of the rating is its local date.';
comment on column bi.v_chat_ratings.month_start is 'First local date of the month of the rating (its period).';
comment on column bi.v_chat_ratings.quarter_start is 'First local date of the quarter of the rating.';
comment on column bi.v_chat_ratings.stars is 'Rating, 1 to 5 stars: csat_rate counts 4-5, resolution_rate 3+.';
