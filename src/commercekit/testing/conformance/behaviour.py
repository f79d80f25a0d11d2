"""The behaviour log suite: what every :class:`~commercekit.ports.behaviour.BehaviourLog`
promises the store.

Turn it on for a log with a subclass pytest collects::

    class TestMyLog(BehaviourLogConformance):
        def make_log(self) -> BehaviourLog:
            return MyEventStream(url=..., topic=f"ck-tests-{uuid.uuid4().hex}")

:meth:`~BehaviourLogConformance.make_log` must hand back a log with nothing in it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Final

from commercekit.domain.errors import InvalidInput
from commercekit.domain.marketing.behaviour import BehaviourEvent, BehaviourKind, Touch
from commercekit.ports.behaviour import BehaviourLog
from commercekit.testing.conformance import TYPED_ERRORS, rule, typed

__all__ = ["RULES", "BehaviourLogConformance"]

KEPT = "an event comes back as it was recorded"
ORDERED = "events come oldest first, those of one instant in the order recorded"
ONCE = "an event recorded again under its id is kept once"
PERIOD = "a period includes its start and excludes its end"
FUNNEL = "the funnel counts the distinct visitors of each kind in the period"
REFUSED = "what is not a sequence of events is refused with InvalidInput naming events"

#: Every rule the suite checks, as its failures name them.
RULES: Final = (KEPT, ORDERED, ONCE, PERIOD, FUNNEL, REFUSED, TYPED_ERRORS)

START: Final = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
_CAMPAIGN: Final = Touch(
    at=START, source="newsletter", medium="email", campaign="winter-sale", referrer=""
)


def _at(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


def day() -> list[BehaviourEvent]:
    """A day of a small shop: three visitors, one of whom buys."""
    kind = BehaviourKind
    return [
        BehaviourEvent(kind=kind.VISIT, at=_at(0), visitor_id="v1", touch=_CAMPAIGN),
        BehaviourEvent(kind=kind.PRODUCT_VIEWED, at=_at(1), visitor_id="v1", product_id="mug"),
        BehaviourEvent(kind=kind.PRODUCT_VIEWED, at=_at(1), visitor_id="v1", product_id="pot"),
        BehaviourEvent(
            kind=kind.SEARCHED, at=_at(2), visitor_id="v2", query="Crème brûlée", result_count=0
        ),
        BehaviourEvent(kind=kind.PRODUCT_VIEWED, at=_at(3), visitor_id="v2", product_id="mug"),
        BehaviourEvent(
            kind=kind.ADDED_TO_CART,
            at=_at(4),
            visitor_id="v1",
            cart_id="c1",
            sku="MUG-1",
            quantity=2,
        ),
        BehaviourEvent(kind=kind.ADDED_TO_CART, at=_at(5), visitor_id="v2", cart_id="c2"),
        BehaviourEvent(kind=kind.CHECKOUT_STARTED, at=_at(6), visitor_id="v1", cart_id="c1"),
        BehaviourEvent(
            id="order:o1",
            kind=kind.ORDER_PLACED,
            at=_at(7),
            visitor_id="v1",
            customer_id="ada",
            cart_id="c1",
            order_id="o1",
            value_units=2490,
            currency="EUR",
            touch=_CAMPAIGN,
            first_touch=_CAMPAIGN,
        ),
        BehaviourEvent(
            id="order:o2",
            kind=kind.ORDER_PLACED,
            at=_at(8),
            visitor_id="",
            order_id="o2",
            value_units=990,
            currency="EUR",
        ),
        BehaviourEvent(kind=kind.PRODUCT_VIEWED, at=_at(60 * 24), visitor_id="v3"),
    ]


class BehaviourLogConformance:
    """Subclass it and override :meth:`make_log`."""

    def make_log(self) -> BehaviourLog:
        """A log with nothing in it."""
        raise NotImplementedError("override make_log() to return an empty log")

    def _filled(self) -> BehaviourLog:
        log = self.make_log()
        typed(partial(log.record, day()))
        return log

    @staticmethod
    def _read(log: BehaviourLog, since: datetime, until: datetime, **more: object) -> list[object]:
        return list(typed(partial(log.events, since=since, until=until, **more)))  # type: ignore[arg-type]

    def test_events_come_back_as_recorded_oldest_first(self) -> None:
        log = self._filled()
        found = self._read(log, _at(0), _at(60 * 24 + 1))
        rule(KEPT, found == day(), f"read back {len(found)} events, not the {len(day())} recorded")
        rule(ORDERED, [e.at for e in found] == sorted(e.at for e in found), "out of order")  # type: ignore[attr-defined]
        of_v1 = self._read(log, _at(0), _at(60), visitor_id="v1")
        expected = [event for event in day() if event.visitor_id == "v1"]
        rule(KEPT, of_v1 == expected, f"one visitor's events: {len(of_v1)} of {len(expected)}")
        limited = self._read(log, _at(0), _at(60), limit=2)
        rule(ORDERED, limited == day()[:2], "the first two by limit")

    def test_an_event_recorded_again_under_its_id_is_kept_once(self) -> None:
        log = self._filled()
        again = [event for event in day() if event.id]
        typed(partial(log.record, again))
        typed(partial(log.record, again[:1]))
        orders = [
            event
            for event in self._read(log, _at(0), _at(60))
            if event.kind is BehaviourKind.ORDER_PLACED  # type: ignore[attr-defined]
        ]
        rule(ONCE, len(orders) == 2, f"{len(orders)} orders placed after recording them again")
        plain = day()[1]
        typed(partial(log.record, [plain]))
        views = self._read(log, _at(1), _at(2), visitor_id="v1")
        rule(ONCE, len(views) == 3, "an event without an id recorded again was not kept again")

    def test_a_period_includes_its_start_and_excludes_its_end(self) -> None:
        log = self._filled()
        found = self._read(log, _at(1), _at(4))
        kinds = [event.kind for event in found]  # type: ignore[attr-defined]
        rule(PERIOD, len(found) == 4, f"from minute 1 to 4: {kinds}")
        rule(PERIOD, self._read(log, _at(4), _at(4)) == [], "an empty period found events")

    def test_the_funnel_counts_distinct_visitors(self) -> None:
        log = self._filled()
        counted = typed(partial(log.funnel, since=_at(0), until=_at(60)))
        expected = {
            BehaviourKind.VISIT: 1,
            BehaviourKind.PRODUCT_VIEWED: 2,
            BehaviourKind.SEARCHED: 1,
            BehaviourKind.ADDED_TO_CART: 2,
            BehaviourKind.CHECKOUT_STARTED: 1,
            BehaviourKind.ORDER_PLACED: 1,
        }
        rule(FUNNEL, dict(counted) == expected, f"{dict(counted)}")
        later = typed(partial(log.funnel, since=_at(60), until=_at(60 * 25)))
        rule(FUNNEL, later.get(BehaviourKind.PRODUCT_VIEWED) == 1, f"the next day: {later}")

    def test_what_is_not_a_sequence_of_events_is_refused(self) -> None:
        log = self.make_log()
        bad: Sequence[Callable[[], object]] = (
            partial(log.record, "visit"),  # type: ignore[arg-type]
            partial(log.record, [day()[0], {"kind": "visit"}]),  # type: ignore[list-item]
            partial(log.record, None),  # type: ignore[arg-type]
        )
        for call in bad:
            try:
                typed(call)
            except InvalidInput as refused:
                rule(REFUSED, refused.field == "events", f"named {refused.field!r}")
            else:
                rule(REFUSED, False, "it was accepted")
        rule(REFUSED, self._read(log, _at(0), _at(60)) == [], "a refused batch left events")
