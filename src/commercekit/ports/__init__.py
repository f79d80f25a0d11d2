"""Ports: what the core needs from the outside world, as ``typing.Protocol``s.

Ports speak domain types only; adapters translate to and from vendors.
"""

from __future__ import annotations

from commercekit.ports.clock import Clock, IdGenerator
from commercekit.ports.events import EventPublisher
from commercekit.ports.payments import (
    PaymentGateway,
    PaymentRequest,
)
from commercekit.ports.storage import (
    CartRepository,
    CatalogRepository,
    CheckoutRepository,
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
    "EventPublisher",
    "IdGenerator",
    "OrderRepository",
    "PaymentGateway",
    "PaymentRepository",
    "PaymentRequest",
    "Storage",
    "UnitOfWork",
]
