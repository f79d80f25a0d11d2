"""The hook specifications stay compatible: none is renamed, loses or renames a
parameter, or changes the version it appeared in.

The table below is the record. A new hook must be added to it (with the version it
appears in); changing an existing row breaks third-party plugins and is a mistake.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import pytest

from commercekit import hookspecs
from commercekit.hookspecs import HOOK_VERSIONS, PROJECT
from commercekit.plugins import Plugins

#: Every hook: its parameter names, in order, and the version it appeared in.
HOOKS: dict[str, tuple[tuple[str, ...], str]] = {
    "register_payment_gateways": (("register",), "0.1"),
    "register_tax_providers": (("register",), "0.6"),
    "register_allocation_strategies": (("register",), "0.1"),
    "on_domain_event": (("event",), "0.1"),
    "coupon_attempt": (("principal", "code"), "0.3"),
    "register_storage_backends": (("register",), "0.2"),
    "register_promotion_types": (("register",), "0.2"),
    "register_carriers": (("register",), "0.4"),
    "register_notifiers": (("register",), "0.4"),
    "register_search_backends": (("register",), "0.5"),
    "register_behaviour_logs": (("register",), "0.7"),
}


def specified(module: object) -> dict[str, tuple[tuple[str, ...], str | None]]:
    """Each hook specification of ``module``: its parameter names and ``since``."""
    found: dict[str, tuple[tuple[str, ...], str | None]] = {}
    for name, value in vars(module).items():
        if callable(value) and hasattr(value, f"{PROJECT}_spec"):
            parameters = tuple(inspect.signature(value).parameters)
            found[name] = (parameters, getattr(value, "since", None))
    return found


def differences(
    found: Mapping[str, tuple[tuple[str, ...], str | None]],
    recorded: Mapping[str, tuple[tuple[str, ...], str]],
) -> list[str]:
    """What breaks the record, one line per hook, naming it."""
    problems = []
    for name, (parameters, since) in recorded.items():
        if name not in found:
            problems.append(f"{name}: the hook disappeared")
            continue
        now, now_since = found[name]
        if now != parameters:
            problems.append(f"{name}: parameters {parameters} became {now}")
        if now_since != since:
            problems.append(f"{name}: since {since} became {now_since}")
    for name in sorted(set(found) - set(recorded)):
        problems.append(f"{name}: a new hook; add it to HOOKS with its version")
    return problems


def test_no_hook_changed_disappeared_or_went_unrecorded() -> None:
    assert differences(specified(hookspecs), HOOKS) == []


@pytest.mark.parametrize("name", sorted(HOOKS))
def test_each_recorded_hook_keeps_its_signature_and_version(name: str) -> None:
    parameters, since = HOOKS[name]
    hook = getattr(hookspecs, name, None)
    assert hook is not None, f"{name}: the hook disappeared"
    assert tuple(inspect.signature(hook).parameters) == parameters, name
    assert getattr(hook, "since", None) == since, name
    assert HOOK_VERSIONS[name] == since, name


def test_hook_versions_list_every_hook_and_only_hooks() -> None:
    assert dict(HOOK_VERSIONS) == {name: since for name, (_, since) in HOOKS.items()}


def test_the_plugin_manager_offers_every_recorded_hook() -> None:
    manager = Plugins(entry_point_plugins=False).manager
    for name, (parameters, _) in HOOKS.items():
        caller: Any = getattr(manager.hook, name)
        assert caller.spec is not None, name
        assert tuple(caller.spec.argnames) == parameters, name


# --- the check itself -------------------------------------------------------------------


def test_a_changed_signature_fails_naming_the_hook() -> None:
    found = specified(hookspecs)
    found["coupon_attempt"] = (("principal", "coupon"), "0.3")
    assert differences(found, HOOKS) == [
        "coupon_attempt: parameters ('principal', 'code') became ('principal', 'coupon')"
    ]


def test_a_changed_version_fails_naming_the_hook() -> None:
    found = specified(hookspecs)
    found["register_carriers"] = (("register",), "0.5")
    assert differences(found, HOOKS) == ["register_carriers: since 0.4 became 0.5"]


def test_a_missing_hook_fails_naming_it() -> None:
    found = specified(hookspecs)
    del found["on_domain_event"]
    assert differences(found, HOOKS) == ["on_domain_event: the hook disappeared"]


def test_a_new_hook_must_be_recorded() -> None:
    found = {**specified(hookspecs), "register_tax_calculators": (("register",), "0.9")}
    assert differences(found, HOOKS) == [
        "register_tax_calculators: a new hook; add it to HOOKS with its version"
    ]
