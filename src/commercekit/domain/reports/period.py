"""The span of time a report covers, and the buckets a time series falls into.

A period runs from ``since`` (included) to ``until`` (excluded), both aware, so that
two periods that meet never count an order twice. Its length is bounded: a report
over a century would read every row a store ever wrote, and a daily series over it
would be tens of thousands of rows long.

Buckets are calendar days, weeks and months in UTC, whatever the offset of the
times handed in: one store's figures must not depend on the time zone of the
machine or of the person asking. Weeks start on Monday (ISO 8601).
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Final

import attrs

from commercekit.domain._validators import aware
from commercekit.domain.errors import InvalidInput

__all__ = ["MAX_PERIOD_DAYS", "Granularity", "Period"]

#: The longest period a report covers: about ten years.
MAX_PERIOD_DAYS: Final = 3_660
_DAY: Final = timedelta(days=1)
_TICK: Final = timedelta(microseconds=1)


@attrs.frozen(kw_only=True)
class Period:
    """From ``since`` (included) to ``until`` (excluded).

    :raises InvalidInput: naming ``since`` or ``until`` for a naive time, and
        ``until`` for one not after ``since`` or more than :data:`MAX_PERIOD_DAYS`
        after it.
    """

    since: datetime = attrs.field(validator=aware)
    until: datetime = attrs.field(validator=aware)

    def __attrs_post_init__(self) -> None:
        if self.until <= self.since:
            raise InvalidInput("must be after since", field="until")
        if self.until - self.since > timedelta(days=MAX_PERIOD_DAYS):
            raise InvalidInput(f"a report covers at most {MAX_PERIOD_DAYS:,} days", field="until")

    def contains(self, at: datetime) -> bool:
        """Whether ``at`` falls in the period."""
        return self.since <= at < self.until

    @property
    def microseconds(self) -> int:
        """The period's length in microseconds (an exact whole number)."""
        return (self.until - self.since) // _TICK

    @property
    def days(self) -> Decimal:
        """The period's length in days, exactly (a day and a half is ``1.5``)."""
        return Decimal(self.microseconds) / Decimal(_DAY // _TICK)

    @property
    def last(self) -> datetime:
        """The last instant in the period."""
        return self.until - _TICK


class Granularity(enum.Enum):
    """How a time series is bucketed: by UTC day, week (from Monday) or month."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"

    def bucket(self, at: datetime) -> date:
        """The first day of the bucket ``at`` falls in (in UTC)."""
        day = at.astimezone(UTC).date()
        if self is Granularity.DAY:
            return day
        if self is Granularity.WEEK:
            return day - timedelta(days=day.weekday())
        return day.replace(day=1)

    def after(self, start: date) -> date:
        """The first day of the bucket after the one starting on ``start``."""
        if self is Granularity.DAY:
            return start + _DAY
        if self is Granularity.WEEK:
            return start + timedelta(days=7)
        return date(start.year + start.month // 12, start.month % 12 + 1, 1)

    def buckets(self, period: Period) -> list[date]:
        """The first days of every bucket the period touches, in order."""
        found: list[date] = []
        start, end = self.bucket(period.since), self.bucket(period.last)
        while start <= end:
            found.append(start)
            start = self.after(start)
        return found
