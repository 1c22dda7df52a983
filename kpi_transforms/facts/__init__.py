"""Pure fact builders: canonical messages in, one frame per fact table out, no warehouse access.

Each module is named after what it returns (``reply_pairs`` -> ``marts.fct_reply_pair``,
``threads``, ``intents``, ``quotes``, ``cases``, ``follow_ups``, ``conversations`` ->
``marts.fct_conversation``); :mod:`.ordering` and
:mod:`.thread_view` hold the thread order and the per-queue view they share. Imports only
:mod:`kpi_transforms.core`."""
