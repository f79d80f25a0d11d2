"""The promotion benefits and conditions that ship with commercekit, as a plugin.

They reach a store through the ``register_promotion_types`` hook, the same way a
third-party plugin's own types do. The names are what stored rows say: renaming a
class must keep its name here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final

from commercekit.adapters.storage.codec import (
    Json,
    decode_item_filter,
    decode_money,
    encode_item_filter,
    encode_money,
)
from commercekit.domain.promotions import (
    AmountOffOrder,
    BuyXGetY,
    CustomerGroups,
    FixedPrice,
    FreeShipping,
    ItemFilter,
    MinimumQuantity,
    MinimumSubtotal,
    PercentOffLines,
    PercentOffOrder,
    TieredAmountOff,
)
from commercekit.hookspecs import hookimpl
from commercekit.ports.storage import PromotionType

__all__ = ["BUILTIN_PROMOTION_TYPES", "register_promotion_types"]


def _moneys(amounts: Mapping[str, Any]) -> list[Json]:
    # Sorted by currency so that the same promotion always encodes to the same JSON.
    return [encode_money(amounts[code]) for code in sorted(amounts)]


def _optional_filter(value: ItemFilter | None) -> Json | None:
    return None if value is None else encode_item_filter(value)


def _to_optional_filter(data: Mapping[str, Any] | None) -> ItemFilter | None:
    return None if data is None else decode_item_filter(data)


def _amounts_type(cls: type[AmountOffOrder] | type[FixedPrice]) -> PromotionType:
    return PromotionType(
        name=cls.__name__,
        cls=cls,
        encode=lambda value: {"amounts": _moneys(value.amounts)},
        decode=lambda data: cls([decode_money(money) for money in data["amounts"]]),
    )


def _percent_type(cls: type[PercentOffLines] | type[PercentOffOrder]) -> PromotionType:
    return PromotionType(
        name=cls.__name__,
        cls=cls,
        encode=lambda value: {"percent": str(value.percent)},
        decode=lambda data: cls(Decimal(data["percent"])),
    )


BUILTIN_PROMOTION_TYPES: Final = (
    _percent_type(PercentOffLines),
    _percent_type(PercentOffOrder),
    _amounts_type(AmountOffOrder),
    _amounts_type(FixedPrice),
    PromotionType(
        name="BuyXGetY",
        cls=BuyXGetY,
        encode=lambda v: {"buy": v.buy, "get": v.get, "percent": str(v.percent)},
        decode=lambda d: BuyXGetY(buy=d["buy"], get=d["get"], percent=Decimal(d["percent"])),
    ),
    PromotionType(
        name="FreeShipping", cls=FreeShipping, encode=lambda v: {}, decode=lambda d: FreeShipping()
    ),
    PromotionType(
        name="TieredAmountOff",
        cls=TieredAmountOff,
        encode=lambda v: {"tiers": [[encode_money(at), encode_money(off)] for at, off in v.tiers]},
        decode=lambda d: TieredAmountOff(
            tuple((decode_money(at), decode_money(off)) for at, off in d["tiers"])
        ),
    ),
    PromotionType(
        name="MinimumSubtotal",
        cls=MinimumSubtotal,
        encode=lambda v: {"amounts": _moneys(v.amounts), "items": _optional_filter(v.items)},
        decode=lambda d: MinimumSubtotal(
            [decode_money(money) for money in d["amounts"]], items=_to_optional_filter(d["items"])
        ),
    ),
    PromotionType(
        name="MinimumQuantity",
        cls=MinimumQuantity,
        encode=lambda v: {"quantity": v.quantity, "items": _optional_filter(v.items)},
        decode=lambda d: MinimumQuantity(
            quantity=d["quantity"], items=_to_optional_filter(d["items"])
        ),
    ),
    PromotionType(
        name="CustomerGroups",
        cls=CustomerGroups,
        encode=lambda v: {"groups": sorted(v.groups)},
        decode=lambda d: CustomerGroups(frozenset(str(group) for group in d["groups"])),
    ),
)


@hookimpl
def register_promotion_types(register: Callable[[PromotionType], None]) -> None:
    """Offer the built-in benefits and conditions."""
    for kind in BUILTIN_PROMOTION_TYPES:
        register(kind)
