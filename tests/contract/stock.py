"""Stock through the storage port as the services use it: decided changes, applied."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from commercekit.domain.inventory import Reservation, StockChange, StockItem, StockMovement
from commercekit.ports.storage import UnitOfWork

#: When holds are taken in these tests (their StockLow events carry it).
HELD_AT = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def record(uow: UnitOfWork, movement: StockMovement, *, floor: int = 0) -> None:
    """Record a ledger movement; a removal only while available stays at ``floor``."""
    uow.inventory.apply([StockChange.move(movement, floor=floor)])


def reserve(
    uow: UnitOfWork, reservations: Sequence[Reservation], floors: Mapping[str, int]
) -> None:
    """Store holds and take their stock, each down to its SKU's floor (0 if none)."""
    uow.inventory.add_reservations(reservations)
    uow.inventory.apply([r.take(floor=floors.get(r.sku, 0), at=HELD_AT) for r in reservations])


def configured(item: StockItem) -> StockChange:
    """The change that gives an item ``item``'s settings (never its quantities)."""
    return StockChange.configure(item.sku, item.location_id, item.settings, at=HELD_AT)
