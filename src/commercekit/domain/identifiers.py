"""The bounds every key a caller hands in keeps (a SKU, an id, a token) before it is
looked up.

A key arrives from outside (a URL, a form, a webhook) and goes into a query. Bounding
it first means that a megabyte of text never travels to the database, that a NUL
(which PostgreSQL refuses in text) or a lone surrogate (which no database can store
as UTF-8) is the caller's :class:`~commercekit.domain.errors.InvalidInput` rather
than a driver's error, and that the message names the argument.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from commercekit.domain.errors import InvalidInput

__all__ = ["MAX_KEY_LENGTH", "check_key", "check_keys", "check_text"]

#: Longer than any SKU, id or token commercekit makes or accepts.
MAX_KEY_LENGTH: Final = 255


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
