"""The demo shop the storefront opens with: its configuration and its catalogue.

A tea shop in one channel (``web``, euros, English), German VAT, a coupon
(``TEAWEEK``: 10% off tea), two delivery methods within Germany, stock in one
warehouse, and the test gateway, so that a whole purchase can be tried with the
card tokens ``tok_success``, ``tok_declined`` and ``tok_requires_action``.
"""

from __future__ import annotations

from typing import Any, Final

from commercekit import (
    Category,
    Coupon,
    ItemFilter,
    Money,
    PercentOffLines,
    Product,
    Promotion,
    StockLocation,
    Store,
    TaxRate,
    TaxZone,
    Variant,
)
from commercekit.domain.catalog import Collection, CollectionRule, CollectionSort, Media
from commercekit.domain.shipping import DeliveryMethod, Flat, ShippingZone

#: An address in the demo's delivery zone (Berlin), for trying the checkout.
ADDRESS: Final = {
    "name": "Zoë Ünal",
    "company": "",
    "line1": "Weinbergsweg 12",
    "line2": "",
    "postal_code": "10119",
    "city": "Berlin",
    "country": "DE",
}
#: The categories the shop's navigation shows, in order: id and name.
CATEGORIES: Final = (("tea", "Tea"), ("teaware", "Teaware"))


def config(base_url: str) -> dict[str, Any]:
    """The demo store's configuration, its pages served from ``base_url``."""
    return {
        "store_name": "Teehaus demo",
        "prices_include_tax": True,
        "tax_origin_country": "DE",
        "channels": [{"id": "web", "currencies": ["EUR"], "locale": "en_IE"}],
        # A demo's own secret: a real shop reads it from its environment or a vault.
        "gateways": {"test": {"plugin": "test", "secrets": {"webhook_secret": "whsec_demo"}}},
        # Labels and tracking that follow the store's clock, so a parcel's journey
        # can be walked through in a demo or a test.
        "carriers": {"sandbox": {"plugin": "sandbox"}},
        "capture": "immediate",
        "search": {"plugin": "sql"},
        "storefront": {
            "base_url": base_url,
            "product_path": "/products/{slug}",
            "category_path": "/categories/{id}",
        },
    }


def _product(
    product_id: str,
    name: str,
    category: str,
    description: str,
    origin: str,
    variants: list[Variant],
    alt: str,
) -> Product:
    return Product(
        id=product_id,
        name=name,
        slug=product_id,
        category_ids=[category],
        description=description,
        attributes={"origin": origin},
        tax_category="food" if category == "tea" else "standard",
        media=(Media(url=f"/static/{product_id}.svg", alt=alt),),
        variants=variants,
    )


PRODUCTS: Final = (
    (
        _product(
            "sencha",
            "Sencha Kyoto",
            "tea",
            "A bright, grassy green tea from the hills south of Kyoto.",
            "Japan",
            [Variant(sku="SENCHA-100G", weight_grams=100)],
            "A paper bag of green tea leaves",
        ),
        "8.90",
        40,
    ),
    (
        _product(
            "assam",
            "Assam Breakfast",
            "tea",
            "A malty black tea that takes milk well.",
            "India",
            [Variant(sku="ASSAM-250G", weight_grams=250)],
            "A tin of black tea",
        ),
        "6.50",
        25,
    ),
    (
        _product(
            "kettle",
            "Cast-iron kettle",
            "teaware",
            "Holds heat for a second pot; enamelled inside.",
            "Japan",
            [Variant(sku="KETTLE-BLACK", options={"colour": "black"}, weight_grams=1400)],
            "A black cast-iron kettle with a bamboo handle",
        ),
        "64.00",
        3,
    ),
    (
        _product(
            "cups",
            "Stoneware cups (set of two)",
            "teaware",
            "Hand-glazed, no handles, 150 ml each.",
            "Germany",
            [Variant(sku="CUPS-GREY", options={"glaze": "grey"}, weight_grams=400)],
            "Two grey stoneware cups side by side",
        ),
        "24.00",
        0,
    ),
)


def seed(store: Store) -> None:
    """Fill an empty store with the demo catalogue."""
    for category_id, name in CATEGORIES:
        store.catalog.add_category(Category(id=category_id, name=name))
    store.catalog.add_price_list("eu", "EUR")
    store.inventory.add_location(StockLocation(id="berlin", name="Berlin warehouse", priority=1))
    for product, price, stock in PRODUCTS:
        store.catalog.add_product(product)
        store.catalog.publish(product.id)
        for variant in product.variants:
            store.catalog.set_price("eu", variant.sku, Money(price, "EUR"))
            if stock:
                store.inventory.receive(variant.sku, "berlin", stock)
    # One collection picked by hand, one gathered by a rule on the price.
    store.catalog.add_collection(
        Collection(
            id="first-pot",
            name="Everything for a first pot",
            description="A green tea, a kettle and the cups to pour it into.",
            product_ids=("sencha", "kettle", "cups"),
        )
    )
    store.catalog.add_collection(
        Collection(
            id="under-10",
            name="Under 10 euros",
            rule=CollectionRule(currency="EUR", price_max_units=999),
            sort=CollectionSort.PRICE_ASC,
        )
    )
    store.catalog.add_tax_zone(
        TaxZone(
            id="de",
            country="DE",
            rates=[
                TaxRate(name="VAT 19%", rate="0.19", category="standard"),
                TaxRate(name="VAT 7%", rate="0.07", category="food"),
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
    store.catalog.add_coupon(Coupon(code="TEAWEEK", promotion_id="tea-week"))
    store.catalog.add_shipping_zone(ShippingZone(id="de", countries=["DE"]))
    store.catalog.add_delivery_method(
        DeliveryMethod(
            id="standard",
            name="Standard parcel",
            zone_ids=["de"],
            rules={"EUR": Flat(490)},
            min_days=2,
            max_days=4,
        )
    )
    store.catalog.add_delivery_method(
        DeliveryMethod(
            id="express", name="Express", zone_ids=["de"], rules={"EUR": Flat(1290)}, max_days=1
        )
    )
