"""The report domain's own rules: periods, UTC buckets, and how a table is shown."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commercekit.domain.errors import InvalidInput
from commercekit.domain.reports import (
    Column,
    ColumnKind,
    Granularity,
    Period,
    ReportTable,
)
from commercekit.domain.reports.tables import average, rate

BERLIN_WINTER = timezone(timedelta(hours=1))


def test_buckets_are_utc_days_weeks_from_monday_and_months() -> None:
    # Sunday 23:30 in Berlin is Sunday 22:30 UTC: still Sunday, still the week of Monday 23.
    late = datetime(2026, 11, 29, 23, 30, tzinfo=BERLIN_WINTER)
    assert Granularity.DAY.bucket(late) == date(2026, 11, 29)
    assert Granularity.WEEK.bucket(late) == date(2026, 11, 23)
    # Just after midnight in Berlin on 1 December is still 30 November in UTC.
    early = datetime(2026, 12, 1, 0, 30, tzinfo=BERLIN_WINTER)
    assert Granularity.MONTH.bucket(early) == date(2026, 11, 1)
    assert Granularity.MONTH.after(date(2026, 12, 1)) == date(2027, 1, 1)


def test_a_period_lists_every_bucket_it_touches_and_excludes_its_end() -> None:
    period = Period(
        since=datetime(2026, 11, 30, tzinfo=UTC), until=datetime(2027, 1, 1, tzinfo=UTC)
    )
    assert Granularity.MONTH.buckets(period) == [date(2026, 11, 1), date(2026, 12, 1)]
    assert Granularity.WEEK.buckets(period)[0] == date(2026, 11, 30)
    assert Granularity.WEEK.buckets(period)[-1] == date(2026, 12, 28)
    assert period.days == Decimal(32)
    assert not period.contains(period.until)


@given(
    start=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
    ),
    hours=st.integers(1, 24 * 400),
    granularity=st.sampled_from(Granularity),
)
def test_every_instant_falls_in_one_of_the_periods_buckets(
    start: datetime, hours: int, granularity: Granularity
) -> None:
    period = Period(since=start, until=start + timedelta(hours=hours))
    buckets = granularity.buckets(period)
    assert buckets == sorted(set(buckets))
    for at in (period.since, period.last, period.since + (period.until - period.since) / 2):
        assert granularity.bucket(at) in buckets


@pytest.mark.parametrize(
    ("since", "until", "field"),
    [
        (datetime(2026, 1, 2, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC), "until"),
        (datetime(2026, 1, 2, tzinfo=UTC), datetime(2046, 1, 2, tzinfo=UTC), "until"),
        (datetime(2026, 1, 2), datetime(2026, 1, 3, tzinfo=UTC), "since"),
    ],
)
def test_a_bad_period_is_refused_naming_the_argument(
    since: datetime, until: datetime, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        Period(since=since, until=until)
    assert refused.value.field == field


def test_averages_round_half_even_to_the_minor_unit_and_rates_to_four_places() -> None:
    assert average(1001, 2, "EUR") == Decimal("5.00")  # 5.005 -> 5.00
    assert average(1003, 2, "EUR") == Decimal("5.02")  # 5.015 -> 5.02
    assert average(1001, 2, "JPY") == Decimal("500")  # 500.5 -> 500
    assert average(5, 0, "EUR") is None
    assert rate(1, 3) == Decimal("0.3333")
    assert rate(1, 0) is None


def test_a_table_renders_aligned_and_writes_csv() -> None:
    table = ReportTable(
        name="example",
        columns=(
            Column("sku"),
            Column("units", ColumnKind.COUNT),
            Column("value", ColumnKind.AMOUNT),
            Column("overstock", ColumnKind.FLAG),
        ),
        rows=(("MUG", 12, Decimal("144.00"), True), ("CLOCK-LONG", 3, None, False)),
    )
    assert table.render() == (
        "sku         units   value  overstock\n"
        "----------  -----  ------  ---------\n"
        "MUG            12  144.00  true\n"
        "CLOCK-LONG      3          false\n"
    )
    handle = io.StringIO(newline="")
    assert table.to_csv(handle) == 2
    assert (
        handle.getvalue()
        == "sku,units,value,overstock\r\nMUG,12,144.00,true\r\nCLOCK-LONG,3,,false\r\n"
    )
    assert table.column("units") == [12, 3]
    with pytest.raises(KeyError):
        table.column("price")
