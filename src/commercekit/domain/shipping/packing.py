"""Packing units into parcels a carrier accepts.

First-fit decreasing by weight: the units, heaviest first, each go into the first
parcel they fit in (by the parcel's weight limit), or start a new one. A unit fits a
parcel only if its longest side fits the parcel's longest side, and so on for each
side in order: that is the whole of the geometry it knows, so it never packs a unit
that cannot go through the carrier's door, but it does not stack boxes (a parcel's
volume is not checked). It uses at most 11/9 of the fewest parcels possible, plus
one, by weight.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from commercekit.domain._validators import whole_number
from commercekit.domain.errors import InvalidInput, shown

__all__ = ["PackedUnit", "Parcel", "ParcelLimits", "pack"]

_GRAMS = whole_number(0, 1_000_000_000)
_MM = whole_number(1, 100_000)


@attrs.frozen(kw_only=True)
class ParcelLimits:
    """The largest parcel a carrier takes."""

    max_weight_grams: int = attrs.field(validator=whole_number(1, 1_000_000_000))
    max_sides_mm: tuple[int, int, int] | None = None
    """Longest, middle and shortest side; ``None`` for no limit on size."""

    def __attrs_post_init__(self) -> None:
        if self.max_sides_mm is not None:
            sides = self.max_sides_mm
            if len(sides) != 3 or any(isinstance(s, bool) or not isinstance(s, int) for s in sides):
                raise InvalidInput("must be three whole numbers of mm", field="max_sides_mm")
            if any(not 1 <= s <= 100_000 for s in sides):
                raise InvalidInput("must be from 1 to 100000 mm each", field="max_sides_mm")
            object.__setattr__(self, "max_sides_mm", tuple(sorted(sides, reverse=True)))


@attrs.frozen(kw_only=True)
class PackedUnit:
    """One unit of a SKU as it ships."""

    sku: str
    weight_grams: int = attrs.field(validator=_GRAMS)
    sides_mm: tuple[int, int, int] | None = None
    """Its dimensions, in any order; ``None`` when not known (it is taken to fit)."""

    def fits(self, limits: ParcelLimits) -> bool:
        """Whether this unit alone may go in a parcel with these limits."""
        if self.weight_grams > limits.max_weight_grams:
            return False
        if self.sides_mm is None or limits.max_sides_mm is None:
            return True
        mine = sorted(self.sides_mm, reverse=True)
        return all(side <= most for side, most in zip(mine, limits.max_sides_mm, strict=True))


@attrs.frozen
class Parcel:
    """Units packed together."""

    units: tuple[PackedUnit, ...]

    @property
    def weight_grams(self) -> int:
        return sum(unit.weight_grams for unit in self.units)

    def quantities(self) -> dict[str, int]:
        """How many units of each SKU it holds."""
        counted: dict[str, int] = {}
        for unit in self.units:
            counted[unit.sku] = counted.get(unit.sku, 0) + 1
        return counted


def pack(units: Iterable[PackedUnit], limits: ParcelLimits) -> list[Parcel]:
    """The units in as few parcels as first-fit decreasing finds, in the order the
    parcels were opened; every unit in exactly one parcel.

    :raises InvalidInput: naming ``units``, for a unit that fits no parcel alone (too
        heavy or too long for the carrier), with its SKU.
    """
    ordered: Sequence[PackedUnit] = sorted(units, key=lambda unit: -unit.weight_grams)
    bins: list[list[PackedUnit]] = []
    loads: list[int] = []
    for unit in ordered:
        if not unit.fits(limits):
            raise InvalidInput(
                f"one unit of {shown(unit.sku)} is too heavy or too large for one parcel",
                field="units",
            )
        for n, load in enumerate(loads):
            if load + unit.weight_grams <= limits.max_weight_grams:
                bins[n].append(unit)
                loads[n] += unit.weight_grams
                break
        else:
            bins.append([unit])
            loads.append(unit.weight_grams)
    return [Parcel(tuple(found)) for found in bins]
