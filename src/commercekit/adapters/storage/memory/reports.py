"""Reports on the memory storage: its committed objects, read as facts, summed by the
reference definitions themselves (:mod:`commercekit.domain.reports.reference`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, final

from commercekit.adapters.storage.memory.tables import Committed
from commercekit.domain.catalog import Category, Product
from commercekit.domain.errors import NotFound
from commercekit.domain.inventory import MovementKind, StockItem, StockMovement
from commercekit.domain.marketing.abandoned import CartRecovery
from commercekit.domain.orders import Order
from commercekit.domain.pricing import PriceList
from commercekit.domain.promotions import Coupon, Promotion
from commercekit.domain.reports import (
    CartRecoveries,
    CategorySales,
    ChannelSales,
    DiscountUse,
    Granularity,
    Period,
    ProductSales,
    ReasonReturns,
    SalesBucket,
    SkuReturns,
    StockLevel,
    reference,
)
from commercekit.domain.reports.reference import (
    Catalogue,
    LineFact,
    RecoveryFact,
    ReturnFact,
    SaleFact,
    SoldFact,
    StockFact,
)
from commercekit.domain.returns import Return

__all__ = ["MemoryReports"]

T = TypeVar("T")


def _sale(order: Order, coupons: dict[str, str], used: list[str]) -> SaleFact:
    totals = order.totals
    return SaleFact(
        order_id=order.id,
        placed_at=order.placed_at,
        status=order.status.value,
        channel=order.channel or "",
        currency=order.currency,
        subtotal_units=totals.subtotal_units,
        discount_units=totals.discount_units,
        shipping_units=totals.shipping_units,
        tax_units=totals.tax_units,
        grand_total_units=totals.grand_total_units,
        lines=tuple(
            LineFact(
                sku=line.sku,
                product_id=line.product_id,
                quantity=line.quantity,
                subtotal_units=line.subtotal_units,
                discount_units=line.discount_units,
                tax_units=line.tax_units,
                total_units=line.total_units,
                adjustments=line.adjustments,
            )
            for line in order.lines
        ),
        coupons=tuple((code, coupons[code]) for code in used if code in coupons),
    )


def _return(found: Return) -> ReturnFact:
    return ReturnFact(
        return_id=found.id,
        order_id=found.order_id,
        status=found.status.value,
        lines=tuple((line.sku, line.quantity, line.reason.value) for line in found.lines),
    )


def _recovery(found: CartRecovery) -> RecoveryFact:
    return RecoveryFact(
        cart_id=found.cart_id,
        watched_at=found.watched_at,
        status=found.status.value,
        notices=len(found.notices),
        restores=found.restores,
        currency=found.currency,
        revenue_units=found.revenue_units,
    )


@final
class MemoryReports:
    """The memory storage's report source."""

    def __init__(self, storage: Committed) -> None:
        self._storage = storage

    def _read(self, build: Callable[[dict[str, dict[Any, Any]]], T]) -> T:
        """``build`` run on the committed tables, under the storage's lock (commits
        replace stored objects and never change them, so facts built here hold)."""
        with self._storage.lock:
            return build(self._storage.tables)

    def _sales(self) -> list[SaleFact]:
        def build(tables: dict[str, dict[Any, Any]]) -> list[SaleFact]:
            coupons = {
                code: coupon.promotion_id
                for code, coupon in tables["coupons"].items()
                if isinstance(coupon, Coupon)
            }
            used: dict[str, list[str]] = {}
            for order_id, code in tables["coupon_uses"]:
                used.setdefault(order_id, []).append(code)
            return [
                _sale(order, coupons, used.get(order.id, []))
                for order in tables["orders"].values()
                if isinstance(order, Order)
            ]

        return self._read(build)

    def _returns(self) -> list[ReturnFact]:
        return self._read(
            lambda tables: [
                _return(found) for found in tables["records"].values() if isinstance(found, Return)
            ]
        )

    def _catalogue(self) -> Catalogue:
        def build(tables: dict[str, dict[Any, Any]]) -> Catalogue:
            products = [p for p in tables["products"].values() if isinstance(p, Product)]
            categories = {
                c.id: c.name for c in tables["categories"].values() if isinstance(c, Category)
            }
            return Catalogue(
                product_names={p.id: p.name for p in products},
                product_categories={
                    p.id: tuple(dict.fromkeys(c for c in p.category_ids if c in categories))
                    for p in products
                },
                category_names=categories,
                promotion_names={
                    p.id: p.name for p in tables["promotions"].values() if isinstance(p, Promotion)
                },
            )

        return self._read(build)

    def sales_over_time(self, period: Period, granularity: Granularity) -> list[SalesBucket]:
        return reference.sales_over_time(self._sales(), period, granularity)

    def sales_by_product(self, period: Period, limit: int | None = None) -> list[ProductSales]:
        return reference.sales_by_product(self._sales(), period, self._catalogue(), limit)

    def sales_by_category(self, period: Period) -> list[CategorySales]:
        return reference.sales_by_category(self._sales(), period, self._catalogue())

    def sales_by_channel(self, period: Period) -> list[ChannelSales]:
        return reference.sales_by_channel(self._sales(), period)

    def discounts(self, period: Period) -> list[DiscountUse]:
        return reference.discounts(self._sales(), period, self._catalogue())

    def returns_by_product(self, period: Period) -> list[SkuReturns]:
        return reference.returns_by_product(self._sales(), self._returns(), period)

    def returns_by_reason(self, period: Period) -> list[ReasonReturns]:
        return reference.returns_by_reason(self._sales(), self._returns(), period)

    def stock(self, period: Period, price_list_id: str | None = None) -> list[StockLevel]:
        def build(
            tables: dict[str, dict[Any, Any]],
        ) -> tuple[list[StockFact], list[SoldFact], PriceList | None]:
            items = [
                StockFact(
                    sku=item.sku,
                    location_id=item.location_id,
                    on_hand=item.on_hand,
                    reserved=item.reserved,
                )
                for item in tables["stock_items"].values()
                if isinstance(item, StockItem)
            ]
            sold = [
                SoldFact(sku=move.sku, quantity=-move.quantity, at=move.at)
                for move in tables["stock_movements"].values()
                if isinstance(move, StockMovement) and move.kind is MovementKind.SALE
            ]
            price_list = None if price_list_id is None else tables["price_lists"].get(price_list_id)
            return items, sold, price_list

        items, sold, price_list = self._read(build)
        if price_list_id is None:
            return reference.stock(items, sold, period)
        if not isinstance(price_list, PriceList):
            raise NotFound("price list", price_list_id, field="price_list_id")
        prices = {sku: entry.unit for sku, entry in price_list.entries().items()}
        return reference.stock(items, sold, period, currency=price_list.currency, prices=prices)

    def abandoned_carts(self, period: Period) -> list[CartRecoveries]:
        recoveries = self._read(
            lambda tables: [
                _recovery(found)
                for found in tables["records"].values()
                if isinstance(found, CartRecovery)
            ]
        )
        return reference.abandoned_carts(recoveries, period)
