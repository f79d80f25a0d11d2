"""The plugin hooks: how adapters and subscribers reach a store.

A plugin is a module or object with functions marked ``@hookimpl``. The docstring of
each specification is its contract. Hooks are always called with keyword arguments,
so a specification may gain a parameter without breaking older plugins; none is ever
renamed or removed.

Example, a package adding a gateway (``pyproject.toml``:
``[project.entry-points.commercekit] acme = "acme_pay.plugin"``)::

    from commercekit.hookspecs import hookimpl

    @hookimpl
    def register_payment_gateways(register):
        register("acme", lambda name, options: AcmeGateway(name, **options))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

import pluggy

from commercekit.domain.access import Principal
from commercekit.domain.events import DomainEvent
from commercekit.domain.inventory import AllocationStrategy
from commercekit.ports.carriers import Carrier
from commercekit.ports.notifications import Notifier
from commercekit.ports.payments import PaymentGateway
from commercekit.ports.search import SearchBackend
from commercekit.ports.storage import PromotionType, Storage, StorageFactory

__all__ = [
    "PROJECT",
    "CarrierFactory",
    "GatewayFactory",
    "NotifierFactory",
    "SearchBackendFactory",
    "hookimpl",
    "hookspec",
]

PROJECT: Final = "commercekit"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


class GatewayFactory(Protocol):
    """Builds a gateway from the name a store gives it and that store's options."""

    def __call__(self, name: str, options: Mapping[str, Any]) -> PaymentGateway: ...


class CarrierFactory(Protocol):
    """Builds a carrier from the name a store gives it and that store's options."""

    def __call__(self, name: str, options: Mapping[str, Any]) -> Carrier: ...


class SearchBackendFactory(Protocol):
    """Builds a search backend over a store's storage, from its options."""

    def __call__(self, storage: Storage, options: Mapping[str, Any]) -> SearchBackend: ...


class NotifierFactory(Protocol):
    """Builds a notifier from a store's options for it."""

    def __call__(self, options: Mapping[str, Any]) -> Notifier: ...


@hookspec
def register_payment_gateways(register: Callable[[str, GatewayFactory], None]) -> None:
    """Offer payment gateway kinds.

    Call ``register(kind, factory)`` once per kind. A store whose configuration names
    a gateway with ``plugin = kind`` gets ``factory(name, options)``.

    Added in 0.1.
    """


@hookspec
def register_allocation_strategies(register: Callable[[str, AllocationStrategy], None]) -> None:
    """Offer stock allocation strategies.

    Call ``register(name, strategy)``; a store whose configuration sets
    ``allocation_strategy = name`` decides with it where each order's stock ships
    from. A strategy gets the wanted quantity per SKU, the locations serving the
    order in priority order, the available stock per ``(sku, location)`` and the
    floor per SKU, and returns allocations (see
    :func:`commercekit.domain.inventory.PriorityOrder`).

    Added in 0.1.
    """


@hookspec
def on_domain_event(event: DomainEvent) -> None:
    """Receive a domain event after the change that recorded it was committed.

    Called once per subscriber and event, in order. An exception here is logged and
    does not reach other subscribers, nor undo the change.

    Added in 0.1.
    """


@hookspec
def coupon_attempt(principal: Principal, code: str) -> None:
    """Hear of a coupon code a shopper is about to try (through a store's
    :meth:`~commercekit.store.Store.as_shopper` view), before it is tried.

    Raise a :class:`~commercekit.errors.CommerceError` to refuse the attempt, such as
    :class:`~commercekit.errors.TooManyAttempts` from a rate limit kept per shopper or
    per client address; the error reaches the caller as it is.

    Added in 0.3.
    """


@hookspec
def register_storage_backends(register: Callable[[str, StorageFactory], None]) -> None:
    """Offer storage backends.

    Call ``register(scheme, factory)`` once per URL scheme. A store opened with a URL
    whose scheme (before ``:`` and any ``+driver``) is ``scheme`` gets
    ``factory(url, promotion_types=...)``: ``memory``, ``sqlite`` and ``postgresql``
    are built in.

    Added in 0.2.
    """


@hookspec
def register_promotion_types(register: Callable[[PromotionType], None]) -> None:
    """Offer promotion benefits and conditions that storage can keep.

    Call ``register(PromotionType(name=..., cls=..., encode=..., decode=...))`` once
    per class. ``name`` is stored with every promotion that uses the class: never
    change it once data is stored. The built-in benefits and conditions come through
    this hook too.

    Added in 0.2.
    """


@hookspec
def register_carriers(register: Callable[[str, CarrierFactory], None]) -> None:
    """Offer parcel carriers.

    Call ``register(kind, factory)`` once per kind. A store whose configuration names
    a carrier with ``plugin = kind`` gets ``factory(name, options)``; a factory checks
    its options (with a pydantic model, say) and raises
    :class:`~commercekit.errors.InvalidInput` naming the option that is wrong.

    Added in 0.4.
    """


@hookspec
def register_notifiers(register: Callable[[str, NotifierFactory], None]) -> None:
    """Offer notifiers (how messages reach customers).

    Call ``register(kind, factory)`` once per kind. A store whose configuration sets
    ``notifier.plugin = kind`` gets ``factory(options)``; a factory checks its options
    and raises :class:`~commercekit.errors.InvalidInput` naming the option that is
    wrong.

    Added in 0.4.
    """


@hookspec
def register_search_backends(register: Callable[[str, SearchBackendFactory], None]) -> None:
    """Offer catalogue search engines.

    Call ``register(kind, factory)`` once per kind. A store whose configuration sets
    ``search.plugin = kind`` gets ``factory(storage, options)``: the store's storage
    (an SQL backend searches the store's own database) and its options. ``sql``
    (SQLite FTS5, PostgreSQL full text) and ``memory`` are built in.

    Added in 0.5.
    """
