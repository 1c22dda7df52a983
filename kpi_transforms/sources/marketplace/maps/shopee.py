"""Shopee Seller Centre chat export ("Detail Chat" / riwayat chat), Indonesian headers;
Shopee Open Platform ``sellerchat`` field names (``conversation_id``, ``content``,
``created_timestamp``) are accepted as aliases."""

from __future__ import annotations

from kpi_transforms.sources.marketplace.maps import MarketplaceMap, TypeRule

MAP = MarketplaceMap(
    name="shopee",
    label="Shopee",
    columns={
        "chat_id": ("ID Percakapan", "conversation_id"),
        "shop": ("Nama Toko Shopee", "Toko", "shop_username"),
        "buyer": ("Username Pembeli", "buyer_username", "to_user_name"),
        "buyer_id": ("ID Pengguna Pembeli", "buyer_user_id"),
        "sender_role": ("Peran Pengirim", "sender_type"),
        "sender_name": ("Username Pengirim", "from_user_name"),
        "agent": ("Agen Chat", "Sub Akun"),
        "timestamp": ("Waktu Pesan", "created_timestamp"),
        "message": ("Isi Pesan Chat", "Isi Chat", "content"),
        "message_type": ("Jenis Pesan", "message_type"),
        "auto_reply": ("Balasan Otomatis Shopee", "is_auto_reply"),
        "holiday_mode": ("Mode Libur Toko", "Status Libur", "holiday_mode"),
        "rating": ("Rating Layanan Chat", "chat_rating"),
    },
    roles={
        "Pembeli": "customer", "Buyer": "customer",
        "Penjual": "agent", "Seller": "agent", "Sub Akun": "agent", "Admin": "agent",
        "Chatbot": "bot", "Bot": "bot", "Asisten Chat": "bot",
        "Sistem": "system", "System": "system", "Shopee": "system",
    },
    types={
        "text": TypeRule("text"), "Teks": TypeRule("text"),
        "image": TypeRule("media"), "Gambar": TypeRule("media"), "video": TypeRule("media"),
        "sticker": TypeRule("sticker"), "Stiker": TypeRule("sticker"),
        "item": TypeRule("media"), "Produk": TypeRule("media"), "order": TypeRule("media"), "Pesanan": TypeRule("media"),
        "auto_reply": TypeRule("text", is_auto_reply=True), "Balasan Otomatis": TypeRule("text", is_auto_reply=True),
        "offline_auto_reply": TypeRule("text", is_auto_reply=True),
        "chatbot": TypeRule("text", is_auto_reply=True, role="bot"),
        "faq": TypeRule("faq_card"), "faq_card": TypeRule("faq_card"), "Kartu FAQ": TypeRule("faq_card"),
        "welcome": TypeRule("welcome_card", is_auto_reply=True), "Pesan Sambutan": TypeRule("welcome_card", is_auto_reply=True),
        "notification": TypeRule("system", role="system"), "Sistem": TypeRule("system", role="system"),
    },
)
