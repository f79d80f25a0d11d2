"""Experiments on a real store: a cart enrolled is priced as its arm prices, in the
cart and at checkout, keeps its arm whatever becomes of the experiment, and the
results come from the orders the carts became."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import attrs
import pytest

from commercekit import ItemFilter, Money, PercentOffLines, Promotion
from commercekit.domain.errors import AccessDenied, InvalidInput, InvalidTransition, NotFound
from commercekit.domain.marketing.experiments import Arm, Experiment
from commercekit.store import Store
from tests.services.conftest import ADDRESS

ARMS = [
    {"name": "control", "weight": 2},
    {"name": "cheaper", "price_list_id": "eu-b"},
    {"name": "kitchen", "promotion_id": "kitchen-10"},
    {"name": "ship", "free_shipping_over": "20.00"},
]


@pytest.fixture
def test(store: Store) -> Experiment:
    store.catalog.add_price_list("eu-b", "EUR", customer_group="experiment")
    store.catalog.set_price("eu-b", "RETRO-MUG", Money("10.00", "EUR"))
    made = store.experiments.create("Spring prices", "EUR", ARMS)
    return store.experiments.start(made.id)


def visitor_in(test: Experiment, arm: str) -> str:
    """The first visitor the experiment puts in ``arm``."""
    return next(
        f"visitor-{n}"
        for n in range(10_000)
        if (drawn := test.draw(f"visitor-{n}")) is not None and drawn.name == arm
    )


def cart_in(store: Store, test: Experiment, arm: str, mugs: int = 2) -> str:
    cart = store.carts.create("EUR")
    store.carts.add(cart.token, "RETRO-MUG", mugs)
    assignment = store.experiments.enrol(cart.token, visitor_in(test, arm), test.id)
    assert assignment is not None
    assert assignment.arm == arm
    return cart.token


def test_each_arm_prices_the_cart_its_way(store: Store, test: Experiment) -> None:
    control = store.carts.price(cart_in(store, test, "control"))
    cheaper = store.carts.price(cart_in(store, test, "cheaper"))
    kitchen = store.carts.price(cart_in(store, test, "kitchen"))
    assert (control.subtotal_units, control.discount_units) == (2400, 0)
    assert (cheaper.subtotal_units, cheaper.discount_units) == (2000, 0)
    assert (kitchen.subtotal_units, kitchen.discount_units) == (2400, 240)


def ready(store: Store, token: str) -> None:
    store.checkout.set_contact(token, {"email": "zoe@example.com"})
    store.checkout.set_shipping_address(token, ADDRESS)
    store.checkout.choose_shipping(token, {"method_id": "post"})
    store.checkout.set_payment_method(token, {"gateway": "test", "token": "tok_success"})


def test_the_free_shipping_arm_from_its_threshold_at_checkout(
    store: Store, test: Experiment
) -> None:
    above, below = cart_in(store, test, "ship", 2), cart_in(store, test, "ship", 1)
    for token in (above, below):
        ready(store, token)
    assert store.checkout.summary(above).breakdown.shipping_discount_units == 490
    assert store.checkout.summary(below).breakdown.shipping_discount_units == 0
    order = store.checkout.place_order(above, idempotency_key="free-shipping")
    assert order.totals.shipping_discount_units == 490


def test_a_cart_keeps_its_arm_and_its_price_to_the_order(store: Store, test: Experiment) -> None:
    token = cart_in(store, test, "cheaper")
    ready(store, token)
    shown = store.checkout.summary(token).breakdown.grand_total_units
    visitor = visitor_in(test, "cheaper")
    store.experiments.reweight(test.id, {"control": 10_000, "cheaper": 1})
    assert store.experiments.arm_for(test.id, visitor) == "control"
    # Enrolled again, the cart keeps the assignment it has.
    again = store.experiments.enrol(token, visitor, test.id)
    assert again is not None
    assert again.arm == "cheaper"
    store.experiments.stop(test.id)
    assert store.experiments.arm_for(test.id, visitor) is None
    order = store.checkout.place_order(token, idempotency_key="sticky")
    assert order.totals.grand_total_units == shown
    assert order.totals.subtotal_units == 2000


def test_a_cart_is_enrolled_only_while_the_experiment_runs(store: Store) -> None:
    draft = store.experiments.create("Later", "EUR", [{"name": "a"}, {"name": "b"}])
    cart = store.carts.create("EUR")
    assert store.experiments.enrol(cart.token, "visitor-1", draft.id) is None
    assert store.experiments.assignment(cart.token) is None
    other = store.experiments.create("Yen", "JPY", [*ARMS[:1], {"name": "b"}])
    store.experiments.start(other.id)
    assert store.experiments.enrol(cart.token, "visitor-1", other.id) is None


def test_results_come_from_the_orders_the_carts_became(store: Store, test: Experiment) -> None:
    ordered = []
    for n, arm in enumerate(["control", "control", "cheaper"]):
        token = cart_in(store, test, arm, mugs=1 + n)
        ready(store, token)
        store.checkout.summary(token)
        ordered.append(store.checkout.place_order(token, idempotency_key=f"results-{n}"))
    cart_in(store, test, "control")  # a visitor who never ordered
    found = store.experiments.results(test.id)
    control, cheaper = found.arm("control"), found.arm("cheaper")
    # The first two control carts share a visitor (the first in the arm): one
    # visitor converted with both orders, one did not order.
    assert (control.visitors, control.conversions) == (1, 1)
    paid = ordered[0].totals.grand_total_units + ordered[1].totals.grand_total_units
    assert control.revenue == Money(Decimal(paid) / 100, "EUR")
    assert (cheaper.visitors, cheaper.conversions, cheaper.conversion_rate) == (1, 1, 1.0)
    assert found.arm("kitchen").visitors == 0


def test_results_count_visitors_not_carts(store: Store, test: Experiment) -> None:
    visitors = [f"visitor-{n}" for n in range(200)]
    in_control = [v for v in visitors if (arm := test.draw(v)) and arm.name == "control"][:4]
    for n, visitor in enumerate(in_control):
        token = store.carts.create("EUR").token
        store.carts.add(token, "RETRO-MUG", 1)
        store.experiments.enrol(token, visitor, test.id)
        if n == 0:
            ready(store, token)
            store.checkout.summary(token)
            order = store.checkout.place_order(token, idempotency_key="one-of-four")
    control = store.experiments.results(test.id).arm("control")
    assert (control.visitors, control.conversions, control.conversion_rate) == (4, 1, 0.25)
    assert control.revenue_per_visitor == Money(
        Decimal(order.totals.grand_total_units) / 400, "EUR"
    ).round(2)


@pytest.mark.parametrize(
    ("arms", "error", "field"),
    [
        ([{"name": "a"}], InvalidInput, "arms"),
        ([{"name": "a"}, {"name": "b", "weight": 0}], InvalidInput, "arms.weight"),
        ([{"name": "a"}, {"name": "b", "price": "1"}], InvalidInput, "arms"),
        ([{"name": "a"}, {"weight": 2}], InvalidInput, "arms.name"),
        ([{"name": "a"}, {"name": "b", "price_list_id": "none"}], NotFound, "arms.price_list_id"),
        ([{"name": "a"}, {"name": "b", "promotion_id": "none"}], NotFound, "arms.promotion_id"),
        ("not arms", InvalidInput, "arms"),
    ],
)
def test_bad_arms_are_refused_naming_the_field(
    store: Store, arms: object, error: type[Exception], field: str
) -> None:
    with pytest.raises(error) as caught:
        store.experiments.create("Bad", "EUR", arms)  # type: ignore[arg-type]
    assert caught.value.field == field  # type: ignore[attr-defined]


def test_a_promotion_everyone_gets_cannot_be_an_arm(store: Store) -> None:
    store.catalog.add_promotion(
        Promotion(id="all-5", name="All", target=ItemFilter(), benefit=PercentOffLines(5))
    )
    with pytest.raises(InvalidInput) as caught:
        store.experiments.create("Bad", "EUR", [Arm(name="a"), Arm(name="b", promotion_id="all-5")])
    assert caught.value.field == "arms.promotion_id"


@pytest.mark.parametrize(
    "call",
    [
        lambda s, e: s.experiments.start(e),
        lambda s, e: s.experiments.reweight(e, {"control": 1}),
    ],
)
def test_a_stopped_experiment_stays_stopped(
    store: Store, test: Experiment, call: Callable[[Store, str], object]
) -> None:
    store.experiments.stop(test.id)
    with pytest.raises(InvalidTransition):
        call(store, test.id)


def test_an_unknown_experiment_is_not_found(store: Store) -> None:
    with pytest.raises(NotFound) as caught:
        store.experiments.results("experiment_none")
    assert caught.value.field == "experiment_id"


def test_no_shopper_can_work_out_which_visitor_id_gets_an_arm(
    store: Store, test: Experiment
) -> None:
    """The draw mixes in a secret of the experiment's, never shown: the same ids land
    elsewhere in another experiment with the same arms, and a shopper may not ask
    which arm an id would get."""
    with pytest.raises(AccessDenied):
        store.as_shopper().experiments.arm_for(test.id, "v1")
    stored = store.experiments.get(test.id)
    assert len(stored.seed) == 32
    assert "seed" not in repr(stored)
    twin = attrs.evolve(stored, seed="another secret")
    drawn = [stored.draw(f"v{n}") for n in range(200)]
    assert drawn != [twin.draw(f"v{n}") for n in range(200)]
