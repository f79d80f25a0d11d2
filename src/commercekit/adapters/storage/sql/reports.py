"""Reports on SQL storage: one aggregate statement per report, on SQLite and
PostgreSQL alike.

Each statement returns the rows :mod:`commercekit.domain.reports.reference` defines,
in its order: the database groups and sums, and Python only reads the few rows that
come back (one per day, product, category...), never the orders. Two things differ
between the databases, and each has a small helper here:

- Time buckets. SQLite keeps a time as UTC text, so its date functions work on it
  as it is (``date(t, 'weekday 0', '-6 days')`` is the Monday of ``t``'s week);
  PostgreSQL truncates the ``timestamptz`` seen in UTC (``date_trunc`` weeks start on
  Monday too).
- JSON arrays. An order line's discounts (``[[promotion id, units], ...]``) and a
  return's lines are JSON: SQLite unnests them with ``json_each`` and reads them with
  ``json_extract``, PostgreSQL with ``json_array_elements`` and ``->>``; both count
  an array's elements with ``json_array_length`` (a cart recovery's reminders).

Text is sorted by code point, as Python sorts it: SQLite's default collation does,
PostgreSQL's is the database's locale, so PostgreSQL sorts with ``COLLATE "C"``.
Constants are written into the statements, not bound: PostgreSQL would take a bound
``date_trunc($1, ...)`` in the select list and another in ``GROUP BY`` for two
different expressions.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Final, final

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from commercekit.adapters.storage.sql import schema as t
from commercekit.adapters.storage.sql._database import _connect
from commercekit.adapters.storage.urls import shown_url
from commercekit.domain.errors import NotFound, StorageUnavailable
from commercekit.domain.marketing.abandoned import CartRecovery
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
)
from commercekit.domain.reports.reference import NOT_COUNTED, RECOVERED, RETURNS_NOT_COUNTED
from commercekit.domain.returns import Return

__all__ = ["SqlReports"]

_O, _L = t.orders.alias("o"), t.order_lines.alias("l")
_SINCE: Final = sa.bindparam("since", type_=t.UtcDateTime())
_UNTIL: Final = sa.bindparam("until", type_=t.UtcDateTime())
_ORDER_FIGURES: Final = (
    "orders",
    "units",
    "gross_units",
    "discount_units",
    "shipping_units",
    "tax_units",
    "revenue_units",
)
_LINE_FIGURES: Final = (
    "orders",
    "units",
    "gross_units",
    "discount_units",
    "tax_units",
    "revenue_units",
)


def _constant(value: str) -> sa.ColumnElement[Any]:
    """A string constant written into the statement (see the module's note)."""
    return sa.literal_column("'" + value.replace("'", "''") + "'")


def _statuses(values: frozenset[str]) -> list[sa.ColumnElement[Any]]:
    return [_constant(value) for value in sorted(values)]


def _counted(orders: sa.FromClause) -> sa.ColumnElement[bool]:
    """The orders a sales report counts: placed in the period, not cancelled."""
    return sa.and_(
        orders.c.placed_at >= _SINCE,
        orders.c.placed_at < _UNTIL,
        orders.c.status.not_in(_statuses(NOT_COUNTED)),
    )


@final
class _Dialect:
    """What differs between SQLite and PostgreSQL in these statements."""

    def __init__(self, name: str) -> None:
        self.postgresql = name == "postgresql"

    def text_order(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """``column`` as it sorts (and compares in ``MIN``) by code point."""
        return sa.collate(column, "C") if self.postgresql else column

    def bucket(self, at: sa.ColumnElement[Any], granularity: Granularity) -> sa.ColumnElement[Any]:
        """The first day (UTC) of the bucket the time ``at`` falls in, as a date."""
        if self.postgresql:
            in_utc = sa.func.timezone(_constant("UTC"), at)
            return sa.cast(sa.func.date_trunc(_constant(granularity.value), in_utc), sa.Date)
        modifiers = {
            Granularity.DAY: (),
            Granularity.WEEK: ("weekday 0", "-6 days"),
            Granularity.MONTH: ("start of month",),
        }[granularity]
        day = sa.func.date(at, *(_constant(m) for m in modifiers))
        return sa.type_coerce(day, sa.Date())

    def elements(self, array: sa.ColumnElement[Any], name: str) -> sa.TableValuedAlias:
        """The elements of the JSON array ``array``, as a table with one column,
        ``value``, to join beside the row that holds the array."""
        unnest = sa.func.json_array_elements if self.postgresql else sa.func.json_each
        return unnest(array).table_valued("value").alias(name)

    def item(self, element: sa.ColumnElement[Any], key: int | str) -> sa.ColumnElement[Any]:
        """The scalar at ``key`` (a position or a field) of a JSON element, as text
        or number."""
        if self.postgresql:
            index = str(key) if isinstance(key, int) else "'" + key + "'"
            return element.op("->>")(sa.literal_column(index))
        path = f"$[{key}]" if isinstance(key, int) else f"$.{key}"
        return sa.func.json_extract(element, _constant(path))

    def whole(self, value: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """A JSON number read by :meth:`item`, as a whole number."""
        return sa.cast(value, sa.BigInteger) if self.postgresql else value

    def field(self, document: sa.ColumnElement[Any], key: str) -> sa.ColumnElement[Any]:
        """The JSON value of ``key`` in a JSON object (for an array to unnest)."""
        if self.postgresql:
            return document.op("->")(_constant(key))
        return sa.func.json_extract(document, _constant(f"$.{key}"))

    def length(self, document: sa.ColumnElement[Any], key: str) -> sa.ColumnElement[Any]:
        """How many elements the JSON array at ``key`` in a JSON object has."""
        if self.postgresql:
            return sa.func.json_array_length(self.field(document, key))
        return sa.func.json_array_length(document, _constant(f"$.{key}"))


_NOUGHT: Final[sa.ColumnElement[Any]] = sa.literal_column("0")
_ONE: Final[sa.ColumnElement[Any]] = sa.literal_column("1")
_BLANK: Final = _constant("")


def _sum(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(column), _NOUGHT)


def _units_per_order() -> sa.Subquery:
    """Units on each counted order's lines."""
    lines, orders = t.order_lines.alias("ul"), t.orders.alias("uo")
    return (
        sa.select(lines.c.order_id, sa.func.sum(lines.c.quantity).label("units"))
        .select_from(lines.join(orders, sa.and_(orders.c.id == lines.c.order_id, _counted(orders))))
        .group_by(lines.c.order_id)
        .subquery("units")
    )


def _order_figures(dialect: _Dialect) -> tuple[sa.FromClause, list[sa.ColumnElement[Any]]]:
    """The orders to read and the sums over them. The units on each order's lines
    are summed by a grouped join on PostgreSQL (hashed in one pass), by a subquery
    per order on SQLite (its primary key lookups beat building the join)."""
    if dialect.postgresql:
        grouped = _units_per_order()
        source: sa.FromClause = _O.outerjoin(grouped, grouped.c.order_id == _O.c.id)
        units: sa.ColumnElement[Any] = grouped.c.units
    else:
        source = _O
        units = (
            sa.select(_sum(t.order_lines.c.quantity))
            .where(t.order_lines.c.order_id == _O.c.id)
            .scalar_subquery()
        )
    return source, [
        sa.func.count().label("orders"),
        _sum(units).label("units"),
        _sum(_O.c.subtotal_units).label("gross_units"),
        _sum(_O.c.discount_units).label("discount_units"),
        _sum(_O.c.shipping_units).label("shipping_units"),
        _sum(_O.c.tax_units).label("tax_units"),
        _sum(_O.c.grand_total_units).label("revenue_units"),
    ]


def _line_figures() -> list[sa.ColumnElement[Any]]:
    return [
        sa.func.count(sa.distinct(_L.c.order_id)).label("orders"),
        _sum(_L.c.quantity).label("units"),
        _sum(_L.c.subtotal_units).label("gross_units"),
        _sum(_L.c.discount_units).label("discount_units"),
        _sum(_L.c.tax_units).label("tax_units"),
        _sum(_L.c.total_units).label("revenue_units"),
    ]


def _counted_lines() -> sa.Join:
    return _L.join(_O, sa.and_(_O.c.id == _L.c.order_id, _counted(_O)))


@functools.cache
def _sales_over_time(dialect: _Dialect, granularity: Granularity) -> sa.Select[Any]:
    bucket = dialect.bucket(_O.c.placed_at, granularity).label("start")
    source, figures = _order_figures(dialect)
    return (
        sa.select(bucket, _O.c.currency, *figures)
        .select_from(source)
        .where(_counted(_O))
        .group_by(bucket, _O.c.currency)
        .order_by(bucket, dialect.text_order(_O.c.currency))
    )


@functools.cache
def _sales_by_channel(dialect: _Dialect) -> sa.Select[Any]:
    channel = sa.func.coalesce(_O.c.channel, _BLANK).label("channel")
    revenue = _sum(_O.c.grand_total_units)
    source, figures = _order_figures(dialect)
    return (
        sa.select(channel, _O.c.currency, *figures)
        .select_from(source)
        .where(_counted(_O))
        .group_by(channel, _O.c.currency)
        .order_by(dialect.text_order(_O.c.currency), revenue.desc(), dialect.text_order(channel))
    )


@functools.cache
def _sales_by_product(dialect: _Dialect, limited: bool) -> sa.Select[Any]:
    products = t.products.alias("p")
    name = sa.func.coalesce(products.c.name, _BLANK).label("name")
    grouped = (
        sa.select(
            _L.c.product_id.label("product_id"),
            name,
            _O.c.currency.label("currency"),
            *_line_figures(),
        )
        .select_from(_counted_lines().outerjoin(products, products.c.id == _L.c.product_id))
        .group_by(_L.c.product_id, products.c.name, _O.c.currency)
        .subquery("grouped")
    )
    g = grouped.c
    order = (
        dialect.text_order(g.currency),
        g.revenue_units.desc(),
        g.units.desc(),
        dialect.text_order(g.product_id),
    )
    columns = [g.product_id, g.name, g.currency, *(g[n] for n in _LINE_FIGURES)]
    if not limited:
        return sa.select(*columns).order_by(*order)
    rank = sa.func.row_number().over(partition_by=g.currency, order_by=order[1:]).label("place")
    ranked = sa.select(*columns, rank).subquery("ranked")
    r = ranked.c
    return (
        sa.select(*(r[c.name] for c in columns))
        .where(r.place <= sa.bindparam("limit", type_=sa.Integer()))
        .order_by(
            dialect.text_order(r.currency),
            r.revenue_units.desc(),
            r.units.desc(),
            dialect.text_order(r.product_id),
        )
    )


@functools.cache
def _sales_by_category(dialect: _Dialect) -> sa.Select[Any]:
    links, categories = t.product_categories.alias("pc"), t.categories.alias("c")
    category = sa.func.coalesce(links.c.category_id, _BLANK).label("category_id")
    name = sa.func.coalesce(categories.c.name, _BLANK).label("name")
    joined = (
        _counted_lines()
        .outerjoin(links, links.c.product_id == _L.c.product_id)
        .outerjoin(categories, categories.c.id == links.c.category_id)
    )
    return (
        sa.select(category, name, _O.c.currency, *_line_figures())
        .select_from(joined)
        .group_by(category, name, _O.c.currency)
        .order_by(
            dialect.text_order(_O.c.currency),
            _sum(_L.c.total_units).desc(),
            dialect.text_order(category),
        )
    )


@functools.cache
def _discounts(dialect: _Dialect) -> sa.Select[Any]:
    adjustment = dialect.elements(_L.c.adjustments, "adjustment")
    promotion = dialect.item(adjustment.c.value, 0)
    # Per order and promotion, with the order's currency and total carried along, so
    # that the orders are read once.
    taken = (
        sa.select(
            _L.c.order_id.label("order_id"),
            promotion.label("promotion_id"),
            _O.c.currency.label("currency"),
            _O.c.grand_total_units.label("revenue_units"),
            sa.func.sum(dialect.whole(dialect.item(adjustment.c.value, 1))).label("units"),
        )
        .select_from(_counted_lines().join(adjustment, sa.true()))
        .group_by(_L.c.order_id, promotion, _O.c.currency, _O.c.grand_total_units)
        .subquery("taken")
    )
    uses, coupons, orders = t.coupon_uses.alias("cu"), t.coupons.alias("k"), t.orders.alias("co")
    through = (
        sa.select(
            uses.c.order_id,
            coupons.c.promotion_id,
            sa.func.min(dialect.text_order(uses.c.code)).label("code"),
        )
        .select_from(
            uses.join(coupons, coupons.c.code == uses.c.code).join(
                orders, sa.and_(orders.c.id == uses.c.order_id, _counted(orders))
            )
        )
        .group_by(uses.c.order_id, coupons.c.promotion_id)
        .subquery("through")
    )
    promotions = t.promotions.alias("pr")
    name = sa.func.coalesce(promotions.c.name, _BLANK).label("name")
    coupon = sa.func.coalesce(through.c.code, _BLANK).label("coupon")
    discount = sa.func.sum(taken.c.units)
    joined = taken.outerjoin(
        through,
        sa.and_(
            through.c.order_id == taken.c.order_id,
            through.c.promotion_id == taken.c.promotion_id,
        ),
    ).outerjoin(promotions, promotions.c.id == taken.c.promotion_id)
    return (
        sa.select(
            taken.c.promotion_id,
            name,
            coupon,
            taken.c.currency,
            sa.func.count().label("orders"),
            discount.label("discount_units"),
            sa.func.sum(taken.c.revenue_units).label("revenue_units"),
        )
        .select_from(joined)
        .group_by(taken.c.promotion_id, name, coupon, taken.c.currency)
        .order_by(
            dialect.text_order(taken.c.currency),
            discount.desc(),
            dialect.text_order(taken.c.promotion_id),
            dialect.text_order(coupon),
        )
    )


def _returned_lines(dialect: _Dialect) -> sa.Subquery:
    """One row per line of a counted return of a counted order."""
    records = t.records.alias("r")
    line = dialect.elements(dialect.field(records.c.data, "lines"), "line")
    return (
        sa.select(
            records.c.id.label("return_id"),
            dialect.item(line.c.value, "sku").label("sku"),
            dialect.whole(dialect.item(line.c.value, "quantity")).label("quantity"),
            dialect.item(line.c.value, "reason").label("reason"),
        )
        .select_from(
            records.join(_O, sa.and_(_O.c.id == records.c.ref, _counted(_O))).join(line, sa.true())
        )
        .where(
            records.c.kind == _constant(Return.KIND),
            records.c.state.not_in(_statuses(RETURNS_NOT_COUNTED)),
        )
        .subquery("returned")
    )


@functools.cache
def _returns_by_product(dialect: _Dialect) -> sa.Select[Any]:
    lines = _returned_lines(dialect)
    per_sku = (
        sa.select(
            lines.c.sku,
            sa.func.sum(lines.c.quantity).label("returned"),
            sa.func.count(sa.distinct(lines.c.return_id)).label("returns"),
        )
        .group_by(lines.c.sku)
        .subquery("per_sku")
    )
    sold = (
        sa.select(_L.c.sku, sa.func.sum(_L.c.quantity).label("sold"))
        .select_from(_counted_lines())
        .where(_L.c.sku.in_(sa.select(per_sku.c.sku)))
        .group_by(_L.c.sku)
        .subquery("sold")
    )
    return (
        sa.select(
            per_sku.c.sku,
            sa.func.coalesce(sold.c.sold, _NOUGHT).label("sold"),
            per_sku.c.returned,
            per_sku.c.returns,
        )
        .select_from(per_sku.outerjoin(sold, sold.c.sku == per_sku.c.sku))
        .order_by(per_sku.c.returned.desc(), dialect.text_order(per_sku.c.sku))
    )


@functools.cache
def _returns_by_reason(dialect: _Dialect) -> sa.Select[Any]:
    lines = _returned_lines(dialect)
    units = sa.func.sum(lines.c.quantity)
    return (
        sa.select(
            lines.c.reason,
            sa.func.count(sa.distinct(lines.c.return_id)).label("returns"),
            units.label("units"),
        )
        .group_by(lines.c.reason)
        .order_by(units.desc(), dialect.text_order(lines.c.reason))
    )


@functools.cache
def _stock(dialect: _Dialect) -> sa.Select[Any]:
    items = (
        sa.select(
            t.stock_items.c.sku,
            sa.func.sum(t.stock_items.c.on_hand).label("on_hand"),
            sa.func.sum(t.stock_items.c.reserved).label("reserved"),
        )
        .group_by(t.stock_items.c.sku)
        .subquery("items")
    )
    moves = t.stock_movements
    sold = (
        sa.select(moves.c.sku, (-sa.func.sum(moves.c.quantity)).label("sold"))
        .where(
            moves.c.kind == _constant("sale"),
            moves.c.at >= _SINCE,
            moves.c.at < _UNTIL,
        )
        .group_by(moves.c.sku)
        .subquery("sold")
    )
    prices = t.prices
    joined = items.outerjoin(sold, sold.c.sku == items.c.sku).outerjoin(
        prices,
        sa.and_(
            prices.c.sku == items.c.sku,
            prices.c.price_list_id == sa.bindparam("price_list_id", type_=sa.String()),
        ),
    )
    return (
        sa.select(
            items.c.sku,
            items.c.on_hand,
            items.c.reserved,
            sa.func.coalesce(sold.c.sold, _NOUGHT).label("sold"),
            prices.c.unit_units,
        )
        .select_from(joined)
        .order_by(dialect.text_order(items.c.sku))
    )


_RECOVERY_FIGURES: Final = (
    "carts",
    "carts_reminded",
    "reminders",
    "carts_restored",
    "orders_recovered",
    "revenue_units",
)


def _how_many(condition: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """How many rows ``condition`` holds for."""
    return sa.func.sum(sa.case((condition, _ONE), else_=_NOUGHT))


@functools.cache
def _abandoned_carts(dialect: _Dialect) -> sa.Select[Any]:
    records = t.records.alias("cr")
    data = records.c.data
    # The record's state is its status (see CartRecovery.index).
    recovered = records.c.state == _constant(RECOVERED)
    # Each cart's figures first, then their sums per currency, grouped by the column
    # the subquery names rather than by its CASE written again.
    carts = (
        sa.select(
            sa.case(
                (recovered, sa.type_coerce(dialect.item(data, "currency"), sa.String())),
                else_=_BLANK,
            ).label("currency"),
            dialect.length(data, "notices").label("notices"),
            dialect.whole(dialect.item(data, "restores")).label("restores"),
            recovered.label("recovered"),
            sa.case(
                (recovered, dialect.whole(dialect.item(data, "revenue_units"))), else_=_NOUGHT
            ).label("revenue_units"),
        )
        .where(
            records.c.kind == _constant(CartRecovery.KIND),
            records.c.at >= _SINCE,
            records.c.at < _UNTIL,
        )
        .subquery("carts")
    )
    c = carts.c
    return (
        sa.select(
            c.currency,
            sa.func.count().label("carts"),
            _how_many(c.notices > _NOUGHT).label("carts_reminded"),
            sa.func.sum(c.notices).label("reminders"),
            _how_many(c.restores > _NOUGHT).label("carts_restored"),
            _how_many(c.recovered).label("orders_recovered"),
            sa.func.sum(c.revenue_units).label("revenue_units"),
        )
        .group_by(c.currency)
        .order_by(dialect.text_order(c.currency))
    )


_PRICE_LIST: Final = sa.select(t.price_lists.c.currency).where(
    t.price_lists.c.id == sa.bindparam("price_list_id", type_=sa.String())
)


def _ints(row: sa.RowMapping, names: Sequence[str]) -> dict[str, int]:
    # PostgreSQL sums BIGINT columns as NUMERIC: whole numbers all the same.
    return {name: int(row[name]) for name in names}


@final
class SqlReports:
    """The SQL storage's report source: an aggregate statement per report."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._dialect = _dialect(engine.dialect.name)

    def _rows(self, statement: sa.Select[Any], **params: Any) -> list[sa.RowMapping]:
        with _connect(self._engine) as connection, connection.begin():
            try:
                if self._dialect.postgresql:
                    # The planner takes every JSON array for a hundred elements and
                    # compiles the query for a load it never has: half a second lost.
                    connection.exec_driver_sql("SET LOCAL jit = off")
                return list(connection.execute(statement, params).mappings())
            except sa.exc.DBAPIError as error:
                url = self._engine.url.render_as_string(hide_password=True)
                raise StorageUnavailable(shown_url(url), "a report's query failed") from error

    def _period(self, period: Period) -> dict[str, Any]:
        return {"since": period.since, "until": period.until}

    def sales_over_time(self, period: Period, granularity: Granularity) -> list[SalesBucket]:
        rows = self._rows(_sales_over_time(self._dialect, granularity), **self._period(period))
        return [
            SalesBucket(start=row["start"], currency=row["currency"], **_ints(row, _ORDER_FIGURES))
            for row in rows
        ]

    def sales_by_product(self, period: Period, limit: int | None = None) -> list[ProductSales]:
        params = self._period(period)
        if limit is not None:
            params["limit"] = limit
        rows = self._rows(_sales_by_product(self._dialect, limit is not None), **params)
        return [
            ProductSales(
                product_id=row["product_id"],
                name=row["name"],
                currency=row["currency"],
                **_ints(row, _LINE_FIGURES),
            )
            for row in rows
        ]

    def sales_by_category(self, period: Period) -> list[CategorySales]:
        rows = self._rows(_sales_by_category(self._dialect), **self._period(period))
        return [
            CategorySales(
                category_id=row["category_id"],
                name=row["name"],
                currency=row["currency"],
                **_ints(row, _LINE_FIGURES),
            )
            for row in rows
        ]

    def sales_by_channel(self, period: Period) -> list[ChannelSales]:
        rows = self._rows(_sales_by_channel(self._dialect), **self._period(period))
        return [
            ChannelSales(
                channel=row["channel"], currency=row["currency"], **_ints(row, _ORDER_FIGURES)
            )
            for row in rows
        ]

    def discounts(self, period: Period) -> list[DiscountUse]:
        rows = self._rows(_discounts(self._dialect), **self._period(period))
        return [
            DiscountUse(
                promotion_id=row["promotion_id"],
                name=row["name"],
                coupon=row["coupon"],
                currency=row["currency"],
                **_ints(row, ("orders", "discount_units", "revenue_units")),
            )
            for row in rows
        ]

    def returns_by_product(self, period: Period) -> list[SkuReturns]:
        rows = self._rows(_returns_by_product(self._dialect), **self._period(period))
        return [
            SkuReturns(sku=row["sku"], **_ints(row, ("sold", "returned", "returns")))
            for row in rows
        ]

    def returns_by_reason(self, period: Period) -> list[ReasonReturns]:
        rows = self._rows(_returns_by_reason(self._dialect), **self._period(period))
        return [
            ReasonReturns(reason=row["reason"], **_ints(row, ("returns", "units"))) for row in rows
        ]

    def stock(self, period: Period, price_list_id: str | None = None) -> list[StockLevel]:
        currency = ""
        if price_list_id is not None:
            found = self._rows(_PRICE_LIST, price_list_id=price_list_id)
            if not found:
                raise NotFound("price list", price_list_id, field="price_list_id")
            currency = found[0]["currency"]
        rows = self._rows(
            _stock(self._dialect), price_list_id=price_list_id, **self._period(period)
        )
        return [
            StockLevel(
                sku=row["sku"],
                currency=currency,
                unit_price_units=None
                if row["unit_units"] is None or price_list_id is None
                else int(row["unit_units"]),
                **_ints(row, ("on_hand", "reserved", "sold")),
            )
            for row in rows
        ]

    def abandoned_carts(self, period: Period) -> list[CartRecoveries]:
        rows = self._rows(_abandoned_carts(self._dialect), **self._period(period))
        return [
            CartRecoveries(currency=row["currency"], **_ints(row, _RECOVERY_FIGURES))
            for row in rows
        ]


@functools.cache
def _dialect(name: str) -> _Dialect:
    """One per database kind, so that the statements built for it are built once."""
    return _Dialect(name)
