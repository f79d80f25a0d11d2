"""Search through a store: the index follows the catalogue's events, on memory,
SQLite and PostgreSQL alike."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from commercekit import Category, Money, Product, StockLocation, Variant
from commercekit.adapters.clock import FixedClock
from commercekit.domain.catalog import ProductText
from commercekit.domain.errors import ConfigurationError
from commercekit.ports.search import FacetRequest, SearchQuery
from commercekit.store import Store
from tests.conftest import POSTGRES_URL_VARIABLE, fresh_postgres_schema
from tests.services.conftest import CONFIG, START


def backends() -> list[str]:
    found = ["memory", "sqlite"]
    if os.environ.get(POSTGRES_URL_VARIABLE) or os.environ.get("CI") == "true":
        found.append("postgresql")
    return found


@pytest.fixture(params=backends())
def shop(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    kind = request.param
    plugin = "memory" if kind == "memory" else "sql"
    config = {**CONFIG, "search": {"plugin": plugin}}
    if kind == "postgresql":
        with (
            fresh_postgres_schema() as url,
            Store.open(url, config=config, clock=FixedClock(START)) as store,
        ):
            yield store
        return
    url = "memory://" if kind == "memory" else f"sqlite:///{tmp_path / 'shop.db'}"
    with Store.open(url, config=config, clock=FixedClock(START)) as store:
        yield store


def stocked(shop: Store) -> None:
    shop.catalog.add_category(Category(id="kitchen", name="Kitchen"))
    shop.catalog.add_category(Category(id="kettles", name="Kettles", parent_id="kitchen"))
    shop.catalog.add_price_list("eu", "EUR")
    shop.inventory.add_location(StockLocation(id="berlin", name="Berlin"))
    for pid, name, category, text in (
        ("kettle", "Cast-iron kettle", "kettles", "Heavy, keeps tea warm."),
        ("mug", "Crème mug", "kitchen", "A mug for a kettle's worth of tea."),
        ("lamp", "Desk lamp", "kitchen", "Bright."),
    ):
        shop.catalog.add_product(
            Product(
                id=pid,
                name=name,
                description=text,
                category_ids=[category],
                variants=[Variant(sku=pid.upper())],
                translations={"de": ProductText(name=f"{name} (de)")},
            )
        )
        shop.catalog.publish(pid)
    shop.catalog.set_price("eu", "KETTLE", Money("64.00", "EUR"))
    shop.catalog.set_price("eu", "MUG", Money("9.00", "EUR"))
    shop.catalog.set_price("eu", "LAMP", Money("30.00", "EUR"))
    shop.inventory.receive("KETTLE", "berlin", 3)


def test_the_index_follows_the_catalogue_and_its_stock(shop: Store) -> None:
    stocked(shop)

    found = shop.search.search(SearchQuery(text="kettle"))
    assert found.product_ids == ("kettle", "mug")  # a title match above a body match
    assert shop.search.search(SearchQuery(text="creme")).product_ids == ("mug",)
    assert shop.search.search(SearchQuery(text="ket", prefix=True)).total == 2
    faceted = shop.search.search(
        SearchQuery(
            category_id="kitchen",
            in_stock_only=False,
            facets=FacetRequest(categories=True, in_stock=True),
        )
    )
    assert faceted.total == 3
    counts = {f.value: f.count for f in faceted.facets["in_stock"]}
    assert counts == {"true": 1, "false": 2}

    shop.inventory.receive("MUG", "berlin", 5)  # StockChanged: the mug is in stock now
    in_stock = shop.search.search(SearchQuery(in_stock_only=True))
    assert in_stock.product_ids == ("kettle", "mug")
    shop.catalog.update_product("lamp", {"name": "Kettle lamp"})
    assert shop.search.search(SearchQuery(text="kettle")).product_ids[0] in ("kettle", "lamp")
    assert "lamp" in shop.search.search(SearchQuery(text="kettle")).product_ids
    assert shop.search.search(SearchQuery(text="kettle", locale="de")).total >= 1
    assert shop.search.reindex() == 3


def test_a_store_without_search_says_so() -> None:
    with (
        Store.open("memory://", config=CONFIG) as store,
        pytest.raises(ConfigurationError) as refused,
    ):
        store.search.search(SearchQuery(text="mug"))
    assert refused.value.field == "search"
