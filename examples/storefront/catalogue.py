"""Browsing: the home page, search with facets, categories and product pages."""

from __future__ import annotations

from typing import Final
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from commercekit import PublicationState
from commercekit.domain.marketing.seo import json_ld_text
from commercekit.errors import CommerceError
from commercekit.ports.search import FacetRequest, PriceBuckets, PriceRange, SearchQuery

from .web import (
    cards,
    page,
    see,
    shop_of,
)

#: Where the price facet splits, in minor units of the shop's currency.
PRICE_BOUNDS: Final = (1000, 5000)
#: How many products the search box suggests as the shopper types.
SUGGESTIONS: Final = 6


async def home(request: Request) -> Response:
    shop = shop_of(request)
    found = shop.shopper.search.search(SearchQuery(facets=FacetRequest(categories=True), limit=12))
    counts = {facet.value: facet.count for facet in found.facets.get("category", ())}
    categories = [(cid, name, counts.get(cid, 0)) for cid, name in shop.navigation]
    products = shop.shopper.catalog.products(found.product_ids)
    collections = [(each.id, each.name) for each in shop.shopper.catalog.collections()]
    return page(
        request,
        "home.html",
        {
            "categories": categories,
            "collections": collections,
            "cards": cards(shop, products),
        },
    )


def _query_args(request: Request) -> dict[str, str]:
    wanted = ("q", "category", "origin", "price")
    return {k: v for k in wanted if (v := request.query_params.get(k, "").strip())}


def _price_range(value: str, currency: str) -> PriceRange | None:
    low, _, high = value.partition("-")
    try:
        return PriceRange(
            currency=currency,
            min_units=None if low in ("", "*") else int(low),
            max_units=None if high in ("", "*") else int(high) - 1,
        )
    except (ValueError, CommerceError):
        return None


async def search(request: Request) -> Response:
    shop = shop_of(request)
    args = _query_args(request)
    buckets = PriceBuckets(currency=shop.currency, bounds=PRICE_BOUNDS)
    error = ""
    try:
        query = SearchQuery(
            text=args.get("q", ""),
            prefix=True,
            category_id=args.get("category"),
            attributes={"origin": [args["origin"]]} if "origin" in args else {},
            price=_price_range(args["price"], shop.currency) if "price" in args else None,
            facets=FacetRequest(categories=True, attributes=("origin",), prices=buckets),
            limit=24,
        )
        found = shop.shopper.search.search(query)
    except CommerceError as refused:
        error = f"We could not search for that: {refused.message}."
        found = shop.shopper.search.search(SearchQuery(limit=24))
    names = dict(shop.navigation)

    def link(**change: str) -> str:
        merged = {**args, **change}
        return "/search?" + urlencode({k: v for k, v in merged.items() if v})

    def label(name: str, value: str) -> str:
        if name == "category":
            return names.get(value, value)
        if name == "price":
            low, _, high = value.partition("-")
            if low == "*":
                return f"under {shop.money(int(high))}"
            if high == "*":
                return f"{shop.money(int(low))} and over"
            return f"{shop.money(int(low))} to {shop.money(int(high))}"
        return value

    facets = [
        (
            title,
            key,
            [
                (label(key, f.value), f.count, link(**{key: f.value}), args.get(key) == f.value)
                for f in found.facets.get(facet, ())
                if f.count
            ],
        )
        for title, key, facet in (
            ("Category", "category", "category"),
            ("Origin", "origin", "attributes.origin"),
            ("Price", "price", "price"),
        )
    ]
    products = shop.shopper.catalog.products(found.product_ids)
    return page(
        request,
        "search.html",
        {
            "q": args.get("q", ""),
            "total": found.total,
            "cards": cards(shop, products),
            "facets": facets,
            "clear": {key: link(**{key: ""}) for key in args if key != "q"},
            "error": error,
        },
    )


async def suggest(request: Request) -> Response:
    """As-you-type suggestions for the search box: a few products whose words begin
    with what was typed, as JSON (the search page itself needs no script)."""
    shop = shop_of(request)
    text = request.query_params.get("q", "").strip()
    items: list[dict[str, str]] = []
    # Only what holds a word: a query of separators alone would find everything.
    if any(character.isalnum() for character in text):
        try:
            found = shop.shopper.search.search(
                SearchQuery(text=text, prefix=True, limit=SUGGESTIONS)
            )
        except CommerceError:
            found = None  # nothing to suggest for what cannot be searched for
        listed = shop.shopper.catalog.products(found.product_ids) if found else []
        items = [
            {"name": each["product"].name, "url": each["url"], "price": each["price"]}
            for each in cards(shop, listed)
        ]
    return JSONResponse({"query": text, "items": items})


async def collection(request: Request) -> Response:
    """A collection's products on sale now, in its own order."""
    shop = shop_of(request)
    collection_id = request.path_params["collection_id"]
    found = {each.id: each for each in shop.shopper.catalog.collections()}
    if collection_id not in found:
        raise HTTPException(404)
    products = shop.shopper.catalog.collection_products(
        collection_id, currency=shop.currency, channel=shop.channel, limit=48
    )
    return page(
        request,
        "collection.html",
        {"collection": found[collection_id], "cards": cards(shop, products)},
    )


async def category(request: Request) -> Response:
    category_id = request.path_params["category_id"]
    if category_id not in dict(shop_of(request).navigation):
        raise HTTPException(404)
    return see(f"/search?{urlencode({'category': category_id})}")


async def product_page(request: Request) -> Response:
    shop = shop_of(request)
    slug = request.path_params["slug"]
    try:
        match = shop.shopper.catalog.by_slug(slug)
    except CommerceError:
        raise HTTPException(404) from None
    if match.redirect:
        return RedirectResponse(f"/products/{match.slug}", status_code=301)
    product = match.product
    if product.state is not PublicationState.ACTIVE:
        raise HTTPException(404)
    prices = shop.price_of(product)
    variants = []
    for variant in product.variants:
        available = (
            None if not variant.track_stock else shop.shopper.inventory.available(variant.sku)
        )
        if available is None:
            stock = "In stock"
        elif available <= 0:
            stock = "Out of stock"
        elif available <= 5:
            stock = f"Only {available} left"
        else:
            stock = "In stock"
        options = ", ".join(f"{k}: {v}" for k, v in variant.options.items())
        variants.append(
            {
                "sku": variant.sku,
                "label": options or product.name,
                "price": prices.get(variant.sku, ""),
                "stock": stock,
                "buyable": available is None or available > 0,
            }
        )
    try:
        json_ld = json_ld_text(
            shop.shopper.seo.product_json_ld(product.id, shop.currency, channel=shop.channel)
        )
    except CommerceError:
        json_ld = ""
    return page(
        request,
        "product.html",
        {"product": product, "variants": variants, "json_ld": json_ld},
    )


ROUTES: Final = [
    Route("/", home),
    Route("/search", search),
    Route("/search/suggest", suggest),
    Route("/categories/{category_id}", category),
    Route("/collections/{collection_id}", collection),
    Route("/products/{slug}", product_page),
]
