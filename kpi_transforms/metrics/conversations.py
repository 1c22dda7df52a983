"""Conversations of a thread (issue 19): the unit of AHT, ART and FCR.

A thread's customer and human-agent messages (bots, auto-replies and system lines left out)
are cut into *sessions* wherever two consecutive messages are at least
``conversation_gap_hours`` apart (24 h by default). A session with a customer message is a
**conversation**; it starts at its first customer message (outreach before it belongs to it but
is not handled time) and belongs to the period of that message's local date, to the thread's
channel and to the agent of its first human reply after the start.

* **resolved** — the session is over (a later message of the thread, or the data horizon at
  least one gap past its last message) and a human agent replied after its start.
  ``resolved_at`` = the last human agent message of the session (a customer's closing
  "terima kasih" after it does not move it).
* **unanswered** — over, and no human agent wrote after the start.
* **open** — the data horizon is less than one gap past its last message.

``handle_seconds`` (AHT): from the first human reply to ``resolved_at``, the sum of the gaps
between consecutive messages that are at most ``aht_idle_minutes`` long; longer gaps are idle
time and count 0. ``resolution_business_seconds`` (ART): working seconds from the start to
``resolved_at``. ``is_fcr`` (FCR): a resolved conversation whose customer (customer_id, else
the thread) starts no conversation with the same intent (the intent of its first queue; none =
``other``) on any thread within ``fcr_days`` x 24 h after ``resolved_at``; null while that
window is still open at the data horizon and the customer has not come back.
``is_abandoned``: see :func:`_abandoned`. The agent of an unanswered conversation is the
thread's primary agent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kpi_transforms.core.calendar import BusinessCalendar, to_epoch_seconds

CONVERSATION_COLUMNS = ["thread_id", "channel", "customer", "agent_id", "start_at", "start_local", "first_reply_at",
                        "resolved_at", "last_at", "status", "handle_seconds", "resolution_business_seconds", "intent", "is_fcr",
                        "is_abandoned"]


def conversations(messages: pd.DataFrame, horizon: pd.Timestamp | None, calendar: BusinessCalendar, timezone: str,
                  gap_hours: float, idle_minutes: float, fcr_days: int, orders: pd.DataFrame | None = None,
                  abandon_days: int = 30) -> pd.DataFrame:
    """One row per conversation of ``messages`` (columns :data:`CONVERSATION_COLUMNS`).

    ``messages``: message_id, thread_id, channel, customer_id, primary_agent_id, sent_at (UTC),
    sender_role, agent_id, is_auto_reply, intent (of the queue the message starts, else null).
    ``orders`` (customer, order_date), if a sales report is loaded, for ``is_abandoned``.
    """
    if messages.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in CONVERSATION_COLUMNS})
    m = messages.copy()
    auto = pd.Series(m["is_auto_reply"]).astype("boolean").fillna(False).to_numpy(dtype=bool)
    role = m["sender_role"].astype(str).to_numpy()
    m = m[(role == "customer") | ((role == "agent") & ~auto)]
    m = m.assign(ts=to_epoch_seconds(pd.to_datetime(m["sent_at"], utc=True)))
    m = m.sort_values(["thread_id", "ts", "message_id"], kind="stable").reset_index(drop=True)
    gap_s, idle_s = gap_hours * 3600.0, idle_minutes * 60.0
    horizon_s = None
    if horizon is not None:
        stamp = pd.Timestamp(horizon)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        horizon_s = stamp.timestamp()

    rows = []
    for thread_id, t in m.groupby("thread_id", sort=True):
        ts = t["ts"].to_numpy(dtype=float)
        roles = t["sender_role"].astype(str).to_numpy()
        agents = t["agent_id"].astype(object).to_numpy()
        intents = t["intent"].astype(object).to_numpy()
        customer = t["customer_id"].dropna()
        customer = str(customer.iloc[0]) if len(customer) else f"thread:{thread_id}"
        channel = str(t["channel"].iloc[0])
        primary = t["primary_agent_id"].dropna() if "primary_agent_id" in t.columns else pd.Series([], dtype=object)
        primary = primary.iloc[0] if len(primary) else None
        cuts = np.flatnonzero(np.diff(ts) >= gap_s) + 1
        bounds = np.concatenate([[0], cuts, [len(ts)]])
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            cust = np.flatnonzero(roles[lo:hi] == "customer")
            if len(cust) == 0:
                continue
            start = lo + cust[0]
            replies = np.flatnonzero(roles[start:hi] == "agent")
            first_reply = start + replies[0] if len(replies) else None
            last = start + replies[-1] if len(replies) else None  # the last human reply: resolution
            over = hi < len(ts) or (horizon_s is not None and horizon_s >= ts[hi - 1] + gap_s)
            status = "open" if not over else ("resolved" if first_reply is not None else "unanswered")
            handle = None
            if status == "resolved":
                gaps = np.diff(ts[first_reply:last + 1])
                handle = float(gaps[gaps <= idle_s].sum())
            intent = intents[start] if isinstance(intents[start], str) else "other"
            rows.append((thread_id, channel, customer, agents[first_reply] if first_reply is not None else primary,
                         ts[start], ts[first_reply] if first_reply is not None else np.nan,
                         ts[last] if status == "resolved" else np.nan, ts[hi - 1], status, handle, intent))
    conv = pd.DataFrame(rows, columns=["thread_id", "channel", "customer", "agent_id", "start_s", "first_reply_s",
                                       "resolved_s", "last_s", "status", "handle_seconds", "intent"])
    resolved = conv["status"].to_numpy() == "resolved"
    art = np.full(len(conv), np.nan)
    if resolved.any():
        art[resolved] = calendar.business_seconds(conv["start_s"].to_numpy(dtype=np.int64)[resolved],
                                                  conv["resolved_s"].to_numpy(dtype=float)[resolved].astype(np.int64))
    conv["resolution_business_seconds"] = art
    conv["is_fcr"] = _fcr(conv, horizon_s, fcr_days * 86400.0)
    conv["is_abandoned"] = _abandoned(conv, orders, horizon_s, abandon_days, timezone)
    start = pd.to_datetime(conv["start_s"], unit="s", utc=True)
    conv["start_at"] = start
    conv["start_local"] = start.dt.tz_convert(timezone).dt.tz_localize(None)
    conv["first_reply_at"] = pd.to_datetime(conv["first_reply_s"], unit="s", utc=True)
    conv["resolved_at"] = pd.to_datetime(conv["resolved_s"], unit="s", utc=True)
    conv["last_at"] = pd.to_datetime(conv["last_s"], unit="s", utc=True)
    return conv[CONVERSATION_COLUMNS]


def _fcr(conv: pd.DataFrame, horizon_s: float | None, window_s: float) -> pd.Series:
    out = pd.array([pd.NA] * len(conv), dtype="boolean")
    starts = conv.groupby(["customer", "intent"])["start_s"].apply(lambda s: np.sort(s.to_numpy(dtype=float))).to_dict()
    for i, row in enumerate(conv.itertuples(index=False)):
        if row.status != "resolved":
            continue
        later = starts[(row.customer, row.intent)]
        back = later[(later > row.resolved_s) & (later <= row.resolved_s + window_s)]
        if len(back):
            out[i] = False
        elif horizon_s is not None and horizon_s >= row.resolved_s + window_s:
            out[i] = True
    return pd.Series(out, index=conv.index)


def _abandoned(conv: pd.DataFrame, orders: pd.DataFrame | None, horizon_s: float | None, days: int,
               timezone: str) -> pd.Series:
    """Per unanswered conversation: abandoned (True) when the customer starts no later
    conversation on any thread and orders nothing (if a sales report is loaded) within ``days``
    x 24 h after its last message; False when they came back; null while that window is open at
    the data horizon. Null for the other conversations."""
    out = pd.array([pd.NA] * len(conv), dtype="boolean")
    window = days * 86400.0
    starts = conv.groupby("customer")["start_s"].apply(lambda s: np.sort(s.to_numpy(dtype=float))).to_dict()
    ordered: dict[str, np.ndarray] = {}
    if orders is not None and len(orders):
        known = orders[orders["customer"].notna().to_numpy(dtype=bool)]
        local = pd.to_datetime(known["order_date"]).dt.tz_localize(timezone).dt.tz_convert("UTC")
        day_s = to_epoch_seconds(local) if len(local) else np.zeros(0)
        frame = pd.DataFrame({"customer": known["customer"].astype(str).to_numpy(), "day_s": day_s})
        ordered = frame.groupby("customer")["day_s"].apply(lambda s: np.sort(s.to_numpy(dtype=float))).to_dict()
    for i, row in enumerate(conv.itertuples(index=False)):
        if row.status != "unanswered":
            continue
        later = starts[row.customer]
        came_back = bool(((later > row.last_s) & (later <= row.last_s + window)).any())
        orders_of = ordered.get(row.customer, np.zeros(0))
        # an order dated on the day of the last message or later (order dates have no time)
        last_day_s = pd.Timestamp(row.last_s, unit="s", tz="UTC").tz_convert(timezone).normalize().tz_convert("UTC").timestamp()
        came_back = came_back or bool(((orders_of >= last_day_s) & (orders_of <= row.last_s + window)).any())
        if came_back:
            out[i] = False
        elif horizon_s is not None and horizon_s >= row.last_s + window:
            out[i] = True
    return pd.Series(out, index=conv.index)
