"""Experiments: set one up, run it, enrol carts, read what each arm brought in.

A storefront enrols a cart with the visitor's id (``enrol``) as soon as it has one;
from then on the cart is priced as its arm prices, on the cart page, in the checkout
and in the order (see :mod:`commercekit.services.experiment_pricing`), until the
order is placed, whatever becomes of the experiment. Results are worked out from
what is stored: the assignments, a day at a time, and the order each cart became.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import attrs

from commercekit.domain.errors import InvalidInput, NotFound, StateError
from commercekit.domain.identifiers import check_key, check_text, check_whole_number
from commercekit.domain.marketing.experiments import (
    Arm,
    ArmResult,
    Assignment,
    Experiment,
    ExperimentStatus,
    Visit,
    assignment_id,
    check_visitor,
    day_key,
    results,
)
from commercekit.domain.money import normalize_currency
from commercekit.domain.orders import Order, OrderStatus
from commercekit.ports.storage import UnitOfWork
from commercekit.services.base import Service, find_cart

__all__ = ["ExperimentResults", "ExperimentService"]

_ARM_FIELDS: Final = frozenset(field.name for field in attrs.fields(Arm))
#: The most carts one day of one experiment may enrol and still be read back whole.
MOST_A_DAY: Final = 1_000_000
#: Orders that count as a conversion: paid, and not being (or been) cancelled.
_CONVERTED: Final = frozenset({OrderStatus.OPEN, OrderStatus.COMPLETED})


@attrs.frozen(kw_only=True)
class ExperimentResults:
    """Each arm's figures, as stored data gives them now."""

    experiment_id: str
    status: ExperimentStatus
    arms: tuple[ArmResult, ...]
    computed_at: datetime

    def arm(self, name: str) -> ArmResult:
        """The figures of the arm called ``name``.

        :raises NotFound: naming ``arm``.
        """
        for found in self.arms:
            if found.arm == name:
                return found
        raise NotFound("arm", name, field="arm")


def _arm(value: object) -> Arm:
    """An arm handed in: an :class:`Arm`, or a mapping of its fields.

    :raises InvalidInput: naming ``arms.<field>``.
    """
    if isinstance(value, Arm):
        return value
    if not isinstance(value, Mapping):
        raise InvalidInput("each arm is an Arm or a mapping of its fields", field="arms")
    unknown = [key for key in value if key not in _ARM_FIELDS]
    if unknown:
        raise InvalidInput(
            "an arm has name, weight, price_list_id, promotion_id and free_shipping_over",
            field="arms",
        )
    if "name" not in value:
        raise InvalidInput("each arm needs a name", field="arms.name")
    try:
        return Arm(**value)
    except InvalidInput as refused:
        raise InvalidInput(refused.message, field=f"arms.{refused.field}") from None


def _arms(value: object) -> list[Arm]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
        raise InvalidInput("expected a list of arms", field="arms")
    if len(value) > 100:
        raise InvalidInput("too many arms", field="arms")
    return [_arm(each) for each in value]


class ExperimentService(Service):
    """Price, promotion and free-shipping experiments."""

    # --- setting up -------------------------------------------------------------------

    def create(
        self,
        name: str,
        currency: str,
        arms: Sequence[Arm | Mapping[str, Any]],
        *,
        channel: str | None = None,
        traffic_percent: int = 100,
    ) -> Experiment:
        """A new experiment, a draft until :meth:`start`.

        :param arms: two to ten, each an :class:`Arm` or a mapping of its fields
            (``{"name": "free-over-50", "weight": 1, "free_shipping_over": "50.00"}``);
            an arm's price list must be in ``currency``, and its promotion one behind a
            coupon (any other promotion applies to every arm already).
        :param traffic_percent: the share of visitors enrolled (1 to 100).
        :raises InvalidInput: naming the field (``arms.weight``, ``currency``...).
        :raises NotFound: naming ``channel``, ``arms.price_list_id`` or
            ``arms.promotion_id``, for one the store does not have.
        """
        check_text(name, "name", max_length=200)
        currency = normalize_currency(currency)
        checked = _arms(arms)
        if channel is not None:
            self._rt.settings.channel(channel)
        traffic_percent = check_whole_number(traffic_percent, "traffic_percent")
        if not 1 <= traffic_percent <= 100:
            raise InvalidInput("must be a whole number from 1 to 100", field="traffic_percent")
        experiment = Experiment(
            id=self._rt.ids.new_id("experiment"),
            name=name,
            currency=currency,
            channel=channel,
            arms=checked,
            traffic_percent=traffic_percent,
            seed=secrets.token_hex(16),
            created_at=self.now,
        )

        def work(uow: UnitOfWork) -> Experiment:
            _check_changes(uow, experiment)
            uow.records(Experiment).add(experiment)
            return experiment

        return self._run(work)

    def get(self, experiment_id: str) -> Experiment:
        """An experiment.

        :raises NotFound: naming ``experiment_id``.
        """
        check_key(experiment_id, "experiment_id")
        return self._read(lambda uow: _experiment(uow, experiment_id))

    def start(self, experiment_id: str) -> Experiment:
        """Begin enrolling carts.

        :raises InvalidTransition: unless it is a draft.
        """
        return self._change(experiment_id, lambda e: e.start(at=self.now))

    def stop(self, experiment_id: str) -> Experiment:
        """Enrol no more carts; those enrolled keep their arms' prices.

        :raises InvalidTransition: for one stopped already.
        """
        return self._change(experiment_id, lambda e: e.stop(at=self.now))

    def reweight(self, experiment_id: str, weights: Mapping[str, int]) -> Experiment:
        """New weights for arms (by name): carts enrolled from now on follow them,
        those enrolled keep their arms.

        :raises InvalidInput: naming ``weights``.
        :raises InvalidTransition: for a stopped experiment.
        """
        if not isinstance(weights, Mapping):
            raise InvalidInput("expected a mapping of arm names to weights", field="weights")
        checked = {name: check_whole_number(n, "weights") for name, n in weights.items()}
        return self._change(experiment_id, lambda e: e.reweight(checked))

    def _change(self, experiment_id: str, change: Any) -> Experiment:
        check_key(experiment_id, "experiment_id")

        def work(uow: UnitOfWork) -> Experiment:
            experiment = _experiment(uow, experiment_id)
            change(experiment)
            uow.records(Experiment).save(experiment)
            return experiment

        return self._run(work)

    # --- visitors and carts -------------------------------------------------------------

    def arm_for(self, experiment_id: str, visitor_id: str) -> str | None:
        """The arm a visitor would be enrolled in now; ``None`` when the experiment does
        not run or the visitor is not among those it enrols. Nothing is written. Staff
        only: a shopper asking for many visitor ids could shop for the cheapest arm
        (a storefront learns a cart's arm from :meth:`enrol`).

        :raises NotFound: naming ``experiment_id``.
        """
        check_key(experiment_id, "experiment_id")
        visitor_id = check_visitor(visitor_id)
        experiment = self._read(lambda uow: _experiment(uow, experiment_id))
        if experiment.status is not ExperimentStatus.RUNNING:
            return None
        arm = experiment.draw(visitor_id)
        return None if arm is None else arm.name

    def enrol(self, token: str, visitor_id: str, experiment_id: str) -> Assignment | None:
        """Put the cart in the visitor's arm of a running experiment, for good: the
        cart keeps it (and its prices) whatever happens to the experiment. A cart
        enrolled before keeps the assignment it has, in this experiment or another.

        :returns: the cart's assignment (its ``changes`` are ``None`` when the visitor
            is not among those the experiment enrols); ``None`` when the experiment does
            not run, or sells in another currency or channel than the cart.
        :raises NotFound: naming ``token`` or ``experiment_id``.
        :raises InvalidInput: naming ``visitor_id``.
        """
        check_key(token, "token")
        visitor_id = check_visitor(visitor_id)
        check_key(experiment_id, "experiment_id")

        def work(uow: UnitOfWork) -> Assignment | None:
            cart = find_cart(uow, token)
            records = uow.records(Assignment)
            held = records.find(assignment_id(cart.id))
            if held is not None:
                return held
            experiment = _experiment(uow, experiment_id)
            if experiment.status is not ExperimentStatus.RUNNING or not experiment.serves(
                cart.currency, cart.channel
            ):
                return None
            made = Assignment.enrol(experiment, cart_id=cart.id, visitor_id=visitor_id, at=self.now)
            records.add(made)
            return made

        return self._run(work)

    def assignment(self, token: str) -> Assignment | None:
        """The cart's assignment, if it was enrolled."""
        check_key(token, "token")

        def work(uow: UnitOfWork) -> Assignment | None:
            cart = find_cart(uow, token)
            return uow.records(Assignment).find(assignment_id(cart.id))

        return self._read(work)

    # --- results ------------------------------------------------------------------------

    def results(self, experiment_id: str) -> ExperimentResults:
        """Per arm: visitors, conversions (a cart of theirs became an order that was
        paid and not cancelled), conversion rate with a 95% Wilson interval, revenue
        (what those orders came to, tax and shipping included) and revenue per visitor
        with a 95% interval. Read a day of enrolments at a time.

        :raises NotFound: naming ``experiment_id``.
        """
        check_key(experiment_id, "experiment_id")
        experiment = self._read(lambda uow: _experiment(uow, experiment_id))
        now = self.now
        visits: list[Visit] = []
        for day in _days(experiment, now):
            visits.extend(self._read(functools.partial(_visits, experiment=experiment, day=day)))
        return ExperimentResults(
            experiment_id=experiment.id,
            status=experiment.status,
            arms=results(experiment, visits),
            computed_at=now,
        )


def _experiment(uow: UnitOfWork, experiment_id: str) -> Experiment:
    found = uow.records(Experiment).find(experiment_id) if experiment_id else None
    if found is None:
        raise NotFound("experiment", experiment_id, field="experiment_id")
    return found


def _check_changes(uow: UnitOfWork, experiment: Experiment) -> None:
    """Each arm's price list is the store's, in the experiment's currency, and its
    promotion the store's, behind a coupon."""
    lists = dict(uow.catalog.price_list_currencies())
    promotions = None
    for arm in experiment.arms:
        if arm.price_list_id is not None:
            currency = lists.get(arm.price_list_id)
            if currency is None:
                raise NotFound("price list", arm.price_list_id, field="arms.price_list_id")
            if currency != experiment.currency:
                raise InvalidInput(
                    f"the price list is in {currency}, the experiment in {experiment.currency}",
                    field="arms.price_list_id",
                )
        if arm.promotion_id is not None:
            if promotions is None:
                promotions = {p.id: p for p in uow.catalog.promotions()}
            promotion = promotions.get(arm.promotion_id)
            if promotion is None:
                raise NotFound("promotion", arm.promotion_id, field="arms.promotion_id")
            if not promotion.requires_coupon:
                raise InvalidInput(
                    "the promotion applies to every arm already: use one behind a coupon",
                    field="arms.promotion_id",
                )


def _days(experiment: Experiment, now: datetime) -> Iterator[datetime]:
    """The days (UTC) the experiment enrolled carts on."""
    if experiment.started_at is None:
        return
    day = experiment.started_at.astimezone(UTC).date()
    last = (experiment.stopped_at or now).astimezone(UTC).date()
    while day <= last:
        yield datetime(day.year, day.month, day.day, tzinfo=UTC)
        day += timedelta(days=1)


def _visits(uow: UnitOfWork, *, experiment: Experiment, day: datetime) -> list[Visit]:
    enrolled = uow.records(Assignment).where(
        ref=day_key(experiment.id, day.date()), limit=MOST_A_DAY + 1
    )
    if len(enrolled) > MOST_A_DAY:
        raise StateError(f"more than {MOST_A_DAY:,} carts enrolled on {day.date()}")
    visits = []
    for assignment in enrolled:
        if assignment.arm is None:
            continue
        order: Order | None = uow.orders.live_for_cart(assignment.cart_id)
        converted = order is not None and order.status in _CONVERTED
        visits.append(
            Visit(
                visitor_id=assignment.visitor_id,
                arm=assignment.arm,
                converted=converted,
                revenue_units=order.totals.grand_total_units if converted and order else 0,
            )
        )
    return visits
