"""What a caller hands in at a service's door, checked before anything below sees it:
keys (a SKU, an id, a token), text, whole numbers and flags.

A key arrives from outside (a URL, a form, a webhook) and goes into a query. Bounding
it first means that a megabyte of text never travels to the database, that a NUL
(which PostgreSQL refuses in text) or a lone surrogate (which no database can store
as UTF-8) is the caller's :class:`~commercekit.domain.errors.InvalidInput` rather
than a driver's error, and that the message names the argument. A number arrives as
a form sends it, ``"2"``; that spelling, and no other, is read as the number it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

from commercekit.domain.errors import InvalidInput, InvalidQuantity

__all__ = [
    "MAX_KEY_LENGTH",
    "check_flag",
    "check_key",
    "check_keys",
    "check_quantities",
    "check_text",
    "check_whole_number",
]

#: Longer than any SKU, id or token commercekit makes or accepts.
MAX_KEY_LENGTH: Final = 255
#: A whole number as a web form sends it: ASCII digits, a minus at most, nothing
#: around them; eighteen digits are more than any count and always fit in 64 bits.
_DIGITS: Final = re.compile(r"-?[0-9]{1,18}")


def check_text(
    value: object, field: str, *, max_length: int | None = MAX_KEY_LENGTH, blank: bool = False
) -> str:
    """``value`` if it is text any storage can keep: a string of at most ``max_length``
    characters (any length with ``None``), with no NUL (which PostgreSQL refuses in
    text) and no lone surrogate (which no database can store as UTF-8), and with more
    than spaces in it unless ``blank``.

    :raises InvalidInput: naming ``field``; the message never repeats the value.
    """
    if not isinstance(value, str):
        wanted = "a string" if blank else "a non-empty string"
        raise InvalidInput(f"must be {wanted}, got {type(value).__name__}", field=field)
    if max_length is not None and len(value) > max_length:
        raise InvalidInput(
            f"must be at most {max_length} characters, got {len(value)}", field=field
        )
    if not blank and not value.strip():
        raise InvalidInput("must be a non-empty string", field=field)
    if "\x00" in value:
        raise InvalidInput("must not contain NUL", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("must be valid Unicode text (no lone surrogates)", field=field) from None
    return value


def check_key(value: object, field: str) -> str:
    """``value`` if it is a string that can be a key: at most :data:`MAX_KEY_LENGTH`
    characters, no NUL, and storable as UTF-8 (no lone surrogates).

    Whether such a key names anything is for the lookup to say (an empty one names
    nothing), so it is not refused here.

    :raises InvalidInput: naming ``field``; the message never repeats the value.
    """
    return check_text(value, field, blank=True)


def check_keys(values: object, field: str) -> list[str]:
    """``values`` as a list of keys (see :func:`check_key`); one string is one key, not
    a sequence of one-letter keys.

    :raises InvalidInput: naming ``field``, for anything but keys.
    """
    if isinstance(values, str):
        return [check_key(values, field)]
    if not isinstance(values, Iterable) or isinstance(values, bytes | Mapping):
        raise InvalidInput(f"expected a list of strings, got {type(values).__name__}", field=field)
    return [check_key(value, field) for value in values]


def check_whole_number(value: object, field: str) -> int:
    """``value`` as a whole number: an ``int``, or the digits a web form sends for one
    (``"2"``, ``"-3"``), read as that number.

    Nothing else is read as a number: not ``True`` (an ``int`` to Python, but never a
    count anyone meant), not ``2.0``, ``"2.0"``, ``" 2 "``, ``"+2"``, ``"1e3"`` or
    ``"two"``. Whether the number is in range is the caller's to say.

    :raises InvalidQuantity: (an :class:`InvalidInput`) naming ``field``; the message
        never repeats the value.
    """
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidQuantity(f"must be a whole number, got {type(value).__name__}", field=field)
    return value


def check_quantities(values: object, field: str) -> dict[str, int]:
    """``values`` as a mapping of SKU to quantity, each SKU a key (see
    :func:`check_key`) and each quantity a whole number (see
    :func:`check_whole_number`).

    :raises InvalidInput: naming ``field``, for anything else.
    """
    if not isinstance(values, Mapping):
        raise InvalidInput(
            f"expected a mapping of SKU to quantity, got {type(values).__name__}", field=field
        )
    return {check_key(sku, field): check_whole_number(n, field) for sku, n in values.items()}


def check_flag(value: object, field: str) -> bool:
    """``value`` if it is ``True`` or ``False``: anything merely truthy (``"no"`` is)
    is refused rather than read as a yes.

    :raises InvalidInput: naming ``field``.
    """
    if not isinstance(value, bool):
        raise InvalidInput(f"must be True or False, got {type(value).__name__}", field=field)
    return value
