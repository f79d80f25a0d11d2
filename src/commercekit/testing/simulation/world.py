"""The store a simulation drives: its configuration, its catalogue and opening
stock, identifiers drawn in sequence, and the test gateway on the simulation's
clock."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from commercekit.adapters.clock import FixedClock
from commercekit.adapters.payments.testgateway import TestPaymentGateway
from commercekit.domain.catalog import Product, Variant
from commercekit.domain.inventory import StockLocation, StockPolicy, StockRule
from commercekit.domain.money import Money
from commercekit.domain.pricing import TaxRate, TaxZone
from commercekit.hookspecs import GatewayFactory, hookimpl
from commercekit.store import Store
from commercekit.testing.simulation._tally import tally

START: Final = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
CURRENCY: Final = "EUR"
GATEWAY: Final = "test"
CONFIG: Final[Mapping[str, Any]] = {
    "entry_point_plugins": False,
    "gateways": {
        GATEWAY: {"plugin": "simulation", "secrets": {"webhook_secret": "whsec_simulation"}}
    },
    "shipping_methods": [{"id": "post", "name": "Post", "prices": {CURRENCY: "4.90"}}],
    # One process drives the store: a caller waiting on the wall clock for another
    # that holds a gateway call waits for one that crashed, and only wastes time.
    "request_wait_seconds": 0,
}
CUSTOMERS: Final = tuple(f"sim-customer-{n}" for n in range(1, 7))
ADDRESS: Final = {
    "name": "Zoë Ünal",
    "line1": "Weinbergsweg 12",
    "city": "Berlin",
    "postal_code": "10119",
    "country": "DE",
}
#: SKU: (price, stock policy, backorder limit, digital).
CATALOGUE: Final = {
    "SIM-MUG": ("12.00", StockPolicy.DENY, None, False),
    "SIM-CLOCK": ("40.00", StockPolicy.DENY, None, False),
    "SIM-TEE": ("19.90", StockPolicy.BACKORDER, 4, False),
    "SIM-EBOOK": ("5.00", StockPolicy.DENY, None, True),
}
LOCATIONS: Final = ("berlin", "hamburg")
#: What each location holds of each SKU before the first step.
OPENING_STOCK: Final = {
    ("SIM-MUG", "berlin"): 10,
    ("SIM-MUG", "hamburg"): 6,
    ("SIM-CLOCK", "berlin"): 5,
    ("SIM-TEE", "hamburg"): 3,
}
#: Payment tokens and how often customers pay with each (the test gateway's tokens).
PAYMENT_TOKENS: Final = {
    "tok_success": 55,
    "tok_requires_action": 12,
    "tok_flaky": 10,
    "tok_declined": 8,
    "tok_insufficient_funds": 5,
    "tok_gateway_error": 5,
}
#: Longer than every timeout of the store's (pending payment, action, hold).
PAST_EVERY_TIMEOUT: Final = timedelta(hours=1)


class SequentialIds:
    """Identifiers in sequence (``order_000012``) and tokens from a seeded generator:
    the same run draws the same ones."""

    def __init__(self, seed: int) -> None:
        self._count = 0
        self._random = random.Random(f"ids:{seed}")

    def new_id(self, kind: str) -> str:
        """The next id for ``kind``."""
        self._count += 1
        return f"{kind}_{self._count:06d}"

    def new_token(self) -> str:
        """A token no other run of the same seed tells apart (not a secret)."""
        return f"simtok_{self._random.getrandbits(128):032x}"


class _GatewayOnTheClock:
    """The ``simulation`` gateway kind: the test gateway on the simulation's clock."""

    def __init__(self, clock: FixedClock) -> None:
        self._clock = clock

    @hookimpl
    def register_payment_gateways(self, register: Callable[[str, GatewayFactory], None]) -> None:
        def build(name: str, options: Mapping[str, Any]) -> TestPaymentGateway:
            secret = str(options["webhook_secret"])
            return TestPaymentGateway(name, webhook_secret=secret, clock=self._clock.now)

        register("simulation", build)


def simulation_config() -> dict[str, Any]:
    """The configuration of a simulated store."""
    return dict(CONFIG)


def simulation_store(url: str, seed: int = 0, *, plugins: Sequence[object] = ()) -> Store:
    """A store the simulation (or a test) can drive: on a :class:`FixedClock` (its
    ``store.runtime.clock``), with sequential ids and the test gateway (named
    ``test``) on the same clock.

    :param plugins: more plugins, such as an event subscriber.
    """
    clock = FixedClock(START)
    return Store.open(
        url,
        config=simulation_config(),
        clock=clock,
        ids=SequentialIds(seed),
        plugins=[_GatewayOnTheClock(clock), *plugins],
    )


def seed_catalogue(store: Store) -> dict[str, int]:
    """Products, prices, tax, locations, stock rules and opening stock.

    :returns: what was received, per SKU.
    """
    catalog, inventory = store.catalog, store.inventory
    catalog.add_price_list("sim", CURRENCY)
    for sku, (price, policy, limit, digital) in CATALOGUE.items():
        product_id = sku.lower()
        catalog.add_product(
            Product(id=product_id, name=sku.title(), variants=[Variant(sku=sku, digital=digital)])
        )
        catalog.publish(product_id)
        catalog.set_price("sim", sku, Money(price, CURRENCY))
        if policy is not StockPolicy.DENY:
            inventory.set_rule(StockRule(sku=sku, policy=policy, backorder_limit=limit))
    catalog.add_tax_zone(
        TaxZone(id="sim-de", country="DE", rates=[TaxRate(name="VAT", rate="0.19")])
    )
    for priority, location in enumerate(LOCATIONS):
        inventory.add_location(StockLocation(id=location, name=location.title(), priority=priority))
    for (sku, location), quantity in OPENING_STOCK.items():
        inventory.receive(sku, location, quantity, reference="opening stock")
    return tally((sku, quantity) for (sku, _), quantity in OPENING_STOCK.items())
