"""Promotions, coupons, and the engine that applies them and explains each adjustment.

__all__ = [
    "Coupon",
    "Promotion",
    "PromotionEngine",
    "PromotionOutcome",
    "Stacking",
]

Stacking: promotions are considered from the highest ``priority`` down (ties by id).
When the first one that applies is ``EXCLUSIVE`` it applies alone; otherwise every
``COMBINABLE`` promotion that applies is applied in that order, each on what the
earlier ones left, and exclusive ones are passed over.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final

import attrs

from commercekit.domain._validators import aware_or_none, flag, instance_of, text, whole_number
from commercekit.domain.catalog import ItemFacts
from commercekit.domain.errors import CouponRejected, InvalidInput, shown
from commercekit.domain.promotions.benefits import Benefit
from commercekit.domain.promotions.conditions import Condition
from commercekit.domain.promotions.targeting import (
    CouponUsage,
    ItemFilter,
    PromotionContext,
    WorkLine,
    normalize_coupon_code,
)
from commercekit.domain.window import Window


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
            f"expected one of {', '.join(s.value for s in Stacking)}, got {shown(value)}",
            field="stacking",
        ) from None


_TEXT: Final = text()
#: More uses, or a higher priority, than any shop counts: what a database column holds.
_CEILING: Final = 10**9
_LIMIT: Final = attrs.validators.optional(whole_number(0, _CEILING))


def _benefit(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not all(
        callable(getattr(value, name, None)) for name in ("discounts", "describe", "supports")
    ):
        raise InvalidInput(
            f"expected a Benefit (such as PercentOffLines), got {shown(value)}", field="benefit"
        )


def _conditions(_: object, attribute: attrs.Attribute[Any], value: tuple[object, ...]) -> None:
    for condition in value:
        if not callable(getattr(condition, "check", None)):
            raise InvalidInput(
                f"expected a Condition (such as MinimumSubtotal), got {shown(condition)}",
                field="conditions",
            )


def _default_stacking(promotion: Promotion) -> Stacking:
    return Stacking.EXCLUSIVE if promotion.requires_coupon else Stacking.COMBINABLE


@attrs.frozen(kw_only=True)
class Promotion:
    """A discount rule a merchant sets up."""

    id: str = attrs.field(validator=_TEXT)
    name: str = attrs.field(validator=_TEXT)
    benefit: Benefit = attrs.field(validator=_benefit)
    target: ItemFilter = attrs.field(
        default=ItemFilter(), validator=instance_of(ItemFilter, "an ItemFilter")
    )
    conditions: tuple[Condition, ...] = attrs.field(
        default=(), converter=tuple, validator=_conditions
    )
    starts_at: datetime | None = attrs.field(default=None, validator=aware_or_none)
    ends_at: datetime | None = attrs.field(default=None, validator=aware_or_none)
    priority: int = attrs.field(default=0, validator=whole_number(-_CEILING, _CEILING))
    """Higher goes first."""
    requires_coupon: bool = attrs.field(default=False, validator=flag)
    """Applies only while one of its coupons is on the cart."""
    stacking: Stacking = attrs.field(
        default=attrs.Factory(_default_stacking, takes_self=True), converter=_stacking
    )
    """A string such as ``"exclusive"`` is read as the :class:`Stacking` of that value.
    Left out, a promotion behind a coupon is exclusive (four codes for a quarter off
    must not make an order free) and any other is combinable."""

    @property
    def window(self) -> Window:
        """When the promotion runs (built on each read; keep it where it is read often)."""
        return Window(starts_at=self.starts_at, ends_at=self.ends_at)

    def __attrs_post_init__(self) -> None:
        _ = self.window  # refuses an end that is not later than the start


@attrs.frozen(kw_only=True)
class Coupon:
    """A code that unlocks a promotion, with its own window and usage limits."""

    code: str = attrs.field(converter=normalize_coupon_code)
    promotion_id: str = attrs.field(validator=_TEXT)
    starts_at: datetime | None = attrs.field(default=None, validator=aware_or_none)
    ends_at: datetime | None = attrs.field(default=None, validator=aware_or_none)
    usage_limit: int | None = attrs.field(default=None, validator=_LIMIT)
    """Uses in all; ``None`` for no limit (0 for none at all)."""
    usage_limit_per_customer: int | None = attrs.field(default=None, validator=_LIMIT)

    @property
    def window(self) -> Window:
        """When the coupon can be used (built on each read)."""
        return Window(starts_at=self.starts_at, ends_at=self.ends_at)

    def __attrs_post_init__(self) -> None:
        _ = self.window  # refuses an end that is not later than the start

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


@attrs.frozen
class PromotionOutcome:
    """What the engine did besides adjusting lines."""

    applied: tuple[str, ...]
    """Ids of the promotions applied, in the order applied."""
    shipping_adjustments: tuple[tuple[Promotion, int, str], ...]
    rejected_coupons: tuple[CouponRejected, ...]


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
        # Each promotion's and coupon's window, built once: a window is built on each
        # read of ``Promotion.window``, and pricing checks one per promotion per cart.
        self._windows: dict[str, Window] = {}
        self._coupon_windows: dict[str, Window] = {}
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
            raise InvalidInput(f"promotion {shown(promotion.id)} already exists", field="id")
        self._promotions[promotion.id] = promotion
        self._windows[promotion.id] = promotion.window
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

    def with_coupons(self, coupons: Iterable[Coupon]) -> PromotionEngine:
        """An engine with this one's promotions and only ``coupons``.

        The promotions' index is shared, not copied, so that an engine built once for
        many promotions serves every cart at the cost of its coupons: add no
        promotion to either engine afterwards.
        """
        engine = copy.copy(self)
        engine._coupons = {}
        engine._coupon_windows = {}
        engine._memo = {}
        for coupon in coupons:
            engine.add_coupon(coupon)
        return engine

    def add_coupon(self, coupon: Coupon) -> None:
        """Add a coupon code for one of the promotions."""
        if coupon.code in self._coupons:
            raise InvalidInput(f"coupon {shown(coupon.code)} already exists", field="code")
        self._coupons[coupon.code] = coupon
        self._coupon_windows[coupon.code] = coupon.window

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
        refusal: str | None = self._windows[promotion.id].refusal(context.now)
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
        outside = self._coupon_windows[normal].refusal(context.now)
        if outside:
            raise CouponRejected(normal, outside)
        limited = coupon.limit_refusal(context.coupon_usage.get(normal, CouponUsage()))
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
