"""Suite ``fct_follow_up``: one row per follow-up (``marts.fct_follow_up``, SPEC 7), for the
threads being rebuilt. Segment and order outcome are set afterwards, across threads and orders,
so they are not checked here.

Computed columns (prepared by ``kpi_transforms.quality``):

* ``thread_in_fct_thread`` - the follow-up's ``thread_id`` has a row in the rebuilt ``fct_thread``.
"""

from __future__ import annotations

NAME = "fct_follow_up"
ID_COLUMNS = ["follow_up_id", "thread_id"]
PARAMETERS = ()


def expectations() -> list:
    import great_expectations as gx

    E = gx.expectations
    return [
        E.ExpectColumnValuesToNotBeNull(column="follow_up_id", description="Every follow-up has its deterministic id."),
        E.ExpectColumnValuesToBeUnique(column="follow_up_id", description="One row per follow-up."),
        E.ExpectColumnValuesToNotBeNull(column="followed_up_at", description="Every follow-up has its time."),
        E.ExpectColumnValuesToBeBetween(column="n_messages", min_value=1, description="A follow-up is at least one message."),
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="customer_replied_at", column_B="followed_up_at", ignore_row_if="either_value_is_missing",
            description="The customer's reply comes after the follow-up.",
        ),
        E.ExpectColumnValuesToBeInSet(
            column="thread_in_fct_thread", value_set=[True], description="Every follow-up's thread exists in fct_thread.",
        ),
    ]
