from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import attrs
import pytest

import commercekit.plugins as plugins_module
from commercekit.adapters.payments.testgateway import TestPaymentGateway
from commercekit.adapters.storage.memory import MemoryStorage
from commercekit.domain.errors import InvalidInput
from commercekit.domain.promotions import PercentOffLines, Promotion
from commercekit.errors import (
    PluginError,
    UnknownGateway,
)
from commercekit.hookspecs import hookimpl
from commercekit.plugins import (
    Plugins,
)
from commercekit.ports.storage import PromotionType
from commercekit.store import Store


def test_the_built_in_test_gateway_arrives_through_the_plugin_hook() -> None:
    plugins = Plugins(entry_point_plugins=False)
    assert "test" in plugins.gateway_kinds()
    gateway = plugins.make_gateway("sandbox", "test", {"webhook_secret": "s3cret"})
    assert isinstance(gateway, TestPaymentGateway)
    assert gateway.name == "sandbox"
    assert gateway.webhook_secret == "s3cret"


def test_an_unknown_gateway_kind_names_itself_and_the_known_ones() -> None:
    with pytest.raises(UnknownGateway) as caught:
        Store.open(
            "memory://",
            config={"gateways": {"main": {"plugin": "acme"}}, "entry_point_plugins": False},
        )
    assert caught.value.code == "unknown_gateway"
    assert "'acme'" in str(caught.value)
    assert "test" in str(caught.value)


class AcmePlugin:
    @hookimpl
    def register_payment_gateways(self, register):  # type: ignore[no-untyped-def]
        register("acme", lambda name, options: TestPaymentGateway(name, **options))


def test_a_third_party_gateway_plugs_in_without_touching_commercekit() -> None:
    with Store.open(
        "memory://",
        config={
            "gateways": {"main": {"plugin": "acme", "options": {"webhook_secret": "x"}}},
            "entry_point_plugins": False,
        },
        plugins=[AcmePlugin()],
    ) as store:
        assert store.gateway("main").name == "main"


def test_a_plugin_that_misspells_a_hook_is_refused_by_name() -> None:
    class Misspelt:
        @hookimpl
        def register_payment_gateway(self, register):  # type: ignore[no-untyped-def]
            pass

    with pytest.raises(PluginError) as caught:
        Plugins(entry_point_plugins=False, extra=[Misspelt()])
    assert caught.value.code == "plugin_error"
    assert "register_payment_gateway" in str(caught.value)


def test_a_plugin_whose_factory_fails_names_itself() -> None:
    class Broken:
        @hookimpl
        def register_payment_gateways(self, register):  # type: ignore[no-untyped-def]
            register("broken", lambda name, options: 1 / 0)

    plugins = Plugins(entry_point_plugins=False, extra=[Broken()])
    with pytest.raises(PluginError) as caught:
        plugins.make_gateway("main", "broken", {})
    assert caught.value.plugin == "broken"
    assert "ZeroDivisionError" in str(caught.value)


def test_two_plugins_claiming_one_kind_are_refused() -> None:
    plugins = Plugins(entry_point_plugins=False, extra=[AcmePlugin(), AcmePlugin()])
    with pytest.raises(PluginError):
        plugins.gateway_kinds()


@pytest.fixture
def entry_points(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[EntryPoint]]:
    found: list[EntryPoint] = []
    monkeypatch.setattr(
        plugins_module, "entry_points", lambda group: [e for e in found if e.group == group]
    )
    return found


def test_entry_point_plugins_are_loaded(entry_points: list[EntryPoint]) -> None:
    module = types.ModuleType("acme_pay_plugin")
    module.register_payment_gateways = AcmePlugin().register_payment_gateways  # type: ignore[attr-defined]
    sys.modules["acme_pay_plugin"] = module
    try:
        entry_points.append(EntryPoint(name="acme", value="acme_pay_plugin", group="commercekit"))
        assert "acme" in Plugins().gateway_kinds()
    finally:
        del sys.modules["acme_pay_plugin"]


def test_a_broken_entry_point_names_itself(entry_points: list[EntryPoint]) -> None:
    entry_points.append(
        EntryPoint(name="ghost", value="no_such_module_anywhere", group="commercekit")
    )
    with pytest.raises(PluginError) as caught:
        Plugins()
    assert "ghost" in str(caught.value)
    assert "no_such_module_anywhere" in str(caught.value)


def test_every_hook_is_documented_and_exercised() -> None:
    from commercekit import hookspecs

    names = [name for name in dir(hookspecs) if name.startswith(("register_", "on_"))]
    assert set(names) == {
        "register_payment_gateways",
        "register_allocation_strategies",
        "register_storage_backends",
        "register_promotion_types",
        "register_carriers",
        "register_notifiers",
        "register_search_backends",
        "register_tax_providers",
        "register_behaviour_logs",
        "on_domain_event",
    }
    for name in names:
        assert (getattr(hookspecs, name).__doc__ or "").strip(), f"{name} has no docstring"


def test_allocation_strategies_arrive_through_the_plugin_hook() -> None:
    from commercekit.domain.inventory import FewestLocations, PriorityOrder

    plugins = Plugins(entry_point_plugins=False)
    assert plugins.allocation_strategy("priority") is PriorityOrder
    assert plugins.allocation_strategy("fewest_locations") is FewestLocations
    with pytest.raises(PluginError) as caught:
        Store.open(
            "memory://", config={"allocation_strategy": "cheapest", "entry_point_plugins": False}
        )
    assert "cheapest" in str(caught.value)
    assert "fewest_locations" in str(caught.value)


class ScratchBackend:
    """A third-party storage backend: ``scratch://`` keeps everything in memory."""

    opened: list[str]

    def __init__(self) -> None:
        self.opened = []

    @hookimpl
    def register_storage_backends(self, register):  # type: ignore[no-untyped-def]
        def open_scratch(url, *, promotion_types):  # type: ignore[no-untyped-def]
            self.opened.append(url)
            return MemoryStorage()

        register("scratch", open_scratch)


def test_storage_backends_arrive_through_the_plugin_hook() -> None:
    backend = ScratchBackend()
    with Store.open(
        "scratch://shop", config={"entry_point_plugins": False}, plugins=[backend]
    ) as store:
        cart = store.carts.create("EUR")
        assert store.carts.get(cart.token).id == cart.id
    assert backend.opened == ["scratch://shop"]
    builtin = Plugins(entry_point_plugins=False).storage_backends()
    assert {"memory", "sqlite", "postgresql"} <= set(builtin)


@pytest.mark.parametrize("url", ["mysql://root@localhost/shop", "shop.db", ""])
def test_a_storage_url_no_backend_serves_is_refused_naming_the_known_ones(url: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Store.open(url, config={"entry_point_plugins": False})
    assert caught.value.field == "url"


def test_two_plugins_claiming_one_storage_scheme_are_refused() -> None:
    class Memory:
        @hookimpl
        def register_storage_backends(self, register):  # type: ignore[no-untyped-def]
            register("memory", lambda url, *, promotion_types: MemoryStorage())

    with pytest.raises(PluginError):
        Store.open("memory://", config={"entry_point_plugins": False}, plugins=[Memory()])


@attrs.frozen
class LoyaltyOnly:
    """A third-party condition: only for members of a loyalty tier."""

    tier: str

    def check(self, lines, all_lines, context):  # type: ignore[no-untyped-def]
        return None if self.tier in context.customer_groups else "not_applicable"


class LoyaltyPlugin:
    @hookimpl
    def register_promotion_types(self, register):  # type: ignore[no-untyped-def]
        register(
            PromotionType(
                name="acme.LoyaltyOnly",
                cls=LoyaltyOnly,
                encode=lambda value: {"tier": value.tier},
                decode=lambda data: LoyaltyOnly(data["tier"]),
            )
        )


def _loyal_promotion() -> Promotion:
    return Promotion(
        id="gold-5",
        name="Gold members",
        benefit=PercentOffLines(5),
        conditions=[LoyaltyOnly("gold")],
    )


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_a_third_party_promotion_condition_is_stored_once_its_plugin_offers_it(
    backend: str, tmp_path: Path
) -> None:
    url = "memory://" if backend == "memory" else f"sqlite:///{tmp_path / 'shop.db'}"
    config = {"entry_point_plugins": False}
    with Store.open(url, config=config, plugins=[LoyaltyPlugin()]) as store:
        store.catalog.add_promotion(_loyal_promotion())
        stored = store.runtime.storage
        with stored.unit_of_work() as uow:
            assert uow.catalog.promotions() == [_loyal_promotion()]
    other = f"sqlite:///{tmp_path / 'other.db'}" if backend == "sqlite" else url
    with Store.open(other, config=config) as store, pytest.raises(InvalidInput) as caught:
        store.catalog.add_promotion(_loyal_promotion())
    assert caught.value.field == "conditions"
    assert "LoyaltyOnly" in str(caught.value)


def test_the_built_in_promotion_types_arrive_through_the_plugin_hook() -> None:
    names = {kind.name for kind in Plugins(entry_point_plugins=False).promotion_types()}
    assert {"PercentOffLines", "BuyXGetY", "MinimumSubtotal", "CustomerGroups"} <= names
