-- Survey responses (issue 19): NPS and CES answers loaded from survey sheets (.csv / .xlsx),
-- merged on response_id like the other row files (the latest-loaded file wins per id).

create table if not exists marts.fct_survey_response (
    response_id         varchar   not null primary key,
    survey              varchar   not null,
    thread_id           varchar,
    customer_key        varchar,
    responded_at        timestamptz not null,
    responded_at_local  timestamp not null,
    score               double precision not null,
    scale_min           bigint    not null,
    scale_max           bigint    not null,
    source_file         varchar   not null,
    source_line         bigint    not null,
    file_seq            bigint    not null
);
comment on table marts.fct_survey_response is 'One row per survey answer (NPS, CES) from a survey file: nps_score and ces_avg of marts.fct_kpi.';
comment on column marts.fct_survey_response.response_id is 'Deterministic id: hash of survey, thread, customer key and local answer time (a re-export repeats the same id).';
comment on column marts.fct_survey_response.survey is 'nps | ces (from the survey column, else nps for a 0-10 scale and ces for any other).';
comment on column marts.fct_survey_response.thread_id is 'Thread the answer is about, when the file names one.';
comment on column marts.fct_survey_response.customer_key is 'Customer of the answer: the id given, else the normalised phone, e-mail or name:<name> (the keys of the sales report).';
comment on column marts.fct_survey_response.responded_at is 'When the answer was given (UTC); a date alone is local midnight.';
comment on column marts.fct_survey_response.responded_at_local is 'The same, local time: the period of the answer is its local date.';
comment on column marts.fct_survey_response.score is 'The score as given, inside [scale_min, scale_max].';
comment on column marts.fct_survey_response.scale_min is 'Lowest score of the scale (0 for NPS).';
comment on column marts.fct_survey_response.scale_max is 'Highest score of the scale (10 for NPS).';
comment on column marts.fct_survey_response.source_file is 'Survey file the answer was read from.';
comment on column marts.fct_survey_response.source_line is 'Row of that file.';
comment on column marts.fct_survey_response.file_seq is 'Ingest sequence number of that file.';
