"""Tokopedia / ShopTokopedia "Detail Chat" export (Kompas Data > Pasca Pembelian > Performa
IM > Detail Chat), Indonesian headers; API field names of ``GET /v1/chat/fs/{fs_id}/messages``
(``msg_id``, ``role``, ``msg``, ``reply_time``) are accepted as aliases."""

from __future__ import annotations

from kpi_transforms.sources.marketplace.maps import MarketplaceMap, TypeRule

MAP = MarketplaceMap(
    name="tokopedia",
    label="Tokopedia",
    columns={
        "chat_id": ("ID Chat", "msg_id"),
        "shop": ("Nama Toko", "shop_name"),
        "buyer": ("Nama Pembeli", "buyer_name"),
        "buyer_id": ("ID Pembeli", "user_id", "buyer_id"),
        "sender_role": ("Pengirim", "role"),
        "sender_name": ("Nama Pengirim", "sender_name"),
        "agent": ("Nama Agen", "Agen CS"),
        "timestamp": ("Waktu", "Waktu Kirim", "reply_time"),
        "message": ("Pesan", "Isi Pesan", "msg"),
        "message_type": ("Tipe Pesan", "message_type"),
        "auto_reply": ("Balasan Otomatis",),
        "holiday_mode": ("Mode Libur", "Toko Libur"),
        "rating": ("Rating Chat", "Penilaian Chat", "Rating"),
    },
    roles={
        "Pembeli": "customer", "User": "customer", "Buyer": "customer",
        "Penjual": "agent", "Admin": "agent", "Admin Toko": "agent", "Shop Owner": "agent", "Shop Admin": "agent",
        "Seller": "agent", "Agen": "agent",
        "Bot": "bot", "Chatbot": "bot", "Asisten Otomatis": "bot",
        "Sistem": "system", "System": "system", "Tokopedia": "system", "Tokopedia Administrator": "system",
    },
    types={
        "Teks": TypeRule("text"), "Text": TypeRule("text"),
        "Gambar": TypeRule("media"), "Foto": TypeRule("media"), "Video": TypeRule("media"), "File": TypeRule("media"),
        "Stiker": TypeRule("sticker"), "Sticker": TypeRule("sticker"),
        "Produk": TypeRule("media"), "Kartu Produk": TypeRule("media"), "Invoice": TypeRule("media"), "Pesanan": TypeRule("media"),
        "Balasan Otomatis": TypeRule("text", is_auto_reply=True), "Auto Reply": TypeRule("text", is_auto_reply=True),
        "Balasan Cepat Otomatis": TypeRule("text", is_auto_reply=True),
        "Bot": TypeRule("text", is_auto_reply=True, role="bot"),
        "Kartu FAQ": TypeRule("faq_card"), "FAQ": TypeRule("faq_card"),
        "Pesan Sambutan": TypeRule("welcome_card", is_auto_reply=True), "Sambutan": TypeRule("welcome_card", is_auto_reply=True),
        "Sistem": TypeRule("system", role="system"), "Rating": TypeRule("system", role="system"),
    },
)
