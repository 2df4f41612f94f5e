"""The errors a live Label Studio gives, in words a user can act on."""

from __future__ import annotations

from odet_ros.errors import OdetError


class LabelStudioError(OdetError):
    """The server cannot be reached, refuses the token, or answers an odet request with an
    error (HTTP ``status``); the message names the server and what was asked, never the token."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
