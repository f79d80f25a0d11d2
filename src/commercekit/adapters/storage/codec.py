"""Domain values to JSON-safe dicts and back, for storage columns and the outbox.

A stored object names its type under ``"type"``, and nothing but a known name decides
what is built from it (no pickle, no import by name), so stored data can never make
the process run code. Numbers that must stay exact travel as strings: ``Decimal`` as
its string, ``Money`` as ``{"amount": "12.50", "currency": "EUR"}``; times as ISO-8601
with their offset.

The shapes of addresses, shipping choices, tax rates, reorder policies and the
catalogue's product types, collections, media and translations are fixed;
promotion benefits and conditions are whatever types the store's plugins offer
(:class:`~commercekit.ports.storage.PromotionType`), so a :class:`Codec` is built
per storage from them: nothing here is process-global.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, TypeVar, final

import attrs
import moneyed

from commercekit.domain.catalog import (
    AttributeSpec,
    Collection,
    CollectionRule,
    Media,
    ProductText,
    ProductType,
)
from commercekit.domain.checkout import Address, ShippingChoice
from commercekit.domain.errors import CommerceError, InvalidInput
from commercekit.domain.events import DomainEvent, event_from_dict, event_to_dict
from commercekit.domain.inventory import ReorderPolicy
from commercekit.domain.money import Money
from commercekit.domain.pricing import TaxRate
from commercekit.domain.promotions import ItemFilter, Promotion, Stacking
from commercekit.domain.shipping import (
    ByValue,
    ByWeight,
    DeliveryMethod,
    Flat,
    FreeOver,
    RateRule,
    ShippingZone,
)
from commercekit.ports.storage import PromotionType

__all__ = [
    "Codec",
    "Json",
    "decode_address",
    "decode_collection",
    "decode_datetime",
    "decode_delivery_method",
    "decode_event",
    "decode_item_filter",
    "decode_media",
    "decode_money",
    "decode_product_text",
    "decode_product_type",
    "decode_reorder_policy",
    "decode_shipping_choice",
    "decode_shipping_zone",
    "decode_tax_rate",
    "encode_address",
    "encode_collection",
    "encode_datetime",
    "encode_delivery_method",
    "encode_event",
    "encode_item_filter",
    "encode_media",
    "encode_money",
    "encode_product_text",
    "encode_product_type",
    "encode_reorder_policy",
    "encode_shipping_choice",
    "encode_shipping_zone",
    "encode_tax_rate",
]

Json = dict[str, Any]
"""A JSON object as Python sees it."""

_T = TypeVar("_T")


def _typed(name: str, data: Mapping[str, Any]) -> Mapping[str, Any]:
    """``data`` if it is a stored object of type ``name``."""
    found = data.get("type") if isinstance(data, Mapping) else None
    if found != name:
        raise InvalidInput(f"expected a stored {name}, got {found!r}", field="type")
    return data


def _reading(name: str, decode: Callable[[Mapping[str, Any]], _T], data: Mapping[str, Any]) -> _T:
    try:
        return decode(_typed(name, data))
    except CommerceError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
        raise InvalidInput(f"malformed stored {name}: {error!r}", field="type") from error


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


# --- fixed shapes ------------------------------------------------------------------

_FILTER_FIELDS: Final = (
    "skus",
    "product_ids",
    "category_ids",
    "exclude_skus",
    "exclude_product_ids",
    "exclude_category_ids",
)


def encode_item_filter(value: ItemFilter) -> Json:
    """The lines a promotion targets, each id set sorted (one value, one JSON)."""
    return {"type": "ItemFilter", **{name: sorted(getattr(value, name)) for name in _FILTER_FIELDS}}


def decode_item_filter(data: Mapping[str, Any]) -> ItemFilter:
    """What :func:`encode_item_filter` wrote."""

    def build(found: Mapping[str, Any]) -> ItemFilter:
        # Frozensets, never lists: ItemFilter reads an empty frozenset as "not given",
        # where an empty list handed in is refused as a selection that came out empty.
        return ItemFilter(
            **{name: frozenset(str(item) for item in found[name]) for name in _FILTER_FIELDS}
        )

    return _reading("ItemFilter", build, data)


def encode_tax_rate(value: TaxRate) -> Json:
    """A tax rate, its rate as a decimal string."""
    return {
        "type": "TaxRate",
        "name": value.name,
        "rate": str(value.rate),
        "category": value.category,
    }


def decode_tax_rate(data: Mapping[str, Any]) -> TaxRate:
    """What :func:`encode_tax_rate` wrote."""
    return _reading(
        "TaxRate",
        lambda d: TaxRate(name=d["name"], rate=Decimal(d["rate"]), category=d["category"]),
        data,
    )


_ADDRESS_FIELDS: Final = tuple(field.name for field in attrs.fields(Address))


def encode_address(value: Address) -> Json:
    """A postal address, every field as given."""
    return {"type": "Address", **{name: getattr(value, name) for name in _ADDRESS_FIELDS}}


def decode_address(data: Mapping[str, Any]) -> Address:
    """What :func:`encode_address` wrote."""
    return _reading(
        "Address", lambda d: Address(**{name: str(d[name]) for name in _ADDRESS_FIELDS}), data
    )


def encode_shipping_choice(value: ShippingChoice) -> Json:
    """The shipping method chosen, at its price then."""
    return {
        "type": "ShippingChoice",
        "method_id": value.method_id,
        "name": value.name,
        "price_units": value.price_units,
        "currency": value.currency,
        "expires_at": encode_datetime(value.expires_at),
    }


def decode_shipping_choice(data: Mapping[str, Any]) -> ShippingChoice:
    """What :func:`encode_shipping_choice` wrote."""
    return _reading(
        "ShippingChoice",
        lambda d: ShippingChoice(
            method_id=d["method_id"],
            name=d["name"],
            price_units=int(d["price_units"]),
            currency=d["currency"],
            expires_at=decode_datetime(d.get("expires_at")),
        ),
        data,
    )


def encode_reorder_policy(value: ReorderPolicy) -> Json:
    """A reorder policy."""
    return {
        "type": "ReorderPolicy",
        "reorder_point": value.reorder_point,
        "quantity": value.quantity,
        "maximum": value.maximum,
        "supplier": value.supplier,
        "lead_time_days": value.lead_time_days,
    }


def decode_reorder_policy(data: Mapping[str, Any]) -> ReorderPolicy:
    """What :func:`encode_reorder_policy` wrote."""
    return _reading(
        "ReorderPolicy",
        lambda d: ReorderPolicy(
            reorder_point=d["reorder_point"],
            quantity=d["quantity"],
            maximum=d["maximum"],
            supplier=d["supplier"],
            lead_time_days=d["lead_time_days"],
        ),
        data,
    )


def encode_event(event: DomainEvent) -> Json:
    """A domain event as JSON, named by its stable event name."""
    return event_to_dict(event)


def decode_event(data: Mapping[str, Any]) -> DomainEvent:
    """The event :func:`encode_event` wrote.

    :raises InvalidInput: for an unknown event name.
    """
    return event_from_dict(data)


# --- promotions --------------------------------------------------------------------


@final
class Codec:
    """Promotions to JSON and back, knowing the benefit and condition types given.

    :raises InvalidInput: for two types under one name, or one type under two.
    """

    def __init__(self, types: Iterable[PromotionType] = ()) -> None:
        self._by_name: dict[str, PromotionType] = {}
        self._name_of: dict[type[Any], str] = {}
        for kind in types:
            if kind.name in self._by_name or kind.cls in self._name_of:
                raise InvalidInput(
                    f"promotion type {kind.name!r} ({kind.cls.__qualname__}) is given twice",
                    field="name",
                )
            self._by_name[kind.name] = kind
            self._name_of[kind.cls] = kind.name

    def knows(self, value: object) -> bool:
        """Whether ``value``'s type can be stored."""
        return type(value) in self._name_of

    def encode_part(self, value: object) -> Json:
        """A benefit or condition as a JSON object naming its type.

        :raises InvalidInput: for a type no plugin offers.
        """
        name = self._name_of.get(type(value))
        if name is None:
            raise InvalidInput(
                f"cannot store a {type(value).__qualname__}: no plugin offers it as a "
                "promotion type",
                field="type",
            )
        return {**self._by_name[name].encode(value), "type": name}

    def decode_part(self, data: Mapping[str, Any]) -> Any:
        """Rebuild what :meth:`encode_part` wrote.

        :raises InvalidInput: for an unknown type name or a malformed object.
        """
        name = data.get("type") if isinstance(data, Mapping) else None
        kind = self._by_name.get(name) if isinstance(name, str) else None
        if kind is None:
            raise InvalidInput(f"cannot decode an object of unknown type {name!r}", field="type")
        return _reading(name, kind.decode, data)  # type: ignore[arg-type]

    def encode(self, promotion: Promotion) -> Json:
        """A whole promotion: its benefit and conditions by their type names."""
        return {
            "type": "Promotion",
            "id": promotion.id,
            "name": promotion.name,
            "benefit": self.encode_part(promotion.benefit),
            "target": encode_item_filter(promotion.target),
            "conditions": [self.encode_part(condition) for condition in promotion.conditions],
            "starts_at": encode_datetime(promotion.starts_at),
            "ends_at": encode_datetime(promotion.ends_at),
            "priority": promotion.priority,
            "stacking": promotion.stacking.value,
            "requires_coupon": promotion.requires_coupon,
        }

    def decode(self, data: Mapping[str, Any]) -> Promotion:
        """What :meth:`encode` wrote."""
        return _reading(
            "Promotion",
            lambda d: Promotion(
                id=d["id"],
                name=d["name"],
                benefit=self.decode_part(d["benefit"]),
                target=decode_item_filter(d["target"]),
                conditions=tuple(self.decode_part(c) for c in d["conditions"]),
                starts_at=decode_datetime(d["starts_at"]),
                ends_at=decode_datetime(d["ends_at"]),
                priority=d["priority"],
                stacking=Stacking(d["stacking"]),
                requires_coupon=d["requires_coupon"],
            ),
            data,
        )


# --- shipping ----------------------------------------------------------------------


def encode_shipping_zone(zone: ShippingZone) -> Json:
    """A shipping zone, its sets sorted."""
    return {
        "type": "ShippingZone",
        "id": zone.id,
        "countries": sorted(zone.countries),
        "regions": sorted(zone.regions),
        "postal_patterns": list(zone.postal_patterns),
    }


def decode_shipping_zone(data: Mapping[str, Any]) -> ShippingZone:
    """What :func:`encode_shipping_zone` wrote."""
    return _reading(
        "ShippingZone",
        lambda d: ShippingZone(
            id=d["id"],
            countries=d["countries"],
            regions=d["regions"],
            postal_patterns=d["postal_patterns"],
        ),
        data,
    )


def _encode_rate_rule(rule: RateRule) -> Json:
    if isinstance(rule, Flat):
        return {"type": "Flat", "units": rule.units}
    if isinstance(rule, ByWeight | ByValue):
        return {"type": type(rule).__name__, "tiers": [list(tier) for tier in rule.tiers]}
    if isinstance(rule, FreeOver):
        return {
            "type": "FreeOver",
            "threshold_units": rule.threshold_units,
            "otherwise": _encode_rate_rule(rule.otherwise),
        }
    raise InvalidInput(f"no storage for rate rule {type(rule).__qualname__}", field="rules")


def _decode_rate_rule(data: Mapping[str, Any]) -> RateRule:
    kind = data["type"]
    if kind == "Flat":
        return Flat(data["units"])
    if kind == "ByWeight":
        return ByWeight([tuple(tier) for tier in data["tiers"]])
    if kind == "ByValue":
        return ByValue([tuple(tier) for tier in data["tiers"]])
    if kind == "FreeOver":
        return FreeOver(data["threshold_units"], _decode_rate_rule(data["otherwise"]))
    raise InvalidInput(f"unknown stored rate rule {kind!r}", field="type")


def encode_delivery_method(method: DeliveryMethod) -> Json:
    """A delivery method with its rate rule per currency."""
    return {
        "type": "DeliveryMethod",
        "id": method.id,
        "name": method.name,
        "rules": {currency: _encode_rate_rule(rule) for currency, rule in method.rules.items()},
        "zone_ids": sorted(method.zone_ids),
        "location_ids": sorted(method.location_ids),
        "pickup_location": method.pickup_location,
        "min_days": method.min_days,
        "max_days": method.max_days,
        "carrier": method.carrier,
        "service": method.service,
    }


def decode_delivery_method(data: Mapping[str, Any]) -> DeliveryMethod:
    """What :func:`encode_delivery_method` wrote."""
    return _reading(
        "DeliveryMethod",
        lambda d: DeliveryMethod(
            id=d["id"],
            name=d["name"],
            rules={currency: _decode_rate_rule(rule) for currency, rule in d["rules"].items()},
            zone_ids=d["zone_ids"],
            location_ids=[] if d["pickup_location"] is not None else d["location_ids"],
            pickup_location=d["pickup_location"],
            min_days=d["min_days"],
            max_days=d["max_days"],
            carrier=d.get("carrier"),
            service=d.get("service", ""),
        ),
        data,
    )


# --- the catalogue -----------------------------------------------------------------

_TEXT_FIELDS: Final = tuple(field.name for field in attrs.fields(ProductText))


def encode_product_text(value: ProductText) -> Json:
    """A product's words in one locale."""
    return {"type": "ProductText", **{name: getattr(value, name) for name in _TEXT_FIELDS}}


def decode_product_text(data: Mapping[str, Any]) -> ProductText:
    """What :func:`encode_product_text` wrote."""
    return _reading(
        "ProductText", lambda d: ProductText(**{name: str(d[name]) for name in _TEXT_FIELDS}), data
    )


def encode_media(value: Media) -> Json:
    """An image or file of a product, with the variants it shows."""
    return {
        "type": "Media",
        "url": value.url,
        "alt": value.alt,
        "kind": value.kind.value,
        "variant_skus": list(value.variant_skus),
    }


def decode_media(data: Mapping[str, Any]) -> Media:
    """What :func:`encode_media` wrote."""
    return _reading(
        "Media",
        lambda d: Media(url=d["url"], alt=d["alt"], kind=d["kind"], variant_skus=d["variant_skus"]),
        data,
    )


def _encode_attribute_spec(spec: AttributeSpec) -> Json:
    return {
        "type": "AttributeSpec",
        "name": spec.name,
        "kind": spec.kind.value,
        "unit": spec.unit,
        "choices": list(spec.choices),
        "required": spec.required,
    }


def _decode_attribute_spec(data: Mapping[str, Any]) -> AttributeSpec:
    return _reading(
        "AttributeSpec",
        lambda d: AttributeSpec(
            name=d["name"],
            kind=d["kind"],
            unit=d["unit"],
            choices=tuple(d["choices"]),
            required=bool(d["required"]),
        ),
        data,
    )


def encode_product_type(value: ProductType) -> Json:
    """A product type with the attributes of its products and of their variants."""
    return {
        "type": "ProductType",
        "id": value.id,
        "name": value.name,
        "attributes": [_encode_attribute_spec(spec) for spec in value.attributes],
        "variant_attributes": [_encode_attribute_spec(spec) for spec in value.variant_attributes],
    }


def decode_product_type(data: Mapping[str, Any]) -> ProductType:
    """What :func:`encode_product_type` wrote."""
    return _reading(
        "ProductType",
        lambda d: ProductType(
            id=d["id"],
            name=d["name"],
            attributes=tuple(_decode_attribute_spec(spec) for spec in d["attributes"]),
            variant_attributes=tuple(
                _decode_attribute_spec(spec) for spec in d["variant_attributes"]
            ),
        ),
        data,
    )


def _encode_collection_rule(rule: CollectionRule) -> Json:
    return {
        "type": "CollectionRule",
        "category_ids": sorted(rule.category_ids),
        "attributes": {name: sorted(values) for name, values in rule.attributes.items()},
        "tags": sorted(rule.tags),
        "currency": rule.currency,
        "price_min_units": rule.price_min_units,
        "price_max_units": rule.price_max_units,
        "new_since": encode_datetime(rule.new_since),
    }


def _decode_collection_rule(data: Mapping[str, Any]) -> CollectionRule:
    return _reading(
        "CollectionRule",
        lambda d: CollectionRule(
            category_ids=d["category_ids"],
            attributes=d["attributes"],
            tags=d["tags"],
            currency=d["currency"],
            price_min_units=d["price_min_units"],
            price_max_units=d["price_max_units"],
            new_since=decode_datetime(d["new_since"]),
        ),
        data,
    )


def encode_collection(value: Collection) -> Json:
    """A collection: the products picked by hand, in order, and its rule."""
    return {
        "type": "Collection",
        "id": value.id,
        "name": value.name,
        "slug": value.slug,
        "product_ids": list(value.product_ids),
        "rule": None if value.rule is None else _encode_collection_rule(value.rule),
        "sort": value.sort.value,
        "description": value.description,
    }


def decode_collection(data: Mapping[str, Any]) -> Collection:
    """What :func:`encode_collection` wrote."""
    return _reading(
        "Collection",
        lambda d: Collection(
            id=d["id"],
            name=d["name"],
            slug=d["slug"],
            product_ids=tuple(d["product_ids"]),
            rule=None if d["rule"] is None else _decode_collection_rule(d["rule"]),
            sort=d["sort"],
            description=d["description"],
        ),
        data,
    )
