"""commercekit: a framework-free, pluggable commerce core.

The names here are what an application needs: the :class:`Store` and its
configuration, the values it builds (products, prices, promotions, stock
locations, ...), and the aggregates the store's services hand back (carts, orders,
payments, ...). Every error is in :mod:`commercekit.errors`. Engine tools (the
pricing and promotion engines, price books, tax tables) stay importable from their
modules under :mod:`commercekit.domain`.

Importing this module is cheap: the store, the services, the adapters and the plugin
system load only when :class:`Store` (or another of their names) is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from commercekit.domain.cart import Cart, CartLine
from commercekit.domain.catalog import Category, Dimensions, Product, PublicationState, Variant
from commercekit.domain.channels import Channel
from commercekit.domain.checkout import Address, Checkout
from commercekit.domain.customers import Consent, Customer, SavedAddress
from commercekit.domain.events import DomainEvent
from commercekit.domain.inventory import (
    MovementKind,
    PurchaseOrder,
    PurchaseOrderStatus,
    ReorderPolicy,
    Reservation,
    ReservationStatus,
    StockItem,
    StockLocation,
    StockMovement,
    StockPolicy,
    StockRule,
)
from commercekit.domain.money import (
    Money,
    Rounding,
    allocate,
    currency_precision,
    format_money,
    from_minor_units,
    round_money,
    split,
)
from commercekit.domain.orders import (
    FulfilmentStatus,
    HistoryEntry,
    Order,
    OrderLine,
    OrderPaymentStatus,
    OrderStatus,
    OrderTotals,
)
from commercekit.domain.payments import Payment, PaymentStatus, Transaction
from commercekit.domain.pricing import (
    Adjustment,
    LineBreakdown,
    PriceBreakdown,
    SalePrice,
    TaxLine,
    TaxRate,
    TaxZone,
    VolumeTier,
)
from commercekit.domain.promotions import (
    AmountOffOrder,
    BuyXGetY,
    Coupon,
    CustomerGroups,
    FixedPrice,
    FreeShipping,
    ItemFilter,
    MinimumQuantity,
    MinimumSubtotal,
    PercentOffLines,
    PercentOffOrder,
    Promotion,
    Stacking,
    TieredAmountOff,
)

if TYPE_CHECKING:
    from commercekit.services.access import View
    from commercekit.services.checkout import CheckoutSummary
    from commercekit.services.payments import WebhookResult
    from commercekit.store import (
        ChannelConfig,
        GatewayConfig,
        ShippingMethodConfig,
        Store,
        StoreConfig,
    )

__version__ = "0.2.0"

# Loaded on first use, so that ``import commercekit`` stays cheap for code that only
# needs domain values.
_LAZY = {
    "Store": "commercekit.store",
    "StoreConfig": "commercekit.store",
    "ChannelConfig": "commercekit.store",
    "GatewayConfig": "commercekit.store",
    "ShippingMethodConfig": "commercekit.store",
    "CheckoutSummary": "commercekit.services.checkout",
    "WebhookResult": "commercekit.services.payments",
    "View": "commercekit.services.access",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'commercekit' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "Address",
    "Adjustment",
    "AmountOffOrder",
    "BuyXGetY",
    "Cart",
    "CartLine",
    "Category",
    "Channel",
    "ChannelConfig",
    "Checkout",
    "CheckoutSummary",
    "Consent",
    "Coupon",
    "Customer",
    "CustomerGroups",
    "Dimensions",
    "DomainEvent",
    "FixedPrice",
    "FreeShipping",
    "FulfilmentStatus",
    "GatewayConfig",
    "HistoryEntry",
    "ItemFilter",
    "LineBreakdown",
    "MinimumQuantity",
    "MinimumSubtotal",
    "Money",
    "MovementKind",
    "Order",
    "OrderLine",
    "OrderPaymentStatus",
    "OrderStatus",
    "OrderTotals",
    "Payment",
    "PaymentStatus",
    "PercentOffLines",
    "PercentOffOrder",
    "PriceBreakdown",
    "Product",
    "Promotion",
    "PublicationState",
    "PurchaseOrder",
    "PurchaseOrderStatus",
    "ReorderPolicy",
    "Reservation",
    "ReservationStatus",
    "Rounding",
    "SalePrice",
    "SavedAddress",
    "ShippingMethodConfig",
    "Stacking",
    "StockItem",
    "StockLocation",
    "StockMovement",
    "StockPolicy",
    "StockRule",
    "Store",
    "StoreConfig",
    "TaxLine",
    "TaxRate",
    "TaxZone",
    "TieredAmountOff",
    "Transaction",
    "Variant",
    "View",
    "VolumeTier",
    "WebhookResult",
    "__version__",
    "allocate",
    "currency_precision",
    "format_money",
    "from_minor_units",
    "round_money",
    "split",
]
