"""Coupon limits are one decision: pricing, memory, SQLite and PostgreSQL refuse the
use past a limit with the same error, word for word."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from commercekit.adapters.storage.memory import MemoryStorage
from commercekit.adapters.storage.sql import SqlStorage
from commercekit.domain.errors import CouponRejected
from commercekit.domain.promotions import Coupon, CouponUsage
from commercekit.ports.storage import Storage

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
def storages(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[dict[str, Storage]]:
    sqlite = SqlStorage.open(f"sqlite:///{tmp_path / 'coupons.db'}")
    postgres: SqlStorage = request.getfixturevalue("storage_postgresql")
    yield {"memory": MemoryStorage(), "sqlite": sqlite, "postgresql": postgres}
    sqlite.close()


def _refusal(
    storage: Storage, coupon: Coupon, uses: list[tuple[str, str | None]]
) -> dict[str, object]:
    """Record ``uses`` one order at a time; the refusal of the last, as plain data."""
    with storage.unit_of_work() as uow:
        uow.catalog.add_coupon(coupon)
        uow.commit()
    *earlier, (last_order, last_customer) = uses
    for order_id, customer in earlier:
        with storage.unit_of_work() as uow:
            uow.catalog.record_coupon_use(coupon.code, customer, order_id)
            uow.commit()
    with storage.unit_of_work() as uow:
        uow.catalog.record_coupon_use(coupon.code, last_customer, last_order)
        with pytest.raises(CouponRejected) as refused:
            uow.commit()
    return {**refused.value.as_dict(), "reason": refused.value.reason}


@pytest.mark.parametrize(
    ("coupon", "uses", "usage"),
    [
        (
            Coupon(code="LASTONE", promotion_id="promo", usage_limit=2),
            [("order-1", "ada"), ("order-2", "grace"), ("order-3", "hedy")],
            CouponUsage(total=2, by_customer=0),
        ),
        (
            Coupon(code="ONCEEACH", promotion_id="promo", usage_limit_per_customer=1),
            [("order-1", "ada"), ("order-2", "grace"), ("order-3", "ada")],
            CouponUsage(total=2, by_customer=1),
        ),
    ],
    ids=["in all", "per customer"],
)
def test_every_storage_and_pricing_refuse_a_use_past_the_limit_alike(
    storages: dict[str, Storage],
    coupon: Coupon,
    uses: list[tuple[str, str | None]],
    usage: CouponUsage,
) -> None:
    refusals = {name: _refusal(storage, coupon, uses) for name, storage in storages.items()}
    decided = coupon.limit_refusal(usage)

    assert decided is not None
    expected = {**decided.as_dict(), "reason": decided.reason}
    assert refusals == dict.fromkeys(storages, expected)
    assert expected["code"] == "coupon_rejected"
    assert expected["reason"] == "limit_reached"
    assert expected["field"] == "coupon_code"
