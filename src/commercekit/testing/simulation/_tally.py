"""Adding up quantities per key, as the checks and the simulation do everywhere."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

K = TypeVar("K")


def tally(amounts: Iterable[tuple[K, int]]) -> dict[K, int]:
    """The sum of the amounts per key, the keys in the order they first come."""
    sums: dict[K, int] = {}
    for key, amount in amounts:
        sums[key] = sums.get(key, 0) + amount
    return sums
