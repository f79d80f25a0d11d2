"""Product types, option axes, translations, media, slugs and collections: the
catalogue's rules, decided in the domain."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from commercekit.domain.catalog import (
    AttributeSpec,
    Collection,
    CollectionRule,
    CollectionSort,
    Media,
    Product,
    ProductText,
    ProductType,
    SlugRecord,
    Variant,
    claim_slug,
)
from commercekit.domain.errors import AlreadyExists, InvalidInput
from commercekit.domain.money import format_measure

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LAMP = ProductType(
    id="lamp",
    name="Lamp",
    attributes=(
        AttributeSpec(name="height", kind="number", unit="cm", required=True),
        AttributeSpec(name="dimmable", kind="boolean"),
        AttributeSpec(name="style", kind="choice", choices=("modern", "classic")),
        AttributeSpec(name="designed", kind="date"),
        AttributeSpec(name="material", kind="text"),
    ),
    variant_attributes=(AttributeSpec(name="bulb", kind="choice", choices=("E27", "GU10")),),
)


# --- typed attributes ------------------------------------------------------------------


def test_values_are_checked_and_kept_in_one_spelling_per_type() -> None:
    checked = LAMP.check_attributes(
        {
            "height": " 012.50 ",
            "dimmable": "Yes",
            "style": "modern",
            "designed": date(2025, 3, 1),
            "material": " brass ",
        }
    )
    assert checked == {
        "height": "12.5",
        "dimmable": "true",
        "style": "modern",
        "designed": "2025-03-01",
        "material": "brass",
    }
    assert LAMP.check_attributes({"height": Decimal("1E+2")})["height"] == "100"
    assert LAMP.check_attributes({"bulb": "E27"}, variant=True) == {"bulb": "E27"}


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"height": "tall"}, "attributes.height"),
        ({"height": "nan"}, "attributes.height"),
        ({"height": True}, "attributes.height"),
        ({"height": "10", "dimmable": "perhaps"}, "attributes.dimmable"),
        ({"height": "10", "style": "baroque"}, "attributes.style"),
        ({"height": "10", "designed": "01/03/2025"}, "attributes.designed"),
        ({"height": "10", "material": "\x00"}, "attributes.material"),
        ({"height": "10", "colour": "red"}, "attributes.colour"),
        ({}, "attributes.height"),
    ],
    ids=repr,
)
def test_a_value_its_type_refuses_names_the_attribute(
    values: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        LAMP.check_attributes(values)
    assert refused.value.field == field


def test_a_type_refuses_malformed_specs() -> None:
    with pytest.raises(InvalidInput):
        AttributeSpec(name="Colour", kind="text")
    with pytest.raises(InvalidInput):
        AttributeSpec(name="size", kind="choice")
    with pytest.raises(InvalidInput):
        AttributeSpec(name="size", kind="text", unit="cm")
    with pytest.raises(InvalidInput):
        ProductType(id="t", name="T", attributes=(LAMP.attributes[0], LAMP.attributes[0]))


@settings(deadline=None, max_examples=200)
@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, min_value=-(10**14), max_value=10**14, places=20
    )
)
# Found by hypothesis: normalize() rounded it to 28 digits.
@example(Decimal("5.1907920949389031951318381892E-7"))
def test_a_number_keeps_its_value_in_its_one_spelling(number: Decimal) -> None:
    spelt = LAMP.attributes[0].canonical(number, field="height")
    assert Decimal(spelt) == number
    assert "E" not in spelt
    assert LAMP.attributes[0].canonical(spelt, field="height") == spelt


def test_numbers_with_units_are_shown_per_locale() -> None:
    assert format_measure("12.5", "cm", "de_DE") == "12,5\u00a0cm"
    assert format_measure("1200", "g", "en_US") == "1,200\u00a0g"


# --- option axes -----------------------------------------------------------------------


def tee(*variants: Variant, axes: tuple[str, ...] = ("size", "colour")) -> Product:
    return Product(id="tee", name="Tee", option_axes=axes, variants=list(variants))


def test_every_variant_is_a_combination_of_its_own() -> None:
    tee(
        Variant(sku="TEE-M-RED", options={"size": "M", "colour": "red"}),
        Variant(sku="TEE-L-RED", options={"size": "L", "colour": "red"}),
    )
    with pytest.raises(InvalidInput) as refused:
        tee(
            Variant(sku="TEE-M-1", options={"size": "M", "colour": "red"}),
            Variant(sku="TEE-M-2", options={"colour": "red", "size": "M"}),
        )
    assert refused.value.field == "variants"
    with pytest.raises(InvalidInput):
        tee(Variant(sku="TEE-M", options={"size": "M"}))  # no colour
    with pytest.raises(InvalidInput):
        Product(
            id="tee",
            name="Tee",
            variants=[
                Variant(sku="A", options={"size": "M"}),
                Variant(sku="B", options={"size": "M"}),
            ],
        )


# --- translations ------------------------------------------------------------------------


def test_words_fall_back_from_the_most_particular_locale_to_the_products_own() -> None:
    product = Product(
        id="mug",
        name="Mug",
        description="A mug.",
        translations={
            "de": ProductText(name="Becher", description="Ein Becher."),
            "de_AT": ProductText(name="Häferl"),
        },
    )
    austria = product.text("de-AT")
    assert (austria.name, austria.description, austria.slug) == ("Häferl", "Ein Becher.", "haferl")
    assert product.text("de_CH").name == "Becher"
    assert product.text("fr").name == "Mug"
    assert product.text().slug == "mug"


# --- media -------------------------------------------------------------------------------


def test_media_show_only_the_products_own_variants_by_safe_locations() -> None:
    Product(
        id="mug",
        name="Mug",
        variants=[Variant(sku="MUG")],
        media=(Media(url="https://cdn.example/mug.jpg", alt="A mug", variant_skus=("MUG",)),),
    )
    with pytest.raises(InvalidInput):
        Product(
            id="mug",
            name="Mug",
            variants=[Variant(sku="MUG")],
            media=(Media(url="/img/x.jpg", variant_skus=("OTHER",)),),
        )
    for hostile in ("javascript:alert(1)", "data:image/png;base64,xx", "a b.jpg", '"><x'):
        with pytest.raises(InvalidInput):
            Media(url=hostile)


# --- slugs -------------------------------------------------------------------------------


def test_a_name_made_slug_is_numbered_and_a_merchants_own_refused_when_taken() -> None:
    taken = {
        "tee": SlugRecord("p1", True),
        "tee-2": SlugRecord("p2", True),
        "old": SlugRecord("p1", False),
    }
    assert claim_slug("p3", "tee", owner=taken.get, numbered=True) == "tee-3"
    assert claim_slug("p1", "tee", owner=taken.get, numbered=False) == "tee"
    assert claim_slug("p3", "old", owner=taken.get, numbered=False) == "old"  # a redirect
    with pytest.raises(AlreadyExists) as refused:
        claim_slug("p3", "tee", owner=taken.get, numbered=False)
    assert refused.value.field == "slug"


# --- collections -------------------------------------------------------------------------


def products() -> list[Product]:
    def made(pid: str, name: str, days: int, **kw: object) -> Product:
        return Product(
            id=pid,
            name=name,
            created_at=NOW - timedelta(days=days),
            variants=[Variant(sku=pid.upper())],
            **kw,  # type: ignore[arg-type]
        )

    return [
        made("a", "Anchor lamp", 30, category_ids=("lamps",), tags=("Summer",)),
        made("b", "Beacon lamp", 2, category_ids=("desk",), attributes={"style": "modern"}),
        made("c", "Candle", 1, category_ids=("decor",)),
    ]


def test_a_rule_gathers_by_category_tags_attributes_price_and_age() -> None:
    ancestors = {"desk": {"lamps"}}

    def categories(product: Product) -> frozenset[str]:
        found = set(product.category_ids)
        for each in product.category_ids:
            found |= ancestors.get(each, set())
        return frozenset(found)

    prices = {"A": 4_000, "B": 9_000, "C": 1_500}
    cases = [
        (CollectionRule(category_ids={"lamps"}), ["a", "b"]),
        (CollectionRule(tags={"summer"}), ["a"]),
        (CollectionRule(attributes={"style": ["modern"]}), ["b"]),
        (CollectionRule(currency="EUR", price_max_units=5_000), ["a", "c"]),
        (CollectionRule(new_since=NOW - timedelta(days=7)), ["b", "c"]),
    ]
    for rule, expected in cases:
        collection = Collection(id="x", name="X", rule=rule)
        found = collection.arrange(products(), categories=categories, prices=prices)
        assert [p.id for p in found] == expected, rule
    cheap_first = Collection(
        id="y",
        name="Y",
        rule=CollectionRule(category_ids={"lamps"}),
        sort=CollectionSort.PRICE_DESC,
    )
    found = cheap_first.arrange(products(), categories=categories, prices=prices)
    assert [p.id for p in found] == ["b", "a"]


def test_hand_picked_products_come_first_in_the_order_given() -> None:
    collection = Collection(
        id="x", name="X", product_ids=("c", "a"), rule=CollectionRule(tags={"summer"})
    )
    found = collection.arrange(products(), categories=lambda p: frozenset(), prices={})
    assert [p.id for p in found] == ["c", "a"]
    with pytest.raises(InvalidInput):
        CollectionRule(price_min_units=100)  # a price range names its currency
