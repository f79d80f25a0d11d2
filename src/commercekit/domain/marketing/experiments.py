"""Experiments: shoppers split between arms that price differently, and what each
arm brought in.

An :class:`Experiment` has arms with weights; each arm may change the price list
tried first, unlock a promotion, or give free shipping above a threshold (an arm
that changes nothing is the control). A visitor's arm is drawn from a SHA-256 digest
of the experiment's id and the visitor's id: the same visitor gets the same arm in
every process, on every Python, on every visit, and no table of visitors is kept.

A cart enrolled keeps its arm (an :class:`Assignment`, saved under the cart's id)
with the arm's changes copied into it: once a shopper has seen a price, it does not
move under them mid-checkout, whatever happens to the experiment's weights, and
even after it stops.

:func:`results` sums each arm's visitors, conversions and revenue, with a Wilson
score interval for the conversion rate and a normal-approximation interval for the
revenue per visitor.
"""

from __future__ import annotations

import enum
import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import ClassVar, Final

import attrs

from commercekit.domain._validators import aware, aware_or_none, text, whole_number
from commercekit.domain.errors import InvalidInput, InvalidTransition, NotFound
from commercekit.domain.events import DomainEvent
from commercekit.domain.identifiers import check_text
from commercekit.domain.indexed import Index
from commercekit.domain.money import (
    Money,
    currency_precision,
    minor_units,
    normalize_currency,
    quantize,
    to_decimal,
)
from commercekit.domain.pricing import PriceBook, PriceList, PricingEngine
from commercekit.domain.promotions import (
    Coupon,
    FreeShipping,
    MinimumSubtotal,
    Promotion,
    PromotionEngine,
    Stacking,
)

__all__ = [
    "MAX_ARMS",
    "Arm",
    "ArmChanges",
    "ArmResult",
    "Assignment",
    "Experiment",
    "ExperimentStatus",
    "Visit",
    "arm_engine",
    "assignment_id",
    "bucket",
    "check_visitor",
    "day_key",
    "free_shipping_promotion",
    "results",
    "wilson_interval",
]

#: More arms than any test of prices needs.
MAX_ARMS: Final = 10
#: The largest weight an arm may have (weights are shares of their sum).
MAX_WEIGHT: Final = 10_000
#: The 97.5th percentile of the standard normal: intervals are 95% ones.
Z_95: Final = Decimal("1.959963984540054")
#: Below any promotion a merchant sets up: an arm's free shipping is weighed last,
#: so it never keeps the store's own promotions out.
_LAST: Final = -(10**9)


def bucket(experiment_id: str, visitor_id: str, buckets: int, *, salt: str = "arm") -> int:
    """Where a visitor falls among ``buckets`` equal buckets, from 0: the first eight
    bytes of SHA-256 over the salt, the experiment's id and the visitor's id, scaled
    (never Python's ``hash``, which differs between processes)."""
    digest = hashlib.sha256(
        "\x1f".join((salt, experiment_id, visitor_id)).encode("utf-8", "surrogatepass")
    ).digest()
    return (int.from_bytes(digest[:8], "big") * buckets) >> 64


class ExperimentStatus(enum.Enum):
    """An experiment's life: arms are drawn only while it runs."""

    DRAFT = "draft"
    RUNNING = "running"
    STOPPED = "stopped"


def _threshold(value: object) -> Decimal | None:
    if value is None:
        return None
    amount = to_decimal(value, field="free_shipping_over")
    if amount <= 0:
        raise InvalidInput("must be more than zero", field="free_shipping_over")
    return amount


_NAME: Final = text(64)
_OPTIONAL_KEY: Final = attrs.validators.optional(text(64))


@attrs.frozen(kw_only=True)
class Arm:
    """One way of pricing, and its share of the visitors."""

    name: str = attrs.field(validator=_NAME)
    weight: int = attrs.field(default=1, validator=whole_number(1, MAX_WEIGHT))
    """Its share: an arm of weight 3 beside one of weight 1 gets three visitors in four."""
    price_list_id: str | None = attrs.field(default=None, validator=_OPTIONAL_KEY)
    """A price list tried before the cart's own lists (for the SKUs it prices)."""
    promotion_id: str | None = attrs.field(default=None, validator=_OPTIONAL_KEY)
    """A promotion behind a coupon that applies without one in this arm."""
    free_shipping_over: Decimal | None = attrs.field(default=None, converter=_threshold)
    """Free shipping from this much of goods (before discounts), in the experiment's
    currency."""

    @property
    def is_control(self) -> bool:
        """Whether the arm changes nothing."""
        return (self.price_list_id, self.promotion_id, self.free_shipping_over) == (None,) * 3


@attrs.frozen(kw_only=True)
class ArmChanges:
    """What an arm changes, as copied onto a cart when it is enrolled."""

    experiment_id: str
    arm: str
    price_list_id: str | None = None
    promotion_id: str | None = None
    free_shipping_over_units: int | None = None

    @property
    def is_control(self) -> bool:
        """Whether nothing changes."""
        return (self.price_list_id, self.promotion_id, self.free_shipping_over_units) == (None,) * 3


def _arms(value: Iterable[Arm]) -> tuple[Arm, ...]:
    arms = tuple(value)
    if not 2 <= len(arms) <= MAX_ARMS:
        raise InvalidInput(f"an experiment has 2 to {MAX_ARMS} arms", field="arms")
    if any(not isinstance(arm, Arm) for arm in arms):
        raise InvalidInput("expected Arms", field="arms")
    names = [arm.name for arm in arms]
    if len(set(names)) != len(names):
        raise InvalidInput("two arms share a name", field="arms.name")
    return arms


@attrs.define(kw_only=True, eq=False)
class Experiment:
    """A test of prices, promotions or shipping thresholds between arms."""

    KIND: ClassVar[str] = "experiment"

    id: str = attrs.field(validator=text(64))
    name: str = attrs.field(validator=text(200))
    currency: str = attrs.field(converter=normalize_currency)
    """Carts in this currency may be enrolled (an arm's prices are in it)."""
    channel: str | None = attrs.field(default=None, validator=_OPTIONAL_KEY)
    """Only carts of this sales channel, if given."""
    arms: tuple[Arm, ...] = attrs.field(converter=_arms)
    traffic_percent: int = attrs.field(default=100, validator=whole_number(1, 100))
    seed: str = attrs.field(default="", validator=text(128, blank=True), repr=False)
    """A secret the store draws when it creates the experiment and never shows: mixed
    into every draw, so that no one outside can work out which visitor id lands in
    which arm (and pick the one with the lower price)."""
    """The share of visitors enrolled; the others keep the store's own prices."""
    status: ExperimentStatus = ExperimentStatus.DRAFT
    created_at: datetime = attrs.field(validator=aware)
    started_at: datetime | None = attrs.field(default=None, validator=aware_or_none)
    stopped_at: datetime | None = attrs.field(default=None, validator=aware_or_none)
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    def __attrs_post_init__(self) -> None:
        for arm in self.arms:
            if arm.free_shipping_over is not None:
                minor_units(
                    Money(arm.free_shipping_over, self.currency), field="free_shipping_over"
                )

    def index(self) -> Index:
        return Index(at=self.created_at, state=self.status.value)

    def arm(self, name: str) -> Arm:
        """The arm called ``name``.

        :raises NotFound: naming ``arm``.
        """
        for arm in self.arms:
            if arm.name == name:
                return arm
        raise NotFound("arm", name, field="arm")

    def start(self, *, at: datetime) -> None:
        """Begin drawing arms for visitors.

        :raises InvalidTransition: unless it is a draft.
        """
        if self.status is not ExperimentStatus.DRAFT:
            raise InvalidTransition("experiment", self.status.value, "start")
        self.status, self.started_at = ExperimentStatus.RUNNING, at
        self.version += 1

    def stop(self, *, at: datetime) -> None:
        """Draw no more arms; carts enrolled keep theirs.

        :raises InvalidTransition: for one stopped already.
        """
        if self.status is ExperimentStatus.STOPPED:
            raise InvalidTransition("experiment", self.status.value, "stop")
        self.status, self.stopped_at = ExperimentStatus.STOPPED, at
        self.version += 1

    def reweight(self, weights: Mapping[str, int]) -> None:
        """Give arms new weights (those not named keep theirs): visitors drawn from
        now on follow them; carts enrolled keep their arms.

        :raises InvalidTransition: for a stopped experiment.
        :raises InvalidInput: naming ``weights``, for an arm it does not have or a
            weight that is not a whole number from 1 to 10,000.
        """
        if self.status is ExperimentStatus.STOPPED:
            raise InvalidTransition("experiment", self.status.value, "reweight")
        if not isinstance(weights, Mapping) or not weights:
            raise InvalidInput("expected a mapping of arm names to weights", field="weights")
        known = {arm.name for arm in self.arms}
        for name, weight in weights.items():
            if name not in known:
                raise InvalidInput("names an arm the experiment does not have", field="weights")
            if isinstance(weight, bool) or not isinstance(weight, int):
                raise InvalidInput("each weight must be a whole number", field="weights")
            if not 1 <= weight <= MAX_WEIGHT:
                raise InvalidInput(f"each weight must be from 1 to {MAX_WEIGHT:,}", field="weights")
        self.arms = tuple(
            attrs.evolve(arm, weight=weights.get(arm.name, arm.weight)) for arm in self.arms
        )
        self.version += 1

    def enrols(self, visitor_id: str) -> bool:
        """Whether the visitor is among the :attr:`traffic_percent` enrolled (drawn
        apart from the arm, so a change of traffic moves no one between arms)."""
        return bucket(self.id, visitor_id, 100, salt=f"traffic{self.seed}") < self.traffic_percent

    def draw(self, visitor_id: str) -> Arm | None:
        """The visitor's arm by the weights now; ``None`` when the visitor is not among
        those enrolled. Pure: the same visitor and weights always give the same arm."""
        if not self.enrols(visitor_id):
            return None
        total = sum(arm.weight for arm in self.arms)
        point = bucket(self.id, visitor_id, total, salt=f"arm{self.seed}")
        for arm in self.arms:
            if point < arm.weight:
                return arm
            point -= arm.weight
        raise AssertionError("unreachable: the point is below the total")

    def serves(self, currency: str, channel: str | None) -> bool:
        """Whether a cart in ``currency`` and ``channel`` may be enrolled."""
        return currency == self.currency and (self.channel is None or channel == self.channel)

    def changes(self, arm: Arm) -> ArmChanges:
        """What ``arm`` changes, to be copied onto a cart."""
        threshold = arm.free_shipping_over
        return ArmChanges(
            experiment_id=self.id,
            arm=arm.name,
            price_list_id=arm.price_list_id,
            promotion_id=arm.promotion_id,
            free_shipping_over_units=None
            if threshold is None
            else minor_units(Money(threshold, self.currency), field="free_shipping_over"),
        )


def assignment_id(cart_id: str) -> str:
    """The id of a cart's assignment (records of every kind share ids, and a cart's
    own id is taken by its checkout's tenders)."""
    return f"experiment:{cart_id}"


@attrs.define(kw_only=True, eq=False)
class Assignment:
    """A cart's place in an experiment, saved when it was enrolled."""

    KIND: ClassVar[str] = "experiment_assignment"

    id: str
    cart_id: str
    experiment_id: str
    visitor_id: str
    currency: str
    changes: ArmChanges | None
    """The arm's changes as they were at enrolment; ``None``: the visitor was not
    among those enrolled, and the cart keeps the store's own prices."""
    assigned_at: datetime = attrs.field(validator=aware)
    version: int = 0
    events: list[DomainEvent] = attrs.field(factory=list, repr=False)

    @classmethod
    def enrol(
        cls, experiment: Experiment, *, cart_id: str, visitor_id: str, at: datetime
    ) -> Assignment:
        """The cart's assignment by the visitor's draw now.

        :raises InvalidTransition: unless the experiment runs.
        """
        if experiment.status is not ExperimentStatus.RUNNING:
            raise InvalidTransition("experiment", experiment.status.value, "enrol")
        arm = experiment.draw(visitor_id)
        return cls(
            id=assignment_id(cart_id),
            cart_id=cart_id,
            experiment_id=experiment.id,
            visitor_id=visitor_id,
            currency=experiment.currency,
            changes=None if arm is None else experiment.changes(arm),
            assigned_at=at,
        )

    @property
    def arm(self) -> str | None:
        """The arm's name; ``None`` outside the experiment."""
        return None if self.changes is None else self.changes.arm

    def index(self) -> Index:
        return Index(
            at=self.assigned_at,
            ref=day_key(self.experiment_id, self.assigned_at.astimezone(UTC).date()),
            owner=self.visitor_id,
            state=self.arm or "",
        )


def day_key(experiment_id: str, day: date) -> str:
    """How an experiment's assignments of one day (UTC) are found together: results
    read them a day at a time."""
    return f"{experiment_id}/{day.isoformat()}"


# --- pricing a cart in an arm -----------------------------------------------------------


class _Preferring(PriceBook):
    """A price book that tries one list first, whatever it is for, then the book's
    own chain."""

    def __init__(self, book: PriceBook, first: PriceList) -> None:
        super().__init__()
        self._book = book
        self._first = first

    def chain(
        self,
        currency: str,
        channel: str | None,
        customer_groups: Iterable[str] | str | None = (),
    ) -> list[PriceList]:
        rest = self._book.chain(currency, channel, customer_groups)
        if self._first.currency != currency:
            return rest
        return [self._first, *(found for found in rest if found.id != self._first.id)]


def free_shipping_promotion(changes: ArmChanges, currency: str) -> Promotion | None:
    """An arm's free shipping as a promotion: combinable, weighed after every other,
    for goods from the threshold on (before discounts)."""
    units = changes.free_shipping_over_units
    if units is None:
        return None
    amount = Money(Decimal(units).scaleb(-currency_precision(currency)), currency)
    return Promotion(
        id=f"experiment:{changes.experiment_id}:{changes.arm}",
        name="Free shipping",
        benefit=FreeShipping(),
        # attrs reads the field's ``tuple`` converter as taking an unbound Iterable.
        conditions=(MinimumSubtotal(amount),),  # type: ignore[arg-type]
        priority=_LAST,
        stacking=Stacking.COMBINABLE,
    )


def arm_engine(
    engine: PricingEngine,
    changes: ArmChanges,
    *,
    currency: str,
    price_list: PriceList | None = None,
    promotions: Sequence[Promotion] | None = None,
    coupons: Sequence[Coupon] = (),
) -> PricingEngine:
    """``engine`` as the arm prices: ``price_list`` (the arm's, holding the cart's
    SKUs) tried first; when the arm touches promotions, an engine over
    ``promotions`` (the store's, with ``coupons``, those of the cart's codes) in which
    the arm's promotion applies without a coupon and its free shipping is one more.
    The engine handed in is left as it was."""
    prices = engine.prices if price_list is None else _Preferring(engine.prices, price_list)
    offers = engine.promotions
    if promotions is not None:
        chosen: list[Promotion] = [
            attrs.evolve(found, requires_coupon=False)
            if found.id == changes.promotion_id
            else found
            for found in promotions
        ]
        shipping = free_shipping_promotion(changes, currency)
        if shipping is not None:
            chosen.append(shipping)
        offers = PromotionEngine(chosen, coupons)
    return PricingEngine(
        catalog=engine.catalog,
        prices=prices,
        taxes=engine.taxes,
        tax_settings=engine.tax_settings,
        promotions=offers,
        rounding=engine.rounding,
    )


# --- results ---------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Visit:
    """One enrolled cart: whose, in which arm, and what it came to."""

    visitor_id: str
    arm: str
    converted: bool
    """Whether it became an order that was paid (and not cancelled)."""
    revenue_units: int = 0
    """What that order came to, in minor units."""


@attrs.frozen(kw_only=True)
class ArmResult:
    """What one arm brought in."""

    arm: str
    visitors: int
    """Distinct visitors with a cart in the arm."""
    conversions: int
    """Visitors of whom a cart became a paid order."""
    conversion_rate: float
    conversion_interval: tuple[float, float] | None
    """95% Wilson score interval; ``None`` without visitors."""
    revenue: Money
    revenue_per_visitor: Money
    revenue_per_visitor_interval: tuple[Money, Money] | None
    """95% normal-approximation interval (never below zero); ``None`` with fewer than
    two visitors."""


def wilson_interval(successes: int, trials: int, z: float = float(Z_95)) -> tuple[float, float]:
    """The Wilson score interval of ``successes`` in ``trials``: unlike p +/- z x
    standard error, it stays within 0 and 1 and is not zero-wide at 0 of 20.

    :raises InvalidInput: naming ``trials``, for no trials or fewer than successes.
    """
    if trials < 1 or not 0 <= successes <= trials:
        raise InvalidInput("needs trials, and no more successes than trials", field="trials")
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z / (1 + z2 / trials) * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return max(centre - half, 0.0), min(centre + half, 1.0)


def _money(units: Fraction | Decimal, currency: str) -> Money:
    """Minor units (exact) as money, rounded to the currency's minor unit."""
    places = currency_precision(currency)
    with localcontext() as context:
        context.prec = 40
        exact = (
            Decimal(units.numerator) / Decimal(units.denominator)
            if isinstance(units, Fraction)
            else units
        )
        return Money(quantize(exact.scaleb(-places), currency), currency)


def _mean_interval(values: Sequence[int], currency: str) -> tuple[Money, Money] | None:
    """mean +/- z x s / sqrt(n), s the sample standard deviation, in minor units."""
    n = len(values)
    if n < 2:
        return None
    mean = Fraction(sum(values), n)
    variance = sum((Fraction(v) - mean) ** 2 for v in values) / Fraction(n - 1)
    with localcontext() as context:
        context.prec = 40
        spread = (Decimal(variance.numerator) / Decimal(variance.denominator)).sqrt()
        half = Z_95 * spread / Decimal(n).sqrt()
        centre = Decimal(mean.numerator) / Decimal(mean.denominator)
        low = max(centre - half, Decimal(0))
        high = centre + half
    return _money(low, currency), _money(high, currency)


def results(experiment: Experiment, visits: Iterable[Visit]) -> tuple[ArmResult, ...]:
    """Each arm's figures, in the experiment's order of arms. A visitor with several
    carts in one arm counts once: converted if any of them was, with the revenue of
    all of them."""
    per_arm: dict[str, dict[str, list[int]]] = {arm.name: {} for arm in experiment.arms}
    for visit in visits:
        visitors = per_arm.get(visit.arm)
        if visitors is None:
            continue
        tally = visitors.setdefault(visit.visitor_id, [0, 0])
        if visit.converted:
            tally[0] = 1
            tally[1] += visit.revenue_units
    currency = experiment.currency
    found = []
    for arm in experiment.arms:
        tallies = list(per_arm[arm.name].values())
        n = len(tallies)
        conversions = sum(t[0] for t in tallies)
        revenues = [t[1] for t in tallies]
        total = sum(revenues)
        found.append(
            ArmResult(
                arm=arm.name,
                visitors=n,
                conversions=conversions,
                conversion_rate=conversions / n if n else 0.0,
                conversion_interval=wilson_interval(conversions, n) if n else None,
                revenue=_money(Fraction(total), currency),
                revenue_per_visitor=_money(Fraction(total, n) if n else Fraction(0), currency),
                revenue_per_visitor_interval=_mean_interval(revenues, currency),
            )
        )
    return tuple(found)


def check_visitor(value: object) -> str:
    """A visitor's id as handed in: a non-empty key.

    :raises InvalidInput: naming ``visitor_id``.
    """
    return check_text(value, "visitor_id")
