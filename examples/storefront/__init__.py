"""An example storefront: a shop's pages over commercekit, on Starlette.

Server-rendered pages that work without JavaScript: the catalogue and its
categories, search with facets, product pages with structured data, a cart with
coupons, a checkout in steps paid with the test gateway, the order's page and
"where is my order". Run ``python -m commercekit.examples.storefront`` for the demo
shop on SQLite; :func:`create_app` serves any store that has a channel.
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
