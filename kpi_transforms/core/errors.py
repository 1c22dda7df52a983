"""Exceptions that carry a reason a person can act on."""

from __future__ import annotations


class ChatKpiError(Exception):
    """Base class: the message is shown to the user as a one-line reason."""


class RejectedFile(ChatKpiError):
    """A whole input file cannot be used; it goes to ``audit.rejected_file`` with this reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
