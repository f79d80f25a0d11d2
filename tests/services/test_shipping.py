"""Shipping zones and delivery methods added to a store, checked against what the
store has."""

from __future__ import annotations

from datetime import timedelta

import pytest

from commercekit import (
    FreeShipping,
    ItemFilter,
    Money,
    PercentOffLines,
    Product,
    Promotion,
    StockLocation,
    Variant,
)
from commercekit.adapters.clock import FixedClock
from commercekit.domain.errors import (
    AlreadyExists,
    InvalidInput,
    NotFound,
    PriceChanged,
    RateExpired,
    ShippingUnavailable,
    UnknownCarrier,
    Unservable,
)
from commercekit.domain.shipping import (
    RATE_VALID_FOR,
    ByWeight,
    DeliveryMethod,
    Flat,
    FreeOver,
    ShippingZone,
)
from commercekit.store import Store
from tests.services.conftest import ADDRESS, CONFIG, seed


def test_a_method_names_only_zones_and_locations_the_store_has(store: Store) -> None:
    store.inventory.add_location(StockLocation(id="berlin", name="Berlin"))
    store.catalog.add_shipping_zone(ShippingZone(id="de", countries=["DE"]))
    with pytest.raises(NotFound) as raised:
        store.catalog.add_delivery_method(
            DeliveryMethod(id="dhl", name="DHL", zone_ids=["de", "at"], rules={"EUR": Flat(490)})
        )
    assert raised.value.field == "zone_ids"
    with pytest.raises(NotFound) as raised:
        store.catalog.add_delivery_method(
            DeliveryMethod(
                id="dhl",
                name="DHL",
                zone_ids=["de"],
                rules={"EUR": Flat(490)},
                location_ids=["hamburg"],
            )
        )
    assert raised.value.field == "location_ids"
    dhl = DeliveryMethod(
        id="dhl", name="DHL", zone_ids=["de"], rules={"EUR": Flat(490)}, location_ids=["berlin"]
    )
    store.catalog.add_delivery_method(dhl)
    with pytest.raises(AlreadyExists):
        store.catalog.add_delivery_method(dhl)
    with store.storage.unit_of_work() as uow:
        snapshot = store.runtime.catalog.get(uow)
    assert snapshot.delivery_methods == (dhl,)
    assert [zone.id for zone in snapshot.shipping_zones] == ["de"]


def stored_shipping(store: Store) -> None:
    """Heavy lamps beside the seeded mugs and clocks; a Berlin warehouse that ships to
    Germany; DHL by weight and free from 100.00 of goods, a Berlin-only courier."""
    store.catalog.add_product(
        Product(id="lamp", name="Lamp", variants=[Variant(sku="LAMP", weight_grams=4_000)])
    )
    store.catalog.publish("lamp")
    store.catalog.set_price("eu", "LAMP", Money("30.00", "EUR"))
    store.inventory.add_location(StockLocation(id="berlin", name="Berlin", ships_to=["DE"]))
    for sku in ("LAMP", "RETRO-MUG", "RETRO-CLOCK"):
        store.inventory.receive(sku, "berlin", 100)
    store.catalog.add_shipping_zone(ShippingZone(id="de", countries=["DE"]))
    store.catalog.add_shipping_zone(
        ShippingZone(id="berlin", countries=["DE"], postal_patterns=["10*", "12*", "13*"])
    )
    store.catalog.add_delivery_method(
        DeliveryMethod(
            id="dhl",
            name="DHL Paket",
            zone_ids=["de"],
            rules={"EUR": FreeOver(10_000, ByWeight([(5_000, 490), (31_500, 990)]))},
            min_days=1,
            max_days=3,
        )
    )
    store.catalog.add_delivery_method(
        DeliveryMethod(
            id="courier", name="Courier", zone_ids=["berlin"], rules={"EUR": Flat(1_290)}
        )
    )


def cart_to(store: Store, lines: dict[str, int], address: dict[str, str]) -> str:
    token = store.carts.create("EUR").token
    for sku, quantity in lines.items():
        store.carts.add(token, sku, quantity)
    store.checkout.set_contact(token, {"email": "zoe@example.com"})
    store.checkout.set_shipping_address(token, address)
    return token


def test_rates_follow_the_address_the_weight_and_the_goods(store: Store) -> None:
    stored_shipping(store)
    berlin = cart_to(store, {"LAMP": 1}, ADDRESS)
    assert [(r.method_id, r.price_units) for r in store.checkout.rates(berlin)] == [
        ("dhl", 490),
        ("courier", 1_290),
    ]
    munich = cart_to(store, {"LAMP": 2}, {**ADDRESS, "city": "München", "postal_code": "80331"})
    assert [(r.method_id, r.price_units) for r in store.checkout.rates(munich)] == [("dhl", 990)]
    free = cart_to(store, {"LAMP": 4}, {**ADDRESS, "postal_code": "80331"})
    assert [(r.method_id, r.price_units) for r in store.checkout.rates(free)] == [("dhl", 0)]
    japan = cart_to(store, {"LAMP": 1}, {**ADDRESS, "country": "JP", "postal_code": "100-0001"})
    assert store.checkout.rates(japan) == []
    with pytest.raises(ShippingUnavailable) as raised:
        store.checkout.choose_shipping(japan, {"method_id": "dhl"})
    assert raised.value.field == "shipping"


def test_an_order_pays_the_rate_chosen_and_is_priced_again_when_placed(store: Store) -> None:
    stored_shipping(store)
    token = cart_to(store, {"LAMP": 1}, ADDRESS)
    store.checkout.choose_shipping(token, {"method_id": "dhl"})
    store.checkout.set_payment_method(token, {"gateway": "test", "token": "tok_success"})
    summary = store.checkout.summary(token)
    assert summary.breakdown.shipping == Money("4.90", "EUR")
    # Another lamp makes the parcel heavier: the order is priced at the new rate.
    store.carts.add(token, "LAMP", 1)
    with pytest.raises(PriceChanged):
        store.checkout.place_order(token, idempotency_key="lamp-1")
    order = store.checkout.place_order(token, idempotency_key="lamp-2", accept_price_change=True)
    assert order.shipping is not None
    assert (order.shipping.method_id, order.shipping.price_units) == ("dhl", 990)
    assert order.totals.shipping_units == 990


def test_a_cart_no_location_can_ship_there_is_named_at_the_summary_and_refused(
    store: Store,
) -> None:
    # Lamps and mugs on hand, at the only location, which ships to Germany alone.
    stored_shipping(store)
    japan = {**ADDRESS, "country": "JP", "city": "Tokyo", "postal_code": "100-0001"}
    token = cart_to(store, {"LAMP": 1, "RETRO-MUG": 1}, japan)
    store.checkout.choose_shipping(token, {"method_id": "post"})
    store.checkout.set_payment_method(token, {"gateway": "test", "token": "tok_success"})
    summary = store.checkout.summary(token)
    assert summary.unservable == ("LAMP", "RETRO-MUG")
    with pytest.raises(Unservable) as raised:
        store.checkout.place_order(token, idempotency_key="to-japan")
    assert raised.value.field == "shipping_address"
    assert raised.value.skus == ("LAMP", "RETRO-MUG")
    assert store.inventory.available("LAMP") == 100  # nothing held
    # Addressed to Germany, the same cart is served.
    store.checkout.set_shipping_address(token, ADDRESS)
    assert store.checkout.summary(token).unservable == ()
    assert store.checkout.place_order(token, idempotency_key="to-berlin").status.value == "open"


def test_stock_missing_everywhere_is_a_stock_problem_not_a_shipping_one(store: Store) -> None:
    stored_shipping(store)
    token = cart_to(store, {"LAMP": 101}, ADDRESS)
    assert store.checkout.summary(token).unservable == ()


def test_an_expired_rate_is_refused_at_place_order_until_chosen_again(
    store: Store, clock: FixedClock
) -> None:
    stored_shipping(store)
    token = cart_to(store, {"LAMP": 1}, ADDRESS)
    store.checkout.choose_shipping(token, {"method_id": "dhl"})
    store.checkout.set_payment_method(token, {"gateway": "test", "token": "tok_success"})
    store.checkout.summary(token)
    clock.advance(RATE_VALID_FOR)

    with pytest.raises(RateExpired) as raised:
        store.checkout.place_order(token, idempotency_key="late")
    assert (raised.value.field, raised.value.method_id) == ("shipping", "dhl")
    assert store.inventory.available("LAMP") == 100  # nothing held

    store.checkout.choose_shipping(token, {"method_id": "dhl"})
    assert store.checkout.place_order(token, idempotency_key="again").status.value == "open"


def free_shipping_promotion(store: Store) -> None:
    store.catalog.add_promotion(
        Promotion(id="ship-free", name="Free shipping", benefit=FreeShipping())
    )


@pytest.mark.parametrize("lamps", [1, 4], ids=["charged", "over the threshold"])
def test_a_free_shipping_promotion_and_a_free_over_method_never_double(
    store: Store, lamps: int
) -> None:
    stored_shipping(store)
    free_shipping_promotion(store)
    token = cart_to(store, {"LAMP": lamps}, {**ADDRESS, "postal_code": "80331"})
    store.checkout.choose_shipping(token, {"method_id": "dhl"})

    breakdown = store.checkout.summary(token).breakdown

    goods = sum(line.total_units for line in breakdown.lines)
    assert breakdown.shipping_units - breakdown.shipping_discount_units == 0
    assert breakdown.shipping_discount_units == breakdown.shipping_units  # never beyond it
    assert breakdown.shipping_tax_units == 0
    assert breakdown.grand_total_units == goods
    assert breakdown.shipping_units == (490 if lamps == 1 else 0)


def test_the_free_over_threshold_counts_goods_after_their_discounts(store: Store) -> None:
    stored_shipping(store)
    store.catalog.add_promotion(
        Promotion(
            id="lamps-half",
            name="Half-price lamps",
            target=ItemFilter(skus=["LAMP"]),
            benefit=PercentOffLines(50),
        )
    )
    # Four lamps are 120.00 of goods, 60.00 once halved: under the 100.00 threshold.
    token = cart_to(store, {"LAMP": 4}, {**ADDRESS, "postal_code": "80331"})
    assert [(r.method_id, r.price_units) for r in store.checkout.rates(token)] == [("dhl", 990)]


def test_a_carrier_quoted_method_is_priced_by_the_carriers_parcels(
    store_url: str, clock: FixedClock
) -> None:
    config = {**CONFIG, "carriers": {"sandbox": {"plugin": "sandbox"}}}
    with Store.open(store_url, config=config, clock=clock) as shop:
        seed(shop)
        stored_shipping(shop)
        shop.catalog.add_delivery_method(
            DeliveryMethod(
                id="sandbox-express",
                name="Sandbox express",
                zone_ids=["de"],
                carrier="sandbox",
                service="express",
            )
        )
        with pytest.raises(UnknownCarrier):
            shop.catalog.add_delivery_method(
                DeliveryMethod(id="ghost", name="Ghost", zone_ids=["de"], carrier="ghost")
            )
        # Two lamps (8 kg): one sandbox parcel, 9.90 and 1.50 per started kg past the first.
        token = cart_to(shop, {"LAMP": 2}, {**ADDRESS, "postal_code": "80331"})
        rates = {r.method_id: r for r in shop.checkout.rates(token)}
        express = rates["sandbox-express"]
        assert express.price_units == 990 + 150 * 7
        assert (express.earliest, express.latest) == (
            clock.now().date() + timedelta(days=1),
            clock.now().date() + timedelta(days=2),
        )
        shop.checkout.choose_shipping(token, {"method_id": "sandbox-express"})
        summary = shop.checkout.summary(token)
        assert summary.breakdown.shipping_units == express.price_units
        # Nine lamps weigh 36 kg: two parcels under the sandbox's 30 kg limit.
        shop.carts.change_quantity(token, "LAMP", 9)
        two = {r.method_id: r for r in shop.checkout.rates(token)}["sandbox-express"]
        assert two.price_units > express.price_units


def test_a_method_needs_rules_or_a_carrier() -> None:
    with pytest.raises(InvalidInput) as raised:
        DeliveryMethod(id="none", name="Nothing", zone_ids=["de"])
    assert raised.value.field == "rules"
