"""Invoices and credit notes on a real store (memory and a SQLite file): issued as
payments are captured and refunds done, once each, numbered per channel, rendered
as HTML and text, and behind the door."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from commercekit import Money
from commercekit.adapters.clock import FixedClock
from commercekit.domain.errors import AccessDenied, InvalidInput, InvalidTransition, NotFound
from commercekit.domain.events import PaymentCaptured
from commercekit.domain.invoicing import Invoice, PendingDocument
from commercekit.domain.orders import Order
from commercekit.domain.returns.refunds import RefundLedger
from commercekit.services.invoicing import InvoicingService
from commercekit.store import Store

from .conftest import ADDRESS, CONFIG, seed

SELLER = {
    "name": "Retro GmbH",
    "address": ["Weinbergsweg 1", "10119 Berlin", "Germany"],
    "tax_id": "DE123456789",
}
INVOICING = {**CONFIG, "seller": SELLER}
# Two mugs at 12.00 and a clock at 40.00, VAT 19% on 64.00 = 12.16, shipping 4.90
# untaxed: 81.06 in all.
GROSS = 8106


def opened(url: str, clock: FixedClock, **config: Any) -> Store:
    store = Store.open(url, config={**INVOICING, **config}, clock=clock)
    seed(store)
    return store


@pytest.fixture
def shop(store_url: str, clock: FixedClock) -> Iterator[Store]:
    with opened(store_url, clock) as store:
        yield store


def placed(
    store: Store,
    key: str,
    *,
    customer_id: str | None = None,
    channel: str | None = None,
    name: str = ADDRESS["name"],
) -> Order:
    """An order for two mugs and a clock, authorized."""
    cart = store.carts.create("EUR", channel=channel, customer_id=customer_id)
    store.carts.add(cart.token, "RETRO-MUG", 2)
    store.carts.add(cart.token, "RETRO-CLOCK", 1)
    store.checkout.set_contact(cart.token, {"email": "zoe@example.com"})
    store.checkout.set_shipping_address(cart.token, {**ADDRESS, "name": name})
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    store.checkout.summary(cart.token)
    return store.checkout.place_order(cart.token, idempotency_key=key)


def paid(store: Store, key: str, **options: Any) -> Order:
    """An order placed and captured."""
    order = placed(store, key, **options)
    store.payments.capture(order.id)
    return store.orders.get(order.id)


def refund(store: Store, order_id: str, refund_id: str, *, pending: bool = False) -> None:
    """Record a refund of one mug and the shipping on the order's ledger, done (as
    store credit) unless ``pending`` (waiting for the gateway), and deliver its
    events."""
    with store.storage.unit_of_work() as uow:
        order = uow.orders.get(order_id)
        ledgers = uow.records(RefundLedger)
        ledger = ledgers.find(RefundLedger.key(order_id))
        new = ledger is None
        ledger = ledger or RefundLedger.open(order, at=order.placed_at)
        total = order.totals.grand_total_units
        plan = ledger.plan(order, {"RETRO-MUG": 1}, paid_units=total, shipping=True)
        ledger.record(
            plan,
            refund_id=refund_id,
            to_gateway_units=plan.total_units if pending else 0,
            reason="arrived chipped",
            at=order.placed_at,
            actor="staff",
            paid_units=total,
        )
        (ledgers.add if new else ledgers.save)(ledger)
        uow.commit()
    store.deliver_events()


# --- issuing -------------------------------------------------------------------------


def test_a_captured_order_is_invoiced_once_with_the_next_number(shop: Store) -> None:
    first = paid(shop, "k1")
    second = paid(shop, "k2")

    invoice = shop.invoicing.invoice_for(first.id)
    assert invoice is not None
    assert (invoice.number, invoice.sequence, invoice.order_id) == ("INV-000001", 1, first.id)
    assert invoice.totals.gross_units == first.totals.grand_total_units == GROSS
    assert invoice.seller.name == "Retro GmbH"
    assert invoice.seller.tax_id == "DE123456789"
    assert invoice.buyer.email == "zoe@example.com"
    assert shop.invoicing.issue_invoice(first.id).number == "INV-000001"
    assert shop.invoicing.issue_invoice(second.id).number == "INV-000002"
    assert shop.invoicing.issue_invoice(first.id).id == invoice.id


def test_an_order_not_captured_is_not_invoiced(shop: Store) -> None:
    order = placed(shop, "k1")

    assert shop.invoicing.invoice_for(order.id) is None
    with pytest.raises(InvalidTransition) as caught:
        shop.invoicing.issue_invoice(order.id)
    assert caught.value.action == "invoice"
    with pytest.raises(NotFound) as unknown:
        shop.invoicing.issue_invoice("order-none")
    assert unknown.value.field == "order_id"


def test_a_sale_is_invoiced_as_it_is_placed(store_url: str, clock: FixedClock) -> None:
    with opened(store_url, clock, capture="immediate") as store:
        order = placed(store, "k1")

        invoice = store.invoicing.invoice_for(order.id)

    assert invoice is not None
    assert invoice.number == "INV-000001"


def test_numbers_run_per_channel_and_money_is_shown_for_the_channels_locale(
    store_url: str, clock: FixedClock
) -> None:
    channels = [
        {"id": "web", "currencies": ["EUR"], "locale": "de_DE"},
        {"id": "b2b", "currencies": ["EUR"]},
    ]
    with opened(store_url, clock, channels=channels) as store:
        web = [paid(store, f"w{n}", channel="web") for n in range(2)]
        b2b = paid(store, "b1", channel="b2b")

        numbers = [store.invoicing.issue_invoice(o.id).number for o in [*web, b2b]]
        german = store.invoicing.render(Invoice.key(web[0].id), "text")
        english = store.invoicing.render(Invoice.key(b2b.id), "text")

    assert numbers == ["INV-WEB-000001", "INV-WEB-000002", "INV-B2B-000001"]
    assert "81,06\xa0€" in german
    assert "€81.06" in english


def test_without_a_seller_nothing_is_issued_by_itself_but_staff_may_issue(
    store_url: str, clock: FixedClock
) -> None:
    with Store.open(store_url, config=CONFIG, clock=clock) as store:
        seed(store)
        order = paid(store, "k1")
        assert store.invoicing.invoice_for(order.id) is None

        invoice = store.invoicing.issue_invoice(order.id, actor="staff:grace")

    assert (invoice.number, invoice.issued_by, invoice.seller.name) == (
        "INV-000001",
        "staff:grace",
        "",
    )


# --- credit notes ----------------------------------------------------------------------


def test_a_refund_done_gets_a_credit_note_against_the_invoice(shop: Store) -> None:
    order = paid(shop, "k1")

    refund(shop, order.id, "r1")
    refund(shop, order.id, "r2")

    first, second = shop.invoicing.credit_notes_for(order.id)
    assert (first.number, second.number) == ("CN-000001", "CN-000002")
    assert {first.invoice_number, second.invoice_number} == {"INV-000001"}
    assert (first.refund_id, second.refund_id) == ("r1", "r2")
    # One mug: 12.00 + 2.28 VAT = 14.28, and the shipping (4.90) with the first.
    assert first.totals.gross_units == 1428 + 490
    assert second.totals.gross_units == 1428
    again = shop.invoicing.credit_note_for_refund(order.id, "r1")
    assert again.id == first.id
    assert len(shop.invoicing.credit_notes_for(order.id)) == 2


def test_refunds_made_through_the_store_are_credited_in_the_order_made(shop: Store) -> None:
    order = paid(shop, "k1")

    lost = shop.refunds.refund_units(order.id, {"RETRO-MUG": 1}, reason="lost", shipping=True)
    kind = shop.refunds.goodwill(order.id, Money("2.00", "EUR"), reason="late")

    first, second = shop.invoicing.credit_notes_for(order.id)
    assert (first.refund_id, first.number) == (lost.id, "CN-000001")
    assert (second.refund_id, second.number) == (kind.id, "CN-000002")
    # A mug (14.28) and the shipping (4.90); then 2.00 of goodwill, untaxed.
    assert (first.totals.gross_units, second.totals.gross_units) == (1918, 200)
    assert second.totals.tax_units == 0


def test_a_credit_note_issues_the_orders_missing_invoice_first(
    store_url: str, clock: FixedClock
) -> None:
    with opened(store_url, clock, seller={**SELLER, "automatic": False}) as store:
        order = paid(store, "k1")
        refund(store, order.id, "r1")
        assert store.invoicing.invoice_for(order.id) is None

        note = store.invoicing.credit_note_for_refund(order.id, "r1")

        invoice = store.invoicing.invoice_for(order.id)
    assert invoice is not None
    assert (note.number, note.invoice_number, invoice.number) == (
        "CN-000001",
        "INV-000001",
        "INV-000001",
    )


def test_a_refund_pending_or_unknown_gets_no_credit_note(shop: Store) -> None:
    order = paid(shop, "k1")
    refund(shop, order.id, "r1", pending=True)

    assert shop.invoicing.credit_notes_for(order.id) == []
    with pytest.raises(InvalidTransition):
        shop.invoicing.credit_note_for_refund(order.id, "r1")
    with pytest.raises(NotFound) as caught:
        shop.invoicing.credit_note_for_refund(order.id, "r-none")
    assert caught.value.field == "refund_id"
    # Nothing was numbered by the refusals: the next credit note is the first.
    refund(shop, order.id, "r2")
    (note,) = shop.invoicing.credit_notes_for(order.id)
    assert note.number == "CN-000001"


# --- rendering -----------------------------------------------------------------------


def test_a_document_renders_escaped_html_and_plain_text(shop: Store) -> None:
    order = paid(shop, "k1", name="Zoë <script>alert(1)</script>")
    refund(shop, order.id, "r1")
    invoice_id = Invoice.key(order.id)
    (note,) = shop.invoicing.credit_notes_for(order.id)

    html = shop.invoicing.render(invoice_id)
    text = shop.invoicing.render(invoice_id, "text")
    credit = shop.invoicing.render(note.id, "html")

    assert "<script>" not in html
    assert "Zoë &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Zoë <script>alert(1)</script>" in text
    for shown in ("INV-000001", "DE123456789", "VAT 19%", "€81.06", "€12.16"):
        assert shown in html
        assert shown in text
    assert "CN-000001" in credit
    assert "INV-000001" in credit
    assert "€19.18" in credit  # 14.28 for the mug and 4.90 for the shipping


def test_render_refuses_an_unknown_document_or_format(shop: Store) -> None:
    order = paid(shop, "k1")

    with pytest.raises(NotFound) as unknown:
        shop.invoicing.render("invoice:order-none")
    assert unknown.value.field == "document_id"
    with pytest.raises(InvalidInput) as caught:
        shop.invoicing.render(Invoice.key(order.id), "pdf")
    assert caught.value.field == "format"


# --- as things happen ------------------------------------------------------------------


def test_an_invoicing_failure_never_breaks_the_capture_and_is_issued_later(
    shop: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    order = placed(shop, "k1")
    failing = InvoicingService._issue_invoice

    def broken(self: InvoicingService, *args: Any) -> Any:
        raise RuntimeError("storage hiccup")

    monkeypatch.setattr(InvoicingService, "_issue_invoice", broken)
    with caplog.at_level(logging.ERROR, logger="commercekit.services.invoicing"):
        payment = shop.payments.capture(order.id)

    assert payment.captured_units == GROSS
    assert shop.invoicing.invoice_for(order.id) is None
    assert "could not issue" in caplog.text
    monkeypatch.setattr(InvoicingService, "_issue_invoice", failing)
    assert shop.invoicing.issue_due() == 1
    invoice = shop.invoicing.invoice_for(order.id)
    assert invoice is not None
    assert invoice.number == "INV-000001"
    assert shop.invoicing.issue_due() == 0
    with shop.storage.unit_of_work() as uow:
        owed = uow.records(PendingDocument).get(PendingDocument.key(order.id))
    assert (owed.done, owed.tries) == (True, 1)


def test_the_same_events_delivered_again_issue_nothing_twice(shop: Store) -> None:
    order = paid(shop, "k1")
    captured = PaymentCaptured(
        occurred_at=order.placed_at,
        payment_id="p",
        order_id=order.id,
        currency="EUR",
        amount_units=GROSS,
    )

    assert shop.invoicing.on_events([captured, captured]) == 0

    invoice = shop.invoicing.invoice_for(order.id)
    assert invoice is not None
    assert invoice.number == "INV-000001"
    # Nothing was numbered by the events delivered again.
    following = shop.invoicing.invoice_for(paid(shop, "k2").id)
    assert following is not None
    assert following.number == "INV-000002"


# --- the door --------------------------------------------------------------------------


def test_a_shopper_reads_their_own_documents_and_staff_with_orders_any(shop: Store) -> None:
    shop.customers.register("ada", {"email": "ada@example.com", "name": "Ada"})
    order = paid(shop, "k1", customer_id="ada")
    invoice_id = Invoice.key(order.id)

    ada = shop.as_shopper("ada").invoicing
    assert ada.invoice_for(order.id).number == "INV-000001"
    assert "INV-000001" in ada.render(invoice_id, "text")
    assert ada.credit_notes_for(order.id) == []
    for other in (shop.as_shopper("bob").invoicing, shop.as_shopper().invoicing):
        with pytest.raises(AccessDenied):
            other.render(invoice_id)
        with pytest.raises(AccessDenied):
            other.invoice_for(order.id)
    with pytest.raises(AccessDenied):
        ada.issue_invoice(order.id)

    clerk = shop.as_staff("grace", ["orders"]).invoicing
    assert clerk.render(invoice_id, "text") == ada.render(invoice_id, "text")
    assert clerk.issue_invoice(order.id).number == "INV-000001"
    with pytest.raises(AccessDenied):
        shop.as_staff("sam", ["stock"]).invoicing.render(invoice_id)
