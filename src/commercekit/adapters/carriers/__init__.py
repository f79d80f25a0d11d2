"""Parcel carriers: the manual carrier and the sandbox carrier, offered as plugins.

What the two share lives here: reading a carrier's options from a store's
configuration, and the tracking address template.
"""

from __future__ import annotations

import string
from collections.abc import Collection, Mapping
from typing import Annotated, Any, Final, TypeVar
from urllib.parse import quote

from pydantic import AfterValidator, BaseModel, Field, ValidationError

from commercekit.domain.errors import InvalidInput, shown

__all__ = ["MAX_TRACKING_URL_LENGTH", "TrackingUrlTemplate", "parse_options", "tracking_url"]

#: The longest tracking address a :class:`~commercekit.domain.shipping.Label` keeps.
MAX_TRACKING_URL_LENGTH: Final = 2000

_PLACEHOLDER: Final = "tracking_number"
#: An unknown key is named as the option when it reads as one; anything else (a key
#: of a megabyte) is named by the options as a whole.
_LONGEST_KEY_NAMED: Final = 64

_Model = TypeVar("_Model", bound=BaseModel)


def _template(value: str) -> str:
    if not value:
        return value
    if not value.isprintable():
        raise ValueError("must be printable text (no NUL, no line breaks)")
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
    except ValueError:
        raise ValueError("has an unmatched { or }: write {{ and }} for braces") from None
    if _PLACEHOLDER not in fields or any(name != _PLACEHOLDER for name in fields):
        raise ValueError("must contain {tracking_number} and no other {placeholder}")
    return value


TrackingUrlTemplate = Annotated[
    str,
    Field(strict=True, max_length=MAX_TRACKING_URL_LENGTH),
    AfterValidator(_template),
]
"""Where a customer follows a parcel: a URL with ``{tracking_number}`` in it, or empty
for none."""


def tracking_url(template: str, tracking_number: str, *, field: str) -> str:
    """The tracking address of ``tracking_number`` (percent-encoded into the template),
    or ``""`` for an empty template.

    :raises InvalidInput: naming ``field``, when the address would be longer than a
        label keeps.
    """
    if not template:
        return ""
    url = template.format(tracking_number=quote(tracking_number, safe=""))
    if len(url) > MAX_TRACKING_URL_LENGTH:
        raise InvalidInput(
            f"makes a tracking address longer than {MAX_TRACKING_URL_LENGTH} characters",
            field=field,
        )
    return url


def parse_options(
    model: type[_Model],
    options: object,
    *,
    carrier: str | None = None,
    secrets: Collection[str] = (),
) -> _Model:
    """``options`` checked by ``model``.

    :param carrier: the name a store's configuration gives the carrier: errors then
        name ``carriers.<carrier>.options.<option>`` (``secrets.`` for one of
        ``secrets``), as the configuration spells it; without it, the option alone.
    :raises InvalidInput: naming the first option that is wrong. The message never
        repeats a value, which may be a secret.
    """
    if not isinstance(options, Mapping):
        got = type(options).__name__
        raise InvalidInput(f"expected a mapping of options, got {got}", field=_field(carrier, ""))
    try:
        return model.model_validate(dict(options))
    except ValidationError as error:
        raise _refusal(error.errors()[0], carrier, secrets) from None


def _refusal(first: Any, carrier: str | None, secrets: Collection[str]) -> InvalidInput:
    """Pydantic's first error as :class:`InvalidInput` naming the option."""
    option = str(first["loc"][0]) if first["loc"] else ""
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = f"{message}: {shown(option)}"
        if not (option.isidentifier() and len(option) <= _LONGEST_KEY_NAMED):
            option = ""
    section = "secrets" if option in secrets else "options"
    return InvalidInput(message, field=_field(carrier, option, section))


def _field(carrier: str | None, option: str, section: str = "options") -> str:
    if carrier is None:
        return option or "options"
    return f"carriers.{carrier}.{section}.{option}" if option else f"carriers.{carrier}.options"
