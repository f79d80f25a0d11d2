"""Slugs: the part of a URL path that names a product or a category."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from commercekit.domain.errors import InvalidInput, shown

__all__ = ["SLUG_MAX_LENGTH", "slugify"]

SLUG_MAX_LENGTH: Final = 80
_LATIN_BASE = re.compile(r"[A-Za-z]")


def slugify(name: str, *, max_length: int = SLUG_MAX_LENGTH, field: str = "name") -> str:
    """A lower-case slug, safe in a URL path, from a name in any script.

    Accents are dropped from Latin letters ("Crème brûlée" gives ``creme-brulee``);
    letters of other scripts are kept as they are, with their vowel signs and other
    marks ("Зелёный чай" gives ``зелёный-чай``, "हिन्दी" stays whole, "抹茶" gives
    ``抹茶``), since browsers show them and percent-encode them on the wire. Any run of
    characters that are neither letters, digits nor marks becomes a single hyphen.

    :raises InvalidInput: naming ``field``, if the name is not a string or has no
        letter or digit at all.
    """
    if not isinstance(name, str):
        raise InvalidInput(f"expected a string, got {type(name).__name__}", field=field)
    decomposed = unicodedata.normalize("NFKD", name)
    kept: list[str] = []
    for char in decomposed:
        # A combining mark after a Latin letter is an accent; elsewhere (Devanagari
        # vowel signs, Cyrillic breves) it is part of the letter and must stay.
        if unicodedata.combining(char) and kept and _LATIN_BASE.fullmatch(kept[-1]):
            continue
        kept.append(char)
    text = unicodedata.normalize("NFC", "".join(kept)).casefold()
    chars: list[str] = []
    for char in text:
        if char.isalnum():
            chars.append(char)
        elif unicodedata.category(char).startswith("M"):
            # A mark belongs to the letter before it; one with no letter is dropped.
            if chars and chars[-1] != "-":
                chars.append(char)
        elif chars and chars[-1] != "-":
            chars.append("-")
    slug = "".join(chars[:max_length]).strip("-")
    if not any(char.isalnum() for char in slug):
        raise InvalidInput(
            f"{shown(name)} has no letter or digit to build a slug from", field=field
        )
    return slug
