"""TikTok Shop Seller Center chat export (English headers, as in the Indonesian Seller
Center); the Customer Service API message fields (``conversation_id``, ``type``,
``create_time``, ``sender_role``, ``sender_nickname``, JSON ``content``) are accepted."""

from __future__ import annotations

from kpi_transforms.sources.marketplace.maps import MarketplaceMap, TypeRule

MAP = MarketplaceMap(
    name="tiktok",
    label="TikTok Shop",
    columns={
        "chat_id": ("Conversation ID", "conversation_id"),
        "shop": ("Shop Name", "shop_name"),
        "buyer": ("Buyer Nickname", "buyer_nickname"),
        "buyer_id": ("Buyer ID", "buyer_im_user_id"),
        "sender_role": ("Sender Role", "sender_role"),
        "sender_name": ("Sender Nickname", "sender_nickname"),
        "agent": ("Agent Name", "cs_agent"),
        "timestamp": ("Create Time", "create_time", "Message Time"),
        "message": ("Content", "Message Content"),
        "message_type": ("Message Type", "type"),
        "auto_reply": ("Is Auto Reply",),
        "holiday_mode": ("Vacation Mode", "vacation_mode"),
        "rating": ("Chat Rating", "Satisfaction Rating", "rating"),
    },
    roles={
        "BUYER": "customer", "CUSTOMER": "customer",
        "CUSTOMER_SERVICE": "agent", "SHOP": "agent", "SELLER": "agent",
        "ROBOT": "bot", "BOT": "bot",
        "SYSTEM": "system", "PLATFORM": "system",
    },
    types={
        "TEXT": TypeRule("text"),
        "IMAGE": TypeRule("media"), "VIDEO": TypeRule("media"), "EMOTICONS": TypeRule("sticker"),
        "PRODUCT_CARD": TypeRule("media"), "ORDER_CARD": TypeRule("media"), "LOGISTICS_CARD": TypeRule("media"),
        "COUPON_CARD": TypeRule("media"),
        "AUTO_REPLY": TypeRule("text", is_auto_reply=True), "OFFLINE_AUTO_REPLY": TypeRule("text", is_auto_reply=True),
        "ROBOT_REPLY": TypeRule("text", is_auto_reply=True, role="bot"),
        "FAQ_CARD": TypeRule("faq_card"), "QUESTION_CARD": TypeRule("faq_card"),
        "WELCOME_CARD": TypeRule("welcome_card", is_auto_reply=True), "GREETING": TypeRule("welcome_card", is_auto_reply=True),
        "NOTIFICATION": TypeRule("system", role="system"), "ALLOCATED_SERVICE": TypeRule("system", role="system"),
        "BUYER_ENTER_FROM_PRODUCT": TypeRule("system", role="system"),
    },
)
