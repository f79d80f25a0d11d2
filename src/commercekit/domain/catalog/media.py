"""Media: a product's images and files, by URL or path, in order, with alt text and
the variants they show."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from typing import Final

import attrs

from commercekit.domain._validators import text
from commercekit.domain.errors import InvalidInput, shown

__all__ = ["Media", "MediaKind", "check_media"]

# An absolute http(s) URL or a path: never javascript:, data: or any other scheme,
# never a space, a quote or an angle bracket that would break out of an attribute.
_LOCATION: Final = re.compile(r"(https?://[^\s\"'<>]+|/?[^\s\"'<>:]+)", re.ASCII)
_MOST: Final = 100


class MediaKind(enum.Enum):
    IMAGE = "image"
    FILE = "file"


def _location(_: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or len(value) > 2000 or not _LOCATION.fullmatch(value):
        raise InvalidInput(
            f"must be an http(s) URL or a path, got {shown(value)}", field=attribute.name
        )


def _skus(value: Iterable[str]) -> tuple[str, ...]:
    skus = (value,) if isinstance(value, str) else tuple(value)
    if not all(isinstance(sku, str) for sku in skus):
        raise InvalidInput("expected SKUs", field="variant_skus")
    return skus


@attrs.frozen(kw_only=True)
class Media:
    """An image or a file of a product."""

    url: str = attrs.field(validator=_location)
    alt: str = attrs.field(default="", validator=text(500, blank=True))
    """What an image shows, for those who cannot see it."""
    kind: MediaKind = attrs.field(default=MediaKind.IMAGE, converter=MediaKind)
    variant_skus: tuple[str, ...] = attrs.field(default=(), converter=_skus)
    """The variants it shows; none: the product as a whole."""


def check_media(value: Iterable[Media], skus: Iterable[str]) -> tuple[Media, ...]:
    """A product's media in order, each naming only its own variants.

    :raises InvalidInput: naming ``media``.
    """
    media = tuple(value)
    if len(media) > _MOST or not all(isinstance(item, Media) for item in media):
        raise InvalidInput(f"expected at most {_MOST} Media values", field="media")
    known = set(skus)
    for item in media:
        for sku in item.variant_skus:
            if sku not in known:
                raise InvalidInput(f"the product has no variant {shown(sku)}", field="media")
    return media
