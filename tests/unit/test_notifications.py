"""The notification adapters: Jinja2 templates, the file, console and SMTP notifiers,
and their plugin hooks. Real parts throughout: a real template directory, real files,
a real SMTP server (aiosmtpd) on the loopback interface."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import attrs
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from commercekit.adapters.notifications.files import (
    ConsoleNotifier,
    FileNotifier,
    email_message,
    file_name,
)
from commercekit.adapters.notifications.smtp import SmtpNotifier
from commercekit.adapters.notifications.templates import TEMPLATE_NAMES, JinjaTemplates
from commercekit.domain.errors import InvalidInput, NotFound, NotificationFailed
from commercekit.plugins import BUILTIN_PLUGINS, Plugins
from commercekit.ports.notifications import Message, Rendered

PLACED_AT = dt.datetime(2025, 3, 5, 14, 30, tzinfo=dt.UTC)
CLOCK = {
    "name": "Retro <script>alert(1)</script> Clock",
    "sku": "RETRO-CLOCK",
    "quantity": 2,
    "unit_units": 617,
    "total_units": 1234,
}
SHIPPED = [{"name": CLOCK["name"], "sku": "RETRO-CLOCK", "quantity": 2}]

#: What the core hands each built-in template: plain values, money in minor units.
DATA: dict[str, dict[str, Any]] = {
    "order_confirmation": {
        "order_id": "ord_1",
        "email": "zoe@example.com",
        "currency": "EUR",
        "lines": [CLOCK],
        "subtotal_units": 1234,
        "discount_units": 100,
        "shipping_units": 490,
        "tax_units": 197,
        "total_units": 1624,
        "shipping_method": "Standard",
        "placed_at": PLACED_AT,
    },
    "payment_failed": {
        "order_id": "ord_2",
        "email": "zoe@example.com",
        "currency": "JPY",
        "total_units": 1234,
        "reason": "card declined",
    },
    "shipment_dispatched": {
        "order_id": "ord_1",
        "shipment_id": "shp_1",
        "carrier": "Parcelforce",
        "tracking_number": "PF123",
        "tracking_url": "https://track.example/PF123?a=1&b=2",
        "lines": SHIPPED,
        "earliest": dt.date(2025, 3, 7),
        "latest": dt.date(2025, 3, 9),
    },
    "shipment_delivered": {
        "order_id": "ord_1",
        "shipment_id": "shp_1",
        "delivered_at": PLACED_AT,
        "lines": SHIPPED,
    },
    "shipment_exception": {
        "order_id": "ord_1",
        "shipment_id": "shp_1",
        "status": "failed_attempt",
        "detail": "Nobody was home.",
        "tracking_url": "",
    },
    "refund_issued": {
        "order_id": "ord_1",
        "currency": "EUR",
        "amount_units": 1234,
        "gateway_units": 1000,
        "credit_units": 234,
        "refunded_at": PLACED_AT,
    },
    "return_requested": {
        "order_id": "ord_1",
        "return_id": "ret_1",
        "units": 2,
        "lines": [{"sku": "RETRO-CLOCK", "quantity": 2, "reason": "does_not_fit"}],
    },
    "return_received": {"order_id": "ord_1", "return_id": "ret_1", "received_at": PLACED_AT},
    "case_opened": {
        "order_id": "ord_1",
        "email": "zoe@example.com",
        "currency": "EUR",
        "case_id": "case_1",
        "subject": "Broken handle",
        "order_number": "WEB-4K7Q2M9X",
        "at": PLACED_AT,
    },
    "case_resolved": {
        "order_id": "",
        "email": "zoe@example.com",
        "currency": "",
        "case_id": "case_1",
        "subject": "Broken handle",
        "order_number": "",
        "at": PLACED_AT,
    },
    "gift_card_purchased": {
        "order_id": "ord_1",
        "order_number": "WEB-4K7Q2M9X",
        "email": "zoe@example.com",
        "currency": "EUR",
        "cards": [
            {
                "code": "KX7M-2QPA-9RTV-WZ4E",
                "display": "****-****-****-WZ4E",
                "amount_units": 2250,
                "expires_at": PLACED_AT,
            },
            {
                "code": "HB3N-8YCD-5FGJ-QR6S",
                "display": "****-****-****-QR6S",
                "amount_units": 2250,
                "expires_at": None,
            },
        ],
        "total_units": 4500,
    },
    "cart_recovery": {
        "email": "zoe@example.com",
        "currency": "EUR",
        "lines": [
            {**CLOCK, "total_units": 1234},
            {"name": "Clock manual", "sku": "CLOCK-PDF", "quantity": 1, "total_units": None},
        ],
        "total_units": 1234,
        "restore_url": "https://shop.example/cart/restore?token=abc.def&x=1",
        "expires_at": PLACED_AT,
        "coupon_code": "COMEBACK",
    },
    "campaign": {
        "email": "zoe@example.com",
        "subject": "Spring <b>clocks</b>",
        "body": "Our spring clocks are here.\n\nTen per cent off.",
        "paragraphs": ["Our spring clocks are here.", "Ten per cent off."],
        "unsubscribe_url": "https://shop.example/unsubscribe?token=abc.def",
    },
    "back_in_stock": {
        "email": "zoe@example.com",
        "sku": "RETRO-CLOCK",
        "name": CLOCK["name"],
        "subscribed_at": PLACED_AT,
    },
}

#: Something each template shows, formatted for ``en`` and ``de``.
FORMATTED: dict[str, dict[str, str]] = {
    "order_confirmation": {"en": "€16.24", "de": "16,24\xa0€"},
    "payment_failed": {"en": "¥1,234", "de": "1.234\xa0¥"},
    "shipment_dispatched": {"en": "March 9, 2025", "de": "9. März 2025"},
    "shipment_delivered": {"en": "Mar 5, 2025", "de": "05.03.2025"},
    "shipment_exception": {"en": "failed attempt", "de": "failed attempt"},
    "refund_issued": {"en": "€12.34", "de": "12,34\xa0€"},
    "case_opened": {"en": "March 5, 2025", "de": "5. März 2025"},
    "case_resolved": {"en": "March 5, 2025", "de": "5. März 2025"},
    "return_requested": {"en": "does_not_fit", "de": "does_not_fit"},
    "return_received": {"en": "March 5, 2025", "de": "5. März 2025"},
    "gift_card_purchased": {"en": "€22.50", "de": "22,50\xa0€"},
    "cart_recovery": {"en": "€12.34", "de": "12,34\xa0€"},
    "campaign": {"en": "Ten per cent off.", "de": "Ten per cent off."},
    "back_in_stock": {"en": "March 5, 2025", "de": "5. März 2025"},
}


def test_every_built_in_template_has_data_and_an_expectation_here() -> None:
    assert set(DATA) == set(FORMATTED) == set(TEMPLATE_NAMES)


# --- templates -------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "de"])
@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_every_built_in_template_renders_formatted_for_the_locale(name: str, locale: str) -> None:
    rendered = JinjaTemplates(store_name="Retro & Co").render(name, DATA[name], locale=locale)

    assert rendered.subject
    assert "\n" not in rendered.subject
    assert rendered.subject == rendered.subject.strip()
    assert FORMATTED[name][locale] in rendered.text
    assert FORMATTED[name][locale] in rendered.html
    assert "Retro & Co" in rendered.text
    assert "Retro &amp; Co" in rendered.html
    assert rendered.html.startswith("<!DOCTYPE html>")


def test_an_order_confirmation_shows_every_figure_in_the_locales_format() -> None:
    templates = JinjaTemplates()
    english = templates.render("order_confirmation", DATA["order_confirmation"], locale="en")
    german = templates.render("order_confirmation", DATA["order_confirmation"], locale="de_DE")

    for figure in ("€6.17", "€12.34", "-€1.00", "€4.90", "€1.97", "€16.24"):
        assert figure in english.text
    for figure in ("6,17\xa0€", "12,34\xa0€", "-1,00\xa0€", "4,90\xa0€", "1,97\xa0€"):
        assert figure in german.text
    assert '<html lang="de-DE">' in german.html


def test_an_unknown_locale_falls_back_to_english() -> None:
    rendered = JinjaTemplates().render("refund_issued", DATA["refund_issued"], locale="xx_YY")

    assert "€12.34" in rendered.text
    assert "March 5, 2025" in rendered.text
    assert '<html lang="en">' in rendered.html


def test_html_escapes_a_product_name_and_plain_text_does_not() -> None:
    rendered = JinjaTemplates().render(
        "order_confirmation", DATA["order_confirmation"], locale="en"
    )

    assert "Retro &lt;script&gt;alert(1)&lt;/script&gt; Clock" in rendered.html
    assert "<script>" not in rendered.html
    assert "Retro <script>alert(1)</script> Clock" in rendered.text


def test_a_tracking_link_is_escaped_in_its_attribute() -> None:
    rendered = JinjaTemplates().render(
        "shipment_dispatched", DATA["shipment_dispatched"], locale="en"
    )

    assert 'href="https://track.example/PF123?a=1&amp;b=2"' in rendered.html
    assert "https://track.example/PF123?a=1&b=2" in rendered.text


def test_a_merchants_file_replaces_its_built_in_and_the_others_stay(tmp_path: Path) -> None:
    (tmp_path / "order_confirmation.subject.txt").write_text(
        "Danke!\n  Bestellung {{ order_id }}\n  bei {{ store_name }}\n", "utf-8"
    )
    templates = JinjaTemplates(tmp_path, store_name="Retro")

    rendered = templates.render("order_confirmation", DATA["order_confirmation"], locale="de")
    built_in = JinjaTemplates(store_name="Retro").render(
        "order_confirmation", DATA["order_confirmation"], locale="de"
    )

    assert rendered.subject == "Danke! Bestellung ord_1 bei Retro"
    assert rendered.text == built_in.text
    assert rendered.html == built_in.html


def test_a_merchant_may_add_a_template_of_its_own(tmp_path: Path) -> None:
    (tmp_path / "back_in_stock.subject.txt").write_text("{{ name }} is back", "utf-8")
    (tmp_path / "back_in_stock.txt").write_text("{{ price | money('EUR') }}", "utf-8")
    (tmp_path / "back_in_stock.html").write_text("<p>{{ name }}</p>", "utf-8")

    rendered = JinjaTemplates(tmp_path).render(
        "back_in_stock", {"name": "A & B", "price": 1234}, locale="de"
    )

    assert rendered == Rendered(
        subject="A & B is back", text="12,34\xa0€\n", html="<p>A &amp; B</p>\n"
    )


def test_a_variable_the_data_lacks_is_invalid_input_naming_the_template() -> None:
    data = {**DATA["refund_issued"]}
    del data["amount_units"]

    with pytest.raises(InvalidInput) as caught:
        JinjaTemplates().render("refund_issued", data, locale="en")

    assert caught.value.field == "template"
    assert "'refund_issued'" in caught.value.message
    assert "amount_units" in caught.value.message
    assert "Traceback" not in caught.value.message


def test_a_template_that_does_not_parse_is_invalid_input_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "refund_issued.txt").write_text("Hello\n{% if %}\n", "utf-8")

    with pytest.raises(InvalidInput) as caught:
        JinjaTemplates(tmp_path).render("refund_issued", DATA["refund_issued"], locale="en")

    assert caught.value.field == "template"
    assert "line 2 of refund_issued.txt" in caught.value.message


def test_a_failing_filter_names_the_template_and_its_line(tmp_path: Path) -> None:
    (tmp_path / "refund_issued.txt").write_text("Hello\n{{ amount_units | money('XXX1') }}")

    with pytest.raises(InvalidInput) as caught:
        JinjaTemplates(tmp_path).render("refund_issued", DATA["refund_issued"], locale="en")

    assert caught.value.field == "template"
    assert "unknown currency" in caught.value.message
    assert "line 2 of refund_issued.txt" in caught.value.message


@pytest.mark.parametrize(
    "source",
    [
        "{{ order_id.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ lines.append(1) }}",
        "{{ placed_at.__reduce_ex__(2) }}",
    ],
)
def test_a_merchants_template_cannot_reach_beyond_its_data(tmp_path: Path, source: str) -> None:
    (tmp_path / "order_confirmation.txt").write_text(source, "utf-8")
    data = {**DATA["order_confirmation"], "lines": [dict(CLOCK)]}

    with pytest.raises(InvalidInput) as caught:
        JinjaTemplates(tmp_path).render("order_confirmation", data, locale="en")

    assert caught.value.field == "template"
    assert "unsafe" in caught.value.message
    assert data["lines"] == [CLOCK]


@pytest.mark.parametrize("name", ["no_such_template", "../order_confirmation", "", "_layout"])
def test_an_unknown_template_is_not_found(name: str) -> None:
    with pytest.raises(NotFound) as caught:
        JinjaTemplates().render(name, {}, locale="en")

    assert caught.value.field == "template"
    assert caught.value.kind == "template"


def test_a_template_missing_one_of_its_files_is_not_found(tmp_path: Path) -> None:
    (tmp_path / "welcome.subject.txt").write_text("Welcome", "utf-8")
    (tmp_path / "welcome.txt").write_text("Welcome", "utf-8")

    with pytest.raises(NotFound):
        JinjaTemplates(tmp_path).render("welcome", {}, locale="en")


# --- the email, the file and console notifiers -----------------------------------------


def message_for(name: str, *, locale: str = "en", to: str = "zoe@example.com") -> Message:
    rendered = JinjaTemplates(store_name="Retro").render(name, DATA[name], locale=locale)
    return Message(
        key=f"{name}:{DATA[name].get('order_id', '')}:{to}",
        to=to,
        template=name,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
    )


def parsed(content: bytes) -> EmailMessage:
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def assert_is_the_email_of(received: EmailMessage, message: Message) -> None:
    assert received["To"] == message.to
    assert received["Subject"] == message.subject
    plain, html = received.get_body(("plain",)), received.get_body(("html",))
    assert isinstance(plain, EmailMessage)
    assert isinstance(html, EmailMessage)
    # SMTP carries lines ended by CRLF, and the parser keeps them as they came.
    assert plain.get_content().replace("\r\n", "\n") == message.text
    assert html.get_content().replace("\r\n", "\n") == message.html


def test_the_email_has_both_parts_and_a_message_id_from_the_key() -> None:
    message = message_for("order_confirmation")

    first = email_message(message, sender="Retro <shop@retro.example>")
    again = email_message(message, sender="Retro <shop@retro.example>")

    assert_is_the_email_of(parsed(bytes(first)), message)
    assert first["From"] == "Retro <shop@retro.example>"
    assert first["Message-ID"] == again["Message-ID"]
    assert first["Message-ID"].endswith("@retro.example>")
    assert first["Date"]


@pytest.mark.parametrize("to", ["zoe@example.com\nBcc: all@example.com", "a@x.com, b@x.com", "zoe"])
def test_a_recipient_that_is_not_one_address_is_refused(to: str) -> None:
    message = Message(key="k", to=to, template="t", subject="s", text="t", html="h")

    with pytest.raises(InvalidInput) as caught:
        email_message(message, sender="shop@localhost")

    assert caught.value.field == "to"


def test_the_file_notifier_writes_an_eml_file_a_mail_client_reads(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox" / "mail"
    message = message_for("order_confirmation", locale="de")

    FileNotifier(outbox).send(message)

    (written,) = outbox.iterdir()
    assert written.suffix == ".eml"
    assert written.name.startswith("order_confirmation-ord_1-zoe-example.com-")
    received = parsed(written.read_bytes())
    assert_is_the_email_of(received, message)
    assert received["From"] == "shop@localhost"
    assert "16,24\xa0€" in received.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_the_same_key_is_written_once(tmp_path: Path) -> None:
    notifier = FileNotifier(tmp_path, sender="shop@retro.example")
    message = message_for("refund_issued")

    notifier.send(message)
    notifier.send(message)
    notifier.send(attrs.evolve(message, subject="Changed", text="changed", html="changed"))

    assert [path.name for path in tmp_path.iterdir()] == [notifier.path_for(message.key).name]
    assert parsed(notifier.path_for(message.key).read_bytes())["Subject"] == message.subject


def test_distinct_keys_never_share_a_file_and_names_stay_short() -> None:
    long = "order_confirmation:" + "x" * 500
    keys = ["Order:1", "order:1", "order/1", "order 1", long, long + "y", "", "../../etc"]

    names = [file_name(key) for key in keys]

    assert len(set(names)) == len(keys)
    assert all(len(name) <= 120 and "/" not in name for name in names)
    assert all(not name.startswith(".") and name.endswith(".eml") for name in names)


def test_a_folder_that_cannot_be_written_is_a_notification_failure(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the folder should be", "utf-8")

    with pytest.raises(NotificationFailed) as caught:
        FileNotifier(blocked).send(message_for("refund_issued"))

    assert caught.value.retryable


def test_the_console_notifier_prints_recipient_subject_and_text() -> None:
    stream = io.StringIO()
    message = message_for("payment_failed")

    ConsoleNotifier(stream).send(message)

    printed = stream.getvalue()
    assert "To: zoe@example.com\n" in printed
    assert f"Subject: {message.subject}\n" in printed
    assert "¥1,234" in printed
    assert "<p>" not in printed


# --- the plugin hooks ------------------------------------------------------------------


@pytest.fixture
def plugins() -> Plugins:
    # Once the integrator lists these modules among the built-in plugins, naming them
    # again would register them twice: keep each path once.
    builtin = (
        *BUILTIN_PLUGINS,
        "commercekit.adapters.notifications.files",
        "commercekit.adapters.notifications.smtp",
    )
    return Plugins(entry_point_plugins=False, builtin=tuple(dict.fromkeys(builtin)))


def test_the_plugins_offer_file_console_and_smtp_notifiers(
    plugins: Plugins, tmp_path: Path
) -> None:
    file = plugins.make_notifier("file", {"directory": str(tmp_path), "sender": "a@b.example"})
    smtp = plugins.make_notifier(
        "smtp",
        {
            "host": "mail.example",
            "sender": "shop@retro.example",
            "security": "starttls",
            "username": "shop",
            "password": "hunter2",
        },
    )

    assert isinstance(file, FileNotifier)
    assert file.directory == tmp_path
    assert file.sender == "a@b.example"
    assert isinstance(plugins.make_notifier("console", {}), ConsoleNotifier)
    assert isinstance(smtp, SmtpNotifier)
    assert (smtp.host, smtp.port, smtp.security, smtp.timeout) == (
        "mail.example",
        587,
        "starttls",
        10.0,
    )
    assert "hunter2" not in repr(smtp)


SMTP_BASE = {"host": "mail.example", "sender": "shop@retro.example"}


@pytest.mark.parametrize(
    ("kind", "options", "field"),
    [
        ("file", {}, "notifier.options.directory"),
        ("file", {"directory": " "}, "notifier.options.directory"),
        ("file", {"directory": "out", "sender": "not an address"}, "notifier.options.sender"),
        ("file", {"directory": "out", "colour": "red"}, "notifier.options.colour"),
        ("console", {"stream": "stderr"}, "notifier.options.stream"),
        ("smtp", {"sender": "shop@retro.example"}, "notifier.options.host"),
        ("smtp", {**SMTP_BASE, "host": ""}, "notifier.options.host"),
        ("smtp", {**SMTP_BASE, "host": "mail example"}, "notifier.options.host"),
        ("smtp", {"host": "mail.example"}, "notifier.options.sender"),
        ("smtp", {**SMTP_BASE, "port": 0}, "notifier.options.port"),
        ("smtp", {**SMTP_BASE, "port": 65536}, "notifier.options.port"),
        ("smtp", {**SMTP_BASE, "port": "25"}, "notifier.options.port"),
        ("smtp", {**SMTP_BASE, "port": True}, "notifier.options.port"),
        ("smtp", {**SMTP_BASE, "security": "tls"}, "notifier.options.security"),
        ("smtp", {**SMTP_BASE, "timeout": 0}, "notifier.options.timeout"),
        ("smtp", {**SMTP_BASE, "timeout": 3600}, "notifier.options.timeout"),
        ("smtp", {**SMTP_BASE, "security": "ssl", "username": "u"}, "notifier.secrets.password"),
        (
            "smtp",
            {**SMTP_BASE, "security": "ssl", "password": "hunter2"},
            "notifier.options.username",
        ),
        (
            "smtp",
            {**SMTP_BASE, "username": "u", "password": "hunter2"},
            "notifier.options.security",
        ),
        ("smtp", {**SMTP_BASE, "security": "ssl", "password": 12345}, "notifier.secrets.password"),
        ("smtp", {**SMTP_BASE, "hots": "x"}, "notifier.options.hots"),
    ],
)
def test_a_wrong_option_is_invalid_input_naming_it(
    plugins: Plugins, kind: str, options: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        plugins.make_notifier(kind, options)

    assert caught.value.field == field
    assert "hunter2" not in str(caught.value)
    assert "12345" not in str(caught.value)


def test_an_unknown_notifier_kind_names_the_known_ones(plugins: Plugins) -> None:
    with pytest.raises(InvalidInput) as caught:
        plugins.make_notifier("pigeon", {})

    assert caught.value.field == "notifier"
    assert "console, file, smtp" in caught.value.message


# --- SMTP, against a real server -------------------------------------------------------

#: Every wait on the network ends: the server's start, and each client exchange.
WAIT_SECONDS = 5.0


class Mailbox:
    """An aiosmtpd handler that keeps every envelope it is handed."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def only_email(self) -> EmailMessage:
        (envelope,) = self.envelopes
        assert isinstance(envelope.content, bytes)
        return parsed(envelope.content)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def mail_server() -> Iterator[tuple[int, Mailbox]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, ready_timeout=WAIT_SECONDS)
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_each_template_reaches_a_mail_server_whole(
    mail_server: tuple[int, Mailbox], name: str
) -> None:
    port, mailbox = mail_server
    message = message_for(name, locale="de")
    notifier = SmtpNotifier(
        "127.0.0.1", port, sender="Retro <shop@retro.example>", timeout=WAIT_SECONDS
    )

    notifier.send(message)

    (envelope,) = mailbox.envelopes
    assert envelope.mail_from == "shop@retro.example"
    assert envelope.rcpt_tos == ["zoe@example.com"]
    received = mailbox.only_email()
    assert_is_the_email_of(received, message)
    assert received["From"] == "Retro <shop@retro.example>"
    for part in (received.get_body(("plain",)), received.get_body(("html",))):
        assert FORMATTED[name]["de"] in part.get_content()  # type: ignore[union-attr]


def test_a_notifier_the_plugin_builds_sends_to_the_configured_server(
    plugins: Plugins, mail_server: tuple[int, Mailbox]
) -> None:
    port, mailbox = mail_server
    notifier = plugins.make_notifier(
        "smtp",
        {"host": "127.0.0.1", "port": port, "sender": "shop@retro.example", "timeout": 5},
    )

    notifier.send(message_for("refund_issued"))

    assert "€12.34" in mailbox.only_email().get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_a_server_that_is_not_listening_is_a_notification_failure() -> None:
    notifier = SmtpNotifier(
        "127.0.0.1", free_port(), sender="shop@retro.example", timeout=WAIT_SECONDS
    )

    with pytest.raises(NotificationFailed) as caught:
        notifier.send(message_for("payment_failed"))

    assert caught.value.retryable
    assert caught.value.field == "notifier"


def test_starttls_the_server_does_not_offer_is_refused_before_the_password_goes(
    mail_server: tuple[int, Mailbox],
) -> None:
    port, mailbox = mail_server
    notifier = SmtpNotifier(
        "127.0.0.1",
        port,
        sender="shop@retro.example",
        username="shop",
        password="hunter2",
        security="starttls",
        timeout=WAIT_SECONDS,
    )

    with pytest.raises(NotificationFailed) as caught:
        notifier.send(message_for("payment_failed"))

    assert "STARTTLS" in caught.value.message
    assert "hunter2" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert mailbox.envelopes == []
