"""The plugin author's guide (docs/plugin-guide.md) does what it says.

Its Python blocks run in order as one module, ``kestrel_commerce.plugin`` as the
guide's entry point names it, and the two test classes the guide shows are collected
here, so its gateway and carrier run under the conformance suites they turn on. The
entry point of its ``pyproject.toml`` block loads its plugin, and a gateway or a
carrier that breaks a rule fails the suite naming the rule, so the suites are not
passing by doing nothing.
"""

from __future__ import annotations

import re
import sys
import tomllib
import types
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

from commercekit.plugins import Plugins
from commercekit.store import Store
from commercekit.testing.conformance.carrier import CarrierConformance
from commercekit.testing.conformance.gateway import GatewayConformance

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugin-guide.md"
PACKAGE, MODULE = "kestrel_commerce", "kestrel_commerce.plugin"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", GUIDE.read_text("utf-8"), re.DOTALL)


def _run_guide() -> types.ModuleType:
    """The guide's Python blocks, run in order as one module."""
    module = types.ModuleType(MODULE)
    for number, block in enumerate(_blocks("python"), 1):
        exec(compile(block, f"{GUIDE.name}#{number}", "exec"), module.__dict__)
    return module


guide = _run_guide()

# The guide's own test classes, collected by pytest as they are.
TestKestrelPay = guide.TestKestrelPay
TestKestrelPost = guide.TestKestrelPost


def test_the_guide_turns_on_both_suites() -> None:
    assert issubclass(TestKestrelPay, GatewayConformance)
    assert issubclass(TestKestrelPost, CarrierConformance)


def test_the_entry_point_loads_the_guides_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    [project] = [tomllib.loads(block) for block in _blocks("toml")]
    [(name, value)] = project["project"]["entry-points"]["commercekit"].items()
    monkeypatch.setitem(sys.modules, PACKAGE, types.ModuleType(PACKAGE))
    monkeypatch.setitem(sys.modules, MODULE, guide)
    loaded = EntryPoint(name=name, value=value, group="commercekit").load()
    assert loaded is guide.plugin
    plugins = Plugins(entry_point_plugins=False, extra=[loaded])
    assert "kestrel-pay" in plugins.gateway_kinds()
    assert "kestrel-post" in plugins.carrier_kinds()
    with Store.open("memory://", config=guide.config, plugins=[loaded]) as store:
        assert store.runtime.carrier("kestrel").name == "kestrel"


def test_a_gateway_that_breaks_a_rule_fails_the_guides_suite() -> None:
    class Forgetful(TestKestrelPay):
        def make_gateway(self) -> Any:
            gateway = super().make_gateway()
            gateway.find = lambda key: None
            return gateway

    with pytest.raises(AssertionError, match=r"rule broken: find\(key\) finds an operation"):
        Forgetful().test_find_returns_the_answer_of_a_key()


def test_a_carrier_that_breaks_a_rule_fails_the_guides_suite() -> None:
    class Credulous(TestKestrelPost):
        def make_carrier(self) -> Any:
            carrier = super().make_carrier()
            carrier.verify_webhook = lambda body, headers, *, now: []
            return carrier

    with pytest.raises(AssertionError, match="rule broken: a webhook with a forged"):
        Credulous().test_a_forged_webhook_is_rejected()
