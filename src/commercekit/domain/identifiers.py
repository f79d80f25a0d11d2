"""The bounds every key a caller hands in keeps (a SKU, an id, a token) before it is
looked up.

A key arrives from outside (a URL, a form, a webhook) and goes into a query. Bounding
it first means that a megabyte of text never travels to the database, that a NUL
(which PostgreSQL refuses in text) or a lone surrogate (which no database can store
as UTF-8) is the caller's :class:`~commercekit.domain.errors.InvalidInput` rather
than a driver's error, and that the message names the argument.
"""

from __future__ import annotations

from typing import Final

from commercekit.domain.errors import InvalidInput

__all__ = ["MAX_KEY_LENGTH", "check_key"]

#: Longer than any SKU, id or token commercekit makes or accepts.
MAX_KEY_LENGTH: Final = 255


def check_key(value: object, field: str) -> str:
    """``value`` if it is a string that can be a key: at most :data:`MAX_KEY_LENGTH`
    characters, no NUL, and storable as UTF-8 (no lone surrogates).

    Whether such a key names anything is for the lookup to say (an empty one names
    nothing), so it is not refused here.

    :raises InvalidInput: naming ``field``; the message never repeats the value.
    """
    if not isinstance(value, str):
        raise InvalidInput(f"must be a string, got {type(value).__name__}", field=field)
    if len(value) > MAX_KEY_LENGTH:
        raise InvalidInput(
            f"must be at most {MAX_KEY_LENGTH} characters, got {len(value)}", field=field
        )
    if "\x00" in value:
        raise InvalidInput("must not contain NUL", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("must be valid Unicode text (no lone surrogates)", field=field) from None
    return value
