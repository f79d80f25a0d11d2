"""Conformance suites: the rules a port promises, as pytest classes a plugin author
turns on for their own adapter in a few lines.

- :class:`~commercekit.testing.conformance.gateway.GatewayConformance`: a payment
  gateway (:class:`~commercekit.ports.payments.PaymentGateway`).
- :class:`~commercekit.testing.conformance.carrier.CarrierConformance`: a parcel
  carrier (:class:`~commercekit.ports.carriers.Carrier`).
- :class:`~commercekit.testing.conformance.notifier.NotifierConformance`: a notifier
  (:class:`~commercekit.ports.notifications.Notifier`).
- :class:`~commercekit.testing.conformance.storage.StorageConformance`: a storage
  backend (:class:`~commercekit.ports.storage.Storage`).
- :class:`~commercekit.testing.conformance.search.SearchBackendConformance`: a search
  backend (:class:`~commercekit.ports.search.SearchBackend`).
- :class:`~commercekit.testing.conformance.tax.TaxProviderConformance`: a tax provider
  (:class:`~commercekit.ports.tax.TaxProvider`).
- :class:`~commercekit.testing.conformance.allocation.AllocationConformance`: a stock
  allocation strategy (:data:`~commercekit.domain.inventory.AllocationStrategy`).

Subclass one under a name pytest collects (``TestMyGateway``), override the methods
that build the adapter, and every rule runs as a test of its own. A broken rule fails
with an :class:`AssertionError` reading ``rule broken: <rule>: <detail>``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeVar

from commercekit.domain.errors import CommerceError

__all__ = ["TYPED_ERRORS", "rule", "typed"]

#: The rule every suite checks around every call it makes.
TYPED_ERRORS: Final = "every error it raises is a CommerceError"

_T = TypeVar("_T")


def rule(name: str, condition: bool, detail: str = "") -> None:
    """Check one rule of a port.

    :raises AssertionError: reading ``rule broken: <name>: <detail>`` when
        ``condition`` is false.
    """
    if not condition:
        raise AssertionError(f"rule broken: {name}: {detail}" if detail else f"rule broken: {name}")


def typed(call: Callable[[], _T]) -> _T:
    """What ``call`` returns; a :class:`CommerceError` it raises goes through.

    :raises AssertionError: naming :data:`TYPED_ERRORS`, when ``call`` raises any
        other exception than a CommerceError or a broken rule of its own.
    """
    try:
        return call()
    except CommerceError:
        raise
    except AssertionError as error:
        if str(error).startswith("rule broken: "):
            raise
        raise AssertionError(
            f"rule broken: {TYPED_ERRORS}: raised AssertionError: {error}"
        ) from error
    except Exception as error:
        raise AssertionError(
            f"rule broken: {TYPED_ERRORS}: raised {type(error).__name__}: {error}"
        ) from error
