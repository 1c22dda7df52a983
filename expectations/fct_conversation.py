"""Suite ``fct_conversation``: one row per conversation (``marts.fct_conversation``, issue 19 /
issue 13-17), for the threads being rebuilt.

Computed columns (prepared by ``kpi_transforms.quality``):

* ``thread_in_fct_thread`` - the conversation's ``thread_id`` has a row in the rebuilt ``fct_thread``.
"""

from __future__ import annotations

from . import CHANNELS, CONVERSATION_STATUSES, INTENTS, build, not_null, spec as _E

NAME = "fct_conversation"
ID_COLUMNS = ["conversation_id", "thread_id"]
PARAMETERS = ()


# The suite as data: GX builds its objects from it (expectations()), and the gate's
# vectorised evaluator reads the same entries without importing GX.
SPEC = [
    *not_null(NAME),
    _E("ExpectColumnValuesToBeUnique", column="conversation_id", description="One row per conversation."),
    _E("ExpectColumnValuesToBeInSet", column="status", value_set=list(CONVERSATION_STATUSES),
       description="open | resolved | unanswered."),
    _E("ExpectColumnValuesToBeInSet", column="channel", value_set=list(CHANNELS), description="A known channel."),
    _E("ExpectColumnValuesToBeInSet", column="intent", value_set=list(INTENTS), description="A known intent (none = other)."),
    _E("ExpectColumnValuesToNotBeNull", column="resolved_at", row_condition=("==", "status", "resolved"),
       description="A resolved conversation has its resolution time."),
    _E("ExpectColumnValuesToNotBeNull", column="handle_seconds", row_condition=("==", "status", "resolved"),
       description="A resolved conversation has its handling time (AHT)."),
    _E("ExpectColumnValuesToNotBeNull", column="resolution_business_seconds", row_condition=("==", "status", "resolved"),
       description="A resolved conversation has its resolution time in working seconds (ART)."),
    _E("ExpectColumnPairValuesAToBeGreaterThanB",
       column_A="first_reply_at", column_B="started_at", or_equal=True, ignore_row_if="either_value_is_missing",
       description="The first reply never comes before the conversation started."),
    _E("ExpectColumnPairValuesAToBeGreaterThanB",
       column_A="resolved_at", column_B="started_at", or_equal=True, ignore_row_if="either_value_is_missing",
       description="A conversation is never resolved before it started."),
    _E("ExpectColumnPairValuesAToBeGreaterThanB",
       column_A="last_message_at", column_B="started_at", or_equal=True, ignore_row_if="either_value_is_missing",
       description="The last message is not before the first customer message."),
    _E("ExpectColumnValuesToBeBetween", column="handle_seconds", min_value=0, description="Handling time is not negative."),
    _E("ExpectColumnValuesToBeBetween", column="resolution_business_seconds", min_value=0,
       description="Business durations are not negative."),
    _E("ExpectColumnValuesToBeInSet", column="thread_in_fct_thread", value_set=[True],
       description="Every conversation's thread exists in fct_thread."),
]


def expectations() -> list:
    return build(SPEC)
