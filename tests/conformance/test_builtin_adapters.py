"""The conformance suites, turned on for the built-in adapters: what a plugin author
writes for their own."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path

import attrs
import pytest
from aiosmtpd.controller import Controller

from commercekit.adapters.carriers.manual import ManualCarrier
from commercekit.adapters.carriers.sandbox import SandboxCarrier, webhook
from commercekit.adapters.notifications.files import FileNotifier
from commercekit.adapters.notifications.smtp import SmtpNotifier
from commercekit.adapters.payments.testgateway import TestPaymentGateway
from commercekit.domain.payments import GatewayEvent
from commercekit.domain.shipping import TrackingEvent
from commercekit.ports.carriers import Carrier, LabelRequest
from commercekit.ports.notifications import Notifier
from commercekit.ports.payments import PaymentGateway
from commercekit.testing.conformance.carrier import CarrierConformance
from commercekit.testing.conformance.gateway import GatewayConformance
from commercekit.testing.conformance.notifier import Delivered, NotifierConformance, read_email
from tests.unit.test_notifications import WAIT_SECONDS, Mailbox, free_port

SECRET = "whsec_conformance"


class TestTheTestGateway(GatewayConformance):
    success_token, decline_token, action_token = (
        "tok_success",
        "tok_declined",
        "tok_requires_action",
    )

    def make_gateway(self) -> PaymentGateway:
        return TestPaymentGateway(webhook_secret=SECRET)

    def signed_webhook(
        self, gateway: PaymentGateway, events: Sequence[GatewayEvent], sent_at: datetime
    ) -> tuple[bytes, str]:
        assert isinstance(gateway, TestPaymentGateway)
        return gateway.webhook(events, sent_at=sent_at)


class TestTheSandboxCarrier(CarrierConformance):
    def make_carrier(self) -> Carrier:
        return SandboxCarrier("sandbox", {"webhook_secret": SECRET})

    def signed_webhook(
        self, carrier: Carrier, events: Sequence[TrackingEvent], sent_at: datetime
    ) -> tuple[bytes, Mapping[str, str]]:
        return webhook(events, SECRET, now=sent_at)


class TestTheManualCarrier(CarrierConformance):
    def make_carrier(self) -> Carrier:
        return ManualCarrier("post")

    def label_request(self, key: str, now: datetime) -> LabelRequest:
        return attrs.evolve(super().label_request(key, now), tracking_number=f"PF-{key[-30:]}")


class TestTheFileNotifier(NotifierConformance):
    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path

    def make_notifier(self) -> Notifier:
        return FileNotifier(self.folder / "outbox")

    def delivered(self, notifier: Notifier) -> Sequence[Delivered]:
        return [read_email(path.read_bytes()) for path in (self.folder / "outbox").glob("*.eml")]

    def failing_notifier(self) -> Notifier:
        (self.folder / "a file").write_text("not a folder")
        return FileNotifier(self.folder / "a file" / "outbox")


class TestTheSmtpNotifier(NotifierConformance):
    @pytest.fixture(autouse=True)
    def _server(self) -> Iterator[None]:
        self.mailbox, self.port = Mailbox(), free_port()
        controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, ready_timeout=5)
        controller.start()
        yield
        controller.stop()

    def make_notifier(self) -> Notifier:
        return SmtpNotifier("127.0.0.1", self.port, sender="shop@example.com", timeout=WAIT_SECONDS)

    def delivered(self, notifier: Notifier) -> Sequence[Delivered]:
        return [read_email(envelope.content) for envelope in self.mailbox.envelopes]

    def failing_notifier(self) -> Notifier:
        return SmtpNotifier(
            "127.0.0.1", free_port(), sender="shop@example.com", timeout=WAIT_SECONDS
        )
