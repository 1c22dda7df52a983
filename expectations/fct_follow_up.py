"""Suite ``fct_follow_up``: one row per follow-up (``marts.fct_follow_up``, SPEC 7), for the
threads being rebuilt. Segment and order outcome are set afterwards, across threads and orders,
so they are not checked here.

Computed columns (prepared by ``kpi_transforms.quality``):

* ``thread_in_fct_thread`` - the follow-up's ``thread_id`` has a row in the rebuilt ``fct_thread``.
"""

from __future__ import annotations

from . import build, not_null, spec as _E

NAME = "fct_follow_up"
ID_COLUMNS = ["follow_up_id", "thread_id"]
PARAMETERS = ()


# The suite as data: GX builds its objects from it (expectations()), and the gate's
# vectorised evaluator reads the same entries without importing GX.
SPEC = [
    *not_null(NAME, {"follow_up_id": "Every follow-up has its deterministic id.", "followed_up_at": "Every follow-up has its time."}),
    _E("ExpectColumnValuesToBeUnique", column="follow_up_id", description="One row per follow-up."),
    _E("ExpectColumnValuesToBeBetween", column="n_messages", min_value=1, description="A follow-up is at least one message."),
    _E("ExpectColumnPairValuesAToBeGreaterThanB",
        column_A="customer_replied_at", column_B="followed_up_at", or_equal=True, ignore_row_if="either_value_is_missing",
        description="The customer's reply comes after the follow-up (in the same minute of a WhatsApp export, by line order).",
    ),
    _E("ExpectColumnValuesToBeInSet",
        column="thread_in_fct_thread", value_set=[True], description="Every follow-up's thread exists in fct_thread.",
    ),
]


def expectations() -> list:
    return build(SPEC)
