"""commercekit: a framework-free, pluggable commerce core.

The names below are the public API. Importing them is cheap: nothing here imports an
adapter, a database driver or the plugin system.
"""

from __future__ import annotations

from commercekit.domain.cart import Cart, CartLine
from commercekit.domain.catalog import (
    Catalog,
    Category,
    Dimensions,
    Product,
    PublicationState,
    Variant,
    slugify,
)
from commercekit.domain.errors import (
    CategoryCycle,
    CommerceError,
    CouponRejected,
    CurrencyMismatch,
    DuplicateSku,
    InsufficientStock,
    InvalidInput,
    InvalidQuantity,
    MissingPrice,
    NotFound,
    Unavailable,
    UnknownCurrency,
    UnknownSku,
)
from commercekit.domain.inventory import (
    MovementKind,
    PurchaseOrder,
    ReorderPolicy,
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
from commercekit.domain.pricing import (
    Adjustment,
    LineBreakdown,
    PriceBook,
    PriceBreakdown,
    PriceList,
    PricingContext,
    PricingEngine,
    SalePrice,
    TaxAddress,
    TaxLine,
    TaxRate,
    TaxRounding,
    TaxSettings,
    TaxTable,
    TaxZone,
    VolumeTier,
)
from commercekit.domain.promotions import (
    AmountOffOrder,
    BuyXGetY,
    Coupon,
    CouponUsage,
    CustomerGroups,
    FixedPrice,
    FreeShipping,
    ItemFilter,
    MinimumQuantity,
    MinimumSubtotal,
    PercentOffLines,
    PercentOffOrder,
    Promotion,
    PromotionEngine,
    Stacking,
    TieredAmountOff,
)

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # The Store wires storage and plugins; importing it lazily keeps
    # ``import commercekit`` cheap for code that only needs domain types.
    if name in ("Store", "StoreConfig"):
        from commercekit import store

        return getattr(store, name)
    raise AttributeError(f"module 'commercekit' has no attribute {name!r}")


__all__ = [
    "Adjustment",
    "AmountOffOrder",
    "BuyXGetY",
    "Cart",
    "CartLine",
    "Catalog",
    "Category",
    "CategoryCycle",
    "CommerceError",
    "Coupon",
    "CouponRejected",
    "CouponUsage",
    "CurrencyMismatch",
    "CustomerGroups",
    "Dimensions",
    "DuplicateSku",
    "FixedPrice",
    "FreeShipping",
    "InsufficientStock",
    "InvalidInput",
    "InvalidQuantity",
    "ItemFilter",
    "LineBreakdown",
    "MinimumQuantity",
    "MinimumSubtotal",
    "MissingPrice",
    "Money",
    "MovementKind",
    "NotFound",
    "PercentOffLines",
    "PercentOffOrder",
    "PriceBook",
    "PriceBreakdown",
    "PriceList",
    "PricingContext",
    "PricingEngine",
    "Product",
    "Promotion",
    "PromotionEngine",
    "PublicationState",
    "PurchaseOrder",
    "ReorderPolicy",
    "Rounding",
    "SalePrice",
    "Stacking",
    "StockItem",
    "StockLocation",
    "StockMovement",
    "StockPolicy",
    "StockRule",
    "Store",
    "StoreConfig",
    "TaxAddress",
    "TaxLine",
    "TaxRate",
    "TaxRounding",
    "TaxSettings",
    "TaxTable",
    "TaxZone",
    "TieredAmountOff",
    "Unavailable",
    "UnknownCurrency",
    "UnknownSku",
    "Variant",
    "VolumeTier",
    "__version__",
    "allocate",
    "currency_precision",
    "format_money",
    "from_minor_units",
    "round_money",
    "slugify",
    "split",
]
