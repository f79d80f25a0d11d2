"""Conditions: the rules a cart must meet for a promotion to apply."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import attrs
import moneyed

from commercekit.domain.errors import InvalidInput
from commercekit.domain.promotions._amounts import amounts_by_currency, units_in
from commercekit.domain.promotions.targeting import ItemFilter, PromotionContext, WorkLine, _strings

__all__ = [
    "Condition",
    "CustomerGroups",
    "MinimumQuantity",
    "MinimumSubtotal",
]


class Condition(Protocol):
    """A rule the cart must meet. Returns ``None`` when met, or a rejection reason."""

    def check(
        self, lines: Sequence[WorkLine], all_lines: Sequence[WorkLine], context: PromotionContext
    ) -> str | None: ...


def _frozenset(value: Iterable[str] | str | None) -> frozenset[str]:
    return _strings(value, "groups")


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

    amounts: Mapping[str, moneyed.Money] = attrs.field(converter=amounts_by_currency)
    items: ItemFilter | None = attrs.field(default=None, validator=_filter_or_none)

    def check(
        self, lines: Sequence[WorkLine], all_lines: Sequence[WorkLine], context: PromotionContext
    ) -> str | None:
        minimum = units_in(self.amounts, context.currency)
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
