"""Products and their variants: what a customer browses and what they buy."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

import attrs

from commercekit.domain._validators import aware_or_none, text, whole_number
from commercekit.domain.catalog.media import Media, check_media
from commercekit.domain.catalog.slugs import slugify
from commercekit.domain.catalog.translations import ProductText, check_translations, resolve_text
from commercekit.domain.errors import InvalidInput, shown
from commercekit.domain.window import Window

__all__ = [
    "Condition",
    "Dimensions",
    "Product",
    "PublicationState",
    "Variant",
    "check_canonical_url",
    "check_gtin",
]

_ALWAYS: Final = Window()
_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}")
#: GTIN-8 (EAN-8), GTIN-12 (UPC-A), GTIN-13 (EAN-13, ISBN-13) and GTIN-14.
_GTIN: Final = re.compile(r"\d{8}|\d{12,14}", re.ASCII)
# An absolute http(s) URL with a host: no space, quote or angle bracket that would
# break out of an attribute or a tag where it is written.
_ABSOLUTE_URL: Final = re.compile(r"https?://[^\s\"'<>/?#]+(?:[/?#][^\s\"'<>]*)?", re.ASCII)


def _check_sku(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not _SKU.fullmatch(value):
        raise InvalidInput(
            "a SKU is 1 to 64 letters, digits, '.', '_', '/' or '-', starting with a letter "
            f"or digit; got {shown(value)}",
            field=attribute.name,
        )


# Millimetres or grams, in whole numbers up to 10 km or 10 t.
_MEASURE: Final = whole_number(1, 10_000_000)
_MEASURE_OR_NONE: Final = attrs.validators.optional(_MEASURE)


def _mapping(value: Mapping[str, str] | None, field: str) -> Mapping[str, str]:
    if value is not None and not isinstance(value, Mapping):
        raise InvalidInput(
            f"expected a mapping of names to values, got {type(value).__name__}", field=field
        )
    return dict(value or {})


def check_gtin(_: object, attribute: attrs.Attribute[str], value: object) -> None:
    """attrs validator: ``""`` or a GTIN of 8, 12, 13 or 14 digits whose last digit is
    its check digit (the GS1 modulo 10 rule).

    :raises InvalidInput: naming the field.
    """
    if value == "":
        return
    if not isinstance(value, str) or not _GTIN.fullmatch(value):
        raise InvalidInput(
            f"a GTIN is 8, 12, 13 or 14 digits, got {shown(value)}", field=attribute.name
        )
    # From the right, leaving out the check digit, digits weigh 3, 1, 3, 1...
    body = [int(digit) for digit in reversed(value[:-1])]
    total = sum(digit * (3 if n % 2 == 0 else 1) for n, digit in enumerate(body))
    if (10 - total % 10) % 10 != int(value[-1]):
        raise InvalidInput(
            f"{shown(value)} is not a GTIN: its check digit does not match", field=attribute.name
        )


def check_canonical_url(_: object, attribute: attrs.Attribute[str], value: object) -> None:
    """attrs validator: ``""`` (none) or an absolute http(s) URL of at most 2,000
    characters, with nothing that could break out of an attribute or a tag.

    :raises InvalidInput: naming the field.
    """
    if value == "":
        return
    if not isinstance(value, str) or len(value) > 2000 or not _ABSOLUTE_URL.fullmatch(value):
        raise InvalidInput(
            f"must be an absolute http(s) URL, got {shown(value)}", field=attribute.name
        )


def _condition(value: object) -> Condition:
    try:
        return Condition(value)
    except ValueError:
        raise InvalidInput(
            f"must be new, refurbished or used, got {shown(value)}", field="condition"
        ) from None


def _options(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return _mapping(value, "options")


def _attributes(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return _mapping(value, "attributes")


def _axes(value: Iterable[str] | str) -> tuple[str, ...]:
    axes = (value,) if isinstance(value, str) else tuple(value)
    if len(set(axes)) != len(axes) or not all(isinstance(a, str) and a for a in axes):
        raise InvalidInput("each axis a name, once", field="option_axes")
    return axes


def _tags(value: Iterable[str] | str) -> tuple[str, ...]:
    tags = (value,) if isinstance(value, str) else tuple(value)
    if not all(isinstance(tag, str) for tag in tags):
        raise InvalidInput("expected tags as strings", field="tags")
    return tuple(dict.fromkeys(tag.strip().casefold() for tag in tags if tag.strip()))


def _components(value: Mapping[str, int] | None) -> Mapping[str, int]:
    parts = dict(value or {})
    for sku, quantity in parts.items():
        if not isinstance(sku, str) or not _SKU.fullmatch(sku):
            raise InvalidInput(f"{shown(sku)} is not a SKU", field="components")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= 1000:
            raise InvalidInput("a bundle takes 1 to 1000 units of a component", field="components")
    return parts


def _ids(value: Iterable[str] | str) -> tuple[str, ...]:
    # A bare string is one id, not a sequence of one-letter ids.
    if isinstance(value, str):
        return (value,)
    ids = tuple(value)
    for item in ids:
        if not isinstance(item, str):
            raise InvalidInput(f"expected ids as strings, got {shown(item)}", field="category_ids")
    return ids


@attrs.frozen(kw_only=True)
class Dimensions:
    """Outer dimensions of one unit as shipped, in millimetres."""

    length_mm: int = attrs.field(validator=_MEASURE)
    width_mm: int = attrs.field(validator=_MEASURE)
    height_mm: int = attrs.field(validator=_MEASURE)


class Condition(enum.Enum):
    """The state a product is sold in, as shopping feeds and search engines ask."""

    NEW = "new"
    REFURBISHED = "refurbished"
    USED = "used"


class PublicationState(enum.Enum):
    """Whether a product can be seen and bought."""

    DRAFT = "draft"
    ACTIVE = "active"
    ARCHIVED = "archived"


@attrs.define(kw_only=True, eq=False)
class Variant:
    """One buyable thing: a product in a given size, colour, edition."""

    sku: str = attrs.field(validator=_check_sku)
    """Stock keeping unit, unique across the catalogue."""
    product_id: str = ""
    """Set by the catalogue when the product is added."""
    options: Mapping[str, str] = attrs.field(factory=dict, converter=_options)
    """Option values that tell this variant from its siblings, such as ``{"size": "M"}``."""
    weight_grams: int | None = attrs.field(default=None, validator=_MEASURE_OR_NONE)
    dimensions: Dimensions | None = None
    tax_category: str | None = None
    """Overrides the product's tax category when set."""
    track_stock: bool = True
    """False for goods that never run out (services, made to order)."""
    digital: bool = False
    """Digital goods need no shipping."""
    components: Mapping[str, int] = attrs.field(factory=dict, converter=_components)
    """For a bundle: the SKUs (and how many of each) one unit is made of. A bundle
    keeps no stock of its own; selling one takes its components' stock."""
    attributes: Mapping[str, str] = attrs.field(factory=dict, converter=_attributes)
    """Facts of this variant alone, checked against its product type's
    ``variant_attributes``."""
    gtin: str = attrs.field(default="", validator=check_gtin)
    """Its Global Trade Item Number (the EAN or UPC on the barcode); ``""``: none."""
    mpn: str = attrs.field(default="", validator=text(70, blank=True))
    """Its manufacturer part number; ``""``: none."""

    @property
    def requires_shipping(self) -> bool:
        """Whether this variant is a physical good that must be shipped."""
        return not self.digital


def _availability(
    available_from: datetime | None, available_until: datetime | None
) -> Window | None:
    window = Window.between(
        available_from, available_until, fields=("available_from", "available_until")
    )
    # Most products are on sale for good, and pricing asks about every line: for them
    # is_available skips the call.
    return None if window == _ALWAYS else window


def _move_window(product: Product, attribute: attrs.Attribute[Any], value: Any) -> Any:
    if attribute.name == "available_from":
        product._window = _availability(value, product.available_until)
    else:
        product._window = _availability(product.available_from, value)
    return value


_RESCHEDULE: Final = attrs.setters.pipe(attrs.setters.validate, _move_window)


@attrs.define(kw_only=True, eq=False)
class Product:
    """What a customer browses: a name, a description, and one or more variants."""

    id: str = attrs.field(validator=text(64))
    name: str = attrs.field(validator=text(200))
    slug: str = ""
    """URL slug; built from ``name`` when not given."""
    description: str = ""
    category_ids: tuple[str, ...] = attrs.field(default=(), converter=_ids)
    """A product may sit in several categories; a single string is one category."""
    attributes: Mapping[str, str] = attrs.field(factory=dict, converter=_attributes)
    """Facts such as ``{"material": "cotton"}``: checked against the product type's
    attributes when it has one (see :meth:`ProductType.check_attributes`)."""
    type_id: str | None = None
    """Its :class:`ProductType`, if it has one."""
    option_axes: tuple[str, ...] = attrs.field(default=(), converter=_axes)
    """The options its variants differ by (``("size", "colour")``): each variant
    names a value for every axis, and no two the same combination."""
    tags: tuple[str, ...] = attrs.field(default=(), converter=_tags)
    """Words a merchant groups products by (``"summer"``), lower case."""
    translations: Mapping[str, ProductText] = attrs.field(
        factory=dict, converter=check_translations
    )
    """Its words per locale; see :meth:`text`."""
    media: tuple[Media, ...] = ()
    seo_title: str = attrs.field(default="", validator=text(200, blank=True))
    seo_description: str = attrs.field(default="", validator=text(500, blank=True))
    canonical_url: str = attrs.field(default="", validator=check_canonical_url)
    """The URL search engines should take as the product's page, where it is not the
    one the storefront builds from its slug; ``""``: that one."""
    brand: str = attrs.field(default="", validator=text(70, blank=True))
    """Who makes it, as shoppers know the name; ``""``: none given."""
    condition: Condition = attrs.field(default=Condition.NEW, converter=_condition)
    created_at: datetime | None = attrs.field(default=None, validator=aware_or_none)
    """When it was added to the store (set by the store)."""
    tax_category: str = "standard"
    state: PublicationState = PublicationState.DRAFT
    available_from: datetime | None = attrs.field(
        default=None, validator=aware_or_none, on_setattr=_RESCHEDULE
    )
    available_until: datetime | None = attrs.field(
        default=None, validator=aware_or_none, on_setattr=_RESCHEDULE
    )
    """On sale from ``available_from`` until (not at) ``available_until``; setting
    either moves the window, and one that would end before it starts is refused."""
    variants: list[Variant] = attrs.field(factory=list)
    _window: Window | None = attrs.field(init=False, repr=False)
    """The availability window; ``None`` when open at both ends."""

    def __attrs_post_init__(self) -> None:
        self.slug = slugify(self.slug, field="slug") if self.slug else slugify(self.name)
        self._window = _availability(self.available_from, self.available_until)
        self.check_variants()

    def check_variants(self) -> None:
        """Each variant a combination of option values of its own, naming every axis
        the product declares (and only those), and its media naming only its
        variants.

        :raises InvalidInput: naming ``variants`` (or ``media``).
        """
        self.media = check_media(self.media, (v.sku for v in self.variants))
        axes = set(self.option_axes)
        seen: dict[tuple[tuple[str, str], ...], str] = {}
        for variant in self.variants:
            if axes and set(variant.options) != axes:
                wanted = ", ".join(self.option_axes)
                raise InvalidInput(
                    f"variant {shown(variant.sku)} must name a value for each of {wanted}",
                    field="variants",
                )
            if not variant.options and not axes:
                continue
            combination = tuple(sorted(variant.options.items()))
            if combination in seen:
                shown_values = ", ".join(f"{k}={v}" for k, v in combination)
                raise InvalidInput(
                    f"variants {shown(seen[combination])} and {shown(variant.sku)} are both "
                    f"{shown_values}",
                    field="variants",
                )
            seen[combination] = variant.sku

    def text(self, locale: str | None = None) -> ProductText:
        """Its words in ``locale``: each field from the most particular translation
        that has it (``de_AT``, then ``de``), else its own."""
        own = ProductText(
            name=self.name,
            description=self.description,
            slug=self.slug,
            seo_title=self.seo_title,
            seo_description=self.seo_description,
        )
        return resolve_text(own, self.translations, locale)

    def publish(self) -> None:
        """Make the product visible and buyable (within its availability window)."""
        if not self.variants:
            raise InvalidInput(
                "a product needs at least one variant to be published", field="variants"
            )
        self.state = PublicationState.ACTIVE

    def archive(self) -> None:
        """Withdraw the product from sale; it stays for orders that reference it."""
        self.state = PublicationState.ARCHIVED

    def is_available(self, now: datetime) -> bool:
        """Active and inside its availability window at ``now``."""
        window = self._window
        return self.state is PublicationState.ACTIVE and (window is None or window.contains(now))
