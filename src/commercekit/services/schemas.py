"""Input models: everything that comes from outside passes through one of these.

They refuse fields they do not know (a client cannot slip in a price, a total or a
status), bound every length, keep Unicode names intact, and check country codes
against ISO 3166 (Babel's CLDR territory data) and the fields each country needs.
They are strict: a field takes its own type only (no bytes for text, no ``"yes"`` or
``1`` for a flag). A failure becomes :class:`InvalidInput` naming the field, never a
pydantic error.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import cache
from typing import Annotated, Any, Final, TypeVar

from babel import Locale
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from commercekit.domain.checkout import Address
from commercekit.domain.errors import InvalidInput, shown

__all__ = [
    "AddressIn",
    "ConsentIn",
    "ContactIn",
    "CustomerIn",
    "PaymentMethodIn",
    "ShippingChoiceIn",
    "parse",
]

Model = TypeVar("Model", bound=BaseModel)

# Territory codes CLDR lists that are groupings or placeholders, not countries.
_NOT_COUNTRIES: Final = frozenset({"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"})
# Countries where a postal address is not deliverable without a region (state,
# province) or without a postal code. Where a country is not listed, neither is
# demanded, since many addresses in the world have none.
_REGION_REQUIRED: Final = frozenset({"US", "CA", "AU", "BR", "MX", "IN", "CN", "AR", "MY"})
_POSTAL_FORMATS: Final = {
    "US": r"\d{5}(-\d{4})?",
    "CA": r"[A-Z]\d[A-Z] ?\d[A-Z]\d",
    "DE": r"\d{5}",
    "FR": r"\d{5}",
    "ES": r"\d{5}",
    "IT": r"\d{5}",
    "NL": r"\d{4} ?[A-Z]{2}",
    "AT": r"\d{4}",
    "CH": r"\d{4}",
    "BE": r"\d{4}",
    "JP": r"\d{3}-?\d{4}",
    "GB": r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}",
    "AU": r"\d{4}",
    "BR": r"\d{5}-?\d{3}",
    "IN": r"\d{6}",
    "CN": r"\d{6}",
    "SE": r"\d{3} ?\d{2}",
    "PL": r"\d{2}-\d{3}",
}
_EMAIL: Final = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s.]+")


@cache
def countries() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes of the countries CLDR knows."""
    codes = (str(code) for code in Locale("en").territories)
    return frozenset(
        code for code in codes if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    )


Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, strict=True)


def _no_controls(value: str) -> str:
    """Text a person typed: no control characters (NUL among them) and no lone
    surrogates, which no storage keeps; composed (NFC), so that one spelling is one
    string."""
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in value):
        raise ValueError("must not contain control characters or lone surrogates")
    return unicodedata.normalize("NFC", value)


class AddressIn(_Input):
    """A postal address as a customer types it."""

    name: Text = Field(min_length=1)
    line1: Text = Field(min_length=1)
    line2: Text = ""
    city: Text = Field(min_length=1)
    region: ShortText = ""
    postal_code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=16)] = ""
    country: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True)]
    phone: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=32, pattern=r"^[+0-9 ()./-]*$")
    ] = ""
    company: Text = ""

    @field_validator("name", "line1", "line2", "city", "region", "postal_code", "company")
    @classmethod
    def _text(cls, value: str) -> str:
        return _no_controls(value)

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        if value not in countries():
            raise ValueError(f"{shown(value)} is not an ISO 3166-1 alpha-2 country code")
        return value

    @model_validator(mode="after")
    def _per_country(self) -> AddressIn:
        if self.country in _REGION_REQUIRED and not self.region:
            raise ValueError(f"region: required for addresses in {self.country}")
        pattern = _POSTAL_FORMATS.get(self.country)
        if pattern is not None:
            if not self.postal_code:
                raise ValueError(f"postal_code: required for addresses in {self.country}")
            if not re.fullmatch(pattern, self.postal_code.upper()):
                raise ValueError(
                    f"postal_code: {shown(self.postal_code)} is not a postal code of {self.country}"
                )
        return self

    def to_domain(self) -> Address:
        """The checked address as a domain value."""
        return Address(**self.model_dump())


class ContactIn(_Input):
    """How to reach the customer."""

    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=254)]

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        value = _no_controls(value)
        if not _EMAIL.fullmatch(value):
            raise ValueError("is not an email address")
        local, _, domain = value.rpartition("@")
        return f"{local}@{domain.lower()}"


class CustomerIn(ContactIn):
    """A signed-in shopper's details, as the application hands them over."""

    name: Text = ""

    @field_validator("name")
    @classmethod
    def _text(cls, value: str) -> str:
        return _no_controls(value)


class ConsentIn(_Input):
    """Marketing consent as the customer gave or withdrew it."""

    granted: bool
    source: ShortText = Field(min_length=1)
    wording: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""

    @field_validator("source", "wording")
    @classmethod
    def _text(cls, value: str) -> str:
        return _no_controls(value)


class ShippingChoiceIn(_Input):
    """The shipping method a customer picks."""

    method_id: ShortText = Field(min_length=1)

    @field_validator("method_id")
    @classmethod
    def _text(cls, value: str) -> str:
        return _no_controls(value)


class PaymentMethodIn(_Input):
    """How the customer pays: a configured gateway and that gateway's token."""

    gateway: ShortText = Field(min_length=1)
    token: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]

    @field_validator("gateway", "token")
    @classmethod
    def _text(cls, value: str) -> str:
        return _no_controls(value)


#: Pydantic errors whose location is a key the caller made up, not a field's name.
_UNKNOWN_KEYS: Final = frozenset({"extra_forbidden", "invalid_key"})
#: An unknown key is named as the field when it reads as one (``total``); anything
#: else (a key of a megabyte, of spaces) is named by the argument that held it.
_LONGEST_KEY_NAMED: Final = 64


def parse(
    model: type[Model], data: Mapping[str, Any] | Model, *, field: str | None = None
) -> Model:
    """Validate ``data`` with ``model``.

    :param field: the argument ``data`` was handed in as (the model's name if not
        given): what an error names when ``data`` is not a mapping, or holds a key
        the model does not know that cannot be a field's name.
    :raises InvalidInput: naming the first field that failed, with pydantic's reason.
    """
    argument = field or model.__name__
    if isinstance(data, model):
        return data
    if not isinstance(data, Mapping):
        raise InvalidInput(
            f"expected a mapping of fields, got {type(data).__name__}", field=argument
        )
    try:
        return model.model_validate(dict(data))
    except ValidationError as error:
        raise _refusal(error.errors()[0], argument) from None


def _refusal(first: Any, argument: str) -> InvalidInput:
    """Pydantic's first error as :class:`InvalidInput`, naming a field of the model,
    or a key it does not know (the argument, for one that cannot be a field's name);
    such a key is never repeated whole."""
    location = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] in _UNKNOWN_KEYS:
        named = location.isidentifier() and len(location) <= _LONGEST_KEY_NAMED
        return InvalidInput(f"{message}: {shown(location)}", field=location if named else argument)
    if not location and ": " in message:
        # A check across fields names its field at the front of the message.
        location, _, message = message.partition(": ")
    # An error about the mapping as a whole (a key that is not even text) names the
    # argument it was handed in as.
    return InvalidInput(message, field=location or argument)
