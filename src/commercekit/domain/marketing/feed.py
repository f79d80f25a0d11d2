"""The product feed for shopping ads: Google Merchant Center's RSS 2.0 format, with
its ``g:`` fields, one ``<item>`` per variant.

A product becomes feed items (:func:`feed_items`), each checked for the fields
Merchant Center requires before it is written (:meth:`FeedItem.problems`); what
cannot go in is left out with a stable reason code (:class:`Reason`) and counted in
the :class:`FeedReport`. :func:`feed_chunks` writes the document as it reads the
items, a buffer of bytes at a time, so that a feed of any size is written in the
memory of one buffer.

Identifiers follow Merchant Center's rule: a product with a GTIN gives it; without
one, its brand and manufacturer part number together identify it; with neither,
the item says ``identifier_exists`` ``no``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Final

import attrs

from commercekit.domain._validators import text, whole_number
from commercekit.domain.catalog import Condition, Product, PublicationState, Variant
from commercekit.domain.marketing.offers import Availability, Offer, amount_text
from commercekit.domain.marketing.seo import NOT_XML, Storefront, xml_text
from commercekit.domain.money import normalize_currency
from commercekit.domain.shipping import DeliveryMethod, RateRule, ShippingZone

__all__ = [
    "GOOGLE_NAMESPACE",
    "FeedHeader",
    "FeedItem",
    "FeedReport",
    "FeedSettings",
    "LeftOut",
    "Reason",
    "Shipping",
    "ShippingRate",
    "feed_chunks",
    "feed_items",
    "shipping_rates",
]

GOOGLE_NAMESPACE: Final = "http://base.google.com/ns/1.0"
#: Merchant Center's limits, in characters.
MAX_ID: Final = 50
MAX_TITLE: Final = 150
MAX_DESCRIPTION: Final = 5000
MAX_LINK: Final = 2000
#: How many additional images an item may name.
MAX_MORE_IMAGES: Final = 10
#: How much of the document is collected before it is handed on.
CHUNK_BYTES: Final = 64 * 1024
# Option axes whose values Merchant Center reads as a variant's colour, size...
_OPTION_FIELDS: Final = {
    "color": "color",
    "colour": "color",
    "size": "size",
    "material": "material",
    "pattern": "pattern",
}


class Reason(enum.Enum):
    """Why a product or a variant is left out of a feed; the values are stable codes."""

    UNPUBLISHED = "unpublished"
    """A draft, or archived."""
    NOT_AVAILABLE = "not_available"
    """Published, but outside its availability window now."""
    NO_VARIANTS = "no_variants"
    NO_PRICE = "no_price"
    """No price in the feed's currency for its channel (or everyone)."""
    NO_IMAGE = "no_image"
    NO_LINK = "no_link"
    """No page to link to, or a URL too long for Merchant Center."""
    NO_TITLE = "no_title"
    NO_DESCRIPTION = "no_description"
    """Neither a description nor an SEO description in the feed's locale."""
    BAD_ID = "bad_id"
    """A SKU longer than Merchant Center's 50 characters."""


@attrs.frozen
class LeftOut:
    """A product (``sku`` ``None``) or one of its variants the feed left out."""

    product_id: str
    sku: str | None
    reason: Reason
    detail: str = ""


@attrs.frozen(kw_only=True)
class Shipping:
    """What shipping one item costs to a country, by a service."""

    country: str
    service: str
    price_units: int
    currency: str


@attrs.frozen(kw_only=True)
class ShippingRate:
    """How a feed prices an item's shipping to a country: a rate rule, asked with
    the item's weight and price as a shipment of that one item."""

    country: str
    service: str
    currency: str
    rule: RateRule

    def for_item(self, weight_grams: int, price_units: int) -> Shipping | None:
        """The item's shipping, or ``None`` when the rule does not take it."""
        units = self.rule.price_units(weight_grams, price_units)
        if units is None:
            return None
        return Shipping(
            country=self.country, service=self.service, price_units=units, currency=self.currency
        )


def shipping_rates(
    methods: Iterable[DeliveryMethod], zones: Iterable[ShippingZone], currency: str
) -> list[ShippingRate]:
    """The rates of the store's delivery methods a feed can state: those priced by a
    rule in ``currency`` (not by a carrier's quote), to zones that are whole
    countries (a zone of some regions or postal codes would claim a price for all
    of the country), by country, then service; pickups are not shipping."""
    code = normalize_currency(currency)
    by_id = {zone.id: zone for zone in zones}
    found: dict[tuple[str, str], ShippingRate] = {}
    for method in methods:
        rule = method.rules.get(code)
        if rule is None or method.pickup_location is not None or method.carrier is not None:
            continue
        for zone_id in sorted(method.zone_ids):
            zone = by_id.get(zone_id)
            if zone is None or zone.regions or zone.postal_patterns:
                continue
            for country in sorted(zone.countries):
                found.setdefault(
                    (country, method.name),
                    ShippingRate(country=country, service=method.name, currency=code, rule=rule),
                )
    return [found[key] for key in sorted(found)]


@attrs.frozen(kw_only=True)
class FeedSettings:
    """A store's choices for its feeds."""

    title: str = attrs.field(default="", validator=text(150, blank=True))
    """The feed's title; ``""``: the store's name."""
    description: str = attrs.field(default="", validator=text(500, blank=True))
    brand: str = attrs.field(default="", validator=text(70, blank=True))
    """The brand of products that name none (a store selling its own goods)."""
    shipping: tuple[ShippingRate, ...] = ()
    """Shipping stated in the feed for each currency these name, instead of what
    the store's delivery methods charge."""
    most_listed: int = attrs.field(default=10_000, validator=whole_number(0, 10_000_000))
    """How many left-out products a report lists one by one (every one is counted)."""


@attrs.frozen(kw_only=True)
class FeedHeader:
    """The RSS channel around the items."""

    title: str
    link: str
    description: str = ""


@attrs.frozen(kw_only=True)
class FeedItem:
    """One variant as a feed item, each field as Merchant Center names it."""

    product_id: str
    """The product it is a variant of (not written: ``item_group_id`` says it where
    the product has several variants)."""
    id: str
    item_group_id: str = ""
    title: str
    description: str
    link: str
    image_link: str
    additional_image_links: tuple[str, ...] = ()
    availability: Availability
    currency: str
    price_units: int | None
    """The list price; ``None``: the variant has none in the feed's currency."""
    sale_units: int | None = None
    sale_window: tuple[datetime, datetime] | None = None
    """When the sale price holds, where its end is known."""
    brand: str = ""
    gtin: str = ""
    mpn: str = ""
    condition: Condition = Condition.NEW
    product_type: str = ""
    options: tuple[tuple[str, str], ...] = ()
    """``color``, ``size``, ``material`` and ``pattern``, from its options."""
    weight_grams: int | None = None
    shipping: tuple[Shipping, ...] = ()

    @property
    def identifier_exists(self) -> bool:
        """Whether it has what identifies it to Merchant Center: a GTIN, or a brand
        and a manufacturer part number together."""
        return bool(self.gtin) or bool(self.brand and self.mpn)

    def problems(self) -> list[tuple[Reason, str]]:
        """The fields Merchant Center requires that it lacks (or has too long), each
        with the reason it is left out for; none when it can go in."""
        found: list[tuple[Reason, str]] = []
        if not self.id or len(self.id) > MAX_ID:
            found.append((Reason.BAD_ID, f"id must be 1 to {MAX_ID} characters"))
        if not self.title:
            found.append((Reason.NO_TITLE, "title is missing"))
        if not self.description:
            found.append((Reason.NO_DESCRIPTION, "description is missing"))
        if not self.link or len(self.link) > MAX_LINK:
            found.append((Reason.NO_LINK, f"link is missing or over {MAX_LINK} characters"))
        if not self.image_link or len(self.image_link) > MAX_LINK:
            found.append((Reason.NO_IMAGE, f"image_link is missing or over {MAX_LINK} characters"))
        if self.price_units is None:
            found.append((Reason.NO_PRICE, f"price in {self.currency} is missing"))
        return found


@attrs.define
class FeedReport:
    """What a feed held, and what it left out and why."""

    currency: str
    channel: str | None = None
    products: int = 0
    """Products read."""
    items: int = 0
    """Items written."""
    counts: dict[str, int] = attrs.field(factory=dict)
    """How many were left out, by reason code."""
    left_out: list[LeftOut] = attrs.field(factory=list)
    """Those left out, one by one, up to ``most_listed`` of them."""
    most_listed: int = 10_000

    def leave_out(self, entry: LeftOut) -> None:
        """Count (and list, while there is room) one left out."""
        code = entry.reason.value
        self.counts[code] = self.counts.get(code, 0) + 1
        if len(self.left_out) < self.most_listed:
            self.left_out.append(entry)

    @property
    def left_out_count(self) -> int:
        """How many were left out in all."""
        return sum(self.counts.values())

    @property
    def complete(self) -> bool:
        """Whether :attr:`left_out` lists every one left out."""
        return len(self.left_out) == self.left_out_count


def _plain(value: str, most: int) -> str:
    return NOT_XML.sub("", value).strip()[:most].strip()


def _title(name: str, product: Product, variant: Variant) -> str:
    values = [variant.options[axis] for axis in product.option_axes if axis in variant.options]
    values += [v for k, v in variant.options.items() if k not in product.option_axes]
    return _plain(f"{name} ({', '.join(values)})" if values else name, MAX_TITLE)


def _options(variant: Variant) -> tuple[tuple[str, str], ...]:
    found: dict[str, str] = {}
    for axis, value in variant.options.items():
        field = _OPTION_FIELDS.get(axis.casefold())
        if field is not None and field not in found:
            found[field] = _plain(value, 100)
    return tuple(sorted(found.items()))


def feed_items(
    product: Product,
    offers: Mapping[str, Offer],
    *,
    storefront: Storefront,
    now: datetime,
    currency: str,
    locale: str | None = None,
    brand: str = "",
    product_type: str = "",
    shipping: Callable[[Variant, Offer], Sequence[Shipping]] = lambda variant, offer: (),
) -> list[FeedItem | LeftOut]:
    """A product's feed items, one per variant, or why it is left out (unpublished,
    not available now, no variants).

    An item's price is the variant's list price; a sale that is on, or one ahead
    whose end is known, is its ``sale_price`` (with the sale's window where its end
    is known; a sale on now without a start starts ``now``). An item is built even
    when it lacks what Merchant Center requires: :meth:`FeedItem.problems` says
    what, and :func:`feed_chunks` leaves it out.

    :param offers: the variants' offers in ``currency``, by SKU; a SKU without one
        has no price.
    :param brand: the brand of a product that names none.
    :param product_type: the product's place in the store (``Home > Kitchen``).
    :param shipping: what shipping one unit of a variant costs, by country.
    """
    if product.state is not PublicationState.ACTIVE:
        return [LeftOut(product.id, None, Reason.UNPUBLISHED, product.state.value)]
    if not product.is_available(now):
        return [LeftOut(product.id, None, Reason.NOT_AVAILABLE, "outside its availability")]
    if not product.variants:
        return [LeftOut(product.id, None, Reason.NO_VARIANTS)]
    # Most products have no translations: their own words, without resolving any.
    words = product.text(locale) if locale and product.translations else product
    description = _plain(words.description or words.seo_description, MAX_DESCRIPTION)
    grouped = len(product.variants) > 1
    items: list[FeedItem | LeftOut] = []
    for variant in product.variants:
        offer = offers.get(variant.sku)
        images = storefront.images(product, variant.sku)
        sale_units: int | None = None
        window: tuple[datetime, datetime] | None = None
        if offer is not None and offer.sale_units is not None:
            ends_at = offer.sale_ends_at
            if offer.sale_in_force(now) or (offer.sale_ahead(now) and ends_at is not None):
                sale_units = offer.sale_units
                if ends_at is not None:
                    window = (offer.sale_starts_at or now, ends_at)
        items.append(
            FeedItem(
                product_id=product.id,
                id=variant.sku,
                item_group_id=product.id if grouped else "",
                title=_title(words.name, product, variant),
                description=description,
                link=storefront.variant_url(product, variant.sku, locale=locale),
                image_link=images[0] if images else "",
                additional_image_links=tuple(images[1 : 1 + MAX_MORE_IMAGES]),
                availability=(
                    offer.availability if offer is not None else Availability.OUT_OF_STOCK
                ),
                currency=currency,
                price_units=None if offer is None else offer.regular_units,
                sale_units=sale_units,
                sale_window=window,
                brand=product.brand or brand,
                gtin=variant.gtin,
                mpn=variant.mpn,
                condition=product.condition,
                product_type=product_type,
                options=_options(variant),
                weight_grams=variant.weight_grams,
                shipping=(
                    ()
                    if offer is None or not variant.requires_shipping
                    else tuple(shipping(variant, offer))
                ),
            )
        )
    return items


def _time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M%z")


def _item_xml(item: FeedItem) -> str:
    parts = ["<item>\n"]

    def field(name: str, value: str) -> None:
        parts.append(f"<g:{name}>{xml_text(value)}</g:{name}>\n")

    field("id", item.id)
    if item.item_group_id:
        field("item_group_id", item.item_group_id)
    field("title", item.title)
    field("description", item.description)
    field("link", item.link)
    field("image_link", item.image_link)
    for more in item.additional_image_links:
        field("additional_image_link", more)
    field("availability", item.availability.value)
    assert item.price_units is not None  # an item without one is left out
    field("price", f"{amount_text(item.price_units, item.currency)} {item.currency}")
    if item.sale_units is not None:
        field("sale_price", f"{amount_text(item.sale_units, item.currency)} {item.currency}")
        if item.sale_window is not None:
            starts, ends = item.sale_window
            field("sale_price_effective_date", f"{_time(starts)}/{_time(ends)}")
    if item.brand:
        field("brand", item.brand)
    if item.gtin:
        field("gtin", item.gtin)
    if item.mpn:
        field("mpn", item.mpn)
    if not item.identifier_exists:
        field("identifier_exists", "no")
    field("condition", item.condition.value)
    if item.product_type:
        field("product_type", item.product_type)
    for name, value in item.options:
        field(name, value)
    if item.weight_grams is not None:
        field("shipping_weight", f"{item.weight_grams} g")
    for each in item.shipping:
        price = f"{amount_text(each.price_units, each.currency)} {each.currency}"
        parts.append(
            f"<g:shipping><g:country>{each.country}</g:country>"
            f"<g:service>{xml_text(each.service)}</g:service>"
            f"<g:price>{price}</g:price></g:shipping>\n"
        )
    parts.append("</item>\n")
    return "".join(parts)


def feed_chunks(
    entries: Iterable[FeedItem | LeftOut],
    *,
    header: FeedHeader,
    report: FeedReport,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[bytes]:
    """The feed document, in chunks of about ``chunk_bytes``, written as ``entries``
    are read: each item Merchant Center would take goes in, the others (and what
    ``entries`` says was left out) into ``report``."""
    opening = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<rss version="2.0" xmlns:g="{GOOGLE_NAMESPACE}">\n<channel>\n'
        f"<title>{xml_text(_plain(header.title, 500))}</title>\n"
        f"<link>{xml_text(header.link)}</link>\n"
        f"<description>{xml_text(_plain(header.description, 5000))}</description>\n"
    )
    held = [opening.encode()]
    size = len(held[0])
    for entry in entries:
        if isinstance(entry, LeftOut):
            report.leave_out(entry)
            continue
        problems = entry.problems()
        if problems:
            reason = problems[0][0]
            detail = "; ".join(words for _, words in problems)
            report.leave_out(LeftOut(entry.product_id, entry.id, reason, detail))
            continue
        data = _item_xml(entry).encode()
        report.items += 1
        held.append(data)
        size += len(data)
        if size >= chunk_bytes:
            yield b"".join(held)
            held, size = [], 0
    held.append(b"</channel>\n</rss>\n")
    yield b"".join(held)
