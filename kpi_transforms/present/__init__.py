"""Presentation: number formats, Indonesian / English texts, console tables, HTML and ``.xlsx``
reports. Takes computed frames, never reads the warehouse."""
