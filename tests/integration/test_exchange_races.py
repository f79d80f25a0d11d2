"""Exchanges racing each other and refunds on the same return, on a SQLite file and on
PostgreSQL: the returned units pay for one replacement only, they are never both
exchanged and refunded, and a loser leaves no replacement, no hold and no charge."""

from __future__ import annotations

from functools import partial

from commercekit import Money, Variant
from commercekit.domain.orders import OrderStatus
from commercekit.domain.returns import ExchangeStatus
from commercekit.errors import CommerceError, InvalidTransition, RefundRefused
from commercekit.store import Store
from tests.integration.test_races import ROUNDS, at_gateway, race, store
from tests.integration.test_refund_races import delivered

__all__ = ["store"]


def variants(store: Store) -> None:
    """A gold clock at the clock's price, and a grand one at 45.00 (15.00 more)."""
    for sku, price in (("CLOCK-GOLD", "30.00"), ("CLOCK-GRAND", "45.00")):
        store.catalog.put_variant("clock", Variant(sku=sku, options={"finish": sku[6:]}))
        store.catalog.set_price("eu", sku, Money(price, "EUR"))
        store.inventory.receive(sku, "berlin", 1000)


def held(store: Store, sku: str) -> int:
    return sum(item.reserved for item in store.inventory.stock(sku))


def approved(store: Store, key: str) -> tuple[str, str]:
    """A delivered order of two clocks and an approved return of both."""
    order_id = delivered(store, key)
    asked = store.returns.request(order_id, [{"sku": "CLOCK", "quantity": 2}])
    store.returns.approve(asked.id)
    return order_id, asked.id


def test_two_exchanges_of_one_return_at_once_make_one(store: Store) -> None:
    variants(store)
    for n in range(ROUNDS):
        order_id, return_id = approved(store, f"swap-{n}")
        gold, grand = held(store, "CLOCK-GOLD"), held(store, "CLOCK-GRAND")
        results = race(
            partial(store.returns.exchange, return_id, {"CLOCK": "CLOCK-GOLD"}),
            partial(
                store.returns.exchange,
                return_id,
                {"CLOCK": "CLOCK-GRAND"},
                payment_token="tok_success",
            ),
        )
        refused = [r for r in results if isinstance(r, CommerceError)]
        assert len(refused) == 1, results
        assert isinstance(refused[0], InvalidTransition | RefundRefused), refused
        (made,) = store.returns.exchanges_for(order_id)
        assert made.status is ExchangeStatus.DONE
        assert store.returns.get(return_id).exchange_id == made.id
        assert store.orders.get(made.replacement_id).status is OrderStatus.OPEN
        # The winner's two clocks are held; the loser held nothing and charged nothing.
        won_gold = made.lines[0].replacement_sku == "CLOCK-GOLD"
        assert held(store, "CLOCK-GOLD") == gold + (2 if won_gold else 0)
        assert held(store, "CLOCK-GRAND") == grand + (0 if won_gold else 2)
        # The clocks were paid for once, and carried by one refund.
        ledger = store.refunds.for_order(order_id)
        clocks = store.orders.get(order_id).lines[0]
        assert ledger.refunded_units == ledger.exchanged_units == clocks.total_units
        assert at_gateway(store, order_id)[2] == 0
        if not won_gold:
            # 15.00 more for each of two clocks, charged on the replacement alone.
            assert at_gateway(store, made.replacement_id)[0] == 3000


def test_an_exchange_and_a_refund_of_one_return_at_once_never_both(store: Store) -> None:
    variants(store)
    outcomes = set()
    for n in range(ROUNDS):
        order_id, return_id = approved(store, f"either-{n}")
        exchanged, refunded = race(
            partial(store.returns.exchange, return_id, {"CLOCK": "CLOCK-GOLD"}),
            partial(store.returns.refund, return_id),
        )
        assert isinstance(exchanged, CommerceError) != isinstance(refunded, CommerceError)
        ledger = store.refunds.for_order(order_id)
        clocks = store.orders.get(order_id).lines[0]
        assert ledger.returned() == {"CLOCK": 2}
        assert ledger.refunded_units == clocks.total_units
        made = store.returns.exchanges_for(order_id)
        if isinstance(refunded, CommerceError):
            assert len(made) == 1
            assert at_gateway(store, order_id)[2] == 0
            outcomes.add("exchanged")
        else:
            assert made == []
            assert at_gateway(store, order_id)[2] == clocks.total_units
            outcomes.add("refunded")
    assert outcomes
