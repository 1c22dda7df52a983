"""Suite ``fct_reply_pair``: one row per customer queue (``marts.fct_reply_pair``, SPEC 6), for
the threads being rebuilt.

Computed columns (prepared by ``kpi_transforms.quality`` from the other frames of the rebuild):

* ``thread_in_fct_thread`` - the pair's ``thread_id`` has a row in the rebuilt ``fct_thread``;
* ``question_in_fct_message`` - ``question_message_id`` is a message of the thread set;
* ``reply_in_fct_message`` - ``reply_message_id`` is such a message (null when unanswered).
"""

from __future__ import annotations

from . import CHANNELS, PAIR_STATUSES, build, not_null, spec as _E

NAME = "fct_reply_pair"
ID_COLUMNS = ["pair_id", "thread_id"]
PARAMETERS = ()


# The suite as data: GX builds its objects from it (expectations()), and the gate's
# vectorised evaluator reads the same entries without importing GX.
SPEC = [
    *not_null(NAME, {"pair_id": "Every queue has its deterministic id."},
              # stored nullable (added by V013 to existing rows) but set on every rebuilt queue
              also=("is_counted_1wd", "is_pending_1wd", "is_counted_24h", "is_pending_24h")),
    _E("ExpectColumnValuesToBeUnique", column="pair_id", description="One row per queue."),
    _E("ExpectColumnValuesToBeUnique",
        column="reply_message_id", description="One human reply closes at most one queue (SPEC 6)."
    ),
    _E("ExpectColumnValuesToBeInSet", column="status", value_set=list(PAIR_STATUSES), description="answered | unanswered."),
    _E("ExpectColumnValuesToBeInSet", column="channel", value_set=list(CHANNELS), description="Channels of SPEC 4."),
    _E("ExpectColumnValuesToNotBeNull",
        column="reply_at", row_condition=("==", "status", "answered"),
        description="An answered queue has its reply time.",
    ),
    _E("ExpectColumnPairValuesAToBeGreaterThanB",
        column_A="reply_at", column_B="question_at", or_equal=True, ignore_row_if="either_value_is_missing",
        description="A reply never comes before its question.",
    ),
    _E("ExpectColumnValuesToBeBetween",
        column="calendar_seconds", min_value=0, description="Calendar durations are not negative."
    ),
    _E("ExpectColumnValuesToBeBetween",
        column="business_seconds", min_value=0, description="Business durations are not negative."
    ),
    _E("ExpectColumnPairValuesAToBeGreaterThanB",
        column_A="calendar_seconds", column_B="business_seconds", or_equal=True,
        ignore_row_if="either_value_is_missing",
        description="Working time inside a span never exceeds the span: business_seconds <= calendar_seconds.",
    ),
    _E("ExpectColumnValuesToBeInSet",
        column="thread_in_fct_thread", value_set=[True],
        description="Every pair's thread exists in fct_thread (pairs.thread_id is a subset of threads.thread_id).",
    ),
    _E("ExpectColumnValuesToBeInSet",
        column="question_in_fct_message", value_set=[True],
        description="Every question is a message of its thread.",
    ),
    _E("ExpectColumnValuesToBeInSet",
        column="reply_in_fct_message", value_set=[True],
        description="Every reply is a message of its thread.",
    ),
]


def expectations() -> list:
    return build(SPEC)
