"""A plugin's options, declared as a pydantic model, are checked when a store opens:
a wrong one is InvalidPluginOptions naming the plugin and the option."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from commercekit.adapters.carriers.sandbox import SandboxCarrier
from commercekit.adapters.payments.testgateway import TestPaymentGateway
from commercekit.adapters.search import open_memory_search
from commercekit.errors import InvalidInput, InvalidPluginOptions, PluginError
from commercekit.hookspecs import hookimpl
from commercekit.ports.search import SearchBackend
from commercekit.ports.storage import Storage
from commercekit.store import Store

SECRET = "whsec_do_not_show"
SMTP = {"host": "mail.example", "sender": "shop@retro.example"}


def open_with(config: Mapping[str, Any], plugins: tuple[object, ...] = ()) -> Store:
    """A store on memory with ``config``, third-party entry points left out."""
    return Store.open("memory://", config={**config, "entry_point_plugins": False}, plugins=plugins)


def refusal(config: Mapping[str, Any], plugins: tuple[object, ...] = ()) -> InvalidPluginOptions:
    """The error opening a store with ``config`` raises."""
    with pytest.raises(InvalidPluginOptions) as caught:
        open_with(config, plugins).close()
    return caught.value


def gateway(plugin: str, *, options: object = None, secrets: object = None) -> dict[str, Any]:
    """A configuration naming one gateway ``main``."""
    entry: dict[str, Any] = {"plugin": plugin}
    if options is not None:
        entry["options"] = options
    if secrets is not None:
        entry["secrets"] = secrets
    return {"gateways": {"main": entry}}


# --- the built-in plugins ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "plugin", "field"),
    [
        (
            gateway(
                "test", options={"webhook_tolerance_seconds": 0}, secrets={"webhook_secret": SECRET}
            ),
            "test",
            "gateways.main.options.webhook_tolerance_seconds",
        ),
        (gateway("test"), "test", "gateways.main.secrets.webhook_secret"),
        (
            gateway("test", secrets={"webhook_secret": SECRET, "previous_webhook_secrets": [""]}),
            "test",
            "gateways.main.secrets.previous_webhook_secrets",
        ),
        (
            {"carriers": {"post": {"plugin": "sandbox", "options": {"hours_per_step": 0}}}},
            "sandbox",
            "carriers.post.options.hours_per_step",
        ),
        (
            {"carriers": {"post": {"plugin": "sandbox", "secrets": {"webhook_secret": ""}}}},
            "sandbox",
            "carriers.post.secrets.webhook_secret",
        ),
        (
            {
                "carriers": {
                    "post": {"plugin": "manual", "options": {"tracking_url": "https://x.test/"}}
                }
            },
            "manual",
            "carriers.post.options.tracking_url",
        ),
        (
            {"notifier": {"plugin": "file", "options": {"directory": " "}}},
            "file",
            "notifier.options.directory",
        ),
        (
            {"notifier": {"plugin": "console", "options": {"stream": "stderr"}}},
            "console",
            "notifier.options.stream",
        ),
        (
            {"notifier": {"plugin": "smtp", "options": {**SMTP, "port": 0}}},
            "smtp",
            "notifier.options.port",
        ),
        (
            {
                "notifier": {
                    "plugin": "smtp",
                    "options": {**SMTP, "security": "ssl", "username": "shop"},
                }
            },
            "smtp",
            "notifier.secrets.password",
        ),
    ],
    ids=[
        "gateway-option",
        "gateway-missing-secret",
        "gateway-secret",
        "sandbox-option",
        "sandbox-secret",
        "manual-option",
        "file-option",
        "console-unknown-option",
        "smtp-option",
        "smtp-across-options",
    ],
)
def test_a_wrong_option_of_a_built_in_plugin_names_the_plugin_and_field(
    config: dict[str, Any], plugin: str, field: str
) -> None:
    error = refusal(config)

    assert error.code == "invalid_plugin_options"
    assert isinstance(error, InvalidInput)
    assert error.field == field
    assert error.plugin == plugin
    assert f"plugin '{plugin}'" in error.message
    assert field.rsplit(".", 1)[1] in error.message  # the option, by name
    assert SECRET not in str(error)


def test_the_built_in_plugins_still_build_from_good_options(tmp_path: Path) -> None:
    config = {
        **gateway(
            "test",
            options={"webhook_tolerance_seconds": 60},
            secrets={"webhook_secret": SECRET, "previous_webhook_secrets": ["whsec_old"]},
        ),
        "carriers": {"post": {"plugin": "sandbox", "options": {"hours_per_step": 2}}},
        "notifier": {"plugin": "file", "options": {"directory": str(tmp_path)}},
    }
    with open_with(config) as store:
        built = store.gateway("main")
        assert isinstance(built, TestPaymentGateway)
        assert built.webhook_secret == SECRET  # revealed to the factory
        assert built.previous_webhook_secrets == ("whsec_old",)
        assert built.webhook_tolerance_seconds == 60


# --- third-party plugins ----------------------------------------------------------------


class AcmeOptions(BaseModel):
    """A third-party gateway's options."""

    model_config = ConfigDict(extra="forbid")

    api_key: SecretStr
    timeout_seconds: int = Field(default=10, ge=1, le=60)


class AcmePay:
    """A gateway kind with an options model; keeps what its factory received."""

    def __init__(self) -> None:
        self.received: list[object] = []

    @hookimpl
    def register_payment_gateways(self, register: Any) -> None:
        def build(name: str, options: AcmeOptions) -> TestPaymentGateway:
            self.received.append(options)
            return TestPaymentGateway(name, webhook_secret=options.api_key.get_secret_value())

        register("acme", build, options=AcmeOptions)


class PlainPay:
    """A gateway kind without an options model, as plugins have always been."""

    def __init__(self) -> None:
        self.received: list[object] = []

    @hookimpl
    def register_payment_gateways(self, register: Any) -> None:
        def build(name: str, options: Mapping[str, Any]) -> TestPaymentGateway:
            self.received.append(options)
            return TestPaymentGateway(name, webhook_secret=options["webhook_secret"])

        register("plain", build)


def test_a_factory_without_an_options_model_still_gets_the_mapping() -> None:
    plugin = PlainPay()
    config = gateway("plain", options={"colour": "red"}, secrets={"webhook_secret": SECRET})
    with open_with(config, (plugin,)) as store:
        assert store.gateway("main").name == "main"
    # No model: the options and the revealed secrets in one mapping, unknown keys too.
    assert plugin.received == [{"colour": "red", "webhook_secret": SECRET}]


def test_a_factory_with_an_options_model_gets_the_checked_model_instance() -> None:
    plugin = AcmePay()
    config = gateway("acme", options={"timeout_seconds": 30}, secrets={"api_key": SECRET})
    with open_with(config, (plugin,)) as store:
        assert store.gateway("main").name == "main"
    [options] = plugin.received
    assert isinstance(options, AcmeOptions)
    assert options.timeout_seconds == 30
    assert isinstance(options.api_key, SecretStr)
    assert options.api_key.get_secret_value() == SECRET
    assert SECRET not in repr(options)


@pytest.mark.parametrize(
    ("options", "secrets", "field"),
    [
        ({"timeout_seconds": 0}, {"api_key": SECRET}, "gateways.main.options.timeout_seconds"),
        ({"timeout_seconds": "soon"}, {"api_key": SECRET}, "gateways.main.options.timeout_seconds"),
        ({"timeout_secs": 5}, {"api_key": SECRET}, "gateways.main.options.timeout_secs"),
        ({}, {}, "gateways.main.secrets.api_key"),
        ({}, {"api_key": ["a", "b"]}, "gateways.main.secrets.api_key"),
    ],
    ids=["out-of-range", "not-a-number", "unknown", "missing-secret", "not-text"],
)
def test_a_third_party_model_refuses_wrong_options_at_open(
    options: dict[str, Any], secrets: dict[str, Any], field: str
) -> None:
    plugin = AcmePay()
    error = refusal(gateway("acme", options=options, secrets=secrets), (plugin,))

    assert error.field == field
    assert error.plugin == "acme"
    assert "gateway 'main' (plugin 'acme')" in error.message
    assert plugin.received == []  # refused before the factory ran
    assert SECRET not in str(error)


class SecretMarked(BaseModel):
    """Options whose secret is a plain string, marked as secret."""

    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=8, json_schema_extra={"secret": True})


class AcmeCarrier:
    """A carrier kind whose options model marks a plain field as secret."""

    @hookimpl
    def register_carriers(self, register: Any) -> None:
        def build(name: str, options: SecretMarked) -> SandboxCarrier:
            return SandboxCarrier(name)

        register("acme-post", build, options=SecretMarked)


def test_a_field_marked_secret_is_named_among_the_secrets() -> None:
    config = {"carriers": {"post": {"plugin": "acme-post", "secrets": {"token": "short"}}}}
    error = refusal(config, (AcmeCarrier(),))

    assert error.field == "carriers.post.secrets.token"
    assert "short" not in error.message


class SearchOptions(BaseModel):
    """A third-party search backend's options."""

    model_config = ConfigDict(extra="forbid")

    language: str = "english"


class AcmeSearch:
    """A search backend kind with an options model; keeps what its factory received."""

    def __init__(self) -> None:
        self.received: list[object] = []

    @hookimpl
    def register_search_backends(self, register: Any) -> None:
        def build(storage: Storage, options: SearchOptions) -> SearchBackend:
            self.received.append(options)
            return open_memory_search(storage, {})

        register("acme-search", build, options=SearchOptions)


def test_search_backend_options_are_checked_and_handed_over_as_the_model() -> None:
    plugin = AcmeSearch()
    with open_with(
        {"search": {"plugin": "acme-search", "options": {"language": "german"}}}, (plugin,)
    ):
        pass
    assert plugin.received == [SearchOptions(language="german")]

    error = refusal({"search": {"plugin": "acme-search", "options": {"lang": "x"}}}, (plugin,))
    assert error.field == "search.options.lang"
    assert error.plugin == "acme-search"


class NotAModel:
    """Registers an options "model" that is not a pydantic model class."""

    @hookimpl
    def register_payment_gateways(self, register: Any) -> None:
        register("odd", lambda name, options: None, options=dict)


def test_an_options_model_that_is_not_a_pydantic_model_is_a_plugin_error() -> None:
    with pytest.raises(PluginError) as caught:
        open_with(gateway("odd"), (NotAModel(),)).close()
    assert "pydantic model" in caught.value.message
