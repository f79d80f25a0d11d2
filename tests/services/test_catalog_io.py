"""Bulk import and export of the catalogue, as a merchant runs them: CSV and JSON
Lines, bad rows reported with their line and field while the good ones land, the
same file twice giving the same catalogue, and export then import giving it back."""

from __future__ import annotations

import io
import json

import pytest

from commercekit import StockLocation
from commercekit.domain.catalog import AttributeSpec, ProductType
from commercekit.store import Store

CSV = """\
product_id,name,type_id,state,category_ids,tags,option_axes,attr:height,sku,option:size,weight_grams,price:eu,stock:berlin
lamp,Anchor lamp,lamp,active,kitchen,summer;Desk,size,40.0,LAMP-S,S,900,29.90,5
lamp,Anchor lamp,lamp,active,kitchen,summer;Desk,size,40.0,LAMP-L,L,1400,39.90,2
vase,Vase,,draft,,,,,VASE,,,12.00,0
bad-height,Tall lamp,lamp,active,,,,very tall,TALL,,,10.00,1
bad-price,Cheap,,draft,,,,,CHEAP,,,12.345,1
two-rows,Pair,,draft,,,size,,PAIR-1,M,,5.00,1
two-rows,Pair,,draft,,,size,,PAIR-2,M,,5.00,1
"""


@pytest.fixture
def shop(store: Store) -> Store:
    store.catalog.add_product_type(
        ProductType(
            id="lamp",
            name="Lamp",
            attributes=(AttributeSpec(name="height", kind="number", unit="cm"),),
        )
    )
    store.inventory.add_location(StockLocation(id="berlin", name="Berlin"))
    return store


def exported(store: Store, format: str = "csv") -> str:
    out = io.StringIO()
    store.transfer.export_file(out, format)  # type: ignore[arg-type]
    return out.getvalue()


def test_good_rows_land_and_every_bad_row_is_named_with_its_line_and_field(shop: Store) -> None:
    report = shop.transfer.import_text(CSV)

    assert report.rows == 7
    assert report.products == 2
    assert [(e.line, e.field, e.message) for e in report.errors] == [
        (5, "attributes.height", "must be a number, got 'very tall'"),
        (6, "prices.eu", "12.345 is not a whole number of EUR minor units"),
        (7, "variants", "variants 'PAIR-1' and 'PAIR-2' are both size=M"),
    ]
    lamp = shop.catalog.product("lamp")
    assert lamp.attributes == {"height": "40"}
    assert lamp.tags == ("summer", "desk")
    assert [(v.sku, dict(v.options), v.weight_grams) for v in lamp.variants] == [
        ("LAMP-S", {"size": "S"}, 900),
        ("LAMP-L", {"size": "L"}, 1400),
    ]
    assert shop.inventory.available("LAMP-S") == 5
    assert shop.catalog.history("product", "lamp")[-1].action == "imported"
    for missing in ("bad-height", "bad-price", "two-rows"):
        assert missing not in [p.id for p in shop.catalog.list_products(limit=100).products]


def test_the_same_file_twice_gives_the_same_catalogue(shop: Store) -> None:
    shop.transfer.import_text(CSV)
    first = exported(shop)
    again = shop.transfer.import_text(CSV)
    assert again.products == 2
    assert again.stock_counts == 0  # counted to the same numbers: nothing moved
    assert exported(shop) == first


@pytest.mark.parametrize("format", ["csv", "jsonl"])
def test_export_then_import_gives_the_same_catalogue(
    shop: Store, store_url: str, format: str, tmp_path: object
) -> None:
    shop.transfer.import_text(CSV)
    text = exported(shop, format)
    with Store.open("memory://", config={"entry_point_plugins": False}) as other:
        other.catalog.add_product_type(shop.catalog.product_types()[0])
        other.inventory.add_location(StockLocation(id="berlin", name="Berlin"))
        for category in ("kitchen",):
            from commercekit import Category

            other.catalog.add_category(Category(id=category, name=category.title()))
        other.catalog.add_price_list("eu", "EUR")
        report = other.transfer.import_text(text, format)  # type: ignore[arg-type]
        assert report.ok, report.errors
        assert exported(other, format) == text


def test_json_lines_reports_a_line_that_is_not_json(shop: Store) -> None:
    good = {"product_id": "cup", "name": "Cup", "sku": "CUP", "prices": {"eu": "3.50"}}
    text = "\n".join([json.dumps(good), "{not json", json.dumps([1, 2])]) + "\n"
    report = shop.transfer.import_text(text, "jsonl")
    assert [(e.line, e.field) for e in report.errors] == [(2, "row"), (3, "row")]
    assert shop.catalog.product("cup").variants[0].sku == "CUP"
