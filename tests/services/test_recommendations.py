"""Recommendations on a real store: learnt from the orders that shipped, served from
stored lists, filled with best sellers, and never a product off sale."""

from __future__ import annotations

from datetime import timedelta

import pytest

from commercekit import Category, Money, Product, StockLocation, Variant
from commercekit.adapters.clock import FixedClock
from commercekit.domain.errors import InvalidInput, NotFound
from commercekit.domain.marketing.recommendations import Reason
from commercekit.store import Store
from tests.services.conftest import ready_cart

#: Orders, each the SKUs it holds: the mug and the clock go together.
ORDERS = [
    {"RETRO-MUG": 1, "RETRO-CLOCK": 1},
    {"RETRO-MUG": 1, "RETRO-CLOCK": 1},
    {"KETTLE": 1},
    {"KETTLE": 1},
    {"KETTLE": 1, "LAMP": 1},
]


@pytest.fixture
def shop(store: Store) -> Store:
    store.catalog.add_category(Category(id="living", name="Living"))
    for product_id, sku, category in (("kettle", "KETTLE", "kitchen"), ("lamp", "LAMP", "living")):
        store.catalog.add_product(
            Product(
                id=product_id,
                name=product_id.title(),
                category_ids=[category],
                variants=[Variant(sku=sku)],
            )
        )
        store.catalog.publish(product_id)
        store.catalog.set_price("eu", sku, Money("20.00", "EUR"))
    store.inventory.add_location(StockLocation(id="main", name="Main"))
    for sku in ("RETRO-MUG", "RETRO-CLOCK", "KETTLE", "LAMP"):
        store.inventory.receive(sku, "main", 100)
    for n, lines in enumerate(ORDERS):
        cart = ready_cart(store, lines=lines)
        order = store.checkout.place_order(cart.token, idempotency_key=f"order-{n}")
        store.inventory.consume(order.id)
    return store


def shown(found: list) -> list[tuple[str, Reason]]:  # type: ignore[type-arg]
    return [(r.product_id, r.reason) for r in found]


def test_nothing_is_recommended_before_the_first_build(shop: Store) -> None:
    assert shop.recommendations.for_product("mug") == []
    assert shop.recommendations.model() is None


def test_bought_together_then_best_sellers_of_its_category_then_the_store(shop: Store) -> None:
    head = shop.recommendations.rebuild()
    assert (head.build, head.baskets) == (1, 5)
    found = shop.recommendations.for_product("mug", 3)
    assert shown(found) == [
        ("clock", Reason.BOUGHT_TOGETHER),
        ("kettle", Reason.BEST_SELLER),
        ("lamp", Reason.BEST_SELLER),
    ]
    # Two of five orders hold both; each is in two: (2/5) / (2/5 x 2/5) = 2.5.
    assert str(found[0].lift) == "2.5000"
    assert found[0].support == 2


def test_a_product_off_sale_is_never_recommended(shop: Store) -> None:
    shop.recommendations.rebuild()
    shop.catalog.archive("lamp")
    assert shown(shop.recommendations.for_product("mug", 3)) == [
        ("clock", Reason.BOUGHT_TOGETHER),
        ("kettle", Reason.BEST_SELLER),
    ]


def test_a_cart_gets_what_goes_with_it_and_nothing_it_holds(shop: Store) -> None:
    shop.recommendations.rebuild()
    cart = shop.carts.create("EUR")
    shop.carts.add(cart.token, "RETRO-MUG", 1)
    assert shown(shop.recommendations.for_cart(cart.token, 2)) == [
        ("clock", Reason.BOUGHT_TOGETHER),
        ("kettle", Reason.BEST_SELLER),
    ]
    shop.carts.add(cart.token, "RETRO-CLOCK", 1)
    assert [r.product_id for r in shop.recommendations.for_cart(cart.token, 4)] == [
        "kettle",
        "lamp",
    ]


def test_viewed_together_comes_from_the_sessions_handed_in(shop: Store) -> None:
    sessions = [["mug", "lamp"], ["mug", "lamp"], ["kettle"], ["clock"]]
    shop.recommendations.rebuild(views=sessions)
    assert shown(shop.recommendations.viewed_with("mug", 1)) == [("lamp", Reason.VIEWED_TOGETHER)]


def test_a_new_build_replaces_the_lists_and_leaves_none_stale(
    shop: Store, clock: FixedClock
) -> None:
    shop.recommendations.rebuild()
    clock.advance(timedelta(days=60))
    head = shop.recommendations.rebuild(days=30)
    assert (head.build, head.slot, head.baskets) == (2, "b", 0)
    # No sale in the last 30 days: no pair, no best seller.
    assert shop.recommendations.for_product("mug") == []
    head = shop.recommendations.rebuild(days=365)
    assert (head.build, head.slot) == (3, "a")
    assert shop.recommendations.for_product("mug", 1)[0].product_id == "clock"


@pytest.mark.parametrize("k", [0, 51, 2.5, "many", None])
def test_k_out_of_range_is_refused(shop: Store, k: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        shop.recommendations.for_product("mug", k)  # type: ignore[arg-type]
    assert caught.value.field == "k"


def test_an_unknown_product_is_not_found(shop: Store) -> None:
    with pytest.raises(NotFound) as caught:
        shop.recommendations.for_product("teapot")
    assert caught.value.field == "product_id"


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"days": 0}, "days"),
        ({"min_support": 0}, "min_support"),
        ({"views": "mug"}, "views"),
        ({"views": ["mug"]}, "views"),
        ({"views": [[1, 2]]}, "views"),
    ],
)
def test_a_rebuild_checks_what_it_is_handed(
    shop: Store, arguments: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        shop.recommendations.rebuild(**arguments)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert shop.recommendations.model() is None
