"""The search port: how the catalogue is found by words, filters and facets.

A search backend keeps one :class:`SearchDocument` per product and locale: the words
a shopper may look for and the fields a shop filters and counts by, flattened from
the product, its variants, its categories, its prices and its stock. Building the
documents is the catalogue's business; a backend indexes what it is handed, and
indexing a product again replaces its document.

A :class:`SearchQuery` finds the documents of one locale that contain every word of
its text and pass every filter it gives; a text without words finds every document
that passes the filters (browsing a category, say). A word is a run of letters and
digits, compared without case or accents (``creme`` finds ``Crème``); with
``prefix``, the last word also finds the words it begins (``kett`` finds ``kettle``),
as a search box does while the shopper types. Nothing in a text is syntax: quotes,
``*``, ``-``, ``NEAR`` or a colon are words or separators, never operators.

A :class:`SearchResult` ranks the documents found by relevance, a word in the title
above the same word in the body, and breaks ties by product id, so that pages never
overlap. Its facets count every document found, not only the page returned. Scores
say how one document ranks against another in the same result, and nothing more:
each backend computes them its own way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from itertools import pairwise
from typing import Any, Final, Protocol

import attrs

from commercekit.domain._validators import aware, flag, whole_number
from commercekit.domain._validators import text as storable
from commercekit.domain.errors import InvalidInput
from commercekit.domain.identifiers import MAX_KEY_LENGTH, check_text
from commercekit.domain.money import normalize_currency

__all__ = [
    "CATEGORY_FACET",
    "DEFAULT_LIMIT",
    "IN_STOCK_FACET",
    "MAX_BODY_LENGTH",
    "MAX_FILTER_NAMES",
    "MAX_FILTER_VALUES",
    "MAX_LIMIT",
    "MAX_OFFSET",
    "MAX_PRICE_BOUNDS",
    "MAX_QUERY_LENGTH",
    "MAX_TITLE_LENGTH",
    "PRICE_FACET",
    "FacetCount",
    "FacetRequest",
    "PriceBuckets",
    "PriceRange",
    "SearchBackend",
    "SearchDocument",
    "SearchHit",
    "SearchQuery",
    "SearchResult",
    "attribute_facet",
]

#: The longest text a query searches for: more than anyone types into a search box.
MAX_QUERY_LENGTH: Final = 256
#: The most hits one page holds, and how many it holds unless asked.
MAX_LIMIT: Final = 100
DEFAULT_LIMIT: Final = 20
#: How deep pages go: past this, a shopper refines the query instead (a page that
#: deep costs a backend a sort of every hit before it).
MAX_OFFSET: Final = 10_000
#: How much text a document holds, which bounds what one product costs to index.
MAX_TITLE_LENGTH: Final = 1_000
MAX_BODY_LENGTH: Final = 100_000
#: The most bounds price buckets have (one more bucket than bounds).
MAX_PRICE_BOUNDS: Final = 20
#: Bounds on what one query filters and counts by, so that a query stays one query.
MAX_FILTER_NAMES: Final = 20
MAX_FILTER_VALUES: Final = 100
_BUCKETS: Final = "facets.prices"
#: Prices are stored as 64-bit integers.
_MAX_UNITS: Final = 2**63 - 1

#: The facet counting documents per category (each ancestor of a product's category
#: counts it too), the one counting them per price bucket, and the one counting them
#: in stock (``"true"``) and not (``"false"``).
CATEGORY_FACET: Final = "category"
PRICE_FACET: Final = "price"
IN_STOCK_FACET: Final = "in_stock"


def attribute_facet(name: str) -> str:
    """The name of the facet counting documents per value of attribute ``name``."""
    return f"attributes.{name}"


def _name(value: object, field: str) -> str:
    return check_text(value, field, max_length=MAX_KEY_LENGTH)


def _names(value: object, field: str, *, limit: int | None = None) -> frozenset[str]:
    """A set of non-empty keys from one or a collection of them."""
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, Iterable) or isinstance(value, bytes | Mapping):
        raise InvalidInput(f"expected strings, got {type(value).__name__}", field=field)
    found = frozenset(_name(item, field) for item in value)
    if limit is not None and len(found) > limit:
        raise InvalidInput(f"at most {limit} values, got {len(found)}", field=field)
    return found


def _category_ids(value: Iterable[str] | str) -> frozenset[str]:
    return _names(value, "category_ids")


def _document_attributes(value: Mapping[str, Iterable[str] | str]) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping):
        raise InvalidInput("expected attribute names to values", field="attributes")
    checked: dict[str, tuple[str, ...]] = {}
    for name in sorted(_names(value.keys(), "attributes")):
        values = tuple(sorted(_names(value[name], f"attributes.{name}")))
        if values:
            checked[name] = values
    return checked


def _prices(value: Mapping[str, int]) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise InvalidInput("expected currency codes to minor units", field="prices")
    checked: dict[str, int] = {}
    for currency, units in value.items():
        _check_units(units, "prices")
        checked[normalize_currency(currency, field="prices")] = units
    return dict(sorted(checked.items()))


def _check_units(value: object, field: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_UNITS:
        raise InvalidInput("must be whole minor units, not negative", field=field)


@attrs.frozen(kw_only=True)
class SearchDocument:
    """What a search backend keeps of one product in one locale."""

    product_id: str = attrs.field(validator=storable(MAX_KEY_LENGTH))
    locale: str = attrs.field(default="", validator=storable(MAX_KEY_LENGTH, blank=True))
    """The locale of the words (``de``, ``de_AT``); ``""`` for a shop in one language.
    A query searches the documents of its own locale only."""
    title: str = attrs.field(validator=storable(MAX_TITLE_LENGTH, blank=True))
    """The product's name: its words rank above the body's."""
    body: str = attrs.field(default="", validator=storable(MAX_BODY_LENGTH, blank=True))
    """Every other word a shopper may search by, as text: the description, the SKUs,
    the attribute values, the tags."""
    category_ids: frozenset[str] = attrs.field(factory=frozenset, converter=_category_ids)
    """The product's categories and every ancestor of each."""
    attributes: Mapping[str, tuple[str, ...]] = attrs.field(
        factory=dict, converter=_document_attributes
    )
    """Attribute name to values, the product's and its variants' together."""
    prices: Mapping[str, int] = attrs.field(factory=dict, converter=_prices)
    """Currency to the lowest unit price of any variant, in minor units."""
    in_stock: bool = attrs.field(default=True, validator=flag)
    """Whether any variant can be bought now."""
    published: bool = attrs.field(default=True, validator=flag)
    """Whether shoppers may see the product; others are found only by queries that
    set :attr:`SearchQuery.include_unpublished`."""
    created_at: datetime = attrs.field(validator=aware)


def _range_currency(value: str) -> str:
    return normalize_currency(value, field="price")


@attrs.frozen(kw_only=True)
class PriceRange:
    """Documents priced in ``currency`` from ``min_units`` to ``max_units``, both
    included (either open when ``None``); a document with no price in the currency
    is outside every range."""

    currency: str = attrs.field(converter=_range_currency)
    min_units: int | None = None
    max_units: int | None = None

    def __attrs_post_init__(self) -> None:
        for bound in (self.min_units, self.max_units):
            if bound is not None:
                _check_units(bound, "price")
        if (
            self.min_units is not None
            and self.max_units is not None
            and self.min_units > self.max_units
        ):
            raise InvalidInput("the lowest price is above the highest", field="price")

    def holds(self, units: int) -> bool:
        """Whether ``units`` is in the range."""
        return (self.min_units is None or units >= self.min_units) and (
            self.max_units is None or units <= self.max_units
        )


def _bucket_currency(value: str) -> str:
    return normalize_currency(value, field=_BUCKETS)


def _bounds(value: Iterable[int]) -> tuple[int, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise InvalidInput("expected bounds in whole minor units", field=_BUCKETS)
    bounds = tuple(value)
    for bound in bounds:
        _check_units(bound, _BUCKETS)
    if not 1 <= len(bounds) <= MAX_PRICE_BOUNDS:
        raise InvalidInput(
            f"from 1 to {MAX_PRICE_BOUNDS} bounds, got {len(bounds)}", field=_BUCKETS
        )
    if any(low >= high for low, high in pairwise(bounds)):
        raise InvalidInput("each bound above the one before", field=_BUCKETS)
    return bounds


@attrs.frozen(kw_only=True)
class PriceBuckets:
    """Price ranges to count documents in, split at ``bounds`` (minor units of
    ``currency``, rising): ``(1000, 5000)`` makes below 1000, 1000 up to 5000, and
    5000 and above. A bucket holds its lower bound and not its upper one. A document
    with no price in the currency is in none."""

    currency: str = attrs.field(converter=_bucket_currency)
    bounds: tuple[int, ...] = attrs.field(converter=_bounds)

    def labels(self) -> tuple[str, ...]:
        """The facet value of each bucket, lowest first: ``*-1000``, ``1000-5000``,
        ``5000-*`` (as search engines name ranges)."""
        edges = ("*", *map(str, self.bounds), "*")
        return tuple(f"{low}-{high}" for low, high in pairwise(edges))

    def bucket_of(self, units: int) -> int:
        """The position of the bucket ``units`` falls in."""
        return sum(1 for bound in self.bounds if units >= bound)


def _facet_attributes(value: Iterable[str] | str) -> tuple[str, ...]:
    return tuple(sorted(_names(value, "facets.attributes", limit=MAX_FILTER_NAMES)))


@attrs.frozen(kw_only=True)
class FacetRequest:
    """Which facets a query counts."""

    categories: bool = attrs.field(default=False, validator=flag)
    attributes: tuple[str, ...] = attrs.field(default=(), converter=_facet_attributes)
    """Attribute names to count values of (each a facet, see :func:`attribute_facet`)."""
    prices: PriceBuckets | None = None
    in_stock: bool = attrs.field(default=False, validator=flag)

    def __attrs_post_init__(self) -> None:
        if self.prices is not None and not isinstance(self.prices, PriceBuckets):
            raise InvalidInput("expected PriceBuckets", field=_BUCKETS)


def _query_text(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    # Only the length is checked: anything else in a text is a word or a separator,
    # NUL and lone surrogates included.
    if not isinstance(value, str):
        raise InvalidInput(f"must be a string, got {type(value).__name__}", field="text")
    if len(value) > MAX_QUERY_LENGTH:
        raise InvalidInput(
            f"must be at most {MAX_QUERY_LENGTH} characters, got {len(value)}", field="text"
        )


def _category_id(value: str | None) -> str | None:
    return None if value is None else _name(value, "category_id")


def _filter_attributes(value: Mapping[str, Iterable[str] | str]) -> dict[str, frozenset[str]]:
    if not isinstance(value, Mapping):
        raise InvalidInput("expected attribute names to values", field="attributes")
    if len(value) > MAX_FILTER_NAMES:
        raise InvalidInput(f"at most {MAX_FILTER_NAMES} attributes", field="attributes")
    checked: dict[str, frozenset[str]] = {}
    for name in sorted(_names(value.keys(), "attributes")):
        field = f"attributes.{name}"
        values = _names(value[name], field, limit=MAX_FILTER_VALUES)
        if not values:
            raise InvalidInput("give at least one value", field=field)
        checked[name] = values
    return checked


@attrs.frozen(kw_only=True)
class SearchQuery:
    """What a shopper looks for. Every filter given must hold; within one attribute,
    any of its values will do.

    :raises InvalidInput: naming the field that is wrong.
    """

    text: str = attrs.field(default="", validator=_query_text)
    """Words, each of which a document must contain (in its title or body)."""
    locale: str = attrs.field(default="", validator=storable(MAX_KEY_LENGTH, blank=True))
    prefix: bool = attrs.field(default=False, validator=flag)
    """Whether the last word also finds the words it begins, unless the text ends in
    a space or a punctuation mark (the shopper has finished that word)."""
    category_id: str | None = attrs.field(default=None, converter=_category_id)
    """Only documents in this category (or in one below it)."""
    attributes: Mapping[str, frozenset[str]] = attrs.field(
        factory=dict, converter=_filter_attributes
    )
    """Attribute name to the values a document must have one of."""
    price: PriceRange | None = None
    in_stock_only: bool = attrs.field(default=False, validator=flag)
    include_unpublished: bool = attrs.field(default=False, validator=flag)
    """Whether documents shoppers may not see are found too (for staff)."""
    facets: FacetRequest = attrs.field(factory=FacetRequest)
    limit: int = attrs.field(default=DEFAULT_LIMIT, validator=whole_number(1, MAX_LIMIT))
    offset: int = attrs.field(default=0, validator=whole_number(0, MAX_OFFSET))

    def __attrs_post_init__(self) -> None:
        if self.price is not None and not isinstance(self.price, PriceRange):
            raise InvalidInput("expected a PriceRange", field="price")
        if not isinstance(self.facets, FacetRequest):
            raise InvalidInput("expected a FacetRequest", field="facets")


@attrs.frozen
class SearchHit:
    """A document found, with its score in this result (higher ranks first)."""

    product_id: str
    score: float


@attrs.frozen
class FacetCount:
    """How many documents found have one facet value."""

    value: str
    count: int


@attrs.frozen(kw_only=True)
class SearchResult:
    """One page of what a query found."""

    hits: tuple[SearchHit, ...]
    """Best first; equal scores by product id."""
    total: int
    """How many documents the query found, on every page together."""
    facets: Mapping[str, tuple[FacetCount, ...]]
    """Facet name to counts, for the facets the query asked for. Categories and
    attribute values come most frequent first (then by value) and only when found;
    price buckets come lowest first, and in stock ``"true"`` then ``"false"``, each
    even when none was found."""

    @property
    def product_ids(self) -> tuple[str, ...]:
        """The products of :attr:`hits`, in order."""
        return tuple(hit.product_id for hit in self.hits)


class SearchBackend(Protocol):
    """A catalogue search engine, as adapters present it."""

    def index(self, documents: Sequence[SearchDocument]) -> None:
        """Keep ``documents``, each replacing the one of its product and locale; of
        two for the same product and locale, the last counts. All or none are kept.

        :raises InvalidInput: naming ``documents``, for anything but documents.
        """
        ...

    def remove(self, product_ids: Iterable[str]) -> None:
        """Forget the documents of these products, in every locale (an id with none
        is ignored).

        :raises InvalidInput: naming ``product_ids``.
        """
        ...

    def search(self, query: SearchQuery) -> SearchResult:
        """What ``query`` finds, one page of it.

        :raises InvalidInput: naming ``query``, for anything but a query.
        """
        ...

    def clear(self) -> None:
        """Forget every document."""
        ...
