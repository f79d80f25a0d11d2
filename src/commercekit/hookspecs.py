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

A factory registered with ``options=Model`` (a pydantic model) gets its options
checked by ``Model`` when a store opens, and receives the model instance instead of
the mapping; see :class:`Register`.

Each specification carries the version of commercekit it appeared in (``@since``),
collected in :data:`HOOK_VERSIONS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol, TypeVar

import pluggy
from pydantic import BaseModel

from commercekit.domain.access import Principal
from commercekit.domain.events import DomainEvent
from commercekit.domain.inventory import AllocationStrategy
from commercekit.ports.behaviour import BehaviourLog
from commercekit.ports.carriers import Carrier
from commercekit.ports.notifications import Notifier
from commercekit.ports.payments import PaymentGateway
from commercekit.ports.search import SearchBackend
from commercekit.ports.storage import PromotionType, Storage, StorageFactory
from commercekit.ports.tax import TaxProvider

__all__ = [
    "HOOK_VERSIONS",
    "PROJECT",
    "BehaviourLogFactory",
    "CarrierFactory",
    "GatewayFactory",
    "NotifierFactory",
    "Register",
    "SearchBackendFactory",
    "TaxProviderFactory",
    "hookimpl",
    "hookspec",
    "since",
]

PROJECT: Final = "commercekit"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

_Hook = TypeVar("_Hook", bound=Callable[..., None])
_Factory = TypeVar("_Factory", contravariant=True)


def since(version: str) -> Callable[[_Hook], _Hook]:
    """Mark a hook specification with the version of commercekit it appeared in (read
    back as the function's ``since`` attribute)."""

    def mark(hook: _Hook) -> _Hook:
        hook.since = version  # type: ignore[attr-defined]
        return hook

    return mark


class Register(Protocol[_Factory]):
    """What a ``register_*`` hook for adapters receives: call it once per kind.

    ``options``, a pydantic model class, declares the kind's options: a store checks
    its configuration's options and secrets for the kind with it when it opens, and
    refuses them with :class:`~commercekit.errors.InvalidPluginOptions` naming the
    plugin and the option (``gateways.<name>.options.<option>``; ``secrets.`` for a
    field typed :class:`pydantic.SecretStr`, or marked
    ``Field(json_schema_extra={"secret": True})``). The factory then receives the
    model instance instead of the mapping (a secret stays a ``SecretStr`` where the
    model types it so). Without ``options``, the factory receives the mapping, the
    secrets revealed in it, and checks it itself.
    """

    def __call__(
        self, kind: str, factory: _Factory, /, *, options: type[BaseModel] | None = None
    ) -> None: ...


class GatewayFactory(Protocol):
    """Builds a gateway from the name a store gives it and that store's options (a
    mapping, or the instance of the options model the kind was registered with)."""

    def __call__(self, name: str, options: Any) -> PaymentGateway: ...


class CarrierFactory(Protocol):
    """Builds a carrier from the name a store gives it and that store's options (a
    mapping, or the instance of the options model the kind was registered with)."""

    def __call__(self, name: str, options: Any) -> Carrier: ...


class SearchBackendFactory(Protocol):
    """Builds a search backend over a store's storage, from its options (a mapping, or
    the instance of the options model the kind was registered with)."""

    def __call__(self, storage: Storage, options: Any) -> SearchBackend: ...


class BehaviourLogFactory(Protocol):
    """Builds a behaviour log over a store's storage, from its options (a mapping, or
    the instance of the options model the kind was registered with)."""

    def __call__(self, storage: Storage, options: Any) -> BehaviourLog: ...


class TaxProviderFactory(Protocol):
    """Builds a tax provider from a store's options for it (a mapping, or the instance
    of the options model the kind was registered with)."""

    def __call__(self, options: Any) -> TaxProvider: ...


class NotifierFactory(Protocol):
    """Builds a notifier from a store's options for it (a mapping, or the instance of
    the options model the kind was registered with)."""

    def __call__(self, options: Any) -> Notifier: ...


@hookspec
@since("0.1")
def register_payment_gateways(register: Register[GatewayFactory]) -> None:
    """Offer payment gateway kinds.

    Call ``register(kind, factory)`` once per kind. A store whose configuration names
    a gateway with ``plugin = kind`` gets ``factory(name, options)``: the model
    instance, for a kind registered with ``options=Model`` (see :class:`Register`).

    Added in 0.1.
    """


@hookspec
@since("0.1")
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
@since("0.1")
def on_domain_event(event: DomainEvent) -> None:
    """Receive a domain event after the change that recorded it was committed.

    Called once per subscriber and event, in order. An exception here is logged and
    does not reach other subscribers, nor undo the change.

    Added in 0.1.
    """


@hookspec
@since("0.3")
def coupon_attempt(principal: Principal, code: str) -> None:
    """Hear of a coupon code a shopper is about to try (through a store's
    :meth:`~commercekit.store.Store.as_shopper` view), before it is tried.

    Raise a :class:`~commercekit.errors.CommerceError` to refuse the attempt, such as
    :class:`~commercekit.errors.TooManyAttempts` from a rate limit kept per shopper or
    per client address; the error reaches the caller as it is.

    Added in 0.3.
    """


@hookspec
@since("0.2")
def register_storage_backends(register: Callable[[str, StorageFactory], None]) -> None:
    """Offer storage backends.

    Call ``register(scheme, factory)`` once per URL scheme. A store opened with a URL
    whose scheme (before ``:`` and any ``+driver``) is ``scheme`` gets
    ``factory(url, promotion_types=...)``: ``memory``, ``sqlite`` and ``postgresql``
    are built in.

    Added in 0.2.
    """


@hookspec
@since("0.2")
def register_promotion_types(register: Callable[[PromotionType], None]) -> None:
    """Offer promotion benefits and conditions that storage can keep.

    Call ``register(PromotionType(name=..., cls=..., encode=..., decode=...))`` once
    per class. ``name`` is stored with every promotion that uses the class: never
    change it once data is stored. The built-in benefits and conditions come through
    this hook too.

    Added in 0.2.
    """


@hookspec
@since("0.4")
def register_carriers(register: Register[CarrierFactory]) -> None:
    """Offer parcel carriers.

    Call ``register(kind, factory)`` once per kind. A store whose configuration names
    a carrier with ``plugin = kind`` gets ``factory(name, options)``. Register the
    kind's options model (``register(kind, factory, options=Model)``, see
    :class:`Register`) to have the store check them; otherwise a factory checks its
    options and raises :class:`~commercekit.errors.InvalidInput` naming the option
    that is wrong.

    Added in 0.4.
    """


@hookspec
@since("0.4")
def register_notifiers(register: Register[NotifierFactory]) -> None:
    """Offer notifiers (how messages reach customers).

    Call ``register(kind, factory)`` once per kind. A store whose configuration sets
    ``notifier.plugin = kind`` gets ``factory(options)``. Register the kind's options
    model (``register(kind, factory, options=Model)``, see :class:`Register`) to have
    the store check them; otherwise a factory checks its options and raises
    :class:`~commercekit.errors.InvalidInput` naming the option that is wrong.

    Added in 0.4.
    """


@hookspec
@since("0.5")
def register_search_backends(register: Register[SearchBackendFactory]) -> None:
    """Offer catalogue search engines.

    Call ``register(kind, factory)`` once per kind. A store whose configuration sets
    ``search.plugin = kind`` gets ``factory(storage, options)``: the store's storage
    (an SQL backend searches the store's own database) and its options. ``sql``
    (SQLite FTS5, PostgreSQL full text) and ``memory`` are built in.

    Added in 0.5.
    """


@hookspec
@since("0.6")
def register_tax_providers(register: Register[TaxProviderFactory]) -> None:
    """Offer tax providers: where pricing learns the rates an address pays.

    Call ``register(kind, factory)`` once per kind. A store whose configuration sets
    ``tax_provider.plugin = kind`` gets ``factory(options)``. ``zones`` (the store's
    own tax zones) is built in and is the default.

    Added in 0.6.
    """


@hookspec
@since("0.7")
def register_behaviour_logs(register: Register[BehaviourLogFactory]) -> None:
    """Offer behaviour logs: where what shoppers do is appended and counted.

    Call ``register(kind, factory)`` once per kind. A store whose configuration sets
    ``behaviour.plugin = kind`` gets ``factory(storage, options)``. ``sql`` (a table in
    the store's own database) and ``memory`` are built in; a store logs to the one
    its storage suits unless configured otherwise.

    Added in 0.7.
    """


#: The version of commercekit each hook appeared in, by hook name.
HOOK_VERSIONS: Final[Mapping[str, str]] = {
    name: hook.since
    for name, hook in sorted(globals().items())
    if callable(hook) and hasattr(hook, f"{PROJECT}_spec") and hasattr(hook, "since")
}
