"""Suite ``fct_quote_response``: one row per quote-request queue (``marts.fct_quote_response``,
SPEC 7), for the threads being rebuilt.

Computed columns (prepared by ``kpi_transforms.quality``):

* ``pair_in_fct_reply_pair`` - the row's ``pair_id`` is a queue of the rebuilt ``fct_reply_pair``;
* ``thread_in_fct_thread`` - its ``thread_id`` has a row in the rebuilt ``fct_thread``.
"""

from __future__ import annotations

from . import build, not_null, spec as _E

NAME = "fct_quote_response"
ID_COLUMNS = ["pair_id", "thread_id"]
PARAMETERS = ()


# The suite as data: GX builds its objects from it (expectations()), and the gate's
# vectorised evaluator reads the same entries without importing GX.
SPEC = [
    *not_null(NAME, {"pair_id": "Every quote request is a queue.", "question_at": "Every quote request has its time.",
                     "is_in_closed_period": "The closed-period flag is always set."}),
    _E("ExpectColumnValuesToBeUnique", column="pair_id", description="One row per quote-request queue."),
    _E("ExpectColumnPairValuesAToBeGreaterThanB",
        column_A="quote_at", column_B="question_at", or_equal=True, ignore_row_if="either_value_is_missing",
        description="A quote never comes before its request.",
    ),
    _E("ExpectColumnValuesToBeBetween", column="calendar_seconds", min_value=0, description="Calendar durations are not negative."),
    _E("ExpectColumnValuesToBeBetween", column="business_seconds", min_value=0, description="Business durations are not negative."),
    _E("ExpectColumnPairValuesAToBeGreaterThanB",
        column_A="calendar_seconds", column_B="business_seconds", or_equal=True, ignore_row_if="either_value_is_missing",
        description="Working time inside a span never exceeds the span.",
    ),
    _E("ExpectColumnValuesToBeInSet",
        column="pair_in_fct_reply_pair", value_set=[True], description="Every quote request is a queue of fct_reply_pair.",
    ),
    _E("ExpectColumnValuesToBeInSet",
        column="thread_in_fct_thread", value_set=[True], description="Every quote request's thread exists in fct_thread.",
    ),
]


def expectations() -> list:
    return build(SPEC)
