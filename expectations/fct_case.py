"""Suite ``fct_case``: one row per complaint case (``marts.fct_case``, SPEC 7), for the threads
being rebuilt.

Computed columns (prepared by ``kpi_transforms.quality``):

* ``thread_in_fct_thread`` - the case's ``thread_id`` has a row in the rebuilt ``fct_thread``.
"""

from __future__ import annotations

from . import CASE_STATUSES, build, not_null, spec as _E

NAME = "fct_case"
ID_COLUMNS = ["case_id", "thread_id"]
PARAMETERS = ()


# The suite as data: GX builds its objects from it (expectations()), and the gate's
# vectorised evaluator reads the same entries without importing GX.
SPEC = [
    *not_null(NAME, {"case_id": "Every case has its deterministic id.", "opened_at": "Every case has its opening time.",
                     "category": "Every case has a category (the keyword file's, else lainnya).",
                     "is_repeat": "The repeat flag is always set."}),
    _E("ExpectColumnValuesToBeUnique", column="case_id", description="One row per case."),
    _E("ExpectColumnValuesToBeInSet", column="status", value_set=list(CASE_STATUSES), description="open | resolved | unresolved."),
    _E("ExpectColumnValuesToNotBeNull",
        column="resolved_at", row_condition=("==", "status", "resolved"), description="A resolved case has its resolution time.",
    ),
    _E("ExpectColumnPairValuesAToBeGreaterThanB",
        column_A="first_response_at", column_B="opened_at", or_equal=True, ignore_row_if="either_value_is_missing",
        description="The first response never comes before the case opened.",
    ),
    _E("ExpectColumnPairValuesAToBeGreaterThanB",
        column_A="resolved_at", column_B="opened_at", or_equal=True, ignore_row_if="either_value_is_missing",
        description="A case is never resolved before it opened.",
    ),
    _E("ExpectColumnValuesToBeBetween",
        column="first_response_business_seconds", min_value=0, description="Business durations are not negative.",
    ),
    _E("ExpectColumnValuesToBeBetween",
        column="resolution_business_seconds", min_value=0, description="Business durations are not negative.",
    ),
    _E("ExpectColumnValuesToBeInSet",
        column="thread_in_fct_thread", value_set=[True], description="Every case's thread exists in fct_thread.",
    ),
]


def expectations() -> list:
    return build(SPEC)
