"""What the catalogue keeps about itself in SQL: the slugs products are reached by
(the current one and the redirects of earlier ones), and the record of every change."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from commercekit.adapters.storage.sql import schema as t
from commercekit.adapters.storage.sql._driver import Prepared
from commercekit.adapters.storage.sql._rows import chunks, insert
from commercekit.adapters.storage.sql._stamp import bump_stamp
from commercekit.adapters.storage.sql.session import Session
from commercekit.domain.catalog import CatalogChange, SlugRecord, claim_slug
from commercekit.domain.errors import NotFound

__all__ = ["changes", "put_slugs", "record_changes", "slug_owner", "slug_owners"]

#: One slug's row, by its key, unless it is another product's current slug: that one
#: stays, so that a writer who took it since it was checked makes the insert after
#: this a conflict.
_DROP_SLUG: Final = Prepared(
    t.product_slugs.delete().where(
        t.product_slugs.c.channel == sa.bindparam("channel"),
        t.product_slugs.c.locale == sa.bindparam("locale"),
        t.product_slugs.c.slug == sa.bindparam("slug"),
        sa.or_(
            sa.not_(t.product_slugs.c.current),
            t.product_slugs.c.product_id == sa.bindparam("product_id"),
        ),
    )
)


def slug_owner(session: Session, locale: str, slug: str, channel: str) -> SlugRecord | None:
    """Who ``slug`` leads to in ``locale`` and ``channel``: one primary-key read."""
    s = t.product_slugs.c
    with session.reading() as connection:
        row = connection.execute(
            sa.select(s.product_id, s.current).where(
                s.channel == channel, s.locale == locale, s.slug == slug
            )
        ).first()
    return None if row is None else SlugRecord(row.product_id, bool(row.current))


def slug_owners(
    session: Session, locale: str, slugs: Collection[str], channel: str
) -> dict[str, SlugRecord]:
    """Who each of ``slugs`` leads to: one read per thousand slugs."""
    s = t.product_slugs.c
    found: dict[str, SlugRecord] = {}
    with session.reading() as connection:
        for chunk in chunks(sorted(set(slugs))):
            rows = connection.execute(
                sa.select(s.slug, s.product_id, s.current).where(
                    s.channel == channel, s.locale == locale, s.slug.in_(chunk)
                )
            )
            found.update((row.slug, SlugRecord(row.product_id, bool(row.current))) for row in rows)
    return found


#: A product's current slug in a locale becomes a redirect.
_REDIRECT: Final = Prepared(
    t.product_slugs.update()
    .where(
        t.product_slugs.c.channel == sa.bindparam("channel"),
        t.product_slugs.c.product_id == sa.bindparam("product_id"),
        t.product_slugs.c.locale == sa.bindparam("locale"),
        t.product_slugs.c.current,
    )
    .values(current=False)
)


def put_slugs(session: Session, slugs: Mapping[str, Mapping[str, str]], channel: str) -> None:
    """Stage each product's ``slugs`` (per locale) as its current ones: a few reads
    and three executemany statements per thousand slugs, however many products.

    :raises NotFound: for an unknown product.
    :raises AlreadyExists: naming ``slug``, for another product's current slug.
    """
    table = t.product_slugs
    wanted = [
        (product_id, locale, slug)
        for product_id, by_locale in slugs.items()
        for locale, slug in by_locale.items()
    ]
    ids = sorted(slugs)
    held: dict[tuple[str, str], SlugRecord] = {}
    with session.reading() as connection:
        known: set[str] = set()
        for some in chunks(ids):
            known.update(
                connection.execute(
                    sa.select(t.products.c.id).where(t.products.c.id.in_(some))
                ).scalars()
            )
        for pairs in chunks(sorted({(locale, slug) for _, locale, slug in wanted})):
            found = connection.execute(
                sa.select(table.c.locale, table.c.slug, table.c.product_id, table.c.current)
                .where(table.c.channel == channel)
                .where(sa.tuple_(table.c.locale, table.c.slug).in_(pairs))
            )
            held.update(
                ((row.locale, row.slug), SlugRecord(row.product_id, row.current)) for row in found
            )
    for product_id in ids:
        if product_id not in known:
            raise NotFound("product", product_id, field="product_id")
    for product_id, locale, slug in wanted:
        claim_slug(product_id, slug, owner=_held_in(held, locale), numbered=False)
    if not wanted:
        return
    rows = [
        {"channel": channel, "locale": locale, "slug": slug, "product_id": product_id}
        for product_id, locale, slug in wanted
    ]
    redirects = [
        {"channel": channel, "product_id": product_id, "locale": locale}
        for product_id, locale, _ in wanted
    ]

    def write(connection: Connection) -> None:
        # Its new slug, if one of its earlier ones, is current again just after.
        _REDIRECT.run_many(connection, redirects)
        _DROP_SLUG.run_many(connection, rows)
        insert(connection, table, [{**row, "current": True} for row in rows])

    session.queue(write)
    bump_stamp(session)


def _held_in(
    held: Mapping[tuple[str, str], SlugRecord], locale: str
) -> Callable[[str], SlugRecord | None]:
    """Who holds a slug in ``locale``, of the slugs read (``held``, by locale and slug)."""
    return lambda slug: held.get((locale, slug))


def record_changes(session: Session, changes: Sequence[CatalogChange]) -> None:
    """Stage changes for the record, in one executemany (not stamped)."""
    rows = [
        {
            "at": change.at,
            "actor": change.actor,
            "kind": change.kind,
            "key": change.key,
            "action": change.action,
            "detail": change.detail,
        }
        for change in changes
    ]
    if rows:
        session.queue(lambda connection: insert(connection, t.catalog_changes, rows))


def changes(session: Session, kind: str, key: str, limit: int) -> list[CatalogChange]:
    """The recorded changes of one thing, oldest first: one statement on the
    ``(kind, key, id)`` index."""
    c = t.catalog_changes.c
    query = (
        sa.select(c.at, c.actor, c.kind, c.key, c.action, c.detail)
        .where(c.kind == kind, c.key == key)
        .order_by(c.id)
        .limit(max(limit, 0))
    )
    with session.reading() as connection:
        rows = connection.execute(query).mappings().all()
    return [CatalogChange(**row) for row in rows]
