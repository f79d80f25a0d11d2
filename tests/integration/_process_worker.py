"""One shopper process for ``test_processes.py``: it opens a store of its own on the
shared database, fills its carts, waits for the start signal, then places one order
after another for the contested SKU, shipping every other order it gets.

It reports through a queue, in plain data only (strings, numbers, lists), so that
nothing of the parent's pickling or the library's exceptions can get in the way:

- ``("ready", worker)`` once its carts are ready;
- ``("done", worker, report)`` at the end, ``report`` as :func:`run` describes;
- ``("failed", worker, traceback)`` for anything unexpected.
"""

from __future__ import annotations

import traceback
from typing import Any

CONTESTED = "CLOCK"
UNCONTESTED = "MUG"
LOCATION = "berlin"
CONFIG: dict[str, Any] = {
    "entry_point_plugins": False,
    "capture": "immediate",
    "gateways": {"test": {"plugin": "test", "secrets": {"webhook_secret": "whsec_processes"}}},
    "shipping_methods": [{"id": "post", "name": "Post", "prices": {"EUR": "4.90"}}],
}
ADDRESS = {
    "name": "Zoë Ünal",
    "line1": "Weinbergsweg 12",
    "city": "Berlin",
    "postal_code": "10119",
    "country": "DE",
}


def customer(worker: int) -> str:
    """The customer a worker's carts belong to, so its orders can be listed."""
    return f"process-{worker}"


def run(url: str, worker: int, orders: int, go: Any, queue: Any, wait_seconds: float) -> None:
    """Place ``orders`` orders, each for one unit of :data:`CONTESTED` and one of
    :data:`UNCONTESTED`, once ``go`` is set.

    The report holds ``placed`` (``[order_id, status, payment_status, shipped]`` for
    each order placed), ``refused`` (``[error class, code, sku]`` for each refusal),
    ``shipped`` (how many of its orders it shipped) and ``lowest`` (the lowest on hand
    and available of the contested SKU it saw after each attempt).
    """
    try:
        queue.put(("done", worker, _shop(url, worker, orders, go, queue, wait_seconds)))
    except BaseException:
        queue.put(("failed", worker, traceback.format_exc()))
        raise


def _shop(
    url: str, worker: int, orders: int, go: Any, queue: Any, wait_seconds: float
) -> dict[str, Any]:
    from commercekit.errors import CommerceError, InsufficientStock
    from commercekit.store import Store

    placed: list[list[Any]] = []
    refused: list[list[Any]] = []
    shipped = 0
    seen: list[tuple[int, int]] = []
    with Store.open(url, config=CONFIG) as store:
        tokens = [_ready_cart(store, worker) for _ in range(orders)]
        queue.put(("ready", worker))
        if not go.wait(wait_seconds):
            raise TimeoutError(f"worker {worker}: no start signal within {wait_seconds} s")
        for n, token in enumerate(tokens):
            try:
                order = store.checkout.place_order(token, idempotency_key=f"p{worker}-{n}")
            except InsufficientStock as error:
                refused.append([type(error).__name__, error.code, error.sku])
            except CommerceError as error:
                refused.append([type(error).__name__, error.code, None])
            else:
                ships = len(placed) % 2 == 0 and order.status.value == "open"
                if ships:
                    store.inventory.consume(order.id)
                    shipped += 1
                placed.append([order.id, order.status.value, order.payment_status.value, ships])
            items = store.inventory.stock(CONTESTED)
            seen.append(
                (sum(item.on_hand for item in items), sum(item.available for item in items))
            )
    lowest = [min(on_hand for on_hand, _ in seen), min(available for _, available in seen)]
    return {"placed": placed, "refused": refused, "shipped": shipped, "lowest": lowest}


def _ready_cart(store: Any, worker: int) -> str:
    cart = store.carts.create("EUR", customer_id=customer(worker))
    store.carts.add(cart.token, CONTESTED, 1)
    store.carts.add(cart.token, UNCONTESTED, 1)
    store.checkout.set_contact(cart.token, {"email": f"{customer(worker)}@example.com"})
    store.checkout.set_shipping_address(cart.token, ADDRESS)
    store.checkout.choose_shipping(cart.token, {"method_id": "post"})
    store.checkout.set_payment_method(cart.token, {"gateway": "test", "token": "tok_success"})
    store.checkout.summary(cart.token)
    return str(cart.token)
