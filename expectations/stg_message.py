"""Suite ``stg_message``: the canonical batch about to be merged into ``marts.fct_message``
(one row per message, in-batch duplicates already dropped).

Parameters per run:

* ``expected_rows`` - sum of ``messages_read`` of the loaded files minus the in-batch duplicates:
  the parse report and the batch must agree on how many messages there are;
* ``latest_local`` - ingest time + 1 day (naive, compared with ``sent_at_local``);
* ``earliest_local`` - the earliest ``plausible_from`` date of the configured channels
  (WhatsApp 2009-01-01, e-mail 1990-01-01 by default; the per-channel bound is applied line
  by line before the gate).
"""

from __future__ import annotations

import datetime as dt

from . import CHANNELS, ROLES, build, spec as _E

NAME = "stg_message"
ID_COLUMNS = ["message_id", "source_file", "source_line"]
PARAMETERS = ("expected_rows", "latest_local", "earliest_local")
EARLIEST_LOCAL = dt.datetime(2009, 1, 1)  # WhatsApp's first release: the default of the chat channels


# The suite as data: GX builds its objects from it (expectations()), and the gate's
# vectorised evaluator reads the same entries without importing GX.
SPEC = [
    _E("ExpectColumnValuesToNotBeNull",
        column="message_id", description="Every message has its deterministic id (the merge key)."
    ),
    _E("ExpectColumnValuesToBeUnique",
        column="message_id",
        description="One row per message id: a duplicate would double-count a message in every KPI.",
    ),
    _E("ExpectColumnValuesToNotBeNull", column="thread_id", description="Every message belongs to a thread."),
    _E("ExpectColumnValuesToNotBeNull", column="sent_at", description="Every message has a UTC timestamp."),
    _E("ExpectColumnValuesToBeInSet",
        column="sender_role", value_set=list(ROLES),
        description="Roles drive the reply-pair walk; an unknown role would silently drop a message from it.",
    ),
    _E("ExpectColumnValuesToBeInSet",
        column="channel", value_set=list(CHANNELS), description="Channels are the fixed set of SPEC 4."
    ),
    _E("ExpectColumnValuesToNotBeNull", column="message_type", description="Every message has a type."),
    _E("ExpectColumnValuesToBeNull",
        column="agent_id", row_condition=("is_in", "sender_role", ["customer", "system"]),
        description="agent_id is set only for agent and bot messages (SPEC 4).",
    ),
    _E("ExpectColumnValuesToBeBetween",
        column="sent_at_local", min_value={"$PARAMETER": "earliest_local"}, max_value={"$PARAMETER": "latest_local"},
        description="Timestamps are plausible: not before the channel's plausible_from date (WhatsApp 2009, e-mail 1990"
                    " by default) and not after the ingest time + 1 day.",
    ),
    _E("ExpectTableRowCountToEqual",
        value={"$PARAMETER": "expected_rows"},
        description="Row count reconciles with the parse report: sum of messages_read of the files minus in-batch duplicates.",
    ),
]


def expectations() -> list:
    return build(SPEC)
