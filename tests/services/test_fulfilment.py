"""Shipments on a real store (memory and a SQLite file): planned from where the stock
is held, labelled by the sandbox carrier, dispatched consuming exactly their units,
tracked to the door, and cancelled while they still can be."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest

from commercekit import Money, Product, StockLocation, Variant
from commercekit.adapters.carriers.sandbox import SandboxCarrier, webhook
from commercekit.adapters.clock import FixedClock
from commercekit.domain.errors import (
    CarrierError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    WebhookRejected,
)
from commercekit.domain.events import ShipmentDelivered, ShipmentDispatched, ShipmentException
from commercekit.domain.fulfilment import ShipmentStatus
from commercekit.domain.orders import FulfilmentStatus, OrderPaymentStatus, OrderStatus
from commercekit.domain.shipping import (
    CarrierQuote,
    Label,
    ParcelLimits,
    TrackingEvent,
    TrackingStatus,
)
from commercekit.hookspecs import hookimpl
from commercekit.ports.carriers import LabelRequest, QuoteRequest
from commercekit.store import Store
from tests.services.conftest import ADDRESS, CONFIG, seed

SECRET = "whsec_carrier"
STEP = timedelta(hours=12)


@pytest.fixture
def store(store_url: str, clock: FixedClock) -> Iterator[Store]:
    config = {
        **CONFIG,
        "carriers": {"sandbox": {"plugin": "sandbox", "secrets": {"webhook_secret": SECRET}}},
    }
    with Store.open(store_url, config=config, clock=clock) as opened:
        seed(opened)
        opened.inventory.add_location(StockLocation(id="berlin", name="Berlin", priority=0))
        opened.inventory.add_location(StockLocation(id="hamburg", name="Hamburg", priority=1))
        yield opened


def order_of(
    store: Store, lines: dict[str, int], *, postal_code: str = "10119", key: str = "k"
) -> str:
    cart = store.carts.create("EUR")
    for sku, quantity in lines.items():
        store.carts.add(cart.token, sku, quantity)
    store.checkout.set_contact(cart.token, {"email": "zoe@example.com"})
    store.checkout.set_shipping_address(cart.token, {**ADDRESS, "postal_code": postal_code})
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    store.checkout.summary(cart.token)
    return store.checkout.place_order(cart.token, idempotency_key=key).id


def sales(store: Store, sku: str, location: str) -> list[int]:
    return [m.quantity for m in store.inventory.movements(sku, location) if m.quantity < 0]


def outbox(store: Store) -> list[object]:
    with store.storage.unit_of_work() as uow:
        del uow
    return [event for _, event in store.storage.undelivered_events(10_000)]


# --- partial and split fulfilment ----------------------------------------------------


def test_a_partial_shipment_consumes_only_its_units(store: Store) -> None:
    store.inventory.receive("RETRO-MUG", "berlin", 5)
    order_id = order_of(store, {"RETRO-MUG": 3})

    store.orders.record_fulfilment(order_id, {"RETRO-MUG": 1})

    (item,) = store.inventory.stock("RETRO-MUG")
    assert (item.on_hand, item.reserved) == (4, 2)
    assert sales(store, "RETRO-MUG", "berlin") == [-1]
    order = store.orders.get(order_id)
    assert order.fulfilment_status is FulfilmentStatus.PARTIALLY_SHIPPED
    assert order.fulfilled == {"RETRO-MUG": 1}

    assert store.inventory.consume(order_id) == 1  # the rest: two units, no more

    (item,) = store.inventory.stock("RETRO-MUG")
    assert (item.on_hand, item.reserved) == (2, 0)
    assert sorted(sales(store, "RETRO-MUG", "berlin")) == [-2, -1]
    assert store.orders.get(order_id).fulfilment_status is FulfilmentStatus.SHIPPED
    with pytest.raises(InvalidTransition):
        store.inventory.consume(order_id)  # nothing left to ship


def test_an_order_held_in_two_locations_ships_from_each(store: Store) -> None:
    store.inventory.receive("RETRO-MUG", "berlin", 2)
    store.inventory.receive("RETRO-MUG", "hamburg", 5)
    store.inventory.receive("RETRO-CLOCK", "hamburg", 1)
    order_id = order_of(store, {"RETRO-MUG": 4, "RETRO-CLOCK": 1})

    shipments = store.fulfilment.create_shipments(order_id)

    assert {(s.location_id, tuple(sorted(s.items.items()))) for s in shipments} == {
        ("berlin", (("RETRO-MUG", 2),)),
        ("hamburg", (("RETRO-CLOCK", 1), ("RETRO-MUG", 2))),
    }
    with pytest.raises(InvalidTransition):
        store.fulfilment.create_shipments(order_id)  # every unit is in a shipment
    berlin = next(s for s in shipments if s.location_id == "berlin")
    store.fulfilment.dispatch(berlin.id)
    assert store.orders.get(order_id).fulfilment_status is FulfilmentStatus.PARTIALLY_SHIPPED
    assert sales(store, "RETRO-MUG", "berlin") == [-2]
    assert sales(store, "RETRO-MUG", "hamburg") == []
    with pytest.raises(InvalidTransition):
        store.orders.cancel(order_id, "too late: part of it left")

    hamburg = next(s for s in shipments if s.location_id == "hamburg")
    store.fulfilment.dispatch(hamburg.id)
    assert sales(store, "RETRO-MUG", "hamburg") == [-2]
    assert sales(store, "RETRO-CLOCK", "hamburg") == [-1]
    assert store.orders.get(order_id).fulfilment_status is FulfilmentStatus.SHIPPED
    assert [i.reserved for i in store.inventory.stock("RETRO-MUG")] == [0, 0]


def test_more_than_is_left_or_an_unknown_sku_is_refused_and_plans_nothing(store: Store) -> None:
    store.inventory.receive("RETRO-MUG", "berlin", 5)
    order_id = order_of(store, {"RETRO-MUG": 3})
    store.fulfilment.create_shipments(order_id, {"RETRO-MUG": 2})

    with pytest.raises(InvalidInput) as refused:
        store.fulfilment.create_shipments(order_id, {"RETRO-MUG": 2})
    assert refused.value.field == "quantities"
    with pytest.raises(InvalidInput) as refused:
        store.fulfilment.create_shipments(order_id, {"RETRO-LAMP": 1})
    assert refused.value.field == "quantities"
    for bad in ({"RETRO-MUG": 0}, {"RETRO-MUG": -1}, {"RETRO-MUG": 1.5}, ["RETRO-MUG"]):
        with pytest.raises(InvalidInput):
            store.fulfilment.create_shipments(order_id, bad)  # type: ignore[arg-type]
    assert len(store.fulfilment.for_order(order_id)) == 1


def test_an_order_awaiting_payment_ships_nothing(store: Store) -> None:
    store.inventory.receive("RETRO-MUG", "berlin", 5)
    cart = store.carts.create("EUR")
    store.carts.add(cart.token, "RETRO-MUG", 1)
    store.checkout.set_contact(cart.token, {"email": "zoe@example.com"})
    store.checkout.set_shipping_address(cart.token, ADDRESS)
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.set_payment_method(
        cart.token, {"gateway": "test", "token": "tok_requires_action"}
    )
    store.checkout.summary(cart.token)
    order = store.checkout.place_order(cart.token, idempotency_key="k")
    assert order.status is OrderStatus.PENDING_PAYMENT

    with pytest.raises(InvalidTransition):
        store.fulfilment.ship(order.id)
    assert store.fulfilment.for_order(order.id) == []


# --- labels and tracking -------------------------------------------------------------


def labelled(store: Store, order_id: str) -> str:
    (shipment,) = store.fulfilment.create_shipments(order_id)
    store.fulfilment.buy_label(shipment.id, carrier="sandbox", service="standard")
    return shipment.id


def test_the_sandbox_journey_runs_to_the_door_as_the_clock_moves(
    store: Store, clock: FixedClock
) -> None:
    store.inventory.receive("RETRO-MUG", "berlin", 5)
    order_id = order_of(store, {"RETRO-MUG": 2})
    shipment_id = labelled(store, order_id)
    shipment = store.fulfilment.get(shipment_id)
    assert shipment.status is ShipmentStatus.LABEL_BOUGHT
    assert shipment.tracking_number.startswith("SBXN")
    assert shipment.tracking_number in shipment.tracking_url
    assert shipment.parcels
    assert shipment.label is not None
    assert shipment.label.document

    store.fulfilment.dispatch(shipment_id)
    seen = []
    for _ in range(4):
        clock.advance(STEP)
        store.fulfilment.refresh_tracking()
        seen.append(store.fulfilment.get(shipment_id).status)

    assert seen == [
        ShipmentStatus.SHIPPED,
        ShipmentStatus.IN_TRANSIT,
        ShipmentStatus.IN_TRANSIT,
        ShipmentStatus.DELIVERED,
    ]
    shipment = store.fulfilment.get(shipment_id)
    assert [e.status for e in shipment.timeline] == [
        TrackingStatus.LABEL_CREATED,
        TrackingStatus.PICKED_UP,
        TrackingStatus.IN_TRANSIT,
        TrackingStatus.OUT_FOR_DELIVERY,
        TrackingStatus.DELIVERED,
    ]
    assert shipment.delivered_at == shipment.timeline[-1].at
    assert store.orders.get(order_id).fulfilment_status is FulfilmentStatus.DELIVERED
    assert store.fulfilment.refresh_tracking() == 0  # delivered: nothing more to ask
    names = [type(e) for e in outbox(store)]
    assert names.count(ShipmentDispatched) == 1
    assert names.count(ShipmentDelivered) == 1


@pytest.mark.parametrize(
    ("postal_code", "ends"),
    [
        ("99901", ShipmentStatus.RETURNED_TO_SENDER),
        ("99902", ShipmentStatus.DELIVERED),
        ("99903", ShipmentStatus.EXCEPTION),
        ("99904", ShipmentStatus.RETURNED_TO_SENDER),
    ],
    ids=["undeliverable", "delayed", "lost", "damaged"],
)
def test_each_sandbox_failure_is_told_as_it_happens(
    store: Store, clock: FixedClock, postal_code: str, ends: ShipmentStatus
) -> None:
    store.inventory.receive("RETRO-MUG", "berlin", 5)
    order_id = order_of(store, {"RETRO-MUG": 1}, postal_code=postal_code)
    shipment_id = labelled(store, order_id)
    store.fulfilment.dispatch(shipment_id)
    for _ in range(8):
        clock.advance(STEP)
        store.fulfilment.refresh_tracking()

    shipment = store.fulfilment.get(shipment_id)
    assert shipment.status is ends
    problems = [e for e in outbox(store) if isinstance(e, ShipmentException)]
    if postal_code == "99902":
        assert TrackingStatus.DELAYED in [e.status for e in shipment.timeline]
        assert problems == []
    else:
        assert problems
        assert problems[0].detail.split(":")[0] in shipment.timeline[-1].detail + (
            " ".join(e.detail for e in shipment.timeline)
        )


def test_carrier_webhooks_apply_once_in_any_order(store: Store, clock: FixedClock) -> None:
    store.inventory.receive("RETRO-MUG", "berlin", 5)
    order_id = order_of(store, {"RETRO-MUG": 1})
    shipment_id = labelled(store, order_id)
    store.fulfilment.dispatch(shipment_id)
    number = store.fulfilment.get(shipment_id).tracking_number
    base = clock.now()
    events = [
        TrackingEvent(id=f"w{n}", tracking_number=number, status=status, at=base + n * STEP)
        for n, status in enumerate(
            [TrackingStatus.IN_TRANSIT, TrackingStatus.OUT_FOR_DELIVERY, TrackingStatus.DELIVERED],
            start=1,
        )
    ]
    clock.advance(4 * STEP)
    late, middle, first = reversed(events)
    for told in ([late], [first, middle], [late, first], [middle]):
        body, headers = webhook(told, SECRET, now=clock.now())
        store.fulfilment.handle_carrier_webhook("sandbox", body, headers)

    shipment = store.fulfilment.get(shipment_id)
    assert [e.id for e in shipment.timeline] == ["w1", "w2", "w3"]
    assert shipment.status is ShipmentStatus.DELIVERED
    delivered = [e for e in outbox(store) if isinstance(e, ShipmentDelivered)]
    assert len(delivered) == 1

    body, headers = webhook(events, "whsec_wrong", now=clock.now())
    with pytest.raises(WebhookRejected):
        store.fulfilment.handle_carrier_webhook("sandbox", body, headers)


def test_a_label_is_never_overwritten(store: Store) -> None:
    store.inventory.receive("RETRO-MUG", "berlin", 5)
    order_id = order_of(store, {"RETRO-MUG": 1})
    shipment_id = labelled(store, order_id)
    first = store.fulfilment.get(shipment_id).label

    with pytest.raises(InvalidTransition):
        store.fulfilment.buy_label(shipment_id, carrier="sandbox")
    store.fulfilment.void_label(shipment_id)
    store.fulfilment.buy_label(shipment_id, carrier="sandbox", service="express")

    shipment = store.fulfilment.get(shipment_id)
    assert shipment.voided_labels == (first,)
    assert shipment.label is not None
    assert shipment.label != first


def test_the_manual_carrier_takes_the_number_the_merchant_typed(store: Store) -> None:
    store.inventory.receive("RETRO-MUG", "berlin", 5)
    order_id = order_of(store, {"RETRO-MUG": 1})
    (shipment,) = store.fulfilment.create_shipments(order_id)
    with pytest.raises(InvalidInput) as refused:
        store.fulfilment.buy_label(shipment.id, carrier="manual")
    assert refused.value.field == "tracking_number"

    store.fulfilment.buy_label(shipment.id, carrier="manual", tracking_number="JJD0001")
    store.fulfilment.dispatch(shipment.id)
    store.fulfilment.record_tracking(
        shipment.id,
        [
            TrackingEvent(
                id="typed-1",
                tracking_number="JJD0001",
                status=TrackingStatus.DELIVERED,
                at=store.runtime.clock.now(),
            )
        ],
    )
    assert store.fulfilment.get(shipment.id).status is ShipmentStatus.DELIVERED


# --- cancelling ----------------------------------------------------------------------


def test_cancelling_before_dispatch_gives_back_labels_stock_and_money(store: Store) -> None:
    store.inventory.receive("RETRO-MUG", "berlin", 5)
    order_id = order_of(store, {"RETRO-MUG": 2})
    store.payments.capture(order_id)
    shipment_id = labelled(store, order_id)
    paid = store.payments.for_order(order_id).captured_units
    assert paid == store.orders.get(order_id).totals.grand_total_units  # shipping included

    order = store.orders.cancel(order_id, "changed their mind")

    assert order.status is OrderStatus.CANCELLED
    assert order.payment_status is OrderPaymentStatus.REFUNDED
    assert store.payments.for_order(order_id).refunded_units == paid
    shipment = store.fulfilment.get(shipment_id)
    assert shipment.status is ShipmentStatus.CANCELLED
    assert shipment.label is None
    assert len(shipment.voided_labels) == 1
    (item,) = store.inventory.stock("RETRO-MUG")
    assert (item.on_hand, item.reserved) == (5, 0)


def test_after_dispatch_an_order_cannot_be_cancelled(store: Store) -> None:
    store.inventory.receive("RETRO-MUG", "berlin", 5)
    order_id = order_of(store, {"RETRO-MUG": 2})
    store.fulfilment.ship(order_id, {"RETRO-MUG": 1})

    with pytest.raises(InvalidTransition):
        store.orders.cancel(order_id, "too late")

    order = store.orders.get(order_id)
    assert order.status is OrderStatus.OPEN
    assert order.payment_status is OrderPaymentStatus.AUTHORIZED
    (item,) = store.inventory.stock("RETRO-MUG")
    assert (item.on_hand, item.reserved) == (4, 1)


def test_a_cancelled_shipment_frees_its_units_for_another(store: Store) -> None:
    store.inventory.receive("RETRO-MUG", "berlin", 5)
    order_id = order_of(store, {"RETRO-MUG": 2})
    shipment_id = labelled(store, order_id)

    cancelled = store.fulfilment.cancel_shipment(shipment_id)

    assert cancelled.status is ShipmentStatus.CANCELLED
    (again,) = store.fulfilment.create_shipments(order_id)
    assert again.items == {"RETRO-MUG": 2}
    with pytest.raises(InvalidTransition):
        store.fulfilment.dispatch(shipment_id)


# --- documents -----------------------------------------------------------------------


def test_a_pick_list_gathers_what_waits_at_a_location(store: Store) -> None:
    store.inventory.receive("RETRO-MUG", "berlin", 10)
    store.inventory.receive("RETRO-CLOCK", "berlin", 10)
    first = order_of(store, {"RETRO-MUG": 2, "RETRO-CLOCK": 1}, key="a")
    second = order_of(store, {"RETRO-MUG": 3}, key="b")
    store.fulfilment.create_shipments(first)
    store.fulfilment.create_shipments(second)

    pick = store.fulfilment.pick_list("berlin")

    assert pick.subject == "Pick list: Berlin"
    assert "5 \u00d7 RETRO-MUG  Retro mug" in pick.text
    assert "1 \u00d7 RETRO-CLOCK  Retro clock" in pick.text
    assert pick.text.count("Shipment shp_") == 2
    assert "<td>RETRO-MUG</td><td>Retro mug</td>" in pick.html
    assert "Nothing waits to leave." in store.fulfilment.pick_list("hamburg").text
    with pytest.raises(NotFound):
        store.fulfilment.pick_list("paris")


def test_a_packing_slip_says_where_the_parcel_goes_and_what_it_holds(store: Store) -> None:
    store.inventory.receive("RETRO-MUG", "berlin", 10)
    order_id = order_of(store, {"RETRO-MUG": 2})
    shipment_id = labelled(store, order_id)

    slip = store.fulfilment.packing_slip(shipment_id)

    number = store.fulfilment.get(shipment_id).tracking_number
    assert slip.subject == f"Packing slip: order {order_id}"
    assert "2 \u00d7 Retro mug (RETRO-MUG)" in slip.text
    assert ADDRESS["line1"] in slip.text
    assert "10119 Berlin" in slip.text
    assert f"sandbox tracking number: {number}" in slip.text
    assert "Zo&#235; &#220;nal" in slip.html or "Zoë Ünal" in slip.html


# --- bundles whose parts are held apart ------------------------------------------------


def gift_sets(store: Store) -> str:
    """An order for one gift set (a clock and two mugs): the mugs held in Berlin,
    the clock in Hamburg."""
    store.catalog.add_product(
        Product(
            id="gift",
            name="Gift set",
            variants=[Variant(sku="GIFT-SET", components={"RETRO-CLOCK": 1, "RETRO-MUG": 2})],
        )
    )
    store.catalog.publish("gift")
    store.catalog.set_price("eu", "GIFT-SET", Money("55.00", "EUR"))
    store.inventory.receive("RETRO-MUG", "berlin", 5)
    store.inventory.receive("RETRO-CLOCK", "hamburg", 5)
    return order_of(store, {"GIFT-SET": 1})


def test_a_bundle_held_apart_ships_once_every_part_has_left(store: Store) -> None:
    order_id = gift_sets(store)
    shipments = store.fulfilment.create_shipments(order_id)
    (home,) = [s for s in shipments if s.lines]
    (parts,) = [s for s in shipments if not s.lines]
    assert home.lines == {"GIFT-SET": 1}
    assert parts.parts_of == {"GIFT-SET": 1}
    assert {home.location_id, parts.location_id} == {"berlin", "hamburg"}

    store.fulfilment.dispatch(parts.id)
    order = store.orders.get(order_id)
    assert order.shipped  # goods left: no cancelling now
    assert order.fulfilment_status is FulfilmentStatus.UNFULFILLED
    with pytest.raises(InvalidTransition):
        store.orders.cancel(order_id, "too late")

    store.fulfilment.dispatch(home.id)
    assert store.orders.get(order_id).fulfilment_status is FulfilmentStatus.SHIPPED
    held = [i.reserved for s in ("RETRO-MUG", "RETRO-CLOCK") for i in store.inventory.stock(s)]
    assert held == [0, 0]


def test_a_bundles_parts_are_cancelled_with_the_shipment_carrying_it(store: Store) -> None:
    order_id = gift_sets(store)
    shipments = store.fulfilment.create_shipments(order_id)
    (home,) = [s for s in shipments if s.lines]
    (parts,) = [s for s in shipments if not s.lines]

    with pytest.raises(InvalidTransition):
        store.fulfilment.cancel_shipment(parts.id)
    store.fulfilment.cancel_shipment(home.id)

    assert store.fulfilment.get(parts.id).status is ShipmentStatus.CANCELLED
    again = store.fulfilment.create_shipments(order_id)
    assert sorted(
        dict(s.items) == dict(o.items)
        for s, o in zip(
            sorted(again, key=lambda s: str(s.location_id)),
            sorted(shipments, key=lambda s: str(s.location_id)),
            strict=True,
        )
    ) == [True, True]


# --- a carrier that is slow, fails, or forgets -----------------------------------------


class Unreliable:
    """The sandbox carrier, with a hook run while a call is under way and failures
    on demand."""

    def __init__(self, name: str) -> None:
        self.inner = SandboxCarrier(name)
        self.during: Callable[[], None] | None = None
        self.lose_answer = False
        self.broken: set[str] = set()

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def limits(self) -> ParcelLimits:
        return self.inner.limits

    def quote(self, request: QuoteRequest) -> Sequence[CarrierQuote]:
        return self.inner.quote(request)

    def _meanwhile(self) -> None:
        during, self.during = self.during, None
        if during is not None:
            during()

    def buy_label(self, request: LabelRequest) -> Label:
        label = self.inner.buy_label(request)
        self._meanwhile()
        if self.lose_answer:
            self.lose_answer = False
            raise CarrierError("the answer was lost", retryable=True)
        return label

    def cancel_label(self, label: Label, *, idempotency_key: str, now: datetime) -> None:
        self._meanwhile()
        self.inner.cancel_label(label, idempotency_key=idempotency_key, now=now)

    def track(self, label: Label, *, now: datetime) -> Sequence[TrackingEvent]:
        if label.tracking_number in self.broken:
            raise OSError("connection reset")
        return self.inner.track(label, now=now)

    def verify_webhook(
        self, body: bytes, headers: Mapping[str, str], *, now: datetime
    ) -> Sequence[TrackingEvent]:
        return self.inner.verify_webhook(body, headers, now=now)


class UnreliablePlugin:
    def __init__(self) -> None:
        self.carrier: Unreliable | None = None

    @hookimpl
    def register_carriers(self, register: Callable[[str, Any], None]) -> None:
        def build(name: str, options: Mapping[str, Any]) -> Unreliable:
            self.carrier = Unreliable(name)
            return self.carrier

        register("unreliable", build)


@pytest.fixture
def unreliable(store_url: str, clock: FixedClock) -> Iterator[tuple[Store, Unreliable]]:
    plugin = UnreliablePlugin()
    config = {**CONFIG, "carriers": {"flaky": {"plugin": "unreliable"}}}
    with Store.open(store_url, config=config, clock=clock, plugins=[plugin]) as opened:
        seed(opened)
        opened.inventory.add_location(StockLocation(id="berlin", name="Berlin"))
        opened.inventory.receive("RETRO-MUG", "berlin", 10)
        assert plugin.carrier is not None
        yield opened, plugin.carrier


def test_a_label_being_bought_is_neither_dispatched_nor_given_back_and_a_cancel_finishes_it(
    unreliable: tuple[Store, Unreliable],
) -> None:
    store, carrier = unreliable
    order_id = order_of(store, {"RETRO-MUG": 1})
    (shipment,) = store.fulfilment.create_shipments(order_id)
    refused: list[str] = []

    def meanwhile() -> None:
        for attempt in (
            lambda: store.fulfilment.dispatch(shipment.id),
            lambda: store.fulfilment.void_label(shipment.id),
            lambda: store.fulfilment.cancel_shipment(shipment.id),
        ):
            try:
                attempt()
            except InvalidTransition as error:
                refused.append(error.state)
        # The order's cancellation finishes the purchase (same key, same label), gives
        # the label back, then cancels.
        store.orders.cancel(order_id, "changed their mind")

    carrier.during = meanwhile
    with pytest.raises(InvalidTransition):
        store.fulfilment.buy_label(shipment.id, carrier="flaky")

    assert refused == ["buying_label", "buying_label", "buying_label"]
    assert store.orders.get(order_id).status is OrderStatus.CANCELLED
    stored = store.fulfilment.get(shipment.id)
    assert stored.status is ShipmentStatus.CANCELLED
    assert stored.label is None
    assert len(stored.voided_labels) == 1
    assert sales(store, "RETRO-MUG", "berlin") == []


def test_a_parcel_never_leaves_on_a_label_being_given_back(
    unreliable: tuple[Store, Unreliable],
) -> None:
    store, carrier = unreliable
    order_id = order_of(store, {"RETRO-MUG": 1})
    (shipment,) = store.fulfilment.create_shipments(order_id)
    store.fulfilment.buy_label(shipment.id, carrier="flaky")
    refused: list[Exception] = []

    def meanwhile() -> None:
        try:
            store.fulfilment.dispatch(shipment.id)
        except InvalidTransition as error:
            refused.append(error)

    carrier.during = meanwhile
    voided = store.fulfilment.void_label(shipment.id)

    assert len(refused) == 1
    assert voided.status is ShipmentStatus.PENDING
    assert sales(store, "RETRO-MUG", "berlin") == []


def test_a_label_sold_but_not_heard_of_is_found_again_and_given_back(
    unreliable: tuple[Store, Unreliable],
) -> None:
    store, carrier = unreliable
    order_id = order_of(store, {"RETRO-MUG": 1})
    (shipment,) = store.fulfilment.create_shipments(order_id)
    carrier.lose_answer = True
    with pytest.raises(CarrierError) as lost:
        store.fulfilment.buy_label(shipment.id, carrier="flaky")
    assert lost.value.retryable
    assert store.fulfilment.get(shipment.id).status is ShipmentStatus.BUYING_LABEL

    order = store.orders.cancel(order_id, "changed their mind")

    assert order.status is OrderStatus.CANCELLED
    stored = store.fulfilment.get(shipment.id)
    assert stored.status is ShipmentStatus.CANCELLED
    (given_back,) = stored.voided_labels
    assert carrier.inner.track(given_back, now=given_back.created_at + 10 * STEP)[-1].status is (
        TrackingStatus.LABEL_CREATED  # cancelled at the carrier: its journey ends there
    )


def test_one_carrier_failing_stops_no_other_shipments_tracking(
    unreliable: tuple[Store, Unreliable], clock: FixedClock
) -> None:
    store, carrier = unreliable
    first, second = (order_of(store, {"RETRO-MUG": 1}, key=k) for k in ("a", "b"))
    shipped = []
    for order_id in (first, second):
        (shipment,) = store.fulfilment.create_shipments(order_id)
        store.fulfilment.buy_label(shipment.id, carrier="flaky")
        shipped.append(store.fulfilment.dispatch(shipment.id))
    carrier.broken.add(shipped[0].tracking_number)
    clock.advance(4 * STEP)

    assert store.fulfilment.refresh_tracking() == 1

    statuses = [store.fulfilment.get(s.id).status for s in shipped]
    assert statuses == [ShipmentStatus.SHIPPED, ShipmentStatus.DELIVERED]
