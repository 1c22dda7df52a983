"""WhatsApp chat exports: the ``.txt`` parser and the ``.zip`` the phone writes."""
