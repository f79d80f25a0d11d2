"""The public API an application lives with: ``commercekit`` exports the Store, its
configuration, the values an application builds and the aggregates the services
return; every error lives in ``commercekit.errors``; importing is cheap."""

from __future__ import annotations

import inspect
import subprocess
import sys

import commercekit
import commercekit.errors
from commercekit.domain import errors as domain_errors


def test_every_exported_name_is_there() -> None:
    for name in commercekit.__all__:
        assert getattr(commercekit, name) is not None, name


def test_the_store_and_the_aggregates_its_services_return_are_exported() -> None:
    for name in (
        "Store",
        "StoreConfig",
        "ChannelConfig",
        "Cart",
        "Checkout",
        "CheckoutSummary",
        "Order",
        "Payment",
        "PriceBreakdown",
        "Customer",
        "StockItem",
        "PurchaseOrder",
        "WebhookResult",
    ):
        assert name in commercekit.__all__, name


def test_engine_tools_stay_in_their_modules() -> None:
    for name in ("PricingEngine", "PromotionEngine", "PriceBook", "TaxTable", "Catalog"):
        assert name not in commercekit.__all__, name
    from commercekit.domain.pricing import PriceBook, PricingEngine, TaxTable  # noqa: F401
    from commercekit.domain.promotions import PromotionEngine  # noqa: F401


def test_every_error_lives_in_commercekit_errors_in_one_hierarchy() -> None:
    classes = [getattr(commercekit.errors, name) for name in commercekit.errors.__all__]
    assert set(commercekit.errors.__all__) == set(domain_errors.__all__)
    branches = (
        commercekit.errors.InvalidInput,
        commercekit.errors.NotFound,
        commercekit.errors.StateError,
        commercekit.errors.GatewayError,
        commercekit.errors.ProviderError,
        commercekit.errors.Conflict,
        commercekit.errors.ConfigurationError,
        commercekit.errors.AccessDenied,
    )
    for cls in classes:
        assert issubclass(cls, commercekit.errors.CommerceError), cls
        assert isinstance(cls.code, str)
        assert cls.code
        if cls is not commercekit.errors.CommerceError and cls not in branches:
            assert issubclass(cls, branches), f"{cls.__name__} is on no branch"
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes)), "two errors share a code"
    # No other module of the package defines an error of its own.
    for name in commercekit.__all__:
        value = getattr(commercekit, name)
        assert not (inspect.isclass(value) and issubclass(value, BaseException)), name


def test_errors_are_grouped_as_a_caller_answers_them() -> None:
    e = commercekit.errors
    assert issubclass(e.PaymentDeclined, e.GatewayError)
    assert not issubclass(e.PaymentDeclined, e.InvalidInput)
    assert issubclass(e.ConcurrencyConflict, e.Conflict)
    assert e.ConcurrencyConflict.retryable
    assert issubclass(e.InsufficientStock, e.StateError)
    assert issubclass(e.UnknownGateway, e.NotFound)
    assert issubclass(e.StorageUnavailable, e.ConfigurationError)
    assert issubclass(e.InvalidInput, ValueError)
    assert issubclass(e.NotFound, LookupError)
    assert issubclass(e.CurrencyMismatch, TypeError)
    assert issubclass(e.AccessDenied, PermissionError)
    assert issubclass(e.RequestInProgress, e.Conflict)
    assert e.RequestInProgress.retryable
    assert issubclass(e.TooManyAttempts, e.StateError)
    assert e.TooManyAttempts.retryable


def test_importing_commercekit_loads_no_adapter_nor_plugin_system() -> None:
    probe = (
        "import sys, commercekit; "
        "heavy = [m for m in ('sqlalchemy', 'pluggy', 'alembic', 'pydantic', "
        "'commercekit.store', 'commercekit.adapters') if m in sys.modules]; "
        "print(heavy)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
