"""The storage backend suite: what every :class:`~commercekit.ports.storage.Storage`
promises the services that run on it.

Turn it on for a backend with a subclass pytest collects::

    class TestMyStorage(StorageConformance):
        def make_storage(self) -> Storage:
            return MyStorage.open("mydb://localhost/ck_tests", empty=True)

:meth:`~StorageConformance.make_storage` is called once per rule and must hand back
a storage with nothing in it; :meth:`~StorageConformance.close_storage` is called
after the rule. The rules are the ones a store's correctness rests on: aggregates
come back as they went in, unique keys are unique, a unit of work is all or nothing,
of two writers of one aggregate the second loses, stock never goes below its floor
however many take it at once, numbers run without gaps, and one relay at a time holds
the outbox. Races run :attr:`~StorageConformance.threads` threads, bounded in count
and time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from typing import Any, ClassVar, Final

import attrs

from commercekit.domain.cart import Cart
from commercekit.domain.catalog import Category, Product, PublicationState, Variant
from commercekit.domain.checkout import Address, ShippingChoice
from commercekit.domain.errors import (
    ConcurrencyConflict,
    InsufficientStock,
    NotFound,
)
from commercekit.domain.events import OrderPaid, OrderPlaced, PaymentAuthorized
from commercekit.domain.inventory import MovementKind, StockChange, StockLocation, StockMovement
from commercekit.domain.orders import HistoryEntry, Order, OrderLine, OrderStatus, OrderTotals
from commercekit.domain.payments import (
    GatewayEvent,
    Payment,
    TransactionKind,
    TransactionStatus,
)
from commercekit.domain.sequences import NumberSequence
from commercekit.ports.storage import Storage, UnitOfWork
from commercekit.testing.conformance import TYPED_ERRORS, rule, typed

__all__ = ["RULES", "StorageConformance"]

ROUND_TRIP = "an aggregate comes back as it went in"
NOT_FOUND = "an unknown id is NotFound, and an unknown key finds nothing"
UNIQUE = "a taken id, token or idempotency key conflicts and writes nothing"
ALL_OR_NOTHING = "a unit of work that does not commit leaves nothing behind"
OWN_WRITES = "a unit of work reads its own writes before it commits"
SECOND_LOSES = "of two writers of one aggregate, the second conflicts and writes nothing"
RETRIED = "writers racing on one aggregate each land exactly once when they retry"
OUTBOX = "commit returns its events in save order, and the outbox keeps them until delivered"
STOCK_FLOOR = "stock never goes below its floor, however many take it at once"
GAPLESS = "numbers taken at once run without gaps or repeats"
ONE_RELAY = "one relay at a time holds a lease, and only its holder marks events relayed"
ORDER_SEARCH = "orders are found by their number's start, their email and status, newest first"

#: Every rule the suite checks, as its failures name them.
RULES: Final = (
    ROUND_TRIP,
    NOT_FOUND,
    UNIQUE,
    ALL_OR_NOTHING,
    OWN_WRITES,
    SECOND_LOSES,
    RETRIED,
    OUTBOX,
    STOCK_FLOOR,
    GAPLESS,
    ONE_RELAY,
    ORDER_SEARCH,
    TYPED_ERRORS,
)

NOW: Final = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
_LEASE: Final = timedelta(seconds=30)
_HOME: Final = Address(
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


def state(aggregate: Any) -> dict[str, Any]:
    """Everything an aggregate holds, except the events it has not committed."""
    return attrs.asdict(aggregate, filter=lambda attribute, _: attribute.name != "events")


def a_cart(cart_id: str = "cart-1", *, token: str = "") -> Cart:
    """A cart with three lines, two coupons and an owner."""
    cart = Cart(id=cart_id, currency="GBP", token=token or f"token-{cart_id}", customer_id="ada")
    for quantity, sku in enumerate(("RETRO-CLOCK", "LAVA-LAMP", "Crème-Brûlée-Torch"), 1):
        cart.add(sku, quantity)
    cart.apply_coupon("welcome10")
    cart.apply_coupon("FREESHIP")
    return cart


def an_order(order_id: str = "order-1", *, key: str = "", token: str = "") -> Order:
    """A placed order with two lines, both addresses, shipping and a history."""
    lines = tuple(
        OrderLine(
            sku=f"RETRO-CLOCK-{n}",
            product_id="retro-clock",
            name=f"Retro clock, édition {n}",
            quantity=n + 1,
            unit_price_units=4999,
            subtotal_units=4999 * (n + 1),
            discount_units=500,
            tax_units=100 + n,
            total_units=4999 * (n + 1) - 500 + 100 + n,
            requires_shipping=n == 0,
            adjustments=(("black-friday", 300), ("welcome", 200)),
            taxes=(("VAT", "0.2", 100 + n),),
        )
        for n in range(2)
    )
    order = Order(
        id=order_id,
        token=token or f"token-{order_id}",
        cart_id=f"cart-of-{order_id}",
        customer_id="ada",
        email="ada@example.com",
        currency="GBP",
        lines=lines,
        totals=OrderTotals(
            subtotal_units=sum(line.subtotal_units for line in lines),
            discount_units=1000,
            shipping_units=990,
            shipping_discount_units=0,
            shipping_tax_units=0,
            tax_units=sum(line.tax_units for line in lines),
            grand_total_units=sum(line.total_units for line in lines) + 990,
            prices_include_tax=True,
        ),
        shipping_address=_HOME,
        billing_address=attrs.evolve(_HOME, line1="1 Babbage Row", line2="", company=""),
        shipping=ShippingChoice(
            method_id="express", name="Express", price_units=990, currency="GBP"
        ),
        coupon_codes=("WELCOME10",),
        promotion_ids=("black-friday", "welcome"),
        payment_gateway="test",
        idempotency_key=key or f"key-{order_id}",
        fingerprint=f"sha256:{order_id}",
        placed_at=NOW,
        history=[HistoryEntry(at=NOW, actor="customer", action="placed", detail="total")],
    )
    order.events.append(
        OrderPlaced(
            occurred_at=NOW,
            order_id=order_id,
            currency="GBP",
            total_units=order.totals.grand_total_units,
            email="ada@example.com",
        )
    )
    return order


def a_payment(payment_id: str = "pay-1", *, order_id: str = "order-1") -> Payment:
    """A payment with an authorization and a partial capture on its ledger."""
    payment = Payment(
        id=payment_id, order_id=order_id, gateway="test", currency="GBP", amount_units=9998
    )
    for n, (kind, units) in enumerate(
        ((TransactionKind.AUTHORIZE, 9998), (TransactionKind.CAPTURE, 4000))
    ):
        payment.apply(
            GatewayEvent(
                transaction_id=f"tx-{payment_id}-{n}",
                payment_reference=f"gw-{payment_id}",
                kind=kind,
                status=TransactionStatus.SUCCEEDED,
                amount_units=units,
                currency="GBP",
                occurred_at=NOW + timedelta(minutes=n),
            )
        )
    return payment


def a_product() -> Product:
    """A product in two categories with two variants."""
    return Product(
        id="retro-clock",
        name="Retro Clock, Crème Brûlée edition",
        description="Ticks loudly.",
        category_ids=("home", "clocks"),
        attributes={"material": "walnut"},
        state=PublicationState.ACTIVE,
        variants=[
            Variant(sku=sku, product_id="retro-clock", options={"size": size}, weight_grams=1200)
            for sku, size in (("CLOCK-S", "S"), ("CLOCK-M", "M"))
        ],
    )


def _movement(movement_id: str, quantity: int) -> StockMovement:
    return StockMovement(
        id=movement_id,
        sku="RETRO-CLOCK",
        location_id="london",
        kind=MovementKind.RECEIPT if quantity > 0 else MovementKind.SALE,
        quantity=quantity,
        at=NOW,
        reference=movement_id,
    )


def _apply(uow: UnitOfWork, *, changes: list[StockChange]) -> None:
    uow.inventory.apply(changes)


class StorageConformance:
    """Subclass it and override :meth:`make_storage` (and :meth:`close_storage`)."""

    #: How many threads each race runs.
    threads: ClassVar[int] = 4
    #: How long a race may take before it fails, in seconds.
    race_seconds: ClassVar[float] = 60.0

    def make_storage(self) -> Storage:
        """A storage with nothing in it, new or emptied for this rule."""
        raise NotImplementedError("override make_storage() to return an empty storage")

    def close_storage(self, storage: Storage) -> None:
        """Called after each rule with the storage it used; nothing by default."""

    # --- helpers --------------------------------------------------------------------

    @contextmanager
    def _storage(self) -> Iterator[Storage]:
        storage = self.make_storage()
        try:
            yield storage
        finally:
            self.close_storage(storage)

    @staticmethod
    def _commit(storage: Storage, work: Callable[[UnitOfWork], object]) -> None:
        def run() -> None:
            with storage.unit_of_work() as uow:
                work(uow)
                uow.commit()

        typed(run)

    @staticmethod
    def _read(storage: Storage, read: Callable[[UnitOfWork], Any]) -> Any:
        def run() -> Any:
            with storage.unit_of_work() as uow:
                return read(uow)

        return typed(run)

    def _race(self, worker: Callable[[int], None]) -> list[BaseException]:
        """Run ``worker(n)`` in :attr:`threads` threads at once; what they raised."""
        failures: list[BaseException] = []
        start = threading.Barrier(self.threads)

        def run(n: int) -> None:
            try:
                start.wait(timeout=self.race_seconds)
                worker(n)
            except BaseException as error:  # reported by the caller
                failures.append(error)

        threads = [
            threading.Thread(target=run, args=(n,), daemon=True) for n in range(self.threads)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=self.race_seconds)
        stuck = sum(thread.is_alive() for thread in threads)
        rule("a race ends in time", not stuck, f"{stuck} threads still running")
        return failures

    @staticmethod
    def _retrying(attempt: Callable[[], None], tries: int = 300) -> None:
        for _ in range(tries):
            try:
                attempt()
            except ConcurrencyConflict:
                continue
            return
        raise AssertionError(f"rule broken: {RETRIED}: still conflicting after {tries} tries")

    # --- aggregates come back -------------------------------------------------------

    def test_aggregates_come_back_as_they_went_in(self) -> None:
        with self._storage() as storage:
            cart, order, payment, product = a_cart(), an_order(), a_payment(), a_product()

            def write(uow: UnitOfWork) -> None:
                uow.catalog.add_category(Category(id="home", name="Home"))
                uow.catalog.add_category(Category(id="clocks", name="Clocks", parent_id="home"))
                uow.catalog.add_product(product)
                uow.carts.add(cart)
                uow.orders.add(order)
                uow.payments.add(payment)

            self._commit(storage, write)
            read = self._read(
                storage,
                lambda uow: (
                    uow.carts.get(cart.id),
                    uow.orders.get(order.id),
                    uow.payments.get(payment.id),
                    uow.catalog.products_for_skus(["CLOCK-M"]),
                ),
            )
            for written, came_back in zip((cart, order, payment), read, strict=False):
                name = type(written).__name__
                rule(ROUND_TRIP, state(came_back) == state(written), f"the {name} differs")
            products = read[3]
            rule(ROUND_TRIP, len(products) == 1, f"products for CLOCK-M: {products}")
            rule(ROUND_TRIP, state(products[0]) == state(product), "the product differs")

    def test_a_time_in_another_zone_comes_back_as_the_same_instant(self) -> None:
        with self._storage() as storage:
            tokyo = timezone(timedelta(hours=9))
            order = an_order()
            order.placed_at = NOW.astimezone(tokyo)
            self._commit(storage, lambda uow: uow.orders.add(order))
            placed = self._read(storage, lambda uow: uow.orders.get(order.id).placed_at)
            rule(ROUND_TRIP, placed == NOW and placed.utcoffset() is not None, repr(placed))

    def test_orders_are_found_by_number_email_and_status(self) -> None:
        with self._storage() as storage:
            orders = []
            for n, (number, email, status) in enumerate(
                (
                    ("WEB-AB12", "ada@example.com", OrderStatus.OPEN),
                    ("WEB-AB34", "bob@example.com", OrderStatus.CANCELLED),
                    ("WEB-ab56", "ada@example.com", OrderStatus.OPEN),
                    ("APP-AB78", "ada@example.com", OrderStatus.COMPLETED),
                )
            ):
                order = an_order(f"order-{n}")
                order.number, order.email_key, order.status = number, email, status
                order.placed_at = NOW + timedelta(minutes=n)
                orders.append(order)

            def write(uow: UnitOfWork) -> None:
                for order in orders:
                    uow.orders.add(order)

            self._commit(storage, write)
            cases: tuple[tuple[dict[str, Any], list[str]], ...] = (
                ({}, ["APP-AB78", "WEB-ab56", "WEB-AB34", "WEB-AB12"]),
                ({"number_prefix": "WEB-AB"}, ["WEB-AB34", "WEB-AB12"]),
                ({"number_prefix": "WEB-AB12"}, ["WEB-AB12"]),
                ({"number_prefix": "WEB-A%"}, []),
                ({"email_key": "ada@example.com"}, ["APP-AB78", "WEB-ab56", "WEB-AB12"]),
                ({"status": OrderStatus.OPEN}, ["WEB-ab56", "WEB-AB12"]),
                ({"number_prefix": "WEB", "email_key": "bob@example.com"}, ["WEB-AB34"]),
                ({"placed_before": NOW + timedelta(minutes=2), "limit": 1}, ["WEB-AB34"]),
            )
            for filters, wanted in cases:

                def search(uow: UnitOfWork, f: dict[str, Any] = filters) -> list[Order]:
                    return uow.orders.search(**f)

                found = self._read(storage, search)
                numbers = [order.number for order in found]
                rule(ORDER_SEARCH, numbers == wanted, f"{filters}: {numbers}, not {wanted}")

    def test_unknown_ids_are_not_found(self) -> None:
        with self._storage() as storage:
            for name, get in (
                ("cart", lambda uow: uow.carts.get("nowhere")),
                ("order", lambda uow: uow.orders.get("nowhere")),
                ("payment", lambda uow: uow.payments.get("nowhere")),
                ("sequence", lambda uow: uow.records(NumberSequence).get("nowhere")),
            ):
                try:
                    self._read(storage, get)
                except NotFound:
                    continue
                rule(NOT_FOUND, False, f"an unknown {name} was found")
            found = self._read(
                storage,
                lambda uow: (
                    uow.carts.find_by_token("nowhere"),
                    uow.orders.find_by_idempotency_key("nowhere"),
                    uow.records(NumberSequence).find("nowhere"),
                ),
            )
            rule(NOT_FOUND, found == (None, None, None), repr(found))

    # --- unique keys ----------------------------------------------------------------

    def test_a_taken_key_conflicts_and_writes_nothing(self) -> None:
        with self._storage() as storage:

            def first(uow: UnitOfWork) -> None:
                uow.carts.add(a_cart())
                uow.orders.add(an_order())

            self._commit(storage, first)
            for name, taken in (
                ("cart id", lambda uow: uow.carts.add(a_cart(token="other"))),
                ("cart token", lambda uow: uow.carts.add(a_cart("cart-2", token="token-cart-1"))),
                (
                    "order idempotency key",
                    lambda uow: uow.orders.add(an_order("o2", key="key-order-1")),
                ),
                ("order token", lambda uow: uow.orders.add(an_order("o3", token="token-order-1"))),
            ):

                def write(uow: UnitOfWork, taken: Callable[[UnitOfWork], object] = taken) -> None:
                    uow.carts.add(a_cart("cart-bystander", token="bystander"))
                    taken(uow)

                try:
                    self._commit(storage, write)
                except ConcurrencyConflict:
                    pass
                else:
                    rule(UNIQUE, False, f"a taken {name} was written")
                kept = self._read(storage, lambda uow: uow.carts.find_by_token("bystander"))
                rule(UNIQUE, kept is None, f"the refused unit of work ({name}) kept a write")

    # --- units of work --------------------------------------------------------------

    def test_a_unit_of_work_is_all_or_nothing(self) -> None:
        with self._storage() as storage:
            self._commit(storage, lambda uow: uow.carts.add(a_cart()))

            def change(uow: UnitOfWork) -> None:
                cart = uow.carts.get("cart-1")
                cart.add("DISCO-BALL")
                uow.carts.save(cart)
                uow.orders.add(an_order())
                uow.records(NumberSequence).add(NumberSequence.start("invoice", "web", at=NOW))

            def rolled_back() -> None:
                with storage.unit_of_work() as uow:
                    change(uow)
                    uow.rollback()
                    uow.commit()

            def left() -> None:
                with storage.unit_of_work() as uow:
                    change(uow)

            def failed() -> None:
                with storage.unit_of_work() as uow:
                    change(uow)
                    raise LookupError("the gateway went away")

            for how, run in (("rolled back", rolled_back), ("left", left), ("failed", failed)):
                with suppress(LookupError):
                    run()
                kept = self._read(
                    storage,
                    lambda uow: (
                        uow.carts.get("cart-1").quantity_of("DISCO-BALL"),
                        uow.orders.find_by_idempotency_key("key-order-1"),
                        uow.records(NumberSequence).find(NumberSequence.key("invoice", "web")),
                    ),
                )
                rule(ALL_OR_NOTHING, kept == (0, None, None), f"{how}: {kept!r}")
                events = typed(storage.undelivered_events)
                rule(ALL_OR_NOTHING, events == [], f"{how}: events {events!r}")

    def test_a_unit_of_work_reads_its_own_writes(self) -> None:
        with self._storage() as storage:

            def work(uow: UnitOfWork) -> None:
                uow.carts.add(a_cart(token="fresh"))
                found = uow.carts.find_by_token("fresh")
                rule(OWN_WRITES, found is not None and found.id == "cart-1", "a new cart")
                uow.orders.add(an_order(key="key-new"))
                order = uow.orders.find_by_idempotency_key("key-new")
                rule(OWN_WRITES, order is not None, "a new order by its idempotency key")
                uow.payments.add(a_payment())
                rule(OWN_WRITES, uow.payments.for_order("order-1") is not None, "a new payment")
                uow.carts.remove(uow.carts.get("cart-1"))
                rule(OWN_WRITES, uow.carts.find_by_token("fresh") is None, "a removed cart")

            self._commit(storage, work)

    def test_of_two_writers_the_second_conflicts_and_writes_nothing(self) -> None:
        with self._storage() as storage:
            self._commit(storage, lambda uow: uow.carts.add(a_cart()))

            def race() -> None:
                first, second = storage.unit_of_work(), storage.unit_of_work()
                with first, second:
                    mine, theirs = first.carts.get("cart-1"), second.carts.get("cart-1")
                    mine.add("DISCO-BALL")
                    theirs.add("LAVA-LAMP", 5)
                    first.carts.save(mine)
                    second.carts.save(theirs)
                    second.orders.add(an_order())
                    first.commit()
                    try:
                        second.commit()
                    except ConcurrencyConflict:
                        return
                    rule(SECOND_LOSES, False, "the second writer's commit was accepted")

            typed(race)
            kept = self._read(
                storage,
                lambda uow: (
                    uow.carts.get("cart-1").quantity_of("DISCO-BALL"),
                    uow.carts.get("cart-1").quantity_of("LAVA-LAMP"),
                    uow.orders.find_by_idempotency_key("key-order-1"),
                ),
            )
            rule(SECOND_LOSES, kept == (1, 2, None), f"after the race: {kept!r}")

    def test_racing_writers_each_land_exactly_once_when_they_retry(self) -> None:
        rounds = 5
        with self._storage() as storage:
            busy = Cart(id="busy", currency="GBP", token="busy", max_quantity_per_line=999)
            self._commit(storage, lambda uow: uow.carts.add(busy))

            def add_one() -> None:
                with storage.unit_of_work() as uow:
                    cart = uow.carts.get("busy")
                    cart.add("RETRO-CLOCK")
                    uow.carts.save(cart)
                    uow.commit()

            def worker(_: int) -> None:
                for _round in range(rounds):
                    self._retrying(add_one)

            failures = self._race(worker)
            rule(RETRIED, not failures, f"{failures[:1]!r}")
            added = self._read(
                storage, lambda uow: uow.carts.get("busy").quantity_of("RETRO-CLOCK")
            )
            rule(RETRIED, added == self.threads * rounds, f"{added} of {self.threads * rounds}")

    # --- the outbox -----------------------------------------------------------------

    def test_the_outbox_keeps_events_in_order_until_delivered(self) -> None:
        with self._storage() as storage:
            payment = Payment(
                id="pay-1", order_id="order-1", gateway="test", currency="GBP", amount_units=100
            )
            payment.apply(
                GatewayEvent(
                    transaction_id="tx-1",
                    payment_reference="gw-1",
                    kind=TransactionKind.AUTHORIZE,
                    status=TransactionStatus.SUCCEEDED,
                    amount_units=100,
                    currency="GBP",
                    occurred_at=NOW,
                )
            )

            def write() -> list[Any]:
                with storage.unit_of_work() as uow:
                    uow.payments.add(payment)
                    uow.orders.add(an_order())
                    return list(uow.commit())

            committed = typed(write)
            kinds = [type(event) for event in committed]
            rule(OUTBOX, kinds == [PaymentAuthorized, OrderPlaced], f"commit returned {kinds}")
            outbox = typed(storage.undelivered_events)
            rule(OUTBOX, [event for _, event in outbox] == committed, f"outbox {outbox!r}")
            ids = [event_id for event_id, _ in outbox]
            rule(OUTBOX, ids == sorted(set(ids)), f"event ids {ids} do not rise")
            typed(lambda: storage.mark_delivered(ids[:1], at=NOW))
            left = [event for _, event in typed(storage.undelivered_events)]
            rule(OUTBOX, left == committed[1:], f"after delivering the first: {left!r}")
            typed(lambda: storage.mark_delivered([], at=NOW))
            rule(OUTBOX, len(typed(lambda: storage.undelivered_events(limit=1))) == 1, "limit 1")

    def test_one_relay_holds_a_lease_and_only_it_marks_events(self) -> None:
        with self._storage() as storage:
            events = [OrderPaid(order_id=f"order-{n}", occurred_at=NOW) for n in range(3)]
            self._commit(storage, lambda uow: uow.record_events(events))
            ids = [event_id for event_id, _ in typed(lambda: storage.unrelayed_events(10))]
            rule(ONE_RELAY, len(ids) == 3, f"unrelayed {ids}")
            won: list[int] = []

            def ask(n: int) -> None:
                if storage.take_relay_lease("outbox", f"relay-{n}", now=NOW, until=NOW + _LEASE):
                    won.append(n)

            failures = self._race(ask)
            rule(TYPED_ERRORS, not failures, f"{failures[:1]!r}")
            rule(ONE_RELAY, len(won) == 1, f"relays holding the lease at once: {won}")
            loser = next(n for n in range(self.threads) if n not in won)
            marked = typed(
                lambda: storage.mark_relayed(ids, name="outbox", holder=f"relay-{loser}", at=NOW)
            )
            rule(ONE_RELAY, not marked, "a relay without the lease marked events")
            holder = f"relay-{won[0]}"
            marked = typed(
                lambda: storage.mark_relayed(ids[:1], name="outbox", holder=holder, at=NOW)
            )
            left = [event_id for event_id, _ in typed(lambda: storage.unrelayed_events(10))]
            rule(ONE_RELAY, marked and left == ids[1:], f"the holder marked one: left {left}")

    # --- stock and numbers ----------------------------------------------------------

    def test_stock_never_goes_below_its_floor_when_taken_at_once(self) -> None:
        units, each = 10, 2
        with self._storage() as storage:

            def receive(uow: UnitOfWork) -> None:
                uow.inventory.add_location(StockLocation(id="london", name="London"))
                uow.inventory.apply([StockChange.move(_movement("in", units))])

            self._commit(storage, receive)
            sold: list[int] = []

            def worker(n: int) -> None:
                for attempt in range(300):
                    changes = [StockChange.move(_movement(f"out-{n}-{attempt}", -each))]
                    try:
                        self._commit(storage, partial(_apply, changes=changes))
                    except InsufficientStock:
                        return
                    except ConcurrencyConflict:
                        continue
                    sold.append(each)

            failures = self._race(worker)
            rule(TYPED_ERRORS, not failures, f"{failures[:1]!r}")
            items = self._read(storage, lambda uow: uow.inventory.items(["RETRO-CLOCK"]))
            on_hand = [item.on_hand for item in items]
            rule(STOCK_FLOOR, sum(sold) <= units, f"{sum(sold)} sold of {units}")
            rule(
                STOCK_FLOOR, on_hand == [units - sum(sold)], f"on hand {on_hand}, sold {sum(sold)}"
            )
            rule(STOCK_FLOOR, sum(sold) == units, f"only {sum(sold)} of {units} could be sold")
            ledger = self._read(
                storage, lambda uow: uow.inventory.movements("RETRO-CLOCK", "london")
            )
            total = sum(movement.quantity for movement in ledger)
            rule(STOCK_FLOOR, total == on_hand[0], f"the ledger sums to {total}, on hand {on_hand}")

    def test_numbers_taken_at_once_run_without_gaps(self) -> None:
        rounds = 5
        with self._storage() as storage:
            taken: list[int] = []
            lock = threading.Lock()

            def take() -> None:
                with storage.unit_of_work() as uow:
                    sequences = uow.records(NumberSequence)
                    sequence = sequences.find(NumberSequence.key("invoice", "web"))
                    if sequence is None:
                        sequence = NumberSequence.start("invoice", "web", at=NOW)
                        sequences.add(sequence)
                    else:
                        sequences.save(sequence)
                    number = sequence.take()
                    uow.commit()
                with lock:
                    taken.append(number)

            def worker(_: int) -> None:
                for _round in range(rounds):
                    self._retrying(take)

            failures = self._race(worker)
            rule(TYPED_ERRORS, not failures, f"{failures[:1]!r}")
            expected = list(range(1, self.threads * rounds + 1))
            rule(GAPLESS, sorted(taken) == expected, f"taken {sorted(taken)}")
