"""Conditions: the rules a cart must meet for a promotion to apply."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Protocol

import attrs
import moneyed

from commercekit.domain._validators import instance_of, strings, whole_number
from commercekit.domain.promotions._amounts import amounts_by_currency, units_in
from commercekit.domain.promotions.targeting import ItemFilter, PromotionContext, WorkLine

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


def _groups(value: Iterable[str] | str | None) -> frozenset[str]:
    return strings(value, field="groups")


_FILTER_OR_NONE: Final = attrs.validators.optional(instance_of(ItemFilter, "an ItemFilter"))


@attrs.frozen
class MinimumSubtotal:
    """The targeted lines (or the lines ``items`` selects, if given), before any
    discount, add up to at least this amount.

    Give one amount per currency the promotion runs in; a cart in another currency
    does not qualify.
    """

    amounts: Mapping[str, moneyed.Money] = attrs.field(converter=amounts_by_currency)
    items: ItemFilter | None = attrs.field(default=None, validator=_FILTER_OR_NONE)

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

    quantity: int = attrs.field(validator=whole_number(1))
    items: ItemFilter | None = attrs.field(default=None, validator=_FILTER_OR_NONE)

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
    """Only customers in one of these groups (wholesale, staff, members): a customer
    in several groups qualifies when any of them is one of these."""

    groups: frozenset[str] = attrs.field(converter=_groups)

    def check(
        self, lines: Sequence[WorkLine], all_lines: Sequence[WorkLine], context: PromotionContext
    ) -> str | None:
        return "not_applicable" if self.groups.isdisjoint(context.customer_groups) else None
