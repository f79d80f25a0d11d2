"""Notices: each message a store means to send, kept so that it goes at most once.

A notice is keyed by what it says and to whom (``shipment_dispatched:shp_1:
zoe@example.com``): the same event delivered twice finds its notice there and sends
nothing. It is marked *sending* before it is handed over and *sent* after; one that
failed is tried again, up to :data:`MOST_ATTEMPTS`; one left *sending* (the process
died while handing it over) is never sent again on its own, for it may have gone.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Final

import attrs

from commercekit.domain._validators import aware, text
from commercekit.domain.errors import InvalidTransition

__all__ = ["MOST_ATTEMPTS", "Notice", "NoticeStatus"]

#: How many times a notice is handed to the notifier before it is given up.
MOST_ATTEMPTS: Final = 8


class NoticeStatus(enum.Enum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    """The last attempt failed; it is tried again."""
    ABANDONED = "abandoned"
    """Every attempt failed."""


@attrs.define(kw_only=True, eq=False)
class Notice:
    """One message to one recipient, rendered."""

    id: str = attrs.field(validator=text(400))
    """Its key: the notice and the recipient."""
    recipient: str
    template: str
    subject: str
    text: str
    html: str
    created_at: datetime = attrs.field(validator=aware)
    status: NoticeStatus = NoticeStatus.PENDING
    attempts: int = 0
    last_error: str = ""
    sent_at: datetime | None = None
    version: int = 0

    @property
    def due(self) -> bool:
        """Whether it waits to be handed over (first time or again)."""
        return self.status in (NoticeStatus.PENDING, NoticeStatus.FAILED)

    def start(self) -> None:
        """It is being handed over now.

        :raises InvalidTransition: unless it is due.
        """
        if not self.due:
            raise InvalidTransition("notice", self.status.value, "send")
        self.status = NoticeStatus.SENDING
        self.attempts += 1
        self.version += 1

    def sent(self, *, at: datetime) -> None:
        if self.status is not NoticeStatus.SENDING:
            raise InvalidTransition("notice", self.status.value, "mark sent")
        self.status = NoticeStatus.SENT
        self.sent_at = at
        self.last_error = ""
        self.version += 1

    def refused(self, error: str) -> None:
        """The notifier can never send it (no address it can deliver to): given up at
        once."""
        if self.status is not NoticeStatus.SENDING:
            raise InvalidTransition("notice", self.status.value, "mark refused")
        self.last_error = error[:500]
        self.status = NoticeStatus.ABANDONED
        self.version += 1

    def failed(self, error: str) -> None:
        """The notifier could not hand it over: tried again later, or given up."""
        if self.status is not NoticeStatus.SENDING:
            raise InvalidTransition("notice", self.status.value, "mark failed")
        self.last_error = error[:500]
        gave_up = self.attempts >= MOST_ATTEMPTS
        self.status = NoticeStatus.ABANDONED if gave_up else NoticeStatus.FAILED
        self.version += 1
