"""Shipping as data: zones, rate rules, delivery methods and packing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commercekit.domain.errors import InvalidInput
from commercekit.domain.shipping import (
    RATE_VALID_FOR,
    ByValue,
    ByWeight,
    DeliveryMethod,
    Flat,
    FreeOver,
    PackedUnit,
    ParcelLimits,
    ShippingZone,
    pack,
    quote_rates,
)

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
GERMANY = ShippingZone(id="de", countries=["DE"])
BERLIN = ShippingZone(id="berlin", countries=["DE"], postal_patterns=["10*", "12*", "13*"])
LONDON = ShippingZone(id="london-sw", countries=["GB"], postal_patterns=["SW1A ?AA"])


# --- zones -----------------------------------------------------------------------------


def test_a_zone_covers_its_countries_regions_and_postal_patterns() -> None:
    assert GERMANY.covers("DE")
    assert GERMANY.covers("de", postal_code="80331")
    assert not GERMANY.covers("AT")
    assert BERLIN.covers("DE", postal_code="10115")
    assert not BERLIN.covers("DE", postal_code="80331")
    assert not BERLIN.covers("DE")  # no postal code cannot match a pattern
    assert LONDON.covers("GB", postal_code="sw1a 1aa")
    assert LONDON.covers("GB", postal_code="SW1A-2AA")
    assert not LONDON.covers("GB", postal_code="SW1A 11A")
    bavaria = ShippingZone(id="by", countries=["DE"], regions=["BY"])
    assert bavaria.covers("DE", region="BY")
    assert not bavaria.covers("DE", region="BE")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"countries": []}, "countries"),
        ({"countries": ["Germany"]}, "countries"),
        ({"countries": ["DE"], "postal_patterns": ["10[0-4]*"]}, "postal_patterns"),
        ({"countries": ["DE"], "postal_patterns": ["1" * 21]}, "postal_patterns"),
    ],
)
def test_a_zone_refuses_what_cannot_be_one(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        ShippingZone(id="z", **kwargs)  # type: ignore[arg-type]
    assert raised.value.field == field


# --- rate rules ------------------------------------------------------------------------


def test_rules_price_by_weight_value_and_threshold() -> None:
    by_weight = ByWeight([(1_000, 490), (5_000, 690), (31_500, 1_590)])
    assert [by_weight.price_units(g, 0) for g in (0, 1_000, 1_001, 31_500)] == [
        490,
        490,
        690,
        1_590,
    ]
    assert by_weight.price_units(31_501, 0) is None
    by_value = ByValue([(0, 590), (5_000, 290), (10_000, 0)])
    assert [by_value.price_units(0, v) for v in (0, 4_999, 5_000, 25_000)] == [590, 590, 290, 0]
    assert ByValue([(1_000, 100)]).price_units(0, 999) is None
    free = FreeOver(5_000, Flat(490))
    assert free.price_units(100, 4_999) == 490
    assert free.price_units(100, 5_000) == 0


def test_tiers_must_rise() -> None:
    for tiers in ([], [(10, 1), (10, 2)], [(10, 1), (5, 2)], [(-1, 1)], [("x", 1)]):
        with pytest.raises(InvalidInput) as raised:
            ByWeight(tiers)  # type: ignore[arg-type]
        assert raised.value.field == "tiers"


@given(
    tiers=st.lists(
        st.tuples(st.integers(0, 100_000), st.integers(0, 10_000)),
        min_size=1,
        max_size=8,
        unique_by=lambda tier: tier[0],
    ),
    lighter=st.integers(0, 100_000),
    extra=st.integers(0, 100_000),
)
def test_a_heavier_shipment_never_costs_less_by_rising_weight_bands(
    tiers: list[tuple[int, int]], lighter: int, extra: int
) -> None:
    # Bands whose prices rise with the weight never charge a heavier shipment less.
    bounds = sorted(bound for bound, _ in tiers)
    prices = sorted(units for _, units in tiers)
    rule = ByWeight(list(zip(bounds, prices, strict=True)))
    light, heavy = rule.price_units(lighter, 0), rule.price_units(lighter + extra, 0)
    if heavy is not None:
        assert light is not None
        assert light <= heavy


# --- methods and rates -----------------------------------------------------------------

STANDARD = DeliveryMethod(
    id="dhl",
    name="DHL Paket",
    zone_ids=["de"],
    rules={"EUR": FreeOver(5_000, ByWeight([(2_000, 490), (10_000, 690)]))},
    location_ids=["berlin-wh"],
    min_days=1,
    max_days=3,
)
COURIER = DeliveryMethod(
    id="courier",
    name="Same-day courier",
    zone_ids=["berlin"],
    rules={"EUR": Flat(990)},
    min_days=0,
    max_days=0,
)
PICKUP = DeliveryMethod(
    id="pickup", name="Pick up in the shop", rules={"EUR": Flat(0)}, pickup_location="shop"
)
METHODS = [STANDARD, COURIER, PICKUP]
ZONES = [GERMANY, BERLIN]


def rates(**overrides: object) -> list[tuple[str, int]]:
    asked: dict[str, object] = {
        "country": "DE",
        "postal_code": "10115",
        "currency": "EUR",
        "weight_grams": 1_500,
        "subtotal_units": 2_000,
        "locations": ["berlin-wh", "shop"],
        "now": NOW,
    } | overrides
    return [(rate.method_id, rate.price_units) for rate in quote_rates(METHODS, ZONES, **asked)]  # type: ignore[arg-type]


def test_rates_come_from_the_methods_serving_the_address_cheapest_first() -> None:
    assert rates() == [("pickup", 0), ("dhl", 490), ("courier", 990)]
    assert rates(postal_code="80331") == [("pickup", 0), ("dhl", 490)]
    assert rates(country="JP") == [("pickup", 0)]
    assert rates(weight_grams=12_000) == [("pickup", 0), ("courier", 990)]
    assert rates(subtotal_units=5_000) == [("dhl", 0), ("pickup", 0), ("courier", 990)]
    assert rates(currency="JPY") == []


def test_a_method_is_offered_only_from_locations_that_can_serve_the_cart() -> None:
    assert rates(locations=["shop"]) == [("pickup", 0), ("courier", 990)]
    assert rates(locations=["berlin-wh"]) == [("dhl", 490), ("courier", 990)]
    assert rates(locations=[]) == []


def test_a_rate_carries_its_delivery_estimate_and_runs_out() -> None:
    quoted = quote_rates(
        [STANDARD],
        ZONES,
        country="DE",
        currency="EUR",
        weight_grams=100,
        subtotal_units=100,
        locations=["berlin-wh"],
        now=NOW,
    )
    assert len(quoted) == 1
    rate = quoted[0]
    assert (rate.earliest, rate.latest) == (date(2026, 12, 2), date(2026, 12, 4))
    assert rate.is_valid(NOW + RATE_VALID_FOR - timedelta(seconds=1))
    assert not rate.is_valid(NOW + RATE_VALID_FOR)


def test_a_method_refuses_what_cannot_be_one() -> None:
    with pytest.raises(InvalidInput) as raised:
        DeliveryMethod(id="x", name="X", rules={"EUR": Flat(1)})
    assert raised.value.field == "zone_ids"
    with pytest.raises(InvalidInput) as raised:
        DeliveryMethod(id="x", name="X", zone_ids=["de"], rules={}, min_days=1)
    assert raised.value.field == "rules"
    with pytest.raises(InvalidInput) as raised:
        DeliveryMethod(
            id="x", name="X", zone_ids=["de"], rules={"EUR": Flat(1)}, min_days=3, max_days=2
        )
    assert raised.value.field == "max_days"
    with pytest.raises(InvalidInput):
        quote_rates(
            METHODS,
            ZONES,
            country="DE",
            currency="EUR",
            weight_grams=1,
            subtotal_units=1,
            locations=[],
            now=datetime(2026, 12, 1),  # naive
        )


# --- packing ---------------------------------------------------------------------------

LIMITS = ParcelLimits(max_weight_grams=10_000, max_sides_mm=(600, 400, 400))


def test_units_are_packed_heaviest_first_into_the_first_parcel_they_fit() -> None:
    units = [PackedUnit(sku="LAMP", weight_grams=6_000)] * 2 + [
        PackedUnit(sku="MUG", weight_grams=400)
    ] * 5
    parcels = pack(units, LIMITS)
    assert [parcel.weight_grams for parcel in parcels] == [8_000, 6_000]
    assert parcels[0].quantities() == {"LAMP": 1, "MUG": 5}


def test_a_unit_too_heavy_or_too_long_for_any_parcel_is_refused() -> None:
    for unit in (
        PackedUnit(sku="ANVIL", weight_grams=10_001),
        PackedUnit(sku="POLE", weight_grams=100, sides_mm=(50, 50, 601)),
    ):
        with pytest.raises(InvalidInput) as raised:
            pack([unit], LIMITS)
        assert raised.value.field == "units"
    # Turned on its side, a long flat box fits.
    assert pack([PackedUnit(sku="BOARD", weight_grams=1, sides_mm=(10, 600, 300))], LIMITS)


@given(
    weights=st.lists(st.integers(0, 10_000), max_size=60),
    limit=st.integers(10_000, 40_000),
)
def test_packing_puts_every_unit_in_exactly_one_parcel_within_its_limit(
    weights: list[int], limit: int
) -> None:
    units = [PackedUnit(sku=f"S{n % 7}", weight_grams=w) for n, w in enumerate(weights)]
    parcels = pack(units, ParcelLimits(max_weight_grams=limit))
    packed = sorted((u.sku, u.weight_grams) for parcel in parcels for u in parcel.units)
    assert packed == sorted((u.sku, u.weight_grams) for u in units)
    assert all(parcel.weight_grams <= limit for parcel in parcels)
    assert all(parcel.units for parcel in parcels)
    # First fit: no two parcels could have been one.
    loads = sorted(parcel.weight_grams for parcel in parcels)
    assert len(loads) < 2 or loads[0] + loads[1] > limit or loads[0] == 0
