"""The storage port's promises, checked on every storage: memory, SQLite, PostgreSQL.

A storage that passes these can stand in for any other: aggregates come back as they
went in, unique keys are unique, a unit of work is all or nothing, and two writers of
one aggregate never both win.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest

from commercekit.domain.cart import Cart
from commercekit.domain.catalog import (
    Category,
    CategoryTree,
    Dimensions,
    Product,
    PublicationState,
    Variant,
)
from commercekit.domain.checkout import Address, Checkout, ShippingChoice
from commercekit.domain.errors import DuplicateSku, InvalidInput, NotFound
from commercekit.domain.events import OrderCancelled, OrderPaid, OrderPlaced, PaymentAuthorized
from commercekit.domain.money import Money
from commercekit.domain.orders import (
    FulfilmentStatus,
    HistoryEntry,
    Order,
    OrderLine,
    OrderPaymentStatus,
    OrderStatus,
    OrderTotals,
)
from commercekit.domain.payments import (
    GatewayEvent,
    Payment,
    PaymentStatus,
    TransactionKind,
    TransactionStatus,
)
from commercekit.domain.pricing import PriceList, SalePrice, TaxRate, TaxZone, VolumeTier
from commercekit.domain.promotions import (
    AmountOffOrder,
    BuyXGetY,
    Coupon,
    CouponUsage,
    CustomerGroups,
    FixedPrice,
    FreeShipping,
    ItemFilter,
    MinimumQuantity,
    MinimumSubtotal,
    PercentOffLines,
    PercentOffOrder,
    Promotion,
    Stacking,
    TieredAmountOff,
)
from commercekit.errors import (
    ConcurrencyConflict,
)
from commercekit.ports.storage import (
    Storage,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

ADA = Address(
    name="Ada Lovelace",
    line1="12 St James's Square",
    line2="Flat 3",
    city="London",
    region="Greater London",
    postal_code="SW1Y 4JH",
    country="GB",
    phone="+44 20 7946 0000",
    company="Analytical Engines Ltd",
)
ADA_OFFICE = attrs.evolve(ADA, line1="1 Babbage Row", line2="", company="")
EXPRESS = ShippingChoice(
    method_id="express", name="Express (1 day)", price_units=990, currency="GBP"
)


def state(aggregate: object) -> dict[str, Any]:
    """Everything an aggregate holds, except events not yet committed."""
    return attrs.asdict(aggregate, filter=lambda attribute, _: attribute.name != "events")


def price_list_state(price_list: PriceList) -> tuple[object, ...]:
    return (
        price_list.id,
        price_list.currency,
        price_list.channel,
        price_list.customer_group,
        price_list.entries(),
    )


# --- builders ----------------------------------------------------------------------


def a_cart(cart_id: str = "cart-retro", *, token: str | None = None, lines: int = 2) -> Cart:
    cart = Cart(
        id=cart_id,
        currency="GBP",
        token=token or f"token-{cart_id}",
        customer_id="ada",
        max_quantity_per_line=50,
    )
    skus = ["RETRO-CLOCK", "LAVA-LAMP", "BEAN-BAG", *(f"POSTER-{n}" for n in range(lines))]
    for n, sku in enumerate(skus[:lines]):
        cart.add(sku, n + 1)
    cart.apply_coupon("welcome10")
    cart.apply_coupon("FREESHIP")
    return cart


def an_order(
    order_id: str = "order-1001",
    *,
    key: str = "idem-1001",
    token: str | None = None,
    placed_at: datetime = NOW,
    lines: int = 2,
) -> Order:
    order_lines = tuple(
        OrderLine(
            sku=f"RETRO-CLOCK-{n}",
            product_id="retro-clock",
            name=f"Retro clock, edition {n}",
            quantity=n + 1,
            unit_price_units=4999,
            subtotal_units=4999 * (n + 1),
            discount_units=500,
            tax_units=100 + n,
            total_units=4999 * (n + 1) - 500 + 100 + n,
            requires_shipping=n % 2 == 0,
            track_stock=n % 3 != 0,
            adjustments=(("black-friday", 300), ("welcome", 200)),
            taxes=(("VAT", "0.2", 100 + n),),
        )
        for n in range(lines)
    )
    order = Order(
        id=order_id,
        token=token or f"token-{order_id}",
        cart_id=f"cart-{order_id}",
        customer_id="ada",
        email="ada@example.com",
        currency="GBP",
        lines=order_lines,
        totals=OrderTotals(
            subtotal_units=sum(line.subtotal_units for line in order_lines),
            discount_units=500 * lines + 990,
            shipping_units=990,
            shipping_discount_units=990,
            shipping_tax_units=0,
            tax_units=sum(line.tax_units for line in order_lines),
            grand_total_units=sum(line.total_units for line in order_lines),
            prices_include_tax=True,
        ),
        shipping_address=ADA,
        billing_address=ADA_OFFICE,
        shipping=EXPRESS,
        coupon_codes=("WELCOME10", "FREESHIP"),
        promotion_ids=("black-friday", "welcome"),
        payment_gateway="test",
        idempotency_key=key,
        fingerprint=f"sha256:{order_id}",
        placed_at=placed_at,
        history=[HistoryEntry(at=placed_at, actor="customer", action="placed", detail="total")],
    )
    order.events.append(
        OrderPlaced(
            occurred_at=placed_at,
            order_id=order_id,
            currency="GBP",
            total_units=order.totals.grand_total_units,
            email="ada@example.com",
        )
    )
    return order


def a_payment(payment_id: str = "pay-1001", *, order_id: str = "order-1001") -> Payment:
    return Payment(
        id=payment_id, order_id=order_id, gateway="test", currency="GBP", amount_units=9998
    )


def gateway_event(
    transaction_id: str,
    kind: TransactionKind,
    amount_units: int,
    *,
    status: TransactionStatus = TransactionStatus.SUCCEEDED,
    reference: str = "gw-ref-1001",
    minutes: int = 0,
) -> GatewayEvent:
    return GatewayEvent(
        transaction_id=transaction_id,
        payment_reference=reference,
        kind=kind,
        status=status,
        amount_units=amount_units,
        currency="GBP",
        occurred_at=NOW + timedelta(minutes=minutes),
        detail=f"{kind.value} {status.value}",
    )


def a_product(
    product_id: str = "retro-clock", *, skus: tuple[str, ...] = ("RETRO-CLOCK",)
) -> Product:
    return Product(
        id=product_id,
        name="Retro Clock, Crème Brûlée edition",
        description="Ticks loudly. Glows in the dark.",
        category_ids=("home", "clocks"),
        attributes={"material": "walnut", "colour": "amber"},
        tax_category="reduced",
        state=PublicationState.ACTIVE,
        available_from=NOW - timedelta(days=30),
        available_until=NOW + timedelta(days=365),
        variants=[
            Variant(
                sku=sku,
                product_id=product_id,
                options={"size": size},
                weight_grams=1200 + n,
                dimensions=Dimensions(length_mm=300, width_mm=200, height_mm=100 + n),
                tax_category="standard" if n else None,
                track_stock=n % 2 == 0,
                digital=False,
                # Later sizes come as a bundle with a stand, to round-trip components.
                components={"CLOCK-STAND": n} if n else {},
            )
            for n, (sku, size) in enumerate(zip(skus, ("S", "M", "L", "XL"), strict=False))
        ],
    )


def home_and_clocks(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.catalog.add_category(Category(id="home", name="Home"))
        uow.catalog.add_category(Category(id="clocks", name="Clocks", parent_id="home"))
        uow.commit()


def gbp(amount: str) -> Money:
    return Money(amount, "GBP")


def eur(amount: str) -> Money:
    return Money(amount, "EUR")


# --- carts -------------------------------------------------------------------------


def test_a_cart_comes_back_with_its_lines_coupons_and_owner(storage: Storage) -> None:
    cart = a_cart(lines=3)
    with storage.unit_of_work() as uow:
        uow.carts.add(cart)
        uow.commit()

    with storage.unit_of_work() as uow:
        loaded = uow.carts.get("cart-retro")

    assert state(loaded) == state(cart)
    assert list(loaded.items()) == [("RETRO-CLOCK", 1), ("LAVA-LAMP", 2), ("BEAN-BAG", 3)]
    assert loaded.coupon_codes == ("WELCOME10", "FREESHIP")
    assert loaded.owned_by("token-cart-retro")


def test_an_empty_cart_comes_back_empty(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.carts.add(Cart(id="cart-empty", currency="EUR", token="token-empty"))
        uow.commit()

    with storage.unit_of_work() as uow:
        loaded = uow.carts.get("cart-empty")

    assert loaded.is_empty
    assert loaded.coupon_codes == ()
    assert loaded.customer_id is None


def test_an_unknown_cart_is_not_found(storage: Storage) -> None:
    with storage.unit_of_work() as uow, pytest.raises(NotFound):
        uow.carts.get("cart-nowhere")


def test_a_cart_is_found_by_its_token_and_an_empty_token_finds_nothing(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.carts.add(a_cart("cart-retro", token="secret-retro"))
        uow.carts.add(a_cart("cart-lava", token="secret-lava"))
        uow.commit()

    with storage.unit_of_work() as uow:
        found = uow.carts.find_by_token("secret-lava")
        assert found is not None
        assert found.id == "cart-lava"
        assert uow.carts.find_by_token("secret-unknown") is None
        assert uow.carts.find_by_token("") is None


def test_a_changed_cart_keeps_its_new_lines_and_coupons(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.carts.add(a_cart(lines=3))
        uow.commit()

    with storage.unit_of_work() as uow:
        cart = uow.carts.get("cart-retro")
        cart.remove("RETRO-CLOCK")
        cart.change_quantity("BEAN-BAG", 7)
        cart.add("DISCO-BALL", 2)
        cart.remove_coupon("WELCOME10")
        uow.carts.save(cart)
        uow.commit()

    with storage.unit_of_work() as uow:
        loaded = uow.carts.get("cart-retro")

    assert list(loaded.items()) == [("LAVA-LAMP", 2), ("BEAN-BAG", 7), ("DISCO-BALL", 2)]
    assert loaded.coupon_codes == ("FREESHIP",)
    assert loaded.version == cart.version


def test_a_removed_cart_is_gone(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.carts.add(a_cart())
        uow.commit()

    with storage.unit_of_work() as uow:
        uow.carts.remove(uow.carts.get("cart-retro"))
        uow.commit()

    with storage.unit_of_work() as uow:
        with pytest.raises(NotFound):
            uow.carts.get("cart-retro")
        assert uow.carts.find_by_token("token-cart-retro") is None


def test_a_cart_with_a_taken_token_conflicts(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.carts.add(a_cart("cart-retro", token="shared-token"))
        uow.commit()

    with storage.unit_of_work() as uow:
        uow.carts.add(a_cart("cart-lava", token="shared-token"))
        with pytest.raises(ConcurrencyConflict):
            uow.commit()

    with storage.unit_of_work() as uow, pytest.raises(NotFound):
        uow.carts.get("cart-lava")


def test_a_cart_with_a_taken_id_conflicts(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.carts.add(a_cart("cart-retro", token="first"))
        uow.commit()

    with storage.unit_of_work() as uow:
        uow.carts.add(a_cart("cart-retro", token="second"))
        with pytest.raises(ConcurrencyConflict):
            uow.commit()


def test_two_writers_of_one_cart_the_second_conflicts_and_writes_nothing(
    storage: Storage,
) -> None:
    with storage.unit_of_work() as uow:
        uow.carts.add(a_cart())
        uow.commit()

    first, second = storage.unit_of_work(), storage.unit_of_work()
    with first, second:
        mine, theirs = first.carts.get("cart-retro"), second.carts.get("cart-retro")
        mine.add("DISCO-BALL")
        theirs.add("LAVA-LAMP", 5)
        first.carts.save(mine)
        second.carts.save(theirs)
        second.carts.add(a_cart("cart-other", token="other"))
        second.orders.add(an_order())
        first.commit()
        with pytest.raises(ConcurrencyConflict):
            second.commit()

    with storage.unit_of_work() as uow:
        assert list(uow.carts.get("cart-retro").items()) == [
            ("RETRO-CLOCK", 1),
            ("LAVA-LAMP", 2),
            ("DISCO-BALL", 1),
        ]
        with pytest.raises(NotFound):
            uow.carts.get("cart-other")
        assert uow.orders.find_by_idempotency_key("idem-1001") is None
    assert storage.undelivered_events() == []


def test_removing_a_cart_changed_meanwhile_conflicts(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.carts.add(a_cart())
        uow.commit()

    with storage.unit_of_work() as remover:
        stale = remover.carts.get("cart-retro")
        with storage.unit_of_work() as changer:
            cart = changer.carts.get("cart-retro")
            cart.add("DISCO-BALL")
            changer.carts.save(cart)
            changer.commit()
        remover.carts.remove(stale)
        with pytest.raises(ConcurrencyConflict):
            remover.commit()

    with storage.unit_of_work() as uow:
        assert uow.carts.get("cart-retro").quantity_of("DISCO-BALL") == 1


def test_a_stale_copy_conflicts_even_after_a_fresh_reload(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.carts.add(a_cart())
        uow.commit()

    with storage.unit_of_work() as uow:
        stale = uow.carts.get("cart-retro")
        with storage.unit_of_work() as other:
            cart = other.carts.get("cart-retro")
            cart.add("DISCO-BALL")
            other.carts.save(cart)
            other.commit()
        uow.carts.get("cart-retro")  # a fresh copy, at the new version
        stale.add("LAVA-LAMP")
        uow.carts.save(stale)
        with pytest.raises(ConcurrencyConflict):
            uow.commit()

    with storage.unit_of_work() as uow:
        assert uow.carts.get("cart-retro").quantity_of("DISCO-BALL") == 1


def test_concurrent_writers_each_land_exactly_once_when_they_retry(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.carts.add(Cart(id="cart-busy", currency="GBP", token="busy", max_quantity_per_line=999))
        uow.commit()
    failures: list[BaseException] = []

    def add_one_clock_five_times() -> None:
        try:
            for _ in range(5):
                while True:
                    with storage.unit_of_work() as uow:
                        cart = uow.carts.get("cart-busy")
                        cart.add("RETRO-CLOCK")
                        uow.carts.save(cart)
                        try:
                            uow.commit()
                            break
                        except ConcurrencyConflict:
                            continue
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=add_one_clock_five_times) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    with storage.unit_of_work() as uow:
        assert uow.carts.get("cart-busy").quantity_of("RETRO-CLOCK") == 20


# --- checkouts ---------------------------------------------------------------------


def test_a_checkout_comes_back_with_addresses_shipping_and_payment_method(
    storage: Storage,
) -> None:
    checkout = Checkout(
        id="cart-retro",
        email="ada@example.com",
        shipping_address=ADA,
        billing_address=ADA_OFFICE,
        shipping=EXPRESS,
        payment_gateway="test",
        payment_token="tok_visa_4242",
        quoted_total_units=10988,
        version=3,
    )
    with storage.unit_of_work() as uow:
        uow.checkouts.save(checkout)
        uow.commit()

    with storage.unit_of_work() as uow:
        loaded = uow.checkouts.find("cart-retro")
        assert uow.checkouts.find("cart-unknown") is None

    assert loaded is not None
    assert state(loaded) == state(checkout)
    assert loaded.billing == ADA_OFFICE


def test_a_checkout_without_details_comes_back_without_them(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.checkouts.save(Checkout(id="cart-bare"))
        uow.commit()

    with storage.unit_of_work() as uow:
        loaded = uow.checkouts.find("cart-bare")

    assert loaded is not None
    assert state(loaded) == state(Checkout(id="cart-bare"))


def test_a_changed_checkout_keeps_its_changes(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.checkouts.save(Checkout(id="cart-retro", email="ada@example.com"))
        uow.commit()

    with storage.unit_of_work() as uow:
        checkout = uow.checkouts.find("cart-retro")
        assert checkout is not None
        checkout.shipping_address = ADA
        checkout.shipping = EXPRESS
        checkout.version += 1
        uow.checkouts.save(checkout)
        uow.commit()

    with storage.unit_of_work() as uow:
        loaded = uow.checkouts.find("cart-retro")
    assert loaded is not None
    assert (loaded.shipping_address, loaded.shipping, loaded.version) == (ADA, EXPRESS, 1)


def test_two_writers_of_one_checkout_the_second_conflicts(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.checkouts.save(Checkout(id="cart-retro"))
        uow.commit()

    first, second = storage.unit_of_work(), storage.unit_of_work()
    with first, second:
        mine, theirs = first.checkouts.find("cart-retro"), second.checkouts.find("cart-retro")
        assert mine is not None
        assert theirs is not None
        mine.email, theirs.email = "ada@example.com", "charles@example.com"
        mine.version += 1
        theirs.version += 1
        first.checkouts.save(mine)
        second.checkouts.save(theirs)
        first.commit()
        with pytest.raises(ConcurrencyConflict):
            second.commit()

    with storage.unit_of_work() as uow:
        loaded = uow.checkouts.find("cart-retro")
    assert loaded is not None
    assert loaded.email == "ada@example.com"


# --- orders ------------------------------------------------------------------------


def test_an_order_comes_back_with_lines_totals_addresses_and_history(storage: Storage) -> None:
    order = an_order(lines=3)
    with storage.unit_of_work() as uow:
        uow.orders.add(order)
        uow.commit()

    with storage.unit_of_work() as uow:
        loaded = uow.orders.get("order-1001")

    assert state(loaded) == state(order)
    assert loaded.lines == order.lines
    assert loaded.totals == order.totals
    assert loaded.history == order.history
    assert loaded.events == []


def test_an_order_keeps_its_statuses_and_history_through_its_life(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.orders.add(an_order(lines=3))  # the middle line does not ship
        uow.commit()

    steps = [
        lambda o: o.payment_changed(PaymentStatus.AUTHORIZED, at=NOW, actor="gateway"),
        lambda o: o.follow_shipments({"RETRO-CLOCK-2": 1}, {}, at=NOW, actor="warehouse"),
        lambda o: o.follow_shipments(
            {"RETRO-CLOCK-0": 1, "RETRO-CLOCK-2": 3}, {}, at=NOW, actor="warehouse"
        ),
        lambda o: o.payment_changed(PaymentStatus.CAPTURED, at=NOW, actor="gateway"),
        lambda o: o.complete(at=NOW + timedelta(days=2), actor="staff:grace"),
    ]
    for step in steps:
        with storage.unit_of_work() as uow:
            order = uow.orders.get("order-1001")
            step(order)
            uow.orders.save(order)
            uow.commit()

    with storage.unit_of_work() as uow:
        loaded = uow.orders.get("order-1001")

    assert state(loaded) == state(order)
    assert (loaded.status, loaded.payment_status, loaded.fulfilment_status) == (
        OrderStatus.COMPLETED,
        OrderPaymentStatus.CAPTURED,
        FulfilmentStatus.SHIPPED,
    )
    assert loaded.fulfilled == {"RETRO-CLOCK-0": 1, "RETRO-CLOCK-2": 3}
    assert [entry.action for entry in loaded.history] == [
        "placed",
        "payment",
        "opened",
        "partially_shipped",
        "shipped",
        "payment",
        "completed",
    ]


def test_an_unknown_order_is_not_found(storage: Storage) -> None:
    with storage.unit_of_work() as uow, pytest.raises(NotFound):
        uow.orders.get("order-nowhere")


def test_an_order_is_found_by_its_token_and_an_empty_token_finds_nothing(
    storage: Storage,
) -> None:
    with storage.unit_of_work() as uow:
        uow.orders.add(an_order("order-1", key="k1", token="secret-1"))
        uow.orders.add(an_order("order-2", key="k2", token="secret-2"))
        uow.commit()

    with storage.unit_of_work() as uow:
        found = uow.orders.find_by_token("secret-2")
        assert found is not None
        assert found.id == "order-2"
        assert uow.orders.find_by_token("secret-3") is None
        assert uow.orders.find_by_token("") is None


def test_an_order_is_found_by_its_idempotency_key(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.orders.add(an_order("order-1", key="retry-me"))
        uow.commit()

    with storage.unit_of_work() as uow:
        found = uow.orders.find_by_idempotency_key("retry-me")
        assert found is not None
        assert found.id == "order-1"
        assert uow.orders.find_by_idempotency_key("never-sent") is None


def test_an_order_with_a_taken_idempotency_key_conflicts_and_writes_nothing(
    storage: Storage,
) -> None:
    with storage.unit_of_work() as uow:
        uow.orders.add(an_order("order-1", key="double-click"))
        uow.commit()
    before = storage.undelivered_events()

    with storage.unit_of_work() as uow:
        uow.carts.add(a_cart("cart-after"))
        uow.orders.add(an_order("order-2", key="double-click"))
        with pytest.raises(ConcurrencyConflict):
            uow.commit()

    with storage.unit_of_work() as uow:
        with pytest.raises(NotFound):
            uow.orders.get("order-2")
        with pytest.raises(NotFound):
            uow.carts.get("cart-after")
    assert storage.undelivered_events() == before


def test_an_order_with_a_taken_token_conflicts(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.orders.add(an_order("order-1", key="k1", token="same"))
        uow.commit()

    with storage.unit_of_work() as uow:
        uow.orders.add(an_order("order-2", key="k2", token="same"))
        with pytest.raises(ConcurrencyConflict):
            uow.commit()


def test_orders_pending_payment_come_oldest_first_before_the_cutoff(storage: Storage) -> None:
    placed = {f"order-{n}": NOW + timedelta(minutes=n) for n in range(1, 6)}
    with storage.unit_of_work() as uow:
        for order_id in ("order-3", "order-1", "order-5", "order-2", "order-4"):
            order = an_order(order_id, key=f"key-{order_id}", placed_at=placed[order_id])
            if order_id == "order-2":
                order.payment_changed(PaymentStatus.AUTHORIZED, at=NOW, actor="gateway")
            if order_id == "order-3":
                order.cancel("changed my mind", at=NOW, actor="customer")
            uow.orders.add(order)
        uow.commit()

    with storage.unit_of_work() as uow:
        pending = uow.orders.pending_payment(placed_before=placed["order-5"])
        first = uow.orders.pending_payment(placed_before=placed["order-5"], limit=1)
        none = uow.orders.pending_payment(placed_before=placed["order-1"])

    assert [order.id for order in pending] == ["order-1", "order-4"]
    assert [order.id for order in first] == ["order-1"]
    assert none == []
    assert all(len(order.lines) == 2 and order.history for order in pending)


def authorized_payment(order: Order) -> Payment:
    """A payment of the order's total, authorized in full."""
    payment = Payment(
        id=f"pay-{order.id}",
        order_id=order.id,
        gateway="test",
        currency=order.currency,
        amount_units=order.totals.grand_total_units,
    )
    payment.apply(
        GatewayEvent(
            transaction_id=f"auth-{order.id}",
            payment_reference=f"ref-{order.id}",
            kind=TransactionKind.AUTHORIZE,
            status=TransactionStatus.SUCCEEDED,
            amount_units=payment.amount_units,
            currency=payment.currency,
            occurred_at=NOW,
        )
    )
    return payment


def test_one_cart_makes_one_live_order_and_a_cancelled_one_frees_it(storage: Storage) -> None:
    first = an_order("order-1", key="key-1")
    second = attrs.evolve(an_order("order-2", key="key-2"), cart_id=first.cart_id)
    with storage.unit_of_work() as uow:
        uow.orders.add(first)
        uow.commit()

    with storage.unit_of_work() as uow:
        uow.orders.add(second)
        with pytest.raises(ConcurrencyConflict):
            uow.commit()
    with storage.unit_of_work() as uow:
        both = [
            attrs.evolve(an_order(f"order-{n}", key=f"key-{n}"), cart_id="cart-x") for n in (5, 6)
        ]
        for order in both:
            uow.orders.add(order)
        with pytest.raises(ConcurrencyConflict):
            uow.commit()

    with storage.unit_of_work() as uow:
        found = uow.orders.live_for_cart(first.cart_id)
        assert found is not None
        found.cancel("payment declined", at=NOW, actor="gateway")
        uow.orders.save(found)
        uow.commit()
    with storage.unit_of_work() as uow:
        uow.orders.add(attrs.evolve(an_order("order-3", key="key-3"), cart_id=first.cart_id))
        uow.commit()
    with storage.unit_of_work() as uow:
        live = uow.orders.live_for_cart(first.cart_id)
    assert live is not None
    assert live.id == "order-3"


def test_cancelled_orders_still_holding_money_are_found_oldest_first(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        for n, paid in ((3, True), (1, True), (2, False)):
            order = an_order(f"order-{n}", key=f"key-{n}", placed_at=NOW + timedelta(minutes=n))
            order.cancel("reservation expired", at=NOW, actor="system")
            if paid:  # the payment went through after the cancellation
                order.follow(authorized_payment(order), at=NOW, actor="gateway")
            uow.orders.add(order)
        open_order = an_order("order-4", key="key-4")
        open_order.follow(authorized_payment(open_order), at=NOW, actor="gateway")
        uow.orders.add(open_order)
        uow.commit()

    with storage.unit_of_work() as uow:
        holding = uow.orders.cancelled_holding_money()
        first = uow.orders.cancelled_holding_money(limit=1)

    assert [order.id for order in holding] == ["order-1", "order-3"]
    assert [order.id for order in first] == ["order-1"]


def test_a_time_in_another_zone_comes_back_as_the_same_instant(storage: Storage) -> None:
    berlin = timezone(timedelta(hours=1))
    placed_at = datetime(2026, 11, 27, 13, 0, 0, 123456, tzinfo=berlin)
    with storage.unit_of_work() as uow:
        uow.orders.add(an_order(placed_at=placed_at))
        uow.commit()

    with storage.unit_of_work() as uow:
        loaded = uow.orders.get("order-1001")

    assert loaded.placed_at == placed_at
    assert loaded.placed_at.utcoffset() is not None


# --- payments ----------------------------------------------------------------------


def test_a_payment_comes_back_with_its_ledger(storage: Storage) -> None:
    payment = a_payment()
    payment.apply(
        gateway_event(
            "tx-declined", TransactionKind.AUTHORIZE, 9998, status=TransactionStatus.FAILED
        )
    )
    payment.apply(gateway_event("tx-auth", TransactionKind.AUTHORIZE, 9998, minutes=1))
    payment.apply(gateway_event("tx-capture", TransactionKind.CAPTURE, 9998, minutes=2))
    payment.apply(gateway_event("tx-refund", TransactionKind.REFUND, 1999, minutes=3))
    with storage.unit_of_work() as uow:
        uow.payments.add(payment)
        uow.commit()

    with storage.unit_of_work() as uow:
        loaded = uow.payments.get("pay-1001")

    assert state(loaded) == state(payment)
    assert loaded.status is PaymentStatus.PARTIALLY_REFUNDED
    assert (loaded.captured_units, loaded.refunded_units) == (9998, 1999)
    assert loaded.reference == "gw-ref-1001"


def test_new_ledger_entries_are_kept_after_a_reload(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        payment = a_payment()
        payment.apply(gateway_event("tx-auth", TransactionKind.AUTHORIZE, 9998))
        uow.payments.add(payment)
        uow.commit()

    for n, amount in enumerate((5000, 4998), start=1):
        with storage.unit_of_work() as uow:
            payment = uow.payments.get("pay-1001")
            payment.apply(gateway_event(f"tx-capture-{n}", TransactionKind.CAPTURE, amount))
            uow.payments.save(payment)
            uow.commit()

    with storage.unit_of_work() as uow:
        loaded = uow.payments.get("pay-1001")
    assert [t.id for t in loaded.transactions] == ["tx-auth", "tx-capture-1", "tx-capture-2"]
    assert loaded.status is PaymentStatus.CAPTURED


def test_a_payment_is_found_by_its_order_and_its_gateway_reference(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        payment = a_payment()
        payment.apply(gateway_event("tx-auth", TransactionKind.AUTHORIZE, 9998, reference="pi_42"))
        uow.payments.add(payment)
        uow.payments.add(a_payment("pay-other", order_id="order-other"))
        uow.commit()

    with storage.unit_of_work() as uow:
        by_order = uow.payments.for_order("order-1001")
        by_reference = uow.payments.find_by_reference("test", "pi_42")
        assert uow.payments.find_by_reference("other-gateway", "pi_42") is None
        assert uow.payments.for_order("order-unknown") is None
        with pytest.raises(NotFound):
            uow.payments.get("pay-unknown")

    assert by_order is not None
    assert by_order.id == "pay-1001"
    assert by_reference is not None
    assert by_reference.id == "pay-1001"


def test_unpaid_orders_are_counted_by_customer_or_by_the_emails_one_spelling(
    storage: Storage,
) -> None:
    with storage.unit_of_work() as uow:
        for n, (customer, key) in enumerate(
            [("ada", "ada@example.com"), (None, "äda@example.com"), (None, "äda@example.com")]
        ):
            order = attrs.evolve(
                an_order(f"order-{n}", key=f"idem-{n}"), customer_id=customer, email_key=key
            )
            uow.orders.add(order)
        paid = attrs.evolve(an_order("order-paid", key="idem-paid"), email_key="äda@example.com")
        paid.status = OrderStatus.OPEN
        uow.orders.add(paid)
        uow.commit()

    with storage.unit_of_work() as uow:
        count = uow.orders.unpaid_count
        assert count(customer_id="ada", email_key=None) == 1
        assert count(customer_id=None, email_key="äda@example.com") == 2
        assert count(customer_id="ada", email_key="äda@example.com") == 3
        assert count(customer_id=None, email_key="ÄDA@example.com") == 0  # keys are exact
        assert count(customer_id=None, email_key=None) == 0


def test_payments_busy_too_long_come_longest_waiting_first(storage: Storage) -> None:
    # Ids and waiting times in opposite orders, so that an order by id shows.
    waits = {"pay-a": 10, "pay-b": 30, "pay-c": 20, "pay-d": 1}
    with storage.unit_of_work() as uow:
        for payment_id, minutes in waits.items():
            payment = a_payment(payment_id, order_id=f"order-{payment_id}")
            payment.apply(
                gateway_event(
                    f"tx-{payment_id}",
                    TransactionKind.AUTHORIZE,
                    9998,
                    reference=f"ref-{payment_id}",
                )
            )
            payment.begin(
                TransactionKind.CAPTURE, 100, id="op-1", at=NOW - timedelta(minutes=minutes)
            )
            uow.payments.add(payment)
        uow.payments.add(a_payment("pay-idle", order_id="order-idle"))
        uow.commit()

    with storage.unit_of_work() as uow:
        cutoff = NOW - timedelta(minutes=5)
        assert [p.id for p in uow.payments.busy_before(cutoff)] == ["pay-b", "pay-c", "pay-a"]
        assert [p.id for p in uow.payments.busy_before(cutoff, limit=1)] == ["pay-b"]
        (oldest,) = uow.payments.busy_before(cutoff, limit=1)
        assert oldest.busy_since == NOW - timedelta(minutes=30)


def test_a_payment_with_a_taken_gateway_reference_conflicts(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        payment = a_payment("pay-1")
        payment.apply(gateway_event("tx-1", TransactionKind.AUTHORIZE, 9998, reference="pi_same"))
        uow.payments.add(payment)
        uow.payments.add(a_payment("pay-unreferenced-1"))
        uow.commit()

    with storage.unit_of_work() as uow:
        uow.payments.add(a_payment("pay-unreferenced-2"))  # no reference yet: no clash
        uow.commit()

    with storage.unit_of_work() as uow:
        payment = a_payment("pay-2", order_id="order-2")
        payment.apply(gateway_event("tx-2", TransactionKind.AUTHORIZE, 9998, reference="pi_same"))
        uow.payments.add(payment)
        with pytest.raises(ConcurrencyConflict):
            uow.commit()


# --- catalogue ---------------------------------------------------------------------


def test_a_product_comes_back_with_its_variants_and_categories(storage: Storage) -> None:
    home_and_clocks(storage)
    product = a_product(skus=("RETRO-CLOCK-S", "RETRO-CLOCK-M", "RETRO-CLOCK-L"))
    plain = Product(id="bean-bag", name="Bean Bag", variants=[Variant(sku="BEAN-BAG")])
    with storage.unit_of_work() as uow:
        uow.catalog.add_product(product)
        uow.catalog.add_product(plain)
        uow.commit()

    with storage.unit_of_work() as uow:
        loaded = uow.catalog.product("retro-clock")
        loaded_plain = uow.catalog.product("bean-bag")
        with pytest.raises(NotFound):
            uow.catalog.product("cuckoo-clock")

    assert state(loaded) == state(product)
    assert loaded.slug == "retro-clock-creme-brulee-edition"
    assert [v.product_id for v in loaded_plain.variants] == ["bean-bag"]
    assert (loaded_plain.state, loaded_plain.available_from) == (PublicationState.DRAFT, None)


def test_categories_come_back_each_after_its_parent(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.catalog.add_category(Category(id="z-home", name="Home"))
        uow.catalog.add_category(Category(id="m-living", name="Living", parent_id="z-home"))
        uow.catalog.add_category(Category(id="a-clocks", name="Clocks", parent_id="m-living"))
        uow.catalog.add_category(Category(id="b-garden", name="Garden", slug="outdoors"))
        uow.commit()

    with storage.unit_of_work() as uow:
        loaded = uow.catalog.categories()

    tree = CategoryTree(loaded)  # refuses a child before its parent
    assert tree.ancestors("a-clocks") == ["m-living", "z-home"]
    assert {c.id: (c.name, c.slug, c.parent_id) for c in loaded} == {
        "z-home": ("Home", "home", None),
        "m-living": ("Living", "living", "z-home"),
        "a-clocks": ("Clocks", "clocks", "m-living"),
        "b-garden": ("Garden", "outdoors", None),
    }


def test_a_category_with_a_taken_id_or_a_missing_parent_is_refused(storage: Storage) -> None:
    home_and_clocks(storage)
    with storage.unit_of_work() as uow:
        with pytest.raises(InvalidInput):
            uow.catalog.add_category(Category(id="home", name="Home again"))
        with pytest.raises(NotFound):
            uow.catalog.add_category(Category(id="cuckoo", name="Cuckoo", parent_id="nowhere"))


def test_a_sku_another_product_has_is_refused(storage: Storage) -> None:
    home_and_clocks(storage)
    with storage.unit_of_work() as uow:
        uow.catalog.add_product(a_product())
        uow.commit()

    with storage.unit_of_work() as uow:
        with pytest.raises(DuplicateSku):
            uow.catalog.add_product(a_product("clock-copy", skus=("DISCO-BALL", "RETRO-CLOCK")))
        with pytest.raises(DuplicateSku):
            uow.catalog.add_product(a_product("twins", skus=("TWIN", "TWIN")))
        with pytest.raises(InvalidInput):
            uow.catalog.add_product(a_product(skus=("OTHER-SKU",)))
        uow.catalog.add_product(a_product("disco-ball", skus=("DISCO-BALL",)))
        uow.commit()

    with storage.unit_of_work() as uow:
        assert [p.id for p in uow.catalog.products_for_skus(["DISCO-BALL"])] == ["disco-ball"]


def test_a_product_in_an_unknown_category_is_refused(storage: Storage) -> None:
    with storage.unit_of_work() as uow, pytest.raises(NotFound):
        uow.catalog.add_product(a_product())


def test_products_for_skus_gives_each_owner_once_with_all_its_variants(storage: Storage) -> None:
    home_and_clocks(storage)
    with storage.unit_of_work() as uow:
        uow.catalog.add_product(a_product(skus=("RETRO-CLOCK-S", "RETRO-CLOCK-M")))
        uow.catalog.add_product(a_product("lava-lamp", skus=("LAVA-LAMP",)))
        uow.catalog.add_product(a_product("bean-bag", skus=("BEAN-BAG",)))
        uow.commit()

    with storage.unit_of_work() as uow:
        found = uow.catalog.products_for_skus(
            ["RETRO-CLOCK-S", "RETRO-CLOCK-M", "LAVA-LAMP", "NOPE"]
        )
        nothing = uow.catalog.products_for_skus([])

    assert sorted(p.id for p in found) == ["lava-lamp", "retro-clock"]
    clock = next(p for p in found if p.id == "retro-clock")
    assert [v.sku for v in clock.variants] == ["RETRO-CLOCK-S", "RETRO-CLOCK-M"]
    assert nothing == []


def test_a_saved_product_keeps_its_new_state_fields_and_variants(storage: Storage) -> None:
    home_and_clocks(storage)
    with storage.unit_of_work() as uow:
        uow.catalog.add_product(a_product(skus=("RETRO-CLOCK-S", "RETRO-CLOCK-M")))
        uow.commit()

    with storage.unit_of_work() as uow:
        product = uow.catalog.product("retro-clock")
        product.archive()
        product.attributes = {"material": "oak"}
        product.category_ids = ("clocks",)
        product.variants = [product.variants[1]]
        uow.catalog.save_product(product)
        uow.commit()

    with storage.unit_of_work() as uow:
        loaded = uow.catalog.product("retro-clock")
        with pytest.raises(NotFound):
            uow.catalog.save_product(a_product("cuckoo-clock", skus=("CUCKOO",)))
        assert uow.catalog.products_for_skus(["RETRO-CLOCK-S"]) == []

    assert state(loaded) == state(product)
    assert loaded.state is PublicationState.ARCHIVED


def test_a_variant_added_by_saving_its_product_belongs_to_that_product(storage: Storage) -> None:
    home_and_clocks(storage)
    with storage.unit_of_work() as uow:
        uow.catalog.add_product(a_product(skus=("RETRO-CLOCK-S",)))
        uow.commit()

    with storage.unit_of_work() as uow:
        product = uow.catalog.product("retro-clock")
        product.variants.append(Variant(sku="RETRO-CLOCK-XL", options={"size": "XL"}))
        uow.catalog.save_product(product)
        uow.commit()

    with storage.unit_of_work() as uow:
        (loaded,) = uow.catalog.products_for_skus(["RETRO-CLOCK-XL"])
    assert [(v.sku, v.product_id) for v in loaded.variants] == [
        ("RETRO-CLOCK-S", "retro-clock"),
        ("RETRO-CLOCK-XL", "retro-clock"),
    ]


def a_price_list() -> PriceList:
    price_list = PriceList("gb-retail", "GBP", channel="web", customer_group="members")
    price_list.set_price("RETRO-CLOCK", gbp("49.99"))
    price_list.set_price(
        "LAVA-LAMP",
        gbp("30.00"),
        tiers=[
            VolumeTier(min_quantity=3, unit_price=gbp("27.50")),
            VolumeTier(min_quantity=10, unit_price=gbp("25.00")),
        ],
        sale=SalePrice(unit_price=gbp("19.99"), starts_at=NOW, ends_at=NOW + timedelta(days=3)),
    )
    price_list.set_price("BEAN-BAG", gbp("0"), sale=SalePrice(unit_price=gbp("0")))
    return price_list


def test_a_price_list_comes_back_with_tiers_and_sales(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.catalog.add_price_list(a_price_list())
        uow.commit()

    with storage.unit_of_work() as uow:
        loaded = uow.catalog.price_list("gb-retail")
        with pytest.raises(NotFound):
            uow.catalog.price_list("nowhere")
        with pytest.raises(InvalidInput):
            uow.catalog.add_price_list(PriceList("gb-retail", "GBP"))

    assert price_list_state(loaded) == price_list_state(a_price_list())
    assert loaded.unit_units("LAVA-LAMP", 10, NOW + timedelta(days=4)) == 2500
    assert loaded.unit_units("LAVA-LAMP", 1, NOW + timedelta(days=1)) == 1999


def test_price_lists_in_a_currency_hold_only_the_prices_asked_for(storage: Storage) -> None:
    general = PriceList("gb-general", "GBP")
    general.set_price("RETRO-CLOCK", gbp("55.00"))
    euro = PriceList("eu-retail", "EUR")
    euro.set_price("RETRO-CLOCK", eur("59.00"))
    with storage.unit_of_work() as uow:
        for price_list in (a_price_list(), general, euro):
            uow.catalog.add_price_list(price_list)
        uow.commit()

    with storage.unit_of_work() as uow:
        lists = uow.catalog.price_lists("GBP", ["RETRO-CLOCK", "LAVA-LAMP", "NOPE"])
        yen = uow.catalog.price_lists("JPY", ["RETRO-CLOCK"])

    by_id = {price_list.id: price_list for price_list in lists}
    assert sorted(by_id) == ["gb-general", "gb-retail"]
    assert sorted(by_id["gb-retail"].entries()) == ["LAVA-LAMP", "RETRO-CLOCK"]
    assert by_id["gb-retail"].entries()["LAVA-LAMP"] == a_price_list().entries()["LAVA-LAMP"]
    assert (by_id["gb-retail"].channel, by_id["gb-retail"].customer_group) == ("web", "members")
    assert sorted(by_id["gb-general"].entries()) == ["RETRO-CLOCK"]
    assert yen == []


def test_saving_a_price_list_replaces_its_prices(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.catalog.add_price_list(a_price_list())
        uow.commit()

    replacement = PriceList("gb-retail", "GBP", channel="shop")
    replacement.set_price("DISCO-BALL", gbp("12.00"))
    with storage.unit_of_work() as uow:
        uow.catalog.save_price_list(replacement)
        with pytest.raises(NotFound):
            uow.catalog.save_price_list(PriceList("nowhere", "GBP"))
        uow.commit()

    with storage.unit_of_work() as uow:
        loaded = uow.catalog.price_list("gb-retail")
    assert price_list_state(loaded) == price_list_state(replacement)


def test_tax_zones_come_back_with_their_rates(storage: Storage) -> None:
    zones = [
        TaxZone(
            id="us-ca-la",
            country="US",
            region="CA",
            postal_prefix="900",
            rates=(
                TaxRate(name="State", rate=Decimal("0.0725")),
                TaxRate(name="County", rate=Decimal("0.0225")),
                TaxRate(name="Food", rate=Decimal("0"), category="food"),
            ),
        ),
        TaxZone(id="gb", country="GB", rates=(TaxRate(name="VAT", rate=Decimal("0.20")),)),
    ]
    with storage.unit_of_work() as uow:
        for zone in zones:
            uow.catalog.add_tax_zone(zone)
        uow.commit()

    with storage.unit_of_work() as uow:
        loaded = uow.catalog.tax_zones()
        with pytest.raises(InvalidInput):
            uow.catalog.add_tax_zone(TaxZone(id="gb", country="GB"))

    assert sorted(loaded, key=lambda zone: zone.id) == sorted(zones, key=lambda zone: zone.id)


def every_kind_of_promotion() -> list[Promotion]:
    clocks = ItemFilter(
        skus={"RETRO-CLOCK"},
        product_ids={"retro-clock", "cuckoo-clock"},
        category_ids={"clocks"},
        exclude_skus={"RETRO-CLOCK-GOLD"},
        exclude_product_ids={"atomic-clock"},
        exclude_category_ids={"clearance"},
    )
    benefits = [
        PercentOffLines(Decimal("12.5")),
        PercentOffOrder(Decimal("10")),
        AmountOffOrder([gbp("5.00"), eur("6.00")]),
        FixedPrice(gbp("9.99")),
        BuyXGetY(buy=2, get=1, percent=Decimal("50")),
        FreeShipping(),
        TieredAmountOff(
            ((gbp("100"), gbp("10")), (gbp("200"), gbp("25")), (eur("100"), eur("12")))
        ),
    ]
    conditions = (
        MinimumSubtotal([gbp("50.00"), eur("60.00")]),
        MinimumSubtotal(gbp("20.00"), items=ItemFilter(skus={"LAVA-LAMP"})),
        MinimumQuantity(3, items=ItemFilter(category_ids={"lamps"})),
        MinimumQuantity(2),
        CustomerGroups({"members", "staff"}),
    )
    return [
        Promotion(
            id=f"promo-{n}-{type(benefit).__name__.lower()}",
            name=f"Black Friday {n}",
            benefit=benefit,
            target=clocks if n % 2 else ItemFilter(),
            conditions=conditions if n % 2 == 0 else (),
            starts_at=NOW if n % 3 == 0 else None,
            ends_at=NOW + timedelta(days=4) if n % 3 == 0 else None,
            priority=n * 10,
            stacking=Stacking.EXCLUSIVE if n == 4 else Stacking.COMBINABLE,
            requires_coupon=n == 5,
        )
        for n, benefit in enumerate(benefits)
    ]


def test_promotions_of_every_benefit_and_condition_come_back_equal(storage: Storage) -> None:
    promotions = every_kind_of_promotion()
    with storage.unit_of_work() as uow:
        for promotion in promotions:
            uow.catalog.add_promotion(promotion)
        uow.commit()

    with storage.unit_of_work() as uow:
        loaded = uow.catalog.promotions()
        with pytest.raises(InvalidInput):
            uow.catalog.add_promotion(promotions[0])

    assert sorted(loaded, key=lambda p: p.id) == sorted(promotions, key=lambda p: p.id)


def test_coupons_come_back_by_code_and_unknown_codes_are_left_out(storage: Storage) -> None:
    coupons = [
        Coupon(
            code="welcome10",
            promotion_id="promo-welcome",
            starts_at=NOW,
            ends_at=NOW + timedelta(days=30),
            usage_limit=1000,
            usage_limit_per_customer=1,
        ),
        Coupon(code="FREESHIP", promotion_id="promo-freeship"),
    ]
    with storage.unit_of_work() as uow:
        for coupon in coupons:
            uow.catalog.add_coupon(coupon)
        uow.commit()

    with storage.unit_of_work() as uow:
        loaded = uow.catalog.coupons(["FREESHIP", "NOPE", "WELCOME10"])
        with pytest.raises(InvalidInput):
            uow.catalog.add_coupon(Coupon(code="Welcome10 ", promotion_id="promo-other"))

    assert loaded == [coupons[1], coupons[0]]


def test_coupon_uses_are_counted_in_all_and_per_customer_and_released_with_their_order(
    storage: Storage,
) -> None:
    with storage.unit_of_work() as uow:
        uow.catalog.record_coupon_use("WELCOME10", "ada", "order-1")
        uow.catalog.record_coupon_use("WELCOME10", "ada", "order-2")
        uow.catalog.record_coupon_use("WELCOME10", "grace", "order-3")
        uow.catalog.record_coupon_use("FREESHIP", "ada", "order-3")
        uow.catalog.record_coupon_use("WELCOME10", None, "order-4")
        uow.commit()

    with storage.unit_of_work() as uow:
        for_ada = uow.catalog.coupon_usage(["WELCOME10", "FREESHIP", "UNUSED"], "ada")
        anonymous = uow.catalog.coupon_usage(["WELCOME10"], None)
        uow.catalog.release_coupon_uses("order-3")
        uow.commit()

    with storage.unit_of_work() as uow:
        after_release = uow.catalog.coupon_usage(["WELCOME10", "FREESHIP"], "grace")

    assert dict(for_ada) == {
        "WELCOME10": CouponUsage(total=4, by_customer=2),
        "FREESHIP": CouponUsage(total=1, by_customer=1),
        "UNUSED": CouponUsage(total=0, by_customer=0),
    }
    assert dict(anonymous) == {"WELCOME10": CouponUsage(total=4, by_customer=0)}
    assert dict(after_release) == {
        "WELCOME10": CouponUsage(total=3, by_customer=0),
        "FREESHIP": CouponUsage(total=0, by_customer=0),
    }


def test_recording_an_orders_coupon_use_twice_counts_it_once(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.catalog.record_coupon_use("WELCOME10", "ada", "order-1")
        uow.commit()
    with storage.unit_of_work() as uow:
        uow.catalog.record_coupon_use("WELCOME10", "ada", "order-1")
        uow.commit()

    with storage.unit_of_work() as uow:
        usage = uow.catalog.coupon_usage(["WELCOME10"], "ada")
    assert usage["WELCOME10"] == CouponUsage(total=1, by_customer=1)


# --- units of work -----------------------------------------------------------------


def test_rollback_discards_every_change(storage: Storage) -> None:
    home_and_clocks(storage)
    with storage.unit_of_work() as uow:
        uow.carts.add(a_cart())
        uow.commit()

    with storage.unit_of_work() as uow:
        cart = uow.carts.get("cart-retro")
        cart.add("DISCO-BALL")
        uow.carts.save(cart)
        uow.orders.add(an_order())
        uow.checkouts.save(Checkout(id="cart-retro", email="ada@example.com"))
        uow.catalog.add_product(a_product())
        uow.catalog.record_coupon_use("WELCOME10", "ada", "order-1001")
        assert uow.carts.get("cart-retro").quantity_of("DISCO-BALL") == 1  # written, for now
        uow.rollback()
        uow.commit()  # nothing left to commit

    assert_untouched(storage)


def test_leaving_the_block_without_commit_discards_every_change(storage: Storage) -> None:
    home_and_clocks(storage)
    with storage.unit_of_work() as uow:
        uow.carts.add(a_cart())
        uow.commit()

    def place_order_then_fail() -> None:
        with storage.unit_of_work() as uow:
            cart = uow.carts.get("cart-retro")
            cart.add("DISCO-BALL")
            uow.carts.save(cart)
            uow.orders.add(an_order())
            uow.catalog.add_product(a_product())
            uow.catalog.record_coupon_use("WELCOME10", "ada", "order-1001")
            assert uow.orders.find_by_idempotency_key("idem-1001") is not None
            raise RuntimeError("payment gateway down")

    with pytest.raises(RuntimeError, match="payment gateway down"):
        place_order_then_fail()

    with storage.unit_of_work() as uow:
        uow.carts.add(a_cart("cart-forgotten", token="forgotten"))  # never committed

    assert_untouched(storage)
    with storage.unit_of_work() as uow, pytest.raises(NotFound):
        uow.carts.get("cart-forgotten")


def assert_untouched(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        assert uow.carts.get("cart-retro").quantity_of("DISCO-BALL") == 0
        assert uow.orders.find_by_idempotency_key("idem-1001") is None
        assert uow.checkouts.find("cart-retro") is None
        assert uow.catalog.products_for_skus(["RETRO-CLOCK"]) == []
        assert uow.catalog.coupon_usage(["WELCOME10"], "ada")["WELCOME10"] == CouponUsage()
    assert storage.undelivered_events() == []


def test_commit_returns_the_events_in_save_order_and_the_outbox_keeps_them_until_delivered(
    storage: Storage,
) -> None:
    order = an_order()
    payment = a_payment()
    payment.apply(gateway_event("tx-auth", TransactionKind.AUTHORIZE, 9998))
    with storage.unit_of_work() as uow:
        uow.payments.add(payment)
        uow.orders.add(order)
        uow.carts.add(a_cart())
        committed = uow.commit()

    assert [type(event) for event in committed] == [PaymentAuthorized, OrderPlaced]
    assert order.events == []
    assert payment.events == []
    outbox = storage.undelivered_events()
    assert [event for _, event in outbox] == committed
    assert outbox[0][0] < outbox[1][0]

    with storage.unit_of_work() as uow:
        loaded = uow.orders.get("order-1001")
        loaded.payment_changed(PaymentStatus.AUTHORIZED, at=NOW, actor="gateway")
        loaded.cancel("out of stock", at=NOW, actor="staff:grace")
        uow.orders.save(loaded)
        later = uow.commit()
    assert [type(event) for event in later] == [OrderPaid, OrderCancelled]

    storage.mark_delivered([outbox[0][0], 999_999], at=NOW)
    remaining = storage.undelivered_events()
    assert [event for _, event in remaining] == [committed[1], *later]
    assert [event for _, event in storage.undelivered_events(limit=2)] == [committed[1], later[0]]
    storage.mark_delivered([event_id for event_id, _ in remaining], at=NOW)
    storage.mark_delivered([], at=NOW)
    assert storage.undelivered_events() == []


def test_a_unit_of_work_reads_its_own_writes(storage: Storage) -> None:
    home_and_clocks(storage)
    with storage.unit_of_work() as uow:
        cart = a_cart(token="fresh-token")
        uow.carts.add(cart)
        found = uow.carts.find_by_token("fresh-token")
        assert found is not None
        assert list(found.items()) == list(cart.items())
        assert uow.carts.get("cart-retro").version == cart.version

        uow.orders.add(an_order(key="idem-new"))
        assert uow.orders.find_by_idempotency_key("idem-new") is not None
        assert [o.id for o in uow.orders.pending_payment(NOW + timedelta(seconds=1))] == [
            "order-1001"
        ]

        uow.payments.add(a_payment())
        assert uow.payments.for_order("order-1001") is not None

        uow.checkouts.save(Checkout(id="cart-retro", email="ada@example.com"))
        found_checkout = uow.checkouts.find("cart-retro")
        assert found_checkout is not None
        assert found_checkout.email == "ada@example.com"

        uow.catalog.add_product(a_product())
        assert [p.id for p in uow.catalog.products_for_skus(["RETRO-CLOCK"])] == ["retro-clock"]
        uow.catalog.add_price_list(a_price_list())
        assert [pl.id for pl in uow.catalog.price_lists("GBP", ["RETRO-CLOCK"])] == ["gb-retail"]
        uow.catalog.record_coupon_use("WELCOME10", "ada", "order-1001")
        assert uow.catalog.coupon_usage(["WELCOME10"], "ada")["WELCOME10"].total == 1

        uow.carts.remove(uow.carts.get("cart-retro"))
        with pytest.raises(NotFound):
            uow.carts.get("cart-retro")
        uow.commit()

    with storage.unit_of_work() as uow:
        assert uow.orders.find_by_idempotency_key("idem-new") is not None
        assert uow.carts.find_by_token("fresh-token") is None


def test_an_aggregate_changed_after_save_is_written_as_it_is_at_commit(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        cart = a_cart()
        uow.carts.add(cart)
        uow.carts.find_by_token("anything")  # a read between save and commit
        cart.add("DISCO-BALL", 3)
        uow.commit()

    with storage.unit_of_work() as uow:
        assert uow.carts.get("cart-retro").quantity_of("DISCO-BALL") == 3


def test_a_unit_of_work_can_be_used_again_after_commit(storage: Storage) -> None:
    with storage.unit_of_work() as uow:
        uow.carts.add(a_cart("cart-1", token="t1"))
        uow.commit()
        uow.carts.add(a_cart("cart-2", token="t2"))
        uow.commit()

    with storage.unit_of_work() as uow:
        assert uow.carts.get("cart-1").id == "cart-1"
        assert uow.carts.get("cart-2").id == "cart-2"


# --- shipping zones and delivery methods --------------------------------------------


def test_shipping_zones_and_delivery_methods_come_back_as_stored(storage: Storage) -> None:
    from commercekit.domain.errors import AlreadyExists
    from commercekit.domain.shipping import (
        ByValue,
        ByWeight,
        DeliveryMethod,
        Flat,
        FreeOver,
        ShippingZone,
    )

    zones = [
        ShippingZone(id="berlin", countries=["DE"], regions=["BE"], postal_patterns=["10*"]),
        ShippingZone(id="eu", countries=["FR", "AT", "DE"]),
    ]
    methods = [
        DeliveryMethod(
            id="dhl",
            name="DHL Paket",
            zone_ids=["eu", "berlin"],
            rules={
                "EUR": FreeOver(5_000, ByWeight([(2_000, 490), (31_500, 990)])),
                "GBP": ByValue([(0, 590), (10_000, 0)]),
            },
            location_ids=["main"],
            min_days=2,
            max_days=4,
        ),
        DeliveryMethod(id="pickup", name="Pickup", rules={"EUR": Flat(0)}, pickup_location="shop"),
    ]
    with storage.unit_of_work() as uow:
        for zone in zones:
            uow.catalog.add_shipping_zone(zone)
        for method in methods:
            uow.catalog.add_delivery_method(method)
        uow.commit()
    with storage.unit_of_work() as uow:
        assert uow.catalog.shipping_zones() == zones
        assert uow.catalog.delivery_methods() == methods
        with pytest.raises(AlreadyExists):
            uow.catalog.add_shipping_zone(ShippingZone(id="eu", countries=["IT"]))
        with pytest.raises(AlreadyExists):
            uow.catalog.add_delivery_method(methods[1])
