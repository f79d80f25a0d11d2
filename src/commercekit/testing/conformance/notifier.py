"""The notifier suite: what every :class:`~commercekit.ports.notifications.Notifier`
promises the core.

Turn it on for a notifier with a subclass pytest collects::

    class TestMyNotifier(NotifierConformance):
        def make_notifier(self) -> Notifier:
            return MyNotifier(api_key=..., sandbox=True)

        def delivered(self, notifier) -> Sequence[Delivered]:
            return [read_email(raw) for raw in my_sandbox_inbox()]

        def failing_notifier(self) -> Notifier:
            return MyNotifier(api_key="revoked")

A notifier that hands over RFC 5322 emails reads them back with :func:`read_email`.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Sequence
from email.message import EmailMessage
from functools import partial
from typing import ClassVar

import attrs
import pytest

from commercekit.domain.errors import CommerceError, ProviderError
from commercekit.ports.notifications import Message, Notifier
from commercekit.testing.conformance import TYPED_ERRORS, rule, typed
from commercekit.testing.conformance._shared import fresh_key

__all__ = ["RULES", "Delivered", "NotifierConformance", "read_email"]

INTACT = "send delivers the recipient, subject, text and HTML intact"
EACH = "each message sent is delivered, to its own recipient"
FAILURE = "a failure to hand a message over raises NotificationFailed (a ProviderError)"

#: Every rule the suite checks, as its failures name them.
RULES = (INTACT, EACH, FAILURE, TYPED_ERRORS)


@attrs.frozen(kw_only=True)
class Delivered:
    """A message as it arrived, read back from wherever the notifier put it."""

    to: str
    subject: str
    text: str
    html: str


def _part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body((subtype,))
    if not isinstance(body, EmailMessage):
        return ""
    content = body.get_content()
    return content if isinstance(content, str) else ""


def read_email(raw: bytes) -> Delivered:
    """An RFC 5322 email (as a file or a mail server holds it) read back."""
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)  # the default policy makes one
    return Delivered(
        to=str(parsed["To"] or ""),
        subject=str(parsed["Subject"] or ""),
        text=_part(parsed, "plain"),
        html=_part(parsed, "html"),
    )


def _same(sent: str, arrived: str) -> bool:
    """The same text, whatever line endings and trailing space transport added."""

    def plain(text: str) -> str:
        return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip()

    return plain(sent) == plain(arrived)


class NotifierConformance:
    """The rules of the notifier port, one test each.

    Override :meth:`make_notifier`, :meth:`delivered` and, to check failures,
    :meth:`failing_notifier`.
    """

    recipient: ClassVar[str] = "zoe@example.com"
    """Who the messages go to: an address the notifier may send to."""

    # --- what the author overrides ---------------------------------------------------

    def make_notifier(self) -> Notifier:
        """The notifier under test, new for each test.

        :raises NotImplementedError: until a subclass says how.
        """
        raise NotImplementedError("override make_notifier() to build your notifier")

    def delivered(self, notifier: Notifier) -> Sequence[Delivered]:
        """Every message ``notifier`` delivered so far, read back.

        :raises NotImplementedError: until a subclass says how.
        """
        raise NotImplementedError("override delivered() to read back what was sent")

    def failing_notifier(self) -> Notifier:
        """A notifier pointed at something that fails (a server that does not answer,
        a folder it cannot write); skips the rule unless overridden."""
        pytest.skip("failing_notifier() is not overridden")

    def message(self, label: str, to: str = "") -> Message:
        """The message a test sends: a subject, text and HTML in several scripts."""
        return Message(
            key=f"conformance:{fresh_key(label)}:{to or self.recipient}",
            to=to or self.recipient,
            template="order_confirmation",
            subject=f"Your order {label}: Grüße, 注文 — €12.34",
            text=f"Hello Zoë,\n\nyour order {label} is confirmed: €12.34.\n",
            html=f"<p>Hello <b>Zoë</b>,</p><p>your order {label} is confirmed: €12.34.</p>",
        )

    # --- the rules -------------------------------------------------------------------

    def test_send_delivers_every_part_intact(self) -> None:
        """The recipient, subject, text and HTML arrive as sent."""
        notifier = self.make_notifier()
        message = self.message("A-1")
        typed(partial(notifier.send, message))
        arrived = list(typed(partial(self.delivered, notifier)))
        rule(INTACT, len(arrived) == 1, f"one message sent, {len(arrived)} delivered")
        (got,) = arrived
        for part in ("to", "subject", "text", "html"):
            sent, came = getattr(message, part), getattr(got, part)
            rule(INTACT, _same(sent, came), f"{part}: sent {sent!r}, delivered {came!r}")

    def test_each_message_is_delivered_to_its_recipient(self) -> None:
        """Two messages to two recipients both arrive, each to its own."""
        notifier = self.make_notifier()
        messages = [self.message("B-1"), self.message("B-2", to="max@example.com")]
        for message in messages:
            typed(partial(notifier.send, message))
        arrived = sorted((got.to, got.subject) for got in typed(partial(self.delivered, notifier)))
        sent = sorted((message.to, message.subject) for message in messages)
        rule(EACH, arrived == sent, f"sent {sent}, delivered {arrived}")

    def test_a_failure_is_a_typed_error(self) -> None:
        """A notifier that cannot hand a message over raises NotificationFailed (or
        another ProviderError), never a raw exception, and never stays silent."""
        notifier = self.failing_notifier()
        try:
            typed(partial(notifier.send, self.message("C-1")))
        except ProviderError:
            return
        except CommerceError as error:
            rule(FAILURE, False, f"raised {type(error).__name__}, not a ProviderError: {error}")
        rule(FAILURE, False, "send returned as if the message had been handed over")
