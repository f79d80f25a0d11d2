"""The pricing engine: prices a cart against the catalogue, price lists, taxes and
promotions, exactly to the minor unit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Final, NamedTuple, Protocol

import attrs
import moneyed

from commercekit.domain._validators import aware, instance_of
from commercekit.domain.cart import QUANTITY_CEILING
from commercekit.domain.catalog import Catalog
from commercekit.domain.errors import (
    CurrencyMismatch,
    InvalidInput,
    InvalidQuantity,
    MissingPrice,
    Unavailable,
    shown,
)
from commercekit.domain.money import (
    DEFAULT_ROUNDING,
    Rounding,
    divide_rounded,
    minor_units,
    normalize_currency,
    round_table,
    round_to_total,
)
from commercekit.domain.pricing.breakdown import LineBreakdown, PriceBreakdown
from commercekit.domain.pricing.price_lists import PriceBook
from commercekit.domain.pricing.tax import (
    TaxAddress,
    TaxRate,
    TaxRates,
    TaxRounding,
    TaxSettings,
    TaxTable,
)
from commercekit.domain.promotions import (
    CouponUsage,
    PromotionContext,
    PromotionEngine,
    WorkLine,
    normalize_coupon_code,
    normalize_coupon_usage,
    normalize_customer_groups,
)

__all__ = [
    "CartLike",
    "PricingContext",
    "PricingEngine",
]


class CartLike(Protocol):
    """What pricing reads from a cart."""

    @property
    def currency(self) -> str: ...

    @property
    def coupon_codes(self) -> tuple[str, ...]: ...

    def items(self) -> Iterable[tuple[str, int]]: ...


@attrs.frozen(kw_only=True)
class PricingContext:
    """Who is buying, when, where to, and what shipping costs.

    ``now`` must be timezone-aware; ``coupon_usage`` is keyed by coupon code in any
    case or spacing (keys are normalised, so a limit cannot be dodged by spelling).
    """

    now: datetime = attrs.field(validator=aware)
    channel: str | None = None
    customer_id: str | None = None
    customer_groups: tuple[str, ...] = attrs.field(default=(), converter=normalize_customer_groups)
    """The customer's groups, in their order of preference: where two of them have a
    price list that prices a SKU, the first group's list wins. A single string is one
    group."""
    address: TaxAddress | None = attrs.field(
        default=None, validator=attrs.validators.optional(instance_of(TaxAddress, "a TaxAddress"))
    )
    shipping: moneyed.Money | None = attrs.field(
        default=None, validator=attrs.validators.optional(instance_of(moneyed.Money, "Money"))
    )
    coupon_usage: Mapping[str, CouponUsage] = attrs.field(
        factory=dict, converter=normalize_coupon_usage
    )


@attrs.frozen
class _OneLine:
    """A cart of one line, for :meth:`PricingEngine.check_sellable`."""

    currency: str
    sku: str
    quantity: int
    coupon_codes: tuple[str, ...] = ()

    def items(self) -> Iterable[tuple[str, int]]:
        return ((self.sku, self.quantity),)


class _ScaledRates(NamedTuple):
    """Rates as integer numerators over one denominator, so tax is exact integer work.

    Exclusive: tax = base * n / d. Inclusive: the gross base holds net * (1 + sum of
    rates), so each rate's part of it is base * n / (d + sum of n).
    """

    rates: tuple[TaxRate, ...]
    numerators: tuple[int, ...]
    denominator: int


_NO_TAX: Final = _ScaledRates((), (), 1)


def _scale(rates: tuple[TaxRate, ...], inclusive: bool) -> _ScaledRates:
    places = max(0, *(-int(r.rate.as_tuple().exponent) for r in rates))
    numerators = tuple(int(r.rate.scaleb(places)) for r in rates)
    denominator = 10**places + (sum(numerators) if inclusive else 0)
    return _ScaledRates(rates, numerators, denominator)


def _tax_by_rate(
    rates: Sequence[_ScaledRates], taxes: Sequence[Sequence[int]]
) -> tuple[tuple[str, Decimal, int], ...]:
    """Tax per ``(name, rate)`` over all lines and shipping, as an invoice lists it."""
    # Lines share their rate tuples (one per tax category), so sum by tuple first.
    by_rates: dict[int, tuple[_ScaledRates, list[int]]] = {}
    for scaled, amounts in zip(rates, taxes, strict=True):
        if not amounts:
            continue
        entry = by_rates.get(id(scaled))
        if entry is None:
            by_rates[id(scaled)] = (scaled, list(amounts))
        else:
            sums = entry[1]
            for k, units in enumerate(amounts):
                sums[k] += units
    totals: dict[tuple[str, Decimal], int] = {}
    for scaled, sums in by_rates.values():
        for rate, units in zip(scaled.rates, sums, strict=True):
            key = (rate.name, rate.rate)
            totals[key] = totals.get(key, 0) + units
    return tuple((name, rate, units) for (name, rate), units in totals.items())


class PricingEngine:
    """Prices carts against a catalogue, price lists, taxes and promotions.

    Build it once and reuse it: lookups it needs are indexed at construction.
    """

    def __init__(
        self,
        *,
        catalog: Catalog,
        prices: PriceBook,
        taxes: TaxRates | None = None,
        tax_settings: TaxSettings | None = None,
        promotions: PromotionEngine | None = None,
        rounding: Rounding = DEFAULT_ROUNDING,
    ) -> None:
        self.catalog = catalog
        self.prices = prices
        self.taxes: TaxRates = taxes or TaxTable()
        self.tax_settings = tax_settings or TaxSettings()
        self.promotions = promotions or PromotionEngine()
        self.rounding = rounding
        self._scaled: dict[tuple[tuple[TaxRate, ...], bool], _ScaledRates] = {}

    def _work_lines(self, cart: CartLike, context: PricingContext, currency: str) -> list[WorkLine]:
        chain = self.prices.chain(currency, context.channel, context.customer_groups)
        facts_of = self.catalog.facts
        now = context.now
        lines: list[WorkLine] = []
        for index, (sku, quantity) in enumerate(cart.items()):
            # A cart loaded from storage is trusted by the cart, not by pricing: a
            # negative quantity here would price to a negative total.
            if type(quantity) is not int or not 0 < quantity <= QUANTITY_CEILING:
                raise InvalidQuantity(
                    f"must be a whole number from 1 to {QUANTITY_CEILING}, got {shown(quantity)}",
                    field="quantity",
                )
            facts = facts_of(sku)
            if not facts.product.is_available(now):
                raise Unavailable(sku)
            for price_list in chain:
                entry = price_list._entries.get(sku)
                if entry is not None:
                    unit = entry.unit_for(quantity, now)
                    break
            else:
                raise MissingPrice(sku, currency)
            subtotal = unit * quantity
            lines.append(WorkLine(index, facts, quantity, unit, subtotal, subtotal, []))
        return lines

    def check_sellable(
        self, sku: str, quantity: int, currency: str, context: PricingContext
    ) -> None:
        """Check that ``quantity`` of ``sku`` can be sold in ``currency`` now, to the
        channel and customer of ``context``: the same rule pricing a cart applies, so
        that a cart accepts exactly what can be priced.

        :raises UnknownSku: for a SKU the catalogue does not have.
        :raises Unavailable: for a product not on sale at ``context.now``.
        :raises MissingPrice: for a SKU no usable price list prices.
        :raises InvalidQuantity: for a quantity out of range.
        """
        self._work_lines(_OneLine(currency, sku, quantity), context, normalize_currency(currency))

    def _promotion_context(
        self, cart: CartLike, context: PricingContext, currency: str, shipping: int
    ) -> PromotionContext:
        return PromotionContext(
            currency=currency,
            now=context.now,
            customer_id=context.customer_id,
            customer_groups=context.customer_groups,
            coupon_codes=tuple(cart.coupon_codes),
            coupon_usage=context.coupon_usage,
            shipping=shipping,
            rounding=self.rounding,
        )

    def _shipping_units(self, context: PricingContext, currency: str) -> int:
        if context.shipping is None:
            return 0
        if str(context.shipping.currency.code) != currency:
            raise CurrencyMismatch(currency, str(context.shipping.currency.code), field="shipping")
        if context.shipping.amount < 0:
            raise InvalidInput("shipping cannot be negative", field="shipping")
        return minor_units(context.shipping, field="shipping")

    def check_coupon(self, cart: CartLike, code: str, context: PricingContext) -> None:
        """Check that ``code`` could be used on ``cart`` now.

        Besides the coupon's own rules, its promotion must not be kept out by the
        stacking rule (an exclusive promotion that applies alone): pricing would
        then report the coupon as rejected, ``not_combinable``.

        :raises CouponRejected: saying why not.
        """
        currency = normalize_currency(cart.currency)
        lines = self._work_lines(cart, context, currency)
        shipping = self._shipping_units(context, currency)
        promotion_context = self._promotion_context(cart, context, currency, shipping)
        coupon = self.promotions.check_coupon(code, lines, promotion_context)
        codes = [normalize_coupon_code(held) for held in promotion_context.coupon_codes]
        if coupon.code not in codes:
            codes.append(coupon.code)
        outcome = self.promotions.apply(
            lines, attrs.evolve(promotion_context, coupon_codes=tuple(codes))
        )
        for error in outcome.rejected_coupons:
            if error.coupon_code == coupon.code:
                raise error

    def price(self, cart: CartLike, context: PricingContext) -> PriceBreakdown:
        """The full price breakdown of ``cart``.

        :raises UnknownSku: for a SKU the catalogue does not have.
        :raises MissingPrice: for a SKU no usable price list prices.
        :raises Unavailable: for a product not on sale at ``context.now``.
        :raises CurrencyMismatch: for shipping in another currency than the cart.
        """
        currency = normalize_currency(cart.currency)
        lines = self._work_lines(cart, context, currency)
        shipping = self._shipping_units(context, currency)
        outcome = self.promotions.apply(
            lines, self._promotion_context(cart, context, currency, shipping)
        )
        shipping_discount = sum(units for _, units, _ in outcome.shipping_adjustments)
        shipping_base = shipping - shipping_discount

        settings = self.tax_settings
        inclusive = settings.prices_include_tax
        rates_of = self._rates_lookup(context.address or settings.default_address)
        line_rates = [rates_of(line.facts.tax_category) for line in lines]
        shipping_rates = (
            rates_of(settings.shipping_tax_category)
            if settings.shipping_tax_category is not None and shipping_base
            else _NO_TAX
        )
        bases = [line.remaining for line in lines]
        bases.append(shipping_base)
        line_rates.append(shipping_rates)
        taxes = self._taxes(bases, line_rates)

        results: list[LineBreakdown] = []
        net_sum = tax_sum = subtotal_sum = discount_sum = 0
        for line, scaled, line_taxes in zip(lines, line_rates, taxes, strict=False):
            tax = sum(line_taxes)
            paid = line.remaining
            net = paid - tax if inclusive else paid
            net_sum += net
            tax_sum += tax
            subtotal_sum += line.subtotal
            discount_sum += line.subtotal - paid
            results.append(
                LineBreakdown(
                    line.facts.sku,
                    line.quantity,
                    currency,
                    line.unit,
                    line.subtotal,
                    line.subtotal - paid,
                    net,
                    tax,
                    net + tax,
                    tuple(line.adjustments),
                    scaled.rates,
                    tuple(line_taxes),
                )
            )
        shipping_taxes = taxes[-1]
        shipping_tax = sum(shipping_taxes)
        shipping_net = shipping_base - shipping_tax if inclusive else shipping_base
        shipping_taxed = tuple(zip(shipping_rates.rates, shipping_taxes, strict=True))
        return PriceBreakdown(
            currency=currency,
            prices_include_tax=inclusive,
            lines=tuple(results),
            subtotal_units=subtotal_sum,
            discount_units=discount_sum + shipping_discount,
            shipping_units=shipping,
            shipping_discount_units=shipping_discount,
            shipping_tax_units=shipping_tax,
            shipping_total_units=shipping_net + shipping_tax,
            tax_units=tax_sum + shipping_tax,
            net_units=net_sum + shipping_net,
            grand_total_units=net_sum + tax_sum + shipping_net + shipping_tax,
            shipping_applied=outcome.shipping_adjustments,
            shipping_taxed=shipping_taxed,
            tax_by_rate=_tax_by_rate(line_rates, taxes),
            applied_promotions=outcome.applied,
            rejected_coupons=tuple(
                (error.coupon_code, error.reason) for error in outcome.rejected_coupons
            ),
        )

    def _rates_lookup(self, address: TaxAddress | None) -> Callable[[str], _ScaledRates]:
        """Per tax category, the rates charged at ``address``, scaled to integers.

        Built once per cart, so each line costs one dictionary lookup.
        """
        rates_of = self.taxes.rates_by_category(address)
        inclusive = self.tax_settings.prices_include_tax
        scaled_cache = self._scaled
        seen: dict[str, _ScaledRates] = {}

        def lookup(category: str) -> _ScaledRates:
            scaled = seen.get(category)
            if scaled is None:
                rates = rates_of(category)
                if not rates:
                    scaled = _NO_TAX
                elif (scaled := scaled_cache.get((rates, inclusive))) is None:
                    scaled = scaled_cache[rates, inclusive] = _scale(rates, inclusive)
                seen[category] = scaled
            return scaled

        return lookup

    def _taxes(self, bases: Sequence[int], rates: Sequence[_ScaledRates]) -> list[list[int]]:
        """Tax in minor units per taxed amount and per rate, rounded as the settings say.

        With tax-inclusive prices the tax of an amount is part of it, so it must never
        come to more than the amount: rounding each of two rates up could otherwise
        make the tax of a 0.01 line 0.02.
        """
        settings = self.tax_settings
        rounding = settings.rounding_mode
        inclusive = settings.prices_include_tax
        if settings.rounding is TaxRounding.PER_LINE:
            if not inclusive:
                return [
                    [
                        divide_rounded(base * n, scaled.denominator, rounding)
                        for n in scaled.numerators
                    ]
                    for base, scaled in zip(bases, rates, strict=True)
                ]
            # Inclusive: the line's whole tax is rounded once (so it stays within the
            # gross amount), then split between its rates, each the floor or ceiling
            # of its own exact share.
            result: list[list[int]] = []
            for base, scaled in zip(bases, rates, strict=True):
                numerators = scaled.numerators
                if len(numerators) <= 1:
                    result.append(
                        [divide_rounded(base * n, scaled.denominator, rounding) for n in numerators]
                    )
                    continue
                whole = divide_rounded(base * sum(numerators), scaled.denominator, rounding)
                result.append(
                    round_to_total(
                        [Fraction(base * n, scaled.denominator) for n in numerators], whole
                    )
                )
            return result
        # Per total: round each rate's exact sum once, then give each line the floor or
        # the ceiling of its own exact tax so that the lines add up to that rounded sum
        # (and, with inclusive prices, no line's tax exceeds its gross amount).
        exact: list[list[Fraction]] = []
        columns: list[list[int]] = []
        column_of: dict[tuple[str, Decimal], int] = {}
        for base, scaled in zip(bases, rates, strict=True):
            exact.append([Fraction(base * n, scaled.denominator) for n in scaled.numerators])
            columns.append(
                [column_of.setdefault((r.name, r.rate), len(column_of)) for r in scaled.rates]
            )
        sums = [Fraction(0)] * len(column_of)
        for row, row_columns in zip(exact, columns, strict=True):
            for value, column in zip(row, row_columns, strict=True):
                sums[column] += value
        totals = [divide_rounded(x.numerator, x.denominator, rounding) for x in sums]
        limits: list[int | None] = list(bases) if inclusive else [None] * len(bases)
        return round_table(exact, columns, totals, limits)
