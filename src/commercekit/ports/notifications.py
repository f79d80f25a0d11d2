"""The notifier port: how a store's messages reach its customers.

The core decides what to say and to whom (a template and its data); a
:class:`Templates` adapter renders it, and a :class:`Notifier` hands the rendered
message over (to a mail server, a folder). Each message carries a ``key`` that is
the same whenever the same thing is said to the same recipient: a notifier that can
deduplicate does so by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import attrs

__all__ = ["Message", "Notifier", "Rendered", "Templates"]


@attrs.frozen(kw_only=True)
class Rendered:
    """A template rendered for one recipient: subject, plain text and HTML."""

    subject: str
    text: str
    html: str


@attrs.frozen(kw_only=True)
class Message:
    """One message to one recipient."""

    key: str
    """The same for the same notice to the same recipient (``order_confirmation:
    ord_1:zoe@example.com``)."""
    to: str
    template: str
    subject: str
    text: str
    html: str


class Templates(Protocol):
    """Renders a named template for a recipient's locale."""

    def render(self, name: str, data: Mapping[str, Any], *, locale: str) -> Rendered:
        """``name`` (``order_confirmation``, ``shipment_dispatched``...) with ``data``.

        :raises NotFound: naming ``template``, for a template it does not have.
        """
        ...


class Notifier(Protocol):
    """Hands messages over."""

    def send(self, message: Message) -> None:
        """Send one message.

        :raises NotificationFailed: when it could not be handed over; it is sent
            again later.
        """
        ...
