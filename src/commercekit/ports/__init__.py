"""Ports: what the core needs from the outside world, as ``typing.Protocol``s.

Ports speak domain types only; adapters translate to and from vendors.
"""

from __future__ import annotations

from commercekit.ports.clock import Clock, IdGenerator
from commercekit.ports.events import EventPublisher
from commercekit.ports.payments import GatewayError, PaymentGateway, PaymentRequest, WebhookRejected
from commercekit.ports.storage import (
    CartRepository,
    CatalogRepository,
    CheckoutRepository,
    ConcurrencyConflict,
    OrderRepository,
    PaymentRepository,
    Storage,
    UnitOfWork,
)

__all__ = [
    "CartRepository",
    "CatalogRepository",
    "CheckoutRepository",
    "Clock",
    "ConcurrencyConflict",
    "EventPublisher",
    "GatewayError",
    "IdGenerator",
    "OrderRepository",
    "PaymentGateway",
    "PaymentRepository",
    "PaymentRequest",
    "Storage",
    "UnitOfWork",
    "WebhookRejected",
]
