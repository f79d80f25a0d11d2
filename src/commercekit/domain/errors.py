"""Every exception commercekit raises on purpose, in one hierarchy.

Every error has a stable, machine-readable ``code`` (safe to switch on, to log and to
send to a client), names the ``field`` it concerns where there is one, and carries
the facts that explain it as attributes, not only in its message. The hierarchy has
five branches, so that a caller can answer a whole kind at once:

- :class:`InvalidInput`: what was handed in breaks a rule (fix the request);
- :class:`NotFound`: something looked up by its key does not exist;
- :class:`StateError`: the request is fine, but the thing is in a state that refuses
  it now (stock gone, a coupon used up, an order already shipped);
- :class:`GatewayError`: the payment provider failed or refused;
- :class:`Conflict`: another request got there first, or a key was reused; a
  ``retryable`` one may simply be tried again;

and :class:`ConfigurationError` for a store set up wrongly, :class:`AccessDenied` for a
principal that may not make the request. Where a builtin says the
same thing, the error inherits it too, so that ``except ValueError`` keeps working for
callers who do not know commercekit. ``commercekit.errors`` is the public name of
this module.
"""

from __future__ import annotations

import reprlib
from collections.abc import Collection, Iterable, Sequence
from decimal import Decimal
from typing import ClassVar, Final

__all__ = [
    "AccessDenied",
    "AlreadyExists",
    "BrokerUnavailable",
    "CarrierError",
    "CartAlreadyOrdered",
    "CategoryCycle",
    "CheckoutIncomplete",
    "CommerceError",
    "ConcurrencyConflict",
    "ConfigurationError",
    "Conflict",
    "CouponRejected",
    "CurrencyMismatch",
    "DuplicateSku",
    "EventOutOfOrder",
    "GatewayError",
    "GiftCardRefused",
    "IdempotencyConflict",
    "InStock",
    "InsufficientBalance",
    "InsufficientStock",
    "InvalidInput",
    "InvalidPluginOptions",
    "InvalidQuantity",
    "InvalidTransition",
    "LinkRejected",
    "MissingPrice",
    "NotFound",
    "NotificationFailed",
    "OperationInProgress",
    "PaymentDeclined",
    "PaymentLimitExceeded",
    "PluginError",
    "PriceChanged",
    "ProviderError",
    "RateExpired",
    "RefundRefused",
    "RequestInProgress",
    "ReturnRefused",
    "SchemaOutOfDate",
    "StateError",
    "StorageUnavailable",
    "TaxUnavailable",
    "TooManyAttempts",
    "TooManyUnpaidOrders",
    "Unavailable",
    "UnknownCarrier",
    "UnknownCurrency",
    "UnknownGateway",
    "UnknownSku",
    "UnsupportedByGateway",
    "WebhookRejected",
]


class CommerceError(Exception):
    """Root of every error commercekit raises on purpose.

    :param message: what went wrong, for a human.
    :param field: the name of the input that caused it, where one did.
    """

    code: ClassVar[str] = "commerce_error"
    retryable: bool = False
    """Whether the same request may simply be made again."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    def as_dict(self) -> dict[str, str | None]:
        """The error as plain data, for an API response or a log line."""
        return {"code": self.code, "field": self.field, "message": self.message}


#: How much of a value an error message repeats: enough to recognise it, never a
#: megabyte of it in a log line or an API response.
SHOWN_CHARACTERS: Final = 80


_SHORT_REPR: Final = reprlib.Repr()
_SHORT_REPR.maxlevel = 3
_SHORT_REPR.maxother = _SHORT_REPR.maxlong = _SHORT_REPR.maxstring = SHOWN_CHARACTERS


def shown(value: object, *, quote: bool = True, limit: int = SHOWN_CHARACTERS) -> str:
    """``value`` as an error message shows it: its ``repr`` (its text, with
    ``quote=False``), cut to about ``limit`` characters with the whole length noted,
    such as ``'AAAA…' (1048576 characters)``.

    Every message that repeats a value a caller handed in goes through here; the
    error's attributes keep the whole value.
    """
    if not isinstance(value, str):
        if isinstance(value, int) and value.bit_length() > 4 * limit:
            return f"an integer of {value.bit_length()} bits"  # repr() may refuse it
        try:
            text = _SHORT_REPR.repr(value)  # a huge list is never written out whole
        except ValueError:  # an integer too long to print, somewhere inside
            return f"a {type(value).__name__}"
        return text if len(text) <= limit else f"{text[:limit]}…"
    if not quote:
        if len(value) <= limit and value.isprintable():
            return value
        quote = True  # cut or unprintable text reads unambiguously only as a repr
    text = repr(value)
    if len(text) <= limit:
        return text
    prefix = value[:limit]
    while len(repr(prefix)) > limit - 2:
        prefix = prefix[:-1]
    quoted = repr(prefix)
    return f"{quoted[:-1]}…{quoted[-1]} ({len(value)} characters)"


def _amount(units: int, places: int) -> Decimal:
    return Decimal(units).scaleb(-places)


# --- input errors --------------------------------------------------------------------


class InvalidInput(CommerceError, ValueError):
    """A value handed in breaks a rule: wrong type, out of range, malformed."""

    code: ClassVar[str] = "invalid_input"


class LinkRejected(InvalidInput):
    """A signed link a message carried (a cart's restore link, an unsubscribe link)
    that the store did not make for this purpose, that was changed, or whose time
    ran out. ``reason`` is ``invalid`` or ``expired``; ``expired`` is told only of a
    link the store did sign."""

    code: ClassVar[str] = "link_rejected"

    def __init__(self, reason: str, *, field: str | None = "token") -> None:
        message = "the link has expired" if reason == "expired" else "the link is not valid"
        super().__init__(message, field=field)
        self.reason = reason


class InvalidPluginOptions(InvalidInput):
    """A plugin's options in a store's configuration are missing, unknown or not as
    the plugin's options model says; ``field`` names the option as the configuration
    spells it (``gateways.test.options.webhook_tolerance_seconds``)."""

    code: ClassVar[str] = "invalid_plugin_options"

    def __init__(self, plugin: str, message: str, *, field: str) -> None:
        super().__init__(message, field=field)
        self.plugin = plugin


class InvalidQuantity(InvalidInput):
    """A quantity that is not a whole number within the allowed range."""

    code: ClassVar[str] = "invalid_quantity"


class UnknownCurrency(InvalidInput):
    """A currency code that is not an ISO 4217 currency known to CLDR."""

    code: ClassVar[str] = "unknown_currency"

    def __init__(self, currency: object, *, field: str | None = "currency") -> None:
        super().__init__(f"unknown currency code {shown(currency)}", field=field)
        self.currency = currency


class CurrencyMismatch(InvalidInput, TypeError):
    """Two amounts, or an amount and a cart, in different currencies were combined."""

    code: ClassVar[str] = "currency_mismatch"

    def __init__(self, expected: str, got: str, *, field: str | None = None) -> None:
        super().__init__(f"expected an amount in {expected}, got {got}", field=field)
        self.expected = expected
        self.got = got


class AlreadyExists(InvalidInput):
    """Something was added under a key that is taken."""

    code: ClassVar[str] = "already_exists"

    def __init__(self, kind: str, key: object, *, field: str | None = "id") -> None:
        super().__init__(f"{kind} {shown(key)} already exists", field=field)
        self.kind = kind
        self.key = key


class CategoryCycle(InvalidInput):
    """Moving a category under itself or one of its descendants."""

    code: ClassVar[str] = "category_cycle"


class DuplicateSku(InvalidInput):
    """A SKU that another variant already uses."""

    code: ClassVar[str] = "duplicate_sku"

    def __init__(self, sku: str) -> None:
        super().__init__(f"SKU {shown(sku)} is already used by another variant", field="sku")
        self.sku = sku


class PaymentLimitExceeded(InvalidInput):
    """A capture beyond what was authorized, or a refund beyond what was captured.

    ``requested`` and ``available`` are minor units.
    """

    code: ClassVar[str] = "payment_limit_exceeded"

    def __init__(
        self, action: str, requested: int, available: int, currency: str, *, places: int
    ) -> None:
        super().__init__(
            f"cannot {action} {_amount(requested, places)} {currency}: "
            f"only {_amount(available, places)} {currency} is available",
            field="amount",
        )
        self.requested = requested
        self.available = available
        self.currency = currency


class WebhookRejected(InvalidInput):
    """A webhook whose signature is wrong, missing or stale, or whose body is not
    understood. Nothing was applied."""

    code: ClassVar[str] = "webhook_rejected"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="signature")


# --- who is acting -------------------------------------------------------------------


class AccessDenied(CommerceError, PermissionError):
    """The one answer to a request its principal may not make: a shopper asking for
    what is not theirs, or what does not exist (the two are never told apart, so an id
    sent at random reveals nothing), or staff without the permission it needs."""

    code: ClassVar[str] = "access_denied"

    def __init__(self, *, field: str | None = None, permissions: Sequence[str] = ()) -> None:
        needs = " or ".join(permissions)
        message = f"not allowed: needs the {needs} permission" if needs else ""
        super().__init__(message or "not found, or not allowed", field=field)
        self.permissions = tuple(permissions)
        """For staff: the permissions any one of which would have allowed the call
        (empty for a shopper, who is never told more than the message)."""


# --- not found -----------------------------------------------------------------------


class NotFound(CommerceError, LookupError):
    """Something looked up by its key does not exist."""

    code: ClassVar[str] = "not_found"

    def __init__(self, kind: str, key: object, *, field: str | None = None) -> None:
        super().__init__(f"no {kind} {shown(key)}", field=field)
        self.kind = kind
        self.key = key


class UnknownSku(NotFound):
    """A SKU that no variant in the catalogue (or no price list) carries."""

    code: ClassVar[str] = "unknown_sku"

    def __init__(self, sku: str, *, field: str | None = "sku") -> None:
        super().__init__("variant with SKU", sku, field=field)
        self.sku = sku


class MissingPrice(NotFound):
    """No price list in the cart's currency (and channel) prices this SKU."""

    code: ClassVar[str] = "missing_price"

    def __init__(self, sku: str, currency: str) -> None:
        super().__init__(f"price in {currency} for SKU", sku, field="sku")
        self.sku = sku
        self.currency = currency


class UnknownGateway(NotFound):
    """A payment gateway that the store does not have, or no plugin offers."""

    code: ClassVar[str] = "unknown_gateway"

    def __init__(self, name: str, known: Iterable[str], *, field: str = "payment_method") -> None:
        listed = ", ".join(shown(each, quote=False) for each in sorted(known)) or "none"
        CommerceError.__init__(
            self, f"no payment gateway {shown(name)} (known: {listed})", field=field
        )
        self.kind = "payment gateway"
        self.key = name
        self.name = name


class UnknownCarrier(NotFound):
    """A carrier that the store does not have, or no plugin offers."""

    code: ClassVar[str] = "unknown_carrier"

    def __init__(self, name: str, known: Iterable[str], *, field: str = "carrier") -> None:
        listed = ", ".join(shown(each, quote=False) for each in sorted(known)) or "none"
        CommerceError.__init__(self, f"no carrier {shown(name)} (known: {listed})", field=field)
        self.kind = "carrier"
        self.key = name
        self.name = name


# --- state errors --------------------------------------------------------------------


class StateError(CommerceError):
    """The request is well formed, but the state of what it concerns refuses it now."""

    code: ClassVar[str] = "state_error"


class InvalidTransition(StateError):
    """An aggregate was asked for a change its current state does not allow."""

    code: ClassVar[str] = "invalid_transition"

    def __init__(self, what: str, state: str, action: str) -> None:
        super().__init__(
            f"cannot {shown(action, quote=False)} a {shown(what, quote=False)} "
            f"that is {shown(state, quote=False)}",
            field="status",
        )
        self.what = what
        self.state = state
        self.action = action


class Unservable(StateError):
    """No stock location that ships to the address holds these SKUs, although others
    do: the cart cannot go there as it is (another address, or without them)."""

    code: ClassVar[str] = "unservable"

    def __init__(self, skus: Sequence[str], country: str) -> None:
        named = ", ".join(shown(sku, quote=False) for sku in skus)
        super().__init__(
            f"no location that ships to {shown(country, quote=False)} has {named}",
            field="shipping_address",
        )
        self.skus = tuple(skus)
        self.country = country


class InsufficientStock(StateError):
    """Not enough stock to sell this quantity (all locations together)."""

    code: ClassVar[str] = "insufficient_stock"

    def __init__(self, sku: str, requested: int, available: int) -> None:
        super().__init__(
            f"only {max(available, 0)} of {shown(sku, quote=False)} can be sold, "
            f"{requested} requested",
            field="quantity",
        )
        self.sku = sku
        self.requested = requested
        self.available = available


class Unavailable(StateError, ValueError):
    """A product that is not on sale now (draft, archived, or outside its window)."""

    code: ClassVar[str] = "unavailable"

    def __init__(self, sku: str) -> None:
        super().__init__(f"SKU {shown(sku)} is not available for sale", field="sku")
        self.sku = sku


class InStock(StateError):
    """A back-in-stock alert asked for a variant that can be bought now."""

    code: ClassVar[str] = "in_stock"

    def __init__(self, sku: str) -> None:
        super().__init__(f"SKU {shown(sku)} is in stock: it can be bought now", field="sku")
        self.sku = sku


class TooManyAttempts(StateError):
    """Refused by a limit on how often something may be tried (coupon codes, say);
    the application sets the limit. Try again later."""

    code: ClassVar[str] = "too_many_attempts"
    retryable = True

    def __init__(self, what: str = "attempts", *, field: str | None = None) -> None:
        super().__init__(f"too many {what}; try again later", field=field)


class CouponRejected(StateError):
    """A coupon code that cannot be used on this cart now.

    ``reason`` is one of :attr:`REASONS` and is as stable as ``code``;
    ``not_combinable`` means the coupon is good but its promotion is kept out by the
    stacking rule (an exclusive promotion applies alone). A shopper (see
    :class:`~commercekit.domain.access.Shopper`) is told ``not_valid`` for a code that
    is unknown, expired, not valid yet or used up alike: whether a code exists is not
    theirs to learn.
    """

    code: ClassVar[str] = "coupon_rejected"

    REASONS: ClassVar[frozenset[str]] = frozenset(
        {
            "unknown",
            "expired",
            "not_yet_valid",
            "minimum_not_met",
            "limit_reached",
            "not_applicable",
            "not_combinable",
            "not_valid",
        }
    )

    def __init__(self, coupon_code: str, reason: str, detail: str = "") -> None:
        if reason not in self.REASONS:
            raise ValueError(f"unknown coupon rejection reason {shown(reason)}")
        message = f"coupon {shown(coupon_code)} rejected: {reason.replace('_', ' ')}"
        super().__init__(f"{message} ({detail})" if detail else message, field="coupon_code")
        self.coupon_code = coupon_code
        self.reason = reason


class InsufficientBalance(StateError):
    """A gift card or a store-credit account holds less than is asked of it (another
    order spent it meanwhile, say). Nothing was taken.

    ``requested`` and ``available`` are minor units; ``field`` names what fell short
    (``gift_card``, ``store_credit``, ``amount``).
    """

    code: ClassVar[str] = "insufficient_balance"

    def __init__(
        self, requested: int, available: int, currency: str, *, places: int, field: str
    ) -> None:
        super().__init__(
            f"only {_amount(max(available, 0), places)} {currency} is left, "
            f"{_amount(requested, places)} {currency} asked",
            field=field,
        )
        self.requested = requested
        self.available = available
        self.currency = currency


class GiftCardRefused(StateError):
    """A gift card code that cannot pay now.

    ``reason`` is one of :attr:`REASONS` and is as stable as ``code``. A shopper (see
    :class:`~commercekit.domain.access.Shopper`) is told ``not_valid`` for a code that
    is unknown or disabled alike: whether a code exists is not theirs to learn.
    """

    code: ClassVar[str] = "gift_card_refused"

    REASONS: ClassVar[frozenset[str]] = frozenset(
        {"unknown", "disabled", "expired", "currency", "used_up", "not_valid"}
    )

    def __init__(self, reason: str, *, field: str = "code") -> None:
        if reason not in self.REASONS:
            raise ValueError(f"unknown gift card refusal {shown(reason)}")
        super().__init__(f"gift card refused: {reason.replace('_', ' ')}", field=field)
        self.reason = reason


class ShippingUnavailable(StateError):
    """The chosen delivery method does not (or no longer) serve this cart at this
    address: choose another (``rates`` lists those that do)."""

    code: ClassVar[str] = "shipping_unavailable"

    def __init__(self, method_id: str) -> None:
        super().__init__(
            f"delivery method {shown(method_id)} does not serve this cart at this address",
            field="shipping",
        )
        self.method_id = method_id


class RateExpired(StateError):
    """The shipping rate was quoted too long ago to be placed on: choose shipping
    again for a fresh quote."""

    code: ClassVar[str] = "rate_expired"

    def __init__(self, method_id: str) -> None:
        super().__init__(
            f"the rate of {shown(method_id)} has expired: choose shipping again",
            field="shipping",
        )
        self.method_id = method_id


class CheckoutIncomplete(StateError):
    """An order was asked for while the checkout still lacks something.

    ``missing`` lists the fields, in the order a form would ask for them.
    """

    code: ClassVar[str] = "checkout_incomplete"

    def __init__(self, missing: Sequence[str]) -> None:
        super().__init__(
            f"still needed: {', '.join(missing)}", field=missing[0] if missing else None
        )
        self.missing = tuple(missing)


class TooManyUnpaidOrders(StateError):
    """The customer already has as many orders awaiting payment as the store allows."""

    code: ClassVar[str] = "too_many_unpaid_orders"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"at most {limit} orders may await payment at once; pay or cancel one first",
            field="email",
        )
        self.limit = limit


class PriceChanged(StateError):
    """The cart costs something else now than the customer was shown.

    Place the order again with the new price accepted, or show the new price first.
    ``quoted_units`` and ``current_units`` are minor units.
    """

    code: ClassVar[str] = "price_changed"

    def __init__(
        self, quoted_units: int, current_units: int, currency: str, *, places: int
    ) -> None:
        quoted, current = _amount(quoted_units, places), _amount(current_units, places)
        super().__init__(f"the total changed from {quoted} to {current} {currency}", field="total")
        self.quoted_units = quoted_units
        self.current_units = current_units
        self.currency = currency


# --- the payment provider --------------------------------------------------------------


class RefundRefused(StateError):
    """A refund the order cannot give: its units or its money have gone back already,
    or a plan was made before another refund landed."""

    code: ClassVar[str] = "refund_refused"

    def __init__(self, message: str, *, field: str = "order_id") -> None:
        super().__init__(message, field=field)


class ReturnRefused(StateError):
    """A return the store's policy or the order does not allow.

    ``reason`` is one of :attr:`REASONS`, as stable as ``code``.
    """

    code: ClassVar[str] = "return_refused"

    REASONS: ClassVar[frozenset[str]] = frozenset(
        {"outside_window", "not_returnable", "not_delivered", "too_many", "not_shipped"}
    )

    def __init__(self, reason: str, detail: str, *, field: str = "lines") -> None:
        if reason not in self.REASONS:
            raise ValueError(f"unknown return refusal {shown(reason)}")
        super().__init__(f"{reason.replace('_', ' ')}: {detail}", field=field)
        self.reason = reason


class GatewayError(CommerceError):
    """The gateway could not be reached or failed; nothing is known to have happened.

    ``retryable`` says whether the same call, with the same idempotency key, may be
    tried again.
    """

    code: ClassVar[str] = "gateway_error"

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message, field="payment_method")
        self.retryable = retryable


class ProviderError(CommerceError):
    """An outside service other than the payment gateway (a carrier, a mail server)
    failed or refused."""

    code: ClassVar[str] = "provider_error"


class CarrierError(ProviderError):
    """A carrier could not be reached or refused (a label, a quote, a cancellation);
    nothing is known to have happened. ``retryable`` says whether the same call, with
    the same idempotency key, may be tried again."""

    code: ClassVar[str] = "carrier_error"

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message, field="carrier")
        self.retryable = retryable


class TaxUnavailable(ProviderError):
    """The tax provider could not say what tax a cart pays (an outside service down):
    nothing is priced, nothing is placed."""

    code: ClassVar[str] = "tax_unavailable"
    retryable = True

    def __init__(self, provider: str, detail: str = "") -> None:
        said = f": {shown(detail, quote=False)}" if detail else ""
        super().__init__(f"tax provider {shown(provider)} could not answer{said}", field="tax")
        self.provider = provider


class NotificationFailed(ProviderError):
    """A notifier could not hand a message over (the mail server refused or could not
    be reached); the message is kept and sent again later."""

    code: ClassVar[str] = "notification_failed"
    retryable = True

    def __init__(self, message: str) -> None:
        super().__init__(message, field="notifier")


class PaymentDeclined(GatewayError):
    """The gateway refused a capture, refund or void (the ledger records why)."""

    code: ClassVar[str] = "payment_declined"

    def __init__(self, action: str, reason: str) -> None:
        super().__init__(f"the gateway refused to {action}: {reason}", retryable=False)
        self.field = "payment"
        self.action = action
        self.reason = reason


class UnsupportedByGateway(GatewayError):
    """The payment's gateway cannot do what was asked (authorize more on a standing
    authorization, say): nothing was asked of it."""

    code: ClassVar[str] = "gateway_unsupported"

    def __init__(self, gateway: str, action: str) -> None:
        super().__init__(
            f"gateway {shown(gateway)} cannot do this: {shown(action, quote=False)}",
            retryable=False,
        )
        self.field = "payment"
        self.gateway = gateway
        self.action = action


# --- conflicts -------------------------------------------------------------------------


class Conflict(CommerceError):
    """Another request got there first, or a key was reused for something else."""

    code: ClassVar[str] = "conflict"


class OperationInProgress(Conflict):
    """Another operation on the same order or payment is under way (a capture while a
    cancellation is being given back, say). Nothing was done; try again once it has
    settled."""

    code: ClassVar[str] = "operation_in_progress"
    retryable = True

    def __init__(self, what: str, operation: str, *, field: str | None = "status") -> None:
        super().__init__(f"the {what} is busy: {operation} is under way", field=field)
        self.what = what
        self.operation = operation


class RequestInProgress(Conflict):
    """The same request (the same idempotency key) is being carried out by another
    caller right now, and did not finish within the wait. Nothing more was done; try
    again with the same key to get its outcome."""

    code: ClassVar[str] = "request_in_progress"
    retryable = True

    def __init__(self, *, field: str | None = "idempotency_key") -> None:
        super().__init__("the same request is being carried out by another caller", field=field)


class CartAlreadyOrdered(Conflict):
    """A cart that an order awaiting payment or placed is already made from; one cart
    makes one order (a declined order frees it)."""

    code: ClassVar[str] = "cart_already_ordered"

    def __init__(self, order_id: str) -> None:
        super().__init__("this cart has already become an order", field="token")
        self.order_id = order_id


class ConcurrencyConflict(Conflict):
    """Someone else changed the same thing first (or took the same unique key).

    Nothing of the unit of work was written; reload and try again.
    """

    code: ClassVar[str] = "concurrency_conflict"
    retryable = True


class IdempotencyConflict(Conflict):
    """An idempotency key reused for a different request. Nothing was done."""

    code: ClassVar[str] = "idempotency_conflict"

    def __init__(self, key: str) -> None:
        super().__init__(
            f"idempotency key {shown(key)} was used for a different request",
            field="idempotency_key",
        )
        self.key = key


class EventOutOfOrder(Conflict):
    """A gateway event that cannot apply yet (a refund before its capture is known).

    Gateways deliver webhooks again until they are accepted, so refusing it now is
    safe: it applies when it comes back after the event it depends on.
    """

    code: ClassVar[str] = "event_out_of_order"
    retryable = True


# --- configuration ---------------------------------------------------------------------


class ConfigurationError(CommerceError):
    """The store is set up wrongly: a plugin, the configuration, the database."""

    code: ClassVar[str] = "configuration_error"


class PluginError(ConfigurationError):
    """A plugin could not be loaded or does not honour the hook specifications."""

    code: ClassVar[str] = "plugin_error"

    def __init__(self, plugin: str, message: str) -> None:
        super().__init__(f"plugin {shown(plugin)}: {message}", field="plugins")
        self.plugin = plugin


class SchemaOutOfDate(ConfigurationError):
    """The database's schema is not the one this version of commercekit needs.

    Run ``commercekit db upgrade URL`` (or open the storage with ``migrate=True``).
    """

    code: ClassVar[str] = "schema_out_of_date"

    def __init__(self, current: Collection[str], needed: Collection[str]) -> None:
        have = ", ".join(sorted(current)) or "no schema"
        super().__init__(
            f"the database has {have}; this commercekit needs revision "
            f"{', '.join(sorted(needed))}: run `commercekit db upgrade URL`"
        )
        self.current = tuple(sorted(current))
        self.needed = tuple(sorted(needed))


class StorageUnavailable(ConfigurationError):
    """The database cannot be used: the server is unreachable or refuses the
    credentials, the file is missing or is not a database, or its driver is not
    installed.

    ``url`` is the URL as it may be shown: with its password masked. The message
    never repeats a password either.
    """

    code: ClassVar[str] = "storage_unavailable"

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(
            f"cannot use the database at {shown(url, quote=False, limit=200)}: {reason}",
            field="url",
        )
        self.url = url
        self.reason = reason


class BrokerUnavailable(ConfigurationError):
    """The message broker cannot be used: it is unreachable, refuses the credentials
    or the exchange, dropped the connection, or did not confirm what was sent.

    Nothing sent before it is lost: an outbox relay sends those events again once the
    broker answers, so trying again later is safe. ``url`` is the broker's URL with
    its password masked.
    """

    code: ClassVar[str] = "broker_unavailable"
    retryable = True

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(
            f"cannot use the message broker at {shown(url, quote=False, limit=200)}: {reason}",
            field="broker",
        )
        self.url = url
        self.reason = reason
