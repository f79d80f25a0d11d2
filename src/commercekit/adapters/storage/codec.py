"""Domain values to JSON-safe dicts and back, for storage columns and the outbox.

Every class the codec knows is named in an explicit registry; a stored dict carries
that name under ``"type"`` and nothing else decides what is built from it (no pickle,
no import by name), so stored data can never make the process run code. Numbers that
must stay exact travel as strings: ``Decimal`` as its string, ``Money`` as
``{"amount": "12.50", "currency": "EUR"}``; times as ISO-8601 with their offset.

A plugin with its own promotion benefit or condition calls :func:`register` once, so
that promotions using it can be stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, TypeVar

import attrs
import moneyed

from commercekit.domain.checkout import Address, ShippingChoice
from commercekit.domain.errors import CommerceError, InvalidInput
from commercekit.domain.events import DomainEvent, event_from_dict, event_to_dict
from commercekit.domain.inventory import ReorderPolicy
from commercekit.domain.money import Money
from commercekit.domain.pricing import TaxRate, TaxZone
from commercekit.domain.promotions import (
    AmountOffOrder,
    BuyXGetY,
    Coupon,
    CustomerGroups,
    FixedPrice,
    FreeShipping,
    ItemFilter,
    MinimumQuantity,
    MinimumSubtotal,
    PercentOffLines,
    PercentOffOrder,
    Promotion,
    Stacking,
    TieredAmountOff,
)

__all__ = [
    "Json",
    "decode",
    "decode_address",
    "decode_coupon",
    "decode_datetime",
    "decode_event",
    "decode_money",
    "decode_promotion",
    "decode_reorder_policy",
    "decode_shipping_choice",
    "decode_tax_rate",
    "decode_tax_zone",
    "encode",
    "encode_datetime",
    "encode_event",
    "encode_money",
    "register",
]

Json = dict[str, Any]
"""A JSON object as Python sees it."""

_T = TypeVar("_T")


@attrs.frozen
class _Entry:
    cls: type[Any]
    encode: Callable[[Any], Json]
    decode: Callable[[Mapping[str, Any]], Any]


_BY_NAME: Final[dict[str, _Entry]] = {}
_NAME_OF: Final[dict[type[Any], str]] = {}


def register(
    name: str,
    cls: type[_T],
    encode: Callable[[_T], Json],
    decode: Callable[[Mapping[str, Any]], _T],
) -> None:
    """Teach the codec a class, under a name that must never change once data is stored.

    :param encode: the instance's fields as JSON-safe values (without ``"type"``).
    :param decode: the instance back from what ``encode`` returned.
    :raises InvalidInput: for a name or class registered already.
    """
    if name in _BY_NAME or cls in _NAME_OF:
        raise InvalidInput(f"{name!r} ({cls.__qualname__}) is registered already", field="name")
    _BY_NAME[name] = _Entry(cls, encode, decode)
    _NAME_OF[cls] = name


def encode(value: object) -> Json:
    """``value`` as a JSON object naming its registered type.

    :raises InvalidInput: for a class nobody registered.
    """
    name = _NAME_OF.get(type(value))
    if name is None:
        raise InvalidInput(
            f"cannot store a {type(value).__qualname__}: register it with the codec first",
            field="type",
        )
    return {"type": name, **_BY_NAME[name].encode(value)}


def decode(data: Mapping[str, Any]) -> Any:
    """Rebuild what :func:`encode` wrote.

    :raises InvalidInput: for an unknown type name or a malformed object.
    """
    name = data.get("type") if isinstance(data, Mapping) else None
    entry = _BY_NAME.get(name) if isinstance(name, str) else None
    if entry is None:
        raise InvalidInput(f"cannot decode an object of unknown type {name!r}", field="type")
    try:
        return entry.decode(data)
    except CommerceError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise InvalidInput(f"malformed stored {name}: {error!r}", field="type") from error


def _decode_as(data: Mapping[str, Any], cls: type[_T]) -> _T:
    value = decode(data)
    if not isinstance(value, cls):
        raise InvalidInput(
            f"expected a stored {cls.__qualname__}, got {type(value).__qualname__}", field="type"
        )
    return value


# --- scalars -----------------------------------------------------------------------


def encode_money(money: moneyed.Money) -> Json:
    """``{"amount": "12.50", "currency": "EUR"}``."""
    return {"amount": str(money.amount), "currency": str(money.currency.code)}


def decode_money(data: Mapping[str, Any]) -> Money:
    """Money from :func:`encode_money`'s output."""
    return Money(str(data["amount"]), str(data["currency"]))


def encode_datetime(value: datetime | None) -> str | None:
    """ISO-8601, keeping the offset."""
    return None if value is None else value.isoformat()


def decode_datetime(value: str | None) -> datetime | None:
    """The time :func:`encode_datetime` wrote."""
    return None if value is None else datetime.fromisoformat(value)


def _moneys(amounts: Mapping[str, moneyed.Money]) -> list[Json]:
    # Sorted by currency so that the same promotion always encodes to the same JSON.
    return [encode_money(amounts[code]) for code in sorted(amounts)]


def _sorted(values: Iterable[str]) -> list[str]:
    return sorted(values)


# --- promotions --------------------------------------------------------------------


def _item_filter(value: ItemFilter) -> Json:
    return {
        "skus": _sorted(value.skus),
        "product_ids": _sorted(value.product_ids),
        "category_ids": _sorted(value.category_ids),
        "exclude_skus": _sorted(value.exclude_skus),
        "exclude_product_ids": _sorted(value.exclude_product_ids),
        "exclude_category_ids": _sorted(value.exclude_category_ids),
    }


def _to_item_filter(data: Mapping[str, Any]) -> ItemFilter:
    # Frozensets, never lists: ItemFilter reads an empty frozenset as "not given",
    # where an empty list handed in is refused as a selection that came out empty.
    names = (
        "skus",
        "product_ids",
        "category_ids",
        "exclude_skus",
        "exclude_product_ids",
        "exclude_category_ids",
    )
    return ItemFilter(**{name: frozenset(str(item) for item in data[name]) for name in names})


def _optional_filter(value: ItemFilter | None) -> Json | None:
    return None if value is None else encode(value)


def _to_optional_filter(data: Mapping[str, Any] | None) -> ItemFilter | None:
    return None if data is None else _decode_as(data, ItemFilter)


def _percent(value: PercentOffLines | PercentOffOrder) -> Json:
    return {"percent": str(value.percent)}


def _buy_x_get_y(value: BuyXGetY) -> Json:
    return {"buy": value.buy, "get": value.get, "percent": str(value.percent)}


def _to_buy_x_get_y(data: Mapping[str, Any]) -> BuyXGetY:
    return BuyXGetY(buy=data["buy"], get=data["get"], percent=Decimal(data["percent"]))


def _tiered(value: TieredAmountOff) -> Json:
    return {"tiers": [[encode_money(at), encode_money(off)] for at, off in value.tiers]}


def _to_tiered(data: Mapping[str, Any]) -> TieredAmountOff:
    return TieredAmountOff(
        tuple((decode_money(at), decode_money(off)) for at, off in data["tiers"])
    )


def _minimum_subtotal(value: MinimumSubtotal) -> Json:
    return {"amounts": _moneys(value.amounts), "items": _optional_filter(value.items)}


def _to_minimum_subtotal(data: Mapping[str, Any]) -> MinimumSubtotal:
    return MinimumSubtotal(
        [decode_money(money) for money in data["amounts"]],
        items=_to_optional_filter(data["items"]),
    )


def _minimum_quantity(value: MinimumQuantity) -> Json:
    return {"quantity": value.quantity, "items": _optional_filter(value.items)}


def _to_minimum_quantity(data: Mapping[str, Any]) -> MinimumQuantity:
    return MinimumQuantity(quantity=data["quantity"], items=_to_optional_filter(data["items"]))


def _promotion(value: Promotion) -> Json:
    return {
        "id": value.id,
        "name": value.name,
        "benefit": encode(value.benefit),
        "target": encode(value.target),
        "conditions": [encode(condition) for condition in value.conditions],
        "starts_at": encode_datetime(value.starts_at),
        "ends_at": encode_datetime(value.ends_at),
        "priority": value.priority,
        "stacking": value.stacking.value,
        "requires_coupon": value.requires_coupon,
    }


def _to_promotion(data: Mapping[str, Any]) -> Promotion:
    return Promotion(
        id=data["id"],
        name=data["name"],
        benefit=decode(data["benefit"]),
        target=_decode_as(data["target"], ItemFilter),
        conditions=tuple(decode(condition) for condition in data["conditions"]),
        starts_at=decode_datetime(data["starts_at"]),
        ends_at=decode_datetime(data["ends_at"]),
        priority=data["priority"],
        stacking=Stacking(data["stacking"]),
        requires_coupon=data["requires_coupon"],
    )


def _coupon(value: Coupon) -> Json:
    return {
        "code": value.code,
        "promotion_id": value.promotion_id,
        "starts_at": encode_datetime(value.starts_at),
        "ends_at": encode_datetime(value.ends_at),
        "usage_limit": value.usage_limit,
        "usage_limit_per_customer": value.usage_limit_per_customer,
    }


def _to_coupon(data: Mapping[str, Any]) -> Coupon:
    return Coupon(
        code=data["code"],
        promotion_id=data["promotion_id"],
        starts_at=decode_datetime(data["starts_at"]),
        ends_at=decode_datetime(data["ends_at"]),
        usage_limit=data["usage_limit"],
        usage_limit_per_customer=data["usage_limit_per_customer"],
    )


# --- tax, addresses, shipping ------------------------------------------------------


def _tax_rate(value: TaxRate) -> Json:
    return {"name": value.name, "rate": str(value.rate), "category": value.category}


def _to_tax_rate(data: Mapping[str, Any]) -> TaxRate:
    return TaxRate(name=data["name"], rate=Decimal(data["rate"]), category=data["category"])


def _tax_zone(value: TaxZone) -> Json:
    return {
        "id": value.id,
        "country": value.country,
        "region": value.region,
        "postal_prefix": value.postal_prefix,
        "rates": [encode(rate) for rate in value.rates],
    }


def _to_tax_zone(data: Mapping[str, Any]) -> TaxZone:
    return TaxZone(
        id=data["id"],
        country=data["country"],
        region=data["region"],
        postal_prefix=data["postal_prefix"],
        rates=tuple(_decode_as(rate, TaxRate) for rate in data["rates"]),
    )


_ADDRESS_FIELDS: Final = tuple(field.name for field in attrs.fields(Address))


def _address(value: Address) -> Json:
    return {name: getattr(value, name) for name in _ADDRESS_FIELDS}


def _to_address(data: Mapping[str, Any]) -> Address:
    return Address(**{name: str(data[name]) for name in _ADDRESS_FIELDS})


def _shipping_choice(value: ShippingChoice) -> Json:
    return {
        "method_id": value.method_id,
        "name": value.name,
        "price_units": value.price_units,
        "currency": value.currency,
    }


def _to_shipping_choice(data: Mapping[str, Any]) -> ShippingChoice:
    return ShippingChoice(
        method_id=data["method_id"],
        name=data["name"],
        price_units=int(data["price_units"]),
        currency=data["currency"],
    )


# --- inventory ---------------------------------------------------------------------


def _reorder_policy(value: ReorderPolicy) -> Json:
    return {
        "reorder_point": value.reorder_point,
        "quantity": value.quantity,
        "maximum": value.maximum,
        "supplier": value.supplier,
        "lead_time_days": value.lead_time_days,
    }


def _to_reorder_policy(data: Mapping[str, Any]) -> ReorderPolicy:
    return ReorderPolicy(
        reorder_point=data["reorder_point"],
        quantity=data["quantity"],
        maximum=data["maximum"],
        supplier=data["supplier"],
        lead_time_days=data["lead_time_days"],
    )


def _amounts(cls: type[AmountOffOrder] | type[FixedPrice]) -> None:
    register(
        cls.__name__,
        cls,
        lambda value: {"amounts": _moneys(value.amounts)},
        lambda data: cls([decode_money(money) for money in data["amounts"]]),
    )


# The names below are what stored rows say; renaming a class must keep its name here.
register("PercentOffLines", PercentOffLines, _percent, lambda d: PercentOffLines(d["percent"]))
register("PercentOffOrder", PercentOffOrder, _percent, lambda d: PercentOffOrder(d["percent"]))
_amounts(AmountOffOrder)
_amounts(FixedPrice)
register("BuyXGetY", BuyXGetY, _buy_x_get_y, _to_buy_x_get_y)
register("FreeShipping", FreeShipping, lambda value: {}, lambda data: FreeShipping())
register("TieredAmountOff", TieredAmountOff, _tiered, _to_tiered)
register("MinimumSubtotal", MinimumSubtotal, _minimum_subtotal, _to_minimum_subtotal)
register("MinimumQuantity", MinimumQuantity, _minimum_quantity, _to_minimum_quantity)
register(
    "CustomerGroups",
    CustomerGroups,
    lambda value: {"groups": _sorted(value.groups)},
    lambda data: CustomerGroups(frozenset(str(group) for group in data["groups"])),
)
register("ItemFilter", ItemFilter, _item_filter, _to_item_filter)
register("Promotion", Promotion, _promotion, _to_promotion)
register("Coupon", Coupon, _coupon, _to_coupon)
register("TaxRate", TaxRate, _tax_rate, _to_tax_rate)
register("TaxZone", TaxZone, _tax_zone, _to_tax_zone)
register("Address", Address, _address, _to_address)
register("ShippingChoice", ShippingChoice, _shipping_choice, _to_shipping_choice)
register("ReorderPolicy", ReorderPolicy, _reorder_policy, _to_reorder_policy)


# --- typed entry points ------------------------------------------------------------


def decode_promotion(data: Mapping[str, Any]) -> Promotion:
    """A promotion from :func:`encode`'s output."""
    return _decode_as(data, Promotion)


def decode_coupon(data: Mapping[str, Any]) -> Coupon:
    """A coupon from :func:`encode`'s output."""
    return _decode_as(data, Coupon)


def decode_tax_rate(data: Mapping[str, Any]) -> TaxRate:
    """A tax rate from :func:`encode`'s output."""
    return _decode_as(data, TaxRate)


def decode_tax_zone(data: Mapping[str, Any]) -> TaxZone:
    """A tax zone from :func:`encode`'s output."""
    return _decode_as(data, TaxZone)


def decode_address(data: Mapping[str, Any]) -> Address:
    """An address from :func:`encode`'s output."""
    return _decode_as(data, Address)


def decode_shipping_choice(data: Mapping[str, Any]) -> ShippingChoice:
    """A shipping choice from :func:`encode`'s output."""
    return _decode_as(data, ShippingChoice)


def decode_reorder_policy(data: Mapping[str, Any]) -> ReorderPolicy:
    """A reorder policy from :func:`encode`'s output."""
    return _decode_as(data, ReorderPolicy)


def encode_event(event: DomainEvent) -> Json:
    """A domain event as JSON, named by its stable event name."""
    return event_to_dict(event)


def decode_event(data: Mapping[str, Any]) -> DomainEvent:
    """The event :func:`encode_event` wrote.

    :raises InvalidInput: for an unknown event name.
    """
    return event_from_dict(data)
