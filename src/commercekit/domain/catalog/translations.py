"""What a product says in each language: name, description, slug and SEO text per
locale, with a fallback chain from the most particular locale to the product's own
text (``de_AT``, then ``de``, then the product's)."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from commercekit.domain._validators import text
from commercekit.domain.catalog.slugs import slugify
from commercekit.domain.errors import InvalidInput, shown

__all__ = ["ProductText", "fallback_chain", "resolve_text"]


@attrs.frozen(kw_only=True)
class ProductText:
    """A product's words in one locale; a field left empty falls back."""

    name: str = attrs.field(default="", validator=text(200, blank=True))
    description: str = attrs.field(default="", validator=text(20_000, blank=True))
    slug: str = attrs.field(default="", validator=text(200, blank=True))
    seo_title: str = attrs.field(default="", validator=text(200, blank=True))
    seo_description: str = attrs.field(default="", validator=text(500, blank=True))

    def __attrs_post_init__(self) -> None:
        if self.slug:
            object.__setattr__(self, "slug", slugify(self.slug, field="slug"))
        elif self.name:
            object.__setattr__(self, "slug", slugify(self.name))


def _locale(value: object) -> str:
    if not isinstance(value, str) or not value.replace("_", "").replace("-", "").isalnum():
        raise InvalidInput(f"{shown(value)} is not a locale", field="translations")
    if not 2 <= len(value) <= 32 or not value.isascii():
        raise InvalidInput(f"{shown(value)} is not a locale", field="translations")
    return value.replace("-", "_")


def check_translations(value: Mapping[str, ProductText] | None) -> dict[str, ProductText]:
    """Translations by locale (``de``, ``de_AT``; ``de-AT`` is read as ``de_AT``).

    :raises InvalidInput: naming ``translations``.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput("expected a mapping of locale to ProductText", field="translations")
    checked: dict[str, ProductText] = {}
    for locale, words in value.items():
        if not isinstance(words, ProductText):
            raise InvalidInput("expected ProductText values", field="translations")
        checked[_locale(locale)] = words
    return checked


def fallback_chain(locale: str) -> list[str]:
    """The locales to look in, most particular first: ``de_AT`` gives ``de_AT``,
    ``de``."""
    parts = locale.replace("-", "_").split("_")
    return ["_".join(parts[:n]) for n in range(len(parts), 0, -1)]


def resolve_text(
    own: ProductText, translations: Mapping[str, ProductText], locale: str | None
) -> ProductText:
    """Each field from the most particular locale that has it, else the product's
    own."""
    chain = [] if not locale else fallback_chain(locale)
    found = [translations[each] for each in chain if each in translations]
    values = {}
    for field in attrs.fields(ProductText):
        values[field.name] = next(
            (getattr(words, field.name) for words in found if getattr(words, field.name)),
            getattr(own, field.name),
        )
    return ProductText(**values)
