"""Suite ``fct_thread``: one row per conversation (``marts.fct_thread``, SPEC 7), for the threads
being rebuilt.

Parameter per run: ``expected_rows`` - distinct threads among the messages of the rebuild.

Computed columns (prepared by ``kpi_transforms.quality``):

* ``n_messages_by_role`` - ``n_customer + n_agent + n_bot + n_system`` messages;
* ``n_pairs_in_fct_reply_pair`` - the pairs of the thread in the rebuilt ``fct_reply_pair``.
"""

from __future__ import annotations

from . import CHANNELS, build, not_null, spec as _E

NAME = "fct_thread"
ID_COLUMNS = ["thread_id"]
PARAMETERS = ("expected_rows",)


# The suite as data: GX builds its objects from it (expectations()), and the gate's
# vectorised evaluator reads the same entries without importing GX.
SPEC = [
    *not_null(NAME, {"thread_id": "Every thread has its key."}),
    _E("ExpectColumnValuesToBeUnique", column="thread_id", description="One row per thread."),
    _E("ExpectColumnValuesToBeInSet", column="channel", value_set=list(CHANNELS), description="Channels of SPEC 4."),
    _E("ExpectTableRowCountToEqual",
        value={"$PARAMETER": "expected_rows"},
        description="Row count reconciles: one thread row per distinct thread of the rebuilt messages.",
    ),
    _E("ExpectColumnPairValuesToBeEqual",
        column_A="n_messages", column_B="n_messages_by_role",
        description="Message counts by role add up to the thread's message count.",
    ),
    _E("ExpectColumnPairValuesToBeEqual",
        column_A="n_reply_pairs", column_B="n_pairs_in_fct_reply_pair",
        description="n_reply_pairs reconciles with the rows of fct_reply_pair.",
    ),
    _E("ExpectColumnPairValuesAToBeGreaterThanB",
        column_A="n_reply_pairs", column_B="n_unanswered", or_equal=True,
        description="Unanswered queues are a subset of the queues.",
    ),
    _E("ExpectColumnPairValuesAToBeGreaterThanB",
        column_A="last_message_at", column_B="first_message_at", or_equal=True,
        ignore_row_if="either_value_is_missing",
        description="A thread ends after it starts.",
    ),
    _E("ExpectColumnValuesToBeBetween",
        column="first_response_seconds", min_value=0, description="First-response durations are not negative."
    ),
    _E("ExpectColumnPairValuesAToBeGreaterThanB",
        column_A="first_response_seconds", column_B="first_response_business_seconds", or_equal=True,
        ignore_row_if="either_value_is_missing",
        description="business <= calendar for the first response too.",
    ),
]


def expectations() -> list:
    return build(SPEC)
