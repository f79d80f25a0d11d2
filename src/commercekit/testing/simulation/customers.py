"""What customers do: fill carts, check out (again, after a decline), and retry what
they asked with an idempotency key."""

from __future__ import annotations

from typing import Final

from commercekit.domain.orders import OrderStatus
from commercekit.testing.simulation.staff import ask
from commercekit.testing.simulation.state import Cart, Plan, RunState
from commercekit.testing.simulation.world import ADDRESS, CATALOGUE, CURRENCY, CUSTOMERS, GATEWAY

#: The statuses of an order that is not cancelled.
_LIVE: Final = frozenset(set(OrderStatus) - {OrderStatus.CANCELLED})


def cart(run: RunState) -> Plan:
    """A customer fills a new cart with one or two SKUs."""
    customer = run.random.choice(CUSTOMERS)
    lines = run.random.sample(list(CATALOGUE), run.random.randint(1, 2))
    quantities = {sku: run.random.randint(1, 3) for sku in lines}
    payment_token = run.payment_token()

    def act() -> str:
        store = run.store
        created = store.carts.create(CURRENCY, customer_id=customer)
        run.carts.append(Cart(created.token, created.id, customer, payment_token))
        for sku, quantity in quantities.items():
            store.carts.add(created.token, sku, quantity)
        return created.id

    wanted = " ".join(f"{sku}x{quantity}" for sku, quantity in quantities.items())
    return f"cart {customer} {wanted} paying {payment_token}", act


def checkout(run: RunState) -> Plan | None:
    """Check a cart out: mostly one never checked out, now and then one again
    (after a decline, with another card; or a second order for one cart)."""
    waiting = [cart for cart in run.carts if not cart.key]
    if not waiting or run.random.random() < 0.2:
        waiting = _carts_again(run)
    if not waiting:
        return None
    chosen = run.random.choice(waiting)
    key = run.new_key("checkout")
    if chosen.key:
        chosen.payment_token = run.payment_token()

    def act() -> str:
        checkout, token = run.store.checkout, chosen.token
        checkout.set_contact(token, {"email": f"{chosen.customer}@example.com"})
        checkout.set_shipping_address(token, ADDRESS)
        checkout.choose_shipping(token, {"method_id": "post"})
        checkout.set_payment_method(token, {"gateway": GATEWAY, "token": chosen.payment_token})
        checkout.summary(token)
        chosen.key = key
        return run.place(chosen)

    return f"checkout {chosen.cart_id} key {key} paying {chosen.payment_token}", act


def _carts_again(run: RunState) -> list[Cart]:
    """Carts checked out before whose orders were all cancelled (a decline, say),
    and now and then any (for a second order of one cart, to be refused)."""
    if run.random.random() < 0.2 or run.snapshot is None:
        return [cart for cart in run.carts if cart.key]
    live = {s.order.cart_id for s in run.snapshot.orders if s.order.status in _LIVE}
    ended = {s.order.cart_id for s in run.snapshot.orders} - live
    return [cart for cart in run.carts if cart.cart_id in ended]


def retry(run: RunState) -> Plan | None:
    """Ask again with an idempotency key already used: a capture or refund, or a
    checkout."""
    placed = [cart for cart in run.carts if cart.key]
    if run.operations and (not placed or run.random.random() < 0.4):
        operation = run.random.choice(run.operations)
        units = "all" if operation.units is None else operation.units
        act = ask(run, operation.kind, operation.order_id, operation.units, operation.key)
        return f"retry {operation.kind} {operation.order_id} {units} key {operation.key}", act
    if not placed:
        return None
    chosen = run.random.choice(placed)
    return f"retry checkout {chosen.cart_id} key {chosen.key}", lambda: run.place(chosen)
