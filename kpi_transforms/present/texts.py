"""The report texts in Indonesian and English.
"""

from __future__ import annotations

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
    },
}
EN_DURATION_COLUMNS = ["Metric", "Result", "Unit", "Basis", "Note"]
