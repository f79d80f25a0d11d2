"""What promotions look at: the cart's lines and owner, coupon codes, and the lines a
promotion targets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Final, Protocol

import attrs

from commercekit.domain._validators import aware, ordered_strings, strings, whole_number
from commercekit.domain.catalog import ItemFacts
from commercekit.domain.errors import InvalidInput, shown
from commercekit.domain.money import DEFAULT_ROUNDING, Rounding

__all__ = [
    "CouponUsage",
    "ItemFilter",
    "PromotionContext",
    "PromotionRef",
    "WorkLine",
    "normalize_coupon_code",
    "normalize_coupon_usage",
    "normalize_customer_groups",
]


_COUPON_CODE: Final = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,63}")
_COUNT: Final = whole_number(0)


def normalize_coupon_code(code: object) -> str:
    """Coupon codes are matched without regard to case or surrounding spaces.

    :raises InvalidInput: for anything but 1 to 64 letters, digits, ``-`` or ``_``.
    """
    if not isinstance(code, str):
        raise InvalidInput("a coupon code must be a string", field="coupon_code")
    normal = code.strip().upper()
    if not _COUPON_CODE.fullmatch(normal):
        raise InvalidInput(
            "a coupon code is 1 to 64 letters, digits, '-' or '_'", field="coupon_code"
        )
    return normal


def normalize_customer_groups(value: Iterable[str] | str | None) -> tuple[str, ...]:
    """A customer's groups, in their order of preference, each once.

    A single string is one group and ``None`` is none. A set is refused: where the
    order decides (which group's price list comes first) it would differ from one
    process to the next.

    :raises InvalidInput: naming ``customer_groups``.
    """
    if value == ():
        return ()  # a guest: pricing converts this on every cart, so answer it first
    return ordered_strings(value, field="customer_groups")


def _inclusion(value: Iterable[str] | str | None, field: str) -> frozenset[str]:
    found = strings(value, field=field)
    # An empty list handed in (a merchant's selection that came out empty) would
    # otherwise widen the promotion to the whole store. An empty frozenset is the
    # stored form of "not given" (attrs.evolve and storage pass it back), so it keeps
    # that meaning.
    if not found and value is not None and not isinstance(value, frozenset):
        raise InvalidInput(
            "an empty inclusion would target every line; leave it out (or pass None) "
            "to mean every line",
            field=field,
        )
    return found


# attrs (and mypy's attrs plugin) want a named converter per field.
def _include_skus(value: Iterable[str] | str | None) -> frozenset[str]:
    return _inclusion(value, "skus")


def _include_product_ids(value: Iterable[str] | str | None) -> frozenset[str]:
    return _inclusion(value, "product_ids")


def _include_category_ids(value: Iterable[str] | str | None) -> frozenset[str]:
    return _inclusion(value, "category_ids")


def _exclude_skus(value: Iterable[str] | str | None) -> frozenset[str]:
    return strings(value, field="exclude_skus")


def _exclude_product_ids(value: Iterable[str] | str | None) -> frozenset[str]:
    return strings(value, field="exclude_product_ids")


def _exclude_category_ids(value: Iterable[str] | str | None) -> frozenset[str]:
    return strings(value, field="exclude_category_ids")


@attrs.frozen
class CouponUsage:
    """How often a coupon has been used, counted by the caller's storage."""

    total: int = attrs.field(default=0, validator=_COUNT)
    by_customer: int = attrs.field(default=0, validator=_COUNT)


def normalize_coupon_usage(value: Mapping[str, CouponUsage]) -> Mapping[str, CouponUsage]:
    """Usage by normalised coupon code, so that a limit holds whatever the case or
    spacing storage keeps a code in.

    :raises InvalidInput: naming ``coupon_usage`` or ``coupon_code``.
    """
    if not isinstance(value, Mapping):
        raise InvalidInput("expected a mapping of coupon codes to usage", field="coupon_usage")
    found: dict[str, CouponUsage] = {}
    for code, usage in value.items():
        if not isinstance(usage, CouponUsage):
            raise InvalidInput(f"expected CouponUsage for {shown(code)}", field="coupon_usage")
        normal = normalize_coupon_code(code)
        earlier = found.get(normal)
        if earlier is not None:
            # The same code counted under two spellings: the larger count is the safe
            # one for a limit.
            usage = CouponUsage(
                total=max(usage.total, earlier.total),
                by_customer=max(usage.by_customer, earlier.by_customer),
            )
        found[normal] = usage
    return found


# --- what the engine works on ------------------------------------------------------


class PromotionRef(Protocol):
    """What an adjustment keeps of the promotion that gave it."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...


@attrs.define
class WorkLine:
    """A cart line while it is being priced; amounts in minor units."""

    index: int
    facts: ItemFacts
    quantity: int
    unit: int
    """Unit price before promotions."""
    subtotal: int
    remaining: int
    """What is left of the line after the promotions applied so far."""
    adjustments: list[tuple[PromotionRef, int, str]] = attrs.field(factory=list)


@attrs.frozen(kw_only=True)
class PromotionContext:
    """Everything about the cart and its owner that promotions may depend on."""

    currency: str
    now: datetime = attrs.field(validator=aware)
    customer_id: str | None = None
    customer_groups: tuple[str, ...] = attrs.field(default=(), converter=normalize_customer_groups)
    """The customer's groups, in their order of preference; a single string is one."""
    coupon_codes: tuple[str, ...] = ()
    coupon_usage: Mapping[str, CouponUsage] = attrs.field(
        factory=dict, converter=normalize_coupon_usage
    )
    """Keyed by normalised coupon code (keys are normalised on the way in)."""
    shipping: int = 0
    """Shipping charge in minor units, before any discount."""
    rounding: Rounding = DEFAULT_ROUNDING


# --- which lines a promotion looks at ----------------------------------------------


@attrs.frozen(kw_only=True)
class ItemFilter:
    """The lines a promotion targets.

    With no inclusion given (no ``skus``, ``product_ids`` or ``category_ids``), every
    line not excluded is targeted. An explicitly empty inclusion (``skus=[]``) is
    refused rather than read as "every line"; leave the argument out, or pass
    ``None``, to target every line. A single string is one id.
    """

    skus: frozenset[str] = attrs.field(factory=frozenset, converter=_include_skus)
    product_ids: frozenset[str] = attrs.field(factory=frozenset, converter=_include_product_ids)
    category_ids: frozenset[str] = attrs.field(factory=frozenset, converter=_include_category_ids)
    """A category includes its subcategories."""
    exclude_skus: frozenset[str] = attrs.field(factory=frozenset, converter=_exclude_skus)
    exclude_product_ids: frozenset[str] = attrs.field(
        factory=frozenset, converter=_exclude_product_ids
    )
    exclude_category_ids: frozenset[str] = attrs.field(
        factory=frozenset, converter=_exclude_category_ids
    )

    @property
    def includes_everything(self) -> bool:
        """No inclusion list: every line not excluded."""
        return not (self.skus or self.product_ids or self.category_ids)

    @property
    def excludes_anything(self) -> bool:
        """Whether any SKU, product or category is excluded."""
        return bool(self.exclude_skus or self.exclude_product_ids or self.exclude_category_ids)

    @property
    def is_everything(self) -> bool:
        """Neither inclusions nor exclusions: every line, without looking."""
        return self.includes_everything and not self.excludes_anything

    def matches(self, facts: ItemFacts) -> bool:
        """Whether a line with these facts is targeted."""
        if (
            facts.sku in self.exclude_skus
            or facts.product_id in self.exclude_product_ids
            or not self.exclude_category_ids.isdisjoint(facts.category_ids)
        ):
            return False
        return (
            self.includes_everything
            or facts.sku in self.skus
            or facts.product_id in self.product_ids
            or not self.category_ids.isdisjoint(facts.category_ids)
        )
