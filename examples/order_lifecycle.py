"""A full order lifecycle on the embedded default storage (SQLite).

Seeds a catalogue with prices, German VAT, a promotion and delivery methods, stocks
two locations, fills a customer's cart, checks out at a quoted shipping rate, places
the order (reserving its stock), captures the payment (issuing the invoice), ships
from both locations with the sandbox carrier, follows the parcels to the door as the
clock moves, looks the order up by its number and e-mail, takes one line back as a
return (label, receipt, inspection, restock) with its refund computed from what was
paid, part to the card and part as store credit, answers a support case with a
goodwill credit, and prints each step, the payment, stock and store-credit ledgers,
the invoice and the credit notes. The e-mails the customer would get are written to
a folder the output names.

Run it with ``python examples/order_lifecycle.py [URL [MAIL_FOLDER]]``. Without a
URL it uses a fresh SQLite file in a temporary folder; ``memory://`` or a
``postgresql+psycopg://`` URL work too. The e-mails go to MAIL_FOLDER, or to a new
folder the output names.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from commercekit import (
    Category,
    Coupon,
    ItemFilter,
    Money,
    PercentOffLines,
    PriceBreakdown,
    Product,
    Promotion,
    StockLocation,
    TaxRate,
    TaxZone,
    Variant,
    format_money,
    from_minor_units,
)
from commercekit.adapters.clock import FixedClock
from commercekit.domain.shipping import ByWeight, DeliveryMethod, Flat, FreeOver, ShippingZone
from commercekit.store import Store

LOCALE = "de_DE"
CONFIG = {
    "prices_include_tax": True,
    "shipping_tax_category": "standard",
    "tax_origin_country": "DE",
    # A demo's own secrets: a real store reads them from its environment or a vault.
    "gateways": {"test": {"plugin": "test", "secrets": {"webhook_secret": "whsec_demo"}}},
    "carriers": {"sandbox": {"plugin": "sandbox", "secrets": {"webhook_secret": "whsec_parcel"}}},
    "store_name": "Teehaus Kyoto",
    # Invoices and credit notes are issued as payments are captured and refunds made.
    "seller": {
        "name": "Teehaus Kyoto GmbH",
        "address": ["Weinbergsweg 1", "10119 Berlin"],
        "tax_id": "DE123456789",
    },
    "returns": {"window_days": 30, "restocking_fee_percent": "5"},
}
CUSTOMER = "zoe"
EMAIL = "zoë@example.com"
#: How far the demo's clock moves between two looks at the parcels.
STEP = timedelta(hours=12)


def indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.strip().splitlines())


def money(amount: Money) -> str:
    return format_money(amount, LOCALE)


def step(title: str) -> None:
    print(f"\n== {title}")


def seed(store: Store) -> None:
    store.catalog.add_category(Category(id="tea", name="Tea"))
    store.catalog.add_product(
        Product(
            id="sencha",
            name="Sencha Kyoto",
            category_ids=["tea"],
            tax_category="food",
            variants=[Variant(sku="SENCHA-100G", weight_grams=100)],
        )
    )
    store.catalog.add_product(
        Product(
            id="kettle",
            name="Cast-iron kettle",
            variants=[Variant(sku="KETTLE-BLACK", options={"colour": "black"}, weight_grams=1400)],
        )
    )
    store.catalog.add_product(
        Product(
            id="guide",
            name="Tea guide (e-book)",
            variants=[Variant(sku="GUIDE-EPUB", digital=True)],
        )
    )
    for product_id in ("sencha", "kettle", "guide"):
        store.catalog.publish(product_id)
    store.catalog.add_price_list("eu", "EUR")
    for sku, amount in (("SENCHA-100G", "8.90"), ("KETTLE-BLACK", "64.00"), ("GUIDE-EPUB", "9.99")):
        store.catalog.set_price("eu", sku, Money(amount, "EUR"))
    store.catalog.add_tax_zone(
        TaxZone(
            id="de",
            country="DE",
            rates=[
                TaxRate(name="MwSt 19%", rate="0.19", category="standard"),
                TaxRate(name="MwSt 7%", rate="0.07", category="food"),
            ],
        )
    )
    store.catalog.add_promotion(
        Promotion(
            id="tea-week",
            name="Tea week",
            target=ItemFilter(category_ids="tea"),
            benefit=PercentOffLines(10),
            requires_coupon=True,
        )
    )
    store.catalog.add_coupon(Coupon(code="TEAWEEK", promotion_id="tea-week", usage_limit=100))
    store.inventory.add_location(StockLocation(id="berlin", name="Berlin warehouse", priority=1))
    store.inventory.add_location(
        StockLocation(id="hamburg", name="Hamburg shop", kind="shop", priority=2)
    )
    store.inventory.receive("SENCHA-100G", "berlin", 40)
    store.inventory.receive("KETTLE-BLACK", "hamburg", 3)
    store.catalog.add_shipping_zone(ShippingZone(id="de", countries=["DE"]))
    store.catalog.add_delivery_method(
        DeliveryMethod(
            id="dhl",
            name="DHL Paket",
            zone_ids=["de"],
            rules={"EUR": FreeOver(15_000, ByWeight([(2_000, 490), (31_500, 690)]))},
            min_days=2,
            max_days=4,
        )
    )
    store.catalog.add_delivery_method(
        DeliveryMethod(
            id="express", name="Express", zone_ids=["de"], rules={"EUR": Flat(1_290)}, max_days=1
        )
    )
    print("catalogue: 3 products, EUR prices, German VAT (7% on food), coupon TEAWEEK")
    print("stock: sencha in Berlin, kettles in the Hamburg shop; the e-book needs none")
    print("shipping: DHL by weight (free from 150.00), express at a flat 12.90")


def show_stock(store: Store) -> None:
    for sku in ("SENCHA-100G", "KETTLE-BLACK"):
        for item in store.inventory.stock(sku):
            print(
                f"  {sku:<13} {item.location_id:<8} on hand {item.on_hand:>3}"
                f"  reserved {item.reserved:>2}  available {item.available:>3}"
            )


def show(breakdown: PriceBreakdown) -> None:
    def row(label: str, amount: Money) -> None:
        print(f"  {label:<36} {money(amount):>10}")

    for line in breakdown.lines:
        row(f"{line.quantity} x {line.sku}", line.subtotal)
        for adjustment in line.adjustments:
            row(f"    {adjustment.promotion_name} ({adjustment.reason})", -adjustment.amount)
    row("shipping", breakdown.shipping_total)
    row("total", breakdown.grand_total)
    for tax in breakdown.taxes:
        row(f"    incl. {tax.name}", tax.amount)


def follow(store: Store, clock: FixedClock, order_id: str) -> None:
    """Move the clock half a day at a time and ask the carrier for news, until every
    parcel has arrived."""
    told: set[str] = set()
    for _ in range(10):
        clock.advance(STEP)
        store.fulfilment.refresh_tracking()
        for shipment in store.fulfilment.for_order(order_id):
            for event in shipment.timeline:
                if event.id not in told:
                    told.add(event.id)
                    print(
                        f"  {event.at:%d.%m. %H:%M}  {shipment.location_id:<8}"
                        f" {event.status.value:<17} {event.detail}"
                    )
        order = store.orders.get(order_id)
        if order.fulfilment_status.value == "delivered":
            break
    print(f"  order: {order.fulfilment_status.value}")


def lifecycle(store: Store, clock: FixedClock) -> None:
    step("A customer fills a cart")
    store.customers.register(CUSTOMER, {"email": EMAIL, "name": "Zoë Ünal"})
    cart = store.carts.create("EUR", customer_id=CUSTOMER)
    store.carts.add(cart.token, "SENCHA-100G", 2)
    store.carts.add(cart.token, "KETTLE-BLACK")
    store.carts.add(cart.token, "GUIDE-EPUB")
    store.carts.apply_coupon(cart.token, " teaweek ")
    show(store.carts.price(cart.token))

    step("Checkout")
    store.checkout.set_contact(cart.token, {"email": EMAIL})
    store.checkout.set_shipping_address(
        cart.token,
        {
            "name": "Zoë Ünal",
            "line1": "Weinbergsweg 12",
            "city": "Berlin",
            "postal_code": "10119",
            "country": "DE",
        },
    )
    rates = store.checkout.rates(cart.token)
    for rate in rates:
        price = money(from_minor_units(rate.price_units, rate.currency))
        print(
            f"  {rate.name:<10} {price:>10}  arrives {rate.earliest:%d.%m.} to {rate.latest:%d.%m.}"
        )
    store.checkout.choose_shipping(cart.token, {"method_id": rates[0].method_id})
    print(f"  chosen: {rates[0].name}, the cheapest")
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    summary = store.checkout.summary(cart.token)
    print("  missing:", ", ".join(summary.missing) or "nothing")
    show(summary.breakdown)

    step("Stock before the order")
    show_stock(store)

    step("Place the order (and, by accident, once more with the same key)")
    order = store.checkout.place_order(cart.token, idempotency_key="checkout-7f3a")
    again = store.checkout.place_order(cart.token, idempotency_key="checkout-7f3a")
    print(f"  order {order.number}: {order.status.value}, payment {order.payment_status.value}")
    print(f"  the retry returned the same order: {again.id == order.id}")
    print(f"  gateway calls: {len(store.gateway('test').calls)}")  # type: ignore[attr-defined]
    print("  stock reserved at checkout, before the payment was asked for:")
    show_stock(store)

    step("Capture the payment")
    payment = store.payments.capture(order.id)
    print(f"  captured {money(payment.captured)}")
    order = store.orders.get(order.id)
    print(f"  order: {order.status.value}, payment {order.payment_status.value}")

    step("Ship from both locations")
    for shipment in store.fulfilment.create_shipments(order.id):
        labelled = store.fulfilment.buy_label(shipment.id, carrier="sandbox")
        store.fulfilment.dispatch(shipment.id)
        units = ", ".join(f"{n} x {sku}" for sku, n in shipment.lines.items())
        print(f"  from {shipment.location_id:<8} {units:<16} tracking {labelled.tracking_number}")
    show_stock(store)
    print(f"  order: {store.orders.get(order.id).fulfilment_status.value}")

    step("Follow the parcels as the clock moves")
    follow(store, clock, order.id)

    step("Where is my order? (order number and e-mail, no sign-in)")
    tracking = store.orders.where_is_my_order(order.number, EMAIL)
    for parcel in tracking.shipments:
        print(f"  {parcel.carrier} {parcel.tracking_number}: {parcel.status.value}")

    step("The kettle does not fit the stove: a return")
    asked = store.returns.request(
        order.id, [{"sku": "KETTLE-BLACK", "quantity": 1, "reason": "does_not_fit"}]
    )
    store.returns.approve(asked.id)
    labelled = store.returns.issue_label(asked.id, carrier="sandbox")
    print(f"  return label {labelled.label.tracking_number if labelled.label else ''}")
    store.returns.receive(asked.id)
    store.returns.inspect(asked.id, [{"sku": "KETTLE-BLACK", "quantity": 1, "outcome": "restock"}])
    print("  received, inspected, and back on the Hamburg shelf it left from:")
    show_stock(store)
    plan = store.returns.plan_refund(asked.id)
    print(
        f"  the kettle was paid {money(from_minor_units(plan.lines[0].paid_units, order.currency))}"
    )
    fee = money(from_minor_units(plan.fee_units, order.currency))
    print(f"  less the 5% restocking fee and the return label: {fee}")
    refund = store.returns.refund(asked.id, to_store_credit=Money("10.00", "EUR"))
    print(
        f"  refunded {money(from_minor_units(refund.plan.total_units, order.currency))}:"
        f" {money(from_minor_units(refund.to_gateway_units, order.currency))} to the card,"
        f" {money(from_minor_units(refund.store_credit_units, order.currency))} as store credit"
    )
    store.returns.close(asked.id)
    order = store.orders.get(order.id)
    print(f"  order: {order.status.value}, payment {order.payment_status.value}")

    step("A support case")
    case = store.support.open_case(
        "Dented lid",
        "The tea tin arrived with a dented lid.",
        customer_id=CUSTOMER,
        order_id=order.id,
        channel="email",
    )
    print(
        f"  case {case.id[:14]}...: {case.status.value}, reply due {case.response_due:%d.%m. %H:%M}"
    )
    store.support.reply(case.id, "Sorry about that: we have added 2.00 to your store credit.")
    store.support.refund(case.id, Money("2.00", "EUR"), reason="dented lid", to_store_credit=True)
    case = store.support.set_status(case.id, "resolved")
    for action in case.actions:
        print(f"  {action.kind.value}: {action.detail}")
    print(f"  case: {case.status.value}")

    step("The payment's ledger")
    payment = store.payments.for_order(order.id)
    for transaction in payment.transactions:
        amount = money(from_minor_units(transaction.amount_units, order.currency))
        print(f"  {transaction.kind.value:<10} {transaction.status.value:<10} {amount:>10}")
    print(f"  captured {money(payment.captured)}, refunded {money(payment.refunded)}")

    step("The store-credit ledger")
    account = store.credit.store_credit(CUSTOMER, "EUR")
    for entry in account.entries:
        amount = money(from_minor_units(entry.units, order.currency))
        print(f"  {entry.at:%d.%m. %H:%M} {entry.reason.value:<8} {amount:>10}")
    print(f"  balance {money(account.balance)}")

    step("The stock ledger of the kettle in Hamburg")
    for movement in store.inventory.movements("KETTLE-BLACK", "hamburg"):
        print(f"  {movement.at:%d.%m. %H:%M} {movement.kind.value:<8} {movement.quantity:>3}")

    step("The invoice")
    invoice = store.invoicing.invoice_for(order.id)
    if invoice is not None:
        print(indent(store.invoicing.render(invoice.id, "text")))
    for note in store.invoicing.credit_notes_for(order.id):
        step(f"Credit note {note.number}")
        print(indent(store.invoicing.render(note.id, "text")))

    step("History")
    for entry in store.orders.get(order.id).history:
        print(f"  {entry.at:%d.%m. %H:%M} {entry.actor:<9} {entry.action:<19} {entry.detail}")


@contextmanager
def opened(url: str | None, clock: FixedClock, mail: Path) -> Iterator[Store]:
    config: dict[str, Any] = {
        **CONFIG,
        "notifier": {"plugin": "file", "options": {"directory": str(mail)}},
    }
    if url is not None:
        with Store.open(url, config=config, clock=clock) as store:
            yield store
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "shop.db"
        with Store.open(f"sqlite:///{path}", config=config, clock=clock) as store:
            print(f"storage: SQLite file {path.name} in a temporary folder")
            yield store


def main(url: str | None = None, mail: str | None = None) -> None:
    """Run the lifecycle; the e-mails go to ``mail`` (a new folder by default)."""
    folder = Path(mail) if mail is not None else Path(tempfile.mkdtemp(prefix="commercekit-mail-"))
    clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
    with opened(url, clock, folder) as store:
        seed(store)
        lifecycle(store, clock)
    step("E-mails to the customer")
    for sent in sorted(folder.glob("*.eml")):
        print(f"  {sent.name}")
    print(f"  written to {folder}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
