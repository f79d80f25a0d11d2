"""What every unit of work does as a context manager, whatever its storage."""

from __future__ import annotations

from types import TracebackType
from typing import Self

__all__ = ["RollsBackOnExit"]


class RollsBackOnExit:
    """Leaving the ``with`` block without committing throws every change away."""

    def rollback(self) -> None:
        """Discard every change (each storage's own)."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.rollback()
