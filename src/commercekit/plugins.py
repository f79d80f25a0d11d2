"""The plugin manager: built-in adapters and third-party plugins, through one path.

Built-in plugins are registered by module path, exactly as third-party ones are
found through the ``commercekit`` entry point group. This module is the typed facade
over pluggy's untyped ``pm.hook``: the rest of commercekit calls these methods.
"""

from __future__ import annotations

import importlib
import logging
import typing
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import entry_points
from typing import Any, Final, TypeVar

import pluggy
from pydantic import BaseModel, SecretBytes, SecretStr, ValidationError

from commercekit import hookspecs
from commercekit.adapters.storage.urls import shown_url
from commercekit.domain.access import Principal
from commercekit.domain.errors import (
    CommerceError,
    InvalidInput,
    InvalidPluginOptions,
    PluginError,
    UnknownCarrier,
    UnknownGateway,
    shown,
)
from commercekit.domain.events import DomainEvent
from commercekit.domain.inventory import AllocationStrategy
from commercekit.hookspecs import (
    PROJECT,
    CarrierFactory,
    GatewayFactory,
)
from commercekit.ports.behaviour import BehaviourLog
from commercekit.ports.carriers import Carrier
from commercekit.ports.notifications import Notifier
from commercekit.ports.payments import PaymentGateway
from commercekit.ports.search import SearchBackend
from commercekit.ports.storage import PromotionType, Storage, StorageFactory
from commercekit.ports.tax import TaxProvider

__all__ = [
    "BUILTIN_PLUGINS",
    "Plugins",
    "secret_options",
    "validated_options",
]

log = logging.getLogger(__name__)

#: Module paths of the plugins that ship with commercekit.
BUILTIN_PLUGINS: Final = (
    "commercekit.adapters.payments.testgateway",
    "commercekit.adapters.payments.stripe_gateway",
    "commercekit.adapters.carriers.manual",
    "commercekit.adapters.carriers.sandbox",
    "commercekit.adapters.notifications.files",
    "commercekit.adapters.notifications.smtp",
    "commercekit.adapters.allocation",
    "commercekit.adapters.storage.backends",
    "commercekit.adapters.storage.promotion_types",
    "commercekit.adapters.search",
    "commercekit.adapters.tax",
    "commercekit.adapters.behaviour",
)


T = TypeVar("T")

#: Pydantic errors whose location is a key the configuration made up.
_UNKNOWN_KEYS: Final = frozenset({"extra_forbidden", "invalid_key"})
#: An unknown key is named when it reads as an option's name (``hots``); anything else
#: (a key of a megabyte, of spaces) is not repeated as a field's name.
_LONGEST_KEY_NAMED: Final = 64


def _is_secret(annotation: object) -> bool:
    """Whether a field's type is (or holds) a pydantic secret."""
    if annotation in (SecretStr, SecretBytes):
        return True
    return any(_is_secret(argument) for argument in typing.get_args(annotation))


def secret_options(model: type[BaseModel]) -> frozenset[str]:
    """The options of ``model`` a store keeps among its secrets: fields typed
    :class:`~pydantic.SecretStr` (or holding one), or marked
    ``Field(json_schema_extra={"secret": True})``."""
    return frozenset(
        name
        for name, field in model.model_fields.items()
        if _is_secret(field.annotation)
        or (isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("secret"))
    )


def validated_options(
    model: type[BaseModel], options: Mapping[str, Any], *, plugin: str, where: str, what: str
) -> BaseModel:
    """A plugin's options checked by its options model.

    :param plugin: the plugin kind, named in the message.
    :param where: the configuration's path to the plugin (``gateways.main``,
        ``notifier``): an error names ``<where>.options.<option>``, or
        ``<where>.secrets.<option>`` for one of :func:`secret_options`.
    :param what: how the message names the configured thing (``gateway 'main'``).
    :raises InvalidPluginOptions: naming the first option that is wrong. The message
        never repeats a value, which may be a secret.
    """
    label = f"{what} (plugin {shown(plugin)})"
    if not isinstance(options, Mapping):
        raise InvalidPluginOptions(
            plugin,
            f"{label}: expected a mapping of options, got {type(options).__name__}",
            field=f"{where}.options",
        )
    try:
        return model.model_validate(dict(options))
    except ValidationError as error:
        first: Any = error.errors()[0]
    option = str(first["loc"][0]) if first["loc"] else ""
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] in _UNKNOWN_KEYS:
        message = f"{message}: {shown(option)}"
        if not (option.isidentifier() and len(option) <= _LONGEST_KEY_NAMED):
            option = ""  # a key that cannot be an option's name is not named as one
    elif not option and ": " in message:
        # A check across options names its option at the front of the message.
        option, _, message = message.partition(": ")
    if not option:
        raise InvalidPluginOptions(plugin, f"{label}: {message}", field=f"{where}.options")
    group = "secrets" if option in secret_options(model) else "options"
    raise InvalidPluginOptions(
        plugin, f"{label}: {option}: {message}", field=f"{where}.{group}.{option}"
    )


def _built(kind: str, what: str, build: Callable[[], T]) -> T:
    """What a plugin's factory built; its failure other than a typed refusal (of its
    options, say) named as the plugin's.

    :raises PluginError: naming ``kind``.
    """
    try:
        return build()
    except CommerceError:
        raise
    except Exception as error:
        raise PluginError(kind, f"could not build {what}: {error!r}") from error


class Plugins:
    """Loads plugins and answers what they provide."""

    def __init__(
        self,
        *,
        entry_point_plugins: bool = True,
        extra: Sequence[object] = (),
        builtin: Sequence[str] = BUILTIN_PLUGINS,
    ) -> None:
        self.manager = pluggy.PluginManager(PROJECT)
        self.manager.add_hookspecs(hookspecs)
        for path in builtin:
            self._register(self._import(path), path)
        if entry_point_plugins:
            for entry_point in entry_points(group=PROJECT):
                label = f"{entry_point.name} ({entry_point.value})"
                try:
                    plugin = entry_point.load()
                except Exception as error:  # a broken plugin must name itself
                    raise PluginError(label, f"failed to load: {error!r}") from error
                self._register(plugin, entry_point.name)
        for plugin in extra:
            self._register(plugin, None)
        try:
            self.manager.check_pending()
        except pluggy.PluginValidationError as error:
            raise PluginError(str(error.plugin), str(error)) from error
        self._gateway_kinds: dict[str, GatewayFactory] | None = None
        self._promotion_types: tuple[PromotionType, ...] | None = None

    @staticmethod
    def _import(path: str) -> object:
        try:
            return importlib.import_module(path)
        except Exception as error:
            raise PluginError(path, f"failed to import: {error!r}") from error

    def _register(self, plugin: object, name: str | None) -> None:
        try:
            self.manager.register(plugin, name=name)
        except (ValueError, pluggy.PluginValidationError) as error:
            raise PluginError(name or repr(plugin), str(error)) from error

    def gateway_kinds(self) -> Mapping[str, GatewayFactory]:
        """Every gateway kind the plugins offer, by kind name."""
        if self._gateway_kinds is None:
            self._gateway_kinds = self._kinds("register_payment_gateways", "gateway")
        return self._gateway_kinds

    def _kinds(self, hook: str, what: str) -> dict[str, Any]:
        return {kind: factory for kind, (factory, _) in self._registered(hook, what).items()}

    def _registered(self, hook: str, what: str) -> dict[str, tuple[Any, type[BaseModel] | None]]:
        """Each kind's factory and options model, as the plugins register them.

        :raises PluginError: for two plugins registering one kind, or an options model
            that is not a pydantic model class.
        """
        kinds: dict[str, tuple[Any, type[BaseModel] | None]] = {}

        def register(kind: str, factory: Any, /, *, options: type[BaseModel] | None = None) -> None:
            if kind in kinds:
                raise PluginError(kind, f"two plugins register the same {what} kind")
            if options is not None and not (
                isinstance(options, type) and issubclass(options, BaseModel)
            ):
                raise PluginError(kind, "options must be a pydantic model class")
            kinds[kind] = (factory, options)

        getattr(self.manager.hook, hook)(register=register)
        return kinds

    def _factory(
        self, hook: str, what: str, kind: str, options: Mapping[str, Any], where: str, label: str
    ) -> tuple[Any, Any] | None:
        """The factory registered for ``kind`` and the options it receives: checked by
        its options model when it has one; ``None`` for a kind no plugin offers.

        :raises InvalidPluginOptions: naming the option, for options its model refuses.
        """
        found = self._registered(hook, what).get(kind)
        if found is None:
            return None
        factory, model = found
        if model is None:
            return factory, options
        return factory, validated_options(model, options, plugin=kind, where=where, what=label)

    def carrier_kinds(self) -> Mapping[str, CarrierFactory]:
        """Every carrier kind the plugins offer, by kind name."""
        return self._kinds("register_carriers", "carrier")

    def make_carrier(self, name: str, kind: str, options: Mapping[str, Any]) -> Carrier:
        """Build the carrier a store configures as ``name``, of plugin ``kind``.

        :raises UnknownCarrier: if no plugin offers ``kind``.
        :raises InvalidPluginOptions: naming the plugin and the option, for options
            the kind's options model refuses.
        :raises PluginError: if the plugin's factory fails other than on its options.
        """
        found = self._factory(
            "register_carriers",
            "carrier",
            kind,
            options,
            f"carriers.{name}",
            f"carrier {shown(name)}",
        )
        if found is None:
            raise UnknownCarrier(kind, self.carrier_kinds(), field="carriers")
        factory: CarrierFactory = found[0]
        checked = found[1]
        return _built(kind, f"carrier {name!r}", lambda: factory(name, checked))

    def _made(
        self,
        hook: str,
        what: str,
        kind: str,
        options: Mapping[str, Any],
        where: str,
        build: Callable[[Any, Any], T],
    ) -> T:
        """Build the one ``what`` of plugin ``kind`` a store has (its notifier, its
        tax provider, its search backend), from the factory the kind registered
        through ``hook`` and its options, checked.

        :raises InvalidInput: naming ``where``, if no plugin offers ``kind``.
        :raises InvalidPluginOptions: naming the plugin and the option, for options
            the kind's options model refuses.
        :raises PluginError: if the plugin's factory fails other than on its options.
        """
        found = self._factory(hook, what, kind, options, where, f"the {what}")
        if found is None:
            kinds: Mapping[str, Any] = self._kinds(hook, what)
            known = ", ".join(sorted(kinds)) or "none"
            raise InvalidInput(f"no {what} {shown(kind)} (known: {known})", field=where)
        factory, checked = found
        return _built(kind, what, lambda: build(factory, checked))

    def make_notifier(self, kind: str, options: Mapping[str, Any]) -> Notifier:
        """Build the notifier of plugin ``kind`` (see :meth:`_made`; errors name
        ``notifier``)."""
        made: Notifier = self._made(
            "register_notifiers",
            "notifier",
            kind,
            options,
            "notifier",
            lambda factory, checked: factory(checked),
        )
        return made

    def make_tax_provider(self, kind: str, options: Mapping[str, Any]) -> TaxProvider:
        """Build the tax provider of plugin ``kind`` (see :meth:`_made`; errors name
        ``tax_provider``)."""
        made: TaxProvider = self._made(
            "register_tax_providers",
            "tax provider",
            kind,
            options,
            "tax_provider",
            lambda factory, checked: factory(checked),
        )
        return made

    def make_search_backend(
        self, kind: str, storage: Storage, options: Mapping[str, Any]
    ) -> SearchBackend:
        """Build the search backend of plugin ``kind`` over ``storage`` (see
        :meth:`_made`; errors name ``search``)."""
        made: SearchBackend = self._made(
            "register_search_backends",
            "search backend",
            kind,
            options,
            "search",
            lambda factory, checked: factory(storage, checked),
        )
        return made

    def make_behaviour_log(
        self, kind: str, storage: Storage, options: Mapping[str, Any]
    ) -> BehaviourLog:
        """Build the behaviour log of plugin ``kind`` over ``storage`` (see
        :meth:`_made`; errors name ``behaviour``)."""
        made: BehaviourLog = self._made(
            "register_behaviour_logs",
            "behaviour log",
            kind,
            options,
            "behaviour",
            lambda factory, checked: factory(storage, checked),
        )
        return made

    def allocation_strategy(self, name: str) -> AllocationStrategy:
        """The stock allocation strategy a plugin offers as ``name``.

        :raises PluginError: if no plugin offers it (or two do).
        """
        strategies: dict[str, AllocationStrategy] = {}

        def register(strategy_name: str, strategy: AllocationStrategy) -> None:
            if strategy_name in strategies:
                raise PluginError(
                    strategy_name, "two plugins register the same allocation strategy"
                )
            strategies[strategy_name] = strategy

        self.manager.hook.register_allocation_strategies(register=register)
        if name not in strategies:
            known = ", ".join(sorted(strategies)) or "none"
            raise PluginError(name, f"no such allocation strategy (known: {known})")
        return strategies[name]

    def storage_backends(self) -> Mapping[str, StorageFactory]:
        """Every storage backend the plugins offer, by URL scheme."""
        backends: dict[str, StorageFactory] = {}

        def register(scheme: str, factory: StorageFactory) -> None:
            if scheme in backends:
                raise PluginError(scheme, "two plugins register the same storage scheme")
            backends[scheme] = factory

        self.manager.hook.register_storage_backends(register=register)
        return backends

    def promotion_types(self) -> tuple[PromotionType, ...]:
        """Every promotion benefit and condition the plugins offer.

        :raises PluginError: for two under one name.
        """
        if self._promotion_types is None:
            found: dict[str, PromotionType] = {}

            def register(kind: PromotionType) -> None:
                if not isinstance(kind, PromotionType):
                    raise PluginError(repr(kind), "register a PromotionType")
                if kind.name in found:
                    raise PluginError(kind.name, "two plugins register the same promotion type")
                found[kind.name] = kind

            self.manager.hook.register_promotion_types(register=register)
            self._promotion_types = tuple(found.values())
        return self._promotion_types

    def open_storage(self, url: str) -> Storage:
        """Open the storage a URL names, through the backend its scheme names.

        :raises InvalidInput: naming ``url``, for a scheme no plugin offers.
        """
        if not isinstance(url, str) or ":" not in url:
            raise InvalidInput(
                f"expected a storage URL such as sqlite:///shop.db, got {shown(shown_url(url))}",
                field="url",
            )
        scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
        backends = self.storage_backends()
        factory = backends.get(scheme)
        if factory is None:
            known = ", ".join(f"{name}:" for name in sorted(backends)) or "none"
            raise InvalidInput(
                f"no storage backend for {shown(shown_url(url))} (known: {known})", field="url"
            )
        return factory(url, promotion_types=self.promotion_types())

    def make_gateway(self, name: str, kind: str, options: Mapping[str, Any]) -> PaymentGateway:
        """Build the gateway a store configures as ``name``, of plugin ``kind``.

        :raises UnknownGateway: if no plugin offers ``kind``.
        :raises InvalidPluginOptions: naming the plugin and the option, for options
            the kind's options model refuses.
        :raises PluginError: if the plugin's factory fails.
        """
        found = self._factory(
            "register_payment_gateways",
            "gateway",
            kind,
            options,
            f"gateways.{name}",
            f"gateway {shown(name)}",
        )
        if found is None:
            raise UnknownGateway(kind, self.gateway_kinds(), field="gateways")
        factory: GatewayFactory = found[0]
        checked = found[1]
        return _built(kind, f"gateway {name!r}", lambda: factory(name, checked))

    def coupon_attempt(self, principal: Principal, code: str) -> None:
        """Tell every plugin listening of a shopper's coupon attempt; the first that
        raises refuses it."""
        self.manager.hook.coupon_attempt(principal=principal, code=code)

    def has_subscribers(self) -> bool:
        """Whether any plugin subscribes to domain events."""
        return bool(self.manager.hook.on_domain_event.get_hookimpls())

    def publish(self, events: Sequence[DomainEvent]) -> None:
        """Hand each event to every subscriber, isolating their failures.

        pluggy stops at the first exception, so each implementation is called on its
        own: one failing subscriber must not rob the others of the event.
        """
        implementations = self.manager.hook.on_domain_event.get_hookimpls()
        for event in events:
            for implementation in implementations:
                try:
                    implementation.function(event=event)
                except Exception:
                    log.exception(
                        "subscriber %s failed on %s", implementation.plugin_name, event.name
                    )
