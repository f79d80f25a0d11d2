from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from importlib.metadata import EntryPoint

import pytest

import commercekit.plugins as plugins_module
from commercekit.adapters.payments.testgateway import TestPaymentGateway
from commercekit.hookspecs import hookimpl
from commercekit.plugins import PluginError, Plugins, UnknownGateway
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
