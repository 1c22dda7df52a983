"""Conversations (issue 19) on tiny frames: where they are cut, AHT's idle gaps, open /
unanswered / resolved, FCR and abandonment windows."""

from __future__ import annotations

import pandas as pd

from kpi_transforms.core.calendar import BusinessCalendar
from kpi_transforms.core.config import Config
from kpi_transforms.facts.conversations import conversations

CAL = BusinessCalendar.from_config(Config())


def _messages(rows):
    frame = pd.DataFrame(rows, columns=["thread_id", "customer_id", "at", "sender_role", "agent_id", "intent"])
    return frame.assign(message_id=[f"m{i}" for i in range(len(frame))], channel="whatsapp", primary_agent_id="lia",
                        sent_at=pd.to_datetime(frame["at"]).dt.tz_localize("Asia/Jakarta").dt.tz_convert("UTC"),
                        is_auto_reply=False)


def _run(rows, horizon, orders=None):
    stamp = pd.Timestamp(horizon).tz_localize("Asia/Jakarta")
    return conversations(_messages(rows), stamp, CAL, "Asia/Jakarta", 24, 10, 7, orders, 30)


def test_cut_at_24h_idle_gaps_and_status():
    got = _run([
        ("t1", "c1", "2025-01-13 09:00", "customer", None, "other"),
        ("t1", "c1", "2025-01-13 09:05", "agent", "lia", None),
        ("t1", "c1", "2025-01-13 09:20", "customer", None, None),   # 15 min: idle, counts 0
        ("t1", "c1", "2025-01-13 09:24", "agent", "rina", None),    # 4 min
        ("t1", "c1", "2025-01-13 09:25", "customer", None, None),   # after the last reply: not handling time
        ("t1", "c1", "2025-01-14 09:25", "customer", None, "other"),  # exactly 24 h later: a new conversation
        ("t2", "c2", "2025-01-13 10:00", "agent", "lia", None),     # outreach, then the customer
        ("t2", "c2", "2025-01-13 10:30", "customer", None, "order"),
        ("t3", "c3", "2025-01-20 08:00", "customer", None, "other"),  # the horizon is 1 h later: open
    ], "2025-01-20 09:00")
    rows = got.set_index(["thread_id", got.groupby("thread_id").cumcount()])
    first = rows.loc[("t1", 0)]
    assert (first["status"], first["agent_id"], first["handle_seconds"]) == ("resolved", "lia", 240.0)
    assert first["resolution_business_seconds"] == 24 * 60
    assert rows.loc[("t1", 1), "status"] == "unanswered" and rows.loc[("t1", 1), "agent_id"] == "lia"  # primary agent
    assert rows.loc[("t2", 0), "status"] == "unanswered"  # the outreach before the start is no reply
    assert rows.loc[("t3", 0), "status"] == "open"
    assert str(rows.loc[("t1", 0), "start_local"]) == "2025-01-13 09:00:00"


def test_fcr_same_intent_window_and_abandonment_by_order():
    got = _run([
        ("t1", "c1", "2025-01-06 09:00", "customer", None, "complaint"),
        ("t1", "c1", "2025-01-06 09:10", "agent", "lia", None),
        ("t9", "c1", "2025-01-10 09:00", "customer", None, "other"),      # another issue: FCR holds
        ("t9", "c1", "2025-01-10 09:05", "agent", "lia", None),
        ("t2", "c2", "2025-01-06 09:00", "customer", None, "complaint"),
        ("t2", "c2", "2025-01-06 09:10", "agent", "rina", None),
        ("t2", "c2", "2025-01-09 09:00", "customer", None, "complaint"),  # back on the same issue within 7 d
        ("t3", "c3", "2025-01-06 11:00", "customer", None, "other"),      # never answered, orders 3 days later
        ("t4", "c4", "2025-01-06 12:00", "customer", None, "other"),      # never answered, never back
    ], "2025-02-20 09:00", orders=pd.DataFrame({"customer": ["c3"], "order_date": ["2025-01-09"]}))
    by = got.set_index(["thread_id", got.groupby("thread_id").cumcount()])
    assert bool(by.loc[("t1", 0), "is_fcr"]) is True
    assert bool(by.loc[("t2", 0), "is_fcr"]) is False
    assert bool(by.loc[("t3", 0), "is_abandoned"]) is False and bool(by.loc[("t4", 0), "is_abandoned"]) is True
    assert pd.isna(by.loc[("t1", 0), "is_abandoned"])  # resolved: not a candidate
    pending = _run([("t1", "c1", "2025-01-06 09:00", "customer", None, "other"),
                    ("t1", "c1", "2025-01-06 09:10", "agent", "lia", None)], "2025-01-10 09:00")
    assert pending["status"].tolist() == ["resolved"] and pd.isna(pending["is_fcr"].iloc[0])


# -- marts.fct_conversation: built in the fact build, refreshed by later data (issue 13/17) ------

def _write(folder, name: str, text: str):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _stored(wh):
    frame = wh.read_df("select t.thread_name, c.status, c.is_fcr, c.is_abandoned from marts.fct_conversation c"
                       " join marts.fct_thread t on t.thread_id = c.thread_id order by c.started_at")
    return {r.thread_name + "@" + str(i): (r.status, None if pd.isna(r.is_fcr) else bool(r.is_fcr),
                                            None if pd.isna(r.is_abandoned) else bool(r.is_abandoned))
            for i, r in enumerate(frame.itertuples(index=False))}


def test_stored_conversations_follow_later_messages_and_orders(warehouse_url, tmp_path):
    """Status waits for the horizon (open threads are rebuilt), abandonment for orders loaded
    later (an orders-only ingest refreshes it), FCR for a customer coming back: every ingest
    transaction re-decides them, the KPI step only reads them."""
    from kpi_transforms.core.config import load_config
    from kpi_transforms.pipeline.ingest import ingest_paths
    from kpi_transforms.warehouse.engine import Warehouse

    scenario = __import__("pathlib").Path(__file__).resolve().parent / "kpi_scenarios" / "abandonment_rate"
    config, wh = load_config(scenario / "config.yaml"), Warehouse(warehouse_url)
    lake = tmp_path / "lake"
    first = [_write(tmp_path / "b1", "Chat WhatsApp dengan Andi.txt", "16/01/25 09.00 - Andi: Kak, harga mug?\n"),
             _write(tmp_path / "b1", "Chat WhatsApp dengan Sari.txt",
                    "06/01/25 10.00 - Sari: Halo kak\n06/01/25 10.05 - Rina CS: Halo Bu\n"),
             _write(tmp_path / "b1", "Chat WhatsApp dengan Budi.txt", "28/02/25 10.00 - Budi: Halo kak\n")]
    ingest_paths(first, config, wh, lake_dir=lake)
    got = _stored(wh)
    assert got["Sari@0"] == ("resolved", True, None)  # 6 Jan + 7 d passed at the horizon (28 Feb), nobody came back
    assert got["Andi@1"] == ("unanswered", None, True)  # 16 Jan + 30 d passed, no order loaded: abandoned
    assert got["Budi@2"] == ("open", None, None)  # the horizon is its own last message
    # an orders-only ingest: Andi ordered on 20 Jan, so he was not abandoned
    ingest_paths([_write(tmp_path / "b2", "orders.csv", (scenario / "orders.csv").read_text(encoding="utf-8"))],
                 config, wh, lake_dir=lake)
    assert _stored(wh)["Andi@1"] == ("unanswered", None, False)
    # a later export of Sari's chat: she came back on 9 Jan with the same issue (FCR fails); a
    # message two days after Budi's moves the horizon past his silence: over, unanswered
    ingest_paths([_write(tmp_path / "b3", "Chat WhatsApp dengan Sari.txt",
                         "06/01/25 10.00 - Sari: Halo kak\n06/01/25 10.05 - Rina CS: Halo Bu\n09/01/25 10.00 - Sari: Halo kak\n"),
                  _write(tmp_path / "b3", "Chat WhatsApp dengan Eko.txt", "02/03/25 09.00 - Eko: Halo\n")],
                 config, wh, lake_dir=lake)
    got = _stored(wh)
    assert got["Sari@0"] == ("resolved", False, None)
    assert got["Sari@1"][0] == "unanswered" and got["Budi@3"] == ("unanswered", None, None)  # 28 Feb + 30 d not passed yet
    wh.dispose()
