"""Generate the hostile-input corpus of SPEC 12 into a folder (nothing large is committed).

    python tests/hostile/make_corpus.py OUT_DIR [--big-line-mb 50]

Each case is one input file that a real landing folder may receive. :func:`make_corpus` writes
them and returns what the pipeline must do with each (:class:`Case`): load it with an exact
message count, reject the whole file with a reason, or load it and quarantine named lines.
Cases for loaders that do not exist yet (e-mail, orders) are listed with ``skip`` set to the
reason, so the test can report them as skipped instead of silently dropping them.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import io
import random
import zipfile
from pathlib import Path

# Small zip limits for the corpus (config key ``zip_limits``): the bomb passes them, real chats do not.
ZIP_LIMITS = {"max_member_bytes": 1_000_000, "max_total_bytes": 2_000_000}
CONFIG = {"agents": [{"id": "lia", "names": ["Lia Sales"]}], "zip_limits": ZIP_LIMITS}


@dataclasses.dataclass
class Case:
    """What must happen to one corpus file."""

    name: str  # file name inside the corpus folder
    outcome: str  # loaded | rejected_file | rejected_rows
    reason: str | None = None  # substring of the reason (rejected file, or every quarantined line)
    messages: int | None = None  # exact messages loaded from the file
    bad_lines: tuple[int, ...] = ()  # lines that must be in audit.rejected_row
    skip: str | None = None  # why this case cannot run here


def _chat(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


GOOD = _chat([
    "13/03/25 09.00 - Pak Joko: Selamat pagi, stok kaos polos hitam ada?",
    "13/03/25 09.01 - Pak Joko: ukuran L 2 lusin",
    "13/03/25 09.20 - Lia Sales: Pagi pak, ada. Harga Rp 35.000/pcs",
    "13/03/25 09.22 - Pak Joko: bisa kurang?",
    "kalau ambil 5 lusin",
    "13/03/25 09.40 - Lia Sales: Bisa Rp 33.000 pak",
    "13/03/25 13.05 - Pak Joko: <Media tidak disertakan>",
    "14/03/25 08.10 - Pak Joko: Jadi order 5 lusin ya",
    "14/03/25 08.30 - Lia Sales: Siap pak, invoice menyusul",
    "14/03/25 08.31 - Lia Sales: Pesan ini dihapus",
    "15/03/25 10.00 - Pak Joko: Sudah transfer",
    "15/03/25 10.15 - Lia Sales: Terima kasih pak",
    "17/03/25 09.00 - Pak Joko: Barang sudah sampai, mantap",
])
GOOD_MESSAGES = 12


def make_corpus(folder: str | Path, *, big_line_bytes: int = 50 * 2**20) -> list[Case]:
    """Write every corpus file into ``folder`` (created) and return the cases."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []

    def write(name: str, data: bytes | str, case: Case) -> None:
        (out / name).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
        cases.append(case)

    write("Chat WhatsApp dengan Pak Joko.txt", GOOD, Case("Chat WhatsApp dengan Pak Joko.txt", "loaded", messages=GOOD_MESSAGES))

    rnd = random.Random(20250314)
    write("binary.txt", bytes(rnd.getrandbits(8) for _ in range(64 * 1024)),
          Case("binary.txt", "rejected_file", reason="not UTF-8 or UTF-16 (binary data)"))

    utf16 = _chat(["14/03/25 10.00 - Bu Rina: Halo kak, ready gamis ukuran XL?", "14/03/25 10.30 - Lia Sales: Ready kak",
                   "14/03/25 10.31 - Bu Rina: Oke, 3 pcs ya"])
    write("Chat WhatsApp dengan Bu Rina.txt", b"\xff\xfe" + utf16.encode("utf-16-le"),
          Case("Chat WhatsApp dengan Bu Rina.txt", "loaded", messages=3))
    latin1 = _chat(["14/03/25 11.00 - André: Ada café sachet?", "14/03/25 11.10 - Lia Sales: Ada kak"])
    write("Chat WhatsApp dengan André.txt", latin1.encode("latin-1"),
          Case("Chat WhatsApp dengan André.txt", "rejected_file", reason="not UTF-8 or UTF-16 (text in another encoding)"))

    whole = io.BytesIO()
    with zipfile.ZipFile(whole, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("_chat.txt", GOOD * 40)
        archive.writestr("IMG-0001.jpg", bytes(rnd.getrandbits(8) for _ in range(20_000)))
    data = whole.getvalue()
    write("WhatsApp Chat with Terpotong.zip", data[: len(data) * 3 // 5],
          Case("WhatsApp Chat with Terpotong.zip", "rejected_file", reason="zip"))

    traversal = io.BytesIO()
    with zipfile.ZipFile(traversal, "w") as archive:
        archive.writestr("_chat.txt", GOOD)
        archive.writestr("../../evil.txt", "owned")
    write("WhatsApp Chat with Jalan Pintas.zip", traversal.getvalue(),
          Case("WhatsApp Chat with Jalan Pintas.zip", "rejected_file", reason="'..' path component"))

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("_chat.txt", b"13/03/25 09.00 - Bom: " + b"A" * (40 * ZIP_LIMITS["max_member_bytes"]))
    write("WhatsApp Chat with Bom.zip", bomb.getvalue(),
          Case("WhatsApp Chat with Bom.zip", "rejected_file", reason=f"more than the limit of {ZIP_LIMITS['max_member_bytes']}"))

    write("Chat WhatsApp dengan Kosong.txt", b"", Case("Chat WhatsApp dengan Kosong.txt", "rejected_file", reason="empty file"))

    write("satu-baris.txt", b"A" * big_line_bytes,
          Case("satu-baris.txt", "rejected_file", reason="no WhatsApp message header line found"))

    impossible = _chat(["14/03/25 09.00 - Pak Dedi: Mau pesan 10 dus", "31/02/25 09.05 - Pak Dedi: tanggal mustahil",
                        "baris lanjutan", "14/03/25 09.30 - Lia Sales: Siap pak"])
    write("Chat WhatsApp dengan Pak Dedi.txt", impossible,
          Case("Chat WhatsApp dengan Pak Dedi.txt", "rejected_rows", messages=2, bad_lines=(2, 3), reason="31/02/25"))

    future = _chat(["14/03/2025 09.00 - Bu Sari: Kak, kain katun ready?", "14/03/2099 09.05 - Bu Sari: dari 2099",
                    "14/03/3000 09.06 - Bu Sari: dari tahun 3000", "14/03/2025 09.40 - Lia Sales: Ready kak"])
    write("Chat WhatsApp dengan Bu Sari.txt", future,
          Case("Chat WhatsApp dengan Bu Sari.txt", "rejected_rows", messages=2, bad_lines=(2, 3)))

    mixed = _chat(["14/03/25 09.00 - Koh Acong: Ada paku 5 cm?", "14/03/25 09.10 - Lia Sales: Ada koh",
                   "[15/03/25 10.00.01] Koh Acong: ganti HP, sekarang iPhone", "[15/03/25 10.05.00] Lia Sales: Siap koh"])
    write("Chat WhatsApp dengan Koh Acong.txt", mixed, Case("Chat WhatsApp dengan Koh Acong.txt", "loaded", messages=4))

    nul = _chat(["14/03/25 12.00 - Mas Nul: harga\x00 kardus?", "14/03/25 12.10 - Lia Sales: Rp 5.000 kak"])
    write("Chat WhatsApp dengan Mas Nul.txt", nul, Case("Chat WhatsApp dengan Mas Nul.txt", "loaded", messages=2))

    email_skip = _missing("kpi_transforms.sources.email", "kpi_transforms/sources/email.py (e-mail ingestion)")
    mbox = (
        "From pembeli@contoh.id Fri Mar 14 09:00:00 2025\n"
        "From: Pembeli <pembeli@contoh.id>\nTo: sales@toko.id\nSubject: Tanya harga\n"
        "Date: Fri, 14 Mar 2025 09:00:00 +0700\nMessage-ID: <a1@contoh.id>\n\nHarga seragam berapa?\n\n"
        "From pembeli@contoh.id Fri Mar 14 09:30:00 2025\n"
        "Subject: pesan rusak\n\n\x00\x00 tanpa pengirim, tanpa tanggal\n"
    )
    case = Case("rusak.mbox", "rejected_rows", reason=None, skip=email_skip)
    if email_skip is None:
        write("rusak.mbox", mbox, case)
    else:
        cases.append(case)

    orders_skip = _missing("kpi_transforms.sources.tables.orders", "kpi_transforms/sources/tables/orders.py (sales-report loader)")
    orders = "order_id,order_date,customer_name,amount\nINV-001,2025-03-14,Pak Joko,3960000\nINV-002,2025-03-14,Bu Rina,sepuluh ribu\n"
    case = Case("laporan-penjualan.csv", "rejected_rows", bad_lines=(3,), reason="amount", skip=orders_skip)
    if orders_skip is None:
        write("laporan-penjualan.csv", orders, case)
    else:
        cases.append(case)
    return cases


def _missing(module: str, what: str) -> str | None:
    if importlib.util.find_spec(module) is None:
        return f"{what} does not exist yet"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="folder to write the corpus into")
    parser.add_argument("--big-line-mb", type=int, default=50, help="size of the single-line file (MiB)")
    args = parser.parse_args()
    for case in make_corpus(args.out, big_line_bytes=args.big_line_mb * 2**20):
        print(f"{case.name:<40} {case.outcome:<14} {case.skip or case.reason or ''}")


if __name__ == "__main__":
    main()
