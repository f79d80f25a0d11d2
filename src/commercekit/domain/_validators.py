"""The attrs validators and converters the domain would otherwise write again and again.

Each raises :class:`~commercekit.domain.errors.InvalidInput` naming the field it
checks, so that a caller learns which argument was wrong. Validators have attrs'
``(instance, attribute, value)`` signature; attrs.validators.optional() makes any of
them accept ``None`` as well. Converters take the field name as an argument: attrs (and
mypy's attrs plugin) want one named converter per field, which calls one of these.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import Any, Final, TypeAlias, TypeVar

import attrs

from commercekit.domain.errors import InvalidInput, shown
from commercekit.domain.identifiers import MAX_KEY_LENGTH, check_text

__all__ = [
    "ACTOR",
    "Validator",
    "aware",
    "aware_or_none",
    "flag",
    "instance_of",
    "instances",
    "ordered_strings",
    "readable",
    "require_aware",
    "require_instance",
    "strings",
    "text",
    "whole_number",
]

Validator: TypeAlias = Callable[[Any, "attrs.Attribute[Any]", Any], None]
"""An attrs validator: ``(instance, attribute, value)``, raising when the value is bad."""

_T = TypeVar("_T")


# --- times -------------------------------------------------------------------------


def require_aware(value: object, *, field: str) -> datetime:
    """Return ``value`` if it is a timezone-aware ``datetime``.

    A naive time cannot be compared with an aware one, and means a different instant
    on every server; every time in commercekit is aware.

    :raises InvalidInput: naming ``field``.
    """
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise InvalidInput(f"must be a timezone-aware datetime, got {shown(value)}", field=field)
    return value


def aware(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """attrs validator: a timezone-aware ``datetime`` (see :func:`require_aware`)."""
    require_aware(value, field=attribute.name)


def aware_or_none(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """attrs validator: ``None`` or a timezone-aware ``datetime`` (see :func:`require_aware`)."""
    if value is not None:
        require_aware(value, field=attribute.name)


# --- numbers, text and flags -------------------------------------------------------


def whole_number(minimum: int | None = None, maximum: int | None = None) -> Validator:
    """attrs validator: an ``int`` from ``minimum`` to ``maximum`` (each bound if given).

    ``True`` and ``False`` are refused: they are ints to Python, but never a count
    anyone meant.
    """
    if minimum is not None and maximum is not None:
        rule = f"must be a whole number from {minimum:,} to {maximum:,}"
    elif minimum is not None:
        rule = f"must be a whole number of at least {minimum:,}"
    elif maximum is not None:
        rule = f"must be a whole number of at most {maximum:,}"
    else:
        rule = "must be a whole number"

    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or (minimum is not None and value < minimum)
            or (maximum is not None and value > maximum)
        ):
            raise InvalidInput(rule, field=attribute.name)

    return check


def text(max_length: int | None = None, *, blank: bool = False) -> Validator:
    """attrs validator: text any storage can keep (see :func:`check_text`), with more
    than spaces in it unless ``blank``, and at most ``max_length`` characters if given."""

    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        check_text(value, attribute.name, max_length=max_length, blank=blank)

    return check


#: Who did something (``staff:grace``, ``system:sweep``), as a history records it.
ACTOR: Final = text(MAX_KEY_LENGTH, blank=True)


def readable(value: object, max_length: int) -> str:
    """Converter for words that come from outside and must be kept whatever they are (a
    gateway's reason): as text, with anything no storage can keep (NUL, lone
    surrogates) replaced, and cut to ``max_length`` characters."""
    words = value if isinstance(value, str) else str(value)
    words = words.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    return words[:max_length]


def flag(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """attrs validator: ``True`` or ``False``, not merely something truthy."""
    if not isinstance(value, bool):
        raise InvalidInput("must be True or False", field=attribute.name)


# --- instances ---------------------------------------------------------------------


def require_instance(value: object, cls: type[_T], expected: str, *, field: str) -> _T:
    """Return ``value`` if it is a ``cls``.

    :param expected: how the error names what was expected, such as ``"a TaxAddress"``.
    :raises InvalidInput: naming ``field``.
    """
    if not isinstance(value, cls):
        raise InvalidInput(f"expected {expected}, got {type(value).__name__}", field=field)
    return value


def instance_of(cls: type[Any], expected: str) -> Validator:
    """attrs validator: an instance of ``cls`` (see :func:`require_instance`)."""

    def check(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        require_instance(value, cls, expected, field=attribute.name)

    return check


def instances(value: object, cls: type[_T], *, field: str) -> tuple[_T, ...]:
    """Converter: the ``cls`` instances of an iterable, as a tuple.

    :raises InvalidInput: naming ``field``, for anything but an iterable of ``cls``
        (a string too, though it is an iterable).
    """
    message = f"expected {cls.__name__} values"
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidInput(message, field=field)
    found = tuple(value)
    if not all(isinstance(item, cls) for item in found):
        raise InvalidInput(message, field=field)
    return found


# --- strings -----------------------------------------------------------------------


def strings(value: Iterable[str] | str | None, *, field: str) -> frozenset[str]:
    """Converter: a set of strings from a collection of them, one string, or ``None``.

    A single string is one item, not a collection of letters; ``None`` is none.

    :raises InvalidInput: naming ``field``, for anything else.
    """
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset((value,))
    try:
        found = frozenset(value)
    except TypeError:
        raise InvalidInput(
            f"expected a string or a collection of strings, got {type(value).__name__}",
            field=field,
        ) from None
    if not all(isinstance(item, str) for item in found):
        raise InvalidInput("expected a collection of strings", field=field)
    return found


def ordered_strings(value: Iterable[str] | str | None, *, field: str) -> tuple[str, ...]:
    """Converter: strings in the order given, each once, from a sequence of them, one
    string, or ``None``.

    For values whose order means something (a preference). A set is refused: it has no
    order to keep, and iterating one would give a different order in every process.

    :raises InvalidInput: naming ``field``, for anything else.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, AbstractSet) or not isinstance(value, Iterable):
        raise InvalidInput(
            f"expected a string or a sequence of strings, got {type(value).__name__}",
            field=field,
        )
    found = tuple(value)
    if not all(isinstance(item, str) for item in found):
        raise InvalidInput("expected a sequence of strings", field=field)
    return tuple(dict.fromkeys(found))
