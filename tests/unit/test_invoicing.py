"""Invoices and credit notes built from orders and refunds: the figures add up to the
minor unit for any order, per rate and in all, and worked examples."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import attrs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from commercekit import Money, PercentOffLines, Promotion, TaxRate, TaxZone
from commercekit.domain.checkout import Address
from commercekit.domain.errors import InvalidInput, InvalidTransition, RefundRefused
from commercekit.domain.invoicing import (
    NO_TAX,
    SHIPPING_TAX,
    CreditNote,
    DocumentLine,
    Invoice,
    LineKind,
    Party,
    PendingDocument,
    Seller,
    build_credit_note,
    build_invoice,
    document_number,
    invoice_due,
    percent,
    summarize_taxes,
)
from commercekit.domain.orders import (
    Order,
    OrderLine,
    OrderPaymentStatus,
    OrderStatus,
    OrderTotals,
)
from commercekit.domain.payments import PaymentStatus
from commercekit.domain.pricing import PricingContext, TaxAddress, TaxSettings
from commercekit.domain.returns.refunds import (
    PlannedLine,
    Refund,
    RefundKind,
    RefundLedger,
    RefundPlan,
    RefundStatus,
)

from .builders import NOW, cart, shop

SELLER = Party(name="Retro GmbH", address=("Weinbergsweg 1", "10119 Berlin"), tax_id="DE123")
BERLIN = Address(
    name="Zoë Ünal",
    company="Ünal & Co",
    line1="Weinbergsweg 12",
    city="Berlin",
    postal_code="10119",
    country="DE",
)


def order_of(
    lines: Sequence[OrderLine],
    *,
    shipping_units: int = 0,
    shipping_tax_units: int = 0,
    inclusive: bool = False,
    status: OrderStatus = OrderStatus.OPEN,
    payment: OrderPaymentStatus = OrderPaymentStatus.CAPTURED,
    billing: Address | None = None,
    channel: str | None = None,
) -> Order:
    """An order with these lines and shipping (its gross, tax inside), as paid."""
    lines_total = sum(line.total_units for line in lines)
    return Order(
        id="order-1",
        token="t" * 43,
        cart_id="cart-1",
        channel=channel,
        email="zoe@example.com",
        currency="EUR",
        lines=tuple(lines),
        totals=OrderTotals(
            subtotal_units=sum(line.subtotal_units for line in lines),
            discount_units=sum(line.discount_units for line in lines),
            shipping_units=shipping_units,
            shipping_discount_units=0,
            shipping_tax_units=shipping_tax_units,
            tax_units=sum(line.tax_units for line in lines) + shipping_tax_units,
            grand_total_units=lines_total + shipping_units,
            prices_include_tax=inclusive,
        ),
        billing_address=billing,
        payment_gateway="test",
        idempotency_key="key",
        fingerprint="fp",
        placed_at=NOW,
        status=status,
        payment_status=payment,
    )


def line_of(
    sku: str,
    quantity: int,
    unit: int,
    taxes: Sequence[tuple[str, str, int]] = (),
    *,
    discount: int = 0,
    tax: int | None = None,
) -> OrderLine:
    """A tax-exclusive line: its total is what it costs less its discount, plus tax."""
    tax_units = sum(units for _, _, units in taxes) if tax is None else tax
    return OrderLine(
        sku=sku,
        product_id=sku.lower(),
        name=sku.title(),
        quantity=quantity,
        unit_price_units=unit,
        subtotal_units=unit * quantity,
        discount_units=discount,
        tax_units=tax_units,
        total_units=unit * quantity - discount + tax_units,
        taxes=tuple(taxes),
    )


def invoice_of(order: Order) -> Invoice:
    return build_invoice(
        order,
        number="INV-000001",
        sequence=1,
        seller=SELLER,
        issued_at=NOW,
        issued_by="system",
    )


def credit_of(order: Order, refund: Refund) -> CreditNote:
    return build_credit_note(
        order,
        refund,
        invoice_of(order),
        number="CN-000001",
        sequence=1,
        seller=SELLER,
        issued_at=NOW,
        issued_by="system",
    )


def check_adds_up(lines: Sequence[DocumentLine], document: Invoice | CreditNote) -> None:
    """Every line, the totals and the tax summary agree to the minor unit."""
    for line in lines:
        assert line.net_units + line.tax_units == line.total_units
    totals = document.totals
    assert totals.net_units == sum(line.net_units for line in lines)
    assert totals.tax_units == sum(line.tax_units for line in lines)
    assert totals.gross_units == sum(line.total_units for line in lines)
    assert totals.net_units + totals.tax_units == totals.gross_units
    assert sum(row.net_units for row in document.tax_summary) == totals.net_units
    assert sum(row.tax_units for row in document.tax_summary) == totals.tax_units
    assert len({(row.name, row.rate) for row in document.tax_summary}) == len(document.tax_summary)


# --- numbers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "scope", "number", "digits", "expected"),
    [
        ("INV", "web", 42, 6, "INV-WEB-000042"),
        ("INV", "", 42, 6, "INV-000042"),
        ("", "", 7, 3, "007"),
        ("CN", "b2b", 1234567, 4, "CN-B2B-1234567"),
    ],
)
def test_a_number_is_the_prefix_the_channel_and_the_padded_sequence(
    prefix: str, scope: str, number: int, digits: int, expected: str
) -> None:
    assert document_number(prefix, scope, number, digits) == expected


@pytest.mark.parametrize("number", [0, -1, True, 1.0])
def test_a_number_below_one_is_refused(number: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        document_number("INV", "", number, 6)  # type: ignore[arg-type]
    assert caught.value.field == "number"


def test_a_seller_refuses_what_cannot_be_printed() -> None:
    with pytest.raises(InvalidInput) as caught:
        Seller(name="Retro", address=("line\x00",))
    assert caught.value.field == "address"
    with pytest.raises(InvalidInput) as caught:
        Seller(name="Retro", number_digits=0)
    assert caught.value.field == "number_digits"


@pytest.mark.parametrize(
    ("rate", "shown"), [("0.19", "19"), ("0.075", "7.5"), ("0", "0"), ("1", "100"), ("x", "")]
)
def test_a_rate_is_shown_as_a_percentage(rate: str, shown: str) -> None:
    assert percent(rate) == shown


# --- the invoice ---------------------------------------------------------------------


def test_an_invoice_holds_the_lines_shipping_and_tax_per_rate_as_the_order_froze_them() -> None:
    # Two mugs at 12.00 less 2.40 discount, VAT 19% on 21.60 = 4.10 (4.104 rounded);
    # a book at 10.00 with VAT 7% = 0.70; shipping 5.95 gross with 0.95 tax inside.
    order = order_of(
        [
            line_of("MUG", 2, 1200, [("VAT", "0.19", 410)], discount=240),
            line_of("BOOK", 1, 1000, [("VAT", "0.07", 70)]),
        ],
        shipping_units=595,
        shipping_tax_units=95,
        billing=BERLIN,
    )

    invoice = invoice_of(order)

    mug, book = invoice.lines
    assert (mug.quantity, mug.unit_price_units, mug.discount_units) == (2, 1200, 240)
    assert (mug.net_units, mug.tax_units, mug.total_units) == (2160, 410, 2570)
    assert (book.net_units, book.tax_units, book.total_units) == (1000, 70, 1070)
    assert invoice.shipping is not None
    assert (invoice.shipping.net_units, invoice.shipping.tax_units) == (500, 95)
    assert [(r.name, r.rate, r.net_units, r.tax_units) for r in invoice.tax_summary] == [
        ("VAT", "0.19", 2160, 410),
        ("VAT", "0.07", 1000, 70),
        (*SHIPPING_TAX, 500, 95),
    ]
    # 21.60 + 10.00 + 5.00 net, 4.10 + 0.70 + 0.95 tax: 42.35 gross, the grand total.
    assert (invoice.totals.net_units, invoice.totals.tax_units) == (3660, 575)
    assert invoice.totals.gross_units == order.totals.grand_total_units == 4235
    assert invoice.buyer == Party(
        name="Zoë Ünal",
        address=("Ünal & Co", "Weinbergsweg 12", "10119 Berlin", "DE"),
        email="zoe@example.com",
    )
    assert (invoice.seller, invoice.number, invoice.id) == (SELLER, "INV-000001", "invoice:order-1")
    check_adds_up(invoice.all_lines, invoice)


def test_a_line_taxed_at_two_rates_shares_its_net_as_its_tax_is_shared() -> None:
    # Net 10.00 taxed 6% (0.60) and 1% (0.10): 60:10 shares 10.00 as 8.57 and 1.43
    # (857.14 and 142.86: the leftover unit goes to the larger remainder).
    order = order_of([line_of("LAMP", 1, 1000, [("State", "0.06", 60), ("County", "0.01", 10)])])

    rows = invoice_of(order).tax_summary

    assert [(r.name, r.net_units, r.tax_units) for r in rows] == [
        ("State", 857, 60),
        ("County", 143, 10),
    ]


def test_an_untaxed_line_and_untaxed_shipping_are_one_row_of_no_tax() -> None:
    order = order_of([line_of("GIFT", 1, 500)], shipping_units=490)

    (row,) = invoice_of(order).tax_summary

    assert ((row.name, row.rate), row.net_units, row.tax_units) == (NO_TAX, 990, 0)


def test_a_lines_taxes_that_do_not_add_up_to_its_tax_are_shared_anew() -> None:
    # The line's tax is 9 but its rates say 4 and 4: 9 shared 1:1 gives 5 and 4.
    order = order_of([line_of("ODD", 1, 100, [("A", "0.04", 4), ("B", "0.04", 4)], tax=9)])

    rows = invoice_of(order).tax_summary

    assert [(r.name, r.tax_units) for r in rows] == [("A", 5), ("B", 4)]


@pytest.mark.parametrize(
    ("status", "payment", "due"),
    [
        (OrderStatus.OPEN, OrderPaymentStatus.CAPTURED, True),
        (OrderStatus.OPEN, OrderPaymentStatus.PARTIALLY_CAPTURED, True),
        (OrderStatus.COMPLETED, OrderPaymentStatus.PARTIALLY_REFUNDED, True),
        (OrderStatus.COMPLETED, OrderPaymentStatus.REFUNDED, True),
        (OrderStatus.OPEN, OrderPaymentStatus.AUTHORIZED, False),
        (OrderStatus.PENDING_PAYMENT, OrderPaymentStatus.UNPAID, False),
        (OrderStatus.CANCELLED, OrderPaymentStatus.REFUNDED, False),
        (OrderStatus.CANCELLING, OrderPaymentStatus.CAPTURED, False),
    ],
)
def test_an_order_is_invoiced_once_its_money_is_taken(
    status: OrderStatus, payment: OrderPaymentStatus, due: bool
) -> None:
    order = order_of([line_of("MUG", 1, 1200)], status=status, payment=payment)

    assert invoice_due(order) is due
    if not due:
        with pytest.raises(InvalidTransition):
            invoice_of(order)


def test_an_order_that_settled_free_is_invoiced_for_nothing() -> None:
    order = order_of(
        [line_of("MUG", 1, 0)],
        status=OrderStatus.PENDING_PAYMENT,
        payment=OrderPaymentStatus.UNPAID,
    )
    order.settle_free(at=NOW, actor="system")

    invoice = invoice_of(order)

    assert invoice.totals.gross_units == 0
    assert invoice.shipping is None


def test_a_partial_capture_makes_the_order_due() -> None:
    order = order_of(
        [line_of("MUG", 1, 1200)],
        status=OrderStatus.PENDING_PAYMENT,
        payment=OrderPaymentStatus.UNPAID,
    )
    order.payment_changed(PaymentStatus.AUTHORIZED, at=NOW, actor="gateway")
    assert not invoice_due(order)
    order.payment_changed(PaymentStatus.PARTIALLY_CAPTURED, at=NOW, actor="gateway")
    assert invoice_due(order)


# --- the property: any order's figures add up -----------------------------------------

_RATES = st.sampled_from([("VAT", "0.19"), ("VAT", "0.07"), ("State", "0.06"), ("VAT", "0")])


@st.composite
def order_lines(draw: st.DrawFn) -> OrderLine:
    quantity = draw(st.integers(1, 20))
    unit = draw(st.integers(0, 10**7))
    discount = draw(st.integers(0, unit * quantity))
    taxes = [
        (name, rate, draw(st.integers(0, 10**6)))
        for name, rate in draw(st.lists(_RATES, max_size=3, unique=True))
    ]
    # Now and then a line whose tax its rates do not account for exactly.
    tax = draw(st.none() | st.integers(0, 10**6))
    return line_of(
        f"SKU-{draw(st.integers(0, 99))}", quantity, unit, taxes, discount=discount, tax=tax
    )


@given(
    lines=st.lists(order_lines(), min_size=1, max_size=6),
    shipping=st.integers(0, 10**6),
    shipping_tax=st.integers(0, 10**5),
    inclusive=st.booleans(),
)
@example(
    lines=[line_of("A", 3, 333, [("VAT", "0.19", 190), ("State", "0.06", 60)], tax=251)],
    shipping=1,
    shipping_tax=1,
    inclusive=False,
)
def test_any_orders_invoice_adds_up_per_rate_and_in_all(
    lines: list[OrderLine], shipping: int, shipping_tax: int, inclusive: bool
) -> None:
    order = order_of(
        lines,
        shipping_units=shipping,
        shipping_tax_units=min(shipping_tax, shipping),
        inclusive=inclusive,
    )

    invoice = invoice_of(order)

    check_adds_up(invoice.all_lines, invoice)
    assert invoice.totals.gross_units == order.totals.grand_total_units
    assert invoice.totals.tax_units == order.totals.tax_units
    # Each rate's tax is what the lines charged at that rate (when they account for it).
    for row in invoice.tax_summary:
        charged = [
            units
            for line in lines
            if sum(u for _, _, u in line.taxes) == line.tax_units
            for name, rate, units in line.taxes
            if (name, rate) == (row.name, row.rate)
        ]
        exact = all(
            sum(u for _, _, u in line.taxes) == line.tax_units
            for line in lines
            if any((n, r) == (row.name, row.rate) for n, r, _ in line.taxes)
        )
        if exact and charged:
            assert row.tax_units == sum(charged)


# --- credit notes ----------------------------------------------------------------------

GERMANY = TaxZone(
    id="de",
    country="DE",
    rates=[
        TaxRate(name="VAT", rate="0.19"),
        TaxRate(name="VAT", rate="0.07", category="books"),
    ],
)


def priced_order(quantities: dict[str, int], *, inclusive: bool, percent_off: int) -> Order:
    """An order priced by the engine: VAT 19% on goods and shipping, 7% on books."""
    engine = shop(
        {"MUG": "12.00", "BOOK": "9.99", "LAMP": "33.33"},
        zones=[GERMANY],
        tax_categories={"BOOK": "books"},
        settings=TaxSettings(prices_include_tax=inclusive, shipping_tax_category="standard"),
        promotions=[Promotion(id="p", name="p", benefit=PercentOffLines(percent_off))]
        if percent_off
        else [],
    )
    context = PricingContext(
        now=NOW, address=TaxAddress(country="DE"), shipping=Money("4.90", "EUR")
    )
    breakdown = engine.price(cart("EUR", *quantities.items()), context)
    order = Order.place(
        id="order-1",
        token="t" * 43,
        cart_id="cart",
        customer_id=None,
        email="zoe@example.com",
        breakdown=breakdown,
        names={sku: (sku.lower(), sku.title(), True, True) for sku in quantities},
        shipping_address=BERLIN,
        billing_address=None,
        shipping=None,
        coupon_codes=[],
        payment_gateway="test",
        idempotency_key="key",
        fingerprint="fp",
        at=NOW,
    )
    order.payment_changed(PaymentStatus.CAPTURED, at=NOW, actor="gateway")
    return order


def refunded(ledger: RefundLedger, order: Order, plan: RefundPlan, number: int) -> Refund:
    return ledger.record(
        plan,
        refund_id=f"r{number}",
        to_gateway_units=0,
        reason="changed mind",
        at=NOW,
        actor="staff",
        paid_units=order.totals.grand_total_units,
    )


_STEPS = st.lists(
    st.tuples(
        st.fixed_dictionaries({"MUG": st.integers(0, 3), "BOOK": st.integers(0, 2)}),
        st.booleans(),
        st.sampled_from([None, Decimal("10"), Decimal("12.5")]),
        st.sampled_from([0, 1, 250]),
    ),
    min_size=1,
    max_size=5,
)


@given(steps=_STEPS, inclusive=st.booleans(), percent_off=st.sampled_from([0, 15]))
def test_every_refunds_credit_note_is_its_total_and_adds_up_per_rate(
    steps: list[tuple[dict[str, int], bool, Decimal | None, int]],
    inclusive: bool,
    percent_off: int,
) -> None:
    order = priced_order(
        {"MUG": 3, "BOOK": 2, "LAMP": 1}, inclusive=inclusive, percent_off=percent_off
    )
    ledger = RefundLedger.open(order, at=NOW)
    paid = order.totals.grand_total_units
    credited = 0
    for number, (units, shipping, fee, goodwill) in enumerate(steps):
        back = ledger.returned()
        left = {
            sku: min(n, line.quantity - back.get(sku, 0))
            for line in order.lines
            for sku, n in units.items()
            if line.sku == sku
        }
        try:
            plan = ledger.plan(
                order,
                left,
                paid_units=paid,
                shipping=shipping,
                fee_percent=fee,
                goodwill_units=goodwill,
            )
        except RefundRefused:  # nothing to give back: the ledger's business
            continue
        note = credit_of(order, refunded(ledger, order, plan, number))

        check_adds_up(note.all_lines, note)
        assert note.totals.gross_units == plan.total_units
        assert note.totals.tax_units == plan.tax_units
        for row in note.tax_summary:
            if (row.name, row.rate) not in (NO_TAX, SHIPPING_TAX):
                assert row.tax_units == sum(
                    units
                    for line in plan.lines
                    for name, rate, units in line.taxes
                    if (name, rate) == (row.name, row.rate)
                )
        credited += note.totals.gross_units
    assert credited == ledger.refunded_units <= paid


@given(
    paid=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**5)), max_size=4),
    shipping=st.integers(0, 10**4),
    fee=st.integers(0, 10**4),
    goodwill=st.integers(0, 10**4),
    capped=st.integers(0, 10**4),
    total=st.integers(0, 10**7),
)
def test_a_credit_notes_gross_is_the_refunds_total_whatever_its_parts(
    paid: list[tuple[int, int]], shipping: int, fee: int, goodwill: int, capped: int, total: int
) -> None:
    order = order_of([line_of(f"S{n}", 5, 10**6, [("VAT", "0.19", 1)]) for n in range(4)])
    plan = RefundPlan(
        order_id=order.id,
        currency="EUR",
        kind=RefundKind.RETURN,
        lines=tuple(
            PlannedLine(
                sku=f"S{n}",
                units=1,
                paid_units=gross,
                tax_units=min(tax, gross),
                taxes=(("VAT", "0.19", min(tax, gross)),),
            )
            for n, (gross, tax) in enumerate(paid)
        ),
        shipping_units=shipping,
        shipping_tax_units=shipping // 10,
        fee_units=fee,
        goodwill_units=goodwill,
        capped_units=capped,
        total_units=total,
    )
    refund = Refund(
        id="r1",
        at=NOW,
        actor="staff",
        reason="",
        plan=plan,
        to_gateway_units=0,
        to_credit_units=total,
        status=RefundStatus.DONE,
    )

    note = credit_of(order, refund)

    check_adds_up(note.all_lines, note)
    assert note.totals.gross_units == total


def test_a_credit_note_names_the_invoice_the_refund_and_its_fee_and_goodwill() -> None:
    # One mug back of two at 12.00 + 19% (14.28 each), shipping 5.95 with 0.95 tax, a
    # 10% fee on the mug (1.43, half up from 1.428) and 2.00 goodwill:
    # 14.28 + 5.95 - 1.43 + 2.00 = 20.80.
    order = order_of(
        [line_of("MUG", 2, 1200, [("VAT", "0.19", 456)])], shipping_units=595, shipping_tax_units=95
    )
    ledger = RefundLedger.open(order, at=NOW)
    plan = ledger.plan(
        order,
        {"MUG": 1},
        paid_units=3451,
        shipping=True,
        fee_percent=Decimal(10),
        goodwill_units=200,
    )

    note = credit_of(order, refunded(ledger, order, plan, 1))

    assert (note.invoice_number, note.refund_id, note.reason) == (
        "INV-000001",
        "r1",
        "changed mind",
    )
    assert note.id == "credit_note:order-1:r1"
    (mug,) = note.lines
    assert (mug.quantity, mug.net_units, mug.tax_units, mug.total_units) == (1, 1200, 228, 1428)
    assert note.shipping is not None
    assert (note.shipping.net_units, note.shipping.tax_units) == (500, 95)
    assert [(a.kind, a.total_units, a.tax_units) for a in note.adjustments] == [
        (LineKind.GOODWILL, 200, 0),
        (LineKind.FEE, -143, 0),
    ]
    assert note.totals.gross_units == plan.total_units == 2080
    assert [(r.name, r.rate, r.net_units, r.tax_units) for r in note.tax_summary] == [
        ("VAT", "0.19", 1200, 228),
        (*SHIPPING_TAX, 500, 95),
        (*NO_TAX, 57, 0),  # 2.00 goodwill less the 1.43 fee
    ]


def test_the_last_refund_gives_back_a_fee_kept_before_as_a_balance() -> None:
    # Two mugs at 10.00 (no tax, no shipping): the first back with a 1.00 fee (9.00),
    # the second with none; everything is back, so the rest of 20.00 goes: 11.00.
    order = order_of([line_of("MUG", 2, 1000)])
    ledger = RefundLedger.open(order, at=NOW)
    first = ledger.plan(order, {"MUG": 1}, paid_units=2000, fee_fixed_units=100)
    refunded(ledger, order, first, 1)
    last = ledger.plan(order, {"MUG": 1}, paid_units=2000)

    note = credit_of(order, refunded(ledger, order, last, 2))

    assert [(a.kind, a.total_units) for a in note.adjustments] == [(LineKind.BALANCE, 100)]
    assert note.totals.gross_units == last.total_units == 1100


def test_a_refund_not_done_or_of_another_order_gets_no_credit_note() -> None:
    order = order_of([line_of("MUG", 2, 1000)])
    ledger = RefundLedger.open(order, at=NOW)
    plan = ledger.plan(order, {"MUG": 1}, paid_units=2000)
    pending = ledger.record(
        plan,
        refund_id="r1",
        to_gateway_units=1000,
        reason="",
        at=NOW,
        actor="staff",
        paid_units=2000,
    )
    with pytest.raises(InvalidTransition):
        credit_of(order, pending)
    elsewhere = attrs.evolve(order, id="order-2")
    with pytest.raises(InvalidInput):
        build_credit_note(
            elsewhere,
            attrs.evolve(pending, status=RefundStatus.DONE),
            invoice_of(order),
            number="CN-1",
            sequence=1,
            seller=SELLER,
            issued_at=NOW,
            issued_by="system",
        )


def test_summarize_taxes_keeps_the_order_rates_were_first_met() -> None:
    lines = [
        DocumentLine(
            kind=LineKind.GOODS,
            net_units=100,
            tax_units=7,
            total_units=107,
            taxes=(("VAT", "0.07", 7),),
        ),
        DocumentLine(kind=LineKind.FEE, net_units=-50, tax_units=0, total_units=-50),
        DocumentLine(
            kind=LineKind.GOODS,
            net_units=100,
            tax_units=19,
            total_units=119,
            taxes=(("VAT", "0.19", 19),),
        ),
    ]

    assert [(r.rate, r.net_units, r.gross_units) for r in summarize_taxes(lines)] == [
        ("0.07", 100, 107),
        ("0", -50, -50),
        ("0.19", 100, 119),
    ]


def test_a_pending_document_is_due_until_issued() -> None:
    owed = PendingDocument.owed("order-1", "r1", at=NOW)
    owed.failed("storage busy")
    assert (owed.tries, owed.index().state, owed.index().ref) == (1, "due", "order-1")
    owed.issued()
    assert (owed.done, owed.index().state, owed.error) == (True, "", "storage busy")
