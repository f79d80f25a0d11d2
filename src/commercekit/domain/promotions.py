"""Promotions, coupons, and the engine that applies them and explains each adjustment.

A promotion is conditions + a benefit + a schedule + a priority + a stacking rule.
The engine works on whole minor units, so every discount it hands out is exact, and
it never takes a line (or shipping) below zero.

Stacking: promotions are considered from the highest ``priority`` down (ties by id).
When the first one that applies is ``EXCLUSIVE`` it applies alone; otherwise every
``COMBINABLE`` promotion that applies is applied in that order, each on what the
earlier ones left, and exclusive ones are passed over.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from functools import cache
from itertools import pairwise
from typing import Any, Final, Protocol

import attrs
import moneyed

from commercekit.domain.catalog import ItemFacts, aware_or_none, require_aware
from commercekit.domain.errors import CouponRejected, InvalidInput
from commercekit.domain.money import (
    DEFAULT_ROUNDING,
    Rounding,
    allocate_units,
    divide_rounded,
    format_money,
    minor_units,
    to_decimal,
)

__all__ = [
    "AmountOffOrder",
    "Benefit",
    "BuyXGetY",
    "Condition",
    "Coupon",
    "CouponUsage",
    "CustomerGroups",
    "FixedPrice",
    "FreeShipping",
    "ItemFilter",
    "MinimumQuantity",
    "MinimumSubtotal",
    "PercentOffLines",
    "PercentOffOrder",
    "Promotion",
    "PromotionContext",
    "PromotionEngine",
    "PromotionOutcome",
    "Stacking",
    "TieredAmountOff",
    "WorkLine",
    "normalize_coupon_code",
    "normalize_coupon_usage",
]

_COUPON_CODE: Final = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,63}")
_HUNDRED: Final = Decimal(100)


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


def _percent(value: object) -> Decimal:
    number = to_decimal(value, field="percent")
    if not 0 < number <= _HUNDRED:
        raise InvalidInput("must be more than 0 and at most 100", field="percent")
    return number


def _amounts(value: moneyed.Money | Iterable[moneyed.Money]) -> Mapping[str, moneyed.Money]:
    """One amount per currency, from a ``Money`` or several in different currencies."""
    items = [value] if isinstance(value, moneyed.Money) else list(value)
    found: dict[str, moneyed.Money] = {}
    for money in items:
        if not isinstance(money, moneyed.Money):
            raise InvalidInput("expected Money", field="amount")
        if money.amount <= 0:
            raise InvalidInput("must be more than zero", field="amount")
        minor_units(money)  # refuses amounts finer than the minor unit
        code = str(money.currency.code)
        if code in found:
            # One would silently win over the other; say which is meant instead.
            raise InvalidInput(f"two amounts in {code}; give one per currency", field="amount")
        found[code] = money
    if not found:
        raise InvalidInput("at least one amount is needed", field="amount")
    return found


def _units_in(amounts: Mapping[str, moneyed.Money], currency: str) -> int | None:
    money = amounts.get(currency)
    return None if money is None else _units(money)


@cache
def _units(money: moneyed.Money) -> int:
    # Promotion amounts are few and fixed; their minor units are worked out once.
    return minor_units(money)


def _strings(value: Iterable[str] | str | None, field: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset((value,))
    try:
        found = frozenset(value)
    except TypeError:
        raise InvalidInput(
            f"expected a string or a collection of strings, got {type(value).__name__}",
            field=field,
        ) from None
    if not all(isinstance(item, str) for item in found):
        raise InvalidInput("expected a collection of strings", field=field)
    return found


def _frozenset(value: Iterable[str] | str | None) -> frozenset[str]:
    return _strings(value, "groups")


def _inclusion(value: Iterable[str] | str | None, field: str) -> frozenset[str]:
    found = _strings(value, field)
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
    return _strings(value, "exclude_skus")


def _exclude_product_ids(value: Iterable[str] | str | None) -> frozenset[str]:
    return _strings(value, "exclude_product_ids")


def _exclude_category_ids(value: Iterable[str] | str | None) -> frozenset[str]:
    return _strings(value, "exclude_category_ids")


def _whole(minimum: int) -> Callable[[object, attrs.Attribute[Any], object], None]:
    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise InvalidInput(
                f"must be a whole number of at least {minimum}", field=attribute.name
            )

    return check


@attrs.frozen
class CouponUsage:
    """How often a coupon has been used, counted by the caller's storage."""

    total: int = attrs.field(default=0, validator=_whole(0))
    by_customer: int = attrs.field(default=0, validator=_whole(0))


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
            raise InvalidInput(f"expected CouponUsage for {code!r}", field="coupon_usage")
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
    adjustments: list[tuple[Promotion, int, str]] = attrs.field(factory=list)


@attrs.frozen(kw_only=True)
class PromotionContext:
    """Everything about the cart and its owner that promotions may depend on."""

    currency: str
    now: datetime = attrs.field()
    customer_id: str | None = None
    customer_group: str | None = None
    coupon_codes: tuple[str, ...] = ()
    coupon_usage: Mapping[str, CouponUsage] = attrs.field(
        factory=dict, converter=normalize_coupon_usage
    )
    """Keyed by normalised coupon code (keys are normalised on the way in)."""
    shipping: int = 0
    """Shipping charge in minor units, before any discount."""
    rounding: Rounding = DEFAULT_ROUNDING

    @now.validator
    def _check_now(self, attribute: attrs.Attribute[datetime], value: datetime) -> None:
        require_aware(value, field="now")


@attrs.frozen
class PromotionOutcome:
    """What the engine did besides adjusting lines."""

    applied: tuple[str, ...]
    """Ids of the promotions applied, in the order applied."""
    shipping_adjustments: tuple[tuple[Promotion, int, str], ...]
    rejected_coupons: tuple[CouponRejected, ...]


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


# --- conditions --------------------------------------------------------------------


class Condition(Protocol):
    """A rule the cart must meet. Returns ``None`` when met, or a rejection reason."""

    def check(
        self, lines: Sequence[WorkLine], all_lines: Sequence[WorkLine], context: PromotionContext
    ) -> str | None: ...


def _filter_or_none(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, ItemFilter):
        raise InvalidInput("expected an ItemFilter or None", field=attribute.name)


@attrs.frozen
class MinimumSubtotal:
    """The targeted lines (or the lines ``items`` selects, if given), before any
    discount, add up to at least this amount.

    Give one amount per currency the promotion runs in; a cart in another currency
    does not qualify.
    """

    amounts: Mapping[str, moneyed.Money] = attrs.field(converter=_amounts)
    items: ItemFilter | None = attrs.field(default=None, validator=_filter_or_none)

    def check(
        self, lines: Sequence[WorkLine], all_lines: Sequence[WorkLine], context: PromotionContext
    ) -> str | None:
        minimum = _units_in(self.amounts, context.currency)
        if minimum is None:
            return "not_applicable"
        items = self.items
        counted = lines if items is None else [x for x in all_lines if items.matches(x.facts)]
        return None if sum(line.subtotal for line in counted) >= minimum else "minimum_not_met"


@attrs.frozen
class MinimumQuantity:
    """At least ``quantity`` units of the targeted lines (or of ``items``, if given)."""

    quantity: int = attrs.field()
    items: ItemFilter | None = attrs.field(default=None, validator=_filter_or_none)

    @quantity.validator
    def _check(self, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidInput("must be a whole number of at least 1", field="quantity")

    def check(
        self, lines: Sequence[WorkLine], all_lines: Sequence[WorkLine], context: PromotionContext
    ) -> str | None:
        items = self.items
        counted = lines if items is None else [x for x in all_lines if items.matches(x.facts)]
        return (
            None if sum(line.quantity for line in counted) >= self.quantity else "minimum_not_met"
        )


@attrs.frozen
class CustomerGroups:
    """Only customers in one of these groups (wholesale, staff, members)."""

    groups: frozenset[str] = attrs.field(converter=_frozenset)

    def check(
        self, lines: Sequence[WorkLine], all_lines: Sequence[WorkLine], context: PromotionContext
    ) -> str | None:
        return None if context.customer_group in self.groups else "not_applicable"


# --- benefits ----------------------------------------------------------------------


class Benefit(Protocol):
    """What a promotion gives. Returns per-line discounts and a shipping discount, in
    minor units; the engine caps each at what is left, so a benefit may overshoot."""

    def discounts(
        self, lines: Sequence[WorkLine], context: PromotionContext
    ) -> tuple[list[int], int]: ...

    def describe(self, currency: str) -> str: ...

    def supports(self, currency: str) -> bool: ...


def _percent_of(units: int, percent: tuple[int, int], rounding: Rounding) -> int:
    """``percent`` (as an exact ratio) of ``units``, rounded once."""
    numerator, denominator = percent
    return divide_rounded(units * numerator, denominator * 100, rounding)


def _spread(total: int, lines: Sequence[WorkLine]) -> list[int]:
    """An order-level discount spread over lines in proportion to what is left of them."""
    base = sum(line.remaining for line in lines)
    total = min(total, base)
    if total <= 0:
        return [0] * len(lines)
    return allocate_units(total, [line.remaining for line in lines])


def _show(amounts: Mapping[str, moneyed.Money], currency: str) -> str:
    money = amounts.get(currency)
    return "" if money is None else format_money(money)


@attrs.frozen
class PercentOffLines:
    """``percent`` off each targeted line, rounded per line."""

    percent: Decimal = attrs.field(converter=_percent)

    def discounts(
        self, lines: Sequence[WorkLine], context: PromotionContext
    ) -> tuple[list[int], int]:
        numerator, denominator = self.percent.as_integer_ratio()
        denominator *= 100
        rounding = context.rounding
        return [
            divide_rounded(line.remaining * numerator, denominator, rounding) for line in lines
        ], 0

    def describe(self, currency: str) -> str:
        return f"{self.percent.normalize():f}% off"

    def supports(self, currency: str) -> bool:
        return True


@attrs.frozen
class PercentOffOrder:
    """``percent`` off the targeted lines together, rounded once and spread over them."""

    percent: Decimal = attrs.field(converter=_percent)

    def discounts(
        self, lines: Sequence[WorkLine], context: PromotionContext
    ) -> tuple[list[int], int]:
        base = sum(line.remaining for line in lines)
        total = _percent_of(base, self.percent.as_integer_ratio(), context.rounding)
        return _spread(total, lines), 0

    def describe(self, currency: str) -> str:
        return f"{self.percent.normalize():f}% off the order"

    def supports(self, currency: str) -> bool:
        return True


@attrs.frozen
class AmountOffOrder:
    """A fixed amount off the targeted lines, spread over them, never below zero."""

    amounts: Mapping[str, moneyed.Money] = attrs.field(converter=_amounts)

    def discounts(
        self, lines: Sequence[WorkLine], context: PromotionContext
    ) -> tuple[list[int], int]:
        return _spread(_units_in(self.amounts, context.currency) or 0, lines), 0

    def describe(self, currency: str) -> str:
        return f"{_show(self.amounts, currency)} off the order"

    def supports(self, currency: str) -> bool:
        return currency in self.amounts


@attrs.frozen
class FixedPrice:
    """Each targeted unit for this price (where it is cheaper than the current one)."""

    amounts: Mapping[str, moneyed.Money] = attrs.field(converter=_amounts)

    def discounts(
        self, lines: Sequence[WorkLine], context: PromotionContext
    ) -> tuple[list[int], int]:
        price = _units_in(self.amounts, context.currency) or 0
        return [max(0, line.remaining - price * line.quantity) for line in lines], 0

    def describe(self, currency: str) -> str:
        return f"for {_show(self.amounts, currency)} each"

    def supports(self, currency: str) -> bool:
        return currency in self.amounts


@attrs.frozen
class BuyXGetY:
    """For every ``buy`` + ``get`` targeted units, the ``get`` cheapest are ``percent`` off
    (free by default)."""

    buy: int = attrs.field()
    get: int = attrs.field()
    percent: Decimal = attrs.field(default=_HUNDRED, converter=_percent)

    @buy.validator
    @get.validator
    def _check(self, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
            raise InvalidInput("must be a whole number from 1 to 1000", field=attribute.name)

    def discounts(
        self, lines: Sequence[WorkLine], context: PromotionContext
    ) -> tuple[list[int], int]:
        units = sum(line.quantity for line in lines)
        free = units // (self.buy + self.get) * self.get
        result = [0] * len(lines)
        numerator, denominator = self.percent.as_integer_ratio()
        # The cheapest units are the ones given away, as shoppers expect; a unit is
        # worth what is left of its line after earlier promotions, not its list price,
        # or a free unit after 50% off would be given away at twice what it costs.
        order = sorted(
            range(len(lines)),
            key=lambda i: (Fraction(lines[i].remaining, lines[i].quantity), lines[i].unit, i),
        )
        for position in order:
            if free <= 0:
                break
            line = lines[position]
            taken = min(free, line.quantity)
            free -= taken
            # remaining * taken / quantity, times the percentage, rounded once.
            result[position] = divide_rounded(
                line.remaining * taken * numerator,
                line.quantity * denominator * 100,
                context.rounding,
            )
        return result, 0

    def describe(self, currency: str) -> str:
        if self.percent == _HUNDRED:
            return f"buy {self.buy} get {self.get} free"
        return f"buy {self.buy} get {self.get} at {self.percent.normalize():f}% off"

    def supports(self, currency: str) -> bool:
        return True


@attrs.frozen
class FreeShipping:
    """No charge for shipping."""

    def discounts(
        self, lines: Sequence[WorkLine], context: PromotionContext
    ) -> tuple[list[int], int]:
        return [0] * len(lines), context.shipping

    def describe(self, currency: str) -> str:
        return "free shipping"

    def supports(self, currency: str) -> bool:
        return True


def _tiers(
    value: Iterable[tuple[moneyed.Money, moneyed.Money]],
) -> tuple[tuple[moneyed.Money, moneyed.Money], ...]:
    try:
        tiers = tuple(tuple(tier) for tier in value)
    except TypeError:
        raise InvalidInput(
            "expected (threshold, amount off) pairs of Money", field="tiers"
        ) from None
    if not tiers:
        raise InvalidInput("at least one tier is needed", field="tiers")
    by_currency: dict[str, list[tuple[int, int]]] = {}
    for tier in tiers:
        if len(tier) != 2:
            raise InvalidInput("expected (threshold, amount off) pairs of Money", field="tiers")
        threshold, off = tier
        _amounts(threshold)
        _amounts(off)
        if threshold.currency != off.currency:
            raise InvalidInput("a tier's threshold and amount share a currency", field="tiers")
        steps = by_currency.setdefault(str(threshold.currency.code), [])
        steps.append((minor_units(threshold), minor_units(off)))
    for steps in by_currency.values():
        steps.sort()
        for (low, low_off), (high, high_off) in pairwise(steps):
            # Spending more must never earn less: that would make a customer remove
            # items to save money, and two tiers at one threshold contradict each other.
            if high == low or high_off <= low_off:
                raise InvalidInput(
                    "each higher threshold must give a larger amount off", field="tiers"
                )
    return tiers  # type: ignore[return-value]  # pairs, checked above


@attrs.frozen
class TieredAmountOff:
    """Spend thresholds, each with an amount off: spend 100 get 10, spend 200 get 25.

    The highest threshold the targeted lines reach (before discounts) applies.
    """

    tiers: tuple[tuple[moneyed.Money, moneyed.Money], ...] = attrs.field(converter=_tiers)

    def _reached(self, spent: int, currency: str) -> tuple[int, moneyed.Money] | None:
        best: tuple[int, moneyed.Money] | None = None
        for threshold, off in self.tiers:
            if str(threshold.currency.code) != currency:
                continue
            needed = minor_units(threshold)
            if spent >= needed and (best is None or needed > best[0]):
                best = (needed, off)
        return best

    def discounts(
        self, lines: Sequence[WorkLine], context: PromotionContext
    ) -> tuple[list[int], int]:
        reached = self._reached(sum(line.subtotal for line in lines), context.currency)
        return _spread(0 if reached is None else minor_units(reached[1]), lines), 0

    def describe(self, currency: str) -> str:
        steps = [
            f"spend {format_money(threshold)} get {format_money(off)} off"
            for threshold, off in self.tiers
            if str(threshold.currency.code) == currency
        ]
        return ", ".join(steps)

    def supports(self, currency: str) -> bool:
        return any(str(threshold.currency.code) == currency for threshold, _ in self.tiers)


# --- promotions and coupons --------------------------------------------------------


class Stacking(enum.Enum):
    """Whether a promotion may be combined with others."""

    EXCLUSIVE = "exclusive"
    COMBINABLE = "combinable"


def _stacking(value: object) -> Stacking:
    if isinstance(value, Stacking):
        return value
    try:
        return Stacking(value)
    except ValueError:
        raise InvalidInput(
            f"expected one of {', '.join(s.value for s in Stacking)}, got {value!r}",
            field="stacking",
        ) from None


def _optional_whole(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _whole(0)(_, attribute, value)


def _integer(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("must be a whole number", field=attribute.name)


def _text(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("must be a non-empty string", field=attribute.name)


def _flag(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise InvalidInput("must be True or False", field=attribute.name)


def _benefit(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not all(
        callable(getattr(value, name, None)) for name in ("discounts", "describe", "supports")
    ):
        raise InvalidInput(
            f"expected a Benefit (such as PercentOffLines), got {value!r}", field="benefit"
        )


def _conditions(_: object, attribute: attrs.Attribute[Any], value: tuple[object, ...]) -> None:
    for condition in value:
        if not callable(getattr(condition, "check", None)):
            raise InvalidInput(
                f"expected a Condition (such as MinimumSubtotal), got {condition!r}",
                field="conditions",
            )


def _target(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, ItemFilter):
        raise InvalidInput("expected an ItemFilter", field="target")


def _window(starts_at: datetime | None, ends_at: datetime | None, now: datetime) -> str | None:
    if starts_at is not None and now < starts_at:
        return "not_yet_valid"
    if ends_at is not None and now >= ends_at:
        return "expired"
    return None


@attrs.frozen(kw_only=True)
class Promotion:
    """A discount rule a merchant sets up."""

    id: str = attrs.field(validator=_text)
    name: str = attrs.field(validator=_text)
    benefit: Benefit = attrs.field(validator=_benefit)
    target: ItemFilter = attrs.field(default=ItemFilter(), validator=_target)
    conditions: tuple[Condition, ...] = attrs.field(
        default=(), converter=tuple, validator=_conditions
    )
    starts_at: datetime | None = attrs.field(default=None, validator=aware_or_none)
    ends_at: datetime | None = attrs.field(default=None, validator=aware_or_none)
    priority: int = attrs.field(default=0, validator=_integer)
    """Higher goes first."""
    stacking: Stacking = attrs.field(default=Stacking.COMBINABLE, converter=_stacking)
    """A string such as ``"exclusive"`` is read as the :class:`Stacking` of that value."""
    requires_coupon: bool = attrs.field(default=False, validator=_flag)
    """Applies only while one of its coupons is on the cart."""

    def __attrs_post_init__(self) -> None:
        if (
            self.starts_at is not None
            and self.ends_at is not None
            and self.ends_at <= self.starts_at
        ):
            raise InvalidInput("must be later than starts_at", field="ends_at")


@attrs.frozen(kw_only=True)
class Coupon:
    """A code that unlocks a promotion, with its own window and usage limits."""

    code: str = attrs.field(converter=normalize_coupon_code)
    promotion_id: str = attrs.field(validator=_text)
    starts_at: datetime | None = attrs.field(default=None, validator=aware_or_none)
    ends_at: datetime | None = attrs.field(default=None, validator=aware_or_none)
    usage_limit: int | None = attrs.field(default=None, validator=_optional_whole)
    """Uses in all; ``None`` for no limit (0 for none at all)."""
    usage_limit_per_customer: int | None = attrs.field(default=None, validator=_optional_whole)

    def __attrs_post_init__(self) -> None:
        if (
            self.starts_at is not None
            and self.ends_at is not None
            and self.ends_at <= self.starts_at
        ):
            raise InvalidInput("must be later than starts_at", field="ends_at")

    def limit_refusal(self, usage: CouponUsage) -> CouponRejected | None:
        """Why the usage limits refuse one more use, ``None`` when they allow it.

        This is the one decision on coupon limits: pricing asks it of the counts it
        was given, and storage asks it again of the counts it takes under a lock as
        the order is written. ``usage.by_customer`` counts the uses of the customer
        at hand (0 for a shopper not known yet).
        """
        if self.usage_limit is not None and usage.total >= self.usage_limit:
            return CouponRejected(
                self.code, "limit_reached", f"used {usage.total} of {self.usage_limit} times"
            )
        limit = self.usage_limit_per_customer
        if limit is not None and usage.by_customer >= limit:
            return CouponRejected(
                self.code, "limit_reached", f"used {usage.by_customer} of {limit} times by you"
            )
        return None


class PromotionEngine:
    """Applies promotions to priced lines, and checks coupons.

    Promotions are indexed by the SKUs, products and categories they target, so that
    the many promotions that cannot touch a cart cost a dictionary miss each line,
    not an evaluation each.
    """

    def __init__(
        self, promotions: Iterable[Promotion] = (), coupons: Iterable[Coupon] = ()
    ) -> None:
        self._promotions: dict[str, Promotion] = {}
        self._everywhere: list[Promotion] = []
        self._by_key: dict[tuple[str, str], list[Promotion]] = {}
        self._coupons: dict[str, Coupon] = {}
        # Per SKU, the promotions the index finds for it; keyed on the facts object so
        # that a catalogue change (which builds new facts) is never served stale.
        self._memo: dict[str, tuple[ItemFacts, tuple[Promotion, ...]]] = {}
        self._reasons: dict[tuple[str, str], str] = {}
        for promotion in promotions:
            self.add(promotion)
        for coupon in coupons:
            self.add_coupon(coupon)

    def add(self, promotion: Promotion) -> None:
        """Add a promotion to the index."""
        if promotion.id in self._promotions:
            raise InvalidInput(f"promotion {promotion.id!r} already exists", field="id")
        self._promotions[promotion.id] = promotion
        target = promotion.target
        if target.includes_everything:
            self._everywhere.append(promotion)
            return
        keys = [("sku", s) for s in target.skus]
        keys += [("product", p) for p in target.product_ids]
        keys += [("category", c) for c in target.category_ids]
        for key in keys:
            self._by_key.setdefault(key, []).append(promotion)
        self._memo.clear()

    def add_coupon(self, coupon: Coupon) -> None:
        """Add a coupon code for one of the promotions."""
        if coupon.code in self._coupons:
            raise InvalidInput(f"coupon {coupon.code!r} already exists", field="code")
        self._coupons[coupon.code] = coupon

    def promotion(self, promotion_id: str) -> Promotion | None:
        """The promotion with this id, if any."""
        return self._promotions.get(promotion_id)

    def _reason(self, promotion: Promotion, currency: str) -> str:
        # Describing formats money through Babel, which is slow; a promotion's words
        # never change, so each is worked out once per currency.
        key = (promotion.id, currency)
        reason = self._reasons.get(key)
        if reason is None:
            reason = self._reasons[key] = promotion.benefit.describe(currency)
        return reason

    def _targeting(self, facts: ItemFacts) -> tuple[Promotion, ...]:
        """The indexed promotions that name this SKU, its product or a category of it."""
        memo = self._memo.get(facts.sku)
        if memo is not None and memo[0] is facts:
            return memo[1]
        by_key = self._by_key
        keys = [("sku", facts.sku), ("product", facts.product_id)]
        keys += [("category", c) for c in facts.category_ids]
        found = tuple({p.id: p for key in keys for p in by_key.get(key, ())}.values())
        self._memo[facts.sku] = (facts, found)
        return found

    def _candidates(
        self, lines: Sequence[WorkLine]
    ) -> list[tuple[Promotion, list[WorkLine] | None]]:
        """Promotions that may touch these lines, highest priority first, each with the
        lines the index found for it (``None`` for promotions that target everything)."""
        found: dict[str, tuple[Promotion, list[WorkLine] | None]] = {
            p.id: (p, None) for p in self._everywhere
        }
        if self._by_key:
            targeting = self._targeting
            for line in lines:
                for promotion in targeting(line.facts):
                    entry = found.get(promotion.id)
                    if entry is None:
                        found[promotion.id] = (promotion, [line])
                    else:
                        entry[1].append(line)  # type: ignore[union-attr]
        return sorted(found.values(), key=lambda entry: (-entry[0].priority, entry[0].id))

    def _refusal(
        self,
        promotion: Promotion,
        lines: Sequence[WorkLine],
        context: PromotionContext,
        indexed: list[WorkLine] | None = None,
    ) -> tuple[str | None, list[WorkLine]]:
        """Why ``promotion`` does not apply (or ``None``), and the lines it targets.

        ``indexed``, when given, are the lines the index found for the promotion: they
        already meet its inclusions, so only its exclusions are left to check.
        """
        refusal = _window(promotion.starts_at, promotion.ends_at, context.now)
        if refusal:
            return refusal, []
        if not promotion.benefit.supports(context.currency):
            return "not_applicable", []
        target = promotion.target
        if target.is_everything:
            eligible = list(lines)
        elif indexed is not None and not target.excludes_anything:
            eligible = indexed
        else:
            eligible = [line for line in (indexed or lines) if target.matches(line.facts)]
        if not eligible:
            return "not_applicable", []
        for condition in promotion.conditions:
            refusal = condition.check(eligible, lines, context)
            if refusal:
                return refusal, []
        return None, eligible

    def check_coupon(
        self, code: str, lines: Sequence[WorkLine], context: PromotionContext
    ) -> Coupon:
        """The coupon for ``code`` if it can be used on these lines now.

        :raises CouponRejected: saying why (unknown, expired, not yet valid, limit
            reached, minimum not met, not applicable).
        """
        normal = normalize_coupon_code(code)
        coupon = self._coupons.get(normal)
        promotion = None if coupon is None else self._promotions.get(coupon.promotion_id)
        if coupon is None or promotion is None:
            raise CouponRejected(normal, "unknown")
        refusal = _window(coupon.starts_at, coupon.ends_at, context.now)
        if refusal:
            raise CouponRejected(normal, refusal)
        usage = context.coupon_usage.get(normal, CouponUsage())
        limited = coupon.limit_refusal(usage)
        if limited is not None:
            raise limited
        refusal, _ = self._refusal(promotion, lines, context)
        if refusal:
            raise CouponRejected(normal, refusal)
        return coupon

    def apply(self, lines: Sequence[WorkLine], context: PromotionContext) -> PromotionOutcome:
        """Apply every promotion that may apply, adjusting ``lines`` in place.

        A promotion counts as applied only when it gives a discount (on lines or on
        shipping): one that gives nothing neither shows in the outcome nor, when it
        is exclusive, keeps the others out. A coupon whose promotion is passed over
        by the stacking rule is reported as rejected, ``not_combinable``; a coupon
        whose promotion has nothing to give yet (free shipping before shipping is
        known) is neither applied nor rejected.
        """
        unlocked: dict[str, list[tuple[int, str]]] = {}
        rejected: list[tuple[int, CouponRejected]] = []
        for position, code in enumerate(context.coupon_codes):
            try:
                coupon = self.check_coupon(code, lines, context)
            except CouponRejected as error:
                rejected.append((position, error))
            else:
                unlocked.setdefault(coupon.promotion_id, []).append((position, coupon.code))
        applied: list[str] = []
        evaluated: set[str] = set()
        shipping_adjustments: list[tuple[Promotion, int, str]] = []
        shipping_left = context.shipping
        for promotion, indexed in self._candidates(lines):
            if promotion.requires_coupon and promotion.id not in unlocked:
                continue
            exclusive = promotion.stacking is Stacking.EXCLUSIVE
            if exclusive and applied:
                continue
            evaluated.add(promotion.id)
            refusal, eligible = self._refusal(promotion, lines, context, indexed)
            if refusal:
                continue
            reason = self._reason(promotion, context.currency)
            line_discounts, shipping_discount = promotion.benefit.discounts(eligible, context)
            given = 0
            for line, discount in zip(eligible, line_discounts, strict=True):
                if discount > line.remaining:
                    discount = line.remaining
                if discount > 0:
                    line.remaining -= discount
                    line.adjustments.append((promotion, discount, reason))
                    given += discount
            shipping_discount = min(shipping_discount, shipping_left)
            if shipping_discount > 0:
                shipping_left -= shipping_discount
                shipping_adjustments.append((promotion, shipping_discount, reason))
                given += shipping_discount
            if given:
                applied.append(promotion.id)
                if exclusive:
                    break
        for promotion_id, codes in unlocked.items():
            # Never evaluated although its coupon was good: the stacking rule kept it out.
            if promotion_id not in evaluated:
                rejected.extend(
                    (
                        position,
                        CouponRejected(
                            code, "not_combinable", "cannot be combined with what applies"
                        ),
                    )
                    for position, code in codes
                )
        rejected.sort(key=lambda entry: entry[0])
        return PromotionOutcome(
            tuple(applied),
            tuple(shipping_adjustments),
            tuple(error for _, error in rejected),
        )
