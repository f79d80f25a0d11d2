"""Benefits: what a promotion gives, as per-line and shipping discounts in minor units."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from typing import Final, Protocol

import attrs
import moneyed

from commercekit.domain._validators import whole_number
from commercekit.domain.errors import InvalidInput
from commercekit.domain.money import (
    Rounding,
    allocate_units,
    divide_rounded,
    format_money,
    minor_units,
    to_decimal,
)
from commercekit.domain.promotions._amounts import amounts_by_currency, units_in
from commercekit.domain.promotions.targeting import PromotionContext, WorkLine

__all__ = [
    "AmountOffOrder",
    "Benefit",
    "BuyXGetY",
    "FixedPrice",
    "FreeShipping",
    "PercentOffLines",
    "PercentOffOrder",
    "TieredAmountOff",
]

_HUNDRED: Final = Decimal(100)
_UNITS: Final = whole_number(1, 1000)


def _percent(value: object) -> Decimal:
    number = to_decimal(value, field="percent")
    if not 0 < number <= _HUNDRED:
        raise InvalidInput("must be more than 0 and at most 100", field="percent")
    return number


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

    amounts: Mapping[str, moneyed.Money] = attrs.field(converter=amounts_by_currency)

    def discounts(
        self, lines: Sequence[WorkLine], context: PromotionContext
    ) -> tuple[list[int], int]:
        return _spread(units_in(self.amounts, context.currency) or 0, lines), 0

    def describe(self, currency: str) -> str:
        return f"{_show(self.amounts, currency)} off the order"

    def supports(self, currency: str) -> bool:
        return currency in self.amounts


@attrs.frozen
class FixedPrice:
    """Each targeted unit for this price (where it is cheaper than the current one)."""

    amounts: Mapping[str, moneyed.Money] = attrs.field(converter=amounts_by_currency)

    def discounts(
        self, lines: Sequence[WorkLine], context: PromotionContext
    ) -> tuple[list[int], int]:
        price = units_in(self.amounts, context.currency) or 0
        return [max(0, line.remaining - price * line.quantity) for line in lines], 0

    def describe(self, currency: str) -> str:
        return f"for {_show(self.amounts, currency)} each"

    def supports(self, currency: str) -> bool:
        return currency in self.amounts


@attrs.frozen
class BuyXGetY:
    """For every ``buy`` + ``get`` targeted units, the ``get`` cheapest are ``percent`` off
    (free by default)."""

    buy: int = attrs.field(validator=_UNITS)
    get: int = attrs.field(validator=_UNITS)
    percent: Decimal = attrs.field(default=_HUNDRED, converter=_percent)

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
        amounts_by_currency(threshold)
        amounts_by_currency(off)
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
