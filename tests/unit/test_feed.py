"""The shopping feed, in the domain: Merchant Center's RSS 2.0 with its ``g:`` fields,
one item per variant, checked field by field; identifiers as Merchant Center asks;
what is left out and why; and the document written as the items are read."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Final

import attrs
import pytest

from commercekit.domain.catalog import Media, Product, PublicationState, Variant
from commercekit.domain.marketing.feed import (
    GOOGLE_NAMESPACE,
    FeedHeader,
    FeedItem,
    FeedReport,
    LeftOut,
    Reason,
    Shipping,
    ShippingRate,
    feed_chunks,
    feed_items,
    shipping_rates,
)
from commercekit.domain.marketing.offers import Availability, Offer
from commercekit.domain.marketing.seo import Storefront
from commercekit.domain.shipping import ByWeight, DeliveryMethod, Flat, ShippingZone

NOW: Final = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
G: Final = f"{{{GOOGLE_NAMESPACE}}}"
SHOP: Final = Storefront(base_url="https://shop.example")
HEADER: Final = FeedHeader(title="Retro & Co", link="https://shop.example/")


def lamp(**changes: object) -> Product:
    fields: dict[str, object] = {
        "id": "lamp",
        "name": "Desk lamp",
        "description": "Bright, with a linen shade.",
        "brand": "Lumen",
        "option_axes": ("colour",),
        "media": (
            Media(url="/img/lamp.jpg"),
            Media(url="/img/lamp-side.jpg"),
            Media(url="https://cdn.example/lamp-red.jpg", variant_skus=("LAMP-RED",)),
        ),
        "state": PublicationState.ACTIVE,
        "variants": [
            Variant(sku="LAMP-RED", options={"colour": "red"}, mpn="L-100-R", weight_grams=1200),
            Variant(sku="LAMP-BLUE", options={"colour": "blue"}, gtin="4006381333931"),
        ],
    }
    if "variants" in changes and "media" not in changes:
        fields["media"] = (Media(url="/img/lamp.jpg"),)  # none of another variant's
    fields.update(changes)
    return Product(**fields)  # type: ignore[arg-type]


def priced(
    sku: str, units: int, can: Availability = Availability.IN_STOCK, **sale: object
) -> Offer:
    return Offer(sku=sku, currency="EUR", regular_units=units, availability=can, **sale)  # type: ignore[arg-type]


def written(entries: Iterable[FeedItem | LeftOut], report: FeedReport | None = None) -> ET.Element:
    """The feed of ``entries``, parsed: its channel element."""
    document = b"".join(
        feed_chunks(entries, header=HEADER, report=report or FeedReport(currency="EUR"))
    )
    root = ET.fromstring(document)
    assert (root.tag, root.get("version")) == ("rss", "2.0")
    channel = root.find("channel")
    assert channel is not None
    return channel


def fields(item: ET.Element) -> dict[str, list[str]]:
    """An item's ``g:`` fields, each with its values in order."""
    found: dict[str, list[str]] = {}
    for child in item:
        assert child.tag.startswith(G), child.tag
        found.setdefault(child.tag.removeprefix(G), []).append(child.text or "")
    return found


def test_a_variant_on_sale_out_of_stock_without_a_gtin_is_written_field_by_field() -> None:
    ends = datetime(2026, 12, 4, 23, 0, tzinfo=UTC)
    offers = {
        "LAMP-RED": priced(
            "LAMP-RED",
            4990,
            Availability.OUT_OF_STOCK,
            sale_units=3990,
            sale_starts_at=NOW - timedelta(days=1),
            sale_ends_at=ends,
        ),
        "LAMP-BLUE": priced("LAMP-BLUE", 4990),
    }
    germany = Shipping(country="DE", service="Parcel", price_units=490, currency="EUR")

    items = feed_items(
        lamp(),
        offers,
        storefront=SHOP,
        now=NOW,
        currency="EUR",
        product_type="Home > Lighting",
        shipping=lambda variant, offer: [germany],
    )
    channel = written(items)

    assert channel.findtext("title") == "Retro & Co"
    assert channel.findtext("link") == "https://shop.example/"
    red, blue = channel.findall("item")
    assert fields(red) == {
        "id": ["LAMP-RED"],
        "item_group_id": ["lamp"],
        "title": ["Desk lamp (red)"],
        "description": ["Bright, with a linen shade."],
        "link": ["https://shop.example/products/desk-lamp?sku=LAMP-RED"],
        "image_link": ["https://cdn.example/lamp-red.jpg"],
        "additional_image_link": [
            "https://shop.example/img/lamp.jpg",
            "https://shop.example/img/lamp-side.jpg",
        ],
        "availability": ["out_of_stock"],
        "price": ["49.90 EUR"],
        "sale_price": ["39.90 EUR"],
        "sale_price_effective_date": ["2026-11-26T09:00+0000/2026-12-04T23:00+0000"],
        "brand": ["Lumen"],
        "mpn": ["L-100-R"],
        "condition": ["new"],
        "product_type": ["Home > Lighting"],
        "color": ["red"],
        "shipping_weight": ["1200 g"],
        "shipping": [""],
    }
    shipping = red.find(f"{G}shipping")
    assert shipping is not None
    assert {child.tag.removeprefix(G): child.text for child in shipping} == {
        "country": "DE",
        "service": "Parcel",
        "price": "4.90 EUR",
    }
    blue_fields = fields(blue)
    assert blue_fields["gtin"] == ["4006381333931"]
    assert blue_fields["availability"] == ["in_stock"]
    assert blue_fields["image_link"] == ["https://shop.example/img/lamp.jpg"]
    assert "sale_price" not in blue_fields
    assert "identifier_exists" not in blue_fields


@pytest.mark.parametrize(
    ("gtin", "brand", "mpn", "exists"),
    [
        ("4006381333931", "", "", True),
        ("4006381333931", "Lumen", "", True),
        ("", "Lumen", "L-100", True),
        ("", "Lumen", "", False),
        ("", "", "L-100", False),
        ("", "", "", False),
    ],
)
def test_an_item_is_identified_by_a_gtin_or_a_brand_and_mpn_else_says_none_exist(
    gtin: str, brand: str, mpn: str, exists: bool
) -> None:
    product = lamp(brand=brand, variants=[Variant(sku="LAMP", gtin=gtin, mpn=mpn)], option_axes=())
    (item,) = written(
        feed_items(
            product, {"LAMP": priced("LAMP", 4990)}, storefront=SHOP, now=NOW, currency="EUR"
        )
    ).findall("item")
    found = fields(item)
    assert ("identifier_exists" not in found) is exists
    if not exists:
        assert found["identifier_exists"] == ["no"]
    assert found.get("gtin", [""]) == [gtin]
    assert found.get("brand", [""]) == [brand]
    assert found.get("mpn", [""]) == [mpn]
    assert "item_group_id" not in found  # one variant: no group


def test_a_default_brand_stands_in_for_a_product_without_one() -> None:
    product = lamp(brand="", variants=[Variant(sku="LAMP", mpn="L-100")], option_axes=())
    (item,) = written(
        feed_items(
            product,
            {"LAMP": priced("LAMP", 4990)},
            storefront=SHOP,
            now=NOW,
            currency="EUR",
            brand="House",
        )
    ).findall("item")
    assert fields(item)["brand"] == ["House"]
    assert "identifier_exists" not in fields(item)


def test_a_yen_price_has_no_decimals() -> None:
    product = lamp(variants=[Variant(sku="LAMP")], option_axes=())
    yen = Offer(sku="LAMP", currency="JPY", regular_units=1200, availability=Availability.IN_STOCK)
    (item,) = written(
        feed_items(product, {"LAMP": yen}, storefront=SHOP, now=NOW, currency="JPY")
    ).findall("item")
    assert fields(item)["price"] == ["1200 JPY"]


def test_a_sale_ahead_goes_in_with_its_window_and_one_without_an_end_waits() -> None:
    starts, ends = NOW + timedelta(days=2), NOW + timedelta(days=9)
    product = lamp()
    offers = {
        "LAMP-RED": priced(
            "LAMP-RED", 4990, sale_units=2990, sale_starts_at=starts, sale_ends_at=ends
        ),
        "LAMP-BLUE": priced("LAMP-BLUE", 4990, sale_units=2990, sale_starts_at=starts),
    }
    red, blue = written(
        feed_items(product, offers, storefront=SHOP, now=NOW, currency="EUR")
    ).findall("item")
    assert fields(red)["sale_price_effective_date"] == [
        "2026-11-29T09:00+0000/2026-12-06T09:00+0000"
    ]
    assert "sale_price" not in fields(blue)
    on_now = {"LAMP-BLUE": priced("LAMP-BLUE", 4990, sale_units=2990)}
    (_, open_ended) = written(
        feed_items(product, {**offers, **on_now}, storefront=SHOP, now=NOW, currency="EUR")
    ).findall("item")
    assert fields(open_ended)["sale_price"] == ["29.90 EUR"]
    assert "sale_price_effective_date" not in fields(open_ended)


def test_what_is_left_out_is_reported_with_its_reason_code() -> None:
    report = FeedReport(currency="EUR")
    long_sku = "L" * 51
    entries = [
        *feed_items(
            lamp(id="draft", state=PublicationState.DRAFT),
            {},
            storefront=SHOP,
            now=NOW,
            currency="EUR",
        ),
        *feed_items(
            lamp(id="gone", state=PublicationState.ARCHIVED),
            {},
            storefront=SHOP,
            now=NOW,
            currency="EUR",
        ),
        *feed_items(
            lamp(id="later", available_from=NOW + timedelta(days=1)),
            {},
            storefront=SHOP,
            now=NOW,
            currency="EUR",
        ),
        *feed_items(
            lamp(id="bare", media=(), variants=[Variant(sku="BARE")], option_axes=()),
            {"BARE": priced("BARE", 100)},
            storefront=SHOP,
            now=NOW,
            currency="EUR",
        ),
        *feed_items(
            lamp(id="mute", description="", variants=[Variant(sku="MUTE")], option_axes=()),
            {"MUTE": priced("MUTE", 100)},
            storefront=SHOP,
            now=NOW,
            currency="EUR",
        ),
        *feed_items(
            lamp(id="long", variants=[Variant(sku=long_sku)], option_axes=()),
            {long_sku: priced(long_sku, 100)},
            storefront=SHOP,
            now=NOW,
            currency="EUR",
        ),
        # One variant priced, the other not: the priced one goes in.
        *feed_items(
            lamp(),
            {"LAMP-BLUE": priced("LAMP-BLUE", 100)},
            storefront=SHOP,
            now=NOW,
            currency="EUR",
        ),
    ]
    unlinked = FeedItem(
        product_id="ghost",
        id="GHOST",
        title="Ghost",
        description="Not there.",
        link="",
        image_link="https://shop.example/ghost.jpg",
        availability=Availability.IN_STOCK,
        currency="EUR",
        price_units=100,
    )
    nameless = attrs.evolve(unlinked, id="NAMELESS", link="https://shop.example/n", title="")

    channel = written([*entries, unlinked, nameless], report)

    assert [item.findtext(f"{G}id") for item in channel.findall("item")] == ["LAMP-BLUE"]
    assert report.items == 1
    reasons = [(each.product_id, each.sku, each.reason.value) for each in report.left_out]
    assert reasons == [
        ("draft", None, "unpublished"),
        ("gone", None, "unpublished"),
        ("later", None, "not_available"),
        ("bare", "BARE", "no_image"),
        ("mute", "MUTE", "no_description"),
        ("long", long_sku, "bad_id"),
        ("lamp", "LAMP-RED", "no_price"),
        ("ghost", "GHOST", "no_link"),
        ("ghost", "NAMELESS", "no_title"),
    ]
    assert report.counts == {
        "unpublished": 2,
        "not_available": 1,
        "no_image": 1,
        "no_description": 1,
        "bad_id": 1,
        "no_price": 1,
        "no_link": 1,
        "no_title": 1,
    }
    assert report.left_out[0].detail == "draft"
    assert report.complete
    assert {reason.value for reason in Reason} >= set(report.counts) | {"no_variants"}
    empty = feed_items(
        lamp(variants=[], option_axes=()), {}, storefront=SHOP, now=NOW, currency="EUR"
    )
    assert empty == [LeftOut("lamp", None, Reason.NO_VARIANTS)]


def test_every_required_field_missing_is_named_and_the_first_decides_the_reason() -> None:
    report = FeedReport(currency="EUR")
    hollow = FeedItem(
        product_id="hollow",
        id="HOLLOW",
        title="",
        description="",
        link="",
        image_link="",
        availability=Availability.IN_STOCK,
        currency="EUR",
        price_units=None,
    )
    written([hollow], report)
    (left,) = report.left_out
    assert left.reason is Reason.NO_TITLE
    for field in ("title", "description", "link", "image_link", "price in EUR"):
        assert field in left.detail


def test_a_report_lists_so_many_and_counts_them_all() -> None:
    report = FeedReport(currency="EUR", most_listed=2)
    drafts = (LeftOut(f"p{n}", None, Reason.UNPUBLISHED, "draft") for n in range(5))
    written(drafts, report)
    assert (len(report.left_out), report.left_out_count, report.complete) == (2, 5, False)


def test_text_xml_cannot_hold_is_dropped_and_a_long_title_cut() -> None:
    product = lamp(
        name="Lamp \x1b[2J " + "x" * 190,
        description="Bright\x08\x0b & <warm>",
        variants=[Variant(sku="LAMP")],
        option_axes=(),
    )
    (item,) = written(
        feed_items(product, {"LAMP": priced("LAMP", 100)}, storefront=SHOP, now=NOW, currency="EUR")
    ).findall("item")
    found = fields(item)
    assert found["description"] == ["Bright & <warm>"]
    assert found["title"][0].startswith("Lamp [2J x")
    assert len(found["title"][0]) == 150


def test_a_digital_variant_states_no_shipping() -> None:
    manual = lamp(variants=[Variant(sku="PDF", digital=True)], option_axes=())
    parcel = Shipping(country="DE", service="Parcel", price_units=490, currency="EUR")
    (item,) = written(
        feed_items(
            manual,
            {"PDF": priced("PDF", 500)},
            storefront=SHOP,
            now=NOW,
            currency="EUR",
            shipping=lambda variant, offer: [parcel],
        )
    ).findall("item")
    assert "shipping" not in fields(item)


def test_shipping_is_stated_for_whole_countries_the_methods_price_in_the_currency() -> None:
    zones = [
        ShippingZone(id="de", countries=["DE"]),
        ShippingZone(id="alps", countries=["AT", "CH"]),
        ShippingZone(id="paris", countries=["FR"], postal_patterns=["75*"]),
    ]
    methods = [
        DeliveryMethod(
            id="parcel",
            name="Parcel",
            rules={"EUR": ByWeight([(1000, 490), (5000, 990)])},
            zone_ids={"de", "alps"},
        ),
        DeliveryMethod(id="courier", name="Courier", rules={"EUR": Flat(1500)}, zone_ids={"paris"}),
        DeliveryMethod(
            id="pickup", name="Pickup", rules={"EUR": Flat(0)}, pickup_location="berlin"
        ),
        DeliveryMethod(id="yen", name="Yen post", rules={"JPY": Flat(800)}, zone_ids={"de"}),
        DeliveryMethod(id="carrier", name="Carrier", carrier="sandbox", zone_ids={"de"}),
    ]

    rates = shipping_rates(methods, zones, "eur")

    assert [(rate.country, rate.service) for rate in rates] == [
        ("AT", "Parcel"),
        ("CH", "Parcel"),
        ("DE", "Parcel"),
    ]
    assert rates[2].for_item(800, 4990) == Shipping(
        country="DE", service="Parcel", price_units=490, currency="EUR"
    )
    assert rates[2].for_item(1200, 4990) is not None
    assert rates[2].for_item(9000, 4990) is None  # too heavy for the parcel
    flat = ShippingRate(country="DE", service="Flat", currency="EUR", rule=Flat(0))
    assert flat.for_item(0, 0) == Shipping(
        country="DE", service="Flat", price_units=0, currency="EUR"
    )


def test_the_document_is_written_as_the_items_are_read() -> None:
    read = itertools.count()
    total = 20_000

    def items() -> Iterator[FeedItem]:
        template = FeedItem(
            product_id="lamp",
            id="LAMP-0",
            title="Desk lamp",
            description="Bright, with a linen shade.",
            link="https://shop.example/products/desk-lamp",
            image_link="https://shop.example/img/lamp.jpg",
            availability=Availability.IN_STOCK,
            currency="EUR",
            price_units=4990,
        )
        for n in range(total):
            next(read)
            yield attrs.evolve(template, id=f"LAMP-{n}")

    report = FeedReport(currency="EUR")
    chunks = feed_chunks(items(), header=HEADER, report=report, chunk_bytes=16 * 1024)

    first = next(chunks)
    consumed = next(read)
    assert first.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert 0 < consumed < total / 10
    assert len(first) < 20 * 1024
    rest = list(chunks)
    assert len(rest) > 10
    assert all(len(chunk) < 20 * 1024 for chunk in rest)
    assert report.items == total
    root = ET.fromstring(first + b"".join(rest))
    assert len(root.findall("channel/item")) == total
