"""Where a shipping method goes: countries, their regions, and postal codes."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from typing import Final

import attrs

from commercekit.domain._validators import strings, text
from commercekit.domain.errors import InvalidInput

__all__ = ["ShippingZone"]

#: A postal-code pattern: letters, digits, spaces and hyphens, with ``*`` for any run
#: of characters and ``?`` for one (``10*``, ``SW1A ?AA``, ``75001``).
_PATTERN: Final = re.compile(r"^[A-Za-z0-9 ?*-]{1,20}$")


def _normal(postal_code: str) -> str:
    return postal_code.replace(" ", "").replace("-", "").upper()


def _patterns(value: Iterable[str] | str | None) -> tuple[str, ...]:
    found = strings(value, field="postal_patterns")
    for pattern in found:
        if not _PATTERN.match(pattern):
            raise InvalidInput(
                "must be letters, digits, spaces, hyphens, * and ? (at most 20)",
                field="postal_patterns",
            )
    return tuple(sorted(_normal(pattern) for pattern in found))


def _countries(value: Iterable[str] | str | None) -> frozenset[str]:
    found = strings(value, field="countries")
    if not found:
        raise InvalidInput("must name at least one country", field="countries")
    for country in found:
        if len(country) != 2 or not country.isascii() or not country.isalpha():
            raise InvalidInput("must be ISO 3166-1 alpha-2 codes", field="countries")
    return frozenset(country.upper() for country in found)


def _regions(value: Iterable[str] | str | None) -> frozenset[str]:
    return strings(value, field="regions")


@attrs.frozen(kw_only=True)
class ShippingZone:
    """Addresses a method serves: in one of ``countries``, and, where given, in one of
    ``regions`` and with a postal code matching one of ``postal_patterns`` (spaces,
    hyphens and case ignored)."""

    id: str = attrs.field(validator=text(64))
    countries: frozenset[str] = attrs.field(converter=_countries)
    regions: frozenset[str] = attrs.field(factory=frozenset, converter=_regions)
    postal_patterns: tuple[str, ...] = attrs.field(factory=tuple, converter=_patterns)

    def covers(self, country: str, region: str = "", postal_code: str = "") -> bool:
        """Whether an address in ``country`` (and ``region``, ``postal_code``) is in
        the zone."""
        if country.upper() not in self.countries:
            return False
        if self.regions and region not in self.regions:
            return False
        if self.postal_patterns:
            code = _normal(postal_code)
            return bool(code) and any(
                fnmatch.fnmatchcase(code, pattern) for pattern in self.postal_patterns
            )
        return True
