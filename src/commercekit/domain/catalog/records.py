"""What the catalogue keeps about itself: every change with its time and actor, the
slugs products were reached by (the current one and the redirects of earlier ones),
and the filter a listing is asked with."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final

import attrs

from commercekit.domain._validators import ACTOR, aware, text
from commercekit.domain.catalog.products import Product, PublicationState
from commercekit.domain.catalog.slugs import SLUG_MAX_LENGTH
from commercekit.domain.errors import AlreadyExists

__all__ = ["CatalogChange", "ProductFilter", "SlugRecord", "claim_slug"]

#: How many numbered spellings a slug is tried in (``tee-2`` ... ) before giving up.
_MOST_SUFFIXES: Final = 1000


@attrs.frozen(kw_only=True)
class CatalogChange:
    """One change of the catalogue: when, by whom, to what, how."""

    at: datetime = attrs.field(validator=aware)
    actor: str = attrs.field(validator=ACTOR)
    kind: str = attrs.field(validator=text(32))
    """``product``, ``variant``, ``price``, ``product_type``, ``collection``..."""
    key: str = attrs.field(validator=text(200))
    action: str = attrs.field(validator=text(64))
    detail: str = attrs.field(default="", validator=text(2000, blank=True))


@attrs.frozen
class SlugRecord:
    """Who a slug leads to: the product, and whether it is the product's slug now
    (otherwise a redirect to its current one)."""

    product_id: str
    current: bool


@attrs.frozen(kw_only=True)
class ProductFilter:
    """What a listing holds: every condition given must hold."""

    category_id: str | None = None
    state: PublicationState | None = None
    type_id: str | None = None
    tag: str | None = None

    def matches(self, product: Product) -> bool:
        return (
            (self.category_id is None or self.category_id in product.category_ids)
            and (self.state is None or product.state is self.state)
            and (self.type_id is None or product.type_id == self.type_id)
            and (self.tag is None or self.tag.casefold() in product.tags)
        )


def claim_slug(
    product_id: str,
    wanted: str,
    *,
    owner: Callable[[str], SlugRecord | None],
    numbered: bool,
) -> str:
    """The slug ``product_id`` gets for ``wanted``: ``wanted`` itself if no other
    product has it now (a redirect of another's earlier slug is taken over), else,
    when ``numbered``, the first of ``wanted-2``, ``wanted-3``... that is free.

    :param owner: who holds a slug in the locale and channel concerned.
    :param numbered: whether ``wanted`` was made from the name (a merchant's own
        slug is never renumbered).
    :raises AlreadyExists: naming ``slug``, for a merchant's slug another product has.
    """

    def free(slug: str) -> bool:
        record = owner(slug)
        return record is None or record.product_id == product_id or not record.current

    if free(wanted):
        return wanted
    if not numbered:
        raise AlreadyExists("product slug", wanted, field="slug")
    for n in range(2, _MOST_SUFFIXES):
        suffix = f"-{n}"
        candidate = wanted[: SLUG_MAX_LENGTH - len(suffix)].rstrip("-") + suffix
        if free(candidate):
            return candidate
    raise AlreadyExists("product slug", wanted, field="slug")
