"""What staff do to orders (capture, refund, void, cancel, ship, complete), and
what customers do about a payment that requires an action (confirm it, or complete
it on the gateway's page)."""

from __future__ import annotations

from collections.abc import Callable

from commercekit.domain.money import from_minor_units
from commercekit.domain.orders import Order, OrderStatus
from commercekit.domain.payments import PaymentStatus
from commercekit.testing.simulation.invariants import OrderState
from commercekit.testing.simulation.state import Operation, Plan, RunState
from commercekit.testing.simulation.world import CURRENCY


def _on_an_order(
    run: RunState,
    wanted: Callable[[OrderState], bool],
    what: str,
    do: Callable[[OrderState], str],
    *,
    only_wanted: bool = False,
) -> Plan | None:
    """Do something to an order :meth:`RunState.pick` chooses for ``wanted``.

    :param what: what is done, in words; the order's id follows.
    :param do: doing it to the order (as it was when chosen); its outcome, in words.
    :param only_wanted: never pick an order it does not make sense for.
    """
    state = run.pick(wanted)
    if state is None or (only_wanted and not wanted(state)):
        return None

    def act() -> str:
        run.observer.touch(state.order.id)
        return do(state)

    return f"{what} {state.order.id}", act


def confirm(run: RunState) -> Plan | None:
    return _on_an_order(
        run,
        _awaits_action,
        "confirm",
        lambda state: run.store.payments.confirm(state.order.token).status.value,
    )


def action_at_gateway(run: RunState) -> Plan | None:
    def complete_it(state: OrderState) -> str:
        reference = str(state.payment and state.payment.reference)
        event = run.gateway.complete_action_at_gateway(reference)
        run.completed.append(event)
        return event.status.value

    what = "action completed at the gateway for"
    return _on_an_order(run, _awaits_action, what, complete_it, only_wanted=True)


def ask(
    run: RunState, kind: str, order_id: str, units: int | None, key: str | None
) -> Callable[[], str]:
    """Capturing or refunding ``units`` (``None``: all) of the order's payment."""
    payments = run.store.payments
    call = payments.capture if kind == "capture" else payments.refund
    amount = None if units is None else from_minor_units(units, CURRENCY)

    def act() -> str:
        run.observer.touch(order_id)
        return call(order_id, amount, idempotency_key=key).status.value

    return act


def money(run: RunState, kind: str) -> Plan | None:
    """Capture or refund all, part, or more than may be; now and then with an
    idempotency key, to be asked again."""
    state = run.pick(_capturable if kind == "capture" else _refundable)
    if state is None or state.payment is None:
        return None
    order, payment = state.order, state.payment
    left = payment.capturable_units if kind == "capture" else payment.refundable_units
    units = run.amount(left)
    key = None
    if run.random.random() < 0.3:
        key = run.new_key(kind)
        run.operations.append(Operation(kind, order.id, units, key))
    shown = "all" if units is None else units
    described = f"{kind} {order.id} {shown}" + (f" key {key}" if key else "")
    return described, ask(run, kind, order.id, units, key)


def void(run: RunState) -> Plan | None:
    return _on_an_order(
        run,
        _capturable,
        "void",
        lambda state: run.store.payments.void(state.order.id).status.value,
    )


def cancel(run: RunState) -> Plan | None:
    return _on_an_order(
        run,
        _cancellable,
        "cancel",
        lambda state: run.store.orders.cancel(state.order.id, "changed their mind").status.value,
    )


def ship(run: RunState) -> Plan | None:
    def fulfil(state: OrderState) -> str:
        order = state.order
        run.store.inventory.consume(order.id)
        return run.store.orders.get(order.id).status.value

    return _on_an_order(run, lambda s: _open(s.order) and not s.order.shipped, "ship", fulfil)


def complete(run: RunState) -> Plan | None:
    return _on_an_order(
        run,
        lambda s: _open(s.order) and s.order.shipped,
        "complete",
        lambda state: run.store.orders.complete(state.order.id).status.value,
    )


def _open(order: Order) -> bool:
    return order.status is OrderStatus.OPEN


def _awaits_action(state: OrderState) -> bool:
    payment = state.payment
    return payment is not None and payment.status is PaymentStatus.REQUIRES_ACTION


def _capturable(state: OrderState) -> bool:
    payment = state.payment
    return _open(state.order) and bool(payment and payment.capturable_units)


def _refundable(state: OrderState) -> bool:
    return bool(state.payment and state.payment.refundable_units)


def _cancellable(state: OrderState) -> bool:
    order = state.order
    if order.status is OrderStatus.PENDING_PAYMENT:
        return True
    return _open(order) and not order.shipped and not order.fulfilled
