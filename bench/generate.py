"""Seeded generator of realistic chat exports for the benchmarks (and for trying chatkpi at scale).

    .venv/bin/python bench/generate.py --messages 1000000 --chats 2000 --seed 7 --out /tmp/chatkpi-1m

writes, deterministically for a seed (same arguments, same bytes)::

    DIR/chatkpi.yaml        roster config: agents (names, phones, e-mails), auto-reply patterns,
                            company domain (pass it with ``chatkpi --config``)
    DIR/generate.json       what was generated (arguments, counts, date range)
    DIR/whatsapp/*.txt      one export per chat, ``--messages`` messages in total (the parser's
                            count: the encryption notice at the top of each chat is one of them)
    DIR/email/inbox.mbox    a few e-mail threads with replies, quotes and an auto-reply
    DIR/orders/orders.csv   sales report: order_id, date, customer, amount

The exports imitate WhatsApp Business chats of an Indonesian souvenir supplier:

* layouts: Android Indonesian (``dd/mm/yy HH.MM - Name: text``, ~70 % of chats, file
  ``Chat WhatsApp dengan X.txt``) and iOS English (``[m/d/yy, h:mm:ss AM] Name: text``, with a
  U+202F before AM/PM in half of them, file ``WhatsApp Chat - X.txt``);
* conversations as *exchanges*: a burst of 1-8 customer messages seconds to minutes apart, an
  auto-reply from the business account when the burst starts outside working hours (nights,
  weekends, Indonesian holidays and cuti bersama, taken from chatkpi's own calendar), then the
  agent's reply in the next working interval (lognormal delay, a long tail of days); some
  bursts stay unanswered, some exchanges are agent follow-ups. Exchanges overlap in time (a
  customer writes again before the reply), as in real chats;
* multi-line messages (order lists, quotations), ``<Media tidak disertakan>`` /
  ``image omitted``, deleted-message markers, emoji, the encryption notice;
* four agents, each chat owned by one of them (others step in); customers are named
  contacts, shops or bare phone numbers.

``--history`` also writes ``DIR/history/*.parquet``: canonical ``marts.fct_message`` rows (the
schema of :data:`kpi_transforms.model.MESSAGE_SCHEMA`, same ids the ingest would compute),
plus their reply-pair and thread facts, in chunks of whole threads: a large warehouse can be
built with DuckDB's ``read_parquet`` instead of parsing.

Everything is vectorised (NumPy / Arrow): 1 M messages take a few seconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kpi_transforms.core.calendar import BusinessCalendar  # noqa: E402
from kpi_transforms.core.config import Config  # noqa: E402

TZ_OFFSET = 7 * 3600  # Asia/Jakarta has no DST
BUSINESS = "Sumber Souvenir"
DOMAIN = "sumbersouvenir.co.id"
AGENTS = [  # id, display name in exports, phone, e-mail
    ("lia", "Lia Sales", "+62 811-2000-101", f"lia@{DOMAIN}"),
    ("dewi", "Dewi CS", "+62 811-2000-102", f"dewi@{DOMAIN}"),
    ("andi", "Andi Marketing", "+62 811-2000-103", f"andi@{DOMAIN}"),
    ("rina", "Rina Admin", "+62 811-2000-104", f"rina@{DOMAIN}"),
]
AUTO_REPLIES = [
    f"Terima kasih telah menghubungi {BUSINESS} 🙏 Jam kerja kami Senin-Jumat 08.00-17.00 WIB. "
    "Pesan Anda akan kami balas pada jam kerja berikutnya.",
    f"Halo kak, selamat datang di {BUSINESS}! Silakan tinggalkan pesan, admin kami segera membalas 😊",
]
AUTO_REPLY_PATTERNS = [f"^Terima kasih telah menghubungi {BUSINESS}", f"^Halo kak, selamat datang di {BUSINESS}"]

FIRST = ["Budi", "Sari", "Agus", "Dewi", "Rudi", "Wati", "Joko", "Siti", "Hendra", "Rina", "Yudi", "Fitri", "Bambang",
         "Indah", "Eko", "Lestari", "Adi", "Putri", "Dedi", "Ayu", "Arif", "Nur", "Hadi", "Maya", "Teguh", "Ratna",
         "Irfan", "Mega", "Wahyu", "Citra"]
LAST = ["Santoso", "Wijaya", "Saputra", "Lestari", "Hidayat", "Kusuma", "Pratama", "Nugroho", "Siregar", "Harahap",
        "Susanto", "Setiawan", "Gunawan", "Halim", "Tanjung", "Rahman", "Wibowo", "Permana", "Utami", "Purnomo"]
SHOPS = ["Toko Maju Jaya", "CV Berkah Abadi", "Souvenir Nikah Bu Ani", "PT Sinar Terang", "Koperasi Sejahtera",
         "Toko Kado Ceria", "EO Bahagia", "Katering Bu Sari", "Percetakan Mandiri", "Hotel Melati"]
PRODUCTS = ["tumbler", "totebag", "mug", "payung", "kaos", "gantungan kunci", "pulpen", "notebook", "topi", "kipas",
            "goodie bag", "flashdisk", "jam dinding", "botol minum", "tas serut"]
CUSTOMER_TEXTS = [
    "Halo kak, {p} ready stok?", "Berapa harga untuk {q} pcs {p} sablon logo?", "Minimal order {p} berapa ya kak?",
    "Bisa kirim ke Surabaya kak?", "Kak, pesanan saya kemarin sudah dikirim?", "Sudah transfer ya kak, bukti terlampir",
    "Mau tanya, {p} bisa custom warna?", "Kak {q} pcs {p} bisa selesai berapa hari?", "Ok kak siap 👍",
    "Terima kasih kak 🙏", "Ada katalog terbaru kak?", "Kak barangnya datang tapi ada yang rusak 😞",
    "Harga {p} kalau {q} pcs jadi berapa?", "DP dulu boleh kak?", "Bisa COD kak?", "Halo", "P", "Kak??",
    "Apakah bisa dibuatkan desain logonya juga?", "Ongkirnya ke Medan berapa kak?",
]
CUSTOMER_MULTI = [
    "Mau pesan kak:\n- {q} pcs {p}\n- 50 pcs totebag\nKirim ke Bandung", "Data pengiriman:\nNama: {n}\nAlamat: Jl. Merdeka No. {q}\nKota: Jakarta",
    "Kak ini desainnya\nwarna biru navy\nlogo di depan ya",
]
AGENT_TEXTS = [
    "Halo kak, ready ya 😊", "Baik kak, kami cek dulu ya 🙏", "Harga {p} Rp {r}.500/pcs kak, min. order {q} pcs",
    "Siap kak, pesanan sedang diproses", "Sudah kami kirim ya kak, resi menyusul", "Bisa kak, untuk custom warna +2 hari",
    "Terima kasih kak, transfer sudah kami terima", "Mohon maaf atas ketidaknyamanannya kak, kami kirim ulang ya",
    "Kak, bagaimana penawaran kemarin? Jadi order?", "Untuk {q} pcs bisa selesai 7 hari kerja kak",
    "Ongkir ke Medan Rp {r}.000 kak", "Katalog kami kirim ya kak",
]
AGENT_MULTI = [
    "Baik kak, berikut penawarannya:\n{p}: Rp {r}.500/pcs\nSablon 1 warna: Rp 2.000/pcs\nMinimal order {q} pcs",
    "Rekening pembayaran:\nBCA 123-456-7890\na.n. {b}",
]


def _fmt(template: str, rng: np.random.Generator) -> str:
    return template.format(
        p=PRODUCTS[rng.integers(len(PRODUCTS))], q=int(rng.choice([12, 24, 50, 100, 150, 200, 500, 1000])),
        r=int(rng.integers(3, 95)), n=f"{FIRST[rng.integers(len(FIRST))]} {LAST[rng.integers(len(LAST))]}", b=BUSINESS,
    )


def _pool(templates: list[str], size: int, rng: np.random.Generator) -> list[str]:
    return [_fmt(templates[i % len(templates)], rng) for i in range(size)]


def chat_name(i: int) -> str:
    """The name of chat ``i`` (a pure function of ``i``, so other runs can continue a chat)."""
    kind = i % 10
    if kind < 3:  # a bare phone number: the customer is not in the phone's contacts
        n = (i * 7_919) % 90_000_000 + 1_000_000
        return f"+62 8{12 + i % 8}-{n // 10000 % 10000:04d}-{n % 10000:04d}"
    if kind == 9:
        return f"{SHOPS[(i // 10) % len(SHOPS)]} {i // 100 + 1}"
    name = f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}"
    again = i // (len(FIRST) * len(LAST))
    return f"{name} {again + 1}" if again else name


# --------------------------------------------------------------------------------------------
# the conversation model (vectorised)
# --------------------------------------------------------------------------------------------
CUSTOMER, AGENT, BOT, SYSTEM = 0, 1, 2, 3
TEXT, MEDIA, DELETED = 0, 1, 2


class Messages:
    """Generated messages in (chat, time) order: parallel NumPy arrays, one entry per message
    (the per-chat encryption notice excluded)."""

    def __init__(self, **arrays):
        self.__dict__.update(arrays)

    def __len__(self) -> int:
        return len(self.chat)


def chat_sizes(n_messages: int, n_chats: int, rng: np.random.Generator) -> np.ndarray:
    """Messages per chat (notice line included), lognormal spread, at least 2 each."""
    n_chats = max(1, min(n_chats, n_messages // 2))
    weights = rng.lognormal(0.0, 1.0, n_chats)
    extra = n_messages - 2 * n_chats
    sizes = np.full(n_chats, 2, dtype=np.int64)
    if extra > 0:
        sizes += rng.multinomial(extra, weights / weights.sum())
    return sizes


def simulate(sizes: np.ndarray, rng: np.random.Generator, *, start: dt.date, days: int | None,
             calendar: BusinessCalendar) -> Messages:
    """Exactly ``sizes[k] - 1`` messages for chat ``k`` (plus the notice the writer adds)."""
    need = sizes - 1
    n_chats = len(sizes)
    # exchanges per chat: enough messages for almost every chat at once, top up the rest
    n_ex = np.ceil(need / 2.2).astype(np.int64) + 2
    start_s = int(dt.datetime(start.year, start.month, start.day, tzinfo=dt.timezone.utc).timestamp()) - TZ_OFFSET
    parts = []
    missing = need.copy()
    chats = np.arange(n_chats)
    while len(chats):
        part = _exchanges(chats, n_ex[chats], missing[chats], rng, start_s=start_s, days=days, calendar=calendar)
        parts.append(part)
        got = np.bincount(part["chat"], minlength=n_chats)
        missing = missing - got
        chats = np.flatnonzero(missing > 0)
        n_ex = np.full(n_chats, 0, dtype=np.int64)
        n_ex[chats] = np.ceil(missing[chats] / 2.0).astype(np.int64) + 2
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    # keep whole exchanges, drawn in random order, until each chat has its size (so the kept
    # ones spread over the chat's whole span), then put them in time order (ties: burst order)
    seq = np.arange(len(cols["chat"]))
    order = np.lexsort((seq, cols["ex_key"], cols["chat"]))
    first = np.searchsorted(cols["chat"][order], np.arange(n_chats))
    rank = np.empty_like(seq)
    rank[order] = seq - first[cols["chat"][order]]
    keep = rank < need[cols["chat"]]
    cols = {k: v[keep] for k, v in cols.items()}
    order = np.lexsort((seq[keep], cols["t"], cols["chat"]))
    cols = {k: v[order] for k, v in cols.items()}
    assert np.array_equal(np.bincount(cols["chat"], minlength=n_chats), need)

    n = len(cols["chat"])
    role = cols["role"]
    u = rng.random(n)
    kind = np.full(n, TEXT, dtype=np.int8)
    kind[(role != BOT) & (u < 0.035)] = MEDIA
    kind[(role != BOT) & (u > 0.99)] = DELETED
    multi = (role != BOT) & (kind == TEXT) & (rng.random(n) < np.where(role == AGENT, 0.08, 0.05))
    text_idx = rng.integers(0, 1 << 30, n)
    return Messages(chat=cols["chat"], t=cols["t"], role=role, agent=cols["agent"], kind=kind, multi=multi,
                    text_idx=text_idx, auto_idx=cols["auto_idx"])


def _exchanges(chats, n_ex, need, rng, *, start_s, days, calendar) -> dict[str, np.ndarray]:
    e_chat = np.repeat(chats, n_ex)
    n_e = len(e_chat)
    # chat span: about 1.5 days per exchange of ~3.7 messages, capped at `days` (default 2 years)
    span_days = np.minimum(np.maximum(need * 0.4, 7), days or 730).astype(np.int64)
    chat_offset = rng.integers(0, 120, len(chats))
    if days:
        chat_offset[:] = 0
        span_days[:] = days
    off_by_chat = np.zeros(chats.max() + 1, dtype=np.int64)
    span_by_chat = np.zeros(chats.max() + 1, dtype=np.int64)
    off_by_chat[chats] = chat_offset
    span_by_chat[chats] = span_days
    day = off_by_chat[e_chat] + (rng.random(n_e) * span_by_chat[e_chat]).astype(np.int64)
    # time of day: 70 % daytime around 13:00, 30 % anywhere (nights)
    daytime = rng.random(n_e) < 0.7
    tod = np.where(daytime, np.clip(rng.normal(13 * 3600, 3.2 * 3600, n_e), 6 * 3600, 22 * 3600),
                   rng.random(n_e) * 86400).astype(np.int64)
    base = start_s + day * 86400 + tod

    kind_u = rng.random(n_e)
    follow_up = kind_u < 0.06
    unanswered = (kind_u >= 0.06) & (kind_u < 0.15)
    n_cust = np.minimum(rng.geometric(0.5, n_e), 8)
    n_cust[follow_up] = 0
    n_agent = np.minimum(rng.geometric(0.6, n_e), 5)
    n_agent[unanswered] = 0
    working = calendar.is_working(base)
    first_of_chat = np.r_[True, e_chat[1:] != e_chat[:-1]]
    auto = (n_cust > 0) & (((~working) & (rng.random(n_e) < 0.85)) | (first_of_chat & (rng.random(n_e) < 0.5)))
    auto_idx = np.where(~working, 0, 1).astype(np.int8)
    # follow-ups happen in working hours
    base = np.where(follow_up, calendar.next_working_start(base) + rng.integers(0, 3600, n_e), base)

    # customer burst times
    total_c = int(n_cust.sum())
    c_ex = np.repeat(np.arange(n_e), n_cust)
    gaps = np.where(rng.random(total_c) < 0.8, rng.exponential(40, total_c), rng.exponential(600, total_c)).astype(np.int64)
    c_first = np.r_[0, np.cumsum(n_cust)[:-1]]
    gaps[c_first[n_cust > 0]] = 0
    cum = np.cumsum(gaps)
    c_t = base[c_ex] + cum - cum[c_first[c_ex]]
    last_c = base.copy()
    has_c = n_cust > 0
    last_c[has_c] = c_t[(c_first + n_cust - 1)[has_c]]

    # agent reply: in the next working interval, lognormal delay (median ~7 min), 4 % days late
    opens = calendar.next_working_start(last_c)
    delay = np.minimum(rng.lognormal(np.log(420), 1.2, n_e), 2 * 86400)
    late = rng.random(n_e) < 0.04
    delay[late] = rng.uniform(86400, 3 * 86400, int(late.sum()))
    reply = np.where(follow_up, base, opens + delay.astype(np.int64))
    total_a = int(n_agent.sum())
    a_ex = np.repeat(np.arange(n_e), n_agent)
    a_gaps = rng.exponential(60, total_a).astype(np.int64)
    a_first = np.r_[0, np.cumsum(n_agent)[:-1]]
    a_gaps[a_first[n_agent > 0]] = 0
    a_cum = np.cumsum(a_gaps)
    a_t = reply[a_ex] + a_cum - a_cum[a_first[a_ex]]

    # owner agent of each chat (80 % of replies), others step in
    owner = rng.integers(0, len(AGENTS), chats.max() + 1)
    e_agent = np.where(rng.random(n_e) < 0.8, owner[e_chat], rng.integers(0, len(AGENTS), n_e))

    b_ex = np.flatnonzero(auto)
    b_t = c_t[c_first[b_ex]] + rng.integers(1, 10, len(b_ex))
    t = np.concatenate([c_t, b_t, a_t])
    ex = np.concatenate([c_ex, b_ex, a_ex])
    role = np.concatenate([np.full(total_c, CUSTOMER), np.full(len(b_ex), BOT), np.full(total_a, AGENT)]).astype(np.int8)
    ex_key = rng.random(n_e)  # draw order of the exchange when chats are cut to size
    return {
        "chat": e_chat[ex], "t": t, "role": role, "agent": e_agent[ex].astype(np.int8),
        "auto_idx": auto_idx[ex], "ex_key": ex_key[ex],
    }


# --------------------------------------------------------------------------------------------
# texts and export formatting (Arrow string kernels)
# --------------------------------------------------------------------------------------------
def _texts(m: Messages, layout_ios: np.ndarray, rng: np.random.Generator) -> pa.Array:
    c_single = _pool(CUSTOMER_TEXTS, 997, rng)
    c_multi = _pool(CUSTOMER_MULTI, 101, rng)
    a_single = _pool(AGENT_TEXTS, 499, rng)
    a_multi = _pool(AGENT_MULTI, 53, rng)
    specials = [*AUTO_REPLIES, "<Media tidak disertakan>", "\u200eimage omitted", "Pesan ini telah dihapus",
                "\u200eThis message was deleted."]
    vocab = c_single + c_multi + a_single + a_multi + specials
    o_cm = len(c_single)
    o_as = o_cm + len(c_multi)
    o_am = o_as + len(a_single)
    o_sp = o_am + len(a_multi)
    idx = m.text_idx
    layout_ios = layout_ios.astype(np.int64)
    is_agent = m.role == AGENT
    code = np.where(is_agent, np.where(m.multi, o_am + idx % len(a_multi), o_as + idx % len(a_single)),
                    np.where(m.multi, o_cm + idx % len(c_multi), idx % len(c_single)))
    code = np.where(m.role == BOT, o_sp + m.auto_idx.astype(np.int64), code)
    code = np.where(m.kind == MEDIA, o_sp + 2 + layout_ios, code)
    code = np.where(m.kind == DELETED, o_sp + 4 + layout_ios, code)
    return pa.array(vocab, pa.string()).take(pa.array(code.astype(np.int32))), code, o_cm, o_as, o_am, o_sp


def _local_fields(t_utc: np.ndarray):
    local = t_utc + TZ_OFFSET
    days = local // 86400
    secs = local % 86400
    d = days.astype("datetime64[D]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = (d.astype("datetime64[M]") - d.astype("datetime64[Y]")).astype(np.int64) + 1
    mday = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    return year, month, mday, secs // 3600, secs // 60 % 60, secs % 60


_P2 = pa.array([f"{i:02d}" for i in range(100)])
_U = pa.array([str(i) for i in range(100)])


def _take(table: pa.Array, idx: np.ndarray) -> pa.Array:
    return table.take(pa.array(idx.astype(np.int32)))


def _headers(t_utc: np.ndarray, ios: bool, nnbsp: np.ndarray | None = None) -> pa.Array:
    year, month, mday, hour, minute, second = _local_fields(t_utc)
    yy = year % 100
    if not ios:  # 12/04/25 14.17 - 
        return pc.binary_join_element_wise(_take(_P2, mday), "/", _take(_P2, month), "/", _take(_P2, yy), " ",
                                           _take(_P2, hour), ".", _take(_P2, minute), " - ", "")
    h12 = hour % 12
    h12 = np.where(h12 == 0, 12, h12)
    ampm = pa.array(["AM", "PM"]).take(pa.array((hour >= 12).astype(np.int32)))
    space = pa.array([" ", "\u202f"]).take(pa.array(nnbsp.astype(np.int32)))
    return pc.binary_join_element_wise("[", _take(_U, month), "/", _take(_U, mday), "/", _take(_P2, yy), ", ",
                                       _take(_U, h12), ":", _take(_P2, minute), ":", _take(_P2, second), space, ampm,
                                       "] ", "")


def write_exports(out: Path, m: Messages, names: list[str], ios: np.ndarray, nnbsp: np.ndarray,
                  rng: np.random.Generator) -> list[Path]:
    """One export file per chat; returns the paths."""
    n = len(m)
    layout_ios = ios[m.chat].astype(np.int64)
    texts, *_ = _texts(m, layout_ios, rng)
    agent_names = pa.array([a[1] for a in AGENTS])
    chat_names = pa.array(names)
    sender = pc.if_else(pa.array(m.role == CUSTOMER), chat_names.take(pa.array(m.chat.astype(np.int32))),
                        agent_names.take(pa.array(m.agent.astype(np.int32))))
    header = pa.array([""] * 0, pa.string())
    idx_a = np.flatnonzero(layout_ios == 0)
    idx_i = np.flatnonzero(layout_ios == 1)
    header_parts = [None, None]
    if len(idx_a):
        header_parts[0] = _headers(m.t[idx_a], ios=False)
    if len(idx_i):
        header_parts[1] = _headers(m.t[idx_i], ios=True, nnbsp=nnbsp[m.chat[idx_i]])
    header = pa.concat_arrays([p for p in header_parts if p is not None]).cast(pa.large_string())
    back = np.empty(n, dtype=np.int64)
    back[np.concatenate([idx_a, idx_i])] = np.arange(n)
    header = header.take(pa.array(back))
    ls = pa.large_string()
    lines = pc.binary_join_element_wise(header, sender.cast(ls), pa.scalar(": ", ls), texts.cast(ls),
                                        pa.scalar("\n", ls), pa.scalar("", ls))
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset: lines.offset + n + 1]
    data = lines.buffers()[2]
    bounds = np.searchsorted(m.chat, np.arange(len(names) + 1))
    folder = out / "whatsapp"
    folder.mkdir(parents=True, exist_ok=True)
    first_t = m.t[np.minimum(bounds[:-1], n - 1)]
    paths = []
    for k, name in enumerate(names):
        lo, hi = int(offsets[bounds[k]]), int(offsets[bounds[k + 1]])
        t0 = int(first_t[k]) - 60
        if ios[k]:
            notice = (_headers(np.array([t0]), ios=True, nnbsp=nnbsp[k:k + 1])[0].as_py() + f"{name}: \u200eMessages and"
                      " calls are end-to-end encrypted. No one outside of this chat, not even WhatsApp, can read or"
                      " listen to them.\n")
            path = folder / f"WhatsApp Chat - {name}.txt"
        else:
            notice = (_headers(np.array([t0]), ios=False)[0].as_py() + "Pesan dan panggilan terenkripsi secara"
                      " end-to-end. Tidak seorang pun di luar chat ini, termasuk WhatsApp, yang dapat membaca atau"
                      " mendengarkannya.\n")
            path = folder / f"Chat WhatsApp dengan {name}.txt"
        with open(path, "wb") as fh:
            fh.write(notice.encode("utf-8"))
            fh.write(memoryview(data)[lo:hi])
        paths.append(path)
    return paths


# --------------------------------------------------------------------------------------------
# e-mail, orders, config
# --------------------------------------------------------------------------------------------
def write_mbox(out: Path, n_threads: int, rng: np.random.Generator, *, start: dt.date, span_days: int) -> int:
    """A few e-mail threads (question, auto-reply, agent reply with a quote, follow-ups)."""
    folder = out / "email"
    folder.mkdir(parents=True, exist_ok=True)
    tz = dt.timezone(dt.timedelta(hours=7))
    chunks, count = [], 0
    for k in range(n_threads):
        customer = f"{FIRST[k % len(FIRST)].lower()}.{LAST[(k * 7) % len(LAST)].lower()}{k}@example.co.id"
        cname = f"{FIRST[k % len(FIRST)]} {LAST[(k * 7) % len(LAST)]}"
        agent = AGENTS[k % len(AGENTS)]
        product = PRODUCTS[k % len(PRODUCTS)]
        subject = f"Permintaan penawaran {product} {100 + 50 * (k % 9)} pcs"
        t = dt.datetime.combine(start, dt.time(9, 0), tz) + dt.timedelta(days=int(rng.integers(0, max(1, span_days))),
                                                                        minutes=int(rng.integers(0, 600)))
        ids: list[str] = []
        n_msgs = int(rng.integers(2, 7))
        body_prev = ""
        for j in range(n_msgs):
            from_agent = j % 2 == 1
            auto = j == 1 and k % 3 == 0
            if auto:
                sender, who = f"noreply@{DOMAIN}", BUSINESS
                body = AUTO_REPLIES[0]
            elif from_agent:
                sender, who = agent[3], agent[1]
                body = f"Halo Bapak/Ibu {cname},\n\nHarga {product} Rp {int(rng.integers(5, 90))}.500/pcs, minimal order 50 pcs.\n\nSalam,\n{agent[1]}\n{BUSINESS}"
            else:
                sender, who = customer, cname
                body = f"Selamat siang,\n\nMohon info harga dan waktu produksi {product}.\nTerima kasih.\n\n{cname}"
            msg_id = f"<{k}.{j}.{int(rng.integers(1 << 30))}@{'mail.' + DOMAIN if from_agent else 'example.co.id'}>"
            headers = [
                f"From {sender} {t.astimezone(dt.timezone.utc):%a %b %d %H:%M:%S %Y}",
                f"From: {who} <{sender}>",
                f"To: {cname + ' <' + customer + '>' if from_agent or auto else agent[1] + ' <' + agent[3] + '>'}",
                f"Subject: {'Re: ' if j else ''}{subject}",
                f"Date: {t:%a, %d %b %Y %H:%M:%S %z}",
                f"Message-ID: {msg_id}",
            ]
            if ids:
                headers += [f"In-Reply-To: {ids[-1]}", f"References: {' '.join(ids)}"]
            if auto:
                headers.append("Auto-Submitted: auto-replied")
            headers += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
            quoted = ""
            if body_prev and not auto:
                quoted = f"\n\nPada {t - dt.timedelta(hours=1):%d/%m/%Y %H.%M}, {who} menulis:\n" + "\n".join(
                    "> " + line for line in body_prev.splitlines())
            chunks.append("\n".join(headers) + "\n\n" + body + quoted + "\n")
            ids.append(msg_id)
            if not auto:
                body_prev = body
            count += 1
            t += dt.timedelta(minutes=int(rng.integers(2, 60 * 20)))
    (folder / "inbox.mbox").write_text("\n".join(chunks), encoding="utf-8")
    return count


def write_orders(out: Path, names: list[str], n_orders: int, rng: np.random.Generator, *, start: dt.date,
                 span_days: int) -> int:
    folder = out / "orders"
    folder.mkdir(parents=True, exist_ok=True)
    who = rng.integers(0, len(names), n_orders)
    day = np.sort(rng.integers(0, max(1, span_days), n_orders))
    amount = (rng.lognormal(np.log(2_500_000), 1.0, n_orders) // 500 * 500).astype(np.int64)
    lines = ["order_id,date,customer,amount"]
    for i in range(n_orders):
        date = start + dt.timedelta(days=int(day[i]))
        name = names[who[i]].replace('"', "")
        lines.append(f"INV-{date:%Y%m}-{i + 1:05d},{date:%Y-%m-%d},\"{name}\",{amount[i]}")
    (folder / "orders.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return n_orders


def config_yaml() -> str:
    lines = ["# Roster written by bench/generate.py: use with `chatkpi --config` on the generated exports.",
             "timezone: Asia/Jakarta", "agents:"]
    for aid, name, phone, email in AGENTS:
        lines += [f"  - id: {aid}", f'    names: ["{name}"]', f'    phones: ["{phone}"]', f'    emails: ["{email}"]']
    lines.append("auto_reply_patterns:")
    lines += [f'  - "{p}"' for p in AUTO_REPLY_PATTERNS]
    lines += ["company_domains:", f"  - {DOMAIN}"]
    return "\n".join(lines) + "\n"


def roster_config() -> Config:
    import yaml

    from kpi_transforms.core.config import parse_config

    return parse_config(yaml.safe_load(config_yaml()))


# --------------------------------------------------------------------------------------------
# entry points
# --------------------------------------------------------------------------------------------
def generate(out: str | Path, *, messages: int, chats: int | None = None, seed: int = 7,
             start: dt.date = dt.date(2024, 1, 1), days: int | None = None, chat_ids: list[int] | None = None,
             email_threads: int | None = None, orders: int | None = None, ios_share: float = 0.3) -> dict:
    """Write exports, mbox, orders and the roster config to ``out``; return the summary."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_chats = len(chat_ids) if chat_ids is not None else (chats or max(1, messages // 500))
    sizes = chat_sizes(messages, n_chats, rng)
    n_chats = len(sizes)
    ids = list(chat_ids)[:n_chats] if chat_ids is not None else list(range(n_chats))
    names = [chat_name(i) for i in ids]
    calendar = BusinessCalendar.from_config(Config())
    m = simulate(sizes, rng, start=start, days=days, calendar=calendar)
    ios = rng.random(n_chats) < ios_share
    nnbsp = rng.random(n_chats) < 0.5
    paths = write_exports(out, m, names, ios, nnbsp, rng)
    local0 = dt.datetime.fromtimestamp(int(m.t.min()) + TZ_OFFSET, dt.timezone.utc).replace(tzinfo=None)
    local1 = dt.datetime.fromtimestamp(int(m.t.max()) + TZ_OFFSET, dt.timezone.utc).replace(tzinfo=None)
    span = max(1, (local1.date() - start).days)
    n_mail = write_mbox(out, email_threads if email_threads is not None else max(3, min(50, n_chats // 40)), rng,
                        start=start, span_days=span)
    n_orders = write_orders(out, names, orders if orders is not None else max(5, n_chats), rng, start=start,
                            span_days=span)
    (out / "chatkpi.yaml").write_text(config_yaml(), encoding="utf-8")
    summary = {
        "seed": seed, "messages": int(sizes.sum()), "chats": n_chats, "ios_chats": int(ios.sum()),
        "bytes": int(sum(p.stat().st_size for p in paths)),
        "roles": {r: int((m.role == i).sum()) for i, r in enumerate(("customer", "agent", "bot"))},
        "first_local": local0.isoformat(), "last_local": local1.isoformat(),
        "email_messages": n_mail, "orders": n_orders, "whatsapp_dir": str(out / "whatsapp"),
        "config": str(out / "chatkpi.yaml"),
    }
    (out / "generate.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
    return summary


def history_parquet(out: str | Path, *, messages: int, chats: int | None = None, seed: int = 11,
                    start: dt.date = dt.date(2023, 1, 1), days: int = 730, chunk_messages: int = 1_000_000,
                    facts: bool = True) -> dict:
    """Canonical ``marts.fct_message`` rows (plus reply-pair / thread facts) as Parquet chunks of
    whole threads under ``out/``: ``messages-NNN.parquet``, ``pairs-NNN.parquet``, ``threads-NNN.parquet``.
    Chat ``i`` is :func:`chat_name` ``(i)``, so a later :func:`generate` with ``chat_ids`` can
    continue some of these threads."""
    import pandas as pd
    import pyarrow.parquet as pq

    from kpi_transforms.core.identity import customer_id_for, make_thread_id, thread_key
    from kpi_transforms.core.schema import MESSAGE_SCHEMA
    from kpi_transforms.facts.reply_pairs import fct_reply_pair
    from kpi_transforms.facts.threads import fct_thread
    from kpi_transforms.sources.canonical import message_ids

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_chats = chats or max(1, messages // 500)
    sizes = chat_sizes(messages, n_chats, rng)
    n_chats = len(sizes)
    config = roster_config()
    calendar = BusinessCalendar.from_config(config)
    # chunks of whole chats, about chunk_messages each
    cuts = np.searchsorted(np.cumsum(sizes), np.arange(chunk_messages, int(sizes.sum()), chunk_messages))
    bounds = np.unique(np.r_[0, cuts + 1, n_chats])
    written = 0
    horizon = None
    t_max = 0
    for c, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        sub = rng.spawn(1)[0]
        m = simulate(sizes[lo:hi] + 1, sub, start=start, days=days, calendar=calendar)  # no notice line here
        names = [chat_name(i) for i in range(lo, hi)]
        layout_ios = np.zeros(len(m), dtype=np.int64)
        texts, *_ = _texts(m, layout_ios, sub)
        keys = [thread_key(nm, config) for nm in names]
        thread_ids = pa.array([make_thread_id("whatsapp", k) for k in keys])
        cust = pa.array([customer_id_for(nm) for nm in names])
        chat32 = pa.array(m.chat.astype(np.int32))
        agent_names = pa.array([a[1] for a in AGENTS])
        agent_ids = pa.array([a[0] for a in AGENTS])
        is_cust = pa.array(m.role == CUSTOMER)
        sender = pc.if_else(is_cust, pa.array(names).take(chat32), agent_names.take(pa.array(m.agent.astype(np.int32))))
        local_us = (m.t + TZ_OFFSET) * 1_000_000
        local_ts = pd.Series(local_us.view("datetime64[us]"))
        ids = message_ids(
            pd.Series("whatsapp", index=local_ts.index), pd.Series(pa.array(keys).take(chat32).to_pandas()),
            local_ts, sender.to_pandas(), texts.to_pandas(),
        )
        role_names = pa.array(["customer", "agent", "bot", "system"]).take(pa.array(m.role.astype(np.int32)))
        mtype = pa.array(["text", "media", "deleted"]).take(pa.array(m.kind.astype(np.int32)))
        line = np.arange(len(m)) - np.searchsorted(m.chat, m.chat) + 2
        table = pa.table(
            {
                "message_id": pa.array(ids.to_numpy(dtype=object), pa.string()),
                "thread_id": thread_ids.take(chat32),
                "thread_name": pa.array(names).take(chat32),
                "channel": pa.array(np.full(len(m), "whatsapp")),
                "sent_at": pa.array(m.t * 1_000_000, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
                "sent_at_local": pa.array(local_us, pa.int64()).cast(pa.timestamp("us")),
                "sender_name": sender,
                "sender_role": role_names,
                "agent_id": pc.if_else(is_cust, pa.scalar(None, pa.string()), agent_ids.take(pa.array(m.agent.astype(np.int32)))),
                "customer_id": cust.take(chat32),
                "is_auto_reply": pa.array(m.role == BOT),
                "message_type": mtype,
                "text": texts,
                "source_file": pa.array([f"history/chat-{i}.txt" for i in range(lo, hi)]).take(chat32),
                "source_line": pa.array(line, pa.int64()),
                "file_seq": pa.array(np.zeros(len(m), dtype=np.int64)),
                "batch_id": pa.array(np.full(len(m), "history")),
                "in_holiday_mode": pa.array(np.zeros(len(m), dtype=bool)),
            }
        ).cast(MESSAGE_SCHEMA)
        pq.write_table(table, out / f"messages-{c:03d}.parquet")
        written += table.num_rows
        t_max = max(t_max, int(m.t.max()))
        if facts:
            frame = table.to_pandas()
            for col in ("message_id", "thread_id", "thread_name", "channel", "sender_name", "sender_role", "agent_id",
                        "customer_id", "message_type", "text", "source_file", "batch_id"):
                frame[col] = frame[col].astype("string")
            horizon = pd.Timestamp(int(m.t.max()), unit="s", tz="UTC")
            pairs = fct_reply_pair(frame, calendar, data_horizon=horizon)
            threads = fct_thread(frame, pairs, calendar)
            pq.write_table(pa.Table.from_pandas(pairs, preserve_index=False), out / f"pairs-{c:03d}.parquet")
            pq.write_table(pa.Table.from_pandas(threads, preserve_index=False), out / f"threads-{c:03d}.parquet")
    summary = {"messages": written, "chats": n_chats, "chunks": len(bounds) - 1,
               "last_utc": dt.datetime.fromtimestamp(t_max, dt.timezone.utc).isoformat()}
    (out / "history.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, required=True, help="WhatsApp messages in total (parser's count)")
    parser.add_argument("--chats", type=int, help="number of chats (default: messages / 500)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--start", default="2024-01-01", help="first local date (default 2024-01-01)")
    parser.add_argument("--days", type=int, help="span of every chat in days (default: ~1.5 days per exchange, <= 2 years)")
    parser.add_argument("--ios-share", type=float, default=0.3, help="share of chats in the iOS layout")
    parser.add_argument("--email-threads", type=int, help="e-mail threads in inbox.mbox (default: chats / 40, 3..50)")
    parser.add_argument("--orders", type=int, help="rows of orders.csv (default: one per chat)")
    parser.add_argument("--history", type=int, metavar="N",
                        help="instead: N canonical messages (+ facts) as Parquet under OUT/history")
    args = parser.parse_args(argv)
    start = dt.date.fromisoformat(args.start)
    if args.history:
        summary = history_parquet(Path(args.out) / "history", messages=args.history, chats=args.chats, seed=args.seed,
                                  start=start)
    else:
        summary = generate(args.out, messages=args.messages, chats=args.chats, seed=args.seed, start=start,
                           days=args.days, email_threads=args.email_threads, orders=args.orders,
                           ios_share=args.ios_share)
    print(json.dumps(summary, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
