"""Text from files and chats made safe for a terminal and for Markdown (issue 15, item 11).

File names, thread names and template names come from outside: an ESC sequence in a chat file
name must not recolour or rewrite the operator's terminal, and a ``<script>`` or ``|`` in a
table cell must stay text in Markdown.
"""

from __future__ import annotations

import html
import re

# C0 and C1 controls (ESC, BEL, CR, backspace, CSI ...), DEL, and the bidirectional overrides
# that reorder what a terminal shows ("Trojan Source").
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL_KEEP_LINES = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """One line with every control character shown as a visible escape (``\\x1b``)."""
    return _CONTROL.sub(_escape, str(text))


def printable_lines(text: object) -> str:
    """Like :func:`printable`, keeping line breaks."""
    return _CONTROL_KEEP_LINES.sub(_escape, str(text))


def md_cell(text: object) -> str:
    """A Markdown table cell or heading: printable, HTML-escaped, ``|`` escaped."""
    return html.escape(printable(text), quote=False).replace("|", "\\|")
