"""A span of time something is in force: a promotion, a coupon, a sale, a product."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, TypeAlias, final

import attrs

from commercekit.domain._validators import aware_or_none, require_aware
from commercekit.domain.errors import InvalidInput

__all__ = ["Refusal", "Window"]

Refusal: TypeAlias = Literal["not_yet_valid", "expired"]
"""Why a time is outside a window: before it starts, or at or after its end."""


@final
@attrs.frozen(kw_only=True)
class Window:
    """From ``starts_at`` (included) until ``ends_at`` (excluded); ``None`` leaves that
    end open, so ``Window()`` is always.

    The end is excluded so that one window can end exactly where the next begins
    without both being in force at that instant.

    :raises InvalidInput: naming ``starts_at`` or ``ends_at``, for a naive time, or
        naming ``ends_at`` for one that is not later than ``starts_at``.
    """

    starts_at: datetime | None = attrs.field(default=None, validator=aware_or_none)
    ends_at: datetime | None = attrs.field(default=None, validator=aware_or_none)

    def __attrs_post_init__(self) -> None:
        _check_order(self.starts_at, self.ends_at, "starts_at", "ends_at")

    @classmethod
    def between(
        cls,
        starts_at: datetime | None,
        ends_at: datetime | None,
        *,
        fields: tuple[str, str] = ("starts_at", "ends_at"),
    ) -> Window:
        """The window from ``starts_at`` until ``ends_at``, for a class that keeps the two
        times under names of its own (``available_from``, ``available_until``).

        :param fields: the names the errors give the two times.
        :raises InvalidInput: as the constructor does, naming ``fields``.
        """
        start_field, end_field = fields
        if starts_at is not None:
            require_aware(starts_at, field=start_field)
        if ends_at is not None:
            require_aware(ends_at, field=end_field)
        _check_order(starts_at, ends_at, start_field, end_field)
        return cls(starts_at=starts_at, ends_at=ends_at)

    def refusal(self, now: datetime) -> Refusal | None:
        """Why ``now`` is outside the window, or ``None`` if it is inside."""
        if self.starts_at is not None and now < self.starts_at:
            return "not_yet_valid"
        if self.ends_at is not None and now >= self.ends_at:
            return "expired"
        return None

    def contains(self, now: datetime) -> bool:
        """Whether the window is in force at ``now``."""
        starts_at = self.starts_at
        ends_at = self.ends_at
        return (starts_at is None or now >= starts_at) and (ends_at is None or now < ends_at)


def _check_order(
    starts_at: datetime | None, ends_at: datetime | None, start_field: str, end_field: str
) -> None:
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        raise InvalidInput(f"must be later than {start_field}", field=end_field)
