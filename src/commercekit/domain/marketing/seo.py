"""Being found by search engines: where a product's and a category's pages live, the
sitemaps that list them, and the structured data (schema.org ``Product`` as
JSON-LD) a product page carries.

URLs are built from the storefront's base URL and a path template per kind of page
(``/products/{slug}``), each value percent-encoded, unless the product or category
names a canonical URL of its own. Sitemaps follow the sitemaps.org protocol: at most
50,000 URLs and 50 MB (uncompressed) to a file, every file listed in a sitemap
index; they are written a buffer at a time to files the caller opens, so memory
stays flat however large the catalogue. JSON-LD is escaped so that it can be
written inside a ``<script>`` element: no text in it can end the element.
"""

from __future__ import annotations

import contextlib
import json
import re
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Final, Protocol, TypeAlias
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape

import attrs

from commercekit.domain._validators import require_aware, text
from commercekit.domain.catalog import Category, Condition, Media, MediaKind, Product
from commercekit.domain.errors import InvalidInput, shown
from commercekit.domain.marketing.offers import Availability, Offer, amount_text

__all__ = [
    "CATEGORY_PATH",
    "MAX_SITEMAP_BYTES",
    "MAX_SITEMAP_URLS",
    "MAX_URL_LENGTH",
    "PRODUCT_PATH",
    "BinaryWriter",
    "Opener",
    "SitemapFile",
    "SitemapSet",
    "SitemapUrl",
    "Storefront",
    "json_ld_script",
    "json_ld_text",
    "product_json_ld",
    "write_sitemaps",
]

# Characters XML 1.0 does not allow in a document at all, even escaped.
NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str) -> str:
    """``value`` as XML character data: what XML 1.0 cannot hold at all (control
    characters, lone surrogates) dropped, the rest escaped. One such character
    anywhere would make a whole feed or sitemap unreadable."""
    return escape(NOT_XML.sub("", value))


PRODUCT_PATH: Final = "/products/{slug}"
CATEGORY_PATH: Final = "/categories/{slug}"
#: The sitemaps.org protocol's limits for one sitemap file, and for a URL in one.
MAX_SITEMAP_URLS: Final = 50_000
MAX_SITEMAP_BYTES: Final = 50 * 1024 * 1024
MAX_URL_LENGTH: Final = 2047
_NAMESPACE: Final = "http://www.sitemaps.org/schemas/sitemap/0.9"
_XML_DECLARATION: Final = '<?xml version="1.0" encoding="UTF-8"?>\n'
_URLSET_OPEN: Final = f'{_XML_DECLARATION}<urlset xmlns="{_NAMESPACE}">\n'.encode()
_URLSET_CLOSE: Final = b"</urlset>\n"
#: How much a sitemap file collects before it is handed to the file.
_BUFFER: Final = 64 * 1024
# Text that must never appear in a template of the storefront's paths.
_UNSAFE: Final = frozenset(" \t\r\n\"'<>\\`")
_CONDITIONS: Final = {
    Condition.NEW: "https://schema.org/NewCondition",
    Condition.REFURBISHED: "https://schema.org/RefurbishedCondition",
    Condition.USED: "https://schema.org/UsedCondition",
}


# --- where pages live ---------------------------------------------------------------


def _root(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"must be an http(s) URL, got {shown(value)}", field=field)
    return value.rstrip("/")


def _base_url(value: object) -> str:
    return _root(value, "base_url")


def _media_url(value: object) -> str:
    return _root(value, "media_url")


def _check_base(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value == "" and attribute.name != "base_url":
        return
    parts = urlsplit(value)
    if (
        len(value) > 1000
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.query
        or parts.fragment
        or any(char in _UNSAFE for char in value)
    ):
        raise InvalidInput(
            f"must be an absolute http(s) URL without a query, got {shown(value)}",
            field=attribute.name,
        )


def _template(*names: str) -> Callable[[object, attrs.Attribute[str], str], None]:
    allowed = frozenset(names)
    listed = ", ".join("{" + name + "}" for name in names)

    def check(_: object, attribute: attrs.Attribute[str], value: str) -> None:
        text(200)(_, attribute, value)
        wrong = InvalidInput(
            f"must be a path starting with / that names {listed}, got {shown(value)}",
            field=attribute.name,
        )
        if not value.startswith("/") or any(char in _UNSAFE for char in value):
            raise wrong
        try:
            parsed = list(string.Formatter().parse(value))
        except ValueError:
            raise wrong from None
        fields = [(name, spec, conversion) for _, name, spec, conversion in parsed if name]
        if not fields or any(
            name not in allowed or spec or conversion for name, spec, conversion in fields
        ):
            raise wrong

    return check


def _parameter(_: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not isinstance(value, str) or not (value == "" or value.isidentifier()):
        raise InvalidInput(
            f"must be a query parameter's name (letters, digits, _), got {shown(value)}",
            field=attribute.name,
        )


def _joined(url: str, name: str, value: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{name}={quote(value, safe='')}"


@attrs.frozen(kw_only=True)
class Storefront:
    """Where a store's pages are: the URLs search engines, feeds and sitemaps are
    given."""

    base_url: str = attrs.field(converter=_base_url, validator=_check_base)
    """The storefront's root, such as ``https://shop.example`` or
    ``https://shop.example/de`` (a trailing ``/`` is dropped)."""
    product_path: str = attrs.field(default=PRODUCT_PATH, validator=_template("slug", "id"))
    """A product page's path: ``{slug}`` (in the page's locale) and ``{id}``."""
    category_path: str = attrs.field(
        default=CATEGORY_PATH, validator=_template("slug", "id", "path")
    )
    """A category page's path: ``{slug}``, ``{id}``, and ``{path}``, the slugs from
    the root category down to it joined by ``/``."""
    media_url: str = attrs.field(default="", converter=_media_url, validator=_check_base)
    """Where media given as paths are served from; ``""``: the base URL."""
    variant_parameter: str = attrs.field(default="sku", validator=_parameter)
    """The query parameter that picks a variant on a product page
    (``?sku=TEE-M``); ``""``: a variant's link is its product's."""

    def url(self, path: str) -> str:
        """The absolute URL of a path on the storefront."""
        return f"{self.base_url}/{path.lstrip('/')}"

    def product_url(self, product: Product, *, locale: str | None = None) -> str:
        """A product's page: its canonical URL if it names one, else its path with
        its slug in ``locale``."""
        if product.canonical_url:
            return product.canonical_url
        slug = product.text(locale).slug if locale and product.translations else product.slug
        path = self.product_path.format(slug=quote(slug, safe=""), id=quote(product.id, safe=""))
        return f"{self.base_url}{path}"

    def variant_url(self, product: Product, sku: str, *, locale: str | None = None) -> str:
        """The page of one variant: its product's, picking the variant when the
        product has several."""
        url = self.product_url(product, locale=locale)
        if not self.variant_parameter or len(product.variants) < 2:
            return url
        return _joined(url, self.variant_parameter, sku)

    def category_url(self, category: Category, ancestors: Sequence[Category] = ()) -> str:
        """A category's page: its canonical URL if it names one, else its path.

        :param ancestors: its parent categories from the root down, for ``{path}``.
        """
        if category.canonical_url:
            return category.canonical_url
        slugs = [quote(each.slug, safe="") for each in (*ancestors, category)]
        path = self.category_path.format(
            slug=slugs[-1], id=quote(category.id, safe=""), path="/".join(slugs)
        )
        return f"{self.base_url}{path}"

    def media_link(self, media: Media) -> str:
        """The absolute URL of an image or file (given as one, or as a path)."""
        if media.url.startswith(("http://", "https://")):
            return media.url
        return f"{self.media_url or self.base_url}/{media.url.lstrip('/')}"

    def images(self, product: Product, sku: str | None = None) -> list[str]:
        """A product's images as absolute URLs, those that show variant ``sku`` first
        (then those of the product as a whole; with ``sku`` ``None``, every image)."""
        pictures = [m for m in product.media if m.kind is MediaKind.IMAGE]
        if sku is not None:
            pictures = [m for m in pictures if sku in m.variant_skus] + [
                m for m in pictures if not m.variant_skus
            ]
        return [self.media_link(m) for m in pictures]


# --- sitemaps ---------------------------------------------------------------------------


class BinaryWriter(Protocol):
    """Where a file's bytes go: an open binary file, a socket's writer, a list's
    ``append`` behind a small class."""

    def write(self, data: bytes, /) -> object: ...


Opener: TypeAlias = Callable[[str], AbstractContextManager[BinaryWriter]]
"""Opens the file with a name (``sitemap-1.xml``) for writing, as a context manager:
``lambda name: (folder / name).open("wb")``."""


@attrs.frozen
class SitemapUrl:
    """A page a sitemap lists, and when it last changed (if known)."""

    loc: str
    lastmod: datetime | None = None


@attrs.frozen
class SitemapFile:
    """A sitemap file written: its name, how many URLs it lists and its size."""

    name: str
    urls: int
    size: int


@attrs.frozen
class SitemapSet:
    """What :func:`write_sitemaps` wrote: the index and the files it lists."""

    index: str
    """The sitemap index's file name: the one to give search engines."""
    files: tuple[SitemapFile, ...]
    skipped: int = 0
    """URLs left out for being longer than the protocol allows."""

    @property
    def urls(self) -> int:
        """How many URLs the files list together."""
        return sum(each.urls for each in self.files)


def _when(value: datetime) -> str:
    return require_aware(value, field="lastmod").isoformat(timespec="seconds")


def _entry(item: str | SitemapUrl, tag: str) -> bytes | None:
    url = SitemapUrl(item) if isinstance(item, str) else item
    if not isinstance(url, SitemapUrl) or not isinstance(url.loc, str):
        raise InvalidInput(f"expected URLs, got {shown(item)}", field="urls")
    if len(url.loc) > MAX_URL_LENGTH:
        return None
    lastmod = "" if url.lastmod is None else f"<lastmod>{_when(url.lastmod)}</lastmod>"
    return f"<{tag}><loc>{xml_text(url.loc)}</loc>{lastmod}</{tag}>\n".encode()


class _File:
    """A sitemap file being written, its bytes collected and handed on in buffers."""

    def __init__(self, stack: contextlib.ExitStack, open_file: Opener, name: str) -> None:
        self.name = name
        # Its own stack, itself on the writer's: an error midway reaches the file.
        self._stack = stack.enter_context(contextlib.ExitStack())
        self._out = self._stack.enter_context(open_file(name))
        self._held: list[bytes] = []
        self._held_size = 0
        self.urls = 0
        self.size = 0

    def write(self, data: bytes) -> None:
        self._held.append(data)
        self._held_size += len(data)
        self.size += len(data)
        if self._held_size >= _BUFFER:
            self._flush()

    def _flush(self) -> None:
        if self._held:
            self._out.write(b"".join(self._held))
            self._held, self._held_size = [], 0

    def close(self, footer: bytes) -> SitemapFile:
        self.write(footer)
        self._flush()
        self._stack.close()
        return SitemapFile(self.name, self.urls, self.size)


def write_sitemaps(
    urls: Iterable[str | SitemapUrl],
    open_file: Opener,
    *,
    location: str,
    now: datetime,
    name: str = "sitemap",
    max_urls: int = MAX_SITEMAP_URLS,
    max_bytes: int = MAX_SITEMAP_BYTES,
) -> SitemapSet:
    """Write ``urls`` as sitemap files (``sitemap-1.xml``, ``sitemap-2.xml``...) of at
    most ``max_urls`` URLs and ``max_bytes`` bytes each, then the index that lists
    them (``sitemap.xml``), each file opened by ``open_file`` in turn and closed
    before the next is opened. ``urls`` is read once, as it comes.

    A URL longer than the protocol allows is left out and counted. An empty
    ``urls`` still gives one (empty) file, so that the index lists something.

    :param location: the URL the files are served under (the index lists
        ``<location>/sitemap-1.xml``...).
    :param now: when the files were written, as the index tells.
    :raises InvalidInput: naming ``urls``, for anything but URLs; or for more files
        than one index may list.
    """
    base = location.rstrip("/")
    written: list[SitemapFile] = []
    skipped = 0
    with contextlib.ExitStack() as stack:
        current: _File | None = None
        for item in urls:
            entry = _entry(item, "url")
            if entry is None:
                skipped += 1
                continue
            if current is not None and (
                current.urls >= max_urls
                or current.size + len(entry) + len(_URLSET_CLOSE) > max_bytes
            ):
                written.append(current.close(_URLSET_CLOSE))
                current = None
            if current is None:
                if len(written) >= MAX_SITEMAP_URLS:
                    raise InvalidInput("more URLs than one sitemap index can list", field="urls")
                current = _File(stack, open_file, f"{name}-{len(written) + 1}.xml")
                current.write(_URLSET_OPEN)
            current.write(entry)
            current.urls += 1
        if current is None:
            current = _File(stack, open_file, f"{name}-1.xml")
            current.write(_URLSET_OPEN)
        written.append(current.close(_URLSET_CLOSE))
        index = _File(stack, open_file, f"{name}.xml")
        index.write(f'{_XML_DECLARATION}<sitemapindex xmlns="{_NAMESPACE}">\n'.encode())
        for each in written:
            listed = _entry(SitemapUrl(f"{base}/{each.name}", now), "sitemap")
            assert listed is not None
            index.write(listed)
        index.urls = len(written)
        index.close(b"</sitemapindex>\n")
    return SitemapSet(f"{name}.xml", tuple(written), skipped)


# --- structured data ----------------------------------------------------------------------


def _valid_until(offer: Offer, now: datetime) -> str | None:
    """The last day a sale's price holds (schema.org wants a date), while it is on."""
    if offer.sale_ends_at is None or not offer.sale_in_force(now):
        return None
    return (offer.sale_ends_at - timedelta(microseconds=1)).date().isoformat()


def _offer(
    offer: Offer, *, url: str, condition: Condition, now: datetime, gtin: str, mpn: str
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "@type": "Offer",
        "url": url,
        "sku": offer.sku,
        "price": amount_text(offer.price_units(now), offer.currency),
        "priceCurrency": offer.currency,
        "availability": offer.availability.schema_org,
        "itemCondition": _CONDITIONS[condition],
    }
    until = _valid_until(offer, now)
    if until is not None:
        found["priceValidUntil"] = until
    if gtin:
        found["gtin"] = gtin
    if mpn:
        found["mpn"] = mpn
    return found


def product_json_ld(
    product: Product,
    offers: Sequence[Offer],
    *,
    storefront: Storefront,
    now: datetime,
    locale: str | None = None,
    brand: str = "",
) -> dict[str, Any]:
    """A schema.org ``Product`` for a product's page, as plain data for
    :func:`json_ld_script`.

    Its name, description, images, brand and URL, and its offers: one ``Offer`` for
    a product with one variant (its SKU, GTIN and MPN on the product too), or an
    ``AggregateOffer`` with the lowest and highest price and an ``Offer`` per
    variant. An offer's price is what a unit costs at ``now`` (a sale's while it is
    on, with ``priceValidUntil`` its last day), written as a string with the
    currency's decimals beside ``priceCurrency``; a product not on sale at ``now``
    is offered out of stock. Variants without an offer are left out; with none, so
    is ``offers``.

    :param offers: the variants' offers, all in one currency.
    :param brand: the brand of a product that names none.
    """
    words = product.text(locale)
    variants = {variant.sku: variant for variant in product.variants}
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": words.name,
        "url": storefront.product_url(product, locale=locale),
    }
    description = words.description or words.seo_description
    if description:
        data["description"] = description
    images = storefront.images(product)
    if images:
        data["image"] = images
    if product.brand or brand:
        data["brand"] = {"@type": "Brand", "name": product.brand or brand}
    on_sale = product.is_available(now)
    listed = []
    for offer in offers:
        variant = variants.get(offer.sku)
        if variant is None:
            continue
        if not on_sale:
            offer = attrs.evolve(offer, availability=Availability.OUT_OF_STOCK)
        listed.append(
            (
                offer,
                _offer(
                    offer,
                    url=storefront.variant_url(product, offer.sku, locale=locale),
                    condition=product.condition,
                    now=now,
                    gtin=variant.gtin,
                    mpn=variant.mpn,
                ),
            )
        )
    if len(product.variants) == 1:
        only = product.variants[0]
        data["sku"] = only.sku
        if only.gtin:
            data["gtin"] = only.gtin
        if only.mpn:
            data["mpn"] = only.mpn
        if listed:
            data["offers"] = listed[0][1]
    elif listed:
        prices = [offer.price_units(now) for offer, _ in listed]
        currency = listed[0][0].currency
        data["offers"] = {
            "@type": "AggregateOffer",
            "priceCurrency": currency,
            "lowPrice": amount_text(min(prices), currency),
            "highPrice": amount_text(max(prices), currency),
            "offerCount": len(listed),
            "offers": [each for _, each in listed],
        }
    return data


#: What JSON-LD must not hold as itself inside a ``<script>`` element: ``</script>``
#: and ``<!--`` would end or upset it, and the two separators end a line in
#: JavaScript. Each is written as a JSON escape, which means the same.
_SCRIPT_ESCAPES: Final = {
    ord("<"): "\\u003c",
    ord(">"): "\\u003e",
    ord("&"): "\\u0026",
    ord("\u2028"): "\\u2028",
    ord("\u2029"): "\\u2029",
}


def json_ld_text(data: Mapping[str, Any]) -> str:
    """``data`` as JSON that is safe inside a ``<script>`` element."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(_SCRIPT_ESCAPES)


def json_ld_script(data: Mapping[str, Any]) -> str:
    """The ``<script type="application/ld+json">`` element holding ``data``."""
    return f'<script type="application/ld+json">{json_ld_text(data)}</script>'
