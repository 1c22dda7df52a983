"""Marketplace "Detail Chat" exports (Tokopedia, Shopee, TikTok Shop): one declarative column
map per marketplace (:mod:`.maps`) and the parser that applies them."""
