"""Refunds computed from what was paid: the property over any priced order and any
sequence of partial returns and goodwill refunds, and worked examples."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from commercekit import AmountOffOrder, Money, PercentOffLines, Promotion, TaxRate, TaxZone
from commercekit.domain.orders import Order
from commercekit.domain.pricing import PriceBreakdown, PricingContext, TaxAddress, TaxSettings
from commercekit.domain.promotions import Stacking
from commercekit.domain.returns import RefundKind, RefundLedger, fee_units, line_share
from commercekit.errors import InvalidInput, RefundRefused

from .builders import NOW, cart, shop

GERMANY = TaxZone(
    id="de",
    country="DE",
    rates=[
        TaxRate(name="VAT 19%", rate="0.19"),
        TaxRate(name="VAT 7%", rate="0.07", category="books"),
    ],
)
IN_GERMANY = TaxAddress(country="DE")


def priced(
    prices: dict[str, str],
    quantities: dict[str, int],
    *,
    inclusive: bool,
    percent: int,
    amount_off: str,
    shipping: str,
) -> PriceBreakdown:
    promotions = []
    if percent:
        promotions.append(
            Promotion(id="pct", name="pct", benefit=PercentOffLines(percent), priority=20)
        )
    if Decimal(amount_off):
        promotions.append(
            Promotion(
                id="off",
                name="off",
                benefit=AmountOffOrder(Money(amount_off, "EUR")),
                stacking=Stacking.COMBINABLE,
                priority=10,
            )
        )
    engine = shop(
        prices,
        zones=[GERMANY],
        tax_categories={sku: "books" for sku in prices if sku.startswith("B")},
        settings=TaxSettings(prices_include_tax=inclusive),
        promotions=promotions,
    )
    context = PricingContext(now=NOW, address=IN_GERMANY, shipping=Money(shipping, "EUR"))
    return engine.price(cart("EUR", *quantities.items()), context)


def placed(breakdown: PriceBreakdown) -> Order:
    return Order.place(
        id="order-1",
        token="t" * 43,
        cart_id="cart",
        customer_id=None,
        email="ada@example.com",
        breakdown=breakdown,
        names={line.sku: (line.sku.lower(), line.sku, True, True) for line in breakdown.lines},
        shipping_address=None,
        billing_address=None,
        shipping=None,
        coupon_codes=[],
        payment_gateway="test",
        idempotency_key="key",
        fingerprint="fp",
        at=NOW,
    )


def refund_all(ledger: RefundLedger, order: Order, paid: int, *, shipping: bool) -> int:
    """Return every unit still out (and the shipping, if asked) in one refund."""
    back = ledger.returned()
    left = {line.sku: line.quantity - back.get(line.sku, 0) for line in order.lines}
    plan = ledger.plan(order, left, paid_units=paid, shipping=shipping)
    record(ledger, plan, paid)
    return plan.total_units


_IDS = iter(range(10**9))


def record(ledger: RefundLedger, plan, paid: int) -> None:  # type: ignore[no-untyped-def]
    ledger.record(
        plan,
        refund_id=f"r{next(_IDS)}",
        to_gateway_units=plan.total_units,
        reason="test",
        at=NOW,
        actor="staff",
        paid_units=paid,
    )


_SKUS = ("MUG", "SHIRT", "BOOK", "BAG")
_PRICE = st.decimals(min_value="0.01", max_value="999.99", places=2).map(str)
_ORDERS = st.fixed_dictionaries(
    {
        "prices": st.lists(_PRICE, min_size=4, max_size=4),
        "quantities": st.lists(st.integers(0, 7), min_size=4, max_size=4).filter(any),
        "inclusive": st.booleans(),
        "percent": st.sampled_from([0, 10, 15, 33]),
        "amount_off": st.sampled_from(["0", "5.00", "7.77"]),
        "shipping": st.sampled_from(["0", "4.90", "9.99"]),
    }
)
# A step: return some units of a line (with or without the shipping), give a
# goodwill amount, exchange some units of a line for a replacement at a price (its
# payment made or failed), or have the last replacement give back part of its price.
_STEPS = st.lists(
    st.tuples(st.sampled_from(["return", "goodwill"]), st.integers(0, 3), st.integers(1, 7))
    | st.tuples(st.just("return"), st.integers(0, 3), st.integers(1, 7), st.booleans())
    | st.tuples(
        st.just("exchange"),
        st.integers(0, 3),
        st.integers(1, 7),
        st.integers(0, 200_000),
        st.booleans(),
    )
    | st.tuples(st.just("release"), st.integers(0, 200_000)),
    max_size=8,
)


def exchange(
    ledger: RefundLedger, order: Order, units: dict[str, int], paid: int, price: int, done: bool
) -> str | None:
    """Exchange ``units`` for a replacement costing ``price``, recorded as a service
    does: the units carried pending, settled as the replacement's payment went, then
    the difference refunded. :returns: the carrying refund's id, once done."""
    plan = ledger.plan_exchange(order, units, paid_units=paid, price_units=price)
    # The units pay at most the price; what they were worth beyond it follows.
    assert plan.total_units <= price
    assert plan.total_units + plan.difference_units > 0
    carried = ledger.record(
        plan,
        refund_id=f"r{next(_IDS)}",
        to_gateway_units=0,
        to_exchange_units=plan.total_units,
        reason="exchange",
        at=NOW,
        actor="staff",
        paid_units=paid,
        pending=True,
    )
    before = ledger.refunded_units
    ledger.settle(carried.id, done=done, at=NOW)
    if not done:
        # An undone exchange counts for nothing.
        assert ledger.refunded_units == before - plan.total_units
        return None
    if plan.difference_units:
        difference = ledger.plan_difference(order, plan, paid_units=paid)
        assert difference.total_units == plan.difference_units
        record(ledger, difference, paid)
    return carried.id if plan.total_units else None


def _order(spec: dict) -> Order:  # type: ignore[type-arg]
    skus = [sku if sku != "BOOK" else "BOOK" for sku in _SKUS]
    prices = dict(zip(skus, spec["prices"], strict=True))
    quantities = {sku: n for sku, n in zip(skus, spec["quantities"], strict=True) if n}
    breakdown = priced(
        {sku: prices[sku] for sku in quantities},
        quantities,
        inclusive=spec["inclusive"],
        percent=spec["percent"],
        amount_off=spec["amount_off"],
        shipping=spec["shipping"],
    )
    return placed(breakdown)


@settings(max_examples=300)
@given(spec=_ORDERS, steps=_STEPS, short=st.integers(0, 300))
@example(
    spec={
        "prices": ["0.01", "0.01", "0.01", "0.01"],
        "quantities": [3, 0, 0, 0],
        "inclusive": False,
        "percent": 33,
        "amount_off": "0",
        "shipping": "0",
    },
    steps=[("return", 0, 1), ("return", 0, 1)],
    short=0,
)
def test_never_more_than_paid_and_exactly_paid_when_everything_comes_back(
    spec: dict,  # type: ignore[type-arg]
    steps: list[tuple],  # type: ignore[type-arg]
    short: int,
) -> None:
    order = _order(spec)
    # Paid in full, or captured short of the total.
    paid = max(0, order.totals.grand_total_units - short)
    ledger = RefundLedger.open(order, at=NOW)
    goodwill = released = 0
    exchanged: list[str] = []
    for step in steps:
        if step[0] == "release":
            if exchanged:
                released += ledger.release(exchanged[-1], step[1])
            assert ledger.refunded_units <= paid
            continue
        kind, line_index, amount = step[0], step[1], step[2]
        if kind == "exchange":
            line = order.lines[line_index % len(order.lines)]
            units = min(amount, line.quantity - ledger.returned().get(line.sku, 0))
            try:
                made = exchange(ledger, order, {line.sku: units}, paid, step[3], step[4])
            except RefundRefused:
                continue
            exchanged.extend([made] if made else [])
            assert ledger.refunded_units <= paid
            continue
        try:
            if kind == "goodwill":
                plan = ledger.plan(
                    order, {}, paid_units=paid, goodwill_units=amount, kind=RefundKind.GOODWILL
                )
                goodwill += plan.total_units
            else:
                line = order.lines[line_index % len(order.lines)]
                left = line.quantity - ledger.returned().get(line.sku, 0)
                units = min(amount, left)
                shipping = len(step) > 3 and step[3]
                plan = ledger.plan(order, {line.sku: units}, paid_units=paid, shipping=shipping)
        except RefundRefused:
            continue
        record(ledger, plan, paid)
        assert plan.total_units > 0
        assert ledger.refunded_units <= paid
    refund_all_possible = (
        any(ledger.returned().get(line.sku, 0) < line.quantity for line in order.lines)
        or not ledger.shipping_refunded
    )
    if refund_all_possible:
        try:
            refund_all(ledger, order, paid, shipping=True)
        except RefundRefused:
            assert ledger.refunded_units == paid or released
    owed = paid - ledger.refunded_units
    if owed and released:
        # A replacement gave back after everything else had: that much is owed, and
        # goes back as an amount.
        assert owed <= released
        plan = ledger.plan(
            order, {}, paid_units=paid, goodwill_units=owed, kind=RefundKind.GOODWILL
        )
        record(ledger, plan, paid)
    # Everything has come back: exactly what was paid went back (or paid for a
    # replacement that kept it), never a unit more.
    assert ledger.refunded_units == paid
    assert 0 <= ledger.exchanged_units <= paid
    if not goodwill and paid == order.totals.grand_total_units:
        # Without goodwill or a short capture, each line gave back its own total.
        for line in order.lines:
            given_back = sum(
                planned.paid_units
                for refund in ledger.refunds
                if refund.counts
                for planned in refund.plan.lines
                if planned.sku == line.sku
            )
            assert given_back == line.total_units


@given(
    total=st.integers(0, 10**9),
    tax=st.integers(0, 10**8),
    quantity=st.integers(1, 50),
    parts=st.lists(st.integers(1, 50), max_size=50),
)
def test_a_lines_units_in_any_parts_add_up_to_its_total(
    total: int, tax: int, quantity: int, parts: list[int]
) -> None:
    order = _order(
        {
            "prices": ["1.00"] * 4,
            "quantities": [quantity, 0, 0, 0],
            "inclusive": False,
            "percent": 0,
            "amount_off": "0",
            "shipping": "0",
        }
    )
    line = order.lines[0]
    import attrs

    line = attrs.evolve(line, total_units=total, tax_units=min(tax, total))
    before = paid = taxed = 0
    for part in [*parts, quantity]:
        units = min(part, quantity - before)
        if not units:
            break
        share, share_tax = line_share(line, before, units)
        # Each unit's share is within a unit of its exact part.
        assert abs(share * quantity - total * units) <= quantity * units
        paid, taxed, before = paid + share, taxed + share_tax, before + units
    assert before == quantity
    assert (paid, taxed) == (line.total_units, line.tax_units)


# --- worked examples -----------------------------------------------------------------


def test_one_unit_of_a_discounted_taxed_line() -> None:
    # 3 x 10.00 EUR, 10% off: 27.00 net; 19% VAT: 5.13; line total 32.13.
    order = placed(
        priced(
            {"MUG": "10.00"},
            {"MUG": 3},
            inclusive=False,
            percent=10,
            amount_off="0",
            shipping="4.90",
        )
    )
    (line,) = order.lines
    assert (line.total_units, line.tax_units) == (3213, 513)
    ledger = RefundLedger.open(order, at=NOW)
    paid = order.totals.grand_total_units
    # One unit: floor(3213 / 3) = 1071 (10.71 = 9.00 + 1.71 VAT).
    first = ledger.plan(order, {"MUG": 1}, paid_units=paid)
    assert first.total_units == 1071
    assert first.tax_units == 171
    record(ledger, first, paid)
    # The same unit cannot be planned twice from a stale ledger view.
    with pytest.raises(RefundRefused):
        record(ledger, first, paid)
    # The other two (3213 - 1071 = 2142), with the shipping (4.90, untaxed here).
    rest = ledger.plan(order, {"MUG": 2}, paid_units=paid, shipping=True)
    assert rest.total_units == 2142 + 490
    record(ledger, rest, paid)
    assert ledger.refunded_units == paid == 3213 + 490
    with pytest.raises(RefundRefused):
        ledger.plan(order, {}, paid_units=paid, goodwill_units=1, kind=RefundKind.GOODWILL)
    with pytest.raises(RefundRefused):
        ledger.plan(order, {"MUG": 1}, paid_units=paid)
    with pytest.raises(InvalidInput):
        ledger.plan(order, {"MUG": 4}, paid_units=paid)


def test_a_restocking_fee_comes_off_and_is_waived_for_some_lines() -> None:
    # 2 x 50.00 EUR, tax-inclusive (no VAT added): 100.00.
    order = placed(
        priced(
            {"SHIRT": "50.00", "MUG": "8.00"},
            {"SHIRT": 2, "MUG": 1},
            inclusive=True,
            percent=0,
            amount_off="0",
            shipping="0",
        )
    )
    ledger = RefundLedger.open(order, at=NOW)
    paid = order.totals.grand_total_units
    # 15% of the shirts' 100.00 is 15.00; the mug came back damaged: no fee on it.
    plan = ledger.plan(
        order,
        {"SHIRT": 2, "MUG": 1},
        paid_units=paid,
        fee_percent=Decimal(15),
        fee_skus=frozenset({"SHIRT"}),
    )
    assert plan.fee_units == 1500
    assert plan.total_units == 10800 - 1500
    assert fee_units(1000, percent=Decimal("12.5"), fixed_units=0) == 125
    assert fee_units(1000, percent=None, fixed_units=5000) == 1000  # never beyond the goods


def test_a_goodwill_refund_leaves_less_for_the_last_return() -> None:
    order = placed(
        priced(
            {"MUG": "10.00"},
            {"MUG": 2},
            inclusive=True,
            percent=0,
            amount_off="0",
            shipping="0",
        )
    )
    ledger = RefundLedger.open(order, at=NOW + timedelta(days=1))
    paid = 2000
    record(
        ledger,
        ledger.plan(order, {}, paid_units=paid, goodwill_units=500, kind=RefundKind.GOODWILL),
        paid,
    )
    first = ledger.plan(order, {"MUG": 1}, paid_units=paid)
    assert first.total_units == 1000
    record(ledger, first, paid)
    last = ledger.plan(order, {"MUG": 1}, paid_units=paid)
    # 20.00 paid, 5.00 and 10.00 back: only 5.00 is left for the last mug.
    assert (last.total_units, last.capped_units) == (500, 500)


def test_units_exchanged_pay_the_replacement_and_the_rest_follows() -> None:
    # 2 x 10.00 EUR, tax-inclusive: 20.00; one unit is worth 10.00.
    order = placed(
        priced(
            {"MUG": "10.00"}, {"MUG": 2}, inclusive=True, percent=0, amount_off="0", shipping="0"
        )
    )
    ledger = RefundLedger.open(order, at=NOW)
    paid = 2000
    # A replacement at 7.50: the unit pays 7.50 of it, and 2.50 is the difference.
    plan = ledger.plan_exchange(order, {"MUG": 1}, paid_units=paid, price_units=750)
    assert (plan.kind, plan.total_units, plan.difference_units) == (RefundKind.EXCHANGE, 750, 250)
    carried = ledger.record(
        plan,
        refund_id="carried",
        to_gateway_units=0,
        to_exchange_units=750,
        reason="exchange",
        at=NOW,
        actor="staff",
        paid_units=paid,
    )
    assert (carried.to_credit_units, ledger.exchanged_units) == (0, 750)
    difference = ledger.plan_difference(order, plan, paid_units=paid)
    assert (difference.total_units, difference.lines) == (250, ())
    record(ledger, difference, paid)
    assert ledger.returned() == {"MUG": 1}
    assert ledger.refunded_units == 1000
    # The replacement was cancelled: its 7.50 is owed again, once.
    assert ledger.release("carried", 10_000) == 750
    assert ledger.release("carried", 1) == 0
    assert ledger.refunded_units == 250
    # The last unit comes back: everything that is left goes back with it.
    assert ledger.plan(order, {"MUG": 1}, paid_units=paid).total_units == 2000 - 250
    # Only what paid for a replacement is released.
    with pytest.raises(InvalidInput):
        ledger.release(ledger.refunds[-1].id, 1)
