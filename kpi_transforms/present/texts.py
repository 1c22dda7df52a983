"""The report texts in Indonesian and English.
"""

from __future__ import annotations

import re

from kpi_transforms.metrics.catalogue import ISSUE_CATEGORY_LABELS

WEEKDAYS = {"id": ["Sen", "Sel", "Rab", "Kam", "Jum", "Sab", "Min"], "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]}

TEXT = {
    "id": {
        "title": "Laporan KPI Chat — periode {period}", "team": "seluruh tim", "agent": "agen {agent}",
        "generated": "Dibuat {at} · zona waktu {tz} · sumber: gudang data chatkpi",
        "durations": "Tabel Durasi Balas Sales", "scorecard": "Scorecard", "charts": "Grafik",
        "frt": "Distribusi First Response Time (jam kerja, pasangan valid)",
        "heatmap": "Volume pesan per hari dan jam (waktu lokal, seluruh tim)",
        "trend": "Tren bulanan", "trend_frt": "FRT rata-rata (menit jam kerja)",
        "trend_rate": "% dibalas ≤ 1 hari kerja", "agents": "Perbandingan agen",
        "agents_frt": "FRT rata-rata (menit jam kerja)", "agents_rate": "% dibalas ≤ 1 hari kerja",
        "agents_volume": "Antrian pelanggan", "pairs": "pasangan", "messages": "pesan",
        "no_data": "tidak ada data", "no_scorecard": "Belum ada scorecard tersimpan untuk periode ini: jalankan chatkpi scorecard --period {period}.",
        "team_short": "tim", "footer": "chatkpi · angka dibulatkan setengah ke atas · periode = tanggal lokal awal kejadian",
        "heat_legend": "Warna paling gelap = {n} pesan dalam satu jam; abu-abu = tidak ada pesan.",
        "summary_cols": ["Template", "Lingkup", "Total poin", "Bobot dengan data / total", "% dari bobot dengan data", "KPI tanpa data"],
        "min_unit": " menit",
        "bases": "Dasar setiap rata-rata di halaman ini — Tabel Durasi Balas Sales: waktu kalender (malam, libur dan akhir "
                 "pekan ikut dihitung), semua pasangan balasan valid; grafik FRT: jam kerja, pasangan valid; scorecard "
                 "FRT customer baru: jam kerja, antrean pertama pelanggan baru.",
        "sla": "Antrean & batas 1 hari kerja", "sla_open": "Antrean terbuka melewati batas 1 hari kerja (per {now}, jam laporan ini dibuat)",
        "sla_none": "Tidak ada antrean terbuka yang melewati batas.", "slowest": "Jawaban paling lambat periode ini (waktu kalender)",
        "sla_cols": ["No", "Menunggu sejak", "Terlambat", "Pelanggan", "Agen", "Kanal", "Kutipan", "Transkrip"],
        "slow_cols": ["No", "Pertanyaan", "Durasi (kalender)", "Durasi (jam kerja)", "≤ 1 hari kerja", "Pelanggan", "Agen", "Kanal", "Transkrip"],
        "yes": "Ya", "no": "Tidak", "open_transcript": "lihat", "transcripts": "Lampiran: transkrip",
        "transcript_marks": "▶ Qn = pesan pertama antrean pelanggan n; ◀ An = jawaban pertama sales untuk antrean n.",
        "channels": "First Response Time per kanal (jam kerja, pasangan valid)",
        "channel_cols": ["Kanal", "Pasangan valid", "Rata-rata (menit jam kerja)", "Median (menit jam kerja)", "% ≤ 1 hari kerja",
                         "Antrean dihitung SLA kanal", "% dalam SLA kanal"],
        "aht": "Average Handling Time per agen", "aht_cols": ["KPI", "Agen", "Nilai", "Satuan", "Dasar"],
        "complaints": "Kategori komplain teratas dan trennya",
        "complaint_cols": ["Kategori", "Kasus periode ini", "Kasus periode sebelumnya", "Perubahan"],
        "no_complaints": "Tidak ada kasus komplain pada periode ini.",
        "facts": "Lampiran: fakta di balik setiap angka",
        "facts_intro": "Setiap angka durasi balas, FRT dan tingkat respons menautkan ke daftar pasangan balasan yang dihitungnya "
                       "(penanda tersimpan di gudang data, tidak dihitung ulang).",
        "facts_bases": {"valid": "pasangan balasan valid (rata-rata durasi, FRT)",
                        "counted_1wd": "antrean yang dihitung untuk % dibalas ≤ 1 hari kerja",
                        "counted_24h": "antrean yang dihitung untuk % dibalas ≤ 24 jam",
                        "new_customer": "antrean pertama customer baru yang valid (FRT customer baru)",
                        "case_response": "kasus komplain dengan respons pertama (respons komplain)",
                        "case_resolution": "kasus komplain yang selesai (penyelesaian komplain)",
                        "case_opened": "kasus komplain yang dibuka (komplain berulang)",
                        "quote_response": "permintaan penawaran yang sudah dikirimi penawaran (waktu kirim penawaran)",
                        "counted_sla": "antrean yang dihitung untuk kepatuhan SLA kanal (dalam / lewat target)",
                        "conv_resolved": "percakapan selesai (AHT, ART)",
                        "conv_resolved_complaint": "percakapan selesai dengan isu komplain (AHT)",
                        "conv_resolved_quote_request": "percakapan selesai dengan isu permintaan penawaran (AHT)",
                        "conv_resolved_order": "percakapan selesai dengan isu pesanan (AHT)",
                        "conv_resolved_other": "percakapan selesai dengan isu lain (AHT)",
                        "conv_fcr": "percakapan selesai yang jendela FCR-nya sudah lewat (First Contact Resolution)",
                        "conv_decided": "percakapan yang sudah berakhir dan terputuskan (percakapan ditinggalkan)",
                        "rating": "rating chat (CSAT, tingkat penyelesaian)",
                        **{f"rating_{c}": f"rating chat komplain {labels[0]} (CSAT)" for c, labels in ISSUE_CATEGORY_LABELS.items()},
                        "rating_no_complaint": "rating chat tanpa kasus komplain (CSAT)"},
        "facts_conv_title": "{basis} — {scope}{channel}: {n} percakapan",
        "facts_conv_cols": ["Percakapan", "Thread", "Mulai", "Selesai", "Detik penanganan (AHT)", "Detik jam kerja s.d. selesai",
                            "Status", "FCR", "Ditinggalkan"],
        "facts_rating_title": "{basis} — {scope}{channel}: {n} rating",
        "facts_rating_cols": ["Rating", "Thread", "Diberikan", "Bintang", "Kategori masalah", "Pelanggan (disamarkan)"],
        "facts_quote_title": "{basis} — {scope}{channel}: {n} permintaan",
        "facts_quote_cols": ["Pasangan", "Thread", "Permintaan", "Penawaran", "Detik jam kerja", "Periode tutup"],
        "facts_case_title": "{basis} — {scope}{channel}: {n} kasus",
        "facts_case_cols": ["Kasus", "Thread", "Kategori", "Dibuka", "Detik jam kerja s.d. respons",
                            "Detik jam kerja s.d. selesai", "Status", "Berulang", "Periode tutup"],
        "facts_title": "{basis} — {scope}{channel}: {n} pasangan",
        "facts_cols": ["Pasangan", "Thread", "Pertanyaan", "Jawaban", "Detik jam kerja", "Valid", "Dihitung 1 hari kerja",
                       "Dihitung 24 jam", "Pelanggan (disamarkan)"],
        "facts_more": "dan {n} lagi — query: {query}", "facts_all": "semua pasangan di atas; query yang sama: {query}",
        "late": "TERLAMBAT", "unanswered": "belum dijawab",
        "categories": {c: labels[0] for c, labels in ISSUE_CATEGORY_LABELS.items()},
        "csat": "CSAT per kategori masalah", "csat_cols": ["Kategori masalah", "CSAT (% rating 4–5)", "Jumlah rating", "Catatan"],
        "csat_intro": "Kategori = kasus komplain terakhir thread yang dibuka sebelum rating; chat tanpa kasus = tanpa komplain.",
        "csat_query": "query yang sama: {query}",
    },
    "en": {
        "title": "Chat KPI report — period {period}", "team": "whole team", "agent": "agent {agent}",
        "generated": "Generated {at} · time zone {tz} · source: chatkpi warehouse",
        "durations": "Sales reply durations", "scorecard": "Scorecard", "charts": "Charts",
        "frt": "First response time distribution (business hours, valid pairs)",
        "heatmap": "Messages by weekday and hour (local time, whole team)",
        "trend": "Monthly trend", "trend_frt": "Average FRT (business minutes)",
        "trend_rate": "% answered ≤ 1 working day", "agents": "Agents side by side",
        "agents_frt": "Average FRT (business minutes)", "agents_rate": "% answered ≤ 1 working day",
        "agents_volume": "Customer queues", "pairs": "pairs", "messages": "messages",
        "no_data": "no data", "no_scorecard": "No scorecard stored for this period yet: run chatkpi scorecard --period {period}.",
        "team_short": "team", "footer": "chatkpi · figures rounded half up · periods = local date of the start event",
        "heat_legend": "Darkest = {n} messages in one hour; grey = no message.",
        "summary_cols": ["Template", "Scope", "Total points", "Weights with data / total", "% of weights with data", "KPIs without data"],
        "min_unit": " min",
        "bases": "What each average on this page is based on — Sales reply durations: calendar time (nights, holidays and "
                 "weekends included), all valid reply pairs; FRT charts: business hours, valid pairs; scorecard FRT of new "
                 "customers: business hours, first queues of new customers.",
        "sla": "Queues & the 1-working-day deadline", "sla_open": "Open queues past the 1-working-day deadline (as of {now}, when this report was made)",
        "sla_none": "No open queue past its deadline.", "slowest": "Slowest answers of the period (calendar time)",
        "sla_cols": ["No", "Waiting since", "Overdue by", "Customer", "Agent", "Channel", "Excerpt", "Transcript"],
        "slow_cols": ["No", "Question", "Duration (calendar)", "Duration (business)", "≤ 1 working day", "Customer", "Agent", "Channel", "Transcript"],
        "yes": "Yes", "no": "No", "open_transcript": "view", "transcripts": "Appendix: transcripts",
        "transcript_marks": "▶ Qn = first message of customer queue n; ◀ An = the first sales answer to queue n.",
        "channels": "First response time per channel (business hours, valid pairs)",
        "channel_cols": ["Channel", "Valid pairs", "Average (business minutes)", "Median (business minutes)", "% ≤ 1 working day",
                         "Queues counted for the channel SLA", "% within the channel SLA"],
        "aht": "Average handling time per agent", "aht_cols": ["KPI", "Agent", "Value", "Unit", "Basis"],
        "complaints": "Top complaint categories and their trend",
        "facts": "Appendix: the facts behind each figure",
        "facts_intro": "Every reply-duration, FRT and response-rate figure links to the list of reply pairs it counts "
                       "(flags stored in the warehouse, not recomputed).",
        "facts_bases": {"valid": "valid reply pairs (duration averages, FRT)",
                        "counted_1wd": "queues counted in % answered ≤ 1 working day",
                        "counted_24h": "queues counted in % answered ≤ 24 h",
                        "new_customer": "valid first queues of new customers (new-customer FRT)",
                        "case_response": "complaint cases with a first response (complaint response)",
                        "case_resolution": "resolved complaint cases (complaint resolution)",
                        "case_opened": "complaint cases opened (repeat complaints)",
                        "quote_response": "quote requests answered with a quote (quote response time)",
                        "counted_sla": "queues counted in the channel SLA compliance (within / past the target)",
                        "conv_resolved": "resolved conversations (AHT, ART)",
                        "conv_resolved_complaint": "resolved conversations about a complaint (AHT)",
                        "conv_resolved_quote_request": "resolved conversations about a quote request (AHT)",
                        "conv_resolved_order": "resolved conversations about an order (AHT)",
                        "conv_resolved_other": "resolved conversations about another issue (AHT)",
                        "conv_fcr": "resolved conversations past the FCR window (first-contact resolution)",
                        "conv_decided": "conversations over and decided (abandonment)",
                        "rating": "chat ratings (CSAT, resolution rate)",
                        **{f"rating_{c}": f"chat ratings of {labels[1]} complaints (CSAT)" for c, labels in ISSUE_CATEGORY_LABELS.items()},
                        "rating_no_complaint": "chat ratings of chats without a complaint case (CSAT)"},
        "facts_conv_title": "{basis} — {scope}{channel}: {n} conversations",
        "facts_conv_cols": ["Conversation", "Thread", "Started", "Resolved", "Handling seconds (AHT)", "Business seconds to resolution",
                            "Status", "FCR", "Abandoned"],
        "facts_rating_title": "{basis} — {scope}{channel}: {n} ratings",
        "facts_rating_cols": ["Rating", "Thread", "Given", "Stars", "Issue category", "Customer (masked)"],
        "facts_quote_title": "{basis} — {scope}{channel}: {n} requests",
        "facts_quote_cols": ["Pair", "Thread", "Request", "Quote", "Business seconds", "Closed period"],
        "facts_case_title": "{basis} — {scope}{channel}: {n} cases",
        "facts_case_cols": ["Case", "Thread", "Category", "Opened", "Business seconds to response",
                            "Business seconds to resolution", "Status", "Repeat", "Closed period"],
        "facts_title": "{basis} — {scope}{channel}: {n} pairs",
        "facts_cols": ["Pair", "Thread", "Question", "Answer", "Business seconds", "Valid", "Counted 1 working day",
                       "Counted 24 h", "Customer (masked)"],
        "facts_more": "and {n} more — query: {query}", "facts_all": "all pairs above; the same query: {query}",
        "complaint_cols": ["Category", "Cases this period", "Cases previous period", "Change"],
        "no_complaints": "No complaint case in this period.",
        "late": "LATE", "unanswered": "unanswered",
        "categories": {c: labels[1] for c, labels in ISSUE_CATEGORY_LABELS.items()},
        "csat": "CSAT per issue category", "csat_cols": ["Issue category", "CSAT (% rated 4–5)", "Ratings", "Note"],
        "csat_intro": "Category = the thread's latest complaint case opened before the rating; a chat without a case = no complaint.",
        "csat_query": "the same query: {query}",
    },
}
EN_DURATION_COLUMNS = ["Metric", "Result", "Unit", "Basis", "Note"]

# -- KPI notes in Indonesian (issue 17) ---------------------------------------------------------
# The KPI code writes its notes in English (marts.fct_kpi.note, read by programs and BI); the
# Indonesian report translates them phrase by phrase. Longer phrases first; whatever is left
# untranslated stays readable English rather than disappearing.
NOTE_PHRASES_ID = [
    (r"no data: KPI not computed for this period \(no marts\.fct_kpi row\)", "tanpa data: KPI belum dihitung untuk periode ini"),
    (r"no chat ratings loaded \(WhatsApp and e-mail carry no ratings; marketplace exports do\)",
     "belum ada rating chat (WhatsApp dan e-mail tidak membawa rating; ekspor marketplace membawanya)"),
    (r"no sales report or customer list loaded, so existing customers cannot be told from new ones",
     "belum ada laporan penjualan atau daftar pelanggan, jadi pelanggan lama tidak bisa dibedakan dari pelanggan baru"),
    (r"no sales report \(orders\) loaded", "belum ada laporan penjualan (pesanan) yang dimuat"),
    (r"no sample validated", "belum ada sampel yang divalidasi"),
    (r"no audit sample drawn for (\S+)\)", r"belum ada sampel audit untuk \1)"),
    (r"no thread of this agent in the audit sample", "tidak ada thread agen ini dalam sampel audit"),
    (r"(\d+) of (\d+) reviewed", r"\1 dari \2 diperiksa"),
    (r"no revenue(.*?) in the previous three months \(([^)]*)\), growth undefined",
     r"tidak ada omzet\1 pada tiga bulan sebelumnya (\2), pertumbuhan tidak terdefinisi"),
    (r"the sales report starts on (\S+), after (\S+): the previous revenue may be incomplete",
     r"laporan penjualan mulai \1, setelah \2: omzet sebelumnya mungkin tidak lengkap"),
    (r"the sales report starts on (\S+): customers who ordered before it look new",
     r"laporan penjualan mulai \1: pelanggan yang memesan sebelumnya tampak baru"),
    (r"(\d+) queue\(s\) still pending", r"\1 antrean masih menunggu"),
    (r"(\d+) new customer\(s\) not answered yet", r"\1 pelanggan baru belum dijawab"),
    (r"(\d+) quote request\(s\) without a quote yet", r"\1 permintaan penawaran belum diberi penawaran"),
    (r"(\d+) case\(s\) without a first response yet", r"\1 kasus belum mendapat respons pertama"),
    (r"(\d+) case\(s\) unresolved after 30 days", r"\1 kasus belum selesai setelah 30 hari"),
    (r"(\d+) case\(s\) still open", r"\1 kasus masih terbuka"),
    (r"(\d+) customer\(s\) followed up less than 30 days before the latest order date \(([^)]*)\): no order yet, "
     r"counted as not ordered so far",
     r"\1 pelanggan di-follow up kurang dari 30 hari sebelum tanggal pesanan terakhir (\2): belum memesan, dihitung belum memesan"),
    (r"mean of the months:", "rata-rata bulanan:"),
    # csat_rate_<category> (before the generic "no … in the period", which would cut "no data:" in two)
    (r"no data: no chat ratings of chats without a complaint case in the period",
     "tanpa data: tidak ada rating chat tanpa kasus komplain dalam periode ini"),
    (r"no data: no chat ratings of (\S+) complaints in the period", r"tanpa data: tidak ada rating chat komplain \1 dalam periode ini"),
    (r"chat ratings of chats without a complaint case", "rating chat tanpa kasus komplain"),
    (r"chat ratings of (\S+) complaints", r"rating chat komplain \1"),
    (r"no (.+?) in the period", r"tidak ada \1 dalam periode ini"),
    (r"valid reply pairs", "pasangan balasan valid"), (r"counted customer queues", "antrean pelanggan yang dihitung"),
    (r"first queues of new customers answered", "antrean pertama pelanggan baru yang dijawab"),
    (r"quoted quote requests", "permintaan penawaran yang sudah diberi penawaran"),
    (r"answered complaint cases", "kasus komplain yang direspons"), (r"resolved complaint cases", "kasus komplain yang selesai"),
    (r"complaint cases opened", "kasus komplain yang dibuka"), (r"chat ratings", "rating chat"),
    (r"new-segment customers followed up", "pelanggan baru yang di-follow up"),
    (r"existing-segment customers followed up", "pelanggan lama yang di-follow up"),
    (r"not counted", "tidak dihitung"), (r"no data:", "tanpa data:"), (r"\bvs\b", "dibanding"),
]


def translate_note(note: str, lang: str = "id") -> str:
    """A KPI note in the report language (notes are stored in English)."""
    if lang != "id" or not note:
        return note
    for pattern, replacement in NOTE_PHRASES_ID:
        note = re.sub(pattern, replacement, note)
    return note


def frt_bucket_label(label: str, lang: str = "id") -> str:
    """``0-5 min`` / ``8 h+`` (bi.v_frt_distribution) in the report language."""
    if lang == "id":
        label = re.sub(r"(\d+) h\+", r"≥ \1 jam", label)
        label = re.sub(r"\bmin\b", "menit", label)
        label = re.sub(r"\bh\b", "jam", label)
    return label
